"""The cohort folder contract, exact derived labels, determinism by seed, and the synth/demo CLI."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from pathlib import Path

import pytest
from PIL import Image

from retinavlm.cli import main
from retinavlm.data.synthetic import (
    CohortConfigError,
    annotation_columns,
    load_cohort_config,
    plan_cohort,
    render_cohort,
    render_on_domain,
)
from retinavlm.jsonl import read_jsonl
from retinavlm.knowledge import load_knowledge, referral_from_findings, stage_from_findings

REFERENCE_FIELDS = {
    "id",
    "patient_id",
    "image",
    "eye",
    "visit",
    "domain",
    "stage",
    "referral",
    "biomarkers",
    "attributes",
    "report",
    "age",
    "sex",
}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "cohort"
    render_cohort(24, out, seed=11, workers=1)
    return out


def test_references_follow_the_contract_and_labels_are_derived(cohort):
    kb = load_knowledge()
    rows, problems = read_jsonl(cohort / "references.jsonl")
    assert not problems and len(rows) == 24
    assert len({r["id"] for r in rows}) == 24
    for row in rows:
        assert REFERENCE_FIELDS <= set(row)
        assert set(row["biomarkers"]) == set(kb.biomarker_ids)
        findings = {b: {"state": s, **row["attributes"].get(b, {})} for b, s in row["biomarkers"].items()}
        assert row["stage"] == stage_from_findings(findings, kb)
        assert row["referral"] == referral_from_findings(findings, kb)
        for b in row["attributes"]:
            assert row["biomarkers"][b] == "present"
        if row["biomarkers"]["drusen"] == "present":
            assert row["attributes"]["drusen"]["size"] in kb.biomarkers["drusen"].attributes["size"].values
        image = Image.open(cohort / row["image"])
        domain = load_cohort_config().domains[row["domain"]]
        assert image.mode == "L" and image.size == (domain.cols, domain.rows)
        assert row["report"].strip()


def test_patients_have_both_eyes_and_never_regress(cohort):
    kb = load_knowledge()
    rows, _ = read_jsonl(cohort / "references.jsonl")
    eyes, stages = defaultdict(set), defaultdict(list)
    for row in rows:
        eyes[row["patient_id"]].add(row["eye"])
        stages[(row["patient_id"], row["eye"])].append((row["visit"], kb.stage_ids.index(row["stage"])))
    assert all(e == {"OD", "OS"} for e in list(eyes.values())[:-1])  # the last patient may be cut short
    for history in stages.values():
        ordered = [s for _, s in sorted(history)]
        assert ordered == sorted(ordered)
    assert any(len(h) > 1 for h in stages.values()), "expected some repeat visits"


def test_annotations_and_manifest_match_the_references(cohort):
    kb = load_knowledge()
    rows, _ = read_jsonl(cohort / "references.jsonl")
    with open(cohort / "annotations.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == annotation_columns(kb)
    for ref, ann in zip(rows, table):
        assert ann["id"] == ref["id"] and ann["stage"] == ref["stage"] and ann["referral"] == ref["referral"]
        for b in kb.biomarker_ids:
            assert ann[b] == ("1" if ref["biomarkers"][b] == "present" else "0")
        assert ann["drusen_size"] == ref["attributes"].get("drusen", {}).get("size", "")
        assert ann["ped_type"] == ref["attributes"].get("ped", {}).get("type", "")
    manifest = json.loads((cohort / "manifest.json").read_text())
    assert manifest["seed"] == 11 and manifest["knowledge"] == kb.version_tag
    assert sum(manifest["counts"]["stage"].values()) == 24
    assert manifest["counts"]["stage"]["healthy"] == sum(r["stage"] == "healthy" for r in rows)
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert len(listed) == 2 * 24 + 2  # images, lesion masks, references.jsonl, annotations.csv
    for path, digest in listed.items():
        assert hashlib.sha256((cohort / path).read_bytes()).hexdigest() == digest


def test_lesion_masks_mark_exactly_the_findings_present(cohort):
    from retinavlm.data.lesion_masks import cohort_mask_bits, mask_path, read_mask

    kb = load_knowledge()
    bits = cohort_mask_bits(cohort)
    assert bits == list(kb.biomarker_ids)
    rows, _ = read_jsonl(cohort / "references.jsonl")
    present = drawn = 0
    for row in rows:
        field = read_mask(mask_path(cohort, row["id"]), Image.open(cohort / row["image"]).size[::-1])
        for index, biomarker in enumerate(bits):
            has_pixels = bool((field >> index & 1).any())
            if row["biomarkers"][biomarker] == "absent":
                assert not has_pixels, (row["id"], biomarker)
            else:
                present += 1
                drawn += has_pixels
    assert present and drawn >= 0.95 * present


def test_same_seed_gives_byte_identical_files_whatever_the_workers(cohort, tmp_path):
    again = tmp_path / "again"
    render_cohort(24, again, seed=11, workers=2)
    first = sorted(p.relative_to(cohort) for p in cohort.rglob("*") if p.is_file())
    assert first == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in first:
        assert (cohort / rel).read_bytes() == (again / rel).read_bytes(), rel
    other = plan_cohort(24, 12, load_cohort_config())
    assert [p.present for p in other] != [p.present for p in plan_cohort(24, 11, load_cohort_config())]


def test_default_cohort_gives_every_stage_enough_examples():
    kb = load_knowledge()
    plans = plan_cohort(600, 0, load_cohort_config())
    counts = {s: sum(p.stage == s for p in plans) for s in kb.stage_ids}
    assert min(counts.values()) >= 0.07 * 600, counts


def test_watermark_correlation_makes_a_shortcut():
    config = load_cohort_config()
    from dataclasses import replace

    kb = load_knowledge()
    marked = [n for n, d in config.domains.items() if d.watermark]
    shortcut = replace(config, watermark_disease_correlation=1.0).only_domain(marked[0])
    plans = plan_cohort(80, 3, shortcut)
    assert all(p.watermark == (p.referral != kb.referrals[0].id) for p in plans)
    assert all(p.watermark for p in plan_cohort(40, 3, config.only_domain(marked[0])))


def test_synth_cli_writes_a_cohort_and_prints_a_summary(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["synth", "--n", "5", "--out", str(out), "--seed", "2", "--domain", "topcon_like"]) == 0
    printed = capsys.readouterr().out
    assert "5 scans" in printed and "late_wet_active" in printed
    rows, _ = read_jsonl(out / "references.jsonl")
    assert {r["domain"] for r in rows} == {"topcon_like"} and len(list((out / "images").iterdir())) == 5
    assert main(["synth", "--n", "3", "--out", str(out), "--seed", "2"]) == 0  # an older cohort is replaced
    assert len(list((out / "images").iterdir())) == 3


def test_synth_cli_refuses_bad_input_with_one_line(tmp_path, capsys):
    keep = tmp_path / "precious"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    assert main(["synth", "--n", "3", "--out", str(keep)]) == 2
    assert (keep / "notes.txt").read_text() == "mine"
    bad = tmp_path / "bad.yaml"
    text = (Path(load_cohort_config.__globals__["default_cohort_config_path"]())).read_text()
    bad.write_text(text.replace("  late_dry: 0.15", "  late_dryy: 0.15"))
    cases = [
        (["--domain", "nope"], "unknown scanner domain 'nope'"),
        (["--config", str(bad)], "late_dryy"),
        (["--config", str(tmp_path / "missing.yaml")], "not found"),
        (["--n", "0"], "at least 1"),
    ]
    for extra, message in cases:
        capsys.readouterr()
        assert main(["synth", "--n", "3", "--out", str(tmp_path / "x"), *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "x").exists()


def test_a_held_out_domain_renders_the_same_scans_on_a_scanner_the_cohort_never_used(tmp_path):
    config = load_cohort_config()
    trained_on = config.without_domain("topcon_like")
    render_cohort(16, tmp_path / "cohort", seed=3, config=trained_on)
    rows, _ = read_jsonl(tmp_path / "cohort" / "references.jsonl")
    assert {row["domain"] for row in rows} <= {"spectralis_like", "cirrus_like"}
    patients = {rows[0]["patient_id"], rows[-1]["patient_id"]}

    render_on_domain(16, tmp_path / "heldout", "topcon_like", patients, seed=3, config=config)
    heldout, _ = read_jsonl(tmp_path / "heldout" / "references.jsonl")
    same = {row["id"]: row for row in rows}
    assert [row["id"] for row in heldout] == [row["id"] for row in rows if row["patient_id"] in patients]
    scanner = {"domain", "fovea", "pixel_spacing_um", "watermark"}
    for row in heldout:
        assert row["domain"] == "topcon_like"
        assert {k: v for k, v in row.items() if k not in scanner} == {
            k: v for k, v in same[row["id"]].items() if k not in scanner
        }  # the same eye, findings and report
        assert Image.open(tmp_path / "heldout" / row["image"]).size[1] == config.domains["topcon_like"].rows
    with pytest.raises(CohortConfigError, match="only one"):
        config.only_domain("topcon_like").without_domain("topcon_like")
