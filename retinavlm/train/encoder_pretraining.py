"""Stage 0: encoder pretraining before any language, and the linear probe that says whether it helped.

`EncoderPretraining` is the stage objective the shared lifecycle (`StageTrainer`) runs for `kind: ssl`:
it reads the scans, draws each step's batch (by the cohorts' weights when `data.cohort` lists several)
and views from (seed, step), and hands them to the objective module `ssl.method` names (`retinavlm.train.encoder_objectives`):
- `simclr`, `byol`, `barlow_twins`: two augmented views of each scan, no labels;
- `mae`: masked-patch reconstruction on the encoder's token grid, no labels;
- `supervised`: a warm-up on the training split's labels (biomarker presence, stage, referral, and with
  `ssl.condition_head` the condition where the training scans tell conditions apart), for when
  self-supervision cannot learn enough on a small CPU budget; unknown labels are masked out.
  `ssl.token_head` adds a biomarker head on every token (`mil`; `masks` also uses lesion masks).
Every readable scan trains, labelled or not; only the supervised terms need labels.

Validation: with `supervised`, every `validation.every_steps` the heads' own macro-F1 of stage and referral
and F1 per biomarker on the validation scans whose label is known (`retinavlm.train.config.HEAD_SCORES`; cheap, so a stage can
keep its best step, `checkpoint.keep_best`); at the end of the stage, the probe.

The probe: a logistic regression per biomarker (and for stage, referral and condition) on the frozen, pooled
(mean and max) encoder features of the training split, scored (F1) on the validation split, on the
scans whose label is known; run for a randomly initialised encoder and for the pretrained one, and
written to `probe.json`.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from retinavlm.atomic import write_json
from retinavlm.data.lesion_masks import LesionMaskError, bit_positions, token_targets
from retinavlm.knowledge import KnowledgeBase
from retinavlm.model.encoder import OCTEncoder, create_encoder
from retinavlm.model.vlm import RetinaVLM
from retinavlm.train.config import ConfigError, StageConfig
from retinavlm.train.data import allocate
from retinavlm.train.encoder_objectives import UNKNOWN, EncoderObjective, SupervisedWarmUp, build_objective
from retinavlm.train.features import pooled_features
from retinavlm.train.images import ScanImages, augment_config
from retinavlm.train.records import CohortSplits, ScanRecord

NO_CONDITION = "none"  # the condition head's class for a scan whose diagnosis is AMD or a healthy macula


def condition_classes(kb: KnowledgeBase) -> tuple[str, ...]:
    """The condition head's classes: no other condition, then the knowledge base's conditions."""
    return (NO_CONDITION, *kb.conditions)


def condition_label(record: ScanRecord) -> str | None:
    """A scan's condition: its named condition; none when its AMD stage (healthy included) is known, since a scan
    with a condition has no AMD stage (DESIGN.md); None (unknown) when it says neither."""
    if record.condition is not None:
        return record.condition
    return NO_CONDITION if record.stage is not None else None


def condition_target(record: ScanRecord, kb: KnowledgeBase) -> int:
    """The condition head's class index of a scan's `condition_label`; UNKNOWN when that is unknown."""
    label = condition_label(record)
    return UNKNOWN if label is None else condition_classes(kb).index(label)


def label_targets(records: list[ScanRecord], kb: KnowledgeBase) -> dict[str, torch.Tensor]:
    """Supervised targets: biomarker presence with a `known` mask, stage, referral and condition indices
    (UNKNOWN if not known)."""
    return {
        "biomarkers": torch.tensor(
            [[r.biomarkers.get(b) == "present" for b in kb.biomarker_ids] for r in records], dtype=torch.float32
        ),
        "known": torch.tensor([[r.known(b) for b in kb.biomarker_ids] for r in records], dtype=torch.float32),
        "stage": torch.tensor([UNKNOWN if r.stage is None else kb.stage_ids.index(r.stage) for r in records]),
        "referral": torch.tensor(
            [UNKNOWN if r.referral is None else kb.referral_ids.index(r.referral) for r in records]
        ),
        "condition": torch.tensor([condition_target(r, kb) for r in records], dtype=torch.long),
    }


def conditions_told_apart(records: list[ScanRecord], kb: KnowledgeBase) -> bool:
    """Whether the known conditions of `records` hold two classes or more: only then does a condition head learn
    anything (a synthetic cohort, all AMD, trains none)."""
    return len({condition_target(r, kb) for r in records} - {UNKNOWN}) > 1


# The supervised heads' validation scores; heads_macro_f1 is the mean of the stage and referral macro-F1.
def head_scores(logits: torch.Tensor, records: list[ScanRecord], kb: KnowledgeBase) -> dict[str, float]:
    """Scores of the heads' `logits` (`SupervisedWarmUp.scan_logits`) over the known labels of `records`.

    Stage, referral (and condition, when the logits hold a condition head's): macro-F1 over the classes the
    known labels hold (as `closed_metrics` scores the answers); biomarkers: F1 of present (logit > 0) for each
    biomarker with a known positive, and their mean.
    """
    targets = label_targets(records, kb)
    nb, ns, nr = len(kb.biomarker_ids), len(kb.stage_ids), len(kb.referral_ids)
    scores: dict[str, float] = {}
    parts = [("stage", logits[:, nb : nb + ns]), ("referral", logits[:, nb + ns : nb + ns + nr])]
    if logits.shape[1] > nb + ns + nr:
        parts.append(("condition", logits[:, nb + ns + nr :]))
    for kind, part in parts:
        known = targets[kind] != UNKNOWN
        if known.any():
            truth, predicted = targets[kind][known].tolist(), part[known].argmax(1).tolist()
            scores[f"heads_{kind}_macro_f1"] = float(
                f1_score(truth, predicted, labels=sorted(set(truth)), average="macro", zero_division=0)
            )
    biomarker_f1 = []
    for j in range(nb):
        known = targets["known"][:, j].bool()
        truth = targets["biomarkers"][known, j].bool()
        if truth.any():
            biomarker_f1.append(float(f1_score(truth.tolist(), (logits[known, j] > 0).tolist(), zero_division=0)))
    if biomarker_f1:
        scores["heads_biomarker_mean_f1"] = float(np.mean(biomarker_f1))
    main = [scores[f"heads_{kind}_macro_f1"] for kind in ("stage", "referral") if f"heads_{kind}_macro_f1" in scores]
    if main:
        scores["heads_macro_f1"] = float(np.mean(main))
    return scores


@torch.no_grad()
def scan_logits(module: SupervisedWarmUp, images: ScanImages, batch_size: int = 64) -> torch.Tensor:
    """The heads' logits of each plain (unaugmented) scan, in eval mode (BatchNorm statistics do not move)."""
    was_training = module.training
    module.eval()
    device = next(module.parameters()).device
    logits = [
        module.scan_logits(images.batch(list(range(s, min(s + batch_size, len(images))))).to(device)).cpu()
        for s in range(0, len(images), batch_size)
    ]
    module.train(was_training)
    return torch.cat(logits)


def positive_weights(images: ScanImages, kb: KnowledgeBase, cap: float) -> torch.Tensor:
    """Per biomarker: known negatives / known positives among the training scans, clipped to [1, cap]."""
    targets = label_targets(images.records, kb)
    positives = (targets["biomarkers"] * targets["known"]).sum(0)
    negatives = targets["known"].sum(0) - positives
    return (negatives / positives.clamp(min=1)).clamp(1.0, max(1.0, cap))


def token_positive_weights(
    images: ScanImages, grid: tuple[int, int], bit_positions: list[int], cap: float
) -> torch.Tensor:
    """Per biomarker: negative / positive tokens over the training scans' unaugmented masks, clipped to [1, cap]."""
    cells = token_targets(np.stack(images.masks), grid, bit_positions).reshape(-1, len(bit_positions))
    positives = cells.sum(0)
    return torch.from_numpy((len(cells) - positives) / np.maximum(positives, 1)).float().clamp(1.0, max(1.0, cap))


def _seed(*parts) -> int:
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:4], "little")


