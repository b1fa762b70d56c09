"""One curriculum stage on `accelerate`: the lifecycle every stage shares, with the objective as the part that varies.

The lifecycle (`StageTrainer`): skip a stage that already finished, resume from the last checkpoint,
split each global batch over processes and accumulation steps, mixed precision, clip, step, log,
validate, checkpoint and prune, save `final/` and `summary.json`. With `checkpoint.keep_best`, `final/`
holds the validated step with the best score rather than the last step. The objective says what a step
trains on and what its loss is: question/answer training for stages 1-2 (`QAObjective`), encoder
pretraining for stage 0 (`EncoderPretraining`).

Why a loop of our own on accelerate rather than transformers' `Trainer`: a stage feeds either pixels or
cached frozen-encoder features, or trains the encoder alone; its batches are a pure function of
(seed, step) so that a resumed or multi-process run is bit-for-bit the same run, its checkpoints must
be pickle-free (Trainer saves optimizer and RNG states with torch.save), and its validation generates
and parses closed answers. Accelerate still does what it is good at: devices, DDP/FSDP wrapping, mixed
precision.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
import yaml
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import gather_object, set_seed
from tqdm.auto import tqdm

from retinavlm.atomic import write_json, write_text
from retinavlm.knowledge import KnowledgeBase, load_knowledge
from retinavlm.model.config import RetinaVLMConfig
from retinavlm.model.vlm import RetinaVLM
from retinavlm.train import resume_state
from retinavlm.train.config import ConfigError, StageConfig
from retinavlm.train.images import ScanImages
from retinavlm.train.metrics_log import MetricsLog
from retinavlm.train.records import count_known, load_cohorts

FINAL = "final"
SUMMARY = "summary.json"


@dataclass
class StageResult:
    output_dir: Path
    final_dir: Path
    steps: int
    seconds: float
    validation: dict[str, float] = field(default_factory=dict)


class StageObjective(Protocol):
    """What a stage trains: its module, its batches and their loss (QAObjective, EncoderPretraining)."""

    module: torch.nn.Module  # what the optimizer trains and a checkpoint restores
    steps_per_epoch: int
    train_images: ScanImages
    val_images: ScanImages
    refused: list[str]
    metric_prefix: str  # validation metrics are logged as "<prefix>/<name>"

    def batch(self, step: int) -> list[Any]: ...  # the global batch of a step, a pure function of (seed, step)

    def loss(self, module: torch.nn.Module, items: list[Any], step: int, offset: int) -> torch.Tensor: ...

    def after_step(self, step: int, total_steps: int) -> None: ...

    def validate(self, final: bool) -> dict[str, float]: ...  # main process only

    def finish(self, out: Path) -> dict[str, Any]: ...  # main process only: extra summary fields


def config_hash(cfg: StageConfig) -> str:
    return hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True, default=str).encode()).hexdigest()[:16]


def load_model(cfg: StageConfig, device: str, kb: KnowledgeBase, force_knowledge: bool = False) -> RetinaVLM:
    """The stage's starting model, to be trained (and recorded) under `kb`."""
    if cfg.init_from is None:
        return RetinaVLM.from_config(cfg.model or RetinaVLMConfig(), device=device, knowledge=kb)
    model = RetinaVLM.from_pretrained(cfg.init_from, device, kb, force_knowledge)
    model.knowledge_version = kb.version_tag
    return model


def known_line(known: dict[str, Any]) -> str:
    """One log line: of the training scans, how many have each label kind known."""
    biomarkers = ", ".join(f"{bid} {n}" for bid, n in known["biomarkers"].items()) or "none"
    return (
        f"known labels of {known['scans']} training scans: complete {known['complete']}, stage {known['stage']}, "
        f"referral {known['referral']}, condition {known['condition']}; biomarkers: {biomarkers}"
    )


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


def build_optimizer(model: torch.nn.Module, cfg: StageConfig) -> torch.optim.Optimizer:
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


def build_objective(cfg: StageConfig, model: RetinaVLM, kb, splits, accelerator: Accelerator, log) -> StageObjective:
    """The stage's objective: encoder pretraining for `kind: ssl`, question/answer training otherwise."""
    if cfg.kind == "ssl":
        from retinavlm.train.encoder_pretraining import EncoderPretraining

        return EncoderPretraining(cfg, model, kb, splits, accelerator, log)
    from retinavlm.train.qa_objective import QAObjective

    return QAObjective(cfg, model, kb, splits, accelerator, log)


