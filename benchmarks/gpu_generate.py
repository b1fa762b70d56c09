"""Report generation speed: the toolkit's static-cache greedy decoder against plain `generate`, in one process.

    python benchmarks/gpu_generate.py          # GPU: writes benchmarks/results/gpu_generate.json
    python benchmarks/gpu_generate.py --tiny   # CPU smoke run of the same code, tiny shapes

The same 4-bit NF4 + LoRA RetinaVLM (random Llama-3-8B-shaped LLM, ResNet-50 at 192: 36 visual tokens)
writes 200 new tokens after 36 visual + 60 prompt tokens, greedily, at batch 1 (tokens/s) and at
batch 16 (reports/minute). Plain: `llm.generate(inputs_embeds=...)` (dynamic cache). Toolkit:
`model.greedy_decoder()` (static cache; the decode step compiled with CUDA graphs on CUDA). The
generated token ids of both must be identical; the result records whether they are.
Without CUDA (and without --tiny) it says so and exits 0.
"""

from __future__ import annotations

import sys

import gpu_bench_common as common
import torch
from transformers import GenerationConfig


def load_model(folder, shapes: common.Shapes, device: str, tokenizer):
    from retinavlm.model.config import AdapterConfig, EncoderConfig, LLMConfig, LoraSettings, RetinaVLMConfig
    from retinavlm.model.vlm import RetinaVLM

    lora = LoraSettings(r=shapes.lora_r, alpha=2 * shapes.lora_r, dropout=0.05, target_modules=common.ALL_LINEAR)
    config = RetinaVLMConfig(
        encoder=EncoderConfig(name=shapes.encoder, image_size=shapes.image_size, freeze=True),
        adapter=AdapterConfig(kind="linear"),
        llm=LLMConfig(path=str(folder), quantization="4bit", dtype=shapes.dtype, lora=lora),
    )
    return RetinaVLM.from_config(config, tokenizer=tokenizer, device=device).eval()


def prompt_embeds(model, tokenizer, shapes: common.Shapes, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(batch)
    text = common.text_ids(tokenizer, batch, shapes.prompt_tokens, generator)
    input_ids = torch.cat(
        [common.visual_prefix(model.processor.image_token_id, batch, model.num_image_tokens), text], 1
    )
    pixels = torch.randn(batch, 1, shapes.image_size, shapes.image_size, generator=generator)
    with torch.no_grad():
        embeds = model.embed(input_ids, pixels)
    return embeds, torch.ones_like(input_ids).to(model.device)


def generated_tokens(ids: torch.Tensor, stop_ids: list[int]) -> int:
    """New tokens per row up to and including its first stop token (what a report costs)."""
    total = 0
    for row in ids.tolist():
        stops = [i for i, t in enumerate(row) if t in stop_ids]
        total += stops[0] + 1 if stops else len(row)
    return total


def compare(model, embeds, mask, new_tokens: int, repeats: int, device: str) -> dict:
    pad = model.processor.tokenizer.pad_token_id
    config = GenerationConfig(
        max_new_tokens=new_tokens, do_sample=False, eos_token_id=model.stop_token_ids, pad_token_id=pad
    )
    with torch.no_grad():
        plain_ids, _ = common.timed(
            device, lambda: model.llm.generate(inputs_embeds=embeds, attention_mask=mask, generation_config=config)
        )
        plain_runs = [
            common.timed(
                device, lambda: model.llm.generate(inputs_embeds=embeds, attention_mask=mask, generation_config=config)
            )[1]
            for _ in range(repeats)
        ]
        decoder = model.greedy_decoder()
        fast_ids, first_call = common.timed(
            device, lambda: decoder(embeds, mask, new_tokens, model.stop_token_ids, pad)
        )
        fast_runs = [
            common.timed(device, lambda: decoder(embeds, mask, new_tokens, model.stop_token_ids, pad))[1]
            for _ in range(repeats)
        ]
    tokens = generated_tokens(plain_ids, model.stop_token_ids)
    plain_s, fast_s = min(plain_runs), min(fast_runs)
    batch = embeds.shape[0]
    return {
        "batch_size": batch,
        "new_tokens_generated": tokens,
        "identical_token_ids": bool(plain_ids.shape == fast_ids.shape and torch.equal(plain_ids.cpu(), fast_ids.cpu())),
        "plain": {
            "seconds": round(plain_s, 3),
            "tokens_per_s": round(tokens / plain_s, 2),
            "reports_per_min": round(60 * batch / plain_s, 2),
        },
        "toolkit": {
            "seconds": round(fast_s, 3),
            "first_call_s": round(first_call, 2),
            "tokens_per_s": round(tokens / fast_s, 2),
            "reports_per_min": round(60 * batch / fast_s, 2),
        },
        "speedup": round(plain_s / fast_s, 3),
    }


def main() -> int:
    p = common.parser(__doc__)
    p.add_argument(
        "--repeats", type=int, default=3, help="timed calls per path after a warm-up call (the minimum is kept)"
    )
    p.add_argument(
        "--no-compile", action="store_true", help="static cache without torch.compile (to isolate its effect)"
    )
    args = p.parse_args()
    prepared = common.prepare(args)
    if prepared is None:
        return 0
    shapes, device, tokenizer, folder = prepared
    record = common.header(device, shapes)
    common.reset_peak(device)
    model = load_model(folder, shapes, device, tokenizer)
    model.fast.compile_decode = False if args.no_compile else None  # None: compiled on CUDA only
    record["peak_gib_after_load"] = common.peak_gib(device)
    record["compile_decode"] = device == "cuda" and not args.no_compile
    record["runs"] = {}
    for batch in (1, shapes.report_batch):
        embeds, mask = prompt_embeds(model, tokenizer, shapes, batch)
        common.reset_peak(device)
        result = compare(model, embeds, mask, shapes.new_tokens, args.repeats, device)
        result["peak_gib"] = common.peak_gib(device)
        record["runs"][f"batch_{batch}"] = result
        print(result, flush=True)
    one, many = record["runs"]["batch_1"], record["runs"][f"batch_{shapes.report_batch}"]
    record["ratios"] = {
        "batch_1_tokens_per_s": round(one["toolkit"]["tokens_per_s"] / one["plain"]["tokens_per_s"], 3),
        f"batch_{shapes.report_batch}_reports_per_min": round(
            many["toolkit"]["reports_per_min"] / many["plain"]["reports_per_min"], 3
        ),
        "all_token_ids_identical": one["identical_token_ids"] and many["identical_token_ids"],
    }
    out = common.write_result(args, "gpu_generate", record)
    print(
        f"batch 1: plain {one['plain']['tokens_per_s']} tok/s, toolkit {one['toolkit']['tokens_per_s']} tok/s "
        f"({record['ratios']['batch_1_tokens_per_s']}x)"
    )
    print(
        f"batch {shapes.report_batch}: plain {many['plain']['reports_per_min']} reports/min, toolkit "
        f"{many['toolkit']['reports_per_min']} reports/min ({many['speedup']}x); identical ids: "
        f"{record['ratios']['all_token_ids_identical']}"
    )
    print(f"wrote {out}")
    return 0 if record["ratios"]["all_token_ids_identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
