"""End to end through the CLI: stage 0 (supervised encoder warm-up) then stage 1 on a small cohort.

The reduced run must really learn from pixels: on its scans, closed-ended stage and referral answers
are clearly better with each scan's own image than with another scan's image (the shuffled control).
The full-size numbers on held-out patients are in docs/TRAINING.md (benchmarks, not tests).
"""

import json

import pytest
import yaml

from retinavlm.cli import main
from retinavlm.data.cohorts.splits import SplitConfig
from retinavlm.knowledge import load_knowledge
from retinavlm.model.vlm import RetinaVLM
from retinavlm.resources import curricula_dir
from retinavlm.train.closed import closed_ended_scores
from retinavlm.train.curriculum import shuffled_order
from retinavlm.train.images import ScanImages, augment_config
from retinavlm.train.qa import load_templates
from retinavlm.train.records import load_splits

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from retinavlm.data.synthetic import render_cohort

    out = tmp_path_factory.mktemp("e2e") / "cohort"
    render_cohort(48, out, seed=11)
    return out


def test_curriculum_learns_from_pixels(tmp_path, cohort):
    curriculum = {
        "name": "reduced",
        "stages": [
            {
                "config": str(curricula_dir() / "stage0_ssl.yaml"),
                "overrides": [
                    "ssl.method=supervised",
                    "train.batch_size=16",
                    "train.epochs=null",
                    "train.max_steps=60",
                ],
            },
            {
                "config": str(curricula_dir() / "stage1_introduction.yaml"),
                # Stage and referral questions only: the two tasks this reduced run checks; one question per
                # row, 16 a step (packing has its own tests; with the YAML's 4 per row a step held 64).
                "overrides": [
                    "train.batch_size=16",
                    "qa.questions_per_row=1",
                    "train.epochs=null",
                    "train.max_steps=300",
                    "qa.per_scan=4",
                    "qa.builders={stage: 1.0, referral: 1.0}",
                    "train.optimizer.lr=0.003",
                    "validation.max_scans=4",
                    "validation.every_steps=1000",
                    "validation.closed_ended=false",
                ],
            },
        ],
        "evaluation": {"split": "test", "batch_size": 64, "shuffled_control": True},
    }
    path = tmp_path / "curriculum.yaml"
    path.write_text(yaml.safe_dump(curriculum))
    out = tmp_path / "runs"
    assert main(["curriculum", str(path), "--cohort", str(cohort), "--output-dir", str(out)]) == 0

    summary = json.loads((out / "curriculum_summary.json").read_text())
    assert [s["name"] for s in summary["stages"]] == ["stage0_ssl", "stage1_introduction"]
    probe = json.loads((out / "stage0_ssl" / "probe.json").read_text())
    assert set(probe) == {"method", "random_init", "pretrained"}
    assert "own_images" in summary["heldout"] and "shuffled_images" in summary["heldout"]
    for stage in ("stage0_ssl", "stage1_introduction"):  # every stage counts what it knew per label kind
        stage_summary = json.loads((out / stage / "summary.json").read_text())
        known = stage_summary["known"]
        assert known["train"]["scans"] == known["train"]["complete"] == stage_summary["train_scans"]
        assert known["validation"]["referral"] == stage_summary["validation_scans"]

    kb = load_knowledge()
    model = RetinaVLM.from_pretrained(out / "stage1_introduction" / "final", device="cpu")
    records = load_splits(cohort, kb, SplitConfig(0.15, 0.15, 0)).train
    images = ScanImages(records, model.processor, augment_config({}, model.processor.image_size))
    templates = load_templates(curricula_dir() / "templates" / "qa_findings.yaml")
    own, _ = closed_ended_scores(model, images, templates, kb, 64)
    shuffled, _ = closed_ended_scores(model, images, templates, kb, 64, shuffled_order(len(images), seed=0))
    assert own["referral_accuracy"] >= shuffled["referral_accuracy"] + 0.15, (own, shuffled)
    assert own["stage_accuracy"] >= shuffled["stage_accuracy"] + 0.15, (own, shuffled)
