"""scripts/shortcut_experiment.py: its measures on known inputs and one tiny end-to-end run (seconds)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from retinavlm.data.synthetic.config import ShortcutCue
from retinavlm.data.synthetic.render import cue_square_box

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "shortcut_experiment.py"


@pytest.fixture(scope="module")
def experiment():
    spec = importlib.util.spec_from_file_location("shortcut_experiment", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_balanced_accuracy_is_the_mean_of_sensitivity_and_specificity(experiment):
    truth = np.array([True, True, True, False])
    predicted = np.array([True, False, False, False])
    assert experiment.balanced_accuracy(truth, predicted)[0] == pytest.approx((1 / 3 + 1) / 2)
    assert experiment.balanced_accuracy(truth, ~truth)[0] == 0.0


def test_patients_stay_on_one_side_of_the_split(experiment):
    from retinavlm.train.records import ScanRecord

    records = [ScanRecord(f"s{i}", f"P{i // 3}", Path("x.png"), None, None, {}) for i in range(30)]
    train, validation = experiment.split_patients(records)
    assert {r.patient_id for r in train}.isdisjoint({r.patient_id for r in validation})
    assert len(train) + len(validation) == 30 and len(validation) == 9  # patients 0, 4, 8 of 10


def test_the_cue_only_probe_reads_the_label_off_the_corner_only_when_the_cue_carries_it(experiment):
    rng = np.random.default_rng(0)
    cue, size = ShortcutCue(1.0, 1.0), 32
    top, left, height, width = cue_square_box(cue, size)

    def squares(labels, correlated):
        out = rng.uniform(0.05, 0.15, (len(labels), size, size)).astype(np.float32)
        marked = labels if correlated else rng.random(len(labels)) < 0.5
        out[marked, top : top + height, left : left + width] = 0.0
        return out

    labels = rng.random(200) < 0.5
    for correlated, low, high in ((True, 0.95, 1.0), (False, 0.3, 0.7)):
        train, held = squares(labels[:150], correlated), squares(labels[150:], correlated)
        score = experiment.cue_only_probe(train, labels[:150], held, labels[150:], cue, size)
        assert low <= score <= high


def test_a_tiny_run_writes_every_figure(experiment, tmp_path):
    args = experiment.parse_args(
        ["--out", str(tmp_path), "--train", "24", "--validation", "12", "--test", "12", "--epochs", "1"]
        + ["--image-size", "64", "--saliency-scans", "2"]
    )
    results = experiment.run(args)
    assert json.loads((tmp_path / "results.json").read_text()) == results
    assert set(results["models"]) == {"correlated", "uncorrelated", "correlated_masked"}
    for model in results["models"].values():
        assert 0 <= model["test_broken"]["balanced_accuracy"] <= 1
        assert 0 <= model["saliency"]["cue_box"] <= 1
    assert all(0 <= score <= 1 for score in results["cue_only_probe"].values())
    assert "correlated" in experiment.table(results)
