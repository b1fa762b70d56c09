"""Stage-1 step time with and without shared-prefix packing (qa.questions_per_row), in one process.

    python benchmarks/stage1_packing.py              # prints, writes benchmarks/results/stage1_packing.json
    python benchmarks/stage1_packing.py --steps 20 --rounds 3 --threads 2

The default stage-1 YAML (tiny preset: 64 visual tokens, 2-layer LLM, frozen encoder with the feature
cache) on a small rendered cohort, from a fresh model (step time does not depend on the weights). The
baseline is one question per row at train.batch_size 32; packed is 4 questions of one scan per row at
batch_size 8 rows, the same 32 questions per step. The two alternate for `--rounds` rounds so that a
change in the machine's load hits both; CPU seconds per step are reported beside wall seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch

from retinavlm.atomic import write_json
from retinavlm.data.synthetic import render_cohort
from retinavlm.resources import curricula_dir
from retinavlm.train.stage_loading import load_stage
from retinavlm.train.trainer import StageTrainer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from read_augment import environment

RESULTS = Path(__file__).resolve().parent / "results" / "stage1_packing.json"
VARIANTS = {"one_question_per_row": (1, 32), "four_questions_per_row": (4, 8)}


def trainer(cohort: Path, out: Path, questions_per_row: int, batch_size: int) -> StageTrainer:
    cfg = load_stage(
        curricula_dir() / "stage1_introduction.yaml",
        [
            f"data.cohort={cohort}",
            f"output_dir={out}",
            f"qa.questions_per_row={questions_per_row}",
            f"train.batch_size={batch_size}",
        ],
    )
    return StageTrainer(cfg, restart=True, log=lambda message: None)


def time_steps(stage: StageTrainer, first: int, steps: int) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, tokens) per step over `steps` steps from step `first`."""
    tokens = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for step in range(first, first + steps):
        tokens += int(stage.objective.inputs(stage.objective.batch(step), step, 0)["attention_mask"].sum())
        stage.train_step(step)
    return (time.process_time() - cpu) / steps, (time.perf_counter() - wall) / steps, tokens // steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=int, default=96)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    env = environment()
    with tempfile.TemporaryDirectory() as tmp:
        cohort = Path(tmp) / "cohort"
        render_cohort(args.scans, cohort, seed=0)
        stages = {name: trainer(cohort, Path(tmp) / name, *shape) for name, shape in VARIANTS.items()}
        for stage in stages.values():
            time_steps(stage, 0, 2)  # warm-up
        measured: dict[str, list] = {name: [] for name in stages}
        for r in range(args.rounds):
            for name, stage in stages.items():
                measured[name].append(time_steps(stage, 2 + r * args.steps, args.steps))
    rows = {}
    for name, runs in measured.items():
        rows[name] = {
            "questions_per_row": VARIANTS[name][0],
            "rows_per_step": VARIANTS[name][1],
            "tokens_per_step": runs[0][2],
            "cpu_ms_per_step": [round(cpu * 1000, 1) for cpu, _, _ in runs],
            "wall_ms_per_step": [round(wall * 1000, 1) for _, wall, _ in runs],
        }
    base, packed = (min(rows[n]["cpu_ms_per_step"]) for n in VARIANTS)
    result = {
        **env,
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "torch_threads": args.threads,
        "scans": args.scans,
        "steps_per_round": args.steps,
        "variants": rows,
        "speedup_cpu_best_of_rounds": round(base / packed, 2),
    }
    write_json(RESULTS, result)
    for name, row in rows.items():
        print(f"{name}: {row['tokens_per_step']} tokens/step, CPU ms/step {row['cpu_ms_per_step']}")
    print(f"packed / unpacked step (CPU, best of rounds): {result['speedup_cpu_best_of_rounds']}x faster -> {RESULTS}")


if __name__ == "__main__":
    main()
