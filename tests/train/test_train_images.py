"""Training images: the encoder sees the same view in training as at inference."""

from __future__ import annotations

import pytest

from retinavlm.data.cohorts.splits import SplitConfig
from retinavlm.data.io import read_scan
from retinavlm.model.config import RetinaVLMConfig
from retinavlm.model.processor import ProcessorError
from retinavlm.model.vlm import RetinaVLM
from retinavlm.train.images import ScanImages, augment_config
from retinavlm.train.records import load_splits


@pytest.fixture(scope="module")
def half_height_model():
    cfg = RetinaVLMConfig.from_dict(
        {
            "encoder": {"name": "resnet_tiny_s16", "image_size": 64, "crop_fraction": 0.5},
            "adapter": {"kind": "mlp"},
            "llm": {
                "tiny": True,
                "hidden_size": 32,
                "intermediate_size": 64,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "num_key_value_heads": 1,
            },
        }
    )
    return RetinaVLM.from_config(cfg, device="cpu")


def test_training_input_is_the_inference_input_when_the_crop_zooms_in(small_cohort, kb, half_height_model):
    # Regression: the square was cropped again by the processor, a second 2x zoom that inference never did.
    records = load_splits(small_cohort, kb, SplitConfig(0.15, 0.15, 0)).train[:3]
    processor = half_height_model.processor
    images = ScanImages(records, processor, augment_config({}, processor.image_size))
    for index, record in enumerate(records):
        assert images.tensor(index).equal(processor.preprocess(read_scan(record.image).pixels))


def test_normalize_refuses_a_square_of_another_size(half_height_model):
    import numpy as np

    with pytest.raises(ProcessorError, match="expected a 64x64 square"):
        half_height_model.processor.normalize(np.zeros((96, 96), np.float32))


def test_masks_come_cut_and_augmented_with_their_scans_and_a_bad_mask_refuses_only_its_scan(
    small_cohort, kb, half_height_model, tmp_path
):
    import shutil

    import numpy as np

    from retinavlm.data.lesion_masks import mask_path

    cohort = tmp_path / "cohort"
    shutil.copytree(small_cohort, cohort)
    records = load_splits(cohort, kb, SplitConfig(0.15, 0.15, 0)).train[:4]
    mask_path(cohort, records[1].id).write_bytes(b"not a png")
    processor = half_height_model.processor
    images = ScanImages(records, processor, augment_config({}, processor.image_size), masks_from=cohort)
    assert [r.id for r in images.records] == [records[i].id for i in (0, 2, 3)]
    assert len(images.refused) == 1 and records[1].id in images.refused[0] and "not a readable PNG" in images.refused[0]
    pixels, fields = images.batch_with_masks([0, 1, 2], [7, 8, 9])
    assert pixels.shape == (3, 1, 64, 64) and fields.shape == (3, 64, 64) and fields.dtype == np.uint16
    assert pixels[0].equal(images.tensor(0, 7))  # the mask does not change the image's augmentation
