"""`generate_batched`: the one batched generation loop gives exactly what batch-by-batch `model.generate` gives;
`answer_each_scan`: several questions per scan, the scan encoded once, the same answers as one pair at a time."""

import pytest
import torch
from model_testing import tiny_config

from retinavlm.model.config import EncoderConfig
from retinavlm.model.generation import answer_each_scan, generate_batched, generate_in_batches
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


QUESTIONS = [
    ["<image> Stage?", "<image> Is there drusen?", "<image> Referral?"],
    [],
    ["<image> Stage?"],
    ["<image> X?"] * 2,
]


def test_each_scans_questions_get_the_answers_of_asking_them_one_pair_at_a_time(model, images):
    pairs = [(image, q) for image, mine in zip(images, QUESTIONS) for q in mine]
    one_by_one = [model.generate(image[None], [q], max_new_tokens=5)[0] for image, q in pairs]
    answers = answer_each_scan(model, iter(images[: len(QUESTIONS)]), QUESTIONS, batch_size=4, max_new_tokens=5)
    assert [len(mine) for mine in answers] == [len(mine) for mine in QUESTIONS]
    assert [a for mine in answers for a in mine] == one_by_one


class EncodingCounter(RecordingModel):
    def __init__(self):
        super().__init__()
        self.encoded: list[int] = []

    def inference_features(self, pixels):
        self.encoded.append(len(pixels))
        return torch.zeros(len(pixels), 1)

    def generate(self, pixels, prompts, max_new_tokens, image_features):
        assert pixels is None and len(image_features) == len(prompts)
        self.calls.append((len(prompts), prompts))
        return [f"{p}:{max_new_tokens}" for p in prompts]


def test_a_batch_holds_whole_scans_and_each_scan_is_encoded_once():
    fake = EncodingCounter()
    answers = answer_each_scan(fake, [torch.zeros(1, 4, 4)] * 4, QUESTIONS, batch_size=3, max_new_tokens=2)
    assert answers == [[f"{q}:2" for q in mine] for mine in QUESTIONS]
    # a scan with no question joins a full batch; the next scan's question would overfill it and opens the next
    assert fake.encoded == [2, 2] and [size for size, _ in fake.calls] == [3, 3]
    fake = EncodingCounter()
    answer_each_scan(fake, [torch.zeros(1, 4, 4)] * 4, QUESTIONS, batch_size=1, max_new_tokens=2)
    assert [size for size, _ in fake.calls] == [3, 1, 2]  # a scan with more questions than a batch is never split


def test_answer_each_scan_refuses_empty_batches_and_mismatched_lists():
    with pytest.raises(ValueError, match="at least 1"):
        answer_each_scan(EncodingCounter(), [], [], batch_size=0, max_new_tokens=1)
    with pytest.raises(ValueError):
        answer_each_scan(EncodingCounter(), [torch.zeros(1, 4, 4)] * 2, [["q"]], batch_size=2, max_new_tokens=1)
