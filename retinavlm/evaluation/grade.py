"""Grading: read references and predictions, pair them by id, score every report with the rubric
and collect the statistics. Nothing is dropped silently: malformed lines, invalid rows, missing,
duplicate and unmatched ids are counted and listed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from retinavlm.evaluation import statistics as st
from retinavlm.evaluation.extract import Extraction, FindingsExtractor
from retinavlm.evaluation.reference import Reference, ReferenceError, parse_reference
from retinavlm.evaluation.rubric import CriterionScore, Rubric
from retinavlm.jsonl import iter_jsonl
from retinavlm.knowledge import KnowledgeBase


class InputError(ValueError):
    """An input file cannot be used at all (missing, unreadable, nothing valid in it)."""


@dataclass
class References:
    path: str
    by_id: dict[str, Reference]
    problems: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


@dataclass
class Predictions:
    path: str
    system: str
    by_id: dict[str, str]  # id -> report
    problems: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


@dataclass
class Sample:
    id: str
    reference: Reference
    report: str
    extraction: Extraction
    scores: dict[str, CriterionScore]
    total: float | None


@dataclass
class SystemResult:
    predictions: Predictions
    samples: list[Sample]  # in reference order
    missing: list[str]  # reference ids without a prediction
    unmatched: list[str]  # prediction ids without a reference


def read_references(path: str | os.PathLike, kb: KnowledgeBase) -> References:
    out = References(str(path), {})
    for number, row, problem in _lines(path):
        if problem is not None:
            out.problems.append(str(problem))
            continue
        try:
            ref = parse_reference(row, kb)
        except ReferenceError as exc:
            out.problems.append(f"{path}:{number}: {exc}")
            continue
        if ref.id in out.by_id:
            out.duplicates.append(ref.id)
            out.problems.append(f"{path}:{number}: duplicate id {ref.id} (the first one is used)")
            continue
        out.by_id[ref.id] = ref
    if not out.by_id:
        raise InputError(f"{path}: no valid reference rows ({len(out.problems)} problem(s))")
    return out


def read_predictions(path: str | os.PathLike, system: str | None = None) -> Predictions:
    out = Predictions(str(path), system or "", {})
    models = set()
    for number, row, problem in _lines(path):
        if problem is not None:
            out.problems.append(str(problem))
            continue
        rid, report = row.get("id"), row.get("report")
        if not isinstance(rid, (str, int)) or isinstance(rid, bool) or str(rid) == "":
            out.problems.append(f"{path}:{number}: missing or invalid 'id'")
            continue
        if not isinstance(report, str):
            out.problems.append(f"{path}:{number}: id {rid}: 'report' must be a string, got {type(report).__name__}")
            continue
        rid = str(rid)
        if rid in out.by_id:
            out.duplicates.append(rid)
            out.problems.append(f"{path}:{number}: duplicate id {rid} (the first one is used)")
            continue
        out.by_id[rid] = report
        if isinstance(row.get("model"), str):
            models.add(row["model"])
    if not system:
        out.system = models.pop() if len(models) == 1 else Path(path).stem
    return out


def _lines(path: str | os.PathLike):
    try:
        yield from iter_jsonl(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


# -- grading ---------------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _worker_init(kb_path: str, max_chars: int) -> None:
    from retinavlm.knowledge import load_knowledge

    _WORKER["extractor"] = FindingsExtractor(load_knowledge(kb_path), max_chars=max_chars)


def _worker_extract(reports: list[str]) -> list[Extraction]:
    return [_WORKER["extractor"].extract(r) for r in reports]


def extract_all(
    extractor: FindingsExtractor, reports: list[str], workers: int = 1, progress: Callable[[int], None] | None = None
) -> list[Extraction]:
    """Extract findings from every report, in order; several processes when workers > 1."""
    if workers <= 1 or len(reports) < 200:
        out = []
        for report in reports:
            out.append(extractor.extract(report))
            if progress:
                progress(1)
        return out
    chunk = max(50, len(reports) // (workers * 8))
    chunks = [reports[i : i + chunk] for i in range(0, len(reports), chunk)]
    out = []
    with ProcessPoolExecutor(
        workers, initializer=_worker_init, initargs=(str(extractor.kb.path), extractor.max_chars)
    ) as pool:
        for result in pool.map(_worker_extract, chunks):
            out.extend(result)
            if progress:
                progress(len(result))
    return out


def grade_system(
    references: References,
    predictions: Predictions,
    rubric: Rubric,
    extractor: FindingsExtractor,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> SystemResult:
    matched = [rid for rid in references.by_id if rid in predictions.by_id]
    missing = [rid for rid in references.by_id if rid not in predictions.by_id]
    unmatched = [rid for rid in predictions.by_id if rid not in references.by_id]
    samples = grade_pairs(
        [references.by_id[rid] for rid in matched],
        [predictions.by_id[rid] for rid in matched],
        rubric,
        extractor,
        workers,
        progress,
    )
    return SystemResult(predictions, samples, missing, unmatched)


def grade_pairs(
    references: list[Reference],
    reports: list[str],
    rubric: Rubric,
    extractor: FindingsExtractor,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[Sample]:
    """Score each report against its reference (same order)."""
    extractions = extract_all(extractor, reports, workers, progress)
    samples = []
    for ref, report, extraction in zip(references, reports, extractions):
        scores = rubric.score(extraction, ref, report, extractor.kb)
        samples.append(Sample(ref.id, ref, report, extraction, scores, rubric.total(scores)))
    return samples


# -- statistics ------------------------------------------------------------------------------------


def positive_classes(levels: tuple[str, ...]) -> tuple[str, ...]:
    """All levels but the default one (healthy / no referral): the published work's positive classes."""
    return levels[1:]


