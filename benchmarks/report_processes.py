"""`retinavlm report` throughput with 1 and 2 processes on the CPU (torchrun, gloo), tiny model, real scans.

    python benchmarks/report_processes.py               # writes benchmarks/results/report_processes.json
    python benchmarks/report_processes.py --scans 32    # fewer scans (default 128)

Each run is the command a user types (one process: `retinavlm report`; two: `torchrun --nproc_per_node 2
-m retinavlm.cli report`) with OMP_NUM_THREADS=1, timed from start to exit (end to end: imports,
checkpoint, ids, reading, generation, merge). The generation rate is read off the streamed output:
the output (or each process's shard) is watched every 20 ms, and reports/s is the rows written from
the moment every process has flushed its first batch to the moment the last row lands, over that
time, so start-up on a shared machine does not blur it. The two outputs are compared byte for byte.
The tiny checkpoint (the tests' tiny Llama, 64-pixel encoder, random weights) is built in a temporary
folder; the scans are the first ones of the shared real sample (../shared/data/kermany-oct2017),
classes interleaved.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch

from retinavlm.atomic import write_json
from retinavlm.model.config import EncoderConfig, LLMConfig, RetinaVLMConfig
from retinavlm.model.report_run import shard_path
from retinavlm.model.vlm import RetinaVLM
from retinavlm.resources import shared_data_dir

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_bench_common import TINY
from read_augment import environment

RESULTS = Path(__file__).resolve().parent / "results" / "report_processes.json"
# the GPU benchmarks' CPU-sized llama, without its RoPE dict (LLMConfig keeps rope_theta on its own)
TINY_LLM = LLMConfig(**{k: v for k, v in TINY.llama.items() if k != "rope_parameters"})


def real_scans(count: int) -> list[Path]:
    root = shared_data_dir()
    folder = root / "kermany-oct2017" if root else None
    if folder is None or not folder.is_dir():
        sys.exit("the real OCT sample ../shared/data/kermany-oct2017 is absent; nothing measured")
    per_class = [sorted((folder / c).glob("*.jpeg")) for c in ("NORMAL", "DRUSEN", "CNV", "DME")]
    scans = [path for group in zip(*per_class, strict=False) for path in group][:count]
    if len(scans) < count:
        sys.exit(f"the real sample has {len(scans)} scans, fewer than --scans {count}")
    return scans


def measure(processes: int, report: list[str], out: Path) -> dict:
    launcher = [sys.executable, "-m", "retinavlm.cli"]
    if processes > 1:
        launcher = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={processes}",
            "-m",
            "retinavlm.cli",
        ]
    watched = [out] if processes == 1 else [shard_path(out, rank, processes) for rank in range(processes)]
    rows = dict.fromkeys(watched, 0)
    warm_at = warm_rows = last_at = None
    start = time.perf_counter()
    run = subprocess.Popen([*launcher, *report, "--out", str(out)], env={**os.environ, "OMP_NUM_THREADS": "1"},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    while run.poll() is None:
        for path in watched:
            count = path.read_bytes().count(b"\n") if path.is_file() else rows[path]
            if count != rows[path]:
                rows[path], last_at = count, time.perf_counter()
        if warm_at is None and all(rows.values()):
            warm_at, warm_rows = time.perf_counter(), sum(rows.values())
        time.sleep(0.02)
    wall = time.perf_counter() - start
    stdout, stderr = run.communicate()
    if run.returncode != 0:
        sys.exit(f"{processes} process(es) failed ({run.returncode}):\n{stderr[-3000:]}")
    scans = len(out.read_text().splitlines())
    window = last_at - warm_at if warm_at is not None and last_at > warm_at else None  # None: one batch each
    in_window = sum(rows.values()) - (warm_rows or 0)
    return {
        "processes": processes,
        "scans": scans,
        "wall_seconds": round(wall, 2),
        "reports_per_second_end_to_end": round(scans / wall, 2),
        "generation_window_seconds": round(window, 2) if window else None,
        "reports_in_window": in_window,
        "reports_per_second_generating": round(in_window / window, 2) if window else None,
        "process_lines": [line for line in stdout.splitlines() if line.startswith("process ")],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=128)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    env = environment()
    env["versions"].update({name: importlib.metadata.version(name) for name in ("transformers", "retinavlm")})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        torch.manual_seed(0)
        config = RetinaVLMConfig(llm=TINY_LLM, encoder=EncoderConfig(image_size=64))
        RetinaVLM.from_config(config, device="cpu").save_pretrained(tmp / "tiny-ckpt")
        report = ["report", *map(str, real_scans(args.scans)), "--checkpoint", str(tmp / "tiny-ckpt")]
        report += ["--max-new-tokens", str(args.max_new_tokens), "--batch-size", str(args.batch_size)]
        runs = [measure(n, report, tmp / f"out-{n}.jsonl") for n in (1, 2)]
        identical = (tmp / "out-1.jsonl").read_bytes() == (tmp / "out-2.jsonl").read_bytes()
    rates = [run["reports_per_second_generating"] for run in runs]
    speedup = round(rates[1] / rates[0], 2) if all(rates) else None
    result = {
        "benchmark": "report_processes",
        **env,
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "settings": {
            "model": "tiny Llama (hidden 64, 2 layers) behind the 64-pixel encoder, random weights",
            "max_new_tokens": args.max_new_tokens,
            "batch_size": args.batch_size,
            "omp_num_threads": 1,
            "scans": "first real Kermany scans, classes interleaved",
        },
        "commands": [
            "retinavlm report SCAN... --checkpoint CKPT --out OUT --max-new-tokens M --batch-size B",
            "torchrun --nproc_per_node 2 -m retinavlm.cli report SCAN... --checkpoint CKPT --out OUT ...",
        ],
        "runs": runs,
        "two_process_output_identical_to_one": identical,
        "speedup_generating": speedup,
    }
    write_json(RESULTS, result)
    for run in runs:
        print(
            f"{run['processes']} process(es): {run['scans']} reports in {run['wall_seconds']} s "
            f"({run['reports_per_second_end_to_end']}/s end to end; {run['reports_per_second_generating']}/s "
            f"while generating, {run['reports_in_window']} reports in {run['generation_window_seconds']} s)"
        )
    print(f"identical outputs: {identical}; wrote {RESULTS}")


if __name__ == "__main__":
    main()
