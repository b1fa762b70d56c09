"""Case page: the scan (zoom, contrast, evidence heat-map), each system's report with its findings
highlighted, the reference beside it, and the rubric scores. Deep link: ?id=<case id>."""

import pandas as pd
import streamlit as st

from retinavlm.viewer import app_session as vs
from retinavlm.viewer.highlight import STATE_LABELS, legend_html, marked_mentions, report_html
from retinavlm.viewer.scan_view import blend_heatmap
from retinavlm.viewer.scores import sample_criteria, sample_score

run, extractions = vs.current_run()
kb = vs.knowledge()
vs.reload_button()
if not run.cases:
    st.title("Case")
    st.info("This run has no readable cases.")
    vs.show_problems(run)
    st.stop()

ids = run.case_ids
requested = st.query_params.get("id")
if requested is not None and requested not in run.cases:
    st.warning(f"There is no case {requested[:80]!r} in this run; showing the first case.")
    requested = None
case_id = requested or ids[0]
index = ids.index(case_id)


def go_to(new_index: int) -> None:
    st.query_params["id"] = ids[new_index]


nav_prev, nav_pick, nav_next = st.columns([1, 4, 1], vertical_alignment="bottom")
nav_prev.button("◀ Previous", disabled=index == 0, on_click=go_to, args=(index - 1,), width="stretch")
nav_next.button("Next ▶", disabled=index == len(ids) - 1, on_click=go_to, args=(index + 1,), width="stretch")
picked = nav_pick.selectbox("Case", ids, index=index, key=f"case-pick-{case_id}")
if picked != case_id:
    st.query_params["id"] = picked
    st.rerun()
st.query_params["id"] = case_id

case = run.cases[case_id]
st.title(f"Case {case_id}")
if case.problems:
    st.warning(f"Case {case_id}: " + "; ".join(case.problems))

left, right = st.columns([5, 6], gap="large")
with left:
    scan = vs.read_case_scan(case)
    if scan is not None:
        view = vs.scan_controls("case")
        st.image(vs.render_scan(scan.pixels, view), caption=vs.scan_caption(case), width="stretch", clamp=True)
        with st.expander("Evidence heat-map", icon=":material/local_fire_department:"):
            if run.checkpoint is None:
                st.info(
                    "No model checkpoint: give one with `retinavlm view RUN --checkpoint DIR` to see evidence maps."
                )
            else:
                names = {bid: marker.name for bid, marker in kb.biomarkers.items()}
                finding = st.selectbox("Finding", list(names), format_func=names.get, key="heat-finding")
                if st.button("Show evidence", key="heat-go"):
                    from retinavlm.viewer.app_model import evidence

                    result = evidence(str(run.checkpoint), scan, names[finding])
                    if result is not None:
                        st.image(
                            blend_heatmap(result.view, result.heat),
                            width="stretch",
                            caption=f"Grad-CAM for “{result.question}” · P(yes) = {result.p_yes:.2f} · model input view",
                        )

with right:
    ref = case.reference
    st.subheader("Reference")
    stage = ref.get("stage")
    referral = ref.get("referral")
    stage_name = kb.stage(stage).name if stage in kb.stage_ids else str(stage)
    referral_name = kb.referral(referral).name if referral in kb.referral_ids else str(referral)
    st.html(vs.facts_html([("Stage", stage_name, None), ("Referral", referral_name, None)]))
    present = [kb.biomarkers[b].name for b, s in case.biomarkers.items() if s == "present" and b in kb.biomarkers]
    st.markdown("**Present:** " + (", ".join(present) if present else "none"))
    if isinstance(ref.get("report"), str):
        with st.expander("Reference report"):
            st.text(ref["report"])

    st.subheader("Reports")
    if not run.systems:
        st.info("This run holds no predictions.")
    tabs = st.tabs(run.systems) if run.systems else []
    for tab, system in zip(tabs, run.systems, strict=True):
        with tab:
            report = run.report(system, case_id)
            if report is None:
                st.info(f"{system} wrote no report for this case.")
                continue
            extraction = extractions[system][case_id]
            marks = marked_mentions(extraction, kb, f"{system}-{case_id}")
            labels = extraction.labels()
            score = sample_score(run.samples.get(system, {}).get(case_id))
            st.html(
                vs.facts_html(
                    [
                        (
                            "Stated stage",
                            kb.stage(labels["stage"]).name if labels["stage"] else "not stated",
                            labels["stage"] == stage,
                        ),
                        (
                            "Stated referral",
                            kb.referral(labels["referral"]).name if labels["referral"] else "not stated",
                            labels["referral"] == referral,
                        ),
                        ("Rubric score", "—" if score is None else f"{score:.2f}", None),
                    ]
                )
            )
            with st.container(border=True):
                st.html(report_html(report, marks))
            st.html(f'<div style="margin:-4px 0 8px 0">{legend_html()}</div>')
            if marks:
                st.markdown("**Extracted findings**")
                st.table(
                    pd.DataFrame(
                        [
                            {
                                "finding": m.label,
                                "state": STATE_LABELS[m.mention.state],
                                "text": m.mention.span.text,
                                "cues": ", ".join(m.mention.cues),
                            }
                            for m in marks
                        ]
                    ).set_index("finding")
                )
            criteria = sample_criteria(run.samples.get(system, {}).get(case_id))
            if criteria:
                st.markdown("**Rubric**")
                st.table(
                    pd.DataFrame(
                        [
                            {
                                "criterion": c.name,
                                "score": "n/a" if c.score is None else f"{c.score:.2f}",
                                "explanation": c.explanation,
                            }
                            for c in criteria
                        ]
                    ).set_index("criterion")
                )
            else:
                st.caption("No rubric scores for this report (the run's evaluation does not cover it).")
