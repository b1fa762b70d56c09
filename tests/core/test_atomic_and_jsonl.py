from __future__ import annotations

import json
import os

import pytest

from retinavlm.atomic import atomic_dir, atomic_open, write_json, write_jsonl
from retinavlm.jsonl import read_jsonl


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "results.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write('{"v": 2, "half')
            raise RuntimeError("crash mid-write")
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_atomic_dir_appears_only_when_complete(tmp_path):
    target = tmp_path / "ckpt"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "a.txt").write_text("partial")
            raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("one")
    with atomic_dir(target) as tmp:
        (tmp / "b.txt").write_text("two")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_atomic_outputs_get_ordinary_permissions(tmp_path):
    """mkstemp makes 0600 files; results and checkpoints must be readable like any other file."""
    umask = os.umask(0o022)
    try:
        write_json(tmp_path / "r.json", {})
        with atomic_dir(tmp_path / "d"):
            pass
    finally:
        os.umask(umask)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755


def test_read_jsonl_reports_bad_lines_by_number(tmp_path):
    path = tmp_path / "p.jsonl"
    write_jsonl(path, [{"id": "a"}])
    with path.open("ab") as handle:
        handle.write(b"\n{not json}\n[1, 2]\n\xff\xfe\n")
        handle.write(json.dumps({"id": "b"}).encode() + b"\n")
    rows, problems = read_jsonl(path)
    assert [r["id"] for r in rows] == ["a", "b"]
    assert [(p.line, p.message.split(" ")[0]) for p in problems] == [(3, "malformed"), (4, "expected"), (5, "not")]
    assert str(problems[0]).startswith(f"{path}:3: ")


def test_read_jsonl_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_jsonl(tmp_path / "nope.jsonl")
