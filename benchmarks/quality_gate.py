"""Measure the OCT quality gate: real scans accepted, bad inputs refused, unreadable scans marked low_quality.

The real Kermany sample is split once, by person: patients whose `patient_group` is even form the
`tuning` split, odd ones the `unseen` split. Thresholds in curricula/quality_gate.yaml were chosen
from the tuning split only (its real scans, their degraded versions, and the tuning set of non-OCT
images and stripe patterns); the unseen split, with different non-OCT images and stripe patterns,
measures them. `tuning_figures` in the output shows where each chosen threshold came from.

    python benchmarks/quality_gate.py                      # tables; writes benchmarks/results/quality_gate.json
    python benchmarks/quality_gate.py --baseline HEAD~1    # also times the gate as it was at that git revision
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import cv2
import numpy as np
import skimage.data
from PIL import Image, ImageDraw, ImageFont

from retinavlm.atomic import write_json
from retinavlm.data.io import read_scan
from retinavlm.data.quality import (
    ORIENTATION_CUES,
    QualityReport,
    assess_quality,
    load_quality_config,
    padding_mask,
)
from retinavlm.data.scan import Scan
from retinavlm.resources import shared_data_dir

sys.path.insert(0, str(Path(__file__).resolve().parent))
from read_augment import environment

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results" / "quality_gate.json"
SPLITS = ("tuning", "unseen")

Degrade = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _eight_bit(pixels: np.ndarray) -> np.ndarray:
    """As a device would store it: clipped to [0, 1] and quantised to 256 levels."""
    return (np.round(np.clip(pixels, 0, 1) * 255) / 255).astype(np.float32)


# Added Gaussian noise (sigma) and darkening (gain), by level. A level is `readable` (the gate must
# not mark it low_quality), `unreadable` (it must) or `between` (reported, no target). Unreadable:
# noise at or above 0.3, comparable to the contrast between retinal layers, or the tissue squeezed
# into 8 grey levels or fewer (gain 0.03 of an 8-bit scan).
NOISE_LEVELS = {0.05: "readable", 0.1: "readable", 0.2: "between", 0.3: "unreadable", 0.4: "unreadable"}
DARK_LEVELS = {0.3: "readable", 0.1: "readable", 0.05: "between", 0.03: "unreadable", 0.02: "unreadable"}
LOW_QUALITY_FIGURE = {"noise": "snr_db", "dark": "dynamic_range"}  # the figure that reads each degradation


def low_quality_degradations() -> dict[str, tuple[str, str, Degrade]]:
    """name -> (kind, readability, degrade)."""
    out: dict[str, tuple[str, str, Degrade]] = {}
    for sigma, readable in NOISE_LEVELS.items():
        out[f"noise_sigma_{sigma}"] = (
            "noise",
            readable,
            lambda p, rng, s=sigma: _eight_bit(p + rng.normal(0, s, p.shape)),
        )
    for gain, readable in DARK_LEVELS.items():
        out[f"dark_gain_{gain}"] = ("dark", readable, lambda p, rng, g=gain: _eight_bit(p * g))
    return out


def degrade_tissue(pixels: np.ndarray, degrade: Degrade, rng: np.random.Generator) -> np.ndarray:
    """Noise and darkness come from the acquisition; the white registration padding is added on export, after."""
    padding = padding_mask(pixels)
    return np.where(padding, pixels, degrade(pixels, rng)).astype(np.float32)


# Changes that leave a usable scan: the gate must accept them.
CONTROLS: dict[str, Degrade] = {
    "left_right_flip": lambda p, rng: p[:, ::-1],
    "centre_half_crop": lambda p, rng: p[:, p.shape[1] // 4 : 3 * p.shape[1] // 4],
    "blur_sigma_2": lambda p, rng: cv2.GaussianBlur(p, (0, 0), 2.0),
}
# Bad inputs made from real scans: the gate must refuse them.
BAD_FROM_REAL: dict[str, Degrade] = {"upside_down": lambda p, rng: p[::-1]}


def split_of(patient_group: str) -> str:
    """The one split rule: a person (patient_group) with an even id is in `tuning`, odd in `unseen`."""
    return "tuning" if int(patient_group) % 2 == 0 else "unseen"


def kermany_split(folder: Path) -> dict[str, list[Path]]:
    """Real scans by split, from the sample's manifest; no person is in both splits."""
    splits: dict[str, list[Path]] = {name: [] for name in SPLITS}
    with open(folder / "manifest.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            splits[split_of(row["patient_group"] or row["patient_id"])].append(folder / row["file"])
    return {name: sorted(paths) for name, paths in splits.items()}


def stripe_images(split: str) -> Iterator[tuple[str, np.ndarray]]:
    """Speckled horizontal stripes on black or on dark noise: 2 to 5 stripes, random widths and brightness."""
    rng = np.random.default_rng(10 if split == "tuning" else 11)
    for count in (2, 3, 4, 5):
        for background in ("black", "dark_noise"):
            for _ in range(3):
                height, width = 496, int(rng.choice([512, 1024]))
                if background == "black":
                    image = np.zeros((height, width), np.float32)
                else:
                    image = np.clip(rng.normal(0.08, 0.04, (height, width)), 0, 1).astype(np.float32)
                centres = np.linspace(0.2, 0.8, count) * height + rng.uniform(-10, 10, count)
                for centre in centres:
                    half = rng.uniform(5, 20)
                    image[int(centre - half) : int(centre + half)] = rng.uniform(0.5, 0.9)
                speckled = image * rng.gamma(4.0, 0.25, image.shape).astype(np.float32)
                yield f"{count}_stripes_on_{background}", _eight_bit(speckled)


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
    rng = np.random.default_rng(0 if split == "tuning" else 1)
    shape = (496, 512)
    if split == "tuning":
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


def _assess(pixels: np.ndarray, name: str) -> QualityReport:
    return assess_quality(Scan(np.ascontiguousarray(pixels, dtype=np.float32), source=name, bit_depth=8))


def _rate(part: int, whole: int) -> dict:
    return {"n": whole, "count": part, "rate": round(part / whole, 4) if whole else None}


def measure_split(split: str, real: list[Path], workdir: Path) -> dict:
    rng = np.random.default_rng(0 if split == "tuning" else 1)
    scans = [read_scan(path) for path in real]
    reports = [assess_quality(scan) for scan in scans]
    refused = [{"file": p.name, "reason": r.reason} for p, r in zip(real, reports) if not r.ok]
    usable = [scan.pixels for scan, report in zip(scans, reports) if report.ok]
    result: dict = {
        "real": {
            **_rate(len(real) - len(refused), len(real)),
            "refused": refused,
            "flagged": sum(bool(r.flags) for r in reports if r.ok),
        },
        "controls_accepted": {},
        "bad_inputs_refused": {},
        "low_quality": {},
    }
    for name, degrade in CONTROLS.items():
        control = [_assess(degrade(p, rng), name) for p in usable]
        result["controls_accepted"][name] = {
            **_rate(sum(r.ok for r in control), len(control)),
            "refusals": sorted(r.reason for r in control if not r.ok),
        }

    bad: dict[str, list[QualityReport]] = defaultdict(list)
    for name, degrade in BAD_FROM_REAL.items():
        bad[name] = [_assess(degrade(p, rng), name) for p in usable]
    for name, image in stripe_images(split):
        bad[name].append(_assess(image, name))
    for category, name, image in non_oct_images(split):
        path = workdir / f"{split}-{name}.png"
        Image.fromarray(image).save(path)  # through a file, so colour handling is the reader's
        bad[f"non_oct_{category}"].append(assess_quality(read_scan(path)))
    for name, reports_of_kind in bad.items():
        reasons = sorted({r.reason.split(" (")[0].split(":")[0] for r in reports_of_kind if not r.ok})
        result["bad_inputs_refused"][name] = {
            **_rate(sum(not r.ok for r in reports_of_kind), len(reports_of_kind)),
            "reasons": reasons,
        }

    figures: dict[str, dict[str, list[float]]] = {}
    for name, (kind, readable, degrade) in low_quality_degradations().items():
        level_reports = [_assess(degrade_tissue(p, degrade, rng), name) for p in usable]
        figure = LOW_QUALITY_FIGURE[kind]
        figures.setdefault(kind, {"readable": [], "unreadable": [], "between": []})[readable] += [
            r.figures.get(figure, float("nan")) for r in level_reports
        ]
        result["low_quality"][name] = {
            "readability": readable,
            "n": len(level_reports),
            "low_quality": round(sum(r.level == "low_quality" for r in level_reports) / len(level_reports), 4),
            "refused": round(sum(r.level == "refused" for r in level_reports) / len(level_reports), 4),
            "accepted": round(sum(r.ok for r in level_reports) / len(level_reports), 4),
            "hard_refusals": sorted(r.reason for r in level_reports if r.level == "refused"),
        }

    real_figures = [r.figures for r in reports if r.ok]
    stripe_figures = [
        r.figures for name, rs in bad.items() if "stripes" in name for r in rs if "bright_bands" in r.figures
    ]
    result["tuning_figures"] = {
        **{
            f"{LOW_QUALITY_FIGURE[kind]}: worst readable, best unreadable": [
                round(float(np.nanmin(values["readable"])), 4),
                round(float(np.nanmax(values["unreadable"])), 4),
            ]
            for kind, values in figures.items()
        },
        "upright_votes: lowest real scan": min(f["upright_votes"] for f in real_figures),
        "orientation cues wrong (<= 0) on real scans": {
            cue: sum(f[cue] <= 0 for f in real_figures) for cue in ORIENTATION_CUES
        },
        "bright_bands: most in a real scan": max(f["bright_bands"] for f in real_figures),
        "band_likeness: real scans' highest, stripe images' lowest": [
            max(f["band_likeness"] for f in real_figures),
            min(f["band_likeness"] for f in stripe_figures if f["bright_bands"] >= 2),
        ],
    }
    result["ms_per_scan_assess"] = _time_gate(assess_quality, load_quality_config(), scans)
    return result


def _time_gate(assess: Callable, config, scans: list[Scan]) -> float:
    """Median CPU milliseconds of one assessment of an in-memory scan (reading the file not included).

    CPU time of this process, not wall time, so that other jobs sharing the machine do not inflate it.
    """
    assess(scans[0], config)
    seconds = []
    for scan in scans:
        start = time.process_time()
        assess(scan, config)
        seconds.append(time.process_time() - start)
    return round(1000 * float(np.median(seconds)), 2)


def baseline_timing(revision: str, real: list[Path], workdir: Path) -> dict:
    """The gate as it was at `revision` (its module and YAML from git), timed beside today's on the same scans."""
    files = {}
    for relative in ("retinavlm/data/quality.py", "curricula/quality_gate.yaml"):
        text = subprocess.run(
            ["git", "show", f"{revision}:{relative}"], cwd=REPO, check=True, capture_output=True, text=True
        ).stdout
        files[relative] = workdir / f"baseline_{Path(relative).name}"
        files[relative].write_text(text)
    spec = importlib.util.spec_from_file_location("baseline_quality", files["retinavlm/data/quality.py"])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    scans = [read_scan(path) for path in real]
    old_config = module.load_quality_config(files["curricula/quality_gate.yaml"])
    rounds = {"baseline": [], "now": []}
    for _ in range(3):  # interleaved, so both see the same machine load
        rounds["baseline"].append(_time_gate(module.assess_quality, old_config, scans))
        rounds["now"].append(_time_gate(assess_quality, load_quality_config(), scans))
    return {"revision": revision, **{name: min(values) for name, values in rounds.items()}, "n_scans": len(scans)}


def render_synthetic(workdir: Path, count: int) -> dict:
    """The toolkit's synthetic cohort (three simulated vendor looks): every scan must pass."""
    from retinavlm.data import synthetic

    synthetic.render_cohort(count, workdir / "synthetic", seed=7)
    paths = sorted((workdir / "synthetic" / "images").glob("*.png"))
    reports = [assess_quality(read_scan(path)) for path in paths]
    refused = [{"file": p.name, "reason": r.reason} for p, r in zip(paths, reports) if not r.ok]
    flipped = [_assess(read_scan(path).pixels[::-1], "flipped synthetic") for path in paths]
    return {
        "accepted": _rate(len(paths) - len(refused), len(paths)),
        "refused": refused,
        "upside_down_refused": _rate(sum(not r.ok for r in flipped), len(flipped)),
    }


def print_summary(results: dict) -> None:
    def union(section: str) -> list[str]:
        return list(dict.fromkeys(name for split in SPLITS for name in results[split][section]))

    def cell(entry: dict | None) -> str:
        return f"{entry['count']:>4d}/{entry['n']:<4d} {entry['rate']:>7.1%}" if entry else "-"

    rows = [("real scans accepted", "real", None)]
    rows += [(f"control accepted: {name}", "controls_accepted", name) for name in union("controls_accepted")]
    rows += [(f"refused: {name}", "bad_inputs_refused", name) for name in union("bad_inputs_refused")]
    print(f"{'':44s} " + " ".join(f"{split:>18s}" for split in SPLITS))
    for label, section, name in rows:
        entries = [results[split][section] if name is None else results[split][section].get(name) for split in SPLITS]
        print(f"{label:44s} " + " ".join(f"{cell(entry):>18s}" for entry in entries))
    for name in union("low_quality"):
        entries = [results[split]["low_quality"][name] for split in SPLITS]
        cells = [f"lq {e['low_quality']:.0%} ref {e['refused']:.0%}" for e in entries]
        label = f"{name} ({entries[0]['readability']})"
        print(f"{label:44s} " + " ".join(f"{c:>18s}" for c in cells))
    for split in SPLITS:
        print(f"{split}: tuning figures {results[split]['tuning_figures']}")
        print(f"{split}: assess {results[split]['ms_per_scan_assess']} CPU ms per scan (median)")
        print(f"{split}: real scans accepted with a flag: {results[split]['real']['flagged']}")
        for item in results[split]["real"]["refused"]:
            print(f"  {split}: refused real scan {item['file']}: {item['reason']}")
        for name, entry in results[split]["controls_accepted"].items():
            for reason in entry["refusals"]:
                print(f"  {split}: {name} refused: {reason}")
        for name, entry in results[split]["low_quality"].items():
            for reason in entry["hard_refusals"]:
                print(f"  {split}: {name} refused: {reason}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--baseline", default=None, help="git revision whose gate is timed beside today's")
    parser.add_argument("--synthetic", type=int, default=24, help="synthetic scans to render and check")
    parser.add_argument("--every", type=int, default=1, help="use every N-th real scan of each split (quick checks)")
    args = parser.parse_args()
    root = shared_data_dir()
    folder = root / "kermany-oct2017" if root else None
    if folder is None or not (folder / "manifest.csv").is_file():
        raise SystemExit("the Kermany scans are not available (../shared/data/kermany-oct2017); nothing to measure")
    splits = {name: paths[:: args.every] for name, paths in kermany_split(folder).items()}
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for split in SPLITS:
            results[split] = measure_split(split, splits[split], Path(tmp))
        print_summary(results)
        synthetic = render_synthetic(Path(tmp), args.synthetic)
        print(f"synthetic cohort: {synthetic}")
        timing = baseline_timing(args.baseline, splits["tuning"][::4], Path(tmp)) if args.baseline else None
    if timing:
        print(f"timing against {timing['revision']}: {timing}")
    command = " ".join(["python", "benchmarks/quality_gate.py", *sys.argv[1:]])
    record = {
        "benchmark": "quality_gate",
        "command": command,
        **environment(),
        "split_rule": "patient_group even -> tuning, odd -> unseen",
        "split_sizes": {split: len(paths) for split, paths in splits.items()},
        "results": results,
        "synthetic": synthetic,
        "timing_against_baseline": timing,
    }
    write_json(args.out, record)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
