"""Shared set-up of gpu_train.py and gpu_generate.py: model shapes, the random Llama-3-8B-shaped base
folder (built once, reused), synthetic batches, memory and timing helpers, the result header.

`--tiny` runs the same code with tiny shapes on the CPU, so CI exercises the scripts.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch

RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = ("torch", "transformers", "peft", "bitsandbytes", "accelerate")
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class Shapes:
    """Model and batch sizes of one benchmark scale."""

    llama: dict
    encoder: str
    image_size: int
    batch_size: int
    text_tokens: int  # prompt + answer tokens after the visual tokens (training)
    answer_tokens: int  # of text_tokens, the ones with labels
    prompt_tokens: int  # generation prompt after the visual tokens
    new_tokens: int
    report_batch: int
    dtype: str = "bfloat16"
    lora_r: int = 16
    extra: dict = field(default_factory=dict)


FULL = Shapes(
    llama=dict(
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=8192,
        vocab_size=128256,
        rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
    ),
    encoder="resnet50",
    image_size=192,
    batch_size=12,
    text_tokens=144,
    answer_tokens=60,
    prompt_tokens=60,
    new_tokens=200,
    report_batch=16,
)
TINY = Shapes(
    llama=dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
    ),
    encoder="resnet_tiny",
    image_size=64,
    batch_size=2,
    text_tokens=24,
    answer_tokens=8,
    prompt_tokens=12,
    new_tokens=8,
    report_batch=2,
    lora_r=4,
)


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tiny", action="store_true", help="tiny shapes on the CPU: a smoke run of the same code (for CI)")
    p.add_argument(
        "--work-dir",
        type=Path,
        default=Path.home() / ".cache" / "retinavlm-bench",
        help="where the random base LLM folder is saved once and reused",
    )
    p.add_argument("--out", type=Path, help="result JSON (default: benchmarks/results/<name>[_tiny_cpu].json)")
    return p


def setup(args: argparse.Namespace) -> tuple[Shapes, str] | None:
    """The scale and device to run on, or None (after saying why) when the full run has no GPU."""
    if args.tiny:
        torch.manual_seed(0)
        return TINY, "cpu"
    if not torch.cuda.is_available():
        print(
            "skipped: no CUDA device; the full benchmark needs a GPU (nothing was measured or written). "
            "Use --tiny for a CPU smoke run."
        )
        return None
    torch.manual_seed(0)
    return FULL, "cuda"


def prepare(args: argparse.Namespace) -> tuple[Shapes, str, object, Path] | None:
    """`setup`, then the tokenizer and the base LLM folder every benchmark starts from; None: nothing to run."""
    chosen = setup(args)
    if chosen is None:
        return None
    shapes, device = chosen
    from retinavlm.model.tokenizer import train_tokenizer

    tokenizer = train_tokenizer()
    return shapes, device, tokenizer, base_llm_folder(args.work_dir, shapes, tokenizer, device, args.tiny)


def header(device: str, shapes: Shapes) -> dict:
    """Hardware, versions, date and command of a result file."""
    from retinavlm.host import cpu_model

    record = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join(["python", *sys.argv]),
        "device": torch.cuda.get_device_name(0) if device == "cuda" else f"CPU ({cpu_model()})",
        "cuda": torch.version.cuda if device == "cuda" else None,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in PACKAGES},
        "shapes": asdict(shapes),
    }
    if device == "cuda":
        record["gpu_memory_gib"] = gib(torch.cuda.get_device_properties(0).total_memory)
    return record


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def gib(n_bytes: float) -> float:
    return round(n_bytes / 2**30, 2)


def release(device: str) -> None:
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


def reset_peak(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(device: str) -> float | None:
    """Peak allocated memory since the last reset; None on the CPU (no allocator statistics)."""
    return gib(torch.cuda.max_memory_allocated()) if device == "cuda" else None


def timed(device: str, fn: Callable[[], object]) -> tuple[object, float]:
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return result, time.perf_counter() - start


def base_llm_folder(work_dir: Path, shapes: Shapes, tokenizer, device: str, tiny: bool) -> Path:
    """A random Llama-3-shaped bf16 model saved as safetensors, built once and reused."""
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = work_dir / ("llama3-tiny-random" if tiny else "llama3-8b-random")
    if (folder / "config.json").is_file() and any(folder.glob("model*.safetensors")):
        return folder
    vocab = tokenizer.get_vocab()
    config = LlamaConfig(
        **{"vocab_size": len(tokenizer), **shapes.llama},
        bos_token_id=vocab["<|begin_of_text|>"],
        eos_token_id=[vocab["<|eot_id|>"], vocab["<|end_of_text|>"]],
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)  # build in bf16 directly: fp32 first would need 32 GB for 8B
    try:
        with torch.device(device):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(default_dtype)
    from retinavlm.atomic import atomic_dir

    with atomic_dir(folder) as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
    del model
    release(device)
    return folder


def text_ids(tokenizer, batch: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """Random ordinary token ids: no special or added token (the image token among them), whichever list
    the installed transformers files it under."""
    special = set(tokenizer.all_special_ids) | set(tokenizer.get_added_vocab().values())
    ordinary = torch.tensor([i for i in range(len(tokenizer)) if i not in special])
    return ordinary[torch.randint(len(ordinary), (batch, length), generator=generator)]


def visual_prefix(image_token_id: int, batch: int, num_image_tokens: int) -> torch.Tensor:
    return torch.full((batch, num_image_tokens), image_token_id)


def write_result(args: argparse.Namespace, name: str, record: dict) -> Path:
    from retinavlm.atomic import write_json

    out = args.out or RESULTS / (f"{name}_tiny_cpu.json" if args.tiny else f"{name}.json")
    write_json(out, record)
    return out
