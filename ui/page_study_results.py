"""Study results (unblinded, for the study lead): scores per system, inter-rater agreement, CSV export."""

import streamlit as st

from retinavlm.viewer import app_session as vs
from retinavlm.viewer import study_summary
from retinavlm.viewer.app_study import current_study

run, _ = vs.current_run()
study, store = current_study(run)

st.title(f"Study results · {study.name}")
st.caption("This page names the systems: keep it away from raters until they are done.")
table = store.table()
if table.empty:
    st.info("No ratings yet.")
    st.stop()

c1, c2, c3 = st.columns(3)
c1.metric("Ratings", len(table))
c2.metric("Raters who started", table["rater"].nunique())
c3.metric("Cases rated", table["case_id"].nunique())

st.subheader("Scores per system")
summary = study_summary.per_system(table, study)
st.dataframe(
    summary,
    hide_index=True,
    width="stretch",
    column_config={k: st.column_config.NumberColumn(format="%.2f") for k in ("mean", "sd", "median")},
)

st.subheader("Inter-rater agreement")
st.caption(
    "Cohen's kappa with quadratic weights per pair of raters, over the reports both rated (empty: fewer than two shared or no variation)."
)
st.dataframe(
    study_summary.agreement(table, study),
    hide_index=True,
    width="stretch",
    column_config={"kappa": st.column_config.NumberColumn(format="%.2f")},
)

st.subheader("All ratings")
st.dataframe(table, hide_index=True, width="stretch")
st.download_button(
    "Download CSV",
    store.csv_text(),
    file_name=f"{study.name}_ratings.csv",
    mime="text/csv",
    icon=":material/download:",
    key="study-export",
)
