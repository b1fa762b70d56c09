"""Data-efficiency curve: closed-ended scores on held-out patients against the fraction of training
scans kept, random subset vs redundancy-aware selection (k-centre greedy in encoder-embedding space).

Every point trains curriculum stage 1 for the same number of steps from the same stage-0 checkpoint,
so the curve compares data, not compute.

    python benchmarks/data_efficiency.py --cohort runs/cohort --init runs/curriculum/stage0_ssl/final \
        --fractions 0.25 0.5 1.0 --steps 300
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from pathlib import Path

import accelerate
import torch
import transformers

from retinavlm import __version__
from retinavlm.atomic import write_json
from retinavlm.host import cpu_model
from retinavlm.resources import curricula_dir, project_root
from retinavlm.train.curriculum import Evaluation, evaluate_heldout
from retinavlm.train.stage_loading import load_stage
from retinavlm.train.trainer import train_stage

SCORES = ("stage_macro_f1", "referral_macro_f1", "biomarker_mean_f1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", required=True)
    parser.add_argument("--init", required=True, help="stage-0 checkpoint folder every run starts from")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rare-weight", type=float, default=1.0)
    parser.add_argument("--work", default="runs/data_efficiency")
    parser.add_argument("--out", default=str(project_root() / "benchmarks" / "results" / "data_efficiency.json"))
    args = parser.parse_args()

    points = []
    for fraction in sorted(args.fractions):
        for method in ("random", "redundancy") if fraction < 1.0 else ("all",):
            name = f"{method}-{fraction:g}"
            stage = load_stage(
                curricula_dir() / "stage1_introduction.yaml",
                [
                    f"data.cohort={args.cohort}",
                    f"init_from={args.init}",
                    "model=null",
                    f"output_dir={Path(args.work) / name}",
                    f"data.selection.method={method}",
                    f"data.selection.keep_fraction={fraction}",
                    f"data.selection.rare_weight={args.rare_weight}",
                    "train.epochs=null",
                    f"train.max_steps={args.steps}",
                    "validation.closed_ended=false",
                    f"validation.every_steps={args.steps}",
                ],
            )
            started = time.perf_counter()
            result = train_stage(stage, restart=True)
            heldout = evaluate_heldout(result.final_dir, stage, Evaluation(shuffled_control=False))
            scores = {k: round(heldout["own_images"][k], 4) for k in SCORES}
            points.append(
                {
                    "method": method,
                    "keep_fraction": fraction,
                    **scores,
                    "train_seconds": round(result.seconds, 1),
                    "wall_seconds": round(time.perf_counter() - started, 1),
                }
            )
            print(points[-1], flush=True)
    write_json(
        args.out,
        {
            "benchmark": "data_efficiency",
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "command": "python benchmarks/data_efficiency.py "
            + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
            "hardware": {
                "cpu": cpu_model(),
                "cores": os.cpu_count(),
                "torch_threads": torch.get_num_threads(),
            },
            "versions": {
                "retinavlm": __version__,
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "accelerate": accelerate.__version__,
                "python": platform.python_version(),
            },
            "steps_per_point": args.steps,
            "points": points,
        },
    )


if __name__ == "__main__":
    main()
