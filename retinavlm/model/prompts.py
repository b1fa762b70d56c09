"""The model's prompts, read from curricula/prompts.yaml so researchers can edit them without code."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from retinavlm.resources import curricula_dir

# What prompts write where the scan goes; the processor expands it (see processor.py).
IMAGE_PLACEHOLDER = "<image>"


def load_prompts(path: str | os.PathLike | None = None) -> dict[str, str]:
    """name -> prompt text; each prompt holds exactly one `<image>` placeholder."""
    path = Path(path) if path is not None else curricula_dir() / "prompts.yaml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read prompts ({exc})") from None
    if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
        raise ValueError(f"{path}: expected a mapping of prompt name -> text")
    for name, text in doc.items():
        if text.count(IMAGE_PLACEHOLDER) != 1:
            raise ValueError(f"{path}: prompt {name!r} must hold exactly one {IMAGE_PLACEHOLDER}")
    return doc


def report_prompt() -> str:
    return load_prompts()["report"]
