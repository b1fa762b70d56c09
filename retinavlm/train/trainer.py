"""One curriculum stage of question/answer training, on `accelerate`.

Why a loop of our own on accelerate rather than transformers' `Trainer`: a stage feeds either pixels or
cached frozen-encoder features, its batches are a pure function of (seed, step) so that a resumed or
multi-process run is bit-for-bit the same run, its checkpoints must be pickle-free (Trainer saves
optimizer and RNG states with torch.save), and its validation generates and parses closed answers.
Accelerate still does what it is good at: devices, DDP/FSDP wrapping, mixed precision.

Loss: each sequence's mean over its answer tokens, then the mean over sequences. Unlike a mean over
all tokens of a batch, this does not depend on how a global batch is split over processes and
accumulation steps, so 1 process x 8 and 2 processes x 4 optimise the same objective.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import gather_object, set_seed
from tqdm.auto import tqdm

from retinavlm.atomic import write_json, write_text
from retinavlm.knowledge import load_knowledge
from retinavlm.model.config import RetinaVLMConfig
from retinavlm.model.vlm import RetinaVLM
from retinavlm.train import checkpoint as ckpt
from retinavlm.train.closed import closed_ended_scores
from retinavlm.train.config import ConfigError, StageConfig
from retinavlm.train.data import EpochPlan, Example, epoch_examples
from retinavlm.train.features import cached_features, view_seed
from retinavlm.train.images import ScanImages, augment_config
from retinavlm.train.metrics_log import MetricsLog
from retinavlm.train.qa import check_builders, load_templates, prompt_for
from retinavlm.train.records import load_cohorts

FINAL = "final"
SUMMARY = "summary.json"


@dataclass
class StageResult:
    output_dir: Path
    final_dir: Path
    steps: int
    seconds: float
    validation: dict[str, float] = field(default_factory=dict)


def config_hash(cfg: StageConfig) -> str:
    return hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True, default=str).encode()).hexdigest()[:16]


def load_model(cfg: StageConfig, device: str) -> RetinaVLM:
    if cfg.init_from is not None:
        return RetinaVLM.from_pretrained(cfg.init_from, device=device)
    return RetinaVLM.from_config(cfg.model or RetinaVLMConfig(), device=device)


def lr_lambda(schedule: str, warmup: int, total: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        if schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
        if schedule == "linear":
            return max(0.0, 1.0 - progress)
        return 1.0

    return factor


def part_of(name: str) -> str:
    """encoder, adapter, lora, llm, or head (stage 0's objective heads)."""
    if "lora_" in name:
        return "lora"
    prefix = name.split(".", 1)[0]
    return prefix if prefix in ("encoder", "adapter", "llm") else "head"


def build_optimizer(model: RetinaVLM, cfg: StageConfig) -> torch.optim.Optimizer:
    opt = cfg.train.optimizer
    groups: dict[str, list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            groups.setdefault(part_of(name), []).append(param)
    if not groups:
        raise ConfigError(f"{cfg.source}: train.parts: nothing to train (every part is frozen)")
    param_groups = [
        {"params": ps, "lr": opt.lr * opt.lr_scale.get(part, 1.0), "part": part} for part, ps in groups.items()
    ]
    if opt.name == "sgd":
        return torch.optim.SGD(param_groups, lr=opt.lr, momentum=opt.momentum, weight_decay=opt.weight_decay)
    return torch.optim.AdamW(param_groups, lr=opt.lr, betas=tuple(opt.betas), weight_decay=opt.weight_decay)


class StageTrainer:
    """Sets a stage up (data, model, optimizer, features) and runs it; `run()` resumes by itself."""

    def __init__(self, cfg: StageConfig, restart: bool = False, log=None):
        self.cfg = cfg
        self.out = Path(cfg.output_dir)
        self.log = log or (lambda msg: print(msg, file=sys.stderr))
        # Accelerate keeps one process-wide state; stages of one curriculum may differ in precision.
        AcceleratorState._reset_state()
        self.accelerator = Accelerator(mixed_precision=cfg.train.mixed_precision)
        self.is_main = self.accelerator.is_main_process
        world = self.accelerator.num_processes
        t = cfg.train
        if t.batch_size % (world * t.grad_accum):
            raise ConfigError(
                f"{cfg.source}: train.batch_size {t.batch_size} must divide evenly over {world} process(es) x "
                f"grad_accum {t.grad_accum}"
            )
        self.micro_batch = t.batch_size // (world * t.grad_accum)
        if restart and self.is_main and self.out.exists():
            shutil.rmtree(self.out)
        self.accelerator.wait_for_everyone()

        self.kb = load_knowledge()
        self.templates = load_templates(cfg.templates_path())
        check_builders(cfg.qa.builders, self.templates)
        splits = load_cohorts(cfg.data, self.kb)
        self.refused = list(splits.refused)
        train_records = splits.train
        val_records = splits.validation[: cfg.validation.max_scans] if cfg.validation.max_scans else splits.validation

        set_seed(t.seed)
        self.model = load_model(cfg, str(self.accelerator.device))
        parts = cfg.train.parts
        self.model.trainable_parts(encoder=parts.encoder, adapter=parts.adapter, lora=parts.lora, llm=parts.llm)
        if t.gradient_checkpointing:
            self.model.llm.activation_checkpointing_enable({"use_reentrant": False})
        augment = augment_config(cfg.data.augment, self.model.processor.image_size)
        self.train_images = ScanImages(train_records, self.model.processor, augment)
        self.val_images = ScanImages(val_records, self.model.processor, augment)
        self.refused += self.train_images.refused + self.val_images.refused
        if not len(self.train_images):
            raise ConfigError(f"{cfg.source}: data.cohort {cfg.data.cohort}: no readable training scans")

        weights = np.ones(len(self.train_images))
        if cfg.data.selection.method != "all":
            from retinavlm.train.data_efficiency import select_scans

            keep, weights = select_scans(self.model, self.train_images, cfg.data.selection, t.seed)
            self.train_images.keep(keep)
        weights = weights * splits.sampling_weights(self.train_images.records)  # each cohort's share of draws
        self.features = None
        if not parts.encoder:
            self.features = cached_features(
                self.model, self.train_images, cfg.data.cached_views, t.seed, self.out / "feature-cache"
            )

        self.plan = EpochPlan(
            self.train_images.records,
            weights,
            cfg.qa.per_scan,
            cfg.qa.builders,
            self.templates,
            self.kb,
            t.batch_size,
            t.length_group_batches,
            t.seed,
        )
        self.total_steps = t.max_steps or max(1, math.ceil(t.epochs * self.plan.steps_per_epoch))
        self.val_examples = epoch_examples(
            self.val_images.records,
            np.ones(len(self.val_images)),
            cfg.qa.per_scan,
            cfg.qa.builders,
            self.templates,
            self.kb,
            seed=t.seed,
            epoch=-1,
        )
        self.optimizer = build_optimizer(self.model, cfg)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lr_lambda(t.schedule.name, t.schedule.warmup_steps, self.total_steps)
        )
        self.wrapped, self.optimizer = self.accelerator.prepare(self.model, self.optimizer)

    # --- inputs -------------------------------------------------------------------------------

    def inputs(self, examples: list[Example], step: int, epoch: int, offset: int) -> dict[str, torch.Tensor]:
        """Tokenised batch with pixels (augmented per example) or cached features (one view per example)."""
        processor = self.model.processor
        seeds = [view_seed(self.cfg.train.seed, f"{epoch}/{step}", offset + i) for i in range(len(examples))]
        if self.features is None:
            pixels = self.train_images.batch([e.scan for e in examples], seeds)
        else:  # the processor only checks the shape; the cached features stand in for the pixels
            pixels = torch.zeros(len(examples), 1, processor.image_size, processor.image_size)
        batch = processor(
            [prompt_for(e.pair.question) for e in examples],
            pixels,
            [e.pair.answer for e in examples],
            padding_side="right",
        )
        if self.features is not None:
            views = [s % self.cfg.data.cached_views for s in seeds]
            batch["image_features"] = torch.stack([self.features[e.scan, v] for e, v in zip(examples, views)])
            del batch["pixel_values"]
        return {k: v.to(self.accelerator.device) for k, v in batch.items()}

    # --- the loop -----------------------------------------------------------------------------

    def run(self) -> StageResult:
        cfg, acc = self.cfg, self.accelerator
        final = self.out / FINAL
        if (self.out / SUMMARY).is_file() and final.is_dir():
            self.log(f"{self.out}: stage {cfg.name} already complete; skipping (pass --restart to train again)")
            summary = json.loads((self.out / SUMMARY).read_text())
            return StageResult(self.out, final, summary["steps"], summary["seconds"], summary.get("validation", {}))
        checkpoints = self.out / "checkpoints"
        chash = config_hash(cfg)
        step, seconds_before = 0, 0.0
        if self.is_main:
            ckpt.remove_stale(checkpoints)
            write_text(self.out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        acc.wait_for_everyone()
        existing = ckpt.list_checkpoints(checkpoints)
        if existing:
            state = ckpt.load_checkpoint(
                existing[-1],
                self.model,
                self.optimizer.optimizer,
                self.scheduler,
                acc.process_index,
                acc.num_processes,
                chash,
            )
            step, seconds_before = state.step, state.seconds
            self.log(f"resuming {cfg.name} from {existing[-1]} (step {step}/{self.total_steps})")
        metrics = MetricsLog(self.out, step, enabled=self.is_main)
        for line in self.refused:
            self.log(f"skipped: {line}")

        started = time.perf_counter()
        bar = tqdm(total=self.total_steps, initial=step, desc=cfg.name, disable=not self.is_main, dynamic_ncols=True)
        validation: dict[str, float] = {}
        while step < self.total_steps:
            loss = self.train_step(step)
            step += 1
            row = {"train/loss": loss, "train/lr": self.scheduler.get_last_lr()[0]}
            metrics.log(step, row)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")
            if step % cfg.validation.every_steps == 0 or step == self.total_steps:
                validation = self.validate()
                metrics.log(step, {f"val/{k}": v for k, v in validation.items()})
                if self.is_main:
                    self.log(
                        f"step {step}: "
                        + ", ".join(f"{k}={v:.3f}" for k, v in validation.items() if not k.startswith("f1_"))
                    )
            if step % cfg.checkpoint.every_steps == 0 and step < self.total_steps:
                metrics.flush()
                self.save(checkpoints, step, chash, seconds_before + time.perf_counter() - started)
        bar.close()
        seconds = seconds_before + time.perf_counter() - started
        if self.is_main:
            self.model.save_pretrained(final)
            write_json(
                self.out / SUMMARY,
                {
                    "stage": cfg.name,
                    "steps": step,
                    "seconds": round(seconds, 1),
                    "validation": validation,
                    "processes": acc.num_processes,
                    "torch_threads": torch.get_num_threads(),
                    "train_scans": len(self.train_images),
                    "validation_scans": len(self.val_images),
                    "knowledge": self.kb.version_tag,
                    "skipped": self.refused,
                },
            )
            shutil.rmtree(checkpoints, ignore_errors=True)
        metrics.close()
        acc.wait_for_everyone()
        return StageResult(self.out, final, step, seconds, validation)

    def train_step(self, step: int) -> float:
        """One optimizer step over this process's share of the global batch; returns the global mean loss."""
        acc, t = self.accelerator, self.cfg.train
        epoch, batch = self.plan.batch(step)
        share = len(batch) // acc.num_processes
        mine = batch[acc.process_index * share : (acc.process_index + 1) * share]
        self.wrapped.train()
        total = torch.zeros((), device=acc.device)
        for i in range(t.grad_accum):
            micro = mine[i * self.micro_batch : (i + 1) * self.micro_batch]
            inputs = self.inputs(micro, step, epoch, acc.process_index * share + i * self.micro_batch)
            sync = contextlib.nullcontext() if i == t.grad_accum - 1 else acc.no_sync(self.wrapped)
            with sync, acc.autocast():
                loss = self.wrapped(**inputs, return_logits=False, loss_per_sequence=True).loss.mean() / t.grad_accum
                acc.backward(loss)
            total += loss.detach()
        if t.max_grad_norm is not None:
            acc.clip_grad_norm_(self.wrapped.parameters(), t.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return acc.reduce(total, reduction="mean").item()

    def save(self, checkpoints: Path, step: int, chash: str, seconds: float) -> None:
        acc = self.accelerator
        rng = gather_object([ckpt.rng_state()]) if acc.num_processes > 1 else [ckpt.rng_state()]
        if self.is_main:
            ckpt.save_checkpoint(
                checkpoints / f"step-{step:08d}",
                self.model,
                self.optimizer.optimizer,
                self.scheduler,
                ckpt.TrainerState(step, chash, seconds),
                rng,
            )
            ckpt.prune(checkpoints, self.cfg.checkpoint.keep_last)
        acc.wait_for_everyone()

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Validation loss on fixed pairs and closed-ended scores (main process; the others wait)."""
        results: dict[str, float] = {}
        if self.is_main and len(self.val_images):
            self.model.eval()
            bs = self.cfg.validation.batch_size
            losses = []
            for start in range(0, len(self.val_examples), bs):
                part = self.val_examples[start : start + bs]
                batch = self.model.processor(
                    [prompt_for(e.pair.question) for e in part],
                    self.val_images.batch([e.scan for e in part]),
                    [e.pair.answer for e in part],
                    padding_side="right",
                )
                with self.accelerator.autocast():
                    losses.append(self.model(**batch, return_logits=False, loss_per_sequence=True).loss)
            results["loss"] = torch.cat(losses).mean().item()
            if self.cfg.validation.closed_ended:
                scores, _ = closed_ended_scores(self.model, self.val_images, self.templates, self.kb, bs)
                results.update(scores)
        self.accelerator.wait_for_everyone()
        return results


def train_stage(cfg: StageConfig, restart: bool = False, log=None) -> StageResult:
    return StageTrainer(cfg, restart=restart, log=log).run()
