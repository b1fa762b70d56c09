"""`retinavlm dataset build`: a cohort source -> a patient-split Hugging Face DatasetDict on disk."""

from __future__ import annotations

import argparse
import sys

from retinavlm.knowledge.arguments import add_knowledge_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build",
        help="build a DatasetDict (train/validation/test by patient) from a cohort",
        description="Read a cohort (synthetic folder, CSV/JSONL manifest, or Kermany-style class folders), "
        "split it by patient and save it with save_to_disk. Bad rows are skipped and listed; the exit "
        "status is 0 when every row was used, 1 when some were skipped, 2 when nothing was written.",
    )
    build.add_argument("source", help="cohort folder, or a manifest file (.csv/.jsonl) for --kind manifest")
    build.add_argument("--out", required=True, help="folder to write (replaced atomically if it exists)")
    build.add_argument("--kind", help="source kind: synthetic, manifest or kermany (default: detected from SOURCE)")
    build.add_argument(
        "--label-map", help="label map YAML for --kind kermany (default: curricula/label_maps/kermany.yaml)"
    )
    build.add_argument("--val", type=float, default=0.15, help="fraction of scans for validation (default 0.15)")
    build.add_argument("--test", type=float, default=0.15, help="fraction of scans for test (default 0.15)")
    build.add_argument("--seed", type=int, default=0, help="seed of the patient shuffle (default 0)")
    build.add_argument(
        "--folds",
        type=int,
        default=0,
        help="K-fold cross-validation: the test split is part --fold of K of the patients outside the test split "
        "--val/--test make, which are left out (default 0: no folds)",
    )
    build.add_argument("--fold", type=int, default=0, help="which of the --folds parts is the test split (0..K-1)")
    add_knowledge_arguments(build)


def run(args: argparse.Namespace) -> int:
    # Imported here so that `retinavlm --help` does not pay for the datasets library.
    from retinavlm.data.cohorts import SplitConfig, read_cohort_source, write_cohort
    from retinavlm.data.cohorts.sources import SourceRows
    from retinavlm.knowledge import load_knowledge

    rows = SourceRows()
    try:
        split = SplitConfig(val=args.val, test=args.test, seed=args.seed, folds=args.folds, fold=args.fold)
        kb = load_knowledge(args.knowledge)
        kind, rows, label_map = read_cohort_source(args.source, kb, args.kind, args.label_map)
        report = write_cohort(rows, args.out, kind=kind, source=args.source, kb=kb, split=split, label_map=label_map)
    finally:  # the skipped rows are listed before the CLI prints the error that stopped the build
        _print_problems(rows)
    print(f"wrote {args.out}: {report.scans} scans from {kind} cohort {args.source}")
    for name, summary in report.splits.items():
        stages = ", ".join(f"{stage} {n}" for stage, n in summary["stages"].items())
        print(f"  {name:<10} {summary['scans']:>6} scans {summary['patients']:>6} patients   stages: {stages}")
    return 1 if rows.problems else 0


def _print_problems(rows) -> None:
    for note in rows.notes:
        print(f"warning: {note}", file=sys.stderr)
    if rows.problems:
        for problem in rows.problems:
            print(f"skipped: {problem}", file=sys.stderr)
        print(f"{len(rows.problems)} row(s) skipped", file=sys.stderr)
