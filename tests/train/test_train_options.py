"""Trainer options: gradient accumulation, gradient checkpointing, bf16 autocast, CSV and TensorBoard logs."""

import csv

import pytest
from train_testing import stage_yaml

from retinavlm.cli import main

pytestmark = pytest.mark.slow


def test_accumulation_checkpointing_and_bf16_train_and_log(tmp_path, small_cohort, base_model, capsys):
    out = tmp_path / "run"
    config = stage_yaml(
        tmp_path,
        small_cohort,
        base_model,
        out,
        max_steps=3,
        grad_accum=2,
        gradient_checkpointing=True,
        mixed_precision="bf16",
    )
    assert main(["train", str(config), "validation.closed_ended=true", "validation.every_steps=3"]) == 0
    assert "model in" in capsys.readouterr().out
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    names = {r["metric"] for r in rows}
    assert {
        "train/loss",
        "train/lr",
        "val/loss",
        "val/stage_macro_f1",
        "val/referral_macro_f1",
        "val/unparsed_fraction",
    } <= names
    assert [r["step"] for r in rows if r["metric"] == "train/loss"] == ["1", "2", "3"]
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert (out / "final" / "config.json").is_file() and not (out / "checkpoints").exists()
    # A second call finds the stage complete and does not train again.
    assert main(["train", str(config), "validation.closed_ended=true", "validation.every_steps=3"]) == 0
    assert "already complete" in capsys.readouterr().err