def system_statistics(samples: list[Sample], rubric: Rubric, kb: KnowledgeBase, resamples: int, seed: int) -> dict:
    if not samples:
        return {"n": 0}
    weights = st.resample_weights([s.reference.unit for s in samples], resamples, seed) if resamples > 0 else None
    criteria = {
        c.id: {
            **st.mean_with_ci([s.scores[c.id].score for s in samples], weights).to_json(),
            "n_applicable": sum(s.scores[c.id].score is not None for s in samples),
            "weight": c.weight,
        }
        for c in rubric.criteria
    }
    fields = {}
    for name, levels, truth_of, stated_of in (
        ("stage", kb.stage_ids, lambda s: s.reference.stage, lambda s: s.extraction.stage),
        ("referral", kb.referral_ids, lambda s: s.reference.referral, lambda s: s.extraction.referral),
    ):
        truth = [truth_of(s) for s in samples]
        stated = [m.id if (m := stated_of(s)) is not None else None for s in samples]
        fields[name] = st.classification_report(truth, stated, levels, positive_classes(levels), weights)
    biomarkers = {
        bid: st.binary_report(
            [s.reference.present(bid) for s in samples],
            [bid in s.extraction.biomarkers and s.extraction.biomarkers[bid].state == "present" for s in samples],
            weights,
        )
        for bid in kb.biomarkers
    }
    return {
        "n": len(samples),
        "patients": len({s.reference.unit for s in samples}),
        "score": st.mean_with_ci([s.total for s in samples], weights).to_json(),
        "criteria": criteria,
        "stage": fields["stage"],
        "referral": fields["referral"],
        "biomarkers": biomarkers,
        "truncated_reports": sum(s.extraction.truncated for s in samples),
    }


def compare(a: SystemResult, b: SystemResult, rubric: Rubric, kb: KnowledgeBase, resamples: int, seed: int) -> dict:
    """Paired comparison of two systems on the cases both answered (A minus B)."""
    b_by_id = {s.id: s for s in b.samples}
    pairs = [(s, b_by_id[s.id]) for s in a.samples if s.id in b_by_id]
    out: dict[str, Any] = {"a": a.predictions.system, "b": b.predictions.system, "n": len(pairs)}
    if not pairs or resamples <= 0:
        return out
    weights = st.resample_weights([x.reference.unit for x, _ in pairs], resamples, seed)
    out["paired_bootstrap"] = {
        "score": st.paired_bootstrap([x.total for x, _ in pairs], [y.total for _, y in pairs], weights),
        **{
            c.id: st.paired_bootstrap(
                [x.scores[c.id].score for x, _ in pairs], [y.scores[c.id].score for _, y in pairs], weights
            )
            for c in rubric.criteria
        },
    }
    for name, levels, truth_of, stated_of in (
        ("stage", kb.stage_ids, lambda s: s.reference.stage, lambda s: s.extraction.stage),
        ("referral", kb.referral_ids, lambda s: s.reference.referral, lambda s: s.extraction.referral),
    ):
        truth = [truth_of(x) for x, _ in pairs]
        stated_a = [m.id if (m := stated_of(x)) else None for x, _ in pairs]
        stated_b = [m.id if (m := stated_of(y)) else None for _, y in pairs]
        out["paired_bootstrap"][f"{name}_f1_micro_positive"] = st.paired_f1_bootstrap(
            truth, stated_a, stated_b, levels, positive_classes(levels), weights
        )
        out.setdefault("mcnemar", {})[name] = st.mcnemar(
            [t == p for t, p in zip(truth, stated_a)], [t == p for t, p in zip(truth, stated_b)]
        )
    return out


def round_floats(obj: Any, digits: int = 6) -> Any:
    """Fixed float precision, so that results files are byte-identical across runs and machines."""
    if isinstance(obj, float):
        return None if np.isnan(obj) else round(obj, digits)
    if isinstance(obj, dict):
        return {k: round_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [round_floats(v, digits) for v in obj]
    return obj
