"""Training throughput and memory: the toolkit's QLoRA path against the plain recipes, in one process.

    python benchmarks/gpu_train.py            # GPU: writes benchmarks/results/gpu_train.json
    python benchmarks/gpu_train.py --tiny     # CPU smoke run of the same code, tiny shapes

Model: a random Llama-3-8B-shaped LLM (built once under --work-dir as bf16 safetensors, reused), a
frozen single-channel ResNet-50 at 192x192 (36 visual tokens), a linear adapter; each sample has 36
visual + 144 text tokens of which the last 60 are the answer. Recipes (each loaded fresh, one after
the other; peak memory counted from before its load and, separately, from after it):

- plain_qlora: prepare_model_for_kbit_training + NF4 double-quant + gradient checkpointing + LoRA r=16
  on all linear layers + adapter, HF loss over full logits, encoder run every step;
- published_8bit: frozen 8-bit LLM, only the linear adapter trains;
- plain_bf16_lora: unquantized bf16 LLM + LoRA;
- toolkit_fast / toolkit_lean: RetinaVLM (4-bit NF4 + LoRA, bf16 embeddings and head, answer-only
  chunked LM head + loss, cached encoder features, SDPA), at --fast-batch and --lean-batch.

Without CUDA (and without --tiny) it says so and exits 0.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable

import gpu_bench_common as common
import torch
from torch import nn


class PlainVLM(nn.Module):
    """What a user writes without the toolkit: LLaVA-style splice, encoder every step, HF loss on full logits."""

    def __init__(self, encoder: nn.Module, adapter: nn.Module, llm: nn.Module, image_token_id: int):
        super().__init__()
        self.encoder, self.adapter, self.llm, self.image_token_id = encoder, adapter, llm, image_token_id

    def forward(self, input_ids, attention_mask, labels, pixel_values) -> torch.Tensor:
        with torch.no_grad():
            features = self.encoder(pixel_values)
        embeds = self.llm.get_input_embeddings()(input_ids)
        visual = self.adapter(features).to(embeds.dtype)
        embeds = embeds.masked_scatter((input_ids == self.image_token_id).unsqueeze(-1), visual)
        return self.llm(inputs_embeds=embeds, attention_mask=attention_mask, labels=labels).loss


def training_batch(
    tokenizer, image_token_id: int, num_image_tokens: int, batch: int, shapes: common.Shapes, device: str
):
    generator = torch.Generator().manual_seed(batch)
    text = common.text_ids(tokenizer, batch, shapes.text_tokens, generator)
    input_ids = torch.cat([common.visual_prefix(image_token_id, batch, num_image_tokens), text], dim=1)
    labels = input_ids.clone()
    labels[:, : input_ids.shape[1] - shapes.answer_tokens] = -100
    pixels = torch.randn(batch, 1, shapes.image_size, shapes.image_size, generator=generator)
    return {
        "input_ids": input_ids.to(device),
        "attention_mask": torch.ones_like(input_ids).to(device),
        "labels": labels.to(device),
        "pixel_values": pixels.to(device),
    }


def load_plain(folder, shapes: common.Shapes, device: str, tokenizer, kind: str) -> tuple[nn.Module, list]:
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    from retinavlm.model.encoder import create_encoder
    from retinavlm.model.llm import quiet_transformers

    quant = {
        "plain_qlora": BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        ),
        "published_8bit": BitsAndBytesConfig(load_in_8bit=True),
        "plain_bf16_lora": None,
    }[kind]
    options = {"quantization_config": quant} if quant else {}
    with quiet_transformers():
        llm = AutoModelForCausalLM.from_pretrained(
            str(folder),
            dtype=torch.bfloat16,
            device_map={"": device},
            local_files_only=True,
            use_safetensors=True,
            **options,
        )
    # peft 0.21 still calls transformers' gradient_checkpointing_* names, deprecated for activation_checkpointing_*
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*", category=FutureWarning)
        if kind == "plain_qlora":
            llm = prepare_model_for_kbit_training(
                llm, use_gradient_checkpointing=True, gradient_checkpointing_kwargs={"use_reentrant": False}
            )
        if kind == "published_8bit":
            llm.requires_grad_(False)
        else:
            lora = LoraConfig(
                r=shapes.lora_r,
                lora_alpha=2 * shapes.lora_r,
                lora_dropout=0.05,
                target_modules="all-linear",
                task_type="CAUSAL_LM",
            )
            llm = get_peft_model(llm, lora)
    encoder = create_encoder(shapes.encoder, shapes.image_size, None).to(device).eval().requires_grad_(False)
    adapter = nn.Linear(encoder.dim, llm.config.hidden_size).to(device)
    image_token_id = tokenizer.convert_tokens_to_ids("<|reserved_special_token_10|>")
    model = PlainVLM(encoder, adapter, llm, image_token_id)
    return model, [p for p in model.parameters() if p.requires_grad]


def load_toolkit(folder, shapes: common.Shapes, device: str, tokenizer, checkpointing: bool):
    from retinavlm.model.config import AdapterConfig, EncoderConfig, LLMConfig, LoraSettings, RetinaVLMConfig
    from retinavlm.model.vlm import RetinaVLM

    lora = LoraSettings(r=shapes.lora_r, alpha=2 * shapes.lora_r, dropout=0.05, target_modules=common.ALL_LINEAR)
    config = RetinaVLMConfig(
        encoder=EncoderConfig(name=shapes.encoder, image_size=shapes.image_size, freeze=True),
        adapter=AdapterConfig(kind="linear"),
        llm=LLMConfig(path=str(folder), quantization="4bit", dtype=shapes.dtype, lora=lora),
    )
    model = RetinaVLM.from_config(config, tokenizer=tokenizer, device=device)
    model.trainable_parts(encoder=False, adapter=True, lora=True)
    if checkpointing:
        model.llm.activation_checkpointing_enable({"use_reentrant": False})
    return model, [p for p in model.parameters() if p.requires_grad]


def measure(
    name: str,
    device: str,
    batch_size: int,
    steps: int,
    warmup: int,
    load: Callable[[], tuple[nn.Module, list]],
    loss_of: Callable[[nn.Module], torch.Tensor],
    extra: Callable[[nn.Module], dict] | None = None,
) -> dict:
    """Load fresh, train `warmup` + `steps` steps; samples/s over the timed steps; peaks with and without the load."""
    common.release(device)
    common.reset_peak(device)
    loaded, load_s = common.timed(device, load)
    model, params = loaded
    peak_load = common.peak_gib(device)
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    model.train()

    def step() -> float:
        with torch.autocast(device, dtype=torch.bfloat16):
            loss = loss_of(model)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    common.reset_peak(device)
    for _ in range(warmup):
        step()
    losses, seconds = common.timed(device, lambda: [step() for _ in range(steps)])
    peak_train = common.peak_gib(device)
    result = {
        "name": name,
        "batch_size": batch_size,
        "steps": steps,
        "load_s": round(load_s, 1),
        "seconds_per_step": round(seconds / steps, 4),
        "samples_per_s": round(batch_size * steps / seconds, 3),
        "first_loss": round(losses[0], 4),
        "peak_gib_training": peak_train,  # from after the load: weights resident + training
        "peak_gib_with_load": None if peak_train is None else max(peak_load, peak_train),
        "trainable_parameters": sum(p.numel() for p in params),
    }
    if extra is not None:
        result.update(extra(model))
    print(result, flush=True)
    model = params = optimizer = None  # release before the next configuration loads
    common.release(device)
    return result


def fast_vs_plain_loss(model, batch: dict) -> dict:
    """Correctness: the answer-only chunked loss equals HF's full-logits loss on the same batch (eval, no dropout)."""
    model.eval()
    with torch.no_grad(), torch.autocast(model.device.type, dtype=torch.bfloat16):
        plain = model(**batch).loss.float().item()
        fast = model(**batch, return_logits=False).loss.float().item()
    model.train()
    return {"loss_plain_path": round(plain, 5), "loss_fast_path": round(fast, 5), "loss_abs_diff": abs(plain - fast)}


