"""The shortcut cue reaches the encoder's input, the vitreous mask hides it, and the cohort draws it as configured."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from retinavlm.data.augment import (
    AugmentConfig,
    encoder_square,
    eval_transform,
    mask_above_retina,
    train_transform,
)
from retinavlm.data.synthetic import load_cohort_config, plan_cohort
from retinavlm.data.synthetic.config import CohortConfigError, ShortcutCue
from retinavlm.data.synthetic.render import ScanSpec, cue_square_box, render
from retinavlm.knowledge import load_knowledge

SIZE = 128  # the demo encoder's input side, with its fovea crop of half the scan's shorter side
CROP_FRACTION = 0.5


@pytest.fixture(scope="module")
def scans():
    """(stage, unmarked scan, marked scan) for a few planned scans on every scanner domain, same seeds."""
    config = load_cohort_config()
    cue = ShortcutCue(1.0, 1.0, crop_fraction=CROP_FRACTION)
    pairs = []
    for plan in plan_cohort(10, 3, config):
        domain = config.domains[plan.domain]
        one = [
            render(
                ScanSpec(plan.present, plan.eye, True, plan.anatomy_seed, plan.lesion_seed, marker),
                domain,
                np.random.default_rng(plan.index),
                config.grid,
                config.central_halfwidth_um,
            ).pixels
            for marker in (None, cue)
        ]
        pairs.append((plan.stage, *one))
    return cue, pairs


def square(pixels):
    return encoder_square(pixels, SIZE, "fovea", CROP_FRACTION)


def test_the_cue_reaches_the_encoder_input_inside_its_box(scans):
    cue, pairs = scans
    top, left, height, width = cue_square_box(cue, SIZE)
    for _, plain, marked in pairs:
        plain_square, marked_square = square(plain), square(marked)
        assert not np.array_equal(plain_square, marked_square)
        inside = marked_square[top + 1 : top + height - 1, left + 1 : left + width - 1]
        assert inside.max() == pytest.approx(cue.intensity, abs=0.02)  # the dark square, not speckled vitreous
        assert plain_square[top : top + height, left : left + width].mean() > cue.intensity + 0.03


def test_the_corner_watermark_does_not_reach_the_fovea_crop(scans):
    """Why the cue exists: the vendor's corner text is cut away by the crop the demo's encoder sees."""
    config = load_cohort_config()
    domain = next(d for d in config.domains.values() if d.watermark)

    def one(mark):
        return render(ScanSpec({}, "OD", mark, 4, 5), domain, np.random.default_rng(0), config.grid).pixels

    assert not np.array_equal(one(True), one(False))
    assert np.array_equal(square(one(True)), square(one(False)))


def test_the_vitreous_mask_hides_the_cue_and_keeps_the_retina(scans):
    cue, pairs = scans
    top, left, height, width = cue_square_box(cue, SIZE)
    box = (slice(top, top + height), slice(left, left + width))
    for stage, plain, marked in pairs:
        if stage != "healthy":  # a raised retina (fluid, PED) can reach the corner; the cue then touches it
            continue
        plain_square, marked_square = square(plain), square(marked)
        assert not np.array_equal(plain_square[box], marked_square[box])
        masked_plain, masked_marked = mask_above_retina(plain_square), mask_above_retina(marked_square)
        assert np.array_equal(masked_plain[box], masked_marked[box])
        retina = slice(SIZE // 3, SIZE)  # the retina and choroid: untouched
        np.testing.assert_array_equal(masked_plain[retina], plain_square[retina])


@pytest.mark.parametrize("make", [eval_transform, train_transform])
def test_the_augmentation_option_masks_the_cue(scans, make):
    """The pipeline's option blanks the cue in evaluation and training views (the encoder squares go in as they
    are: a square's fovea crop is the square itself)."""
    _, pairs = scans
    _, plain, marked = next(p for p in pairs if p[0] == "healthy")
    views = {}
    for masked in (False, True):
        views[masked] = [
            make(AugmentConfig(size=SIZE, mask_above_retina=masked, hflip_p=0.0, seed=1))(image=square(pixels))["image"]
            for pixels in (plain, marked)
        ]
    assert not np.array_equal(views[False][0], views[False][1])
    np.testing.assert_array_equal(views[True][0], views[True][1])


def test_the_cohort_marks_scans_by_referral_with_the_configured_probabilities():
    kb = load_knowledge()
    config = load_cohort_config()
    shortcut = config.with_shortcut_cue(ShortcutCue(p_referable=1.0, p_non_referable=0.0))
    plans = plan_cohort(60, 2, shortcut)
    referable = [p.referral != kb.referrals[0].id for p in plans]
    assert any(referable) and not all(referable)
    assert [p.cue is not None for p in plans] == referable
    assert shortcut.source["shortcut_cue"]["p_referable"] == 1.0  # recorded in the manifest's config
    assert all(p.cue is None for p in plan_cohort(60, 2, config))


def test_a_cohort_without_the_cue_keeps_its_random_stream():
    """Turning the cue off must not change which scans a seed gives (the demo's cohorts stay the same)."""
    config = load_cohort_config()
    off = config.with_shortcut_cue(replace(config.shortcut_cue, p_referable=0.0, p_non_referable=0.0))
    on = config.with_shortcut_cue(replace(config.shortcut_cue, p_referable=0.5, p_non_referable=0.5))
    strip = lambda plans: [replace(p, cue=None) for p in plans]  # noqa: E731
    assert strip(plan_cohort(30, 5, config)) == strip(plan_cohort(30, 5, off))
    assert strip(plan_cohort(30, 5, config)) != strip(plan_cohort(30, 5, on))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"p_referable": 1.5}, "p_referable: must be within [0, 1]"),
        ({"size": 0.5}, "size: must be within (0, 0.12]"),
        ({"crop_fraction": 0.0}, "crop_fraction: must be within (0, 1.0]"),
    ],
)
def test_bad_cue_settings_name_the_key(tmp_path, changes, message):
    import yaml

    from retinavlm.data.synthetic.config import default_cohort_config_path

    doc = yaml.safe_load(default_cohort_config_path().read_text(encoding="utf-8"))
    doc["shortcut_cue"] = {**doc.get("shortcut_cue", {}), **changes}
    path = tmp_path / "cohort.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(CohortConfigError, match=re.escape(f"shortcut_cue.{message}")):
        load_cohort_config(path)
