"""Fovea-centred crop and the train/eval augmentation pipelines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scan_testing import layered_bscan

from retinavlm.data.augment import (
    AugmentConfig,
    border_padding,
    eval_transform,
    find_fovea_column,
    fovea_center_crop,
    retina_centre_row,
    train_transform,
)
from retinavlm.data.io import read_scan


@pytest.mark.parametrize("pit_fraction", [0.3, 0.45, 0.62, 0.7])
def test_fovea_found_on_a_synthetic_pit(pit_fraction: float) -> None:
    width = 512
    pixels = layered_bscan(height=248, width=width, pit_column=pit_fraction * width, seed=1)
    assert abs(find_fovea_column(pixels) - pit_fraction * width) <= 0.03 * width


def test_tilted_scan_still_finds_the_pit() -> None:
    pixels = layered_bscan(height=300, width=512, pit_column=200, seed=2)
    rows, cols = np.indices(pixels.shape)
    tilted = pixels[np.clip(rows - (cols * 0.08).astype(int), 0, pixels.shape[0] - 1), cols]
    assert abs(find_fovea_column(tilted) - 200) <= 16


def test_no_pit_falls_back_to_the_centre() -> None:
    assert find_fovea_column(layered_bscan(width=400, pit_column=None)) == 200
    assert find_fovea_column(np.zeros((100, 300), np.float32)) == 150


# Foveal pit columns read by eye from the images (healthy maculae, clear pits).
HAND_LABELLED = {"NORMAL-1850889-1.jpeg": 455, "NORMAL-2405707-1.jpeg": 490, "NORMAL-8218814-5.jpeg": 495}


def test_fovea_on_real_scans_matches_hand_labels_and_follows_a_shift(kermany: Path) -> None:
    for name, column in HAND_LABELLED.items():
        pixels = read_scan(kermany / "NORMAL" / name).pixels
        width = pixels.shape[1]
        found = find_fovea_column(pixels)
        assert abs(found - column) <= 0.04 * width, (name, found)
        # Cut a quarter off the left: the pit moves with the content, which a centre guess would not.
        shifted = find_fovea_column(pixels[:, width // 4 :])
        assert abs(shifted - (found - width // 4)) <= 0.04 * width, (name, found, shifted)


def test_crop_shape_range_and_centring(kermany: Path) -> None:
    for path in sorted(kermany.rglob("*.jpeg"))[::40]:
        crop = fovea_center_crop(read_scan(path).pixels, 192)
        assert crop.shape == (192, 192) and crop.dtype == np.float32
        assert 0.0 <= crop.min() and crop.max() <= 1.0
    pixels = layered_bscan(height=200, width=600, pit_column=400, seed=3)
    crop = fovea_center_crop(pixels, 100)
    assert abs(find_fovea_column(crop) - 50) <= 5  # the pit sits in the middle of the crop


def test_a_crop_fraction_zooms_in_on_the_retinal_band() -> None:
    pixels = np.zeros((400, 400), np.float32)
    pixels[300:340] = 0.9  # a bright band low in the scan, far from the image centre
    crop = fovea_center_crop(pixels, 100, fraction=0.5)  # a 200 x 200 window resized to 100
    rows = np.flatnonzero(crop.mean(axis=1) > 0.5)
    assert crop.shape == (100, 100)
    assert 15 <= rows.size <= 25  # the band keeps its 40 rows at half scale: not squeezed, not cut
    assert 30 <= rows.mean() <= 70  # and sits near the middle of the crop
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="crop fraction"):
            fovea_center_crop(pixels, 100, fraction=bad)


def test_a_white_registration_wedge_does_not_pull_the_crop_off_the_retina() -> None:
    pixels = layered_bscan(height=400, width=512, pit_column=256, seed=4)  # the retina at rows 120-250
    rows, cols = np.indices(pixels.shape)
    wedge = rows > 300 + cols * 0.2  # white below a tilted edge, from the left border
    wedged = np.where(wedge, 1.0, pixels).astype(np.float32)
    assert abs(retina_centre_row(wedged) - retina_centre_row(pixels)) <= 4
    padding = border_padding(wedged)
    assert not (padding & ~wedge).any() and padding.sum() >= 0.99 * wedge.sum()  # but its 2-px tip
    assert not border_padding(pixels).any()
    crop = fovea_center_crop(wedged, 100, fraction=0.5)
    assert (crop > 0.99).mean() < 0.01  # the 200-row crop holds the retina, not the wedge


def test_white_inside_the_tissue_is_not_padding() -> None:
    pixels = layered_bscan(height=300, width=512, seed=5)
    pixels[150:154, :6] = 1.0  # a saturated RPE that reaches the border for a few columns
    pixels[100:110, 200:300] = 1.0  # and a bright lesion inside
    assert not border_padding(pixels).any()


# Rows of the retinal band read by eye from real scans whose white registration wedge, a fifth of the scan at its
# top or bottom, once pulled the crop's centre row to 66-426 (off the retina).
WEDGED_RETINA_ROWS = {
    "CNV-114195-1.jpeg": (140, 370),
    "CNV-245643-1.jpeg": (50, 250),
    "CNV-1168253-1.jpeg": (90, 250),
    "CNV-346788-1.jpeg": (75, 250),
}


def test_real_scans_with_registration_wedges_centre_on_the_retina(kermany: Path) -> None:
    for name, (top, bottom) in WEDGED_RETINA_ROWS.items():
        pixels = read_scan(kermany / "CNV" / name).pixels
        assert top <= retina_centre_row(pixels) <= bottom, name


def test_crop_of_tall_and_square_images() -> None:
    tall = layered_bscan(height=600, width=300)
    assert fovea_center_crop(tall, 64).shape == (64, 64)
    square = layered_bscan(height=192, width=192)
    np.testing.assert_allclose(fovea_center_crop(square, 192), square, atol=1e-6)
    with pytest.raises(ValueError, match="expected a \\(height, width\\) B-scan"):
        fovea_center_crop(np.zeros((10, 10, 3), np.float32), 8)


def test_train_transform_is_deterministic_given_a_seed() -> None:
    pixels = layered_bscan(pit_column=128)
    first = train_transform(AugmentConfig(seed=7))
    second = train_transform(AugmentConfig(seed=7))
    other = train_transform(AugmentConfig(seed=8))
    runs = [[t(image=pixels, laterality="OD") for _ in range(6)] for t in (first, second, other)]
    for a, b in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(a["image"], b["image"])
        assert a["laterality"] == b["laterality"] and a["flipped"] == b["flipped"]
    assert any(not np.array_equal(a["image"], c["image"]) for a, c in zip(runs[0], runs[2], strict=True))


def test_a_reseeded_transform_draws_as_a_fresh_one_with_that_seed() -> None:
    pixels = layered_bscan(pit_column=128)
    mask = (pixels > 0.5).astype(np.uint16)
    shared = train_transform(AugmentConfig(seed=0))
    for seed in (3, 11, 3, 42):
        fresh = train_transform(AugmentConfig(seed=seed))(image=pixels, laterality="OD", mask=mask)
        again = shared.reseed(seed)(image=pixels, laterality="OD", mask=mask)
        np.testing.assert_array_equal(fresh["image"], again["image"])
        np.testing.assert_array_equal(fresh["mask"], again["mask"])
        assert fresh["flipped"] == again["flipped"] and fresh["laterality"] == again["laterality"]


def test_flip_keeps_laterality_consistent() -> None:
    pixels = layered_bscan(pit_column=100)
    always = train_transform(AugmentConfig(seed=0, hflip_p=1.0, affine_p=0, brightness_contrast_p=0,
                                           gamma_p=0, speckle_p=0, noise_p=0))  # fmt: skip
    out = always(image=pixels, laterality="OD")
    assert out["flipped"] and out["laterality"] == "OS"
    np.testing.assert_allclose(out["image"], fovea_center_crop(pixels)[:, ::-1], atol=1e-6)
    assert always(image=pixels, laterality="OS")["laterality"] == "OD"
    assert always(image=pixels, laterality=None)["laterality"] is None
    never = train_transform(AugmentConfig(seed=0, hflip_p=0.0))
    assert all(never(image=pixels, laterality="OD")["laterality"] == "OD" for _ in range(5))


def test_flips_happen_at_about_the_configured_rate() -> None:
    transform = train_transform(AugmentConfig(seed=1, hflip_p=0.5))
    pixels = layered_bscan(height=128, width=128)
    flips = [transform(image=pixels, laterality="OD")["flipped"] for _ in range(200)]
    assert 70 <= sum(flips) <= 130


def test_train_output_is_valid_and_stays_oct_like() -> None:
    pixels = layered_bscan(pit_column=128)
    transform = train_transform(AugmentConfig(seed=3))
    for _ in range(10):
        image = transform(image=pixels)["image"]
        assert image.shape == (192, 192) and image.dtype == np.float32
        assert np.isfinite(image).all() and 0.0 <= image.min() and image.max() <= 1.0
        # no vertical flip: the bright bands stay in the lower-middle, the vitreous on top stays dark
        assert image[:40].mean() < image[60:130].mean()


def test_eval_transform_is_the_plain_crop() -> None:
    pixels = layered_bscan(pit_column=90)
    out = eval_transform(AugmentConfig(size=128))(image=pixels, laterality="OD")
    np.testing.assert_array_equal(out["image"], fovea_center_crop(pixels, 128))
    assert out["laterality"] == "OD" and not out["flipped"]
