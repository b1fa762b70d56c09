"""Stage 0: encoder pretraining before any language, and the linear probe that says whether it helped.

Objectives (`ssl.method`):
- `simclr`: two augmented views of each scan, NT-Xent on a projection of the pooled tokens (CNN or ViT);
- `mae`: masked-patch reconstruction: cells of the encoder's token grid are blanked and each token
  predicts its cell's pixels, MAE-style (works for the ViT's patches and the CNN's grid alike);
- `supervised`: a warm-up on the training split's labels (biomarker presence, stage, referral), for
  when self-supervision cannot learn enough on a small CPU budget. It is not self-supervised, and
  the probe record says which method ran. `ssl.token_head` adds a biomarker head on every token:
  `mil` ties its strongest token to the scan's label, `masks` also teaches each token from the
  cohort's lesion masks whether a lesion touches its cell.

The probe: a logistic regression per biomarker on the frozen, pooled (mean and max) encoder features of the
training split, scored (F1) on the validation split; run for a randomly initialised encoder and for
the pretrained one, and written to `probe.json`.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from torch import nn
from tqdm.auto import tqdm

from retinavlm.atomic import write_json
from retinavlm.data.cohorts.splits import SplitConfig
from retinavlm.data.lesion_masks import LesionMaskError, bit_positions, token_targets
from retinavlm.knowledge import KnowledgeBase, load_knowledge
from retinavlm.model.encoder import OCTEncoder, create_encoder, pool_tokens
from retinavlm.train import checkpoint as ckpt
from retinavlm.train.config import ConfigError, StageConfig
from retinavlm.train.features import pooled_features
from retinavlm.train.images import ScanImages, augment_config
from retinavlm.train.metrics_log import MetricsLog
from retinavlm.train.records import load_splits
from retinavlm.train.trainer import FINAL, SUMMARY, StageResult, build_optimizer, config_hash, load_model, lr_lambda


class Objective(nn.Module):
    """The encoder plus the heads its pretraining objective needs; `loss(batch)` is one step's loss."""

    def __init__(
        self,
        encoder: OCTEncoder,
        image_size: int,
        cfg: StageConfig,
        kb: KnowledgeBase,
        positive_weight: torch.Tensor | None = None,
        token_positive_weight: torch.Tensor | None = None,
    ):
        super().__init__()
        self.encoder = encoder
        self.method = cfg.ssl.method
        self.ssl = cfg.ssl
        dim = encoder.dim
        if self.method == "simclr":
            self.head = nn.Sequential(nn.Linear(2 * dim, dim), nn.ReLU(), nn.Linear(dim, cfg.ssl.projection_dim))
        elif self.method == "mae":
            cell = image_size // encoder.grid[1]
            self.head = nn.Linear(dim, cell * cell)
        else:
            self.head = nn.Linear(2 * dim, len(kb.biomarker_ids) + len(kb.stage_ids) + len(kb.referral_ids))
            if cfg.ssl.token_head != "none":
                self.token_head = nn.Linear(dim, len(kb.biomarker_ids))
        self.sizes = (len(kb.biomarker_ids), len(kb.stage_ids), len(kb.referral_ids))
        self.register_buffer("positive_weight", positive_weight, persistent=False)
        self.register_buffer("token_positive_weight", token_positive_weight, persistent=False)

    def loss(self, views: list[torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.method == "simclr":
            z = F.normalize(self.head(pool_tokens(self.encoder(torch.cat(views)))), dim=1)
            return nt_xent(z, self.ssl.temperature)
        if self.method == "mae":
            return self.masked_reconstruction(views[0], targets["mask_seed"])
        tokens = self.encoder(views[0])
        logits = self.head(pool_tokens(tokens))
        nb, ns, _ = self.sizes
        loss = (
            F.binary_cross_entropy_with_logits(logits[:, :nb], targets["biomarkers"], pos_weight=self.positive_weight)
            + F.cross_entropy(logits[:, nb : nb + ns], targets["stage"])
            + F.cross_entropy(logits[:, nb + ns :], targets["referral"])
        )
        if self.ssl.token_head == "none":
            return loss
        token_logits = self.token_head(tokens)
        # A soft maximum over the tokens (log-mean-exp): the scan has the finding where its strongest token sees it.
        strongest = torch.logsumexp(token_logits, dim=1) - math.log(tokens.shape[1])
        loss = loss + F.binary_cross_entropy_with_logits(
            strongest, targets["biomarkers"], pos_weight=self.positive_weight
        )
        if self.ssl.token_head == "masks":
            loss = loss + F.binary_cross_entropy_with_logits(
                token_logits, targets["token_biomarkers"], pos_weight=self.token_positive_weight
            )
        return loss

    def masked_reconstruction(self, pixels: torch.Tensor, seed: torch.Tensor) -> torch.Tensor:
        rows, cols = self.encoder.grid
        cell = pixels.shape[-1] // cols
        generator = torch.Generator().manual_seed(int(seed))
        mask = torch.rand(pixels.shape[0], rows * cols, generator=generator) < self.ssl.mask_ratio
        cells = pixels.unfold(2, cell, cell).unfold(3, cell, cell).reshape(pixels.shape[0], rows * cols, cell * cell)
        blanked = torch.where(mask.unsqueeze(-1).to(pixels.device), torch.zeros_like(cells), cells)
        image = blanked.reshape(pixels.shape[0], rows, cols, cell, cell).permute(0, 1, 3, 2, 4).reshape_as(pixels)
        predicted = self.head(self.encoder(image))
        return ((predicted - cells) ** 2).mean(-1)[mask.to(pixels.device)].mean()


def nt_xent(z: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's loss: row i of the first half and row i of the second are the positive pair."""
    n = z.shape[0] // 2
    similarity = z @ z.T / temperature
    similarity.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(similarity, targets)


def _targets(images: ScanImages, indices: list[int], kb: KnowledgeBase) -> dict[str, torch.Tensor]:
    records = [images.records[i] for i in indices]
    return {
        "biomarkers": torch.tensor(
            [[r.biomarkers[b] == "present" for b in kb.biomarker_ids] for r in records], dtype=torch.float32
        ),
        "stage": torch.tensor([kb.stage_ids.index(r.stage) for r in records]),
        "referral": torch.tensor([kb.referral_ids.index(r.referral) for r in records]),
    }


def positive_weights(images: ScanImages, kb: KnowledgeBase, cap: float) -> torch.Tensor:
    """Per biomarker: negatives / positives among the training scans, clipped to [1, cap]."""
    present = _targets(images, list(range(len(images))), kb)["biomarkers"]
    positives = present.sum(0)
    return ((len(present) - positives) / positives.clamp(min=1)).clamp(1.0, max(1.0, cap))


def token_positive_weights(
    images: ScanImages, grid: tuple[int, int], bit_positions: list[int], cap: float
) -> torch.Tensor:
    """Per biomarker: negative / positive tokens over the training scans' unaugmented masks, clipped to [1, cap]."""
    cells = token_targets(np.stack(images.masks), grid, bit_positions).reshape(-1, len(bit_positions))
    positives = cells.sum(0)
    return torch.from_numpy((len(cells) - positives) / np.maximum(positives, 1)).float().clamp(1.0, max(1.0, cap))


def _seed(*parts) -> int:
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:4], "little")


def linear_probe(encoder: OCTEncoder, train: ScanImages, evaluate: ScanImages, kb: KnowledgeBase) -> dict[str, float]:
    """F1 per biomarker of a logistic regression on frozen pooled features; mean over testable ones."""
    x_train, x_eval = pooled_features(encoder, train), pooled_features(encoder, evaluate)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_eval = (x_train - mean) / std, (x_eval - mean) / std
    scores = {}
    for bid in kb.biomarker_ids:
        y_train = np.array([r.biomarkers[bid] == "present" for r in train.records])
        y_eval = np.array([r.biomarkers[bid] == "present" for r in evaluate.records])
        if y_train.all() or not y_train.any() or not y_eval.any():
            continue  # untestable here: one class only
        probe = LogisticRegression(max_iter=2000, class_weight="balanced").fit(x_train, y_train)
        scores[f"f1_{bid}"] = float(f1_score(y_eval, probe.predict(x_eval)))
    if scores:
        scores["biomarker_mean_f1"] = float(np.mean(list(scores.values())))
    return scores


def _mask_bit_positions(cohort, kb: KnowledgeBase) -> list[int]:
    try:
        return bit_positions(cohort, kb.biomarker_ids)
    except LesionMaskError as exc:
        raise ConfigError(f"data.cohort: {exc}; use ssl.token_head=mil or none") from None


def pretrain_encoder(cfg: StageConfig, restart: bool = False, log=None) -> StageResult:
    """Run stage 0; the saved model is the whole VLM (only its encoder changed), so stage 1 starts from it."""
    import shutil

    log = log or (lambda msg: print(msg, file=sys.stderr))
    out = Path(cfg.output_dir)
    final = out / FINAL
    if restart and out.exists():
        shutil.rmtree(out)
    if (out / SUMMARY).is_file() and final.is_dir():
        log(f"{out}: stage {cfg.name} already complete; skipping (pass --restart to train again)")
        summary = json.loads((out / SUMMARY).read_text())
        return StageResult(out, final, summary["steps"], summary["seconds"], summary.get("probe", {}))
    kb = load_knowledge()
    t = cfg.train
    torch.manual_seed(t.seed)
    splits = load_splits(
        cfg.data.cohort, kb, SplitConfig(cfg.data.validation_fraction, cfg.data.test_fraction, cfg.data.split_seed)
    )
    model = load_model(cfg, "cpu")
    augment = augment_config(cfg.data.augment, model.processor.image_size)
    train_records = splits.train[: cfg.data.max_train_scans] if cfg.data.max_train_scans else splits.train
    with_masks = cfg.ssl.token_head == "masks"  # validation allows it with the supervised method only
    bit_positions = _mask_bit_positions(cfg.data.cohort, kb) if with_masks else []
    train = ScanImages(train_records, model.processor, augment, masks_from=cfg.data.cohort if with_masks else None)
    val = ScanImages(splits.validation, model.processor, augment)
    for line in splits.refused + train.refused + val.refused:
        log(f"skipped: {line}")

    random_encoder = create_encoder(model.config.encoder.name, model.config.encoder.image_size)
    probe = {"method": cfg.ssl.method, "random_init": linear_probe(random_encoder, train, val, kb)}

    weights = positive_weights(train, kb, cfg.ssl.max_positive_weight) if cfg.ssl.method == "supervised" else None
    token_weights = (
        token_positive_weights(train, model.encoder.grid, bit_positions, cfg.ssl.max_token_positive_weight)
        if with_masks
        else None
    )
    objective = Objective(model.encoder, model.processor.image_size, cfg, kb, weights, token_weights)
    model.trainable_parts(encoder=True, adapter=False, lora=False, llm=False)
    objective.train()
    optimizer = build_optimizer(objective, cfg)
    steps_per_epoch = max(1, len(train) // t.batch_size)
    total = t.max_steps or max(1, math.ceil(t.epochs * steps_per_epoch))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(t.schedule.name, t.schedule.warmup_steps, total))
    checkpoints, chash = out / "checkpoints", config_hash(cfg)
    ckpt.remove_stale(checkpoints)
    step, seconds_before = 0, 0.0
    existing = ckpt.list_checkpoints(checkpoints)
    if existing:
        state = ckpt.load_checkpoint(existing[-1], objective, optimizer, scheduler, 0, 1, chash)
        step, seconds_before = state.step, state.seconds
        log(f"resuming {cfg.name} from {existing[-1]} (step {step}/{total})")
    metrics = MetricsLog(out, step)
    started = time.perf_counter()
    first_step = step
    for step in tqdm(range(first_step, total), initial=first_step, total=total, desc=cfg.name, dynamic_ncols=True):
        epoch, position = divmod(step, steps_per_epoch)
        order = np.random.default_rng(_seed(t.seed, epoch)).permutation(len(train))
        indices = order[position * t.batch_size : (position + 1) * t.batch_size].tolist()
        n_views = 2 if cfg.ssl.method == "simclr" else 1
        targets = {**_targets(train, indices, kb), "mask_seed": torch.tensor(_seed(t.seed, step))}
        if with_masks:
            pixels, fields = train.batch_with_masks(indices, [_seed(t.seed, epoch, i, 0) for i in indices])
            views = [pixels]
            targets["token_biomarkers"] = torch.from_numpy(token_targets(fields, model.encoder.grid, bit_positions))
        else:
            views = [train.batch(indices, [_seed(t.seed, epoch, i, v) for i in indices]) for v in range(n_views)]
        objective.train()
        loss = objective.loss(views, targets)
        loss.backward()
        if t.max_grad_norm is not None:
            nn.utils.clip_grad_norm_(objective.parameters(), t.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        metrics.log(step + 1, {"train/loss": loss.item(), "train/lr": scheduler.get_last_lr()[0]})
        if (step + 1) % cfg.checkpoint.every_steps == 0 and step + 1 < total:
            metrics.flush()
            elapsed = seconds_before + time.perf_counter() - started
            ckpt.save_checkpoint(
                checkpoints / f"step-{step + 1:08d}",
                objective,
                optimizer,
                scheduler,
                ckpt.TrainerState(step + 1, chash, elapsed),
                [ckpt.rng_state()],
            )
            ckpt.prune(checkpoints, cfg.checkpoint.keep_last)
    seconds = seconds_before + time.perf_counter() - started
    probe["pretrained"] = linear_probe(model.encoder, train, val, kb)
    metrics.log(total, {f"probe/{k}": v for k, v in probe["pretrained"].items()})
    metrics.close()
    model.eval()
    model.save_pretrained(final)
    write_json(out / "probe.json", probe)
    write_json(
        out / SUMMARY,
        {
            "stage": cfg.name,
            "steps": total,
            "seconds": round(seconds, 1),
            "probe": probe,
            "train_scans": len(train),
            "validation_scans": len(val),
            "knowledge": kb.version_tag,
        },
    )
    shutil.rmtree(checkpoints, ignore_errors=True)
    log(
        f"linear probe biomarker mean F1: random init {probe['random_init'].get('biomarker_mean_f1', float('nan')):.3f}, "
        f"after {cfg.ssl.method} {probe['pretrained'].get('biomarker_mean_f1', float('nan')):.3f}"
    )
    return StageResult(out, final, total, seconds, probe["pretrained"])
