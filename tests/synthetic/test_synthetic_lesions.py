"""Every biomarker changes the pixels where, and the way, it should; also at the encoder's 192x192 view.

Each case renders the same eye (same anatomy, lesion and noise seeds) with and without one lesion,
so any difference is that lesion's doing; these fail if a lesion stops being drawn or moves.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from retinavlm.data.synthetic import LESIONS, ScanSpec, load_cohort_config, render
from retinavlm.knowledge import load_knowledge

SEEDS = (0, 1)
ENCODER_SIZE = 192


@pytest.fixture(scope="module")
def setup():
    config = load_cohort_config()
    return config, config.domains["spectralis_like"]


def pair(setup, biomarker, attributes, seed, eye="OD"):
    config, domain = setup

    def one(present):
        spec = ScanSpec(present, eye, False, anatomy_seed=seed, lesion_seed=100 + seed)
        return render(spec, domain, np.random.default_rng(seed), config.grid, config.central_halfwidth_um)

    return one({biomarker: attributes}), one({})


def encoder_view(array: np.ndarray, fovea_col: int, method=Image.Resampling.BILINEAR) -> np.ndarray:
    """A fovea-centred square crop (full height) resized to 192x192, as the encoder sees it."""
    rows, cols = array.shape
    left = int(np.clip(fovea_col - rows // 2, 0, max(cols - rows, 0)))
    crop = np.ascontiguousarray(array[:, left : left + rows], np.float32)
    return np.asarray(Image.fromarray(crop).resize((ENCODER_SIZE, ENCODER_SIZE), method))


def mean_change(with_lesion, without, biomarker, small=False) -> tuple[float, float]:
    """Mean pixel change inside the lesion mask, at full resolution and in the encoder view."""
    mask = with_lesion.masks[biomarker]
    assert mask.sum() > 0, f"{biomarker}: nothing drawn"
    full = float(with_lesion.pixels[mask].mean() - without.pixels[mask].mean())
    col = with_lesion.fovea[1]
    small_mask = encoder_view(mask.astype(np.float32), col) > (0.2 if small else 0.5)
    assert small_mask.sum() > 0, f"{biomarker}: vanishes at {ENCODER_SIZE}x{ENCODER_SIZE}"
    view = (
        encoder_view(with_lesion.pixels, col)[small_mask].mean() - encoder_view(without.pixels, col)[small_mask].mean()
    )
    return full, float(view)


def rpe_rows(pixels: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Row of the brightest (smoothed) band in each column: the RPE."""
    smooth = gaussian_filter(pixels, (1.5, 1.5))
    return np.argmax(smooth[:, columns], axis=0).astype(float)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    ("biomarker", "attributes", "sign", "small"),
    [
        ("srf", {}, -1, False),  # dark pocket under the lifted retina
        ("irf", {}, -1, False),  # dark cysts in the inner/outer nuclear layers
        ("ped", {"type": "serous"}, -1, False),  # dark dome content
        ("rpe_atrophy", {}, -1, False),  # RPE band lost
        ("shrm", {}, +1, False),  # bright material above the RPE
        ("fibrosis", {}, +1, False),  # bright thick scar
        ("hyperreflective_foci", {}, +1, True),  # bright dots
        ("hypertransmission", {}, +1, False),  # brighter choroid under the defect
    ],
)
def test_lesion_changes_its_region(setup, biomarker, attributes, sign, small, seed):
    with_lesion, without = pair(setup, biomarker, attributes, seed)
    full, view = mean_change(with_lesion, without, biomarker, small)
    assert sign * full > 0.1, f"{biomarker}: mean change {full:+.3f} at full size"
    assert sign * view > 0.05, f"{biomarker}: mean change {view:+.3f} in the {ENCODER_SIZE}px encoder view"
    outside = ~with_lesion.masks[biomarker]
    assert np.abs(with_lesion.pixels - without.pixels)[outside].mean() < abs(full)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    ("biomarker", "attributes", "min_lift_rows"),
    [
        ("drusen", {"size": "small"}, 3),
        ("drusen", {"size": "medium"}, 6),
        ("drusen", {"size": "large"}, 10),
        ("ped", {"type": "drusenoid"}, 12),
        ("ped", {"type": "fibrovascular"}, 10),
        ("double_layer_sign", {}, 4),
    ],
)
def test_sub_rpe_lesion_lifts_the_rpe(setup, biomarker, attributes, min_lift_rows, seed):
    with_lesion, without = pair(setup, biomarker, attributes, seed)
    columns = np.flatnonzero(with_lesion.masks[biomarker].any(axis=0))
    assert columns.size > 0
    lift = rpe_rows(without.pixels, columns) - rpe_rows(with_lesion.pixels, columns)
    assert np.median(lift) >= min_lift_rows, f"{biomarker} {attributes}: RPE lifted {np.median(lift)} rows"
    # Still visible in the encoder view: the lesion's pixels change by a clearly visible amount.
    col = with_lesion.fovea[1]
    small_mask = encoder_view(with_lesion.masks[biomarker].astype(np.float32), col) > 0.3
    change = np.abs(encoder_view(with_lesion.pixels, col) - encoder_view(without.pixels, col))[small_mask].mean()
    assert change > 0.1, f"{biomarker} {attributes}: mean change {change:.3f} at {ENCODER_SIZE}px"


