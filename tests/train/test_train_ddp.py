"""Two CPU processes (DDP over gloo) train the same model as one process, launched by torchrun or by the
stage itself (`train.processes: 2`, retinavlm/train/launch.py).

Launched with torchrun and ACCELERATE_USE_CPU=1, which is what `accelerate launch` does for several
CPU processes when MPI is installed (configs/accelerate/ddp_cpu_2proc.yaml); the trainer's
Accelerator sees a MULTI_CPU run with the gloo backend either way.

Same global batch (train.batch_size is per optimizer step, split over processes) and the same
objective (per-sequence mean loss), so only the floating-point order of the gradient all-reduce
differs: weights agree to 1e-5 after a few steps, far below one step's change.
The encoder is frozen here (cached features): BatchNorm in training mode normalises with each
process's own half batch, which is a different computation, not a rounding difference.
"""

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file
from train_testing import stage_yaml

from retinavlm.errors import ConfigError

pytestmark = pytest.mark.slow
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
SETTINGS = {"max_steps": 6, "batch_size": 8, "parts": {"encoder": False, "adapter": True, "lora": False, "llm": True}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_match_one(tmp_path, small_cohort, base_model):
    single = stage_yaml(tmp_path, small_cohort, base_model, tmp_path / "single", **SETTINGS)
    double = stage_yaml(tmp_path, small_cohort, base_model, tmp_path / "double", **SETTINGS)
    launch = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(free_port()),
        "-m",
        "retinavlm.cli",
        "train",
        str(double),
    ]
    two = subprocess.run(launch, env={**ENV, "ACCELERATE_USE_CPU": "1"}, capture_output=True, text=True, timeout=400)
    assert two.returncode == 0, two.stdout[-3000:] + two.stderr[-3000:]
    one = subprocess.run(
        [sys.executable, "-m", "retinavlm.cli", "train", str(single)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert one.returncode == 0, one.stderr[-3000:]

    start = load_file(str(base_model / "adapter.safetensors"))
    assert not any(
        torch.equal(start[k], v)
        for k, v in load_file(str(tmp_path / "single" / "final" / "adapter.safetensors")).items()
    )
    files = sorted(
        p.relative_to(tmp_path / "single" / "final") for p in (tmp_path / "single" / "final").rglob("*.safetensors")
    )
    assert any(f.parts[0] == "llm" for f in files)  # the LLM trained too, and is compared
    for name in files:
        a, b = (
            load_file(str(tmp_path / "single" / "final" / name)),
            load_file(str(tmp_path / "double" / "final" / name)),
        )
        for key in a:
            torch.testing.assert_close(b[key], a[key], rtol=0, atol=1e-5, msg=f"{name}:{key}")
    summary = (tmp_path / "double" / "summary.json").read_text()
    assert '"processes": 2' in summary


def assert_same_weights(single, double) -> None:
    files = sorted(p.relative_to(single) for p in single.rglob("*.safetensors"))
    assert any(f.parts[0] == "llm" for f in files)
    for name in files:
        a, b = load_file(str(single / name)), load_file(str(double / name))
        for key in a:
            torch.testing.assert_close(b[key], a[key], rtol=0, atol=1e-5, msg=f"{name}:{key}")


def test_a_stage_with_train_processes_2_launches_itself_and_matches_one_process(tmp_path, small_cohort, base_model):
    """The library path (`retinavlm train` / a curriculum stage with train.processes=2), no torchrun."""
    from retinavlm.train.stage_loading import load_stage
    from retinavlm.train.trainer import train_stage

    single = load_stage(stage_yaml(tmp_path, small_cohort, base_model, tmp_path / "single", **SETTINGS))
    double = load_stage(stage_yaml(tmp_path, small_cohort, base_model, tmp_path / "double", **SETTINGS, processes=2))
    one = train_stage(single)
    two = train_stage(double)
    assert two.steps == one.steps == SETTINGS["max_steps"] and two.final_dir == tmp_path / "double" / "final"
    assert_same_weights(tmp_path / "single" / "final", tmp_path / "double" / "final")
    assert json.loads((tmp_path / "double" / "summary.json").read_text())["processes"] == 2


def test_train_processes_must_split_the_batch_evenly(tmp_path, small_cohort, base_model):
    from retinavlm.train.stage_loading import load_stage

    with pytest.raises(ConfigError, match=r"train.batch_size: 8 must divide evenly over train.processes 3"):
        load_stage(stage_yaml(tmp_path, small_cohort, base_model, tmp_path / "odd", **SETTINGS, processes=3))
