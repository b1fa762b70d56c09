"""A plain supervised scan classifier: an OCT encoder and a linear head, the baseline a user would pick
instead of the VLM.

The classes are the distinct known label signatures of the training split (stage, referral, condition and
the known biomarker states), so a partially labelled cohort works as it is: on Kermany the four class
folders become four signatures. A predicted class carries its signature's labels, so its referral (and its
stage, where known) is read from the class and written as a short report the grader reads back.
Epochs are chosen on the validation patients (macro-F1 over the classes, early stopping); the same seed
gives the same model.
"""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file
from sklearn.metrics import f1_score
from torch import nn

from retinavlm.atomic import atomic_dir, write_json, write_jsonl
from retinavlm.data.augment import AugmentConfig, encoder_square, mask_above_retina, train_transform
from retinavlm.data.io import read_scan
from retinavlm.errors import RetinaVLMError
from retinavlm.knowledge import KnowledgeBase
from retinavlm.model.checkpoint import save_tensors
from retinavlm.model.encoder import OCTEncoder, create_encoder, pool_tokens
from retinavlm.train.records import ScanRecord

PIXEL_MEAN, PIXEL_STD = 0.5, 0.5  # the encoder config's defaults, so a stage-0 encoder sees what it trained on


class ClassifierError(RetinaVLMError):
    """A cohort or setting the classifier cannot train on; `str()` names it and the problem."""


@dataclass(frozen=True)
class LabelSignature:
    """What is known about a scan, as one class: None (or a biomarker left out) means unknown."""

    stage: str | None
    referral: str | None
    condition: str | None
    findings: tuple[tuple[str, str], ...]  # (biomarker id, "present"/"absent"), sorted by id

    def present(self) -> list[str]:
        return [bid for bid, state in self.findings if state == "present"]

    def name(self) -> str:
        parts = [self.condition or self.stage or "stage unknown", f"referral {self.referral or 'unknown'}"]
        return ", ".join(parts + [f"{bid} {state}" for bid, state in self.findings if state == "present"])


def label_signature(record: ScanRecord) -> LabelSignature:
    known = tuple(sorted((bid, s) for bid, s in record.biomarkers.items() if s in ("present", "absent")))
    return LabelSignature(record.stage, record.referral, getattr(record, "condition", None), known)


@dataclass(frozen=True)
class ClassifierConfig:
    """`encoder_weights`: a safetensors state dict of the encoder (e.g. a stage-0 checkpoint's
    `encoder.safetensors`); None trains from scratch. `crop="none"` feeds the whole scan, resized."""

    encoder: str = "resnet_tiny_s16"
    image_size: int = 128
    crop: str = "none"
    crop_fraction: float = 1.0
    encoder_weights: str | None = None
    mask_above_retina: bool = False  # blank the vitreous in every split (augment.mask_above_retina)
    epochs: int = 30
    patience: int = 8
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    augment: bool = True
    seed: int = 0


class ScanClassifier(nn.Module):
    """Encoder tokens, pooled (mean and max, `pool_tokens`), then one linear layer to the class logits."""

    def __init__(self, encoder: OCTEncoder, n_classes: int):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(2 * encoder.dim, n_classes)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.head(pool_tokens(self.encoder(pixels)))


@dataclass
class TrainedClassifier:
    model: ScanClassifier
    classes: list[LabelSignature]
    config: ClassifierConfig
    best_epoch: int
    validation_macro_f1: float
    history: list[dict[str, float]]

    def predict(self, records: Sequence[ScanRecord]) -> list[LabelSignature]:
        squares = load_squares(records, self.config)
        return [self.classes[i] for i in predict_indices(self.model, squares)]


MODEL_FILE, INFO_FILE = "model.safetensors", "classifier.json"


def save_classifier(trained: TrainedClassifier, folder: str | os.PathLike) -> None:
    """Weights (safetensors), classes, settings and epoch choice, written atomically, so that a run scoring
    another split of the same patients reuses the model instead of training it again."""
    with atomic_dir(folder) as tmp:
        save_tensors(trained.model.state_dict(), tmp / MODEL_FILE)
        write_json(
            tmp / INFO_FILE,
            {
                "config": asdict(trained.config),
                "classes": [asdict(c) for c in trained.classes],
                "best_epoch": trained.best_epoch,
                "validation_macro_f1": trained.validation_macro_f1,
                "history": trained.history,
            },
        )


def load_classifier(folder: str | os.PathLike) -> TrainedClassifier:
    """A classifier `save_classifier` wrote; a missing, truncated or mismatched file is a ClassifierError."""
    folder = Path(folder)
    try:
        info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
        config = ClassifierConfig(**info["config"])
        classes = [
            LabelSignature(c["stage"], c["referral"], c["condition"], tuple(tuple(f) for f in c["findings"]))
            for c in info["classes"]
        ]
        model = ScanClassifier(create_encoder(config.encoder, config.image_size, None), len(classes))
        model.load_state_dict(load_file(str(folder / MODEL_FILE)))
    except KeyError as exc:
        raise ClassifierError(f"{folder}: not a readable saved classifier ({INFO_FILE} lacks {exc})") from exc
    except (OSError, ValueError, TypeError, RuntimeError, SafetensorError) as exc:
        raise ClassifierError(f"{folder}: not a readable saved classifier ({exc})") from exc
    model.eval()
    return TrainedClassifier(
        model, classes, config, info["best_epoch"], info["validation_macro_f1"], info.get("history", [])
    )


