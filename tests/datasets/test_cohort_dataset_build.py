"""Cohort sources -> patient-split DatasetDict on disk, end to end through `retinavlm dataset build`."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict

import numpy as np
import pytest
from datasets import load_from_disk
from PIL import Image

from retinavlm.cli import main
from retinavlm.data.io import read_scan
from retinavlm.knowledge import load_knowledge, referral_from_findings, stage_from_findings
from retinavlm.resources import shared_data_dir

KB = load_knowledge()


def write_png(path, seed, size=(24, 32), dtype=np.uint8):
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    Image.fromarray(rng.integers(0, top, size=size, dtype=dtype)).save(path)


def reference(scan_id, patient, eye, findings):
    """One references.jsonl row whose stage and referral follow the knowledge base."""
    return {
        "id": scan_id,
        "patient_id": patient,
        "image": f"images/{scan_id}.png",
        "eye": eye,
        "visit": 0,
        "domain": "spectralis",
        "age": 70,
        "sex": "F",
        "stage": stage_from_findings(findings, KB),
        "referral": referral_from_findings(findings, KB),
        "biomarkers": {
            bid: findings[bid]["state"] if isinstance(findings.get(bid), dict) else findings.get(bid, "absent")
            for bid in KB.biomarker_ids
        },
        "attributes": {
            bid: {k: v for k, v in f.items() if k != "state"} for bid, f in findings.items() if isinstance(f, dict)
        },
        "report": f"Report for {scan_id}.",
    }


FINDINGS = [
    {},
    {"drusen": {"state": "present", "size": "large"}},
    {"srf": "present", "ped": {"state": "present", "type": "fibrovascular"}},
    {"rpe_atrophy": "present", "hypertransmission": "present"},
]


def write_synthetic_cohort(root, n_patients=8):
    (root / "images").mkdir(parents=True)
    rows = []
    for p in range(n_patients):
        for eye in ("OD", "OS"):
            scan_id = f"P{p:03d}-{eye}"
            write_png(root / "images" / f"{scan_id}.png", seed=len(rows))
            rows.append(reference(scan_id, f"P{p:03d}", eye, FINDINGS[p % len(FINDINGS)]))
    (root / "references.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def build(capsys, *args):
    code = main(["dataset", "build", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def patients_by_split(dd):
    seen = defaultdict(set)
    for name, ds in dd.items():
        for patient in ds["split_group"]:
            seen[patient].add(name)
    return seen


def test_synthetic_cohort_round_trips_through_disk(tmp_path, capsys):
    rows = write_synthetic_cohort(tmp_path / "cohort")
    code, out, err = build(
        capsys, tmp_path / "cohort", "--out", tmp_path / "ds", "--val", 0.25, "--test", 0.25, "--seed", 7
    )
    assert code == 0, err
    assert "train" in out and "validation" in out and "test" in out and "patients" in out

    dd = load_from_disk(str(tmp_path / "ds"))
    assert set(dd) == {"train", "validation", "test"}
    assert sum(len(ds) for ds in dd.values()) == len(rows)
    assert all(len(splits) == 1 for splits in patients_by_split(dd).values())
    assert list(dd["train"].features)[:4] == ["id", "patient_id", "split_group", "image"]
    assert set(KB.biomarker_ids) <= set(dd["train"].features)

    by_id = {r["id"]: r for r in rows}
    for _name, ds in dd.items():
        for row in ds:
            ref = by_id[row["id"]]
            assert (row["patient_id"], row["eye"], row["stage"], row["referral"], row["report"]) == (
                ref["patient_id"],
                ref["eye"],
                ref["stage"],
                ref["referral"],
                ref["report"],
            )
            assert {bid: row[bid] for bid in KB.biomarker_ids} == ref["biomarkers"]
            assert row["attributes"] == ref["attributes"]
            pixels = np.asarray(row["image"])
            assert np.array_equal(pixels, np.asarray(Image.open(tmp_path / "cohort" / ref["image"])))

    record = json.loads((tmp_path / "ds" / "cohort.json").read_text())
    assert record["kind"] == "synthetic" and record["knowledge"] == KB.version_tag
    assert record["split"]["seed"] == 7 and record["problems"] == []
    assert sum(s["scans"] for s in record["splits"].values()) == len(rows)


def test_same_seed_same_split_and_rebuild_replaces_the_folder(tmp_path, capsys):
    write_synthetic_cohort(tmp_path / "cohort")
    build(capsys, tmp_path / "cohort", "--out", tmp_path / "a", "--seed", 3)
    build(capsys, tmp_path / "cohort", "--out", tmp_path / "b", "--seed", 3)
    a, b = load_from_disk(str(tmp_path / "a")), load_from_disk(str(tmp_path / "b"))
    assert {n: ds["id"][:] for n, ds in a.items()} == {n: ds["id"][:] for n, ds in b.items()}
    code, _, _ = build(capsys, tmp_path / "cohort", "--out", tmp_path / "a", "--val", 0, "--seed", 3)
    assert code == 0 and set(load_from_disk(str(tmp_path / "a"))) == {"train", "test"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary leftovers


def test_folds_hold_out_every_patient_outside_the_test_split_once(tmp_path, capsys):
    rows = write_synthetic_cohort(tmp_path / "cohort", n_patients=16)
    build(capsys, tmp_path / "cohort", "--out", tmp_path / "plain", "--seed", 5)
    test_ids = set(load_from_disk(str(tmp_path / "plain"))["test"]["id"])
    held_out = []
    for fold in range(4):
        out = tmp_path / f"fold{fold}"
        code, _, err = build(capsys, tmp_path / "cohort", "--out", out, "--seed", 5, "--folds", 4, "--fold", fold)
        assert code == 0, err
        dd = load_from_disk(str(out))
        assert not {i for ds in dd.values() for i in ds["id"]} & test_ids, "a real test scan is in a fold"
        assert all(len(splits) == 1 for splits in patients_by_split(dd).values())
        held_out += dd["test"]["id"]
        assert json.loads((out / "cohort.json").read_text())["split"].items() >= {"folds": 4, "fold": fold}.items()
    assert sorted(held_out) == sorted(r["id"] for r in rows if r["id"] not in test_ids)


def test_bad_rows_are_skipped_and_named_by_line(tmp_path, capsys):
    root = tmp_path / "cohort"
    rows = write_synthetic_cohort(root, n_patients=4)
    (root / "images" / "P000-OD.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    bad = [
        {**rows[1], "id": "P000-OD"},  # duplicate id
        {**rows[1], "id": "X1", "image": "images/nope.png"},  # missing image
        {**rows[1], "id": "X2", "stage": "wet"},  # unknown stage
        {**rows[1], "id": "X3", "referral": "asap"},  # unknown referral
        {**rows[1], "id": "X4", "biomarkers": {"drusn": "present"}},
        {**rows[0], "id": "X5", "stage": "late_wet_active"},  # contradicts all-absent findings
        {**rows[1], "id": "X6", "patient_id": ""},
    ]
    lines = [json.dumps(r) for r in rows + bad] + ["{not json"]
    (root / "references.jsonl").write_text("\n".join(lines) + "\n")

    code, out, err = build(capsys, root, "--out", tmp_path / "ds")
    assert code == 1
    manifest = root / "references.jsonl"
    n = len(rows)
    expected = [
        (f"{manifest}:1:", "corrupt or unreadable PNG"),
        (f"{manifest}:{n + 1}:", "duplicate id 'P000-OD'"),
        (f"{manifest}:{n + 2}:", "image file not found: images/nope.png"),
        (f"{manifest}:{n + 3}:", "unknown stage 'wet'"),
        (f"{manifest}:{n + 4}:", "unknown referral 'asap'"),
        (f"{manifest}:{n + 5}:", "unknown biomarker id(s) 'drusn'"),
        (f"{manifest}:{n + 6}:", "stage 'late_wet_active' contradicts the labelled findings, which allow healthy"),
        (f"{manifest}:{n + 7}:", "missing patient_id"),
        (f"{manifest}:{n + 8}:", "malformed JSON"),
    ]
    skipped = [line for line in err.splitlines() if line.startswith("skipped: ")]
    assert len(skipped) == len(expected), err
    for where, message in expected:
        assert any(where in line and message in line for line in skipped), (where, message, err)
    dd = load_from_disk(str(tmp_path / "ds"))
    assert sorted(i for ds in dd.values() for i in ds["id"]) == sorted(r["id"] for r in rows[1:])
    assert len(json.loads((tmp_path / "ds" / "cohort.json").read_text())["problems"]) == len(expected)


def test_csv_manifest_with_unknown_findings_and_16_bit_images(tmp_path, capsys):
    (tmp_path / "scans").mkdir()
    header = ["id", "patient_id", "image", "eye", "drusen", "drusen_size", "srf", "stage", "note"]
    table = []
    for i in range(6):
        write_png(tmp_path / "scans" / f"s{i}.png", seed=i, dtype=np.uint16)
        table.append([f"s{i}", f"pt{i // 2}", f"scans/s{i}.png", "OD", "1", "large", "0" if i % 2 else "", "", "x"])
    table.append(
        ["s9", "pt9", "scans/s0.png", "OD", "present", "large", "absent", "early", ""]
    )  # drusen large != early
    with (tmp_path / "m.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *table])

    code, _, err = build(capsys, tmp_path / "m.csv", "--out", tmp_path / "ds", "--val", 0, "--test", 0.3)
    assert code == 1
    assert "ignored unknown column(s)/key(s): note" in err
    assert f"{tmp_path / 'm.csv'}:8: stage 'early' contradicts the labelled findings" in err
    rows = {row["id"]: row for ds in load_from_disk(str(tmp_path / "ds")).values() for row in ds}
    assert set(rows) == {f"s{i}" for i in range(6)}
    assert rows["s1"]["srf"] == "absent" and rows["s0"]["srf"] is None  # empty cell = unknown
    assert rows["s0"]["ped"] is None and rows["s0"]["drusen"] == "present"
    assert rows["s0"]["attributes"] == {"drusen": {"size": "large"}}
    assert rows["s1"]["stage"] is None  # large drusen, but other findings unknown
    assert rows["s1"]["referral"] is None  # srf absent, but irf unknown
    decoded = np.asarray(rows["s3"]["image"])
    assert decoded.dtype == np.uint16  # deeper than 8 bits: stored as a 16-bit PNG, not squeezed to 8
    assert np.allclose(decoded / 65535.0, read_scan(tmp_path / "scans" / "s3.png").pixels, atol=1 / 65535)


def test_failed_build_leaves_existing_output_untouched(tmp_path, capsys):
    root = tmp_path / "cohort"
    write_synthetic_cohort(root, n_patients=2)
    code, _, _ = build(capsys, root, "--out", tmp_path / "ds")
    assert code == 0
    before = sorted(p.name for p in (tmp_path / "ds").iterdir())
    for image in (root / "images").iterdir():
        image.write_text("not an image")
    code, out, err = build(capsys, root, "--out", tmp_path / "ds")
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("error: ") and "none of the 4 images could be read" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == before
    assert len(load_from_disk(str(tmp_path / "ds"))["train"]) > 0


def test_refuses_to_overwrite_the_source_or_an_unrelated_folder(tmp_path, capsys):
    root = tmp_path / "cohort"
    write_synthetic_cohort(root, n_patients=2)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    for out, message in (
        (root, "would replace the source"),
        (tmp_path, "would replace the source"),
        (tmp_path / "notes", "is not a cohort dataset"),
    ):
        code, _, err = build(capsys, root, "--out", out)
        assert code == 2 and message in err, err
    assert (root / "references.jsonl").is_file() and (tmp_path / "notes" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/missing"], "no such file or folder"),
        (["{tmp}/m.txt"], "unknown manifest format '.txt'"),
        (["{tmp}", "--kind", "synthetic"], "not a synthetic cohort folder"),
        (["{tmp}", "--kind", "kermany", "--label-map", "{tmp}/none.yaml"], "label map not found"),
        (["{tmp}/m.txt", "--val", "0.6", "--test", "0.5"], "leaves no scans for training"),
        (["{tmp}/m.txt", "--folds", "1"], "--folds: must be 0 (no folds) or at least 2"),
        (["{tmp}/m.txt", "--folds", "4", "--fold", "4"], "--fold: must be in [0, 4)"),
    ],
)
def test_fatal_problems_are_one_line_errors(tmp_path, capsys, args, message):
    (tmp_path / "m.txt").write_text("id\n")
    code, _, err = build(capsys, *[a.format(tmp=tmp_path) for a in args], "--out", tmp_path / "ds")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert not (tmp_path / "ds").exists()


def write_kermany_folder(root, classes=("CNV", "DME", "DRUSEN", "NORMAL"), per_class=3):
    listing = []
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            name = f"{c}-{100 + i}-1.png"
            write_png(root / c / name, seed=len(listing))
            listing.append(
                {
                    "file": f"{c}/{name}",
                    "label": c,
                    "patient_id": str(100 + i),
                    "sha256": hashlib.sha256((root / c / name).read_bytes()).hexdigest(),
                    "patient_group": str(100 + i),
                }
            )
    return listing


def write_listing(root, listing):
    with (root / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(listing[0]))
        writer.writeheader()
        writer.writerows(listing)


def test_kermany_folder_cross_checked_with_its_manifest(tmp_path, capsys):
    root = tmp_path / "k"
    listing = write_kermany_folder(root)
    listing[0]["patient_id"] = "999"  # CNV-100-1: patient disagrees
    listing[1]["sha256"] = "0" * 64  # CNV-101-1: changed file
    listing = [r for r in listing if r["file"] != "DME/DME-102-1.png"]  # present but not listed
    listing.append({**listing[-1], "file": "NORMAL/NORMAL-777-1.png", "patient_id": "777"})  # listed, missing
    for row in listing:  # patients 100 and 101 are one person
        if row["patient_id"] == "101":
            row["patient_group"] = "100"
    write_listing(root, listing)
    (root / "OTHER").mkdir()
    write_png(root / "OTHER" / "OTHER-1-1.png", seed=99)
    write_png(root / "NORMAL" / "NORMAL-bad.png", seed=98)

    code, out, err = build(capsys, root, "--out", tmp_path / "ds", "--val", 0.2, "--test", 0.2)
    assert code == 1
    for expected in (
        "CNV-100-1.png: patient_id '100' from the path disagrees with manifest.csv",
        "CNV-101-1.png: sha256 differs from manifest.csv",
        "DME-102-1.png: not listed in manifest.csv",
        "listed file NORMAL/NORMAL-777-1.png not found",
        "class 'OTHER' is not in",
        "NORMAL-bad.png: file name does not match the pattern",
    ):
        assert expected in err, (expected, err)
    assert "kermany" in out
    dd = load_from_disk(str(tmp_path / "ds"))
    rows = {row["id"]: row for ds in dd.values() for row in ds}
    assert len(rows) == 12 - 3
    assert (rows["DME-100-1"]["condition"], rows["DME-100-1"]["stage"], rows["DME-100-1"]["irf"]) == (
        "dme",
        None,
        "present",
    )
    assert rows["NORMAL-101-1"]["split_group"] == "100"
    split_of = {row["id"]: name for name, ds in dd.items() for row in ds}
    assert len({split_of[i] for i, r in rows.items() if r["split_group"] == "100"}) == 1


@pytest.fixture(scope="module")
def kermany_dataset(tmp_path_factory):
    shared = shared_data_dir()
    if shared is None or not (shared / "kermany-oct2017").is_dir():
        pytest.skip("real OCT sample ../shared/data/kermany-oct2017 not found (set RETINAVLM_SHARED_DATA)")
    out = tmp_path_factory.mktemp("kermany") / "ds"
    code = main(["dataset", "build", str(shared / "kermany-oct2017"), "--out", str(out), "--seed", "0"])
    return shared / "kermany-oct2017", out, code


def test_real_kermany_sample_builds_with_patient_disjoint_splits(kermany_dataset):
    folder, out, code = kermany_dataset
    assert code == 0
    dd = load_from_disk(str(out))
    with (folder / "manifest.csv").open(newline="") as handle:
        listing = list(csv.DictReader(handle))
    assert sum(len(ds) for ds in dd.values()) == len(listing)
    assert all(len(s) == 1 for s in patients_by_split(dd).values())
    split_of_patient = {row["patient_id"]: name for name, ds in dd.items() for row in ds.select_columns(["patient_id"])}
    for row in listing:  # ids the manifest groups as one person share a split
        assert split_of_patient[row["patient_id"]] == split_of_patient.get(
            row["patient_group"], split_of_patient[row["patient_id"]]
        )
    for name, ds in dd.items():
        labels = {
            (r["source"].split("/")[0], r["stage"], r["referral"], r["condition"])
            for r in ds.select_columns(["source", "stage", "referral", "condition"])
        }
        assert labels == {
            ("CNV", "late_wet_active", "urgent", None),
            ("DME", None, "urgent", "dme"),
            ("DRUSEN", None, "routine", None),
            ("NORMAL", "healthy", "none", None),
        }, name


def test_real_kermany_images_decode_to_what_the_reader_reads(kermany_dataset):
    folder, out, _ = kermany_dataset
    test = load_from_disk(str(out))["test"]
    for row in test.select(range(0, len(test), max(1, len(test) // 5))):
        assert np.array_equal(np.asarray(row["image"]), read_scan(folder / row["source"]).to_uint8())


def test_rendered_synthetic_cohort_builds(tmp_path, capsys):
    synthetic = pytest.importorskip("retinavlm.data.synthetic")
    if not hasattr(synthetic, "render_cohort"):
        pytest.skip("retinavlm.data.synthetic.render_cohort is not available yet")
    summary = synthetic.render_cohort(12, tmp_path / "cohort", seed=0)
    code, out, err = build(capsys, tmp_path / "cohort", "--out", tmp_path / "ds")
    assert code == 0, err
    dd = load_from_disk(str(tmp_path / "ds"))
    assert sum(len(ds) for ds in dd.values()) == 12
    assert len(patients_by_split(dd)) == summary.n_patients
    assert all(len(s) == 1 for s in patients_by_split(dd).values())
    assert all(row[bid] in ("present", "absent") for row in dd["train"] for bid in KB.biomarker_ids)
