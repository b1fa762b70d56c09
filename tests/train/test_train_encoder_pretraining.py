"""Stage 0 through the shared lifecycle: new objectives learn, unknown labels are masked, exact resume, precision."""

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from train_testing import stage0, train_until_killed

from retinavlm.knowledge import load_knowledge
from retinavlm.model.encoder import create_encoder
from retinavlm.train.config import SSL
from retinavlm.train.encoder_objectives import UNKNOWN, build_objective
from retinavlm.train.encoder_pretraining import (
    condition_classes,
    conditions_told_apart,
    epoch_draws,
    head_scores,
    label_targets,
    linear_probe,
)
from retinavlm.train.records import CohortSplits, ScanRecord
from retinavlm.train.trainer import train_stage


def train_losses(out: Path) -> list[float]:
    rows = [line.split(",") for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    return [float(v) for _, name, v in rows if name == "train/loss"]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["simclr", "mae", "byol", "barlow_twins"])
def test_self_supervised_objectives_learn_and_are_probed(tmp_path, dense_cohort, base_model, method):
    # 20 steps of 16 on the dense cohort's ~42 training scans; the probe reads healthy vs active wet AMD on
    # ~22 validation scans. Beating a random encoder's probe takes more than a test's budget: see
    # docs/TRAINING.md ("Stage 0: choosing an objective").
    out = tmp_path / method
    settings = ("train.max_steps=20", "train.batch_size=16", "ssl.hidden_dim=64", "data.validation_fraction=0.35")
    train_stage(stage0(dense_cohort, base_model, out, f"ssl.method={method}", "data.test_fraction=0.0", *settings))
    losses = train_losses(out)
    assert len(losses) == 20
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5
    probe = json.loads((out / "probe.json").read_text())
    assert probe["method"] == method and set(probe) == {"method", "random_init", "pretrained"}
    for encoder in ("random_init", "pretrained"):  # the probe is defined on this cohort: both classes known
        assert 0.0 <= probe[encoder]["stage_macro_f1"] <= 1.0 and "biomarker_mean_f1" in probe[encoder]


def weighted_splits(sizes: list[int], weights: list[float]) -> CohortSplits:
    splits = CohortSplits([], [], [], [])
    for c, (size, weight) in enumerate(zip(sizes, weights)):
        records = [ScanRecord(f"c{c}-{i}", f"p{c}-{i}", Path("x.png"), None, None, {}) for i in range(size)]
        splits.train += records
        splits.cohort_of.update({r.id: f"c{c}" for r in records})
        splits.cohort_weights[f"c{c}"] = weight
    return splits


@pytest.mark.parametrize(("sizes", "weights"), [([40, 8], [1.0, 1.0]), ([10, 30, 5], [1.0, 2.0, 3.0]), ([7], [2.0])])
def test_stage0_draws_each_cohort_by_its_weight(sizes, weights):
    splits = weighted_splits(sizes, weights)
    draws = epoch_draws(splits.train_weights, seed=3, epoch=2)
    assert len(draws) == sum(sizes)
    drawn = Counter(splits.cohort_of[splits.train[d.scan].id] for d in draws)
    for c, weight in enumerate(weights):
        assert abs(drawn[f"c{c}"] - weight / sum(weights) * len(draws)) < 1 + 1e-6
    assert draws == epoch_draws(splits.train_weights, seed=3, epoch=2)  # a pure function of (seed, epoch)
    assert draws != epoch_draws(splits.train_weights, seed=3, epoch=3)
    # A scan drawn twice in an epoch is augmented differently each time.
    seeds = [d.view_seed(0, 2, 0) for d in draws]
    assert len(set(seeds)) == len(seeds)


def test_stage0_draws_one_cohort_as_a_seeded_permutation():
    draws = epoch_draws(np.ones(9), seed=0, epoch=1)
    assert sorted(d.scan for d in draws) == list(range(9)) and {d.copy for d in draws} == {0}


