"""Measure the synthetic-real gap on encoder features, and the supervised CNN baselines on a real cohort.

For each encoder (a random one, and stage-0 checkpoints given as NAME=FOLDER) and each framing (the whole
scan resized, or the fovea crop at a fraction), on pooled encoder features (`pool_tokens`):
- probes: a logistic regression for referral (and stage where the real cohort knows it) trained on the
  synthetic cohort's training scans, scored (macro-F1) on the real validation scans; beside it the same
  probe trained on the real training scans;
- domain AUC: a logistic regression telling real from synthetic scans, 5-fold cross-validated ROC AUC
  (0.5: the features cannot tell them apart).
With --finetune, each encoder is also fine-tuned as a scan classifier (retinavlm.train.scan_classifier) on
the real training patients and scored on the validation patients; --test scores the test patients too
(do that once, after every setting is chosen on validation).

    python scripts/measure_domain_gap.py --real ../shared/data/kermany-oct2017 --synthetic runs/cohort \\
        --encoder stage0=runs/stage0/final --out gap.json [--finetune] [--test]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from retinavlm.atomic import write_json
from retinavlm.data.cohorts.splits import SplitConfig
from retinavlm.data.quality import padding_mask
from retinavlm.knowledge import load_knowledge
from retinavlm.model.encoder import create_encoder, pool_tokens
from retinavlm.train.records import ScanRecord, load_splits
from retinavlm.train.scan_classifier import (
    ClassifierConfig,
    encoder_inputs,
    label_signature,
    load_squares,
    train_scan_classifier,
)

ENCODER = "resnet_tiny_s16"
FRAMINGS = {"whole": ("none", 1.0), "fovea0.5": ("fovea", 0.5), "whole_centred": ("none", 1.0)}
RPE_ROW = 0.6  # where "whole_centred" puts the brightest band; synthetic scans have it there, real ones higher


def centre_retina(squares: np.ndarray) -> np.ndarray:
    """Shift each square vertically so its brightest row band (the RPE complex) sits at RPE_ROW of the height.

    The candidate common ground of the "whole_centred" framing: real Spectralis scans frame the retina high,
    the renderer in the middle. Registration padding (flat white from an edge) is blanked before the search.
    """
    out = np.zeros_like(squares)
    for i, square in enumerate(squares):
        clean = np.where(padding_mask(square), 0.0, square)
        profile = ndimage.gaussian_filter1d(np.median(clean, axis=1), sigma=2)  # median: wedges span few columns
        edge = len(profile) // 32  # a padded frame's white edge line is not the retina
        shift = int(round(RPE_ROW * len(profile))) - (edge + int(np.argmax(profile[edge:-edge])))
        out[i] = np.roll(clean, shift, axis=0)
        if shift > 0:
            out[i, :shift] = np.median(clean[: max(1, len(profile) // 8)])
        elif shift < 0:
            out[i, shift:] = np.median(clean[-max(1, len(profile) // 8) :])
    return out


def probe(x_train: np.ndarray, y_train: list, x_eval: np.ndarray, y_eval: list) -> float:
    """Macro-F1 over the evaluation labels of a balanced logistic regression on standardised features."""
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, class_weight="balanced"))
    model.fit(x_train, y_train)
    return float(f1_score(y_eval, model.predict(x_eval), labels=sorted(set(y_eval)), average="macro"))


def domain_auc(real: np.ndarray, synthetic: np.ndarray, seed: int) -> float:
    x = np.concatenate([real, synthetic])
    y = np.r_[np.ones(len(real)), np.zeros(len(synthetic))]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=0.1))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    return float(cross_val_score(model, x, y, cv=folds, scoring="roc_auc").mean())


@torch.no_grad()
def features(encoder: torch.nn.Module, squares: np.ndarray, batch_size: int = 64) -> np.ndarray:
    encoder.eval()
    chunks = [
        pool_tokens(encoder(encoder_inputs(squares[s : s + batch_size]))) for s in range(0, len(squares), batch_size)
    ]
    return torch.cat(chunks).numpy()


def encoder_weights(folder: str) -> str:
    path = Path(folder) / "encoder.safetensors"
    if not path.is_file():
        sys.exit(f"error: {folder}: no encoder.safetensors (give a stage-0 checkpoint folder, e.g. RUN/final)")
    return str(path)


def labelled(records: list[ScanRecord], key: str) -> tuple[list[int], list[str]]:
    rows = [(i, getattr(r, key)) for i, r in enumerate(records) if getattr(r, key) is not None]
    return [i for i, _ in rows], [v for _, v in rows]


def gap_rows(
    encoders: dict, real, synthetic: list[ScanRecord], seed: int, image_size: int, framings: list[str]
) -> list[dict]:
    rows = []
    for framing in framings:
        crop, fraction = FRAMINGS[framing]
        config = ClassifierConfig(image_size=image_size, crop=crop, crop_fraction=fraction)
        squares = {name: load_squares(records, config) for name, records in real.items()}
        squares["synthetic"] = load_squares(synthetic, config)
        if framing == "whole_centred":
            squares = {name: centre_retina(s) for name, s in squares.items()}
        for name, weights in encoders.items():
            torch.manual_seed(seed)
            encoder = create_encoder(ENCODER, image_size, weights)
            x = {split: features(encoder, s) for split, s in squares.items()}
            row = {"encoder": name, "framing": framing}
            for key in ("referral", "stage"):
                syn_i, syn_y = labelled(synthetic, key)
                tr_i, tr_y = labelled(real["train"], key)
                va_i, va_y = labelled(real["validation"], key)
                row[f"{key}_probe_synthetic_to_real"] = probe(x["synthetic"][syn_i], syn_y, x["validation"][va_i], va_y)
                row[f"{key}_probe_real_to_real"] = probe(x["train"][tr_i], tr_y, x["validation"][va_i], va_y)
            pick = np.random.default_rng(seed).permutation(len(synthetic))[: len(x["train"]) + len(x["validation"])]
            row["domain_auc"] = domain_auc(np.concatenate([x["train"], x["validation"]]), x["synthetic"][pick], seed)
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def finetune_rows(encoders: dict, real, seed: int, epochs: int, score_test: bool, image_size: int) -> list[dict]:
    rows = []
    for name, weights in encoders.items():
        start = time.time()
        trained = train_scan_classifier(
            real["train"],
            real["validation"],
            ClassifierConfig(image_size=image_size, encoder_weights=weights, epochs=epochs, seed=seed),
            log=lambda message, name=name: print(f"{name}: {message}", file=sys.stderr, flush=True),
        )
        row = {"encoder": name, "seed": seed, "best_epoch": trained.best_epoch, "seconds": round(time.time() - start)}
        for split in ("validation", "test") if score_test else ("validation",):
            records = real[split]
            predicted = trained.predict(records)
            row[f"{split}_referral_macro_f1"] = float(
                f1_score([r.referral for r in records], [p.referral for p in predicted], average="macro")
            )
            row[f"{split}_class_accuracy"] = float(
                accuracy_score([str(label_signature(r)) for r in records], [str(p) for p in predicted])
            )
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", required=True, help="a real cohort source (e.g. the Kermany class folders)")
    parser.add_argument("--synthetic", required=True, help="a `retinavlm synth` cohort folder")
    parser.add_argument(
        "--encoder", action="append", default=[], help="random, or NAME=STAGE0_FOLDER (repeatable; default random)"
    )
    parser.add_argument("--out", required=True, help="JSON file for the figures")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image-size", type=int, default=128, help="the encoders' input side (192 in the curricula)")
    parser.add_argument(
        "--framing", action="append", choices=list(FRAMINGS), help="framings to probe (repeatable; default all)"
    )
    parser.add_argument("--finetune", action="store_true", help="also fine-tune a scan classifier per encoder")
    parser.add_argument("--no-gap", action="store_true", help="skip the probes and domain AUC")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--test", action="store_true", help="score the fine-tuned classifiers on the test patients")
    args = parser.parse_args()
    torch.set_num_threads(2)
    kb = load_knowledge()
    splits = load_splits(args.real, kb, SplitConfig())
    real = {"train": splits.train, "validation": splits.validation, "test": splits.test}
    synthetic = load_splits(args.synthetic, kb, SplitConfig()).train
    specs = [e.split("=", 1) for e in args.encoder or ["random"]]
    encoders = {s[0]: None if s == ["random"] else encoder_weights(s[-1]) for s in specs}
    result: dict = {"real": args.real, "synthetic": args.synthetic, "seed": args.seed}
    if not args.no_gap:
        result["gap"] = gap_rows(encoders, real, synthetic, args.seed, args.image_size, args.framing or list(FRAMINGS))
    if args.finetune:
        result["finetune"] = finetune_rows(encoders, real, args.seed, args.epochs, args.test, args.image_size)
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
