"""A training run killed with SIGKILL resumes to the same final weights as an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file
from train_testing import stage_yaml

from retinavlm.train.resume_state import list_checkpoints

pytestmark = pytest.mark.slow
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}


def train(config: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "retinavlm.cli", "train", str(config)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def weights(final: Path) -> dict:
    tensors = {}
    for path in sorted(final.glob("*.safetensors")):
        tensors.update({f"{path.name}:{k}": v for k, v in load_file(str(path)).items()})
    return tensors


def test_sigkill_and_resume_is_bit_exact(tmp_path, small_cohort, base_model):
    # Encoder, adapter and LLM all train, with augmentation and BatchNorm: every RNG and state matters.
    settings = {"max_steps": 18, "parts": {"encoder": True, "adapter": True, "lora": False, "llm": True}}
    reference = train(stage_yaml(tmp_path, small_cohort, base_model, tmp_path / "reference", **settings))

    killed_dir = tmp_path / "killed"
    config = stage_yaml(tmp_path, small_cohort, base_model, killed_dir, **settings)
    run = train(config)
    deadline = time.monotonic() + 240
    while (
        not list_checkpoints(killed_dir / "checkpoints")
        or list_checkpoints(killed_dir / "checkpoints")[-1].name < "step-00000006"
    ):
        assert run.poll() is None, run.stdout.read()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert not (killed_dir / "final").exists(), "the run finished before it was killed"
    for folder in list_checkpoints(killed_dir / "checkpoints"):  # every visible checkpoint is complete
        assert {p.name for p in folder.iterdir()} >= {
            "trainable.safetensors",
            "optimizer.safetensors",
            "trainer_state.json",
        }
        load_file(str(folder / "trainable.safetensors"))

    resumed = train(config)
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, out
    assert "resuming stage1_introduction from" in out
    out, _ = reference.communicate(timeout=300)
    assert reference.returncode == 0, out

    expected, got = weights(tmp_path / "reference" / "final"), weights(killed_dir / "final")
    assert expected.keys() == got.keys()
    different = [k for k in expected if not (expected[k] == got[k]).all()]
    assert not different, different[:5]
    steps = [
        line.split(",")[0]
        for line in (killed_dir / "metrics.csv").read_text().splitlines()[1:]
        if ",train/loss," in line
    ]
    assert steps == [str(s) for s in range(1, 19)]  # the log reads as one run, no repeated steps
