"""Shared-prefix packing: K questions about one scan in one row give each question's own loss exactly."""

import pytest
import torch
from model_testing import tiny_config
from test_model_vlm import SIZE, small, two_scans

from retinavlm.model.config import EncoderConfig
from retinavlm.model.loss import IGNORE_INDEX
from retinavlm.model.packing import (
    PADDING,
    PREFIX,
    pack_rows,
    question_index,
    segment_attention_mask,
    segment_positions,
)

QUESTIONS = [
    ("<image>\nIs there drusen?", "Yes, drusen is visible."),
    ("<image>\nWhat is the AMD stage?", "Intermediate AMD."),
    ("<image>\nRefer?", "Routine referral to a retina clinic within weeks."),
]


def unpacked_and_packed(model):
    """The same five questions, as five rows and as two packed rows (three about scan 0, two about scan 1)."""
    groups = [QUESTIONS, QUESTIONS[:2]]
    prompts = [q for g in groups for q, _ in g]
    answers = [a for g in groups for _, a in g]
    images = two_scans()
    features = model.encode_images(images).detach()
    rows = model.processor(prompts, answers=answers, padding_side="right", with_image=True)
    rows["image_features"] = features[[0, 0, 0, 1, 1]]
    encoded = model.processor.encode(prompts, answers)
    processor = model.processor
    packed = pack_rows([encoded[:3], encoded[3:]], processor.image_token_id, processor.tokenizer.pad_token_id)
    packed["image_features"] = features
    return rows, packed


@pytest.mark.parametrize("return_logits", [False, True])
def test_packed_rows_give_each_question_its_unpacked_loss_and_gradient(return_logits):
    model = small(tiny_config, encoder=EncoderConfig(image_size=SIZE))
    model.trainable_parts(encoder=False, adapter=True, lora=False, llm=True)
    rows, packed = unpacked_and_packed(model)
    assert packed["input_ids"].numel() < rows["input_ids"].numel()

    def loss_and_grad(batch):
        model.zero_grad()
        loss = model(**batch, return_logits=return_logits, loss_per_sequence=True).loss
        loss.mean().backward()
        return loss.detach(), torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad])

    unpacked_loss, unpacked_grad = loss_and_grad(rows)
    packed_loss, packed_grad = loss_and_grad(packed)
    assert packed_loss.shape == (5,)
    torch.testing.assert_close(packed_loss, unpacked_loss, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(packed_grad, unpacked_grad, rtol=1e-4, atol=1e-7)


def test_segments_see_the_prefix_and_themselves_only():
    segments = torch.tensor([[0, 0, 1, 1, 2, 2, 2, -1]])
    mask = segment_attention_mask(segments)[0, 0]
    assert mask[3].tolist() == [True, True, True, True, False, False, False, False]
    assert mask[6].tolist() == [True, True, False, False, True, True, True, False]
    assert mask[7].tolist() == [False] * 7 + [True]  # padding sees itself only: no empty row, no NaN
    assert segment_positions(segments)[0].tolist() == [0, 1, 2, 3, 2, 3, 4, 0]
    index, count = question_index(torch.tensor([[0, 1, 2, -1], [0, 0, 1, 1]]))
    assert count == 3 and index.tolist() == [[-1, 0, 1, -1], [-1, -1, 2, 2]]


def test_pack_rows_lays_out_prefix_segments_and_padding():
    image = 9
    rows = [([1, image, image, 5, 6], [IGNORE_INDEX] * 4 + [6]), ([1, image, image, 7], [IGNORE_INDEX] * 3 + [7])]
    packed = pack_rows([rows, rows[:1]], image, pad_token_id=0)
    assert packed["input_ids"].tolist() == [[1, image, image, 5, 6, 7], [1, image, image, 5, 6, 0]]
    assert packed["segment_ids"].tolist() == [[PREFIX] * 3 + [1, 1, 2], [PREFIX] * 3 + [1, 1, PADDING]]
    assert packed["labels"].tolist()[0] == [IGNORE_INDEX] * 4 + [6, 7]
    assert packed["attention_mask"].tolist() == [[1] * 6, [1] * 5 + [0]]


def test_rows_of_different_scans_or_without_an_image_are_refused():
    image = 9
    with pytest.raises(ValueError, match="differ from the group's first row"):
        pack_rows([[([1, image, 5], [-100, -100, 5]), ([2, image, 5], [-100, -100, 5])]], image, 0)
    with pytest.raises(ValueError, match="no image token"):
        pack_rows([[([1, 5], [-100, 5])]], image, 0)
    with pytest.raises(ValueError, match="trained with loss_per_sequence"):
        model = small(tiny_config, encoder=EncoderConfig(image_size=SIZE))
        _, packed = unpacked_and_packed(model)
        model(**packed, loss_per_sequence=False)
