"""RetinaVLM report viewer: `retinavlm view RUN_DIR` (or `streamlit run ui/app.py -- RUN_DIR`).

Pages: the cohort, one case, a live report on a new scan, the blinded reader study and its results.
All logic that is not drawing lives in retinavlm.viewer; the pages share its app_* modules (session,
model, study), so the app imports without any sys.path edit.
"""

import streamlit as st

st.set_page_config(page_title="RetinaVLM viewer", page_icon=":material/visibility:", layout="wide")

PAGES = [
    st.Page("page_cohort.py", title="Cohort", icon=":material/table_chart:", default=True),
    st.Page("page_case.py", title="Case", icon=":material/image_search:", url_path="case"),
    st.Page("page_live.py", title="Live report", icon=":material/edit_note:", url_path="live"),
    st.Page("page_study.py", title="Reader study", icon=":material/how_to_reg:", url_path="study"),
    st.Page("page_study_results.py", title="Study results", icon=":material/insights:", url_path="study-results"),
]

st.navigation(PAGES).run()