def test_unknown_labels_are_masked_not_read_as_absent():
    kb = load_knowledge()
    nb, ns, nr = len(kb.biomarker_ids), len(kb.stage_ids), len(kb.referral_ids)
    first = kb.biomarker_ids[0]
    known = ScanRecord("a", "p", Path("a.png"), "healthy", "none", {b: "absent" for b in kb.biomarker_ids})
    unknown = ScanRecord("b", "q", Path("b.png"), None, None, {b: None for b in kb.biomarker_ids} | {first: "present"})
    targets = label_targets([known, unknown], kb)
    assert targets["known"][1].tolist() == [1.0] + [0.0] * (nb - 1)
    assert targets["stage"][1] == UNKNOWN and targets["referral"][1] == UNKNOWN

    torch.manual_seed(0)
    objective = build_objective(
        SSL(method="supervised"), create_encoder("resnet_tiny", 32), 32, (nb, ns, nr), torch.ones(nb)
    )
    objective.eval()
    pixels = torch.randn(2, 1, 32, 32)
    loss = objective([pixels], targets)
    # Whatever the unknown entries' targets say, the loss is the same: they are not in it.
    flipped = {**targets, "biomarkers": targets["biomarkers"].clone()}
    flipped["biomarkers"][1, 1:] = 1 - flipped["biomarkers"][1, 1:]
    assert torch.equal(objective([pixels], flipped), loss)
    # Read as absent (known), they would change it.
    as_absent = {**targets, "known": torch.ones_like(targets["known"])}
    assert not torch.equal(objective([pixels], as_absent), loss)
    # A batch with nothing known contributes zero, not NaN.
    nothing = label_targets([unknown], kb)
    nothing["known"][:] = 0
    assert objective([pixels[1:]], nothing).item() == 0.0


def _real_like_records(kb) -> list[ScanRecord]:
    """Kermany-like partial labels: CNV (stage known), DME (a condition, no AMD stage), DRUSEN (neither)."""
    cnv = ScanRecord("cnv", "p1", Path("cnv.png"), "late_wet_active", "urgent", {})
    dme = ScanRecord("dme", "p2", Path("dme.png"), None, "urgent", {"irf": "present"}, condition="dme")
    drusen = ScanRecord("drusen", "p3", Path("drusen.png"), None, "routine", {"drusen": "present"})
    return [cnv, dme, drusen]


def test_condition_targets_are_known_only_where_the_labels_say_so():
    kb = load_knowledge()
    assert condition_classes(kb)[0] == "none" and "dme" in condition_classes(kb)
    targets = label_targets(_real_like_records(kb), kb)
    # A known AMD stage means no other condition; DME names its condition; drusen of unknown stage say neither.
    assert targets["condition"].tolist() == [0, condition_classes(kb).index("dme"), UNKNOWN]
    assert conditions_told_apart(_real_like_records(kb), kb)
    synthetic = [
        ScanRecord(str(i), str(i), Path(f"{i}.png"), stage, "none", {}) for i, stage in enumerate(kb.stage_ids)
    ]
    assert not conditions_told_apart(synthetic, kb)  # all AMD (or healthy): a condition head would learn nothing


def test_the_probe_reads_the_condition_where_the_scans_tell_conditions_apart(monkeypatch):
    """The probe's condition score shows whether frozen features tell DME from active wet AMD, which share referral
    and fluid; drusen of unknown stage stay out of it, and an all-AMD cohort gets no condition score."""
    kb = load_knowledge()
    kinds = {"cnv": (0.0, 1.0), "dme": (1.0, 0.0), "drusen": (0.0, -1.0)}
    records = [_real_like_records(kb)[i] for i in (0, 1, 2) for _ in range(6)]
    noise = np.random.default_rng(0).normal(scale=0.05, size=(len(records), 2))

    def probe(features: dict[str, tuple[float, float]], scans: list[ScanRecord]) -> dict[str, float]:
        points = np.array([features[r.id] for r in scans]) + noise[: len(scans)]
        monkeypatch.setattr("retinavlm.train.encoder_pretraining.pooled_features", lambda encoder, images: points)
        images = SimpleNamespace(records=scans)
        return linear_probe(None, images, images, kb)

    assert probe(kinds, records)["condition_macro_f1"] == 1.0
    blurred = probe({**kinds, "dme": kinds["cnv"]}, records)  # DME looks like active wet AMD to this encoder
    assert blurred["condition_macro_f1"] < 0.8 and blurred["referral_macro_f1"] == 1.0
    all_amd = [r for r in records if r.id == "cnv"] + [
        ScanRecord(f"h{i}", f"h{i}", Path("h.png"), "healthy", "none", {}) for i in range(6)
    ]
    scores = probe({"cnv": (0.0, 1.0), **{f"h{i}": (0.0, -1.0) for i in range(6)}}, all_amd)
    assert "condition_macro_f1" not in scores and scores["stage_macro_f1"] == 1.0


