import functools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from model_testing import kermany_scans

from retinavlm.data.io import read_scan
from retinavlm.data.scan import Scan
from retinavlm.model.config import DEFAULT_IMAGE_TOKEN
from retinavlm.model.processor import IGNORE_INDEX, ProcessorError, RetinaVLMProcessor
from retinavlm.model.tokenizer import train_tokenizer

N_IMAGE = 9


@functools.cache
def make_processor(image_token: str = DEFAULT_IMAGE_TOKEN, max_length: int = 256) -> RetinaVLMProcessor:
    return RetinaVLMProcessor(train_tokenizer(), image_token, N_IMAGE, 64, 0.5, 0.5, max_length)


def images(n: int) -> torch.Tensor:
    return torch.zeros(n, 1, 64, 64)


def test_placeholder_expands_to_exactly_the_visual_token_count():
    processor = make_processor()
    batch = processor(["<image>\nWhat stage?", f"Describe {DEFAULT_IMAGE_TOKEN} please."], images=images(2))
    counts = (batch["input_ids"] == processor.image_token_id).sum(dim=1)
    assert counts.tolist() == [N_IMAGE, N_IMAGE]
    assert "labels" not in batch and batch["pixel_values"].shape == (2, 1, 64, 64)


def test_labels_keep_only_the_answer_and_its_end_of_turn():
    processor = make_processor()
    batch = processor(["<image>\nWhat stage?"] * 2, images=images(2), answers=["Early AMD.", "Healthy, no referral."])
    tokenizer = processor.tokenizer
    for row, answer in zip(batch["labels"], ["Early AMD.", "Healthy, no referral."], strict=True):
        kept = row[row != IGNORE_INDEX].tolist()
        assert tokenizer.decode(kept) == answer + "<|eot_id|>"
    assert (batch["labels"] != IGNORE_INDEX).sum() < batch["attention_mask"].sum()


@pytest.mark.parametrize("side", ["left", "right"])
def test_padding_side(side):
    processor = make_processor()
    batch = processor(
        ["<image> Hi", "<image>\nA much longer question about the scan?"], images=images(2), padding_side=side
    )
    mask = batch["attention_mask"][0]
    assert mask.sum() < mask.numel()
    pad_at = 0 if side == "left" else -1
    assert mask[pad_at] == 0 and batch["input_ids"][0, pad_at] == processor.tokenizer.pad_token_id


@pytest.mark.parametrize(
    ("prompts", "imgs", "message"),
    [
        (["No placeholder here."], images(1), "holds 0 image placeholders"),
        (["<image><image> twice"], images(1), "holds 2 image placeholders"),
        (["<image> but no scan"], None, "holds an image placeholder but no image was given"),
        (["<image> one", "<image> two"], images(1), r"images have shape \(1, 1, 64, 64\), expected \(2, 1, 64, 64\)"),
        ("<image> a bare string", images(1), "non-empty list"),
    ],
)
def test_count_and_shape_mismatches_are_refused(prompts, imgs, message):
    with pytest.raises(ProcessorError, match=message):
        make_processor()(prompts, images=imgs)


def test_an_image_token_the_tokenizer_splits_is_caught():
    processor = make_processor(image_token="<img>")
    with pytest.raises(ProcessorError, match="tokenizes to 0 image tokens but the model makes 9"):
        processor(["<image> What stage?"], images=images(1))


def test_too_long_input_is_refused():
    with pytest.raises(ProcessorError, match="above the model's context of 256"):
        make_processor()(["<image> " + "drusen " * 400], images=images(1))


@settings(max_examples=40, deadline=None)
@given(
    before=st.text(max_size=60).filter(lambda t: "<image>" not in t and "<|" not in t),
    after=st.text(max_size=60).filter(lambda t: "<image>" not in t and "<|" not in t),
    answer=st.text(max_size=60),
)
def test_any_prompt_and_answer_give_one_image_and_answer_only_labels(before, after, answer):
    processor = make_processor(max_length=4096)
    batch = processor([before + "<image>" + after], images=images(1), answers=[answer])
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    assert int((ids == processor.image_token_id).sum()) == N_IMAGE
    answer_ids = processor.answer_ids(answer)
    assert labels[-len(answer_ids) :].tolist() == answer_ids
    assert (labels[: -len(answer_ids)] == IGNORE_INDEX).all()


def test_preprocess_accepts_the_usual_pixel_types():
    processor = make_processor()
    ramp = np.tile(np.linspace(0, 1, 300, dtype=np.float32), (200, 1))
    for image in (ramp, (ramp * 255).astype(np.uint8), (ramp * 65535).astype(np.uint16), Scan(ramp, "ramp", 32)):
        out = processor.preprocess(image)
        assert out.shape == (1, 64, 64) and out.dtype == torch.float32
        assert -1.0 <= float(out.min()) < float(out.max()) <= 1.0


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((50, 60, 3), np.uint8), "2-D greyscale"),
        (np.full((50, 60), np.nan, np.float32), "NaN"),
        (np.full((50, 60), 2.0, np.float32), r"must lie in \[0, 1\]"),
        (np.zeros((4, 60), np.float32), "too small"),
        (np.zeros((50, 60), np.int64), "uint8, uint16 or float"),
        ("scan.png", "Scan or a numpy array"),
    ],
)
def test_preprocess_refuses_what_is_not_a_bscan(image, message):
    with pytest.raises(ProcessorError, match=message):
        make_processor().preprocess(image)


def test_preprocess_real_scans():
    processor = RetinaVLMProcessor(train_tokenizer(), DEFAULT_IMAGE_TOKEN, 36, 192, 0.5, 0.5, 512)
    for path in kermany_scans(4):
        out = processor.preprocess(read_scan(path))
        assert out.shape == (1, 192, 192) and torch.isfinite(out).all()
        assert float(out.std()) > 0.05  # real retinal structure survived the crop
