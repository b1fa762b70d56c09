"""The quality gate on synthetic and non-OCT images, and its config; real scans: test_quality_gate_unseen.py."""

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
from retinavlm.errors import ConfigError


def _scan_from_image(tmp_path: Path, image: np.ndarray, name: str) -> Scan:
    """Through a real file, so colour handling is the reader's, as in use."""
    path = tmp_path / f"{name}.png"
    Image.fromarray(image).save(path)
    return read_scan(path)


def test_synthetic_layered_scan_is_accepted() -> None:
    report = assess_quality(Scan(layered_bscan(pit_column=128), source="toy", bit_depth=32))
    assert report.ok, report.reason
    assert report.reason == "" and report.level == "accepted" and report.figures["layer_anisotropy"] > 0.6


def test_toolkit_synthetic_renderer_scans_are_accepted_and_their_flips_refused(tmp_path: Path) -> None:
    from retinavlm.data import synthetic

    synthetic.render_cohort(8, tmp_path / "cohort", seed=3)
    images = sorted((tmp_path / "cohort" / "images").glob("*.png"))
    assert len(images) >= 8
    for path in images:
        scan = read_scan(path)
        report = assess_quality(scan)
        assert report.ok, f"{path.name}: {report.reason}"
        flipped = assess_quality(Scan(np.ascontiguousarray(scan.pixels[::-1]), "flipped", 8))
        assert flipped.level == "refused" and flipped.reason.startswith("upside down"), (path.name, flipped.reason)


def _rendered_text() -> np.ndarray:
    image = Image.new("L", (600, 300), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=24)
    for row in range(8):
        draw.text((10, 10 + 34 * row), f"Report line {row}: no fluid seen", fill=0, font=font)
    return np.asarray(image)


def _stripes(count: int) -> np.ndarray:
    """Speckled horizontal stripes of equal width and brightness on black: the issue's example of a non-retina."""
    image = np.zeros((496, 512), np.float32)
    for centre in np.linspace(100, 400, count):
        image[int(centre) - 15 : int(centre) + 15] = 0.7
    speckle = np.random.default_rng(count).gamma(4.0, 0.25, image.shape)
    return (np.clip(image * speckle, 0, 1) * 255).astype(np.uint8)


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
    "three stripes on black": (lambda: _stripes(3), "stripes, not a retina: 3 separate bright bands"),
    "two alike stripes on black": (lambda: _stripes(2), "stripes, not a retina: separate bright bands alike"),
    "upside-down toy scan": (lambda: (layered_bscan(pit_column=128)[::-1] * 255).astype(np.uint8), "upside down"),
}


@pytest.mark.parametrize("name", sorted(NON_OCT))
def test_non_oct_images_are_refused_with_a_reason(tmp_path: Path, name: str) -> None:
    make, expected_reason = NON_OCT[name]
    report = assess_quality(_scan_from_image(tmp_path, make(), name.replace(" ", "_")))
    assert not report.ok and report.level == "refused"
    assert expected_reason in report.reason
    assert "\n" not in report.reason and report.reason


def test_absurdly_large_image_is_refused_before_analysis() -> None:
    huge = np.zeros((7000, 6000), np.float32)  # 42 megapixels
    report = assess_quality(Scan(huge, source="huge", bit_depth=8))
    assert not report.ok and "absurdly large" in report.reason
    assert set(report.figures) == {"height", "width", "min_side", "n_pixels"}


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


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("flags: []\n", "`reject` must be a list"),
        (
            "reject:\n  - figure: shininess\n    min: 1\n    reason: r\n",
            "reject[0]: quality gate rule names an unknown figure 'shininess'",
        ),
        (
            "reject:\n  - figure: p99\n    min: high\n    reason: r\n",
            "reject[0].min: malformed quality gate config: expected a number",
        ),
        (
            "reject:\n  - figure: p99\n    min: 0.1\n    level: maybe\n    reason: r\n",
            "reject[0]: malformed quality gate config: level must be one of",
        ),
        ("reject:\n  - figure: p99\n    reason: r\n", "a rule needs `min` or `max`"),
        ("reject:\n  - figure: p99\n    min: 0.1\n", "a rule needs a `reason`"),
        (
            "reject:\n  - figure: p99\n    min: 0.1\n    reason: 'dim {valeu}'\n",
            "reject[0].reason: reason is not a valid template",
        ),
        (
            "reject: []\nanalysis:\n  strips: many\n",
            "analysis.strips: malformed quality gate config: expected a number",
        ),
    ],
)
def test_malformed_config_is_a_one_line_config_error(tmp_path: Path, text: str, problem: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_quality_config(bad)
    assert str(error.value).startswith(f"{bad}: ") and problem in str(error.value) and "\n" not in str(error.value)


def test_a_low_quality_rule_refuses_at_its_own_level(tmp_path: Path) -> None:
    scan = Scan(layered_bscan(pit_column=128), source="toy", bit_depth=32)
    custom = tmp_path / "gate.yaml"
    custom.write_text(
        "reject:\n"
        "  - figure: p99\n    min: 2\n    level: low_quality\n    reason: 'too dim: {value:.2f} < {limit}'\n"
        "  - figure: p99\n    min: 3\n    reason: 'never reached'\n"
    )
    report = assess_quality(scan, load_quality_config(custom))
    assert (report.ok, report.level) == (False, "low_quality") and report.reason.startswith("too dim: ")


def test_report_is_json_ready() -> None:
    report = assess_quality(Scan(layered_bscan(), source="toy", bit_depth=32))
    as_dict = report.to_dict()
    assert isinstance(report, QualityReport) and set(as_dict) == {"ok", "level", "reason", "flags", "figures"}
    assert json.loads(json.dumps(as_dict)) == as_dict
