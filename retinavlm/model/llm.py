"""The language model: a local Llama 3 folder in bf16 / 8-bit / 4-bit NF4 (bitsandbytes), or the tiny
Llama built here from a `LlamaConfig`; LoRA (peft) on chosen modules.

Nothing is downloaded: a path must be a local folder, and remote code is never trusted.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import (
    AutoModelForCausalLM,
    BitsAndBytesConfig,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.utils import logging as hf_logging

from retinavlm.errors import RetinaVLMError
from retinavlm.model.config import LLMConfig, LoraSettings
from retinavlm.model.tokenizer import BEGIN_OF_TEXT, END_OF_TEXT, END_OF_TURN


class LLMLoadError(RetinaVLMError):
    """A language model folder is missing, incomplete or cannot be loaded as asked."""


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Hide loading progress bars and load reports, which would bury the toolkit's one-line messages."""
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def torch_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def quantization_config(kind: str | None, compute_dtype: torch.dtype) -> BitsAndBytesConfig | None:
    if kind is None:
        return None
    if kind == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
    )


def build_tiny_llm(config: LLMConfig, tokenizer: PreTrainedTokenizerBase) -> LlamaForCausalLM:
    """A randomly initialised Llama-architecture model sized to the tokenizer (Llama 3 special ids)."""
    vocab = tokenizer.get_vocab()
    llama = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        num_key_value_heads=config.num_key_value_heads,
        max_position_embeddings=config.max_position_embeddings,
        rope_parameters={"rope_type": "default", "rope_theta": config.rope_theta},
        bos_token_id=vocab[BEGIN_OF_TEXT],
        eos_token_id=[vocab[END_OF_TURN], vocab[END_OF_TEXT]],
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    return LlamaForCausalLM(llama).to(torch_dtype(config.dtype))


def quantize_via_folder(model: PreTrainedModel, config: LLMConfig, device: str) -> PreTrainedModel:
    """Quantize an in-memory model the way a real one is: save it, load it back through bitsandbytes."""
    with tempfile.TemporaryDirectory(prefix="retinavlm-llm-") as folder, quiet_transformers():
        model.save_pretrained(folder)
        return load_llm(folder, config.quantization, config.dtype, device)


def load_llm(path: str | os.PathLike, quantization: str | None, dtype: str, device: str) -> PreTrainedModel:
    """Load a causal LM from a local folder; a folder saved already quantized keeps its quantization."""
    path = Path(path)
    config_file = path / "config.json"
    if not path.is_dir():
        raise LLMLoadError(f"{path}: language model folder not found")
    if not config_file.is_file():
        raise LLMLoadError(f"{path}: not a Hugging Face model folder (no config.json)")
    try:
        prequantized = "quantization_config" in json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LLMLoadError(f"{config_file}: unreadable ({exc})") from None
    compute_dtype = torch_dtype(dtype)
    options = {"dtype": compute_dtype, "device_map": {"": device}}
    if quantization is not None and not prequantized:
        # Passing quantization_config=None would make transformers ignore a saved quantized state.
        options["quantization_config"] = quantization_config(quantization, compute_dtype)
    try:
        with quiet_transformers():
            return AutoModelForCausalLM.from_pretrained(
                str(path), local_files_only=True, use_safetensors=True, trust_remote_code=False, **options
            )
    except (OSError, ValueError, RuntimeError, KeyError) as exc:  # transformers' report on the folder, converted here
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LLMLoadError(f"{path}: cannot load the language model ({first_line})") from None


def add_lora(model: PreTrainedModel, settings: LoraSettings) -> PeftModel:
    """Wrap with LoRA; peft freezes every base weight and leaves only the LoRA matrices trainable."""
    config = LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=list(settings.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            return get_peft_model(model, config)
    except ValueError as exc:  # peft's report on the LoRA settings (e.g. target modules the model lacks)
        raise LLMLoadError(f"LoRA: {str(exc).splitlines()[0]}") from None


def base_model(llm: PreTrainedModel | PeftModel) -> PreTrainedModel:
    return llm.get_base_model() if isinstance(llm, PeftModel) else llm


def is_quantized(llm: PreTrainedModel | PeftModel) -> bool:
    return getattr(base_model(llm), "hf_quantizer", None) is not None


def base_state_dict(llm: PreTrainedModel | PeftModel) -> dict[str, torch.Tensor]:
    """The base model's weights (quantized ones in bitsandbytes' serialised form), LoRA left out."""
    state = base_model(llm).state_dict()
    return {k.replace(".base_layer.", "."): v.contiguous() for k, v in state.items() if ".lora_" not in k}
