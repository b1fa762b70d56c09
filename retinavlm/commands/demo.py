"""`retinavlm demo` (interim main job): render a small synthetic cohort into a run folder and summarise it.

Until the training and grading pipeline exists, the demo shows the part that does: a labelled
synthetic cohort with reports, rendered in seconds on a laptop CPU.
"""

from __future__ import annotations

import argparse

from retinavlm.commands.synth import add_common_arguments, print_summary, synthesize


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="runs/demo", help="run folder (default runs/demo)")
    parser.add_argument("--n", type=int, default=120, help="number of scans to render (default 120)")
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    summary = synthesize(argparse.Namespace(**{**vars(args), "out": f"{args.out.rstrip('/')}/cohort"}))
    if summary is None:
        return 2
    print_summary(summary)
    print(f"cohort: {summary.out_dir}  (images/, references.jsonl, annotations.csv, manifest.json)")
    return 0
