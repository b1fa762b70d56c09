"""The fast paths give the plain paths' results: answer-only loss == HF loss, static greedy ids == generate's."""

from __future__ import annotations

import warnings

import pytest
import torch
from transformers import GenerationConfig

from retinavlm.model.config import LLMConfig, LoraSettings, RetinaVLMConfig
from retinavlm.model.tokenizer import train_tokenizer
from retinavlm.model.vlm import RetinaVLM

TINY_LLM = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=512,
)
PROMPTS = ["<image>\nDescribe the scan.", "<image>\nIs there subretinal fluid? Answer yes or no.", "<image>\nStage?"]
ANSWERS = ["Large drusen and a drusenoid PED.", "No.", "Intermediate AMD; routine referral."]


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer()


def build(tokenizer, quantization: str | None, dtype: str = "float32", device: str = "cpu") -> RetinaVLM:
    lora = LoraSettings(r=4, alpha=8, dropout=0.0) if quantization else None
    config = RetinaVLMConfig(llm=LLMConfig(quantization=quantization, dtype=dtype, lora=lora, **TINY_LLM))
    return RetinaVLM.from_config(config, tokenizer=tokenizer, device=device)


@pytest.fixture(scope="module", params=["fp32", "4bit"])
def model(request, tokenizer):
    torch.set_num_threads(1)
    return build(tokenizer, None if request.param == "fp32" else "4bit")


def training_batch(model: RetinaVLM) -> dict:
    pixels = torch.randn(len(PROMPTS), 1, 192, 192, generator=torch.Generator().manual_seed(0))
    return model.processor(PROMPTS, images=pixels, answers=ANSWERS, padding_side="right")


def trainable_grads(model: RetinaVLM, loss: torch.Tensor) -> list[torch.Tensor]:
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.autograd.grad(loss, params)


@pytest.mark.parametrize("chunk_tokens", [1024, 3])
def test_answer_only_loss_and_gradients_equal_the_full_logits_path(model, chunk_tokens):
    batch = training_batch(model)
    model.fast.loss_chunk_tokens = chunk_tokens
    plain = model(**batch)
    fast = model(**batch, return_logits=False)
    assert fast.logits is None and plain.logits is not None
    torch.testing.assert_close(fast.loss, plain.loss, rtol=1e-5, atol=1e-5)
    for g_fast, g_plain in zip(trainable_grads(model, fast.loss), trainable_grads(model, plain.loss), strict=True):
        torch.testing.assert_close(g_fast, g_plain, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("answer_only", [True, False])
def test_per_sequence_losses_equal_the_mean_over_each_answer(model, answer_only):
    batch = training_batch(model)
    model.fast.answer_only_loss = answer_only
    with torch.no_grad():
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        per_sequence = model(**batch, return_logits=False, loss_per_sequence=True).loss
    model.fast.answer_only_loss = True
    labels = batch["labels"][:, 1:]
    token_losses = torch.nn.functional.cross_entropy(
        logits[:, :-1].transpose(1, 2), labels, reduction="none", ignore_index=-100
    )
    mask = labels != -100
    torch.testing.assert_close(per_sequence, (token_losses * mask).sum(1) / mask.sum(1), rtol=1e-5, atol=1e-5)


def test_a_batch_without_answer_tokens_has_zero_loss(model):
    batch = training_batch(model)
    batch["labels"][:] = -100
    assert model(**batch, return_logits=False).loss.item() == 0.0
    per_sequence = model(**batch, return_logits=False, loss_per_sequence=True).loss
    assert per_sequence.shape == (len(PROMPTS),) and not per_sequence.any()


def plain_generate(model: RetinaVLM, embeds, mask, max_new_tokens: int, stops: list[int]) -> torch.Tensor:
    config = GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        eos_token_id=stops,
        pad_token_id=model.processor.tokenizer.pad_token_id,
    )
    return model.llm.generate(inputs_embeds=embeds, attention_mask=mask, generation_config=config)


def test_static_greedy_ids_equal_plain_generate_including_early_stops(model):
    prompts = PROMPTS[:2] + ["<image>\nWrite the full report for this OCT B-scan, please."]  # left padding differs
    batch = model.processor(prompts, images=torch.randn(3, 1, 192, 192, generator=torch.Generator().manual_seed(1)))
    pad = model.processor.tokenizer.pad_token_id
    with torch.no_grad():
        embeds = model.embed(batch["input_ids"], batch["pixel_values"])
        plain = plain_generate(model, embeds, batch["attention_mask"], 24, model.stop_token_ids)
        fast = model.greedy_decoder()(embeds, batch["attention_mask"], 24, model.stop_token_ids, pad)
        assert torch.equal(fast, plain)
        # Stop on a token row 0 first writes after step 0, so rows finish at different steps and get padded.
        row = plain[0].tolist()
        stop = next((t for k, t in enumerate(row) if k > 0 and t not in row[:k]), row[0])
        plain_stopped = plain_generate(model, embeds, batch["attention_mask"], 24, [stop])
        fast_stopped = model.greedy_decoder()(embeds, batch["attention_mask"], 24, [stop], pad)
    assert plain_stopped.shape[1] < 24 or (plain_stopped == pad).any()
    assert torch.equal(fast_stopped, plain_stopped)


def test_generate_text_is_the_same_with_and_without_the_static_cache(model):
    pixels = torch.randn(2, 1, 192, 192, generator=torch.Generator().manual_seed(2))
    model.fast.static_cache_generation = False
    plain = model.generate(pixels, PROMPTS[:2], max_new_tokens=12)
    model.fast.static_cache_generation = True
    assert model.generate(pixels, PROMPTS[:2], max_new_tokens=12) == plain


def test_static_cache_generation_raises_no_library_deprecation_warning(model):
    """Regression: the decoder was called with `past_key_values`, which transformers 5.x deprecates for `cache`."""
    pixels = torch.randn(1, 1, 192, 192, generator=torch.Generator().manual_seed(3))
    model.fast.static_cache_generation = True
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", DeprecationWarning)
        model.generate(pixels, PROMPTS[:1], max_new_tokens=4)


def test_quantized_bf16_model_keeps_embeddings_and_head_in_bf16(tokenizer):
    """prepare_model_for_kbit_training would upcast them to fp32 (2 GB each at Llama-3-8B size)."""
    model = build(tokenizer, "4bit", dtype="bfloat16")
    model.trainable_parts(encoder=False, adapter=True, lora=True)
    assert model.llm.get_input_embeddings().weight.dtype == torch.bfloat16
    assert model.llm.get_output_embeddings().weight.dtype == torch.bfloat16
    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(**training_batch(model), return_logits=False).loss
    loss.backward()
    assert torch.isfinite(loss) and model.adapter.fc1.weight.grad is not None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: torch.compile + CUDA graphs decode step")
def test_compiled_decode_on_cuda_gives_plain_generate_ids(tokenizer):
    model = build(tokenizer, "4bit", dtype="bfloat16", device="cuda")
    model.fast.compile_decode = True
    batch = model.processor(PROMPTS, images=torch.randn(3, 1, 192, 192))
    with torch.no_grad():
        embeds = model.embed(batch["input_ids"], batch["pixel_values"])
        mask = batch["attention_mask"].cuda()
        plain = plain_generate(model, embeds, mask, 16, model.stop_token_ids)
        for _ in range(2):  # the second call replays the recorded graph
            fast = model.greedy_decoder()(
                embeds, mask, 16, model.stop_token_ids, model.processor.tokenizer.pad_token_id
            )
            assert torch.equal(fast, plain)
