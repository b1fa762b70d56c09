"""Reader study: per case, the scan and every system's report in a blinded order; the rater scores
each report on the study's Likert questions. Each submit is stored at once, so raters can stop and
come back (deep link: ?rater=<name>)."""

import streamlit as st

from retinavlm.viewer import app_session as vs
from retinavlm.viewer.app_study import current_study
from retinavlm.viewer.study import report_label, report_order
from retinavlm.viewer.study_store import Rating

run, _ = vs.current_run()
study, store = current_study(run)

st.title("Reader study")
if study.description:
    st.caption(study.description)

rater = st.query_params.get("rater")
if rater not in study.raters:
    rater = st.selectbox(
        "Who is rating?", study.raters, index=None, placeholder="choose your rater name", key="study-rater"
    )
    if rater is None:
        st.stop()
    st.query_params["rater"] = rater
    st.rerun()

case_ids = study.case_ids(run)
systems = study.system_names(run)
if not case_ids or not systems:
    st.info("The study covers no case or no system of this run.")
    st.stop()
rated = store.rated_cases(rater) & set(case_ids)
st.progress(len(rated) / len(case_ids), text=f"{rater}: {len(rated)} of {len(case_ids)} cases rated")
pending = [c for c in case_ids if c not in rated]
default = pending[0] if pending else case_ids[0]
if not pending:
    st.success("You have rated every case of this study. Thank you! You can still revise any case below.")
case_id = st.selectbox(
    "Case",
    case_ids,
    index=case_ids.index(default),
    key=f"study-case-{default}",
    format_func=lambda c: f"{c} ✓" if c in rated else c,
)
case = run.cases[case_id]

left, right = st.columns([4, 7], gap="large")
with left:
    scan = vs.read_case_scan(case)
    if scan is not None:
        view = vs.scan_controls("study")
        st.image(vs.render_scan(scan.pixels, view), width="stretch", clamp=True)

with right:
    shown = [s for s in report_order(study, rater, case_id, systems) if run.report(s, case_id) is not None]
    if not shown:
        st.info("No system wrote a report for this case.")
        st.stop()
    with st.form(f"rate-{rater}-{case_id}", border=False):
        answers = {}
        for position, system in enumerate(shown):
            label = report_label(position)
            with st.container(border=True):
                st.markdown(f"#### {label}")
                st.text(run.report(system, case_id))
                answers[system] = {
                    q.id: st.radio(
                        q.text,
                        q.scores,
                        index=None,
                        horizontal=True,
                        key=f"{case_id}-{position}-{q.id}",
                        captions=q.scale,
                    )
                    for q in study.questions
                }
                if study.comments:
                    answers[system]["comment"] = st.text_area(
                        "Comment (optional)", key=f"{case_id}-{position}-comment", max_chars=2000, height=68
                    )
        submitted = st.form_submit_button("Submit ratings", type="primary", icon=":material/send:")
    if submitted:
        missing = [
            report_label(p) for p, s in enumerate(shown) if any(answers[s][q.id] is None for q in study.questions)
        ]
        if missing:
            st.error(f"Please answer every question for {', '.join(missing)}.")
        else:
            store.save(
                rater,
                case_id,
                [
                    Rating(
                        system,
                        position,
                        {q.id: answers[system][q.id] for q in study.questions},
                        answers[system].get("comment") or "",
                    )
                    for position, system in enumerate(shown)
                ],
            )
            st.toast(f"Saved your ratings of case {case_id}.", icon=":material/check_circle:")
            st.rerun()
