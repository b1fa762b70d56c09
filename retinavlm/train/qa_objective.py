"""Stages 1-2: question/answer training of the VLM, the objective the shared lifecycle runs for `kind: vlm`.

Loss: each sequence's mean over its answer tokens, then the mean over sequences. Unlike a mean over
all tokens of a batch, this does not depend on how a global batch is split over processes and
accumulation steps, so 1 process x 8 and 2 processes x 4 optimise the same objective.

With a frozen encoder the scans' features are computed once per augmented view (the feature cache)
and fed instead of pixels. With `qa.questions_per_row` K > 1 a row packs up to K questions about one
scan behind one copy of its image tokens (retinavlm.model.packing): the same per-question losses for
fewer tokens; `train.batch_size` then counts rows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator

from retinavlm.knowledge import KnowledgeBase
from retinavlm.model.packing import pack_rows
from retinavlm.model.vlm import RetinaVLM
from retinavlm.train.closed import closed_ended_scores
from retinavlm.train.config import ConfigError, StageConfig
from retinavlm.train.data import EpochPlan, Row, epoch_examples
from retinavlm.train.features import cached_features, view_seed
from retinavlm.train.images import ScanImages, augment_config
from retinavlm.train.qa import check_builders, load_templates, prompt_for
from retinavlm.train.records import CohortSplits


class QAObjective:
    """Question/answer pairs built from the scans' labels; the whole VLM is the trained module."""

    metric_prefix = "val"

    def __init__(
        self,
        cfg: StageConfig,
        model: RetinaVLM,
        kb: KnowledgeBase,
        splits: CohortSplits,
        accelerator: Accelerator,
        log: Callable[[str], None],
    ):
        self.cfg, self.kb, self.model, self.accelerator = cfg, kb, model, accelerator
        t = cfg.train
        self.templates = load_templates(cfg.templates_path())
        check_builders(cfg.qa.builders, self.templates)
        train_records = splits.train
        val_records = splits.validation[: cfg.validation.max_scans] if cfg.validation.max_scans else splits.validation

        parts = t.parts
        model.trainable_parts(encoder=parts.encoder, adapter=parts.adapter, lora=parts.lora, llm=parts.llm)
        if t.gradient_checkpointing:
            model.llm.activation_checkpointing_enable({"use_reentrant": False})
        augment = augment_config(cfg.data.augment, model.processor.image_size)
        self.train_images = ScanImages(train_records, model.processor, augment)
        self.val_images = ScanImages(val_records, model.processor, augment)
        self.refused = self.train_images.refused + self.val_images.refused
        if not len(self.train_images):
            raise ConfigError(f"{cfg.source}: data.cohort {cfg.data.cohort}: no readable training scans")

        weights = np.ones(len(self.train_images))
        if cfg.data.selection.method != "all":
            from retinavlm.train.data_efficiency import select_scans

            keep, weights = select_scans(model, self.train_images, cfg.data.selection, t.seed)
            self.train_images.keep(keep)
        weights = weights * splits.sampling_weights(self.train_images.records)  # each cohort's share of draws
        self.features = None
        if not parts.encoder:
            self.features = cached_features(
                model, self.train_images, cfg.data.cached_views, t.seed, Path(cfg.output_dir) / "feature-cache"
            )
        self.plan = EpochPlan(
            self.train_images.records,
            weights,
            cfg.qa.per_scan,
            cfg.qa.builders,
            self.templates,
            kb,
            t.batch_size,
            t.length_group_batches,
            t.seed,
            cfg.qa.questions_per_row,
        )
        self.steps_per_epoch = self.plan.steps_per_epoch
        self.val_examples = epoch_examples(
            self.val_images.records,
            np.ones(len(self.val_images)),
            cfg.qa.per_scan,
            cfg.qa.builders,
            self.templates,
            kb,
            seed=t.seed,
            epoch=-1,
        )
        self.module = model

    def batch(self, step: int) -> list[Row]:
        return self.plan.batch(step)[1]

    def inputs(self, rows: list[Row], step: int, offset: int) -> dict[str, torch.Tensor]:
        """Tokenised batch with pixels (augmented per row) or cached features (one view per row)."""
        epoch = step // self.steps_per_epoch
        seeds = [view_seed(self.cfg.train.seed, f"{epoch}/{step}", offset + i) for i in range(len(rows))]
        scans = [row[0].scan for row in rows]
        processor = self.model.processor
        prompts = [prompt_for(e.pair.question) for row in rows for e in row]
        answers = [e.pair.answer for row in rows for e in row]
        if self.cfg.qa.questions_per_row > 1:
            encoded = iter(processor.encode(prompts, answers))
            groups = [[next(encoded) for _ in row] for row in rows]
            batch = pack_rows(groups, processor.image_token_id, processor.tokenizer.pad_token_id)
        else:
            batch = processor(prompts, None, answers, padding_side="right", with_image=True)
        if self.features is not None:
            views = [s % self.cfg.data.cached_views for s in seeds]
            batch["image_features"] = torch.stack([self.features[scan, v] for scan, v in zip(scans, views)])
        else:
            batch["pixel_values"] = self.train_images.batch(scans, seeds)
        return {k: v.to(self.accelerator.device) for k, v in batch.items()}

    def loss(self, module: torch.nn.Module, rows: list[Row], step: int, offset: int) -> torch.Tensor:
        inputs = self.inputs(rows, step, offset)
        return module(**inputs, return_logits=False, loss_per_sequence=True).loss.mean()

    def after_step(self, step: int, total_steps: int) -> None:
        """Nothing moves besides the optimizer's step."""

    @torch.no_grad()
    def validate(self, final: bool) -> dict[str, float]:
        """Validation loss on fixed pairs and closed-ended scores."""
        results: dict[str, float] = {}
        if not len(self.val_images):
            return results
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
        return results

    def finish(self, out: Path) -> dict:
        """No extra summary fields."""
        return {}
