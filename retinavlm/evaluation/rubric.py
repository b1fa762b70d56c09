"""Specialist rubrics: criteria loaded from YAML (eval/rubrics/), each scoring a report in [0, 1]
with a one-sentence explanation that cites the report.

A criterion names a `kind` (one of SCORERS) and its `params`; a user writes a new rubric by
choosing kinds, weights and parameters, not by writing code.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retinavlm import schema
from retinavlm.errors import ConfigError
from retinavlm.evaluation.decisions import decision as ladder_decision
from retinavlm.evaluation.extract import Extraction, Mention
from retinavlm.evaluation.reference import Reference
from retinavlm.knowledge import KnowledgeBase
from retinavlm.resources import eval_dir
from retinavlm.yaml_files import read_yaml_file


class RubricError(ConfigError):
    """A rubric file breaks the schema."""


@dataclass(frozen=True)
class Verdict:
    """One criterion's score of one report and the sentence that explains it."""

    score: float | None  # None: not applicable to this case
    explanation: str


@dataclass
class RubricCriterion:
    """One criterion of a rubric file; after construction `params` holds the kind's defaults overridden
    by the file's and `id` defaults to the kind."""

    kind: str
    id: str = ""
    weight: float = 1.0
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in SCORERS:
            raise RubricError(f"{self.kind!r} is not one of {', '.join(SCORERS)}", "kind")
        if self.weight < 0:
            raise RubricError(f"must be a non-negative number, got {self.weight}", "weight")
        defaults = SCORERS[self.kind][0]
        unknown = sorted(set(self.params) - set(defaults))
        if unknown:
            allowed = ", ".join(defaults) or "none"
            raise RubricError(f"unknown param for kind {self.kind}; allowed: {allowed}", f"params.{unknown[0]}")
        self.id = self.id or self.kind
        self.params = {**defaults, **self.params}
        _check_params(self.kind, self.params)


@dataclass
class Rubric:
    """A rubric file (eval/rubrics/*.yaml); `name` defaults to the file's stem."""

    criteria: list[RubricCriterion]
    name: str = ""
    version: str = "0"
    description: str = ""
    sha256: str = field(default="", metadata={"internal": True})  # of the file's bytes
    path: str = field(default="", metadata={"internal": True})

    def __post_init__(self) -> None:
        if not self.criteria:
            raise RubricError("list at least one criterion", "criteria")
        ids = [c.id for c in self.criteria]
        for i, criterion_id in enumerate(ids):
            if criterion_id in ids[:i]:
                raise RubricError(f"criterion id {criterion_id!r} is used twice", f"criteria[{i}].id")
        if sum(c.weight for c in self.criteria) <= 0:
            raise RubricError("the criterion weights must add up to more than 0", "criteria")

    def score(self, extraction: Extraction, reference: Reference, report: str, kb: KnowledgeBase) -> dict[str, Verdict]:
        return {c.id: SCORERS[c.kind][1](c.params, extraction, reference, report, kb) for c in self.criteria}

    def total(self, scores: dict[str, Verdict]) -> float | None:
        """Weighted mean of the applicable criteria."""
        pairs = [(c.weight, scores[c.id].score) for c in self.criteria if scores[c.id].score is not None]
        weight = sum(w for w, _ in pairs)
        return sum(w * s for w, s in pairs) / weight if weight > 0 else None


# -- scorers ---------------------------------------------------------------------------------------


def _quote(mention: Mention | None) -> str:
    return f'"{mention.span.text}"' if mention is not None else "nothing"


def _stage(params, extraction: Extraction, reference: Reference, report: str, kb: KnowledgeBase) -> Verdict:
    if reference.stage is None:
        return Verdict(None, "the reference stage is unknown.")
    stated = extraction.stage
    if stated is None:
        return Verdict(params["not_stated"], f"states no stage; reference is {reference.stage}.")
    distance = abs(kb.stage_ids.index(stated.id) - kb.stage_ids.index(reference.stage))
    credits = params["credit_by_distance"]
    score = credits[distance] if distance < len(credits) else 0.0
    verdict = "correct" if distance == 0 else f"{distance} stage(s) from the reference {reference.stage}"
    return Verdict(score, f"states {stated.id} ({_quote(stated)}): {verdict}.")


