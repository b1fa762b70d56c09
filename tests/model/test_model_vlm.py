"""The VLM's acceptance tests on CPU: forward, backward and generate for the tiny model in fp32 and in
4-bit NF4 with LoRA; what an optimizer step may and may not touch; learning from pixels; streaming."""

import bitsandbytes as bnb
import pytest
import torch
from model_testing import tiny_4bit_config, tiny_config
from transformers import TextStreamer

from retinavlm.errors import ConfigError
from retinavlm.model.adapter import pool_grid
from retinavlm.model.config import AdapterConfig, EncoderConfig
from retinavlm.model.vlm import RetinaVLM

PROMPT = "<image>\nWrite the report."
SIZE = 64  # resnet_tiny: 2 x 2 visual tokens; keeps the CPU tests fast


def small(config_factory=tiny_config, **overrides):
    overrides.setdefault("encoder", EncoderConfig(image_size=SIZE))
    return RetinaVLM.from_config(config_factory(**overrides), device="cpu")


def two_scans() -> torch.Tensor:
    dark = torch.full((1, SIZE, SIZE), -1.0)
    ramp = torch.linspace(-1, 1, SIZE).expand(1, SIZE, SIZE).clone()
    return torch.stack([dark, ramp])


def training_batch(model, answers=("Large drusen. Refer routinely.", "Healthy retina. No referral.")):
    return model.processor([PROMPT] * len(answers), images=two_scans(), answers=list(answers), padding_side="right")


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def step(model, batch, lr=1e-2):
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=lr)
    model.train()
    out = model(**batch)
    out.loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return out


def test_fp32_step_moves_only_what_trains_and_keeps_a_frozen_encoder_in_eval():
    model = small()
    model.trainable_parts(encoder=False, adapter=True, lora=False, llm=True)
    model.train()
    assert model.training and not model.encoder.training  # BatchNorm statistics stay put
    encoder, adapter, llm = snapshot(model.encoder), snapshot(model.adapter), snapshot(model.llm)
    out = step(model, training_batch(model))
    assert torch.isfinite(out.loss) and out.logits.shape[:2] == training_batch(model)["input_ids"].shape
    after = model.encoder.state_dict()
    assert all(torch.equal(encoder[k], after[k]) for k in encoder)  # incl. BatchNorm running stats
    assert all(not torch.equal(adapter[k], v) for k, v in model.adapter.state_dict().items())
    assert not torch.equal(
        llm["model.layers.0.self_attn.q_proj.weight"], model.llm.state_dict()["model.layers.0.self_attn.q_proj.weight"]
    )


def test_a_trainable_encoder_trains():
    model = small()
    model.trainable_parts(encoder=True, adapter=True, lora=False, llm=False)
    before_encoder, before_llm = snapshot(model.encoder), snapshot(model.llm)
    step(model, training_batch(model))
    assert not torch.equal(
        before_encoder["backbone.embedder.embedder.convolution.weight"],
        model.encoder.backbone.embedder.embedder.convolution.weight,
    )
    assert all(torch.equal(before_llm[k], v) for k, v in model.llm.state_dict().items())


def test_4bit_nf4_double_quant_with_lora_forward_backward_step_and_generate():
    model = small(tiny_4bit_config)
    layer = model.llm.get_base_model().model.layers[0].self_attn.q_proj.base_layer
    assert isinstance(layer, bnb.nn.Linear4bit)
    assert layer.weight.quant_state.quant_type == "nf4" and layer.weight.quant_state.nested  # double quantization
    model.trainable_parts(encoder=False, adapter=True, lora=True)
    base = {k: v for k, v in snapshot(model.llm).items() if "lora_" not in k}
    lora_b = {k: v for k, v in snapshot(model.llm).items() if "lora_B" in k}
    assert lora_b and all(float(v.abs().sum()) == 0 for v in lora_b.values())  # LoRA starts as a no-op
    out = step(model, training_batch(model))
    assert torch.isfinite(out.loss)
    now = model.llm.state_dict()
    assert all(torch.equal(base[k], now[k]) for k in base)  # packed 4-bit weights and quant states untouched
    assert all(float(now[k].abs().sum()) > 0 for k in lora_b)
    reports = model.generate(two_scans(), [PROMPT] * 2, max_new_tokens=6)
    assert len(reports) == 2 and all(isinstance(r, str) for r in reports)


def test_8bit_loads_as_int8_layers_and_generates():
    model = small(llm={"quantization": "8bit"})
    assert isinstance(model.llm.model.layers[0].mlp.up_proj, bnb.nn.Linear8bitLt)
    assert len(model.generate(two_scans(), [PROMPT] * 2, max_new_tokens=3)) == 2


