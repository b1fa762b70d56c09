"""Grading: read references and predictions, pair them by id and score every report with the rubric
(the statistics over the graded samples are in statistics.py). Nothing is dropped silently:
malformed lines, invalid rows, missing, duplicate and unmatched ids are counted and listed, and a
reference without a report is graded as a miss (a report that states nothing).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retinavlm.errors import RetinaVLMError
from retinavlm.evaluation.extract import Extraction, FindingsExtractor
from retinavlm.evaluation.reference import Reference, ReferenceFormatError, parse_reference
from retinavlm.evaluation.rubric import Rubric, Verdict
from retinavlm.jsonl import iter_jsonl
from retinavlm.knowledge import KnowledgeBase


class InputError(RetinaVLMError):
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
    scores: dict[str, Verdict]
    total: float | None
    missing: bool = False  # no report for this reference: graded as a report that states nothing


@dataclass
class SystemResult:
    predictions: Predictions
    samples: list[Sample]  # one per reference, in reference order; missing reports graded as misses
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
        except ReferenceFormatError as exc:
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
    """Every reference graded: against its report, or as a miss when the system wrote none."""
    matched = [rid for rid in references.by_id if rid in predictions.by_id]
    missing = [rid for rid in references.by_id if rid not in predictions.by_id]
    unmatched = [rid for rid in predictions.by_id if rid not in references.by_id]
    graded = grade_pairs(
        [references.by_id[rid] for rid in matched],
        [predictions.by_id[rid] for rid in matched],
        rubric,
        extractor,
        workers,
        progress,
    )
    by_id = {s.id: s for s in graded}
    by_id.update({rid: grade_miss(references.by_id[rid], rubric, extractor.kb) for rid in missing})
    return SystemResult(predictions, [by_id[rid] for rid in references.by_id], missing, unmatched)


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


def grade_miss(reference: Reference, rubric: Rubric, kb: KnowledgeBase) -> Sample:
    """A reference without a report: scored as a report that states nothing (no stage, referral or finding)."""
    nothing = Extraction(stage=None, referral=None, biomarkers={}, mentions=())
    scores = rubric.score(nothing, reference, "", kb)
    return Sample(reference.id, reference, "", nothing, scores, rubric.total(scores), missing=True)