@dataclass(frozen=True)
class Draw:
    """One scan drawn into a step's batch: its index among the training scans, and which of its draws this
    epoch it is (0 unless its cohort is weighted up)."""

    scan: int
    copy: int

    def view_seed(self, seed: int, epoch: int, view: int) -> int:
        """The augmentation seed of one view; a scan's first draw of an epoch keeps the one-cohort seeds."""
        return _seed(seed, epoch, self.scan, view, *([self.copy] if self.copy else []))


def epoch_draws(weights: np.ndarray, seed: int, epoch: int) -> list[Draw]:
    """One epoch of stage 0: as many draws as scans, shared out by the per-scan `weights` (systematic
    sampling, `allocate`: a cohort gets its weight's share within one draw), shuffled by (seed, epoch).

    With equal weights every scan is drawn once, in the order of a seeded permutation. A scan drawn twice
    in an epoch gets another augmentation per draw (its `copy`).
    """
    counts = allocate(len(weights), weights, random.Random(f"{seed}/{epoch}/allocate").random())
    scans = np.repeat(np.arange(len(counts)), counts)
    copies = np.concatenate([np.arange(count) for count in counts])
    order = np.random.default_rng(_seed(seed, epoch)).permutation(len(scans))
    return [Draw(int(scans[i]), int(copies[i])) for i in order]