def load_squares(records: Sequence[ScanRecord], config: ClassifierConfig) -> np.ndarray:
    """(N, S, S) encoder squares in [0, 1], read and cropped once (and their vitreous masked, when set)."""
    squares = np.stack(
        [
            encoder_square(
                np.asarray(read_scan(r.image).pixels, np.float32), config.image_size, config.crop, config.crop_fraction
            )
            for r in records
        ]
    )
    return np.stack([mask_above_retina(s) for s in squares]) if config.mask_above_retina else squares


def encoder_inputs(squares: np.ndarray) -> torch.Tensor:
    return ((torch.from_numpy(np.ascontiguousarray(squares, np.float32)) - PIXEL_MEAN) / PIXEL_STD).unsqueeze(1)


@torch.no_grad()
def predict_indices(model: ScanClassifier, squares: np.ndarray, batch_size: int = 64) -> list[int]:
    model.eval()
    logits = [model(encoder_inputs(squares[s : s + batch_size])) for s in range(0, len(squares), batch_size)]
    return torch.cat(logits).argmax(1).tolist()


def class_table(records: Sequence[ScanRecord]) -> tuple[list[LabelSignature], list[int]]:
    """The training split's classes (sorted, so the order is stable) and each record's class index."""
    signatures = [label_signature(r) for r in records]
    classes = sorted(set(signatures), key=lambda s: (s.name(), repr(s)))
    if len(classes) < 2:
        only = classes[0].name() if classes else "none"
        raise ClassifierError(f"training split: {len(classes)} known label signature ({only}); a classifier needs two")
    index = {c: i for i, c in enumerate(classes)}
    return classes, [index[s] for s in signatures]


def train_scan_classifier(
    train: Sequence[ScanRecord],
    validation: Sequence[ScanRecord],
    config: ClassifierConfig = ClassifierConfig(),
    log: Callable[[str], None] | None = None,
) -> TrainedClassifier:
    """Fine-tune encoder and head on `train`; keep the epoch with the best validation macro-F1 over the classes.

    Validation scans whose signature is not a training class are left out of the selection score.
    """
    classes, train_y = class_table(train)
    index = {c: i for i, c in enumerate(classes)}
    val_pairs = [(r, index[label_signature(r)]) for r in validation if label_signature(r) in index]
    if not val_pairs:
        raise ClassifierError("validation split: no scan of a training class to choose the epoch on")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    encoder = create_encoder(config.encoder, config.image_size, config.encoder_weights)
    model = ScanClassifier(encoder, len(classes))
    train_squares = load_squares(train, config)
    val_squares = load_squares([r for r, _ in val_pairs], config)
    val_y = [y for _, y in val_pairs]
    counts = Counter(train_y)
    weight = torch.tensor([len(train_y) / (len(classes) * counts[i]) for i in range(len(classes))], dtype=torch.float32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    # One seeded augmentation stream for the run: building a pipeline per example costs more than applying it.
    augment = train_transform(AugmentConfig(size=config.image_size, seed=config.seed)) if config.augment else None
    targets = torch.tensor(train_y)
    best = (-1.0, -1, copy.deepcopy(model.state_dict()))
    history: list[dict[str, float]] = []
    for epoch in range(config.epochs):
        model.train()
        order = rng.permutation(len(train_y))
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            pixels = np.stack(
                [augment(image=train_squares[i])["image"] if augment else train_squares[i] for i in batch]
            )
            loss = F.cross_entropy(model(encoder_inputs(pixels)), targets[batch], weight=weight)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        schedule.step()
        score = float(f1_score(val_y, predict_indices(model, val_squares), average="macro"))
        history.append({"epoch": epoch + 1, "train_loss": total / len(order), "validation_macro_f1": score})
        if log is not None:
            log(f"epoch {epoch + 1}: train loss {total / len(order):.4f}, validation macro-F1 {score:.3f}")
        if score > best[0]:
            best = (score, epoch + 1, copy.deepcopy(model.state_dict()))
        elif epoch + 1 - best[1] >= config.patience:
            break
    model.load_state_dict(best[2])
    model.eval()
    return TrainedClassifier(model, classes, config, best[1], best[0], history)


def class_report(signature: LabelSignature, kb: KnowledgeBase) -> str:
    """A report stating only what the class knows: its present findings, its stage and its referral."""
    findings = [kb.biomarkers[bid].name for bid in signature.present()]
    parts = [f"Findings: {', '.join(findings)}." if findings else "No finding is named."]
    if signature.stage is not None:
        parts.append(f"Stage: {kb.stage(signature.stage).name}.")
    if signature.referral is not None:
        parts.append(f"Referral: {kb.referral(signature.referral).name}.")
    return " ".join(parts)


def write_predictions(
    path: str | os.PathLike,
    records: Sequence[ScanRecord],
    predicted: Sequence[LabelSignature],
    kb: KnowledgeBase,
    system: str,
) -> None:
    """One interchange-format row per scan (`id`, `report`, `model`), for `retinavlm evaluate`."""
    write_jsonl(
        path, ({"id": r.id, "report": class_report(p, kb), "model": system} for r, p in zip(records, predicted))
    )