def test_the_condition_head_learns_dme_from_active_wet_amd_and_masks_unknown_conditions():
    kb = load_knowledge()
    nb, ns, nr = len(kb.biomarker_ids), len(kb.stage_ids), len(kb.referral_ids)
    sizes, nc = (nb, ns, nr), len(condition_classes(kb))
    encoder = create_encoder("resnet_tiny", 32)
    torch.manual_seed(0)
    plain = build_objective(SSL(method="supervised"), encoder, 32, sizes, torch.ones(nb))
    torch.manual_seed(0)
    with_head = build_objective(SSL(method="supervised"), encoder, 32, sizes, torch.ones(nb), conditions=nc)
    # Without a condition head nothing changes: the same parameters, initialised the same.
    assert "condition_head.weight" not in plain.state_dict()
    assert torch.equal(plain.head.weight, with_head.head.weight)

    records = _real_like_records(kb)
    targets = label_targets(records, kb)
    pixels = torch.randn(3, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    with_head.eval()
    assert with_head.scan_logits(pixels).shape == (3, nb + ns + nr + nc)
    loss = with_head([pixels], targets)
    assert not torch.equal(plain.eval()([pixels], targets), loss)  # the condition is in the loss
    other = {**targets, "condition": targets["condition"].clone()}
    other["condition"][1] = 0  # DME read as no condition: a different loss
    assert not torch.equal(with_head([pixels], other), loss)

    # Trained on these three scans alone, the head tells DME from active wet AMD; drusen (unknown) count nowhere.
    optimizer = torch.optim.AdamW(with_head.parameters(), lr=3e-3)
    with_head.train()
    for _ in range(30):
        with_head([pixels], targets).backward()
        optimizer.step()
        optimizer.zero_grad()
    with_head.eval()
    scores = head_scores(with_head.scan_logits(pixels).detach(), records, kb)
    assert scores["heads_condition_macro_f1"] == 1.0
    assert scores["heads_macro_f1"] == np.mean([scores["heads_stage_macro_f1"], scores["heads_referral_macro_f1"]])


def test_supervised_warm_up_trains_on_partially_known_labels():
    kb = load_knowledge()
    nb, ns, nr = len(kb.biomarker_ids), len(kb.stage_ids), len(kb.referral_ids)
    g = torch.Generator().manual_seed(0)
    pixels = torch.randn(8, 1, 32, 32, generator=g)
    targets = {
        "biomarkers": (torch.rand(8, nb, generator=g) < 0.3).float(),
        "known": (torch.rand(8, nb, generator=g) < 0.5).float(),
        "stage": torch.tensor([0, UNKNOWN, 1, UNKNOWN, 2, 0, UNKNOWN, 1]),
        "referral": torch.tensor([UNKNOWN] * 4 + [0, 1, 0, 1]),
    }
    torch.manual_seed(0)
    objective = build_objective(
        SSL(method="supervised"), create_encoder("resnet_tiny", 32), 32, (nb, ns, nr), torch.ones(nb)
    )
    optimizer = torch.optim.AdamW(objective.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss = objective([pixels], targets)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0]


@pytest.mark.slow
def test_stage0_resumes_exactly_through_the_shared_lifecycle(tmp_path, small_cohort, base_model, monkeypatch):
    settings = ("ssl.method=supervised", "ssl.token_head=mil", "train.max_steps=6", "checkpoint.every_steps=3")
    train_stage(stage0(small_cohort, base_model, tmp_path / "reference", *settings))

    interrupted = stage0(small_cohort, base_model, tmp_path / "interrupted", *settings)
    train_until_killed(interrupted, monkeypatch, 4)
    assert (tmp_path / "interrupted" / "checkpoints" / "step-00000003").is_dir()
    logs = []
    train_stage(interrupted, log=logs.append)
    assert any("resuming stage0_ssl from" in line for line in logs)

    expected = load_file(str(tmp_path / "reference" / "final" / "encoder.safetensors"))
    got = load_file(str(tmp_path / "interrupted" / "final" / "encoder.safetensors"))
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    assert [int(s) for s in range(1, 7)] == [
        int(line.split(",")[0])
        for line in (tmp_path / "interrupted" / "metrics.csv").read_text().splitlines()[1:]
        if ",train/loss," in line
    ]


@pytest.mark.slow
def test_stage0_honours_accumulation_and_bf16(tmp_path, small_cohort, base_model):
    out = tmp_path / "bf16"
    cfg = stage0(
        small_cohort,
        base_model,
        out,
        "ssl.method=simclr",
        "train.max_steps=2",
        "train.grad_accum=2",
        "train.mixed_precision=bf16",
    )
    result = train_stage(cfg)
    losses = train_losses(out)
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses)))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 2 and "probe" in summary and result.final_dir.is_dir()
    assert summary["known"]["train"]["scans"] == summary["train_scans"]
