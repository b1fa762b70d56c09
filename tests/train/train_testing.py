"""Helpers shared by the training tests: small stage configs that start from the session's base model."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from retinavlm.resources import curricula_dir
from retinavlm.train.stage_loading import load_stage
from retinavlm.train.trainer import StageTrainer, train_stage


def stage_yaml(tmp: Path, cohort: Path, init_from: Path, out: Path, **train) -> Path:
    """A stage-1 YAML sized for tests (a few steps, tiny batches), written into `tmp`."""
    doc = yaml.safe_load((curricula_dir() / "stage1_introduction.yaml").read_text())
    doc.pop("model")
    doc["init_from"] = str(init_from)
    doc["output_dir"] = str(out)
    doc["data"]["cohort"] = str(cohort)
    doc["qa"]["templates"] = str(curricula_dir() / "templates" / "qa_findings.yaml")
    doc["qa"]["per_scan"] = 2
    doc["train"].update(
        {"batch_size": 4, "epochs": None, "max_steps": 12, "schedule": {"name": "cosine", "warmup_steps": 2}}
    )
    doc["train"].update(train)
    doc["checkpoint"] = {"every_steps": 3, "keep_last": 2}
    doc["validation"] = {"every_steps": 100, "max_scans": 2, "closed_ended": False, "batch_size": 8}
    path = tmp / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def stage0(cohort: Path, base: Path, out: Path, *overrides: str):
    """curricula/stage0_ssl.yaml from the session's base model, on `cohort`, with tiny batches."""
    return load_stage(
        curricula_dir() / "stage0_ssl.yaml",
        [
            f"data.cohort={cohort}",
            f"output_dir={out}",
            "model=null",
            f"init_from={base}",
            "train.epochs=null",
            "train.batch_size=8",
            "train.schedule.warmup_steps=2",
            *overrides,
        ],
    )


def train_until_killed(cfg, monkeypatch, step: int) -> None:
    """Run a stage that dies at `step` (a KeyboardInterrupt, as a kill leaves it), then undo the patch."""
    original = StageTrainer.train_step

    def killed(self, at):
        if at == step:
            raise KeyboardInterrupt("killed")
        return original(self, at)

    monkeypatch.setattr(StageTrainer, "train_step", killed)
    with pytest.raises(KeyboardInterrupt):
        train_stage(cfg)
    monkeypatch.setattr(StageTrainer, "train_step", original)
