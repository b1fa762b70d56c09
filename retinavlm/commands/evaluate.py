"""`retinavlm evaluate`: grade free-text reports against reference labels with a rubric
(retinavlm.evaluation.evaluate_systems does the work; this module parses, calls and prints)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from retinavlm.knowledge.arguments import add_knowledge_arguments


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
        help='{"id", "patient_id"?, "stage"?, "referral"?, "biomarkers"} per line; missing labels are unknown '
        "(DESIGN.md §3)",
    )
    parser.add_argument("--rubric", default=None, help="rubric YAML (default: eval/rubrics/amd.yaml)")
    parser.add_argument(
        "--out", required=True, help="output folder (results.json, samples.jsonl, results.csv, summary.md)"
    )
    add_knowledge_arguments(parser)
    parser.add_argument("--rules", default=None, help="context rules YAML (default: eval/context_rules.yaml)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for 95%% intervals (0: none)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--workers", type=int, default=1, help="processes for findings extraction")


def run(args: argparse.Namespace) -> int:
    """Exit code 0: inputs clean; 1: results written, some input problems; 2: nothing graded."""
    from retinavlm.errors import RetinaVLMError
    from retinavlm.evaluation.context_rules import RulesError
    from retinavlm.evaluation.evaluate import evaluate_systems
    from retinavlm.evaluation.outputs import print_table
    from retinavlm.knowledge import KnowledgeError

    if args.bootstrap < 0 or args.workers < 1:
        print("error: --bootstrap must be >= 0 and --workers >= 1", file=sys.stderr)
        return 2
    try:
        result = evaluate_systems(
            args.predictions,
            args.references,
            args.out,
            rubric=args.rubric,
            knowledge=args.knowledge,
            rules=args.rules,
            bootstrap=args.bootstrap,
            seed=args.seed,
            workers=args.workers,
            progress=True,
        )
    except (RetinaVLMError, RulesError, KnowledgeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    print_table(result.results, sys.stdout)
    print(f"wrote {Path(args.out) / 'results.json'} and samples.jsonl, results.csv, summary.md")
    if result.problems:
        print(f"{len(result.problems)} input problem(s); first ones:", file=sys.stderr)
        for problem in result.problems[:10]:
            print(f"  {problem}", file=sys.stderr)
    return result.exit_code