def _referral(params, extraction: Extraction, reference: Reference, report: str, kb: KnowledgeBase) -> Verdict:
    if reference.referral is None:
        return Verdict(None, "the reference referral is unknown.")
    stated = extraction.referral
    if stated is None:
        return Verdict(params["not_stated"], f"recommends no referral level; reference is {reference.referral}.")
    score = float(params["scores"][reference.referral][stated.id])
    order = kb.referral_ids
    if stated.id == reference.referral:
        verdict = "correct"
    elif order.index(stated.id) < order.index(reference.referral):
        verdict = f"under-referral (reference {reference.referral})"
    else:
        verdict = f"over-referral (reference {reference.referral})"
    return Verdict(score, f"recommends {stated.id} ({_quote(stated)}): {verdict}.")


def _completeness(params, extraction: Extraction, reference: Reference, report: str, kb: KnowledgeBase) -> Verdict:
    wanted = [b for b in kb.biomarkers if reference.present(b)]
    if not wanted:
        return Verdict(None, "the reference has no present biomarkers.")
    credit = {"present": 1.0, "uncertain": float(params["uncertain_credit"])}
    got = {b: credit.get(extraction.biomarkers[b].state, 0.0) if b in extraction.biomarkers else 0.0 for b in wanted}
    missed = [b for b in wanted if got[b] == 0.0]
    found = [f"{b} ({_quote(extraction.biomarkers[b])})" for b in wanted if got[b] > 0]
    text = f"reports {len(wanted) - len(missed)} of {len(wanted)} present biomarkers"
    text += f": {', '.join(found)}" if found else ""
    text += f"; misses {', '.join(missed)}." if missed else "."
    return Verdict(sum(got.values()) / len(wanted), text)


def _accuracy(params, extraction: Extraction, reference: Reference, report: str, kb: KnowledgeBase) -> Verdict:
    """A statement is false only when the reference knows the opposite; statements about biomarkers
    the reference leaves unknown are not scored."""
    if not extraction.biomarkers:
        return Verdict(None, "makes no biomarker statements.")
    statements = {b: m for b, m in extraction.biomarkers.items() if reference.state(b) is not None}
    unchecked = len(extraction.biomarkers) - len(statements)
    if not statements:
        return Verdict(None, f"makes no biomarker statements the reference can check ({unchecked} unknown).")
    total = wrong = 0.0
    errors = []
    for bid, mention in statements.items():
        weight = float(params["uncertain_weight"]) if mention.state == "uncertain" else 1.0
        total += weight
        truth = reference.present(bid)
        if mention.state in ("present", "uncertain") and not truth:
            wrong += weight
            errors.append(f"{bid} not in reference ({_quote(mention)})")
        elif mention.state == "absent" and truth and params["false_absent_counts"]:
            wrong += weight
            errors.append(f"{bid} wrongly ruled out ({_quote(mention)})")
    if total == 0:
        return Verdict(None, "makes no weighted biomarker statements.")
    text = f"{len(statements) - len(errors)} of {len(statements)} biomarker statements true"
    text += f" ({unchecked} more about biomarkers the reference does not know)" if unchecked else ""
    return Verdict(1.0 - wrong / total, text + (f"; {'; '.join(errors)}." if errors else "."))


def _consistency(params, extraction: Extraction, reference: Reference, report: str, kb: KnowledgeBase) -> Verdict:
    findings = extraction.findings()
    parts, checks = [], []
    for stated, what in ((extraction.stage, "stage"), (extraction.referral, "referral")):
        if stated is None:
            continue
        decision = ladder_decision(kb, what, findings)
        because = ", ".join(c.describe(kb) for c in decision.reasons) or "no qualifying findings"
        agree = decision.id == stated.id
        checks.append(1.0 if agree else 0.0)
        parts.append(
            f"{what} {stated.id} ({_quote(stated)}) {'agrees with' if agree else 'contradicts'} its findings ({because} -> {decision.id})"
        )
    if not checks:
        return Verdict(None, "states neither a stage nor a referral.")
    return Verdict(sum(checks) / len(checks), "; ".join(parts) + ".")


_SENTENCE = re.compile(r"[^.!?;\n]+")
_WORD = re.compile(r"\w+")


