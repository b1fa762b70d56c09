"""`retinavlm curriculum [CURRICULUM.yaml] --cohort DIR`: run the chain of stages, then the held-out evaluation."""

from __future__ import annotations

import argparse

from retinavlm.errors import RetinaVLMError
from retinavlm.knowledge.arguments import add_knowledge_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", default=None, help="curriculum YAML (default: curricula/curriculum.yaml)")
    parser.add_argument(
        "--cohort",
        action="append",
        metavar="DIR | NAME=DIR",
        help="cohort folder (a `retinavlm synth` output, a manifest or class folders) for every stage; or, for a "
        "curriculum with named `cohorts`, NAME=DIR once per cohort (e.g. --cohort synthetic=runs/cohort --cohort real=/data/oct)",
    )
    parser.add_argument("--output-dir", help="where the stages write (default: the curriculum's output_dir)")
    parser.add_argument("--restart", action="store_true", help="retrain every stage from scratch instead of resuming")
    add_knowledge_arguments(parser, checkpoints=True)


def cohort_argument(values: list[str] | None) -> str | dict[str, str] | None:
    """`--cohort DIR` (one folder) or `--cohort NAME=DIR ...` (named cohorts); a mix is refused."""
    if not values:
        return None
    named = dict(value.split("=", 1) for value in values if "=" in value and value.split("=", 1)[0].isidentifier())
    if not named and len(values) == 1:
        return values[0]
    if len(named) != len(values):
        raise RetinaVLMError(f"--cohort: give one folder, or NAME=DIR for each named cohort; got {' '.join(values)}")
    return named


def run(args: argparse.Namespace) -> int:
    from retinavlm.knowledge import load_knowledge
    from retinavlm.resources import curricula_dir
    from retinavlm.train.curriculum import run_curriculum

    path = args.config or str(curricula_dir() / "curriculum.yaml")
    summary = run_curriculum(
        path,
        cohort=cohort_argument(args.cohort),
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
