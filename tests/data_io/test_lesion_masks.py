"""Lesion masks: the 16-bit PNG layout, clear errors for bad files, and token targets on the encoder grid."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retinavlm.data import lesion_masks
from retinavlm.data.augment import AugmentConfig, train_transform
from retinavlm.data.lesion_masks import (
    LesionMaskError,
    crop_mask,
    encode_mask,
    read_mask,
    resize_bits,
    token_targets,
)

BITS = ["drusen", "ped", "srf"]


def test_masks_round_trip_through_the_png(tmp_path):
    drusen = np.zeros((40, 50), bool)
    drusen[10:12, 5:20] = True
    srf = np.zeros((40, 50), bool)
    srf[11:30, 15:25] = True
    path = tmp_path / "m.png"
    path.write_bytes(encode_mask({"drusen": drusen, "srf": srf}, BITS, (40, 50)))
    field = read_mask(path, (40, 50))
    assert np.array_equal((field & 1) > 0, drusen)
    assert not (field & 2).any()
    assert np.array_equal((field & 4) > 0, srf)


def test_bad_mask_files_name_the_file_and_the_problem(tmp_path):
    with pytest.raises(LesionMaskError, match="missing.png: lesion mask not found"):
        read_mask(tmp_path / "missing.png", (4, 4))
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(LesionMaskError, match="corrupt.png: not a readable PNG"):
        read_mask(corrupt, (4, 4))
    small = tmp_path / "small.png"
    small.write_bytes(encode_mask({}, BITS, (4, 4)))
    with pytest.raises(LesionMaskError, match="small.png: mask is 4x4 but its scan is 8x8"):
        read_mask(small, (8, 8))


def test_a_lesion_thinner_than_the_downscaling_still_marks_its_pixels():
    field = np.zeros((248, 248), np.uint16)
    field[120, 30:200] = 2  # one row, the thinnest a double-layer sign could be
    square = crop_mask(field, (0, 0, 248, 248), 96, 16)
    rows = np.nonzero(square & 2)[0]
    assert rows.size and set(rows) <= {46, 47}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.sampled_from([1, 7, 12, 48]), n_bits=st.integers(1, 16))
def test_a_square_already_the_encoders_is_kept_as_the_per_bit_resize_would_keep_it(seed, size, n_bits):
    """The shortcut for a whole square at its own size (every augmented training sample) equals the general path."""
    rng = np.random.default_rng(seed)
    field = ((rng.random((size, size)) < 0.2) * rng.integers(0, 2**16, (size, size))).astype(np.uint16)
    kept = crop_mask(field, (0, 0, size, size), size, n_bits)
    assert kept.dtype == np.uint16
    assert np.array_equal(kept, resize_bits(field, size, n_bits))


def test_token_targets_follow_the_encoder_grid_row_major():
    field = np.zeros((1, 12, 12), np.uint16)
    field[0, 0, 11] = 1  # top-right pixel: token (row 0, col 2) of a 3x3 grid
    field[0, 8, 0] = 4  # bottom-left cell: token (row 2, col 0)
    targets = token_targets(field, (3, 3), [2, 0])  # ask for bit 2 then bit 0
    assert targets.shape == (1, 9, 2)
    assert np.argwhere(targets[0]).tolist() == [[2, 1], [6, 0]]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    grid=st.sampled_from([(1, 1), (2, 3), (3, 3), (4, 2)]),
    positions=st.lists(st.integers(0, 15), min_size=1, max_size=6),
)
def test_token_targets_mark_a_cell_exactly_when_one_of_its_pixels_has_the_bit(seed, grid, positions):
    rng = np.random.default_rng(seed)
    rows, cols = grid
    size = 12
    sparse = rng.random((2, size, size)) < 0.05
    fields = (sparse * rng.integers(0, 2**16, (2, size, size))).astype(np.uint16)
    targets = token_targets(fields, grid, positions)
    step_r, step_c = size // rows, size // cols
    for b in range(2):
        for r in range(rows):
            for c in range(cols):
                cell = fields[b, r * step_r : (r + 1) * step_r, c * step_c : (c + 1) * step_c]
                for j, bit in enumerate(positions):
                    assert targets[b, r * cols + c, j] == float(((cell >> bit) & 1).any())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), row=st.integers(20, 70), col=st.integers(20, 70))
def test_augmentation_moves_the_mask_with_the_pixels(seed, row, col):
    image = np.full((96, 96), 0.3, np.float32)
    image[row - 4 : row + 4, col - 4 : col + 4] = 1.0
    field = np.zeros((96, 96), np.uint16)
    field[row - 4 : row + 4, col - 4 : col + 4] = 1
    out = train_transform(
        AugmentConfig(size=96, noise_p=0, speckle_p=0, brightness_contrast_p=0, gamma_p=0, seed=seed)
    )(image=image, mask=field)
    marked = out["mask"] > 0
    assert marked.sum() > 30
    assert out["image"][marked].mean() > 0.8 > out["image"][~marked].mean()


def test_a_mask_of_another_shape_than_its_image_is_refused():
    with pytest.raises(ValueError, match="mask shape"):
        train_transform(AugmentConfig(size=32, seed=0))(
            image=np.zeros((40, 40), np.float32), mask=np.zeros((30, 30), np.uint16)
        )


def test_more_biomarkers_than_bits_is_refused():
    with pytest.raises(ValueError, match="at most 16"):
        encode_mask({}, [f"b{i}" for i in range(lesion_masks.MAX_BITS + 1)], (2, 2))


def test_bit_positions_follow_the_manifest_and_name_what_is_missing(tmp_path):
    import json

    from retinavlm.data.lesion_masks import bit_positions

    with pytest.raises(LesionMaskError, match="has no lesion masks"):
        bit_positions(tmp_path, BITS)
    (tmp_path / "manifest.json").write_text(json.dumps({"lesion_masks": {"bits": ["srf", "drusen"]}}))
    assert bit_positions(tmp_path, ["drusen", "srf"]) == [1, 0]
    with pytest.raises(LesionMaskError, match="no bit for ped"):
        bit_positions(tmp_path, BITS)
