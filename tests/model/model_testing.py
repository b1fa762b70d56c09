"""Helpers for the model tests: the smallest configs that still exercise every code path, and real scans."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from retinavlm.model.config import LLMConfig, LoraSettings, RetinaVLMConfig
from retinavlm.resources import shared_data_dir

TINY_LLM = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=512,
)


def tiny_config(**overrides) -> RetinaVLMConfig:
    llm = {**TINY_LLM, **overrides.pop("llm", {})}
    return RetinaVLMConfig(llm=LLMConfig(**llm), **overrides)


def tiny_4bit_config(**overrides) -> RetinaVLMConfig:
    return tiny_config(llm={"quantization": "4bit", "lora": LoraSettings(r=4, alpha=8, dropout=0.0)}, **overrides)


def kermany_scans(count: int) -> list[Path]:
    """`count` real B-scans of the shared sample, classes interleaved, or skip the test."""
    root = shared_data_dir()
    folder = root / "kermany-oct2017" if root else None
    if folder is None or not folder.is_dir():
        pytest.skip("real OCT sample ../shared/data/kermany-oct2017 is absent")
    per_class = [sorted((folder / c).glob("*.jpeg")) for c in ("NORMAL", "DRUSEN", "CNV", "DME")]
    ordered = [path for group in zip(*per_class, strict=False) for path in group]
    return ordered[:count]


def other_knowledge_dir(root: Path) -> Path:
    """A copy of the default knowledge base under another version: same content, another version tag."""
    from retinavlm.resources import default_knowledge_dir

    folder = Path(shutil.copytree(default_knowledge_dir(), root / "clinic-knowledge"))
    index = folder / "knowledge.yaml"
    index.write_text(re.sub(r"(?m)^version: .*$", 'version: "clinic-1"', index.read_text()))
    return folder
