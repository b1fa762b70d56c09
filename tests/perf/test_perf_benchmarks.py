"""The GPU benchmarks run end to end with --tiny on the CPU, and skip cleanly without CUDA."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def run_benchmark(name: str, argv: list[str], monkeypatch) -> int:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setattr(sys, "argv", [f"benchmarks/{name}.py", *argv])
    torch.set_num_threads(1)
    return importlib.import_module(name).main()


@pytest.fixture
def work(tmp_path_factory):
    return tmp_path_factory.getbasetemp() / "bench-work"  # shared: the tiny base LLM is built once


# The plain QLoRA baseline goes through peft's k-bit preparation: no library deprecation may reach the output.
@pytest.mark.filterwarnings("error::FutureWarning", "error:torch.utils.checkpoint:UserWarning")
def test_gpu_train_tiny_reports_ratios_and_equal_losses(tmp_path, work, monkeypatch):
    out = tmp_path / "train.json"
    argv = [
        "--tiny",
        "--steps",
        "1",
        "--warmup",
        "0",
        "--recipes",
        "plain_qlora",
        "toolkit_fast",
        "--work-dir",
        str(work),
        "--out",
        str(out),
    ]
    assert run_benchmark("gpu_train", argv, monkeypatch) == 0
    record = json.loads(out.read_text())
    assert record["device"].startswith("CPU") and record["versions"]["torch"]
    fast = record["recipes"]["toolkit_fast"]
    assert fast["loss_abs_diff"] < 1e-3 and fast["samples_per_s"] > 0
    assert fast["trainable_parameters"] == record["recipes"]["plain_qlora"]["trainable_parameters"]
    assert record["ratios"]["toolkit_fast"]["samples_per_s_ratio"] > 0


def test_gpu_generate_tiny_gives_identical_ids(tmp_path, work, monkeypatch):
    out = tmp_path / "generate.json"
    assert (
        run_benchmark(
            "gpu_generate", ["--tiny", "--repeats", "1", "--work-dir", str(work), "--out", str(out)], monkeypatch
        )
        == 0
    )
    record = json.loads(out.read_text())
    assert record["ratios"]["all_token_ids_identical"] is True
    assert record["runs"]["batch_1"]["new_tokens_generated"] > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message; this machine has CUDA")
@pytest.mark.parametrize("name", ["gpu_train", "gpu_generate"])
def test_full_benchmarks_skip_without_cuda(name, tmp_path, monkeypatch, capsys):
    assert run_benchmark(name, ["--out", str(tmp_path / "x.json")], monkeypatch) == 0
    assert "skipped: no CUDA device" in capsys.readouterr().out
    assert not (tmp_path / "x.json").exists()
