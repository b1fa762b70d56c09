"""Cohort page: every case with its scores and stated stage/referral, filters, and the summary plots."""

import streamlit as st

from retinavlm.viewer import app_session as vs
from retinavlm.viewer import charts, evaluation_results
from retinavlm.viewer.cohort import CaseFilter, case_table, criterion_scores

run, extractions = vs.current_run()
kb = vs.knowledge()
vs.reload_button()

st.title(f"Cohort · {run.name}")
st.caption(
    f"toolkit {run.meta.get('toolkit_version', '?')} · knowledge {run.meta.get('knowledge_version', kb.version_tag)} · "
    f"run folder `{run.root}`"
)
vs.show_problems(run)

table = case_table(run, extractions)
m1, m2, m3, m4 = st.columns(4)
m1.metric("Cases", len(run.cases))
m2.metric("Systems", len(run.systems))
m3.metric("Reports", sum(len(rows) for rows in run.predictions.values()))
m4.metric("Graded reports", sum(len(s) for s in run.samples.values()))
if not run.cases:
    st.info("This run has no readable cases; see the problems above.")
    st.stop()

# ---- filters
stage_names = {level.id: level.name for level in kb.stages}
referral_names = {level.id: level.name for level in kb.referrals}
with st.sidebar:
    st.header("Filters")
    systems = st.multiselect("Systems", run.systems, default=run.systems, key="cohort-systems")
    stages = st.multiselect("Reference stage", list(stage_names), format_func=stage_names.get, key="cohort-stages")
    referrals = st.multiselect(
        "Reference referral", list(referral_names), format_func=referral_names.get, key="cohort-referrals"
    )
    disagreement = st.toggle("Only disagreements with the reference", key="cohort-disagree")
    scores = table["score"].dropna()
    score_range = None
    if not scores.empty and scores.min() < scores.max():
        score_range = st.slider(
            "Score range",
            float(scores.min()),
            float(scores.max()),
            (float(scores.min()), float(scores.max())),
            key="cohort-score",
        )
    sort_by = st.selectbox(
        "Sort by", ["case", "score", "system", "reference stage", "reference referral"], key="cohort-sort"
    )
    descending = st.toggle("Descending", key="cohort-desc")

shown = CaseFilter(tuple(stages), tuple(referrals), disagreement, score_range).apply(
    table[table["system"].isin(systems)]
)
shown = shown.sort_values([sort_by, "case"], ascending=not descending, kind="stable", na_position="last")

st.subheader(f"Cases ({shown['case'].nunique()} of {len(run.cases)})")
st.caption("Select a row to open the case.")
selection = st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    height=min(420, 38 + 35 * max(1, len(shown))),
    on_select="rerun",
    selection_mode="single-row",
    key="cohort-table",
    column_config={
        "score": st.column_config.ProgressColumn("score", min_value=0.0, max_value=1.0, format="%.2f"),
        "stage agrees": st.column_config.CheckboxColumn("stage ✓"),
        "referral agrees": st.column_config.CheckboxColumn("referral ✓"),
        "problems": st.column_config.TextColumn("problems", width="medium"),
    },
)
picked = selection.selection.rows if selection else []
if picked:
    st.switch_page("page_case.py", query_params={"id": shown.iloc[picked[0]]["case"]})

# ---- plots (the grader's own figures from evaluation/results.json, for the whole run)
st.subheader("How the systems do")
if run.results is None:
    st.info("No evaluation in this run (evaluation/results.json): run `retinavlm evaluate` to see scores and plots.")
    st.stop()
st.dataframe(evaluation_results.headline(run.results, systems), hide_index=True, width="stretch")
st.caption(
    "95% intervals: bootstrap by patient (retinavlm evaluate). Plots cover the whole run, not the filtered rows."
)
tab_stage, tab_referral, tab_scores, tab_markers = st.tabs(["AMD stage", "Referral", "Rubric scores", "Biomarkers"])
for tab, key, labels in ((tab_stage, "stage", kb.stage_ids), (tab_referral, "referral", kb.referral_ids)):
    with tab:
        columns = st.columns(max(1, len(systems)))
        for column, system in zip(columns, systems, strict=False):
            counts = evaluation_results.confusion(run.results, system, key)
            if counts.empty:
                column.info(f"{system}: not in the evaluation")
            else:
                column.altair_chart(charts.confusion_chart(counts, labels, system))
with tab_scores:
    per_criterion = criterion_scores(run)
    per_criterion = per_criterion[per_criterion["system"].isin(systems)]
    if per_criterion.empty:
        st.info("No rubric scores in evaluation/samples.jsonl.")
    else:
        st.caption("Score of each report on each rubric criterion (1 = fully meets it).")
        st.altair_chart(charts.score_distribution_chart(per_criterion))
with tab_markers:
    names = {bid: marker.name for bid, marker in kb.biomarkers.items()}
    accuracy = evaluation_results.biomarkers(run.results, systems, names)
    if accuracy.empty:
        st.info("No biomarker figures in the evaluation.")
    else:
        st.caption(
            "Found = the report states the biomarker present; uncertain, absent and unmentioned count as not found."
        )
        st.altair_chart(charts.biomarker_accuracy_chart(accuracy))
summary = run.root / str(run.meta.get("evaluation") or "evaluation") / "summary.md"
if run.roots.contains(summary) and summary.is_file():
    with st.expander("Evaluation summary (summary.md)"):
        st.markdown(summary.read_text(encoding="utf-8", errors="replace"))
