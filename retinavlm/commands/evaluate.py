"""`retinavlm evaluate`: grade free-text reports against reference labels with a rubric."""

from __future__ import annotations

import argparse
import datetime
import itertools
import os
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--predictions",
        nargs="+",
        required=True,
        metavar="P.jsonl",
        help='one file per system: {"id", "report", "model"?} per line',
    )
    parser.add_argument(
        "--references",
        required=True,
        metavar="R.jsonl",
        help='{"id", "patient_id"?, "stage", "referral", "biomarkers"} per line (DESIGN.md §3)',
    )
    parser.add_argument("--rubric", default=None, help="rubric YAML (default: eval/rubrics/amd.yaml)")
    parser.add_argument(
        "--out", required=True, help="output folder (results.json, samples.jsonl, results.csv, summary.md)"
    )
    parser.add_argument("--knowledge", default=None, help="knowledge base folder (default: curricula/knowledge)")
    parser.add_argument("--rules", default=None, help="context rules YAML (default: eval/context_rules.yaml)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for 95%% intervals (0: none)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--workers", type=int, default=1, help="processes for findings extraction")


def run(args: argparse.Namespace) -> int:
    from retinavlm import __version__
    from retinavlm.evaluation.extract import FindingsExtractor
    from retinavlm.evaluation.grade import (
        InputError,
        compare,
        grade_system,
        read_predictions,
        read_references,
        system_statistics,
    )
    from retinavlm.evaluation.outputs import print_table, sample_rows, write_outputs
    from retinavlm.evaluation.rubric import RubricError, default_rubric_path, load_rubric
    from retinavlm.evaluation.context_rules import RulesError, load_rules
    from retinavlm.knowledge import KnowledgeError, load_knowledge

    if args.bootstrap < 0 or args.workers < 1:
        print("error: --bootstrap must be >= 0 and --workers >= 1", file=sys.stderr)
        return 2
    try:
        kb = load_knowledge(args.knowledge)
        rules = load_rules(args.rules)
        rubric = load_rubric(args.rubric or default_rubric_path(), kb)
        extractor = FindingsExtractor(kb, rules)
        references = read_references(args.references, kb)
        predictions = [read_predictions(p) for p in args.predictions]
    except (InputError, RubricError, RulesError, KnowledgeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _unique_names(predictions)

    from tqdm import tqdm

    systems = []
    for pred in predictions:
        todo = sum(1 for rid in references.by_id if rid in pred.by_id)
        with tqdm(
            total=todo, desc=f"grading {pred.system}", unit="report", file=sys.stderr, disable=not sys.stderr.isatty()
        ) as bar:
            systems.append(grade_system(references, pred, rubric, extractor, args.workers, bar.update))

    problems = list(references.problems)
    inputs = {
        "references": {
            "path": references.path,
            "valid": len(references.by_id),
            "duplicates": len(references.duplicates),
            "problems": len(references.problems),
        },
        "predictions": [],
        "problems": problems,
    }
    for result in systems:
        pred = result.predictions
        problems += pred.problems
        problems += [f"{pred.path}: no prediction for reference id {rid}" for rid in result.missing]
        problems += [f"{pred.path}: id {rid} has no reference" for rid in result.unmatched]
        inputs["predictions"].append(
            {
                "path": pred.path,
                "system": pred.system,
                "valid": len(pred.by_id),
                "graded": len(result.samples),
                "missing": len(result.missing),
                "unmatched": len(result.unmatched),
                "duplicates": len(pred.duplicates),
                "problems": len(pred.problems),
            }
        )

    results = {
        "summary": {
            "systems": {
                r.predictions.system: system_statistics(r.samples, rubric, kb, args.bootstrap, args.seed)
                for r in systems
            }
        },
        "comparisons": [
            compare(a, b, rubric, kb, args.bootstrap, args.seed) for a, b in itertools.combinations(systems, 2)
        ],
        "inputs": inputs,
        "metadata": {
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
                "resamples": args.bootstrap,
                "seed": args.seed,
                "unit": "patient_id (id when missing)",
                "interval": "percentile 95%",
            },
        },
    }
    samples = [row for r in systems for row in sample_rows(r.predictions.system, r.samples)]
    run_info = {
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "argv": [os.path.basename(sys.argv[0]), *sys.argv[1:]] if sys.argv else [],
    }
    try:
        write_outputs(args.out, results, samples, run_info)
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2

    print_table(results, sys.stdout)
    print(f"wrote {Path(args.out) / 'results.json'} and samples.jsonl, results.csv, summary.md")
    if problems:
        print(f"{len(problems)} input problem(s); first ones:", file=sys.stderr)
        for problem in problems[:10]:
            print(f"  {problem}", file=sys.stderr)
        return 1
    return 0


def _unique_names(predictions) -> None:
    """Two files with the same model name become "name", "name#2"."""
    seen: dict[str, int] = {}
    for pred in predictions:
        count = seen.get(pred.system, 0) + 1
        seen[pred.system] = count
        if count > 1:
            pred.system = f"{pred.system}#{count}"