def test_drusen_size_classes_have_their_physical_width(setup):
    """Greatest linear dimension per size class: small < 63 µm, medium 63–125 µm, large > 125 µm."""
    config, _ = setup
    widths = {}
    for size in ("small", "medium", "large"):
        runs = []
        for seed in SEEDS:
            with_lesion, _ = pair(setup, "drusen", {"size": size}, seed)
            columns = with_lesion.masks["drusen"].any(axis=0).astype(int)
            edges = np.flatnonzero(np.diff(np.r_[0, columns, 0]))
            runs += list((edges[1::2] - edges[::2]) * config.grid.lateral_um)
        widths[size] = float(np.median(runs))
    assert widths["small"] < 63 <= widths["medium"] <= 125 < widths["large"], widths


@pytest.mark.parametrize("seed", SEEDS)
def test_double_layer_sign_shows_two_lines(setup, seed):
    with_lesion, _ = pair(setup, "double_layer_sign", {}, seed)
    mask = with_lesion.masks["double_layer_sign"]
    smooth = gaussian_filter(with_lesion.pixels, (0.8, 2.0))
    gaps, bruch = [], []
    for col in np.flatnonzero(mask.any(axis=0)):
        rows = np.flatnonzero(mask[:, col])
        gaps.append(smooth[rows, col].mean())
        bruch.append(smooth[rows[-1] + 1 : rows[-1] + 3, col].max())
    assert np.mean(bruch) > np.mean(gaps) + 0.15


@pytest.mark.parametrize("seed", SEEDS)
def test_rpe_irregularity_undulates_the_rpe(setup, seed):
    with_lesion, without = pair(setup, "rpe_irregularity", {}, seed)
    columns = np.flatnonzero(with_lesion.masks["rpe_irregularity"].any(axis=0))
    change = rpe_rows(without.pixels, columns) - rpe_rows(with_lesion.pixels, columns)
    assert change.std() > 1.5, "RPE position should vary along the irregular segment"
    assert change.mean() > 1.0, "the irregular RPE is shallowly elevated"


def test_every_knowledge_base_biomarker_has_a_drawing():
    assert set(load_knowledge().biomarker_ids) == set(LESIONS)


@pytest.mark.parametrize("biomarker", sorted(LESIONS))
def test_lesions_stay_in_the_central_window(setup, biomarker):
    config, _ = setup
    attributes = {"size": "large"} if biomarker == "drusen" else {"type": "serous"} if biomarker == "ped" else {}
    for seed in SEEDS:
        with_lesion, _ = pair(setup, biomarker, attributes, seed, eye="OS")
        columns = np.flatnonzero(with_lesion.masks[biomarker].any(axis=0))
        half = config.central_halfwidth_um / config.grid.lateral_um
        assert np.all(np.abs(columns - with_lesion.fovea[1]) <= half + 2)


def test_os_is_the_mirror_image_of_od(setup):
    config, domain = setup
    spec = dict(present={"srf": {}}, watermark=False, anatomy_seed=7, lesion_seed=8)
    od = render(ScanSpec(eye="OD", **spec), domain, np.random.default_rng(1))
    os_ = render(ScanSpec(eye="OS", **spec), domain, np.random.default_rng(1))
    assert np.array_equal(os_.pixels, od.pixels[:, ::-1])
    assert os_.fovea[1] == domain.cols - 1 - od.fovea[1]


def test_watermark_marks_the_corner_only(setup):
    config, _ = setup
    domain = config.domains["cirrus_like"]

    def one(mark):
        return render(ScanSpec({}, "OD", mark, 4, 5), domain, np.random.default_rng(0)).pixels

    difference = np.abs(one(True) - one(False))
    rows, cols = difference.shape
    assert difference[int(rows * 0.85) :, int(cols * 0.6) :].max() > 0.3
    assert difference[: int(rows * 0.8)].max() == 0


def test_scanner_domains_set_resolution_and_spacing(setup):
    config, _ = setup
    for domain in config.domains.values():
        scan = render(ScanSpec({}, "OD", False, 1, 2), domain, np.random.default_rng(0), config.grid)
        assert scan.pixels.shape == (domain.rows, domain.cols)
        assert scan.pixels.dtype == np.float32 and 0 <= scan.pixels.min() and scan.pixels.max() <= 1
        assert scan.pixel_spacing_um[0] == pytest.approx(config.grid.axial_um * config.grid.rows / domain.rows)
