"""Measure the OCT quality gate's accuracy: real scans accepted, non-OCT images refused, degraded scans flagged.

The thresholds in curricula/quality_gate.yaml were tuned on the `tune` split only (Kermany patients
with an even id, and the tuning set of non-OCT images); the `held_out` split (odd patient ids and a
different set of non-OCT images) is reported beside it to show how well they carry over.

    python benchmarks/quality_gate.py            # prints a table, writes benchmarks/results/quality_gate.json
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np
import skimage.data
from PIL import Image, ImageDraw, ImageFont

from retinavlm.atomic import write_json
from retinavlm.data.io import read_scan
from retinavlm.data.quality import assess_quality
from retinavlm.data.scan import Scan
from retinavlm.resources import shared_data_dir

sys.path.insert(0, str(Path(__file__).resolve().parent))
from read_augment import environment

RESULTS = Path(__file__).resolve().parent / "results" / "quality_gate.json"

# Degradations of real scans and the flag each should raise.
DEGRADATIONS: dict[str, tuple[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]]] = {
    "darkened_x0.1": ("low_signal", lambda p, rng: p * 0.1),
    "clipped_gain_x2": ("clipped", lambda p, rng: np.clip(p * 2.0, 0, 1)),
    "clipped_gain_x3": ("clipped", lambda p, rng: np.clip(p * 3.0, 0, 1)),
    "gaussian_noise_0.15": ("noisy", lambda p, rng: np.clip(p + rng.normal(0, 0.15, p.shape), 0, 1)),
}


def kermany_split() -> dict[str, list[Path]]:
    """Real scans by split: patient ids are split by parity, so no patient is in both halves."""
    root = shared_data_dir()
    if root is None or not (root / "kermany-oct2017" / "manifest.csv").is_file():
        raise SystemExit("the Kermany scans are not available (../shared/data/kermany-oct2017); nothing to measure")
    folder = root / "kermany-oct2017"
    splits: dict[str, list[Path]] = {"tune": [], "held_out": []}
    with open(folder / "manifest.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            split = "tune" if int(row["patient_id"]) % 2 == 0 else "held_out"
            splits[split].append(folder / row["file"])
    return {name: sorted(paths) for name, paths in splits.items()}


def _grey(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype == bool:
        return image.astype(np.uint8) * 255
    if image.dtype.kind == "f":
        return (np.clip(image, 0, 1) * 255).astype(np.uint8)
    return image


def _text_image(text: str, size: tuple[int, int], font_size: int, dark_on_light: bool) -> np.ndarray:
    background, ink = (255, 0) if dark_on_light else (0, 255)
    image = Image.new("L", size, background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size)
    for row, y in enumerate(range(10, size[1] - font_size, int(font_size * 1.5))):
        draw.text((10, y), f"{text} {row}", fill=ink, font=font)
    return np.asarray(image)


def non_oct_images(split: str) -> Iterator[tuple[str, str, np.ndarray]]:
    """(category, name, uint8 image) for images that are not OCT B-scans; different images per split."""
    rng = np.random.default_rng(0 if split == "tune" else 1)
    shape = (496, 512)
    if split == "tune":
        yield "colour_fundus", "skimage.retina", skimage.data.retina()
        for name in ("astronaut", "coffee", "chelsea"):
            yield "colour_photo", f"skimage.{name}", getattr(skimage.data, name)()
        for name in ("camera", "checkerboard", "text"):
            yield "grey_photo_or_pattern", f"skimage.{name}", _grey(getattr(skimage.data, name)())
        yield "rendered_text", "text_dark_on_light", _text_image("Lorem ipsum dolor sit amet", (640, 360), 22, True)
        yield "noise", "uniform", (rng.random(shape) * 255).astype(np.uint8)
        yield "noise", "gaussian", np.clip(rng.normal(128, 40, shape), 0, 255).astype(np.uint8)
        for level in (0, 128, 255):
            yield "blank", f"constant_{level}", np.full(shape, level, np.uint8)
        yield "size", "tiny_32x32", (rng.random((32, 32)) * 255).astype(np.uint8)
        yield (
            "gradient",
            "vertical_ramp",
            np.tile(np.linspace(0, 255, shape[0])[:, None], (1, shape[1])).astype(np.uint8),
        )
    else:
        for name in ("rocket", "hubble_deep_field", "immunohistochemistry", "logo", "colorwheel"):
            yield "colour_photo", f"skimage.{name}", getattr(skimage.data, name)()
        for name in ("moon", "page", "coins", "clock", "brick", "grass", "gravel", "cell", "microaneurysms",
                     "shepp_logan_phantom", "horse", "binary_blobs"):  # fmt: skip
            yield "grey_photo_or_pattern", f"skimage.{name}", _grey(getattr(skimage.data, name)())
        yield "rendered_text", "text_light_on_dark", _text_image("The quick brown fox", (700, 400), 30, False)
        yield "rendered_text", "text_dark_on_light_large", _text_image("Jumps over the lazy dog", (800, 300), 40, True)
        yield "noise", "salt_and_pepper", ((rng.random(shape) > 0.5) * 255).astype(np.uint8)
        yield "noise", "gaussian_dark", np.clip(rng.normal(40, 30, shape), 0, 255).astype(np.uint8)
        blurred = np.asarray(
            Image.fromarray((rng.random((62, 64)) * 255).astype(np.uint8)).resize(shape[::-1], Image.BICUBIC)
        )
        yield "noise", "smooth_noise", blurred
        for level in (10, 200):
            yield "blank", f"constant_{level}", np.full(shape, level, np.uint8)
        yield "size", "tiny_48x600", (rng.random((48, 600)) * 255).astype(np.uint8)
        stripes = np.zeros(shape, np.uint8)
        stripes[::24] = 255
        yield "gradient", "horizontal_lines", stripes


def assess_file(path: Path) -> tuple[bool, str, list[str], dict]:
    report = assess_quality(read_scan(path))
    return report.ok, report.reason, report.flags, report.figures


def measure(split: str, real: list[Path], workdir: Path, rng: np.random.Generator) -> dict:
    result: dict = {"real_oct": {}, "non_oct": {}, "degraded": {}}
    accepted, refused_real, seconds, flag_counts = 0, [], [], defaultdict(int)
    for path in real:
        start = time.perf_counter()
        ok, reason, flags, _ = assess_file(path)
        seconds.append(time.perf_counter() - start)
        accepted += ok
        for flag in flags:
            flag_counts[flag] += 1
        if not ok:
            refused_real.append({"file": path.name, "reason": reason})
    result["real_oct"] = {
        "n": len(real),
        "accepted": accepted,
        "accept_rate": round(accepted / len(real), 4),
        "flagged": dict(sorted(flag_counts.items())),
        "refused": refused_real,
        "ms_per_scan_read_and_assess": round(1000 * float(np.median(seconds)), 2),
    }

    by_category: dict[str, list[dict]] = defaultdict(list)
    for category, name, image in non_oct_images(split):
        path = workdir / f"{split}-{name}.png"
        Image.fromarray(image).save(path)
        ok, reason, _, _ = assess_file(path)
        by_category[category].append({"name": name, "refused": not ok, "reason": reason})
    refused_total = sum(item["refused"] for items in by_category.values() for item in items)
    total = sum(len(items) for items in by_category.values())
    result["non_oct"] = {
        "n": total,
        "refused": refused_total,
        "reject_rate": round(refused_total / total, 4),
        "per_category": {
            category: {"n": len(items), "refused": sum(i["refused"] for i in items), "items": items}
            for category, items in sorted(by_category.items())
        },
    }

    for name, (flag, degrade) in DEGRADATIONS.items():
        counts = {"n": 0, "flagged": 0, "still_accepted": 0, "refused": 0}
        for path in real:
            degraded = np.clip(degrade(read_scan(path).pixels, rng), 0, 1).astype(np.float32)
            report = assess_quality(Scan(degraded, source=f"{path.name} {name}", bit_depth=16))
            ok, flags = report.ok, report.flags
            counts["n"] += 1
            counts["flagged"] += flag in flags
            counts["still_accepted"] += ok
            counts["refused"] += not ok
        counts["expected_flag"] = flag
        counts["flag_rate"] = round(counts["flagged"] / counts["n"], 4)
        result["degraded"][name] = counts
    return result


def print_summary(results: dict) -> None:
    print(f"{'split':10s} {'set':34s} {'n':>5s} {'rate':>8s}")
    for split, res in results.items():
        real = res["real_oct"]
        print(f"{split:10s} {'real OCT accepted':34s} {real['n']:5d} {real['accept_rate']:8.1%}")
        for flag, count in real["flagged"].items():
            print(f"{split:10s} {'  real OCT flagged ' + flag:34s} {real['n']:5d} {count / real['n']:8.1%}")
        non = res["non_oct"]
        print(f"{split:10s} {'non-OCT refused (all)':34s} {non['n']:5d} {non['reject_rate']:8.1%}")
        for category, info in non["per_category"].items():
            print(
                f"{split:10s} {'  non-OCT refused: ' + category:34s} {info['n']:5d} {info['refused'] / info['n']:8.1%}"
            )
        for name, info in res["degraded"].items():
            label = f"degraded {name} -> {info['expected_flag']}"
            print(f"{split:10s} {label:34s} {info['n']:5d} {info['flag_rate']:8.1%}")
        for item in real["refused"]:
            print(f"  refused real scan {item['file']}: {item['reason']}")
        for info in non["per_category"].values():
            for item in info["items"]:
                if not item["refused"]:
                    print(f"  accepted non-OCT image {item['name']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    splits = kermany_split()
    rng = np.random.default_rng(0)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for split in ("tune", "held_out"):
            results[split] = measure(split, splits[split], Path(tmp), rng)
    print_summary(results)
    record = {
        "benchmark": "quality_gate",
        "command": "python benchmarks/quality_gate.py",
        **environment(),
        "results": results,
    }
    write_json(args.out, record)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
