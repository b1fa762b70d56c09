"""`retinavlm train STAGE.yaml [KEY=VALUE ...]`: run one curriculum stage (resumes by itself)."""

from __future__ import annotations

import argparse

from retinavlm.knowledge.arguments import add_knowledge_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="stage YAML, e.g. curricula/stage1_introduction.yaml")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="override config keys, e.g. data.cohort=runs/cohort train.max_steps=200",
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="delete the stage's output folder and train from the start instead of resuming",
    )
    add_knowledge_arguments(parser, checkpoints=True)


def run(args: argparse.Namespace) -> int:
    from retinavlm.knowledge import load_knowledge
    from retinavlm.train.stage_loading import load_stage
    from retinavlm.train.trainer import train_stage

    cfg = load_stage(args.config, args.overrides)
    result = train_stage(cfg, args.restart, None, load_knowledge(args.knowledge), args.force_knowledge)
    print(f"{cfg.name}: {result.steps} steps in {result.seconds:.0f} s; model in {result.final_dir}")
    for key, value in result.validation.items():
        if isinstance(value, float) and not key.startswith("f1_"):
            print(f"  {key}: {value:.3f}")
    return 0