def linear_probe(encoder: OCTEncoder, train: ScanImages, evaluate: ScanImages, kb: KnowledgeBase) -> dict[str, float]:
    """F1 per biomarker of a logistic regression on frozen pooled features (known labels only); their mean;
    macro-F1 of stage, referral and, where the scans tell conditions apart (DME against AMD or a healthy macula in a
    real cohort), condition: the one label that separates DME from active wet AMD, which share referral and fluid."""
    x_train, x_eval = pooled_features(encoder, train), pooled_features(encoder, evaluate)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_eval = (x_train - mean) / std, (x_eval - mean) / std
    scores = {}
    for bid in kb.biomarker_ids:
        f1 = _probe_f1(
            x_train, [r.biomarkers.get(bid) if r.known(bid) else None for r in train.records], x_eval,
            [r.biomarkers.get(bid) if r.known(bid) else None for r in evaluate.records], "present",
        )  # fmt: skip
        if f1 is not None:
            scores[f"f1_{bid}"] = f1
    if scores:
        scores["biomarker_mean_f1"] = float(np.mean(list(scores.values())))
    for kind, label in (
        ("stage", attrgetter("stage")),
        ("referral", attrgetter("referral")),
        ("condition", condition_label),
    ):
        f1 = _probe_f1(x_train, [label(r) for r in train.records], x_eval, [label(r) for r in evaluate.records])
        if f1 is not None:
            scores[f"{kind}_macro_f1"] = f1
    return scores


def _probe_f1(
    x_train: np.ndarray, y_train: list, x_eval: np.ndarray, y_eval: list, positive: str | None = None
) -> float | None:
    """F1 (binary for `positive`, else macro) of a balanced logistic regression; None where untestable."""
    train_rows = [i for i, y in enumerate(y_train) if y is not None]
    eval_rows = [i for i, y in enumerate(y_eval) if y is not None]
    labels_train = np.array([y_train[i] for i in train_rows])
    labels_eval = np.array([y_eval[i] for i in eval_rows])
    if len(set(labels_train)) < 2 or not len(labels_eval):
        return None  # one class only, or nothing known to score
    if positive is not None and positive not in labels_eval:
        return None
    probe = LogisticRegression(max_iter=2000, class_weight="balanced").fit(x_train[train_rows], labels_train)
    predicted = probe.predict(x_eval[eval_rows])
    if positive is not None:
        return float(f1_score(labels_eval, predicted, pos_label=positive))
    return float(f1_score(labels_eval, predicted, average="macro"))


def _mask_bit_positions(cohort, kb: KnowledgeBase) -> list[int]:
    try:
        return bit_positions(cohort, kb.biomarker_ids)
    except LesionMaskError as exc:
        raise ConfigError(f"data.cohort: {exc}; use ssl.token_head=mil or none") from None


