"""Stage 0 objectives and the data-efficiency selection."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from retinavlm.cli import main
from retinavlm.knowledge import load_knowledge
from retinavlm.resources import curricula_dir
from retinavlm.train.data_efficiency import k_center_greedy, scan_weights
from retinavlm.train.encoder_pretraining import positive_weights
from retinavlm.train.records import ScanRecord


@pytest.mark.slow
@pytest.mark.parametrize("method", ["simclr", "mae", "supervised"])
def test_stage0_runs_each_objective_and_records_the_probe(tmp_path, small_cohort, base_model, method):
    out = tmp_path / method
    args = [
        "train",
        str(curricula_dir() / "stage0_ssl.yaml"),
        f"data.cohort={small_cohort}",
        f"output_dir={out}",
        "model=null",
        f"init_from={base_model}",
        f"ssl.method={method}",
        "train.batch_size=4",
        "train.epochs=null",
        "train.max_steps=3",
    ]
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
        ScanRecord(
            f"s{i}",
            f"p{i}",
            Path("s.png"),
            "healthy",
            "none",
            {b: "present" if (b == common and i % 2) or (b == rare and i == 0) else "absent" for b in kb.biomarker_ids},
        )
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
    doc["qa"]["templates"] = str(curricula_dir() / "templates" / "qa_findings.yaml")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert main(["train", str(path)]) == 2


@pytest.mark.slow
@pytest.mark.parametrize("token_head", ["mil", "masks"])
def test_supervised_stage0_trains_a_token_head(tmp_path, small_cohort, base_model, token_head):
    out = tmp_path / token_head
    args = [
        "train",
        str(curricula_dir() / "stage0_ssl.yaml"),
        f"data.cohort={small_cohort}",
        f"output_dir={out}",
        "model=null",
        f"init_from={base_model}",
        "ssl.method=supervised",
        f"ssl.token_head={token_head}",
        "train.batch_size=4",
        "train.epochs=null",
        "train.max_steps=3",
    ]
    assert main(args) == 0
    rows = [line.split(",") for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    losses = [float(v) for s, name, v in rows if name == "train/loss"]
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert (out / "final" / "encoder.safetensors").is_file()


def test_token_head_terms_join_the_supervised_loss():
    import torch

    from retinavlm.model.encoder import create_encoder
    from retinavlm.train.config import SSL
    from retinavlm.train.encoder_objectives import build_objective

    kb = load_knowledge()
    nb = len(kb.biomarker_ids)
    pixels = torch.randn(2, 1, 32, 32)
    targets = {
        "biomarkers": torch.zeros(2, nb),
        "known": torch.ones(2, nb),
        "stage": torch.zeros(2, dtype=torch.long),
        "referral": torch.zeros(2, dtype=torch.long),
        "token_biomarkers": torch.zeros(2, 4, nb),
    }
    targets["biomarkers"][0, 3] = 1
    targets["token_biomarkers"][0, 1, 3] = 1  # the lesion touches token 1 of scan 0
    losses = {}
    for head in ("none", "mil", "masks"):
        torch.manual_seed(0)
        ssl = SSL(method="supervised", token_head=head)
        sizes = (nb, len(kb.stage_ids), len(kb.referral_ids))
        objective = build_objective(
            ssl, create_encoder("resnet_tiny_s16", 32), 32, sizes, torch.ones(nb), torch.ones(nb)
        )
        objective.eval()
        losses[head] = objective([pixels], targets).item()
    assert losses["none"] < losses["mil"] < losses["masks"]


def test_token_head_needs_labels_and_masks_before_training(tmp_path, small_cohort, base_model, capsys):
    import shutil

    base = [
        "train",
        str(curricula_dir() / "stage0_ssl.yaml"),
        "model=null",
        f"init_from={base_model}",
        f"output_dir={tmp_path / 'out'}",
        "train.max_steps=1",
        "train.epochs=null",
    ]
    assert main([*base, f"data.cohort={small_cohort}", "ssl.method=simclr", "ssl.token_head=masks"]) == 2
    assert "ssl.token_head" in capsys.readouterr().err
    assert main([*base, f"data.cohort={small_cohort}", "ssl.method=byol", "ssl.condition_head=true"]) == 2
    assert "ssl.condition_head" in capsys.readouterr().err
    unmasked = tmp_path / "unmasked"
    shutil.copytree(small_cohort, unmasked)
    manifest = json.loads((unmasked / "manifest.json").read_text())
    del manifest["lesion_masks"]
    (unmasked / "manifest.json").write_text(json.dumps(manifest))
    assert main([*base, f"data.cohort={unmasked}", "ssl.method=supervised", "ssl.token_head=masks"]) == 2
    err = capsys.readouterr().err
    assert "data.cohort" in err and "no lesion masks" in err
    assert not (tmp_path / "out").exists()
