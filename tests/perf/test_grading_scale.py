"""benchmarks/grading.py --scale: one `retinavlm evaluate` run recorded with wall, CPU and peak memory, the
earlier figures kept (run here on a few reports; the recorded run is on 100 000)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_scale_run_adds_memory_and_keeps_the_other_figures(tmp_path, monkeypatch) -> None:
    out = tmp_path / "grading.json"
    out.write_text(json.dumps({"benchmark": "grading", "one_core": {"reports": 3000}}))
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    argv = ["--scale", "40", "--bootstrap", "10", "--workers", "2", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", ["benchmarks/grading.py", *argv])
    assert importlib.import_module("grading").main() == 0
    record = json.loads(out.read_text())
    assert record["one_core"] == {"reports": 3000}
    scale = record["scale"]
    assert scale["reports_per_system"] == 40 and scale["workers"] == 2 and scale["wall_seconds"] > 0
    assert scale["peak_rss_mb_all_processes"] > 10 and scale["peak_rss_mb_largest_process"] > 10
    assert "--workers 2" in scale["command"]
