"""Tiny model throughput on CPU: encoder, training steps and generation, fp32 and 4-bit NF4 + LoRA.

    python benchmarks/model_cpu.py                 # prints, writes benchmarks/results/model_cpu.json
    python benchmarks/model_cpu.py --threads 1 2   # torch intra-op thread counts to measure (default)

Timings on a shared machine move with its load: the load average is recorded before and after.
On an oversubscribed machine one thread per process can be many times faster than two.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch
from transformers.generation.streamers import BaseStreamer

from retinavlm.atomic import write_json
from retinavlm.model.config import LLMConfig, LoraSettings, RetinaVLMConfig
from retinavlm.model.vlm import RetinaVLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
from read_augment import environment

RESULTS = Path(__file__).resolve().parent / "results" / "model_cpu.json"
MODEL_PACKAGES = ("transformers", "tokenizers", "peft", "bitsandbytes", "accelerate")
PROMPT = "<image>\nWrite the report for this OCT B-scan."
ANSWER = (
    "There are large drusen beneath the RPE and a drusenoid pigment epithelial detachment. No subretinal "
    "or intraretinal fluid. Intermediate AMD. Routine referral."
)

CONFIGS = {
    "tiny_fp32": RetinaVLMConfig(),
    "tiny_4bit_lora": RetinaVLMConfig(llm=LLMConfig(quantization="4bit", lora=LoraSettings())),
}


class StepCounter(BaseStreamer):
    """Counts decoding steps (the first `put` is the prompt)."""

    def __init__(self) -> None:
        self.calls = 0

    def put(self, value) -> None:
        self.calls += 1

    def end(self) -> None:
        pass

    @property
    def steps(self) -> int:
        return max(self.calls - 1, 0)


def timed(fn, repeats: int) -> float:
    """Median seconds per call after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def bench(name: str, config: RetinaVLMConfig, batch_size: int, repeats: int, new_tokens: int) -> dict:
    torch.manual_seed(0)
    start = time.perf_counter()
    model = RetinaVLM.from_config(config, device="cpu")
    build_s = time.perf_counter() - start
    size = config.encoder.image_size
    pixels = torch.randn(batch_size, 1, size, size)
    batch = model.processor([PROMPT] * batch_size, images=pixels, answers=[ANSWER] * batch_size, padding_side="right")
    with torch.no_grad():
        features = model.encode_images(pixels)
    text_batch = {k: v for k, v in batch.items() if k != "pixel_values"}

    def train_step(**inputs):
        def run():
            optimizer.zero_grad()
            model(**inputs).loss.backward()
            optimizer.step()

        return run

    result = {
        "config": config.to_dict(),
        "visual_tokens": model.num_image_tokens,
        "sequence_length": int(batch["input_ids"].shape[1]),
        "parameters": sum(p.numel() for p in model.parameters()),
        "build_s": round(build_s, 3),
    }
    model.eval()
    with torch.no_grad():
        result["encoder_images_per_s"] = round(batch_size / timed(lambda: model.encode_images(pixels), repeats), 1)

    lora = model.has_lora
    model.trainable_parts(encoder=False, adapter=True, lora=lora, llm=not lora)
    result["trainable_parameters_frozen_encoder"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    seconds = timed(train_step(**text_batch, image_features=features), repeats)
    result["train_samples_per_s_cached_features"] = round(batch_size / seconds, 2)

    model.trainable_parts(encoder=True, adapter=True, lora=lora, llm=not lora)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    result["train_samples_per_s_with_encoder"] = round(batch_size / timed(train_step(**batch), repeats), 2)

    model.eval()
    for size_ in (1, batch_size):
        counter = StepCounter()
        start = time.perf_counter()
        model.generate(pixels[:size_], [PROMPT] * size_, max_new_tokens=new_tokens, streamer=counter)
        seconds = time.perf_counter() - start
        result[f"generate_batch{size_}"] = {
            "seconds": round(seconds, 3),
            "decode_steps": counter.steps,
            "steps_per_s": round(counter.steps / seconds, 1),
        }
    print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in result.items() if k != "config"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    env = environment()
    env["versions"].update({name: importlib.metadata.version(name) for name in MODEL_PACKAGES})
    load_before = os.getloadavg()
    results = {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        for name, config in CONFIGS.items():
            key = f"{name}_threads{threads}"
            results[key] = bench(key, config, args.batch_size, args.repeats, args.new_tokens)
    record = {
        **env,
        "command": " ".join(["python", *sys.argv]),
        "batch_size": args.batch_size,
        "max_new_tokens": args.new_tokens,
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "results": results,
    }
    write_json(args.out, record)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