class EncoderPretraining:
    """Stage 0 for the shared lifecycle: only the encoder (and the objective's heads) trains.

    The saved model is the whole VLM with its encoder changed, so stage 1 starts from it.
    """

    metric_prefix = "probe"

    def __init__(
        self,
        cfg: StageConfig,
        model: RetinaVLM,
        kb: KnowledgeBase,
        splits: CohortSplits,
        accelerator: Accelerator,
        log: Callable[[str], None],
    ):
        self.cfg, self.kb, self.log = cfg, kb, log
        model.trainable_parts(encoder=True, adapter=False, lora=False, llm=False)
        augment = augment_config(cfg.data.augment, model.processor.image_size)
        with_masks = cfg.ssl.token_head == "masks"  # validation allows it with the supervised method only
        self.bit_positions = _mask_bit_positions(cfg.data.cohort, kb) if with_masks else []
        self.train_images = ScanImages(
            splits.train, model.processor, augment, masks_from=cfg.data.cohort if with_masks else None
        )
        self.val_images = ScanImages(splits.validation, model.processor, augment)
        self.refused = self.train_images.refused + self.val_images.refused
        if not len(self.train_images):
            raise ConfigError(f"{cfg.source}: data.cohort {cfg.data.cohort}: no readable training scans")

        random_encoder = create_encoder(model.config.encoder.name, model.config.encoder.image_size)
        self.probe = {
            "method": cfg.ssl.method,
            "random_init": linear_probe(random_encoder, self.train_images, self.val_images, kb),
        }
        supervised = cfg.ssl.method == "supervised"
        weights = positive_weights(self.train_images, kb, cfg.ssl.max_positive_weight) if supervised else None
        token_weights = (
            token_positive_weights(
                self.train_images, model.encoder.grid, self.bit_positions, cfg.ssl.max_token_positive_weight
            )
            if with_masks
            else None
        )
        sizes = (len(kb.biomarker_ids), len(kb.stage_ids), len(kb.referral_ids))
        conditions = 0
        if cfg.ssl.condition_head and conditions_told_apart(self.train_images.records, kb):
            conditions = len(condition_classes(kb))
            log(f"condition head: {', '.join(condition_classes(kb))}")
        elif cfg.ssl.condition_head:
            log("condition head: not trained (the training scans name no condition, or only one)")
        self.module: EncoderObjective = build_objective(
            cfg.ssl, model.encoder, model.processor.image_size, sizes, weights, token_weights, conditions
        )
        self.weights = splits.sampling_weights(self.train_images.records)  # each cohort's share of the draws
        self.steps_per_epoch = max(1, len(self.train_images) // cfg.train.batch_size)

    def batch(self, step: int) -> list[Draw]:
        """The training draws of a global step: the epoch's draws shuffled by (seed, epoch), cut into batches."""
        epoch, position = divmod(step, self.steps_per_epoch)
        t = self.cfg.train
        return epoch_draws(self.weights, t.seed, epoch)[position * t.batch_size : (position + 1) * t.batch_size]

    def loss(self, module: torch.nn.Module, draws: list[Draw], step: int, offset: int) -> torch.Tensor:
        """The objective's loss on `draws`, the part of the step's batch that starts at `offset`."""
        t, images = self.cfg.train, self.train_images
        device = next(self.module.parameters()).device
        epoch = step // self.steps_per_epoch
        indices = [draw.scan for draw in draws]
        targets: dict[str, torch.Tensor] = {}
        if self.bit_positions:
            pixels, fields = images.batch_with_masks(indices, [draw.view_seed(t.seed, epoch, 0) for draw in draws])
            views = [pixels]
            grid = self.module.encoder.grid
            targets["token_biomarkers"] = torch.from_numpy(token_targets(fields, grid, self.bit_positions))
        else:
            views = [
                images.batch(indices, [draw.view_seed(t.seed, epoch, v) for draw in draws])
                for v in range(self.module.views)
            ]
        if self.cfg.ssl.method == "supervised":
            targets.update(label_targets([images.records[i] for i in indices], self.kb))
        if self.cfg.ssl.method == "mae":
            # One draw for the whole step's batch, so the cells a scan loses do not depend on how the
            # batch is split over processes and accumulation steps.
            cells = self.module.encoder.grid[0] * self.module.encoder.grid[1]
            generator = torch.Generator().manual_seed(_seed(t.seed, step))
            mask = torch.rand(t.batch_size, cells, generator=generator) < self.cfg.ssl.mask_ratio
            targets["mask"] = mask[offset : offset + len(indices)]
        views = [v.to(device) for v in views]
        return module(views, {k: v.to(device) for k, v in targets.items()})

    def after_step(self, step: int, total_steps: int) -> None:
        self.module.after_step(step, total_steps)

    def validate(self, final: bool) -> dict[str, float]:
        """The supervised heads' scores (`HEAD_SCORES`) at every validation; with `final`, also the pretrained
        encoder's linear probe (at the end of the stage only: it refits every probe)."""
        results = {}
        if isinstance(self.module, SupervisedWarmUp) and len(self.val_images):
            logits = scan_logits(self.module, self.val_images, self.cfg.validation.batch_size)
            results = head_scores(logits, self.val_images.records, self.kb)
        if final:
            self.probe["pretrained"] = linear_probe(self.module.encoder, self.train_images, self.val_images, self.kb)
            results.update(self.probe["pretrained"])
        return results

    def finish(self, out: Path) -> dict:
        """Write `probe.json`; the summary's extra fields."""
        write_json(out / "probe.json", self.probe)
        before = self.probe["random_init"].get("biomarker_mean_f1", float("nan"))
        after = self.probe.get("pretrained", {}).get("biomarker_mean_f1", float("nan"))
        self.log(f"linear probe biomarker mean F1: random init {before:.3f}, after {self.cfg.ssl.method} {after:.3f}")
        return {"probe": self.probe}
