"""GPU smoke test at full scale: a Llama-3-8B-shaped model through the whole VLM in 4-bit NF4 + LoRA.

    python benchmarks/gpu_smoke_8b.py                  # writes benchmarks/results/gpu_smoke_8b.json
    python benchmarks/gpu_smoke_8b.py --work-dir /big  # where the 16 GB bf16 base model is saved

No weights are downloaded: a randomly initialised model with Llama-3-8B's shapes (128256-token
vocabulary, 32 layers, width 4096, GQA 32/8 heads) is built on the GPU, saved locally as bf16
safetensors, then loaded back the way a real Llama 3 folder is (`llm.path`, 4-bit NF4 with double
quantization, LoRA), behind the published ResNet-50 encoder. It records peak GPU memory after
loading, after a training step and after batched generation. Without CUDA it says so and exits 0.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch

RESULTS = Path(__file__).resolve().parent / "results" / "gpu_smoke_8b.json"
PACKAGES = ("torch", "transformers", "peft", "bitsandbytes", "accelerate")
LLAMA3_8B = dict(
    vocab_size=128256,
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    max_position_embeddings=8192,
    rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
)
PROMPT = "<image>\nWrite the report for this OCT B-scan."
ANSWER = "Large drusen and a drusenoid PED; no fluid. Intermediate AMD. Routine referral."


def gib(n_bytes: int) -> float:
    return round(n_bytes / 2**30, 2)


def save_random_llama(folder: Path, tokenizer) -> None:
    """Random Llama-3-8B-shaped weights in bf16, initialised on the GPU and saved as safetensors."""
    from transformers import LlamaConfig, LlamaForCausalLM

    vocab = tokenizer.get_vocab()
    config = LlamaConfig(
        **LLAMA3_8B,
        bos_token_id=vocab["<|begin_of_text|>"],
        eos_token_id=[vocab["<|eot_id|>"], vocab["<|end_of_text|>"]],
        pad_token_id=tokenizer.pad_token_id,
    )
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)  # build in bf16 directly: fp32 first would need 32 GB
    try:
        with torch.device("cuda"):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(default_dtype)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    del model
    gc.collect()
    torch.cuda.empty_cache()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work-dir", type=Path, help="folder for the saved bf16 base model (default: a temp folder)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("skipped: no CUDA device; this smoke test needs a GPU (nothing was measured or written)")
        return 0

    from retinavlm.atomic import write_json
    from retinavlm.model.config import AdapterConfig, EncoderConfig, LLMConfig, LoraSettings, RetinaVLMConfig
    from retinavlm.model.tokenizer import train_tokenizer
    from retinavlm.model.vlm import RetinaVLM

    record: dict = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join(["python", *sys.argv]),
        "gpu": torch.cuda.get_device_name(0),
        "gpu_memory_gib": gib(torch.cuda.get_device_properties(0).total_memory),
        "versions": {name: importlib.metadata.version(name) for name in PACKAGES},
    }
    tokenizer = train_tokenizer()
    with tempfile.TemporaryDirectory(dir=args.work_dir) as work:
        base = Path(work) / "llama3-8b-random"
        start = time.perf_counter()
        save_random_llama(base, tokenizer)
        record["save_bf16_s"] = round(time.perf_counter() - start, 1)
        record["base_folder_gib"] = gib(sum(p.stat().st_size for p in base.iterdir()))

        config = RetinaVLMConfig(
            encoder=EncoderConfig(name="resnet50", image_size=192),
            adapter=AdapterConfig(kind="linear"),
            llm=LLMConfig(path=str(base), quantization="4bit", dtype="bfloat16", lora=LoraSettings()),
        )
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        model = RetinaVLM.from_config(config, device="cuda")
        record["load_4bit_s"] = round(time.perf_counter() - start, 1)
        record["peak_gib_after_load"] = gib(torch.cuda.max_memory_allocated())
        layer = model.llm.get_base_model().model.layers[0].self_attn.q_proj.base_layer
        record["quantized_layer"] = f"{type(layer).__module__}.{type(layer).__name__}"

        pixels = torch.randn(args.batch_size, 1, 192, 192)
        batch = model.processor([PROMPT] * args.batch_size, images=pixels, answers=[ANSWER] * args.batch_size)
        model.trainable_parts(encoder=False, adapter=True, lora=True)
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        model.train()
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        torch.cuda.synchronize()
        record["train_step"] = {
            "batch_size": args.batch_size,
            "loss": round(loss.item(), 4),
            "seconds": round(time.perf_counter() - start, 2),
            "peak_gib": gib(torch.cuda.max_memory_allocated()),
        }

        model.eval()
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        reports = model.generate(pixels, [PROMPT] * args.batch_size, max_new_tokens=args.new_tokens)
        torch.cuda.synchronize()
        record["generate"] = {
            "batch_size": args.batch_size,
            "max_new_tokens": args.new_tokens,
            "seconds": round(time.perf_counter() - start, 2),
            "peak_gib": gib(torch.cuda.max_memory_allocated()),
            "reports_returned": len(reports),
        }
    write_json(args.out, record)
    print(record)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
