"""Stage 0 objectives and the data-efficiency selection."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from retinavlm.cli import main
from retinavlm.knowledge import load_knowledge
from retinavlm.train.records import ScanRecord
from retinavlm.train.ssl import positive_weights
from retinavlm.resources import curricula_dir
from retinavlm.train.data_efficiency import k_center_greedy, scan_weights


@pytest.mark.slow
@pytest.mark.parametrize("method", ["simclr", "mae", "supervised"])
def test_stage0_runs_each_objective_and_records_the_probe(tmp_path, small_cohort, base_model, method):
    out = tmp_path / method
    args = ["train", str(curricula_dir() / "stage0_ssl.yaml"), f"data.cohort={small_cohort}", f"output_dir={out}",
            "model=null", f"init_from={base_model}", f"ssl.method={method}", "train.batch_size=4", "train.epochs=null",
            "train.max_steps=3"]
    assert main(args) == 0
    probe = json.loads((out / "probe.json").read_text())
    assert probe["method"] == method and set(probe) == {"method", "random_init", "pretrained"}
    rows = [line.split(",") for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    losses = [float(v) for s, name, v in rows if name == "train/loss"]
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert (out / "final" / "encoder.safetensors").is_file()


class LabelledScans:
    """The part of ScanImages the weights read: records and a length."""

    def __init__(self, records):
        self.records = records

    def __len__(self):
        return len(self.records)


def test_supervised_warm_up_weighs_rare_biomarkers_up_to_the_cap():
    kb = load_knowledge()
    common, rare = kb.biomarker_ids[0], kb.biomarker_ids[1]
    records = [
        ScanRecord(f"s{i}", f"p{i}", Path("s.png"), "healthy", "none",
                   {b: "present" if (b == common and i % 2) or (b == rare and i == 0) else "absent" for b in kb.biomarker_ids})
        for i in range(40)
    ]
    images = LabelledScans(records)
    weights = positive_weights(images, kb, cap=10.0)
    by_id = dict(zip(kb.biomarker_ids, weights.tolist()))
    assert by_id[common] == 1.0  # 20 of 40: balanced already
    assert by_id[rare] == 10.0  # 1 of 40 would be 39x: capped
    assert by_id[kb.biomarker_ids[2]] == 10.0  # never present: the cap, not a division by zero
    assert positive_weights(images, kb, cap=1.0).eq(1.0).all()  # cap 1: unweighted


def test_redundancy_selection_drops_near_duplicates_first():
    x = np.random.default_rng(0).normal(size=(10, 8))
    with_copies = np.concatenate([x, x + 1e-4])  # every scan twice (a repeat visit)
    kept = k_center_greedy(with_copies, 10, seed=0)
    assert sorted({i % 10 for i in kept}) == list(range(10))  # one of each pair, no pair twice


def test_rare_and_hard_scans_get_more_weight():
    x = np.array([[0.0, 1.0]] * 6 + [[1.0, 0.0]] * 2 + [[0.05, 1.0]])
    labels = ["early"] * 6 + ["late_dry"] * 2 + ["late_dry"]
    weights = scan_weights(x, labels, rare_weight=3.0)
    assert weights[:6].max() < weights[6:8].min()  # the rare stage
    assert weights[8] == weights.max()  # rare and surrounded by the other stage
    assert (scan_weights(x, labels, rare_weight=1.0) == 1.0).all()


def test_selection_is_validated_before_training(tmp_path, small_cohort):
    doc = yaml.safe_load((curricula_dir() / "stage1_introduction.yaml").read_text())
    doc["data"]["cohort"] = str(small_cohort)
    doc["data"]["selection"] = {"method": "redundancy", "keep_fraction": 1.5}
    doc["qa"]["templates"] = str(curricula_dir() / "templates" / "qa_stage1.yaml")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert main(["train", str(path)]) == 2
