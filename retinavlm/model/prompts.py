"""The model's prompts, read from curricula/prompts.yaml so researchers can edit them without code."""

from __future__ import annotations

import os
from pathlib import Path

from retinavlm.errors import ConfigError
from retinavlm.resources import curricula_dir
from retinavlm.yaml_files import read_yaml_mapping

# What prompts write where the scan goes; the processor expands it (see processor.py).
IMAGE_PLACEHOLDER = "<image>"


def load_prompts(path: str | os.PathLike | None = None) -> dict[str, str]:
    """name -> prompt text; each prompt holds exactly one `<image>` placeholder."""
    path = Path(path) if path is not None else curricula_dir() / "prompts.yaml"
    doc = read_yaml_mapping(path, ConfigError, "prompts file", "a mapping of prompt name -> text")
    for name, text in doc.items():
        if not isinstance(text, str):
            raise ConfigError("expected the prompt's text", str(name), path)
        if text.count(IMAGE_PLACEHOLDER) != 1:
            raise ConfigError(f"must hold exactly one {IMAGE_PLACEHOLDER}", str(name), path)
    return doc


def report_prompt() -> str:
    return load_prompts()["report"]
