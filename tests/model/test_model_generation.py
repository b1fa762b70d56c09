"""`generate_batched`: the one batched generation loop gives exactly what batch-by-batch `model.generate` gives."""

import pytest
import torch
from model_testing import tiny_config

from retinavlm.model.config import EncoderConfig
from retinavlm.model.generation import generate_batched, generate_in_batches
from retinavlm.model.vlm import RetinaVLM


@pytest.fixture(scope="module")
def model(tokenizer):
    return RetinaVLM.from_config(tiny_config(encoder=EncoderConfig(image_size=32)), tokenizer=tokenizer, device="cpu")


@pytest.fixture(scope="module")
def images():
    torch.manual_seed(0)
    return [torch.rand(1, 32, 32) for _ in range(5)]


def test_same_answers_as_generate_batch_by_batch(model, images):
    prompts = [f"<image> Question {i}?" for i in range(len(images))]
    expected = model.generate(torch.stack(images[:2]), prompts[:2], max_new_tokens=5)
    expected += model.generate(torch.stack(images[2:4]), prompts[2:4], max_new_tokens=5)
    expected += model.generate(torch.stack(images[4:]), prompts[4:], max_new_tokens=5)
    assert generate_batched(model, iter(images), prompts, batch_size=2, max_new_tokens=5) == expected


def test_one_prompt_for_every_image(model, images):
    prompt = "<image> Describe the scan."
    expected = model.generate(torch.stack(images), [prompt] * len(images), max_new_tokens=4)
    assert generate_batched(model, images, prompt, batch_size=8, max_new_tokens=4) == expected


class RecordingModel:
    def __init__(self):
        self.calls: list[tuple[int, list[str]]] = []

    def generate(self, pixels, prompts, max_new_tokens):
        self.calls.append((pixels.shape[0], prompts))
        return [f"{p}:{max_new_tokens}" for p in prompts]


def test_batches_in_input_order_and_reads_images_lazily():
    read: list[int] = []

    def lazy(n):
        for i in range(n):
            read.append(i)
            yield torch.zeros(1, 4, 4)

    fake = RecordingModel()
    answers = generate_batched(fake, lazy(7), [str(i) for i in range(7)], batch_size=3, max_new_tokens=9)
    assert answers == [f"{i}:9" for i in range(7)]
    assert [size for size, _ in fake.calls] == [3, 3, 1]
    assert read == list(range(7))


def test_each_batch_is_yielded_before_the_next_batch_is_read():
    read: list[int] = []

    def lazy(n):
        for i in range(n):
            read.append(i)
            yield torch.zeros(1, 4, 4)

    batches = generate_in_batches(RecordingModel(), lazy(5), [str(i) for i in range(5)], batch_size=2, max_new_tokens=1)
    seen = [(answers, list(read)) for answers in batches]
    assert seen == [(["0:1", "1:1"], [0, 1]), (["2:1", "3:1"], [0, 1, 2, 3]), (["4:1"], [0, 1, 2, 3, 4])]


def test_refuses_a_prompt_count_that_does_not_match_the_images():
    with pytest.raises(ValueError):
        generate_batched(RecordingModel(), [torch.zeros(1, 4, 4)] * 3, ["a", "b"], batch_size=2, max_new_tokens=1)


@pytest.mark.parametrize("batch_size, max_new_tokens", [(0, 4), (2, 0)])
def test_refuses_empty_batches_or_answers(batch_size, max_new_tokens):
    with pytest.raises(ValueError, match="at least 1"):
        generate_batched(RecordingModel(), [], "p", batch_size=batch_size, max_new_tokens=max_new_tokens)
    with pytest.raises(ValueError, match="at least 1"):  # when called, not at the first batch
        generate_in_batches(RecordingModel(), [], "p", batch_size=batch_size, max_new_tokens=max_new_tokens)
