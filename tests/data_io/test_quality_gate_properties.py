"""Properties of the quality gate over generated images: laterality is never a refusal, stripes always are."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scan_testing import layered_bscan

from retinavlm.data.quality import assess_quality
from retinavlm.data.scan import Scan


def _assess(pixels: np.ndarray):
    return assess_quality(Scan(np.ascontiguousarray(pixels, dtype=np.float32), source="generated", bit_depth=32))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    pit=st.floats(0.2, 0.8),
    height=st.integers(160, 400),
    width=st.integers(160, 700),
)
def test_toy_scans_are_accepted_mirrored_too_and_refused_upside_down(seed, pit, height, width) -> None:
    scan = layered_bscan(height, width, pit_column=pit * width, seed=seed)
    report = _assess(scan)
    assert report.ok, report.reason
    mirrored = _assess(scan[:, ::-1])
    assert mirrored.ok, mirrored.reason
    flipped = _assess(scan[::-1])
    assert flipped.level == "refused" and flipped.reason.startswith("upside down"), flipped.reason


@st.composite
def stripe_images(draw) -> np.ndarray:
    """3 to 6 speckled horizontal stripes, each separated from the next by background, on black or dark noise."""
    height = draw(st.integers(200, 600))
    width = draw(st.integers(200, 1024))
    count = draw(st.integers(3, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    background = draw(st.sampled_from([0.0, 0.06]))
    image = np.clip(rng.normal(background, background / 2, (height, width)), 0, 1).astype(np.float32)
    pitch = height / (count + 1)
    for index in range(count):
        thickness = draw(st.floats(0.2, 0.6)) * pitch  # so at least 40 % of each pitch is background
        centre = (index + 1) * pitch
        image[int(centre - thickness / 2) : int(centre + thickness / 2)] = draw(st.floats(0.5, 0.95))
    return np.clip(image * rng.gamma(4.0, 0.25, image.shape), 0, 1).astype(np.float32)


@settings(max_examples=40, deadline=None)
@given(image=stripe_images())
def test_three_or_more_separated_stripes_are_never_accepted(image) -> None:
    report = _assess(image)
    assert not report.ok and report.level == "refused", report.figures
