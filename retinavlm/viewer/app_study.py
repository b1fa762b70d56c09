"""The reader study of this session and its SQLite store (shared by the study and results pages)."""

from __future__ import annotations

import streamlit as st

from retinavlm.viewer import app_session as vs
from retinavlm.viewer.run import Run
from retinavlm.viewer.study import Study, StudyError, load_study
from retinavlm.viewer.study_store import StudyStore


def current_study(run: Run) -> tuple[Study, StudyStore]:
    """The study and its store; stops the page with a one-line message when the study file is bad."""
    cfg = vs.settings()
    try:
        study = load_study(cfg.study)
    except StudyError as exc:
        st.error(f"Cannot open the reader study: {exc}")
        st.stop()
    for problem in study.problems(run):
        st.warning(problem)
    db = cfg.study_db or run.root / "reader_study" / f"{study.name}.sqlite"
    try:
        return study, StudyStore(db, study)
    except Exception as exc:  # sqlite3.Error, OSError: a file we cannot open is the only message
        st.error(f"Cannot open the study database {db}: {exc}")
        st.stop()
