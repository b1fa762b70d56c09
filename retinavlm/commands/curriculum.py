"""`retinavlm curriculum [CURRICULUM.yaml] --cohort DIR`: run the chain of stages, then the held-out evaluation."""

from __future__ import annotations

import argparse

from retinavlm.commands.knowledge_options import add_knowledge_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", default=None, help="curriculum YAML (default: curricula/curriculum.yaml)")
    parser.add_argument("--cohort", help="cohort folder (a `retinavlm synth` output or a manifest) for every stage")
    parser.add_argument("--output-dir", help="where the stages write (default: the curriculum's output_dir)")
    parser.add_argument("--restart", action="store_true", help="retrain every stage from scratch instead of resuming")
    add_knowledge_arguments(parser, checkpoints=True)


def run(args: argparse.Namespace) -> int:
    from retinavlm.knowledge import load_knowledge
    from retinavlm.resources import curricula_dir
    from retinavlm.train.curriculum import run_curriculum

    path = args.config or str(curricula_dir() / "curriculum.yaml")
    summary = run_curriculum(
        path,
        cohort=args.cohort,
        output_dir=args.output_dir,
        restart=args.restart,
        knowledge=load_knowledge(args.knowledge),
        force_knowledge=args.force_knowledge,
    )
    held = summary["heldout"]
    print(f"{summary['curriculum']}: trained in {summary['training_seconds']:.0f} s; model in {summary['final_model']}")
    for name in ("own_images", "shuffled_images"):
        scores = held.get(name, {})
        print(
            f"  {held['split']} ({held['scans']} scans), {name.replace('_', ' ')}: "
            + ", ".join(
                f"{k}={scores[k]:.3f}"
                for k in ("stage_macro_f1", "referral_macro_f1", "biomarker_mean_f1")
                if k in scores
            )
        )
    return 0
