"""Read + augment throughput on one core: images per second through read_scan and the training transform.

    python benchmarks/read_augment.py      # prints, writes benchmarks/results/read_augment.json

Threads are pinned to one (torch, OpenCV, BLAS) so the figure is per core; a data loader with N
workers scales it by about N.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import importlib.metadata  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402

from retinavlm.atomic import write_json  # noqa: E402
from retinavlm.data.augment import AugmentConfig, eval_transform, train_transform  # noqa: E402
from retinavlm.data.io import read_scan  # noqa: E402
from retinavlm.host import cpu_model  # noqa: E402
from retinavlm.resources import shared_data_dir  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "read_augment.json"
PACKAGES = ("numpy", "opencv-python-headless", "albumentations", "pillow", "pydicom", "scipy", "torch")


def environment() -> dict:
    """Hardware, versions and date, recorded with every benchmark result."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "hardware": {"cpu": cpu_model(), "cores": os.cpu_count(), "machine": platform.machine()},
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),  # other work on the machine skews timings
        "python": platform.python_version(),
        "versions": versions,
    }


def _pin_threads() -> None:
    cv2.setNumThreads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def _throughput(paths: list[Path], transform, repeats: int) -> dict:
    """Best of `repeats` passes over all files (the least disturbed by other work on the machine)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for path in paths:
            scan = read_scan(path)
            transform(image=scan.pixels, laterality=scan.laterality)
        best = min(best, time.perf_counter() - start)
    read_only = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for path in paths:
            read_scan(path)
        read_only = min(read_only, time.perf_counter() - start)
    return {
        "images": len(paths),
        "images_per_second": round(len(paths) / best, 1),
        "ms_per_image": round(1000 * best / len(paths), 2),
        "read_only_ms_per_image": round(1000 * read_only / len(paths), 2),
    }


def _synthetic_pngs(folder: Path, count: int) -> list[Path]:
    """PNG B-scans from the toolkit's synthetic renderer, when that module is installed."""
    try:
        from retinavlm.data.synthetic import render_cohort
    except ImportError:
        return []
    render_cohort(count, folder / "cohort", seed=0)
    return sorted((folder / "cohort" / "images").glob("*.png"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    _pin_threads()
    root = shared_data_dir()
    if root is None or not (root / "kermany-oct2017").is_dir():
        raise SystemExit("the Kermany scans are not available (../shared/data/kermany-oct2017); nothing to measure")
    kermany = sorted((root / "kermany-oct2017").rglob("*.jpeg"))
    config = AugmentConfig(seed=0)
    results = {
        "kermany_jpeg": {
            "train_transform": _throughput(kermany, train_transform(config), args.repeats),
            "eval_transform": _throughput(kermany, eval_transform(config), args.repeats),
        }
    }
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = _synthetic_pngs(Path(tmp), 100)
        if synthetic:
            results["synthetic_png"] = {
                "train_transform": _throughput(synthetic, train_transform(config), args.repeats)
            }
        else:
            results["synthetic_png"] = "not measured: retinavlm.data.synthetic is not available"
    for dataset, entry in results.items():
        if isinstance(entry, str):
            print(f"{dataset}: {entry}")
            continue
        for name, figures in entry.items():
            print(
                f"{dataset:14s} {name:16s} {figures['images_per_second']:8.1f} img/s/core "
                f"({figures['ms_per_image']} ms/img, of which read {figures['read_only_ms_per_image']} ms)"
            )
    record = {
        "benchmark": "read_augment",
        "command": "python benchmarks/read_augment.py",
        **environment(),
        "threads": 1,
        "augment_config": {"size": config.size, "seed": config.seed},
        "results": results,
    }
    write_json(args.out, record)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
