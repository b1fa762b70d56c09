"""How a synthetic scan sits in its frame (cohort.yaml `acquisition`): the retina's depth and registration wedges."""

from __future__ import annotations

import json

import numpy as np
import pytest

from retinavlm.data.quality import padding_mask
from retinavlm.data.synthetic import load_cohort_config, render_cohort
from retinavlm.data.synthetic.config import Acquisition
from retinavlm.data.synthetic.render import ScanSpec, render

CONFIG = load_cohort_config()
DOMAIN = CONFIG.domains["spectralis_like"]
SPEC = ScanSpec({"drusen": {"size": "large"}}, "OD", False, 11, 12)


def rendered(acquisition: Acquisition, seed: int = 0):
    return render(SPEC, DOMAIN, np.random.default_rng(seed), CONFIG.grid, CONFIG.central_halfwidth_um, acquisition)


def brightest_row_fraction(pixels: np.ndarray) -> float:
    """Where the RPE band lies: the brightest row of the central third, as a fraction of the rows."""
    rows, cols = pixels.shape
    profile = np.median(pixels[:, cols // 3 : 2 * cols // 3], axis=1)
    return float(np.argmax(np.convolve(profile, np.ones(5) / 5, mode="same")) / rows)


def test_the_default_framing_is_the_cohort_files():
    assert CONFIG.acquisition == Acquisition()
    scan = rendered(Acquisition())
    assert not padding_mask(scan.pixels).any()


@pytest.mark.parametrize("depth", [0.32, 0.45, 0.62])
def test_the_retina_lies_at_the_drawn_depth(depth):
    scan = rendered(Acquisition(retina_depth_min=depth, retina_depth_max=depth))
    assert brightest_row_fraction(scan.pixels) == pytest.approx(depth, abs=0.06)


def test_a_registered_scan_has_white_wedges_and_its_masks_and_fovea_move_with_it():
    plain = rendered(Acquisition(), seed=2)
    # seed 2: a turn large enough to leave clear wedges
    turned = rendered(Acquisition(registration_p=1.0, registration_degrees=6.0), seed=2)
    wedges = padding_mask(turned.pixels)
    assert 0.005 < wedges.mean() < 0.2  # white corners, as on most real exports
    assert (turned.pixels[wedges] > 0.95).all()
    # The same speckle and anatomy, only turned: the drusen mask keeps its size and follows the pixels.
    assert turned.masks["drusen"].sum() == pytest.approx(plain.masks["drusen"].sum(), rel=0.1)
    assert not np.array_equal(turned.masks["drusen"], plain.masks["drusen"])
    assert turned.pixels[turned.masks["drusen"]].mean() == pytest.approx(
        plain.pixels[plain.masks["drusen"]].mean(), abs=0.05
    )
    assert turned.fovea != plain.fovea and abs(turned.fovea[1] - plain.fovea[1]) < 10


def test_a_cohort_framed_otherwise_records_it_in_its_manifest(tmp_path):
    acquisition = Acquisition(retina_depth_min=0.3, retina_depth_max=0.4, registration_p=1.0)
    render_cohort(8, tmp_path / "cohort", seed=0, config=CONFIG.with_acquisition(acquisition))
    manifest = json.loads((tmp_path / "cohort" / "manifest.json").read_text())
    assert manifest["config"]["acquisition"]["registration_p"] == 1.0, manifest.keys()
