"""Live report: upload a scan (or pick one from the run), pass the quality gate, stream the model's
report as it is written, then grade it for internal consistency."""

import streamlit as st

from retinavlm.data.quality import assess_quality
from retinavlm.errors import RetinaVLMError
from retinavlm.evaluation.rubric import SCORERS
from retinavlm.viewer import app_session as vs
from retinavlm.viewer.highlight import legend_html, marked_mentions, report_html
from retinavlm.viewer.upload import UPLOAD_TYPES, UploadError, read_upload

cfg = vs.settings()
run, _ = vs.current_run()
kb = vs.knowledge()

st.title("Live report")
st.caption(
    "The quality gate runs first; a refused scan is never sent to the model. DICOM patient fields are never read into the page."
)

source = st.segmented_control(
    "Scan", ["Upload a scan", "Pick from the run"], default="Upload a scan", key="live-source"
)
scan = None
if source == "Pick from the run":
    readable = [c for c in run.cases.values() if c.image is not None]
    if not readable:
        st.info("No case of this run has a readable image.")
    else:
        picked = st.selectbox("Case", [c.id for c in readable], key="live-case")
        scan = vs.read_case_scan(run.cases[picked])
else:
    upload = st.file_uploader(
        f"PNG, JPEG, TIFF or DICOM B-scan (at most {cfg.max_upload_mb} MB)",
        type=list(UPLOAD_TYPES),
        max_upload_size=cfg.max_upload_mb,
        key="live-upload",
    )
    if upload is not None:
        try:
            scan = read_upload(upload.name, upload.getvalue(), cfg.max_upload_mb * 1_000_000)
        except UploadError as exc:
            st.error(f"Refused: {exc}")
if scan is None:
    st.stop()

left, right = st.columns([5, 6], gap="large")
with left:
    view = vs.scan_controls("live")
    st.image(
        vs.render_scan(scan.pixels, view),
        width="stretch",
        clamp=True,
        caption=f"{scan.source} · {scan.shape[1]}×{scan.shape[0]} px · {scan.bit_depth}-bit",
    )
    if scan.metadata:
        with st.expander("Technical header fields"):
            st.json(scan.metadata)  # the reader keeps technical DICOM tags only (retinavlm.data.io)

with right:
    quality = assess_quality(scan)
    if not quality.ok:
        st.error(f"Refused by the quality gate: {quality.reason}")
        st.stop()
    st.success("Passed the quality gate" + (f" (warnings: {', '.join(quality.flags)})" if quality.flags else ""))
    if run.checkpoint is None:
        st.info("No model checkpoint: give one with `retinavlm view RUN --checkpoint DIR` to write live reports.")
        st.stop()
    max_tokens = st.slider("Longest report (tokens)", 32, 512, 256, 32, key="live-tokens")
    if not st.button("Write the report", type="primary", icon=":material/edit:", key="live-go"):
        st.stop()
    from retinavlm.model.prompts import report_prompt
    from retinavlm.viewer.app_model import model, stream_report

    loaded = model(str(run.checkpoint))
    if loaded is None:
        st.stop()
    st.subheader("Report")
    try:
        with st.container(border=True):
            report = st.write_stream(stream_report(loaded, scan, report_prompt(), max_tokens))
    except RetinaVLMError as exc:
        st.error(f"The model could not write a report: {str(exc).splitlines()[0]}")
        st.stop()
    report = report if isinstance(report, str) else "".join(map(str, report))
    extraction = vs.extractor().extract(report)
    st.markdown("**Findings as the grader reads them**")
    with st.container(border=True):
        st.html(report_html(report, marked_mentions(extraction, kb, "live")))
    st.html(legend_html())
    st.markdown("**Internal consistency**")
    _, internal_consistency = SCORERS["internal_consistency"]  # the rubric's own check; it reads no reference
    verdict = internal_consistency({}, extraction, None, report, kb)
    if verdict.score is None:
        st.warning(f"Not gradable: the report {verdict.explanation}")
    elif verdict.score == 1.0:
        st.success(f"Consistent (score {verdict.score:.2f}): {verdict.explanation}")
    else:
        st.error(f"Inconsistent (score {verdict.score:.2f}): {verdict.explanation}")