def test_greedy_generation_is_deterministic_and_padding_does_not_change_logits():
    model = small()
    scans = two_scans()
    assert model.generate(scans, [PROMPT] * 2, max_new_tokens=8) == model.generate(
        scans, [PROMPT] * 2, max_new_tokens=8
    )
    prompts = [PROMPT, "<image>\nA much longer question about this scan, with more words?"]
    left = model.processor(prompts, images=scans, padding_side="left")
    right = model.processor(prompts, images=scans, padding_side="right")
    alone = model.processor(prompts[:1], images=scans[:1])
    with torch.no_grad():
        logits_left = model(**left).logits
        logits_right = model(**right).logits
        logits_alone = model(**alone).logits
    n = alone["input_ids"].shape[1]
    torch.testing.assert_close(logits_left[0, -n:], logits_alone[0], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(logits_right[0, :n], logits_alone[0], rtol=1e-4, atol=1e-4)


def test_it_learns_from_pixels_stops_at_end_of_turn_and_streams():
    """Two scans, two reports: after training, each scan gets its own report, swapped scans swap them."""
    torch.manual_seed(0)
    model = small()
    model.trainable_parts(encoder=False, adapter=True, lora=False, llm=True)
    answers = ("Large drusen. Refer routinely.", "Healthy retina. No referral.")
    batch = training_batch(model, answers)
    with torch.no_grad():
        features = model.encode_images(batch.pop("pixel_values"))  # a frozen encoder's feature cache
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=3e-3)
    model.train()
    for _ in range(150):  # ~50 steps usually; the tokenizer follows the knowledge base's vocabulary, so it varies
        loss = model(**batch, image_features=features).loss
        if loss.item() < 0.05:
            break
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert loss.item() < 0.05
    scans = two_scans()
    assert model.generate(scans, [PROMPT] * 2, max_new_tokens=40) == list(answers)  # stopped at <|eot_id|>
    assert model.generate(scans.flip(0), [PROMPT] * 2, max_new_tokens=40) == list(reversed(answers))

    class Collect(TextStreamer):
        def on_finalized_text(self, text, stream_end=False):
            pieces.append(text)

    pieces: list[str] = []
    streamed = model.generate(
        scans[:1], [PROMPT], max_new_tokens=40, streamer=Collect(model.processor.tokenizer, skip_special_tokens=True)
    )
    assert "".join(pieces).strip() == streamed[0] == answers[0]


def test_cached_image_features_give_the_same_logits_as_pixels():
    model = small()
    batch = training_batch(model)
    with torch.no_grad():
        features = model.encode_images(batch["pixel_values"])
        assert features.shape == (2, model.encoder.num_tokens, model.encoder.dim)
        from_pixels = model(**batch).logits
        cached = {k: v for k, v in batch.items() if k != "pixel_values"}
        from_cache = model(**cached, image_features=features).logits
    assert torch.equal(from_pixels, from_cache)


def test_image_token_mismatches_fail_clearly():
    model = small()
    batch = training_batch(model)
    ids = batch["input_ids"].clone()
    ids[0, (ids[0] == model.processor.image_token_id).nonzero()[0]] = model.processor.tokenizer.pad_token_id
    with pytest.raises(ValueError, match=r"image token counts per sequence \[3, 4\] do not match the 4 visual tokens"):
        model(ids, batch["attention_mask"], pixel_values=batch["pixel_values"])
    with pytest.raises(ValueError, match="neither pixel_values nor image_features"):
        model(batch["input_ids"], batch["attention_mask"])
    with pytest.raises(ValueError, match="1 images for 2 sequences"):
        model(batch["input_ids"], batch["attention_mask"], pixel_values=batch["pixel_values"][:1])


def test_pooling_averages_each_block_of_the_token_grid():
    tokens = torch.arange(16.0).reshape(1, 16, 1)  # a 4 x 4 grid, row-major, one channel
    assert pool_grid(tokens, (4, 4), 2).flatten().tolist() == [2.5, 4.5, 10.5, 12.5]
    assert pool_grid(tokens, (4, 4), 1) is tokens


def test_a_pool_that_does_not_fit_is_refused():
    with pytest.raises(ValueError, match=r"adapter.pool=3 does not divide the encoder's 4x4 token grid"):
        small(encoder=EncoderConfig(name="resnet_tiny_s16", image_size=SIZE), adapter=AdapterConfig(pool=3))
    with pytest.raises(ConfigError, match="adapter.pool"):
        small(adapter=AdapterConfig(kind="resampler", pool=2))
    with pytest.raises(ConfigError, match="adapter.pool"):
        small(adapter=AdapterConfig(pool=0))


def test_trainable_parts_refuses_what_cannot_train():
    with pytest.raises(ValueError, match="has no LoRA"):
        small().trainable_parts(encoder=False, adapter=True, lora=True)
    with pytest.raises(ValueError, match="quantized LLM weights cannot be trained"):
        small(tiny_4bit_config).trainable_parts(encoder=False, adapter=True, lora=True, llm=True)


@pytest.mark.parametrize(
    ("encoder", "adapter", "tokens"),
    [
        (EncoderConfig(name="vit_tiny", image_size=SIZE), AdapterConfig(kind="linear"), 4),
        (EncoderConfig(image_size=SIZE), AdapterConfig(kind="resampler", num_queries=6, num_heads=4), 6),
        (EncoderConfig(name="resnet_tiny_s16", image_size=SIZE), AdapterConfig(kind="mlp", pool=2), 4),
    ],
)
def test_other_encoders_and_adapters(encoder, adapter, tokens):
    model = small(encoder=encoder, adapter=adapter)
    assert model.num_image_tokens == tokens
    batch = training_batch(model)
    assert (batch["input_ids"] == model.processor.image_token_id).sum() == 2 * tokens
    out = model(**batch)
    out.loss.backward()
    assert torch.isfinite(out.loss)


def test_next_token_logits_are_the_first_step_of_greedy_decoding_from_encoder_features():
    model = small()
    model.train()  # the call evaluates in eval mode and gives the mode back
    scans = two_scans()
    prompts = [PROMPT, "<image>\nA much longer question about this scan, with more words?"]
    features = model.inference_features(scans)
    logits = model.next_token_logits(prompts, features)
    assert model.training and logits.shape == (2, model.llm.config.vocab_size)
    batch = model.processor(prompts, images=scans, padding_side="left")
    with torch.no_grad():
        model.eval()
        full = model(**batch).logits[:, -1].float()
    torch.testing.assert_close(logits, full)
    # features stand in for pixels: the same answers either way
    assert model.generate(None, prompts, max_new_tokens=5, image_features=features) == model.generate(
        scans, prompts, max_new_tokens=5
    )