def _conciseness(params, extraction: Extraction, reference: Reference, report: str, kb: KnowledgeBase) -> Verdict:
    words = len(_WORD.findall(report))
    low, high = int(params["min_words"]), int(params["max_words"])
    if words == 0:
        return Verdict(0.0, "the report is empty.")
    length = 1.0 if low <= words <= high else (words / low if words < low else high / words)
    sentences = [" ".join(_WORD.findall(s.lower())) for s in _SENTENCE.findall(report)]
    sentences = [s for s in sentences if s]
    repeated = len(sentences) - len(set(sentences))
    share = repeated / len(sentences) if sentences else 0.0
    score = max(0.0, length * (1.0 - float(params["repetition_penalty"]) * share))
    text = f"{words} words (target {low}-{high})"
    text += f", {repeated} repeated sentence(s)." if repeated else "."
    return Verdict(score, text)


# kind -> (parameter defaults, scorer)
SCORERS: dict[str, tuple[dict[str, Any], Callable[..., Verdict]]] = {
    "stage_correctness": ({"credit_by_distance": [1.0, 0.5], "not_stated": 0.0}, _stage),
    "referral_correctness": ({"scores": None, "not_stated": 0.0}, _referral),
    "biomarker_completeness": ({"uncertain_credit": 0.5}, _completeness),
    "biomarker_accuracy": ({"uncertain_weight": 0.5, "false_absent_counts": True}, _accuracy),
    "internal_consistency": ({}, _consistency),
    "conciseness": ({"min_words": 12, "max_words": 180, "repetition_penalty": 1.0}, _conciseness),
}


# -- loading ---------------------------------------------------------------------------------------


def load_rubric(path: str | os.PathLike, kb: KnowledgeBase) -> Rubric:
    """Load and validate a rubric YAML against the knowledge base; errors name the file and the dotted key."""
    path = Path(path)
    doc, raw = read_yaml_file(path, RubricError, "rubric file")
    rubric = schema.from_dict(Rubric, doc, path, RubricError)
    for i, criterion in enumerate(rubric.criteria):
        if criterion.kind == "referral_correctness":
            try:
                _check_referral_scores(criterion.params["scores"], kb)
            except RubricError as exc:
                raise exc.within(f"criteria[{i}]", path) from None
    rubric.name = rubric.name or path.stem
    rubric.sha256, rubric.path = hashlib.sha256(raw).hexdigest(), str(path)
    return rubric


def _unit(value: Any, key: str) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise RubricError(f"must be a number in [0, 1], got {value!r}", key)


def _check_params(kind: str, params: dict[str, Any]) -> None:
    """Types and ranges of a kind's parameters (those that need no knowledge base)."""
    for name in ("not_stated", "uncertain_credit", "uncertain_weight", "repetition_penalty"):
        if name in params:
            _unit(params[name], f"params.{name}")
    if kind == "stage_correctness":
        credits = params["credit_by_distance"]
        if not isinstance(credits, list) or not credits:
            raise RubricError("must be a non-empty list of scores", "params.credit_by_distance")
        for i, value in enumerate(credits):
            _unit(value, f"params.credit_by_distance[{i}]")
    if kind == "conciseness":
        low, high = params["min_words"], params["max_words"]
        if not (isinstance(low, int) and isinstance(high, int) and 0 < low <= high):
            raise RubricError(f"need integers 0 < min_words <= max_words, got {low!r}, {high!r}", "params")
    if kind == "biomarker_accuracy" and not isinstance(params["false_absent_counts"], bool):
        raise RubricError("must be true or false", "params.false_absent_counts")


def _check_referral_scores(scores: Any, kb: KnowledgeBase) -> None:
    """A referral_correctness table: a row per reference level, a score per stated level."""
    levels = set(kb.referral_ids)
    if not isinstance(scores, dict) or set(scores) != levels:
        raise RubricError(f"must map every reference level ({', '.join(kb.referral_ids)}) to a row", "params.scores")
    for ref, row in scores.items():
        if not isinstance(row, dict) or set(row) != levels:
            raise RubricError(
                f"must give a score for every stated level ({', '.join(kb.referral_ids)})", f"params.scores.{ref}"
            )
        for stated, value in row.items():
            _unit(value, f"params.scores.{ref}.{stated}")


def default_rubric_path() -> Path:
    return eval_dir() / "rubrics" / "amd.yaml"
