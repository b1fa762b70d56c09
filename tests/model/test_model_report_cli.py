"""`retinavlm report` end to end, in-process through the CLI's `main` (resuming and several processes:
test_model_report_run.py)."""

import json
import shutil
from pathlib import Path

import pytest
from model_testing import kermany_scans, other_knowledge_dir, tiny_config

from retinavlm.cli import main
from retinavlm.model.config import EncoderConfig
from retinavlm.model.report_run import pseudonym
from retinavlm.model.vlm import RetinaVLM


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report") / "tiny-ckpt"
    RetinaVLM.from_config(tiny_config(encoder=EncoderConfig(image_size=64)), device="cpu").save_pretrained(folder)
    return folder


def read_predictions(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_reports_good_scans_and_lists_the_bad_ones(checkpoint, tmp_path, capsys):
    real = [Path(shutil.copy(p, tmp_path / p.name)) for p in kermany_scans(3)]
    (tmp_path / "notes.png").write_text("this is not an image")
    (tmp_path / "cut.jpeg").write_bytes(real[0].read_bytes()[:300])
    out = tmp_path / "predictions.jsonl"
    args = ["report", "--checkpoint", str(checkpoint), *map(str, real), str(tmp_path / "notes.png"),
            str(tmp_path / "cut.jpeg"), str(tmp_path / "absent.png"), "--out", str(out),
            "--max-new-tokens", "6", "--batch-size", "2"]  # fmt: skip
    assert main(args) == 1  # some skipped
    rows = read_predictions(out)
    assert [r["id"] for r in rows] == [pseudonym(p) for p in real]
    assert all(r["id"].startswith("scan-") and p.stem.split("-")[1] not in r["id"] for r, p in zip(rows, real))
    assert all(r["model"] == "tiny-ckpt" and isinstance(r["report"], str) for r in rows)
    err = capsys.readouterr().err
    assert "skipped: " in err and "notes.png" in err and "cut.jpeg" in err and "absent.png: no such file" in err
    assert "Traceback" not in err


def test_folders_and_reference_ids(checkpoint, tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    names = [Path(shutil.copy(p, scans / p.name)).name for p in kermany_scans(2)]
    refs = tmp_path / "references.jsonl"
    refs.write_text(
        "".join(json.dumps({"id": f"case-{i}", "image": f"scans/{name}"}) + "\n" for i, name in enumerate(names))
    )
    out = tmp_path / "p.jsonl"
    assert (
        main(
            [
                "report",
                "--checkpoint",
                str(checkpoint),
                str(scans),
                "--references",
                str(refs),
                "--out",
                str(out),
                "--max-new-tokens",
                "4",
                "--model-name",
                "m1",
            ]
        )
        == 0
    )
    assert sorted(r["id"] for r in read_predictions(out)) == ["case-0", "case-1"]


def test_a_bad_checkpoint_or_prompt_is_one_line_and_exit_2(checkpoint, tmp_path, capsys):
    scan = tmp_path / "scan.png"
    scan.write_bytes(b"")
    assert main(["report", "--checkpoint", str(tmp_path / "nowhere"), str(scan)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("retinavlm report: error:") and "checkpoint folder not found" in err and "\n" not in err
    assert main(["report", "--checkpoint", str(checkpoint), str(scan), "--prompt", "Describe the scan."]) == 2
    assert "holds 0 image placeholders" in capsys.readouterr().err
    assert main(["report", "--checkpoint", str(checkpoint), str(scan), "--references", str(tmp_path / "r.jsonl")]) == 2
    assert capsys.readouterr().err == f"retinavlm report: error: {tmp_path / 'r.jsonl'}: references file not found\n"
    assert not (tmp_path / "predictions.jsonl").exists()


def test_a_checkpoint_of_another_knowledge_base_is_refused_unless_forced(checkpoint, tmp_path, capsys):
    scan = kermany_scans(1)[0]
    other = other_knowledge_dir(tmp_path)
    out = tmp_path / "p.jsonl"
    args = ["report", "--checkpoint", str(checkpoint), str(scan), "--out", str(out), "--max-new-tokens", "3"]
    assert main([*args, "--knowledge", str(other)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "trained under knowledge base" in err and "--force-knowledge" in err
    assert not out.exists()
    with pytest.warns(UserWarning, match="trained under knowledge base"):
        assert main([*args, "--knowledge", str(other), "--force-knowledge"]) == 0
    assert [row["id"] for row in read_predictions(out)] == [pseudonym(scan)]


def test_ids_are_content_pseudonyms_unless_source_names_are_kept(checkpoint, tmp_path, capsys):
    scans = [Path(shutil.copy(p, tmp_path / p.name)) for p in kermany_scans(2)]
    twin = Path(shutil.copy(scans[0], tmp_path / "renamed-copy.jpeg"))
    common = ["report", "--checkpoint", str(checkpoint), *map(str, scans), str(twin), "--max-new-tokens", "3"]
    assert main([*common, "--out", str(tmp_path / "pseudonyms.jsonl")]) == 1  # the copy has the same content
    pseudonymous = [row["id"] for row in read_predictions(tmp_path / "pseudonyms.jsonl")]
    assert pseudonymous == [pseudonym(p) for p in scans] and len(set(pseudonymous)) == 2
    assert not any(p.stem.split("-")[1] in line for p in scans for line in pseudonymous)  # no patient number
    assert f"renamed-copy.jpeg: duplicate id {pseudonym(scans[0])!r}" in capsys.readouterr().err
    assert main([*common, "--out", str(tmp_path / "named.jsonl"), "--keep-source-names"]) == 0
    assert [row["id"] for row in read_predictions(tmp_path / "named.jsonl")] == [
        *(p.stem for p in scans),
        "renamed-copy",
    ]


def test_only_bad_files_give_an_empty_predictions_file_and_exit_1(checkpoint, tmp_path, capsys):
    (tmp_path / "notes.png").write_text("this is not an image")
    out = tmp_path / "p.jsonl"
    assert main(["report", "--checkpoint", str(checkpoint), str(tmp_path / "notes.png"), "--out", str(out)]) == 1
    assert out.read_text() == ""
    assert "wrote 0 report(s)" in capsys.readouterr().out
