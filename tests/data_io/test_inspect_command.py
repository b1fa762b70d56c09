"""`retinavlm inspect` end to end: table and JSON output, folders, exit codes, unreadable files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image
from scan_testing import layered_bscan

from retinavlm.cli import main


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "scans"
    (folder / "nested").mkdir(parents=True)
    Image.fromarray((layered_bscan(pit_column=128) * 255).astype(np.uint8)).save(folder / "a_oct.png")
    Image.fromarray(skimage.data.astronaut()).save(folder / "nested" / "b_photo.png")
    (folder / "c_broken.png").write_bytes(b"not an image at all\n")
    (folder / "notes.txt").write_text("ignored: not a scan file\n")
    (folder / ".hidden.png").write_bytes(b"")
    return folder


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_output_for_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _folder(tmp_path)
    code = main(["inspect", str(folder), "--json"])
    rows = _json_lines(capsys.readouterr().out)
    assert code == 1
    assert [Path(r["path"]).name for r in rows] == ["a_oct.png", "c_broken.png", "b_photo.png"]  # sorted paths
    oct_row, broken, photo = rows
    assert oct_row["ok"] is True and oct_row["reason"] == ""
    assert oct_row["width"] == 256 and oct_row["height"] == 248 and oct_row["bit_depth"] == 8
    assert isinstance(oct_row["flags"], list) and "layer_anisotropy" in oct_row["figures"]
    assert broken["ok"] is False and broken["reason"].startswith("unreadable: is a text file")
    assert photo["ok"] is False and "colour image" in photo["reason"]


def test_all_usable_exits_zero_and_prints_a_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "good.png"
    Image.fromarray((layered_bscan(pit_column=100) * 255).astype(np.uint8)).save(path)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "good.png" in out and "yes" in out and "256×248" in out and "1 of 1 usable" in out


def test_table_shows_reasons_for_refused_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _folder(tmp_path)
    assert main(["inspect", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "colour image" in out and "unreadable: is a text file" in out and "1 of 3 usable" in out


def test_missing_path_is_reported_and_the_rest_inspected(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    good = tmp_path / "good.png"
    Image.fromarray((layered_bscan() * 255).astype(np.uint8)).save(good)
    code = main(["inspect", str(tmp_path / "missing.png"), str(good), "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert "missing.png: no such file or folder" in captured.err
    assert [Path(r["path"]).name for r in _json_lines(captured.out)] == ["good.png"]


def test_empty_folder_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["inspect", str(tmp_path / "empty")]) == 2
    assert "holds no scan files" in capsys.readouterr().err


def test_frame_and_max_pixels_options(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "big.png"
    Image.fromarray((layered_bscan() * 255).astype(np.uint8)).save(path)
    assert main(["inspect", str(path), "--json", "--max-pixels", "1000"]) == 1
    (row,) = _json_lines(capsys.readouterr().out)
    assert "above the limit of 1,000" in row["reason"]
    assert main(["inspect", str(path), "--json", "--frame", "3"]) == 1
    (row,) = _json_lines(capsys.readouterr().out)
    assert "frame 3 out of range" in row["reason"]


def test_subprocess_entry_point(kermany: Path) -> None:
    """The real command line, on real scans: all accepted, exit 0, one JSON object per file."""
    files = sorted((kermany / "DRUSEN").glob("*.jpeg"))[:3]
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "retinavlm.cli", "inspect", "--json", *map(str, files)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = _json_lines(result.stdout)
    assert [r["path"] for r in rows] == [str(f) for f in files]
    assert all(r["ok"] and r["width"] >= 512 and r["height"] == 496 for r in rows)
    assert "Traceback" not in result.stderr


def test_a_scan_too_dark_to_read_is_shown_as_low_quality(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    dark = tmp_path / "dark.png"
    Image.fromarray(np.round(layered_bscan(pit_column=128) * 0.02 * 255).astype(np.uint8)).save(dark)
    assert main(["inspect", str(dark), "--json"]) == 1
    (row,) = _json_lines(capsys.readouterr().out)
    assert (row["ok"], row["level"]) == (False, "low_quality") and row["reason"].startswith("too dark to read")
    assert main(["inspect", str(dark)]) == 1
    out = capsys.readouterr().out
    assert "low quality" in out and "0 of 1 usable, 1 low quality, 0 refused" in out
