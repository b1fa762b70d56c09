import json
import shutil

import pytest
import torch
from model_testing import other_knowledge_dir, tiny_4bit_config, tiny_config
from safetensors.torch import save_file

from retinavlm.errors import RetinaVLMError
from retinavlm.knowledge import load_knowledge
from retinavlm.model.checkpoint import MANIFEST, CheckpointError, KnowledgeMismatchError, _fingerprint
from retinavlm.model.config import EncoderConfig, LLMConfig, LoraSettings, RetinaVLMConfig
from retinavlm.model.llm import build_tiny_llm
from retinavlm.model.vlm import RetinaVLM

SIZE = 64


def scans():
    return torch.stack([torch.full((1, SIZE, SIZE), -1.0), torch.linspace(-1, 1, SIZE).expand(1, SIZE, SIZE).clone()])


def batch(model):
    return model.processor(
        ["<image>\nReport."] * 2, images=scans(), answers=["Drusen.", "Healthy."], padding_side="right"
    )


def trained(model):
    """One optimizer step, so every trained part differs from its initialisation."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    model(**batch(model)).loss.backward()
    optimizer.step()
    return model.eval()


def logits(model):
    with torch.no_grad():
        return model(**batch(model)).logits


def build(config: RetinaVLMConfig) -> RetinaVLM:
    return RetinaVLM.from_config(config, device="cpu")


@pytest.mark.parametrize("make_config", [tiny_config, tiny_4bit_config], ids=["fp32", "4bit-lora"])
def test_save_then_load_reproduces_logits_exactly(make_config, tmp_path):
    model = build(make_config(encoder=EncoderConfig(image_size=SIZE)))
    if model.has_lora:
        model.trainable_parts(encoder=True, adapter=True, lora=True)
    trained(model)
    model.save_pretrained(tmp_path / "ckpt")
    loaded = RetinaVLM.from_pretrained(tmp_path / "ckpt", device="cpu")
    assert torch.equal(logits(loaded), logits(model))
    manifest = json.loads((tmp_path / "ckpt" / MANIFEST).read_text())
    assert manifest["knowledge_base"] == load_knowledge().version_tag
    assert ("lora.safetensors" in manifest["files"]) == model.has_lora
    assert loaded.generate(scans(), ["<image>\nReport."] * 2, max_new_tokens=5) == model.generate(
        scans(), ["<image>\nReport."] * 2, max_new_tokens=5
    )


def test_a_frozen_encoder_from_a_weights_file_is_referenced_not_copied(tmp_path):
    weights = tmp_path / "ssl_encoder.safetensors"
    save_file(build(tiny_config(encoder=EncoderConfig(image_size=SIZE))).encoder.state_dict(), str(weights))
    model = build(tiny_config(encoder=EncoderConfig(image_size=SIZE, weights=str(weights), freeze=True)))
    trained(model)
    model.save_pretrained(tmp_path / "ckpt")
    assert not (tmp_path / "ckpt" / "encoder.safetensors").exists()
    assert torch.equal(logits(RetinaVLM.from_pretrained(tmp_path / "ckpt", device="cpu")), logits(model))
    weights.unlink()
    with pytest.raises(CheckpointError, match="ssl_encoder.safetensors: encoder weights file not found"):
        RetinaVLM.from_pretrained(tmp_path / "ckpt", device="cpu")


def test_a_llama_loaded_by_path_is_referenced_with_its_lora(tmp_path, tokenizer):
    """The real-Llama flow, with the tiny model standing in for Llama-3-8B-Instruct: 4-bit + LoRA by path."""
    base = tmp_path / "llama"
    llm_sizes = tiny_config().llm
    build_tiny_llm(llm_sizes, tokenizer).save_pretrained(base)
    tokenizer.save_pretrained(base)
    config = RetinaVLMConfig(
        encoder=EncoderConfig(image_size=SIZE),
        llm=LLMConfig(path=str(base), quantization="4bit", lora=LoraSettings(r=4, alpha=8, dropout=0.0)),
    )
    model = build(config)
    model.trainable_parts(encoder=False, adapter=True, lora=True)
    trained(model)
    model.save_pretrained(tmp_path / "ckpt")
    assert not (tmp_path / "ckpt" / "llm").exists()
    assert json.loads((tmp_path / "ckpt" / MANIFEST).read_text())["base_llm"] == str(base)
    assert torch.equal(logits(RetinaVLM.from_pretrained(tmp_path / "ckpt", device="cpu")), logits(model))
    shutil.rmtree(base)
    with pytest.raises(CheckpointError, match="llama: language model folder not found"):
        RetinaVLM.from_pretrained(tmp_path / "ckpt", device="cpu")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model") / "ckpt"
    build(tiny_config(encoder=EncoderConfig(image_size=SIZE))).save_pretrained(folder)
    return folder


def copy_of(saved, tmp_path):
    return shutil.copytree(saved, tmp_path / "ckpt")


def test_truncated_file(saved, tmp_path):
    folder = copy_of(saved, tmp_path)
    data = (folder / "adapter.safetensors").read_bytes()
    (folder / "adapter.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(
        CheckpointError, match=r"adapter.safetensors: \d+ bytes, the checkpoint recorded \d+ \(truncated"
    ):
        RetinaVLM.from_pretrained(folder, device="cpu")


def test_corrupt_file_of_the_same_size(saved, tmp_path):
    folder = copy_of(saved, tmp_path)
    path = folder / "llm" / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="model.safetensors: contents differ from the checkpoint's checksum"):
        RetinaVLM.from_pretrained(folder, device="cpu")


def test_missing_pieces(saved, tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint folder not found"):
        RetinaVLM.from_pretrained(tmp_path / "nowhere", device="cpu")
    folder = copy_of(saved, tmp_path)
    (folder / "encoder.safetensors").unlink()
    with pytest.raises(CheckpointError, match="encoder.safetensors: missing from the checkpoint"):
        RetinaVLM.from_pretrained(folder, device="cpu")
    (folder / MANIFEST).unlink()
    with pytest.raises(CheckpointError, match="not a RetinaVLM checkpoint"):
        RetinaVLM.from_pretrained(folder, device="cpu")


def test_weights_that_do_not_match_the_config(saved, tmp_path):
    """A consistent manifest, but the config says `linear` where the weights are an MLP adapter."""
    folder = copy_of(saved, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["adapter"]["kind"] = "linear"
    (folder / "config.json").write_text(json.dumps(config))
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"]["config.json"] = _fingerprint(folder / "config.json")
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(
        CheckpointError, match=r"adapter.safetensors: does not match the model its config describes: .*missing key"
    ):
        RetinaVLM.from_pretrained(folder, device="cpu")


def test_saving_over_a_checkpoint_replaces_it_whole(saved, tmp_path):
    folder = copy_of(saved, tmp_path)
    (folder / "stray.txt").write_text("left from before")
    build(tiny_config(encoder=EncoderConfig(image_size=SIZE))).save_pretrained(folder)
    assert not (folder / "stray.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temporary folders left behind


def test_a_checkpoint_of_another_knowledge_base_is_refused_unless_forced(tmp_path):
    other = load_knowledge(other_knowledge_dir(tmp_path))
    assert other.version_tag != load_knowledge().version_tag
    model = RetinaVLM.from_config(tiny_config(encoder=EncoderConfig(image_size=SIZE)), device="cpu", knowledge=other)
    model.save_pretrained(tmp_path / "ckpt")
    manifest = json.loads((tmp_path / "ckpt" / MANIFEST).read_text())
    assert manifest["knowledge_base"] == other.version_tag
    assert RetinaVLM.from_pretrained(tmp_path / "ckpt", device="cpu", knowledge=other).knowledge_version == (
        other.version_tag
    )
    with pytest.raises(KnowledgeMismatchError) as refused:
        RetinaVLM.from_pretrained(tmp_path / "ckpt", device="cpu")
    message = str(refused.value)
    assert "\n" not in message and other.version_tag in message and "--force-knowledge" in message
    assert isinstance(refused.value, RetinaVLMError)
    with pytest.warns(UserWarning, match="trained under knowledge base"):
        forced = RetinaVLM.from_pretrained(tmp_path / "ckpt", device="cpu", force_knowledge=True)
    assert torch.equal(logits(forced), logits(model))
