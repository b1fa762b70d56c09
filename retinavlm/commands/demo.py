"""`retinavlm demo`: the main job end to end on a laptop CPU (retinavlm/demo.py does the work).

Renders a synthetic cohort, trains the tiny model through the curricula, writes reports for the
held-out test patients, grades them and two controls (shuffled images, an always-healthy template)
with the default rubric, and writes a run folder for `retinavlm view`. `--split validation` grades the
validation patients instead (under RUN/validation/), on the same training: settings are chosen there. `--real` goes on to the real
Kermany sample (synthetic first, then real) and grades its held-out real patients, with the
synthetic-only model and two plain CNN classifiers as further controls. `--folds K` cross-validates a preset over
the patients outside the test split (retinavlm/cross_validation.py). Presets are data
(curricula/demo.yaml). Re-running reuses finished steps; a killed run resumes.
Exit status: 0 done, 2 bad settings or input (one line on stderr).
"""

from __future__ import annotations

import argparse

from retinavlm.knowledge.arguments import add_knowledge_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--fast", dest="preset", action="store_const", const="fast", help="the `fast` preset (smaller, shorter)"
    )
    size.add_argument(
        "--full", dest="preset", action="store_const", const="full", help="the `full` preset (larger cohort)"
    )
    size.add_argument(
        "--real",
        dest="preset",
        action="store_const",
        const="real",
        help="the `real` preset: synthetic, then the real Kermany sample in ../shared/data (-> runs/demo-real)",
    )
    size.add_argument("--preset", dest="preset", help="a preset by name (default: default)")
    parser.add_argument("--config", help="presets YAML (default: curricula/demo.yaml)")
    parser.add_argument("--out", help="run folder (default: runs/demo, or runs/demo-PRESET for other presets)")
    parser.add_argument("--restart", action="store_true", help="discard what an earlier demo wrote into the run folder")
    held_out = parser.add_mutually_exclusive_group()
    held_out.add_argument(
        "--split",
        choices=("test", "validation"),
        default="test",
        help="the held-out patients to grade (default: test). Choose settings on validation (-> RUN/validation/); "
        "score test once, at the end. Training is shared: a second split reuses it",
    )
    held_out.add_argument(
        "--folds",
        type=int,
        metavar="K",
        help="cross-validate instead: train K times, each without one K-th of the patients outside the test split, "
        "grade each fold's held-out patients and pool them (-> RUN/fold-k/, RUN/pooled/, RUN/folds_summary.json); "
        "the test patients are set aside. K trainings: for choosing settings on a small cohort",
    )
    add_knowledge_arguments(parser, checkpoints=True)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from retinavlm.demo import load_demo_config, print_summary, run_demo

    preset = args.preset or "default"
    out = Path(args.out or ("runs/demo" if preset == "default" else f"runs/demo-{preset}"))
    if args.folds is not None:
        from retinavlm.cross_validation import print_folds_summary, run_folds

        out = Path(args.out or f"{out}-folds{args.folds}")
        summary = run_folds(
            preset,
            out,
            args.folds,
            load_demo_config(args.config),
            restart=args.restart,
            knowledge=args.knowledge,
            force_knowledge=args.force_knowledge,
        )
        print_folds_summary(summary, out)
        return 0
    summary = run_demo(
        preset,
        out,
        load_demo_config(args.config),
        restart=args.restart,
        knowledge=args.knowledge,
        force_knowledge=args.force_knowledge,
        split=args.split,
    )
    print_summary(summary, out)
    return 0
