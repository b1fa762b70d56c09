"""Grade several systems' reports against one references file: the library behind `retinavlm evaluate`,
the demo and the notebooks. It reads the inputs, grades every reference for every system, computes
the statistics and paired comparisons, and (given `out`) writes results.json, samples.jsonl,
results.csv and summary.md. It prints nothing.
"""

from __future__ import annotations

import datetime
import itertools
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retinavlm import __version__
from retinavlm.errors import RetinaVLMError
from retinavlm.evaluation.context_rules import ContextRules, load_rules
from retinavlm.evaluation.extract import FindingsExtractor
from retinavlm.evaluation.grade import (
    Predictions,
    References,
    SystemResult,
    grade_system,
    read_predictions,
    read_references,
)
from retinavlm.evaluation.outputs import round_floats, sample_rows, write_outputs
from retinavlm.evaluation.rubric import Rubric, default_rubric_path, load_rubric
from retinavlm.evaluation.statistics import compare, system_statistics
from retinavlm.knowledge import KnowledgeBase, load_knowledge


class OutputError(RetinaVLMError):
    """The output folder cannot be written."""


@dataclass
class EvaluationResult:
    """What one evaluation produced. `results` is results.json without its "run" block (floats rounded
    as written); `samples` the rows of samples.jsonl; `problems` every input problem found."""

    results: dict[str, Any]
    samples: list[dict[str, Any]]
    problems: list[str]
    systems: list[SystemResult]
    run: dict[str, Any]
    out: Path | None

    @property
    def exit_code(self) -> int:
        """The CLI contract (eval/README.md): 0 clean inputs, 1 results written despite input problems."""
        return 1 if self.problems else 0


def evaluate_systems(
    predictions: Sequence[str | os.PathLike],
    references: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    rubric: str | os.PathLike | None = None,
    knowledge: str | os.PathLike | None = None,
    rules: str | os.PathLike | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    workers: int = 1,
    progress: bool = False,
) -> EvaluationResult:
    """Grade each predictions file (one system each) against `references` with the rubric (default
    eval/rubrics/amd.yaml), with `bootstrap` patient resamples for the 95% intervals (0: none) and
    `workers` extraction processes; write the output files into `out` when given.

    Raises a RetinaVLMError (one line naming the input) when nothing can be graded: a file missing or
    unreadable, an invalid rubric, rules or knowledge base, no valid reference, an unwritable `out`.
    Problems with single rows are not errors: they are listed in `problems` and in the files.
    """
    if bootstrap < 0 or workers < 1:
        raise ValueError(f"bootstrap must be >= 0 and workers >= 1, got {bootstrap} and {workers}")
    kb = load_knowledge(knowledge)
    context_rules = load_rules(rules)
    grading_rubric = load_rubric(rubric or default_rubric_path(), kb)
    extractor = FindingsExtractor(kb, context_rules)
    refs = read_references(references, kb)
    preds = [read_predictions(p) for p in predictions]
    _unique_names(preds)
    systems = [_grade(refs, pred, grading_rubric, extractor, workers, progress) for pred in preds]

    problems = list(refs.problems)
    for result in systems:
        pred = result.predictions
        problems += pred.problems
        problems += [f"{pred.path}: no prediction for reference id {rid}" for rid in result.missing]
        problems += [f"{pred.path}: id {rid} has no reference" for rid in result.unmatched]
    results = round_floats(
        {
            "summary": {
                "systems": {
                    r.predictions.system: system_statistics(r.samples, grading_rubric, kb, bootstrap, seed)
                    for r in systems
                }
            },
            "comparisons": [
                compare(a, b, grading_rubric, kb, bootstrap, seed) for a, b in itertools.combinations(systems, 2)
            ],
            "inputs": _inputs(refs, systems, problems),
            "metadata": _metadata(grading_rubric, kb, context_rules, bootstrap, seed),
        }
    )
    samples = [row for r in systems for row in sample_rows(r.predictions.system, r.samples)]
    run = {
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "argv": [os.path.basename(sys.argv[0]), *sys.argv[1:]] if sys.argv else [],
    }
    if out is not None:
        try:
            write_outputs(out, results, samples, run)
        except OSError as exc:
            raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from None
    return EvaluationResult(results, samples, problems, systems, run, None if out is None else Path(out))


def _grade(
    references: References,
    predictions: Predictions,
    rubric: Rubric,
    extractor: FindingsExtractor,
    workers: int,
    progress: bool,
) -> SystemResult:
    from tqdm import tqdm

    todo = sum(1 for rid in references.by_id if rid in predictions.by_id)
    with tqdm(
        total=todo,
        desc=f"grading {predictions.system}",
        unit="report",
        file=sys.stderr,
        disable=not (progress and sys.stderr.isatty()),
    ) as bar:
        return grade_system(references, predictions, rubric, extractor, workers, bar.update)


def _inputs(references: References, systems: list[SystemResult], problems: list[str]) -> dict[str, Any]:
    return {
        "references": {
            "path": references.path,
            "valid": len(references.by_id),
            "duplicates": len(references.duplicates),
            "problems": len(references.problems),
        },
        "predictions": [
            {
                "path": r.predictions.path,
                "system": r.predictions.system,
                "valid": len(r.predictions.by_id),
                "graded": len(r.samples) - len(r.missing),
                "missing": len(r.missing),
                "unmatched": len(r.unmatched),
                "duplicates": len(r.predictions.duplicates),
                "problems": len(r.predictions.problems),
            }
            for r in systems
        ],
        "problems": problems,
    }


def _metadata(rubric: Rubric, kb: KnowledgeBase, rules: ContextRules, bootstrap: int, seed: int) -> dict[str, Any]:
    return {
        "rubric": {
            "name": rubric.name,
            "version": rubric.version,
            "sha256": rubric.sha256,
            "criteria": [{"id": c.id, "kind": c.kind, "weight": c.weight} for c in rubric.criteria],
        },
        "knowledge_base": kb.version_tag,
        "context_rules": f"{rules.version}+{rules.fingerprint}",
        "toolkit_version": __version__,
        "bootstrap": {
            "resamples": bootstrap,
            "seed": seed,
            "unit": "patient_id (id when missing)",
            "interval": "percentile 95%",
        },
    }


def _unique_names(predictions: list[Predictions]) -> None:
    """Two files with the same model name become "name", "name#2"."""
    seen: dict[str, int] = {}
    for pred in predictions:
        count = seen.get(pred.system, 0) + 1
        seen[pred.system] = count
        if count > 1:
            pred.system = f"{pred.system}#{count}"
