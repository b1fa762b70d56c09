"""Rubric scores of one evaluated report, read from a row of `retinavlm evaluate`'s samples.jsonl
(`{"scores": {criterion: {"score", "explanation"}}, "total"}`, retinavlm.evaluation.outputs)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CriterionScore:
    name: str
    score: float | None  # None: the criterion does not apply to this case
    explanation: str


def sample_criteria(sample: dict[str, Any] | None) -> list[CriterionScore]:
    """The per-criterion scores and explanations of a sample (empty when it has none or they are malformed)."""
    scores = (sample or {}).get("scores")
    if not isinstance(scores, dict):
        return []
    return [
        CriterionScore(str(name), _number(value.get("score")), str(value.get("explanation") or ""))
        for name, value in scores.items()
        if isinstance(value, dict)
    ]


def sample_score(sample: dict[str, Any] | None) -> float | None:
    """The report's overall rubric score (the rubric's weighted mean of its applicable criteria)."""
    return _number((sample or {}).get("total"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)
