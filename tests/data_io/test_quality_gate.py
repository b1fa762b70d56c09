"""The quality gate accepts real and synthetic OCT B-scans, refuses other images, flags degraded scans."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageDraw, ImageFont
from scan_testing import layered_bscan

from retinavlm.data.io import read_scan
from retinavlm.data.quality import QualityReport, Rule, assess_quality, load_quality_config
from retinavlm.data.scan import Scan


def _scan_from_image(tmp_path: Path, image: np.ndarray, name: str) -> Scan:
    """Through a real file, so colour handling is the reader's, as in use."""
    path = tmp_path / f"{name}.png"
    Image.fromarray(image).save(path)
    return read_scan(path)


def _kermany_sample(kermany: Path, step: int = 12) -> list[Path]:
    return sorted(kermany.rglob("*.jpeg"))[::step]


def test_real_oct_scans_are_accepted(kermany: Path) -> None:
    paths = _kermany_sample(kermany)
    reports = {path.name: assess_quality(read_scan(path)) for path in paths}
    refused = {name: report.reason for name, report in reports.items() if not report.ok}
    assert len(paths) >= 30
    assert not refused


def test_synthetic_layered_scan_is_accepted() -> None:
    report = assess_quality(Scan(layered_bscan(pit_column=128), source="toy", bit_depth=32))
    assert report.ok, report.reason
    assert report.reason == "" and report.figures["layer_anisotropy"] > 0.6


def test_toolkit_synthetic_renderer_scans_are_accepted(tmp_path: Path) -> None:
    synthetic = pytest.importorskip("retinavlm.data.synthetic", reason="the synthetic renderer is not installed")
    synthetic.render_cohort(6, tmp_path / "cohort", seed=3)
    images = sorted((tmp_path / "cohort" / "images").glob("*.png"))
    assert images
    for path in images:
        report = assess_quality(read_scan(path))
        assert report.ok, f"{path.name}: {report.reason}"


def _rendered_text() -> np.ndarray:
    image = Image.new("L", (600, 300), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=24)
    for row in range(8):
        draw.text((10, 10 + 34 * row), f"Report line {row}: no fluid seen", fill=0, font=font)
    return np.asarray(image)


NON_OCT = {
    "colour fundus photo": (lambda: skimage.data.retina()[::4, ::4], "colour image"),
    "astronaut": (lambda: skimage.data.astronaut(), "colour image"),
    "coffee": (lambda: skimage.data.coffee(), "colour image"),
    "chelsea": (lambda: skimage.data.chelsea(), "colour image"),
    "camera": (lambda: skimage.data.camera(), "no dark background"),
    "checkerboard": (lambda: skimage.data.checkerboard(), "no horizontal layers"),
    "scanned text": (lambda: skimage.data.text(), "no dark background"),
    "rendered text": (_rendered_text, ""),
    "uniform noise": (lambda: (np.random.default_rng(1).random((300, 300)) * 255).astype(np.uint8), "looks like noise"),
    "gaussian noise": (
        lambda: np.clip(np.random.default_rng(2).normal(128, 40, (300, 300)), 0, 255).astype(np.uint8),
        "looks like noise",
    ),
    "black": (lambda: np.zeros((200, 200), np.uint8), "blank image"),
    "grey": (lambda: np.full((200, 200), 128, np.uint8), "blank image"),
    "tiny": (lambda: (layered_bscan(48, 48) * 255).astype(np.uint8), "too small"),
}


@pytest.mark.parametrize("name", sorted(NON_OCT))
def test_non_oct_images_are_refused_with_a_reason(tmp_path: Path, name: str) -> None:
    make, expected_reason = NON_OCT[name]
    report = assess_quality(_scan_from_image(tmp_path, make(), name.replace(" ", "_")))
    assert not report.ok
    assert expected_reason in report.reason
    assert "\n" not in report.reason and report.reason


def test_absurdly_large_image_is_refused_before_analysis() -> None:
    huge = np.zeros((7000, 6000), np.float32)  # 42 megapixels
    report = assess_quality(Scan(huge, source="huge", bit_depth=8))
    assert not report.ok and "absurdly large" in report.reason
    assert set(report.figures) == {"height", "width", "min_side", "n_pixels"}


def test_degraded_real_scans_are_flagged(kermany: Path) -> None:
    """Darkened and noisy scans are always flagged; gain-clipped ones nearly always (the benchmark measures ~97%)."""
    rng = np.random.default_rng(0)
    clipped_flagged = []
    paths = _kermany_sample(kermany, step=48)
    for path in paths:
        pixels = read_scan(path).pixels
        assert assess_quality(Scan(pixels, "orig", 8)).flags == [], path.name
        dark = assess_quality(Scan(pixels * 0.1, "dark", 16))
        assert dark.ok and "low_signal" in dark.flags, path.name
        noisy = np.clip(pixels + rng.normal(0, 0.15, pixels.shape), 0, 1).astype(np.float32)
        noisy_report = assess_quality(Scan(noisy, "noisy", 8))
        assert noisy_report.ok and "noisy" in noisy_report.flags, path.name
        clipped = assess_quality(Scan(np.clip(pixels * 2.0, 0, 1), "clipped", 8))
        assert clipped.ok, (path.name, clipped.reason)
        clipped_flagged.append("clipped" in clipped.flags)
    assert sum(clipped_flagged) >= len(paths) - 1, clipped_flagged


def test_thresholds_come_from_the_yaml(tmp_path: Path) -> None:
    config = load_quality_config()
    scan = Scan(layered_bscan(pit_column=128), source="toy", bit_depth=32)
    assert assess_quality(scan, config).ok
    strict = dataclasses.replace(
        config,
        reject=(*config.reject, Rule(figure="layer_anisotropy", min=0.999, reason="anisotropy {value:.2f} < {limit}")),
    )
    report = assess_quality(scan, strict)
    assert not report.ok and report.reason.startswith("anisotropy")

    custom = tmp_path / "gate.yaml"
    custom.write_text(
        "reject:\n  - figure: min_side\n    min: 1000\n    reason: 'short side {value:.0f} < {limit:.0f}'\n"
    )
    report = assess_quality(scan, load_quality_config(custom))
    assert report.reason == "short side 248 < 1000"


def test_malformed_config_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("flags: []\n")
    with pytest.raises(ValueError, match="bad.yaml: malformed quality gate config"):
        load_quality_config(bad)


def test_report_is_json_ready() -> None:
    report = assess_quality(Scan(layered_bscan(), source="toy", bit_depth=32))
    as_dict = report.to_dict()
    assert isinstance(report, QualityReport) and set(as_dict) == {"ok", "reason", "flags", "figures"}
    assert json.loads(json.dumps(as_dict)) == as_dict
