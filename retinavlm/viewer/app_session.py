"""What every page shares: the settings, the loaded run (cached), and the scan panel helpers."""

from __future__ import annotations

import html
import sys

import numpy as np
import streamlit as st

from retinavlm.data.io import read_scan
from retinavlm.data.scan import Scan, ScanReadError
from retinavlm.evaluation.extract import Extraction, FindingsExtractor
from retinavlm.knowledge import KnowledgeBase, load_knowledge
from retinavlm.viewer import config as viewer_config
from retinavlm.viewer.cohort import extract_reports
from retinavlm.viewer.run import Case, Run, RunError, load_run
from retinavlm.viewer.scan_view import adjust, zoom


def settings() -> viewer_config.ViewerConfig:
    try:
        return viewer_config.from_environment(sys.argv[1:])
    except SystemExit:
        st.error("The viewer needs a run folder: start it with `retinavlm view RUN_DIR`.")
        st.stop()


@st.cache_resource(show_spinner=False)
def _knowledge(folder: str | None) -> KnowledgeBase:
    return load_knowledge(folder)


def knowledge() -> KnowledgeBase:
    """The knowledge base of `--knowledge` (default: the default one)."""
    folder = settings().knowledge
    return _knowledge(str(folder) if folder else None)


@st.cache_resource(show_spinner=False)
def extractor() -> FindingsExtractor:
    return FindingsExtractor(knowledge())


@st.cache_resource(show_spinner="Loading the run folder…")
def _load(
    run_dir: str, data_roots: tuple[str, ...], checkpoint: str | None
) -> tuple[Run, dict[str, dict[str, Extraction]]]:
    run = load_run(run_dir, data_roots, checkpoint)
    return run, extract_reports(run, extractor())


def current_run() -> tuple[Run, dict[str, dict[str, Extraction]]]:
    """The run of this session with each system's extractions; stops the page with a message if it cannot open."""
    cfg = settings()
    try:
        return _load(str(cfg.run_dir), tuple(map(str, cfg.data_roots)), str(cfg.checkpoint) if cfg.checkpoint else None)
    except RunError as exc:
        st.error(f"Cannot open the run: {exc}")
        st.stop()


def reload_button() -> None:
    if st.sidebar.button("Reload run folder", icon=":material/refresh:", help="read the run folder again from disk"):
        _load.clear()
        st.rerun()


def show_problems(run: Run) -> None:
    if run.problems:
        with st.expander(f"⚠️ {len(run.problems)} problem(s) in this run folder — the rest is shown", expanded=False):
            for problem in run.problems:
                st.markdown(f"- `{problem}`")


def read_case_scan(case: Case) -> Scan | None:
    """The case's scan, or None after showing why it cannot be shown."""
    if case.image is None:
        st.warning(f"No scan for case {case.id}: {'; '.join(case.problems) or 'no image'}")
        return None
    try:
        return read_scan(case.image)
    except ScanReadError as exc:
        st.warning(f"Case {case.id}: cannot read its scan ({exc.problem})")
        return None


def scan_controls(key: str) -> dict:
    """Zoom and contrast sliders (in the current container); returns their values."""
    c1, c2 = st.columns(2)
    factor = c1.slider("Zoom", 1.0, 4.0, 1.0, 0.25, key=f"{key}-zoom")
    window = c2.slider("Contrast window", 0.0, 1.0, (0.0, 1.0), 0.01, key=f"{key}-window")
    c3, c4 = st.columns(2)
    gamma = c3.slider("Gamma", 0.3, 3.0, 1.0, 0.05, key=f"{key}-gamma")
    centre_x = c4.slider("Horizontal position", 0.0, 1.0, 0.5, 0.01, key=f"{key}-cx", disabled=factor == 1.0)
    return {"factor": factor, "window": window, "gamma": gamma, "centre": (0.5, centre_x)}


def render_scan(pixels: np.ndarray, view: dict) -> np.ndarray:
    low, high = view["window"]
    if high <= low:
        high = min(1.0, low + 0.01)
    return zoom(adjust(pixels, low, high, view["gamma"]), view["factor"], view["centre"])


def scan_caption(case: Case) -> str:
    ref = case.reference
    parts = [str(ref[k]) for k in ("eye", "domain") if ref.get(k)]
    if ref.get("visit") is not None:
        parts.append(f"visit {ref['visit']}")
    return " · ".join(parts)


def facts_html(facts: list[tuple[str, str, bool | None]]) -> str:
    """A row of label/value chips; the flag colours the chip (True agrees, False differs, None neutral)."""
    tones = {True: ("#dcfce7", "#166534", " ✓"), False: ("#fde2e1", "#9b1c1c", " ✗"), None: ("#eef2f7", "#1f2937", "")}
    chips = []
    for label, value, flag in facts:
        bg, fg, mark = tones[flag]
        chips.append(
            f'<div style="background:{bg};color:{fg};border-radius:8px;padding:6px 12px;margin:0 8px 8px 0;display:inline-block">'
            f'<div style="font-size:0.75rem;opacity:0.8">{html.escape(label)}</div>'
            f'<div style="font-weight:600;font-size:1.05rem">{html.escape(value)}{mark}</div></div>'
        )
    return f'<div style="display:flex;flex-wrap:wrap">{"".join(chips)}</div>'