class StageTrainer:
    """Sets a stage up (data, model, objective, optimizer) and runs it; `run()` resumes by itself."""

    def __init__(
        self,
        cfg: StageConfig,
        restart: bool = False,
        log=None,
        knowledge: KnowledgeBase | None = None,
        force_knowledge: bool = False,
    ):
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
        self.complete = (self.out / SUMMARY).is_file() and (self.out / FINAL).is_dir()
        if self.complete:
            return  # run() only reports; nothing to set up

        self.kb = knowledge or load_knowledge()
        splits = load_cohorts(cfg.data, self.kb)
        set_seed(t.seed)
        self.model = load_model(cfg, str(self.accelerator.device), self.kb, force_knowledge)
        self.objective = build_objective(cfg, self.model, self.kb, splits, self.accelerator, self.log)
        self.refused = list(splits.refused) + self.objective.refused
        # What was known per label kind among the scans the stage actually reads (unknowns are kept, not skipped).
        self.known = {
            "train": count_known(self.objective.train_images.records),
            "validation": count_known(self.objective.val_images.records),
        }
        self.total_steps = t.max_steps or max(1, math.ceil(t.epochs * self.objective.steps_per_epoch))
        self.optimizer = build_optimizer(self.objective.module, cfg)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lr_lambda(t.schedule.name, t.schedule.warmup_steps, self.total_steps)
        )
        self.wrapped, self.optimizer = self.accelerator.prepare(self.objective.module, self.optimizer)

    # --- the loop -----------------------------------------------------------------------------

    def run(self) -> StageResult:
        cfg, acc = self.cfg, self.accelerator
        final = self.out / FINAL
        if self.complete:
            self.log(f"{self.out}: stage {cfg.name} already complete; skipping (pass --restart to train again)")
            summary = json.loads((self.out / SUMMARY).read_text())
            return StageResult(self.out, final, summary["steps"], summary["seconds"], summary.get("validation", {}))
        checkpoints = self.out / "checkpoints"
        chash = config_hash(cfg)
        step, seconds_before = 0, 0.0
        self.best: resume_state.BestStep | None = None
        self.recent_scores: list[float] = []
        if self.is_main:
            resume_state.remove_stale(checkpoints)
            write_text(self.out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        acc.wait_for_everyone()
        existing = resume_state.list_checkpoints(checkpoints)
        if existing:
            state = resume_state.load_checkpoint(
                existing[-1],
                self.objective.module,
                self.optimizer.optimizer,
                self.scheduler,
                acc.process_index,
                acc.num_processes,
                chash,
            )
            step, seconds_before = state.step, state.seconds
            self.best, self.recent_scores = state.best, state.recent_scores
            self.log(f"resuming {cfg.name} from {existing[-1]} (step {step}/{self.total_steps})")
        metrics = MetricsLog(self.out, step, enabled=self.is_main)
        for line in self.refused:
            self.log(f"skipped: {line}")
        self.log(known_line(self.known["train"]))

        started = time.perf_counter()
        bar = tqdm(total=self.total_steps, initial=step, desc=cfg.name, disable=not self.is_main, dynamic_ncols=True)
        validation: dict[str, float] = {}
        keep = cfg.checkpoint.keep_best
        while step < self.total_steps:
            loss = self.train_step(step)
            step += 1
            row = {"train/loss": loss, "train/lr": self.scheduler.get_last_lr()[0]}
            metrics.log(step, row)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")
            if step % cfg.validation.every_steps == 0 or step == self.total_steps:
                # With keep_best the end-of-stage validation runs on the kept weights instead (below).
                results = self.validate(final=step == self.total_steps and keep is None)
                if results:
                    validation = results
                    metrics.log(step, {f"{self.objective.metric_prefix}/{k}": v for k, v in results.items()})
                    if self.is_main:
                        self.log(
                            f"step {step}: "
                            + ", ".join(f"{k}={v:.3f}" for k, v in results.items() if not k.startswith("f1_"))
                        )
                        self.track_best(step, results)
            if step % cfg.checkpoint.every_steps == 0 and step < self.total_steps:
                metrics.flush()
                self.save(checkpoints, step, chash, seconds_before + time.perf_counter() - started)
        bar.close()
        seconds = seconds_before + time.perf_counter() - started
        kept: dict[str, Any] = {}
        if keep is not None:
            kept = self.restore_best(step)
            validation = self.validate(final=True)
        if self.is_main:
            self.model.eval()
            self.model.save_pretrained(final)
            extra = self.objective.finish(self.out)
            write_json(
                self.out / SUMMARY,
                {
                    "stage": cfg.name,
                    "steps": step,
                    "seconds": round(seconds, 1),
                    "validation": validation,
                    "processes": acc.num_processes,
                    "torch_threads": torch.get_num_threads(),
                    "train_scans": len(self.objective.train_images),
                    "validation_scans": len(self.objective.val_images),
                    "knowledge": self.kb.version_tag,
                    "skipped": self.refused,
                    "known": self.known,
                    **({"keep_best": kept} if kept else {}),
                    **extra,
                },
            )
            shutil.rmtree(checkpoints, ignore_errors=True)
        metrics.close()
        acc.wait_for_everyone()
        return StageResult(self.out, final, step, seconds, validation)

    def train_step(self, step: int) -> float:
        """One optimizer step over this process's share of the global batch; returns the global mean loss."""
        acc, t = self.accelerator, self.cfg.train
        batch = self.objective.batch(step)
        share = len(batch) // acc.num_processes
        mine = batch[acc.process_index * share : (acc.process_index + 1) * share]
        self.wrapped.train()
        total = torch.zeros((), device=acc.device)
        for i in range(t.grad_accum):
            micro = mine[i * self.micro_batch : (i + 1) * self.micro_batch]
            offset = acc.process_index * share + i * self.micro_batch
            sync = contextlib.nullcontext() if i == t.grad_accum - 1 else acc.no_sync(self.wrapped)
            with sync, acc.autocast():
                loss = self.objective.loss(self.wrapped, micro, step, offset) / t.grad_accum
                acc.backward(loss)
            total += loss.detach()
        if t.max_grad_norm is not None:
            acc.clip_grad_norm_(self.wrapped.parameters(), t.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.objective.after_step(step + 1, self.total_steps)
        return acc.reduce(total, reduction="mean").item()

    def save(self, checkpoints: Path, step: int, chash: str, seconds: float) -> None:
        acc = self.accelerator
        rng = [resume_state.rng_state()]
        rng = gather_object(rng) if acc.num_processes > 1 else rng
        if self.is_main:
            resume_state.save_checkpoint(
                checkpoints / f"step-{step:08d}",
                self.objective.module,
                self.optimizer.optimizer,
                self.scheduler,
                resume_state.TrainerState(step, chash, seconds, self.best, self.recent_scores),
                rng,
            )
            resume_state.prune(checkpoints, self.cfg.checkpoint.keep_last)
        acc.wait_for_everyone()

    def track_best(self, step: int, results: dict[str, float]) -> None:
        """Main process: remember this step's weights when its `keep_best` score is the best so far. The score
        is the mean of the metric over the last `keep_best.window` validations that gave it.

        A validation without the score (e.g. no validation scan of a partially labelled cohort has a known
        stage or referral) or with NaN is no candidate and does not enter the window; the metric's name itself
        was checked with the config.
        """
        keep = self.cfg.checkpoint.keep_best
        metric = results.get(keep.metric, math.nan) if keep is not None else math.nan
        if math.isnan(metric):
            return
        self.recent_scores = [*self.recent_scores, metric][-keep.window :]
        value = sum(self.recent_scores) / len(self.recent_scores)
        # On a tie the earlier step stays, as the scan classifier keeps its earlier epoch.
        if self.best is None or (value > self.best.value if keep.mode == "max" else value < self.best.value):
            self.best = resume_state.BestStep(step, value, resume_state.trainable_state(self.objective.module))

    def restore_best(self, last_step: int) -> dict[str, Any]:
        """Main process: the best validated step's weights replace the last step's; the summary's record of the
        choice (the last step stays when no validation gave a score)."""
        keep = self.cfg.checkpoint.keep_best
        if not self.is_main:
            return {}
        step, value = (last_step, None) if self.best is None else (self.best.step, self.best.value)
        if step != last_step:
            resume_state.restore_tensors(self.objective.module, self.best.tensors)
        over = "" if keep.window == 1 else f", mean of {keep.window} validations"
        score = f"no validation gave {keep.metric}" if value is None else f"{keep.metric}={value:.3f}{over}"
        self.log(f"{self.cfg.name}: keeping step {step} of {last_step} as the final model ({score}, {keep.mode})")
        return {
            "metric": keep.metric,
            "mode": keep.mode,
            "window": keep.window,
            "step": step,
            "value": value,
            "last_step": last_step,
        }

    def validate(self, final: bool) -> dict[str, float]:
        """The objective's validation on the main process (the others wait)."""
        results = self.objective.validate(final) if self.is_main else {}
        self.accelerator.wait_for_everyone()
        return results


def train_stage(
    cfg: StageConfig,
    restart: bool = False,
    log=None,
    knowledge: KnowledgeBase | None = None,
    force_knowledge: bool = False,
) -> StageResult:
    """Run one stage, whatever its kind, through the shared lifecycle, under `knowledge` (default: the
    default knowledge base); an `init_from` checkpoint of another knowledge base is refused unless forced.

    With `train.processes` > 1 (and not already inside a launched process group) the stage trains in that
    many local CPU processes first; this process then only reads back the finished stage."""
    if cfg.train.processes > 1 and "WORLD_SIZE" not in os.environ:
        from retinavlm.train.launch import run_in_cpu_processes

        if torch.cuda.is_available():
            raise ConfigError(
                f"runs {cfg.train.processes} CPU processes; on GPUs start one process per GPU with accelerate launch",
                "train.processes",
                cfg.source,
            )
        args = (cfg, restart, None, knowledge, force_knowledge)
        run_in_cpu_processes(_run_in_this_process, args, cfg.train.processes, cfg.name)
        restart = False
    return _run_in_this_process(cfg, restart, log, knowledge, force_knowledge)


def _run_in_this_process(
    cfg: StageConfig, restart: bool, log, knowledge: KnowledgeBase | None, force_knowledge: bool
) -> StageResult:
    return StageTrainer(cfg, restart, log, knowledge, force_knowledge).run()