def main() -> int:
    p = common.parser(__doc__)
    p.add_argument("--steps", type=int, default=10, help="timed steps per recipe")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--fast-batch", type=int, help="toolkit_fast batch size (default 48 GPU / 4 tiny)")
    p.add_argument(
        "--fast-checkpointing",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="gradient checkpointing for toolkit_fast (toolkit_lean always uses it)",
    )
    p.add_argument("--lean-batch", type=int, help="toolkit_lean (24 GB card) batch size (default 16 GPU / 2 tiny)")
    p.add_argument(
        "--recipes",
        nargs="+",
        default=["plain_qlora", "published_8bit", "plain_bf16_lora", "toolkit_fast", "toolkit_lean"],
    )
    args = p.parse_args()
    prepared = common.prepare(args)
    if prepared is None:
        return 0
    shapes, device, tokenizer, folder = prepared
    fast_batch = args.fast_batch or (4 if args.tiny else 48)
    lean_batch = args.lean_batch or (2 if args.tiny else 16)
    image_token_id = tokenizer.convert_tokens_to_ids("<|reserved_special_token_10|>")
    visual_tokens = (shapes.image_size // 32) ** 2
    record = common.header(device, shapes)
    record["base_folder"] = str(folder)
    results = {}
    for name in args.recipes:
        if name.startswith("plain") or name == "published_8bit":
            batch = training_batch(tokenizer, image_token_id, visual_tokens, shapes.batch_size, shapes, device)
            results[name] = measure(
                name,
                device,
                shapes.batch_size,
                args.steps,
                args.warmup,
                lambda name=name: load_plain(folder, shapes, device, tokenizer, name),
                lambda model, batch=batch: model(**batch),
            )
        else:
            lean = name == "toolkit_lean"
            size = lean_batch if lean else fast_batch
            batch = training_batch(tokenizer, image_token_id, visual_tokens, size, shapes, device)
            pixels = batch.pop("pixel_values")
            holder: dict = {}

            def load(lean=lean, pixels=pixels, holder=holder):
                model, params = load_toolkit(
                    folder, shapes, device, tokenizer, checkpointing=lean or args.fast_checkpointing
                )
                with torch.no_grad():  # the frozen-encoder feature cache, filled once
                    holder["features"] = model.encode_images(pixels)
                return model, params

            results[name] = measure(
                name,
                device,
                size,
                args.steps,
                args.warmup,
                load,
                lambda model, batch=batch, holder=holder: (
                    model(**batch, image_features=holder["features"], return_logits=False).loss
                ),
                extra=lambda model, batch=batch, holder=holder: fast_vs_plain_loss(
                    model, {**batch, "image_features": holder["features"]}
                ),
            )
    record["recipes"] = results
    record["ratios"] = ratios(results)
    out = common.write_result(args, "gpu_train", record)
    for line in summary(results, record["ratios"]):
        print(line)
    print(f"wrote {out}")
    return 0


def ratios(results: dict) -> dict:
    """Toolkit settings against the plain QLoRA recipe of the same run."""
    base = results.get("plain_qlora")
    if base is None:
        return {}
    out = {}
    for name in ("toolkit_fast", "toolkit_lean"):
        if name in results:
            r = results[name]
            out[name] = {
                "samples_per_s_ratio": round(r["samples_per_s"] / base["samples_per_s"], 3),
                "peak_training_ratio": None
                if base["peak_gib_training"] is None
                else round(r["peak_gib_training"] / base["peak_gib_training"], 3),
                "peak_with_load_ratio": None
                if base["peak_gib_with_load"] is None
                else round(r["peak_gib_with_load"] / base["peak_gib_with_load"], 3),
            }
    return out


def summary(results: dict, ratio: dict) -> list[str]:
    lines = [f"{'recipe':<16} {'batch':>5} {'samples/s':>10} {'peak GiB (train)':>17} {'peak GiB (w/ load)':>19}"]
    for name, r in results.items():
        lines.append(
            f"{name:<16} {r['batch_size']:>5} {r['samples_per_s']:>10} {str(r['peak_gib_training']):>17} {str(r['peak_gib_with_load']):>19}"
        )
    for name, r in ratio.items():
        lines.append(
            f"{name} vs plain_qlora: {r['samples_per_s_ratio']}x samples/s, peak ratio (train) {r['peak_training_ratio']}"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
