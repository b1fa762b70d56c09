"""Synthetic B-scan rendering speed: scans per second, one process and several, PNGs and files included.

Run: python benchmarks/render.py [--n 600] [--workers 1 2]
Writes benchmarks/results/render.json with the hardware, library versions and date.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

from retinavlm.atomic import write_json
from retinavlm.data.synthetic import ScanSpec, load_cohort_config, render_cohort, render_scan
from retinavlm.host import cpu_model

RESULTS = Path(__file__).resolve().parent / "results" / "render.json"


def time_single_scans(repeats: int) -> float:
    """Seconds per render_scan call (array only, no PNG, no files), a scan with several lesions."""
    config = load_cohort_config()
    domain = config.domains["spectralis_like"]
    spec = ScanSpec({"drusen": {"size": "large"}, "srf": {}, "irf": {}, "hyperreflective_foci": {}})
    render_scan(spec, domain, np.random.default_rng(0))  # warm-up
    start = time.perf_counter()
    for i in range(repeats):
        render_scan(spec, domain, np.random.default_rng(i))
    return (time.perf_counter() - start) / repeats


def time_cohort(n: int, workers: int) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of this process (all the work when workers == 1)."""
    with tempfile.TemporaryDirectory() as tmp:
        start, cpu = time.perf_counter(), time.process_time()
        render_cohort(n, Path(tmp) / "cohort", seed=0, workers=workers)
        return time.perf_counter() - start, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    load_before = os.getloadavg()
    runs = []
    for workers in args.workers:
        seconds, cpu = time_cohort(args.n, workers)
        run = {
            "workers": workers,
            "scans": args.n,
            "seconds": round(seconds, 2),
            "scans_per_second": round(args.n / seconds, 1),
        }
        if workers == 1:  # CPU time is what contention from other jobs does not inflate much
            run["cpu_ms_per_scan"] = round(cpu / args.n * 1000, 1)
        runs.append(run)
        print(
            f"{args.n} scans, {workers} worker(s): {seconds:.1f} s ({args.n / seconds:.1f} scans/s)"
            + (f", {cpu / args.n * 1000:.1f} CPU ms per scan" if workers == 1 else "")
        )
    per_scan = time_single_scans(50)
    print(f"render_scan alone: {per_scan * 1000:.1f} ms per scan")
    result = {
        "benchmark": "synthetic B-scan rendering (retinavlm synth: render + PNG + references/annotations/manifest)",
        "command": "python benchmarks/render.py " + " ".join(sys.argv[1:]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "hardware": {"cpu": cpu_model(), "logical_cpus": os.cpu_count(), "machine": platform.machine()},
        # Other work on the machine slows every figure; a 1-minute load above the CPU count means contention.
        "load_average_1min": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
        "versions": {
            "python": platform.python_version(),
            **{pkg: version(pkg) for pkg in ("retinavlm", "numpy", "scipy", "pillow")},
        },
        "cohort": runs,
        "render_scan_ms": round(per_scan * 1000, 1),
    }
    write_json(RESULTS, result)
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
