"""Stage-0 step time with the encoder channels-last (the default) and channel-major, in one process; the
token-target reduction of the mask token head, per-biomarker (the former implementation) against OR-first; and the
lesion-mask crop of an augmented sample (already the encoder's square), per bit (the former path) against the shortcut.

    python benchmarks/stage0_step.py              # prints, writes benchmarks/results/stage0_step.json
    python benchmarks/stage0_step.py --steps 10 --rounds 3 --threads 2

The default curriculum's stage 0 (supervised warm-up with the lesion-mask token head, resnet_tiny_s16 at 192 px,
batch 32) on a small rendered cohort, from a fresh model (step time does not depend on the weights). The two
layouts train in two trainers that alternate for `--rounds` rounds, so that a change in the machine's load hits
both; CPU seconds per step are reported beside wall seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np
import torch

from retinavlm.atomic import write_json
from retinavlm.data.lesion_masks import MAX_BITS, crop_mask, resize_bits, token_targets
from retinavlm.data.synthetic import render_cohort
from retinavlm.resources import curricula_dir
from retinavlm.train.stage_loading import load_stage
from retinavlm.train.trainer import StageTrainer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from read_augment import environment

RESULTS = Path(__file__).resolve().parent / "results" / "stage0_step.json"
DEFAULT_STAGE0 = [
    "ssl.method=supervised",
    "ssl.token_head=masks",
    "model.encoder.image_size=192",
    "model.adapter.pool=2",
]


def trainer(cohort: Path, out: Path, channels_last: bool) -> StageTrainer:
    cfg = load_stage(
        curricula_dir() / "stage0_ssl.yaml",
        [*DEFAULT_STAGE0, f"data.cohort={cohort}", f"output_dir={out}", "validation.every_steps=100000"],
    )
    stage = StageTrainer(cfg, restart=True, log=lambda message: None)
    encoder = stage.model.encoder
    encoder.channels_last = channels_last
    encoder.backbone.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    return stage


def time_steps(stage: StageTrainer, first: int, steps: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) per step over `steps` steps from step `first`."""
    cpu, wall = time.process_time(), time.perf_counter()
    for step in range(first, first + steps):
        stage.train_step(step)
    return (time.process_time() - cpu) / steps, (time.perf_counter() - wall) / steps


def per_biomarker_token_targets(fields: np.ndarray, grid: tuple[int, int], bit_positions: Sequence[int]) -> np.ndarray:
    """The former `token_targets`: every biomarker's bit plane split out at full resolution, then max-pooled."""
    batch, size, _ = fields.shape
    rows, cols = grid
    bits = (fields[..., None] >> np.asarray(bit_positions, dtype=np.uint16)) & 1
    cells = bits.reshape(batch, rows, size // rows, cols, size // cols, len(bit_positions)).max(axis=(2, 4))
    return cells.reshape(batch, rows * cols, len(bit_positions)).astype(np.float32)


def time_call(function: Callable[[], object], repeats: int) -> float:
    cpu = time.process_time()
    for _ in range(repeats):
        function()
    return (time.process_time() - cpu) / repeats


def token_target_times(rounds: int) -> dict[str, list[float]]:
    """CPU ms per stage-0 batch (32 masks of 192 px, 12x12 grid, 11 biomarkers) of both reductions, alternating."""
    rng = np.random.default_rng(0)
    fields = ((rng.random((32, 192, 192)) < 0.05) * rng.integers(0, 2**11, (32, 192, 192))).astype(np.uint16)
    positions = list(range(11))
    if not np.array_equal(
        token_targets(fields, (12, 12), positions), per_biomarker_token_targets(fields, (12, 12), positions)
    ):
        raise AssertionError("the two reductions disagree")
    times: dict[str, list[float]] = {"per_biomarker": [], "or_first": []}
    for _ in range(rounds):
        times["per_biomarker"].append(time_call(lambda: per_biomarker_token_targets(fields, (12, 12), positions), 10))
        times["or_first"].append(time_call(lambda: token_targets(fields, (12, 12), positions), 10))
    return {name: [round(t * 1000, 2) for t in values] for name, values in times.items()}


def mask_crop_times(rounds: int) -> dict[str, list[float]]:
    """CPU ms per stage-0 batch (32 augmented samples' 192-px masks, 11 biomarkers) of both crops, alternating: the
    per-bit resize (`resize_bits`, the former path for these squares) and the shortcut."""
    rng = np.random.default_rng(0)
    fields = ((rng.random((32, 192, 192)) < 0.05) * rng.integers(0, 2**11, (32, 192, 192))).astype(np.uint16)
    box = (0, 0, 192, 192)
    if not all(np.array_equal(crop_mask(f, box, 192, MAX_BITS), resize_bits(f, 192, MAX_BITS)) for f in fields):
        raise AssertionError("the two crops disagree")
    times: dict[str, list[float]] = {"per_bit": [], "whole_square": []}
    for _ in range(rounds):
        times["per_bit"].append(time_call(lambda: [resize_bits(f, 192, MAX_BITS) for f in fields], 10))
        times["whole_square"].append(time_call(lambda: [crop_mask(f, box, 192, MAX_BITS) for f in fields], 10))
    return {name: [round(t * 1000, 2) for t in values] for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=int, default=96)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    env = environment()
    layouts = {"channel_major": False, "channels_last": True}
    with tempfile.TemporaryDirectory() as tmp:
        cohort = Path(tmp) / "cohort"
        render_cohort(args.scans, cohort, seed=0)
        stages = {name: trainer(cohort, Path(tmp) / name, flag) for name, flag in layouts.items()}
        for stage in stages.values():
            time_steps(stage, 0, 1)  # warm-up
        measured: dict[str, list] = {name: [] for name in stages}
        for r in range(args.rounds):
            for name, stage in stages.items():
                measured[name].append(time_steps(stage, 1 + r * args.steps, args.steps))
    rows = {
        name: {
            "cpu_ms_per_step": [round(cpu * 1000, 1) for cpu, _ in runs],
            "wall_ms_per_step": [round(wall * 1000, 1) for _, wall in runs],
        }
        for name, runs in measured.items()
    }
    base, new = (min(rows[name]["cpu_ms_per_step"]) for name in layouts)
    targets = token_target_times(args.rounds)
    crops = mask_crop_times(args.rounds)
    result = {
        **env,
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "torch_threads": args.threads,
        "scans": args.scans,
        "steps_per_round": args.steps,
        "stage0_step": rows,
        "channels_last_speedup_cpu_best_of_rounds": round(base / new, 2),
        "token_targets_cpu_ms_per_batch": targets,
        "token_targets_speedup_best_of_rounds": round(min(targets["per_biomarker"]) / min(targets["or_first"]), 1),
        "mask_crop_cpu_ms_per_batch": crops,
        "mask_crop_speedup_best_of_rounds": round(min(crops["per_bit"]) / min(crops["whole_square"]), 1),
    }
    write_json(RESULTS, result)
    for name, row in rows.items():
        print(f"stage-0 step, {name}: CPU ms/step {row['cpu_ms_per_step']}")
    print(f"channels-last / channel-major (CPU, best of rounds): {result['channels_last_speedup_cpu_best_of_rounds']}x")
    print(
        f"token targets, CPU ms per batch: {targets} ({result['token_targets_speedup_best_of_rounds']}x) -> {RESULTS}"
    )
    print(f"mask crop of augmented samples, CPU ms per batch: {crops} ({result['mask_crop_speedup_best_of_rounds']}x)")


if __name__ == "__main__":
    main()
