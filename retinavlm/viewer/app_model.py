"""The model behind the live report and the evidence heat-map: loaded once per checkpoint, errors shown in one line."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import streamlit as st

from retinavlm.data.scan import Scan
from retinavlm.errors import RetinaVLMError
from retinavlm.viewer import app_session as vs


@st.cache_resource(show_spinner="Loading the model checkpoint…", max_entries=1)
def _model(checkpoint: str, knowledge: str | None, force_knowledge: bool):
    from retinavlm.knowledge import load_knowledge
    from retinavlm.model.vlm import RetinaVLM

    return RetinaVLM.from_pretrained(checkpoint, None, load_knowledge(knowledge), force_knowledge)


def model(checkpoint: str):
    """The loaded model, or None after showing why it cannot be loaded (another knowledge base among them)."""
    cfg = vs.settings()
    try:
        return _model(checkpoint, str(cfg.knowledge) if cfg.knowledge else None, cfg.force_knowledge)
    except (RetinaVLMError, OSError) as exc:
        st.error(f"Cannot load the checkpoint: {str(exc).splitlines()[0]}")
        return None


def evidence(checkpoint: str, scan: Scan, finding_name: str):
    from retinavlm.model.processor import ProcessorError
    from retinavlm.viewer.heatmap import evidence_map

    loaded = model(checkpoint)
    if loaded is None:
        return None
    try:
        with st.spinner("Computing Grad-CAM…"):
            return evidence_map(loaded, scan, finding_name)
    except ProcessorError as exc:
        st.error(f"Cannot compute the heat-map: {exc}")
        return None


def stream_report(loaded, scan: Scan, prompt: str, max_new_tokens: int) -> Iterator[str]:
    """Generate in a worker thread and yield the text as it is written (transformers' TextIteratorStreamer)."""
    from transformers import TextIteratorStreamer

    pixel_values = loaded.processor.preprocess(scan).unsqueeze(0)
    streamer = TextIteratorStreamer(loaded.processor.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=300)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            loaded.generate(pixel_values, [prompt], max_new_tokens=max_new_tokens, streamer=streamer)
        except BaseException as exc:  # surfaced in the page below, never swallowed
            errors.append(exc)
            streamer.end()

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    yield from streamer
    worker.join()
    if errors:
        raise errors[0]
