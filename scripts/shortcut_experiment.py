"""Shortcut experiment: a marker that predicts referral in training, a test where it does not, what catches it,
what removes it (docs/TRAINING.md, "Shortcut learning").

    python scripts/shortcut_experiment.py --out runs/shortcut

Three synthetic cohorts of healthy and early-AMD eyes (SUBTLE_STAGES: referral turns on drusen size) with the
renderer's shortcut cue (cohort.yaml `shortcut_cue`; here a bright square, --intensity 0.85 --size 0.12, in the
vitreous corner of the encoder's fovea crop), the same patients in the first two:
- `correlated`: referable scans marked with probability p, the others with 1 - p (train and validation);
- `uncorrelated`: the same scans, each marked with probability 1/2 (train and validation);
- `broken`: new patients, every non-referable scan marked and no referable one (test).
A scan classifier (retinavlm/train/scan_classifier.py: the stage-0 encoder architecture with a linear head, the
demo encoder's fovea crop) learns referable vs not on each training split, its epoch chosen on the validation
patients of the same cohort. Three models: trained on `correlated`, on `uncorrelated`, and on `correlated` with
the vitreous masked (augment.mask_above_retina) in every split. Each is scored once on `broken`.

What catches the shortcut without a broken test set:
- a cue-only probe: a logistic regression on the pixels of the cue's corner alone, trained on the training split
  and scored on the validation split; far above chance means the label can be read off the corner;
- an evidence map: the share of each model's input-gradient saliency that falls in the cue's box and above the
  retina (where no finding lies), on the marked test scans.
Written to OUT/results.json and printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from retinavlm.atomic import write_json
from retinavlm.data.augment import mask_above_retina, vitreous_rows
from retinavlm.data.synthetic.cohort import render_cohort
from retinavlm.data.synthetic.config import CohortConfig, ShortcutCue, load_cohort_config
from retinavlm.data.synthetic.render import cue_square_box
from retinavlm.evaluation.statistics import resample_weights
from retinavlm.knowledge import load_knowledge
from retinavlm.train.records import ScanRecord
from retinavlm.train.scan_classifier import (
    ClassifierConfig,
    TrainedClassifier,
    encoder_inputs,
    load_squares,
    predict_indices,
    train_scan_classifier,
)

REFERABLE, NOT_REFERABLE = "referable", "not referable"
# Healthy and early eyes only, never progressing: referral then turns on drusen size alone (small: none, medium:
# routine), a subtle signal, as real shortcuts win where the finding is hard. With every stage the learner reads
# referral off the retina (0.96-0.99 with or without the cue) and leaves the cue alone.
SUBTLE_STAGES = {"healthy": 0.5, "early": 0.5}
CUE_PAD = 2  # pixels around the cue's box counted as the cue (the resize smears its edge)


def subtle_cohort(base: CohortConfig) -> CohortConfig:
    """The cohort config with SUBTLE_STAGES and no progression, recorded in its source (the manifest) too."""
    visits = {**base.source["visits"], "progression_probability": 0.0}
    source = {**base.source, "stage_prevalence": SUBTLE_STAGES, "visits": visits}
    return replace(base, stage_prevalence=SUBTLE_STAGES, progression_probability=0.0, source=source)


def cue_config(base: CohortConfig, p_referable: float, p_non_referable: float) -> CohortConfig:
    return base.with_shortcut_cue(replace(base.shortcut_cue, p_referable=p_referable, p_non_referable=p_non_referable))


def render_records(out_dir: Path, n: int, seed: int, config: CohortConfig) -> list[ScanRecord]:
    """Render a cohort and read it back as records whose only label is referable or not (the `condition`)."""
    render_cohort(n, out_dir, seed=seed, config=config)
    no_referral = load_knowledge().referrals[0].id
    records = []
    for line in (out_dir / "references.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        condition = NOT_REFERABLE if row["referral"] == no_referral else REFERABLE
        records.append(
            ScanRecord(row["id"], row["patient_id"], out_dir / row["image"], None, None, {}, condition=condition)
        )
    return records


def split_patients(records: list[ScanRecord], every: int = 4) -> tuple[list[ScanRecord], list[ScanRecord]]:
    """(train, validation): every `every`-th patient (in id order) is a validation patient."""
    patients = sorted({r.patient_id for r in records})
    validation = set(patients[::every])
    return [r for r in records if r.patient_id not in validation], [r for r in records if r.patient_id in validation]


def referable(records: list[ScanRecord]) -> np.ndarray:
    return np.array([r.condition == REFERABLE for r in records])


def balanced_accuracy(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Mean of sensitivity and specificity, once (weights None) or per bootstrap resample (rows of weights)."""
    w = np.ones((1, len(truth))) if weights is None else weights
    sensitivity = (w * (truth & predicted)).sum(1) / np.maximum((w * truth).sum(1), 1e-9)
    specificity = (w * (~truth & ~predicted)).sum(1) / np.maximum((w * ~truth).sum(1), 1e-9)
    return (sensitivity + specificity) / 2


def score_with_ci(truth: np.ndarray, predicted: np.ndarray, patients: list[str], seed: int = 0) -> dict:
    """Balanced accuracy with a 95 % interval from resampling patients."""
    boot = balanced_accuracy(truth, predicted, resample_weights(patients, 1000, seed))
    low, high = np.percentile(boot, [2.5, 97.5])
    return {
        "balanced_accuracy": round(float(balanced_accuracy(truth, predicted)[0]), 3),
        "ci95": [round(low, 3), round(high, 3)],
    }


def cue_region(cue: ShortcutCue, size: int) -> tuple[slice, slice]:
    top, left, height, width = cue_square_box(cue, size)
    return slice(max(0, top - CUE_PAD), top + height + CUE_PAD), slice(max(0, left - CUE_PAD), left + width + CUE_PAD)


def cue_only_probe(train: np.ndarray, train_y: np.ndarray, evaluate: np.ndarray, evaluate_y: np.ndarray, cue, size):
    """Balanced accuracy of a logistic regression that sees only the pixels of the cue's corner."""
    rows, cols = cue_region(cue, size)
    features = [squares[:, rows, cols].reshape(len(squares), -1) for squares in (train, evaluate)]
    probe = LogisticRegression(max_iter=2000, class_weight="balanced").fit(features[0], train_y)
    return round(float(balanced_accuracy(evaluate_y, probe.predict(features[1]).astype(bool))[0]), 3)


def saliency_shares(trained: TrainedClassifier, squares: np.ndarray, cue: ShortcutCue) -> dict[str, float]:
    """Mean share of |d(referable logit - other logit) / d(input)| in the cue's box and above the retina."""
    model, size = trained.model, squares.shape[-1]
    positive = next(i for i, c in enumerate(trained.classes) if c.condition == REFERABLE)
    rows, cols = cue_region(cue, size)
    in_cue, above = [], []
    model.eval()
    for square in squares:
        pixels = encoder_inputs(square[None]).requires_grad_(True)
        logits = model(pixels)[0]
        margin = logits[positive] - logits[1 - positive]
        (gradient,) = torch.autograd.grad(margin, pixels)
        heat = gradient[0, 0].abs().numpy()
        total = float(heat.sum()) or 1.0
        in_cue.append(float(heat[rows, cols].sum()) / total)
        above.append(float(heat[: vitreous_rows(square)].sum()) / total)
    area = (rows.stop - rows.start) * (cols.stop - cols.start) / size**2
    return {
        "cue_box": round(float(np.mean(in_cue)), 3),
        "cue_box_area": round(area, 4),
        "above_retina": round(float(np.mean(above)), 3),
    }


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(1)
    started = time.time()
    out = Path(args.out)
    base = subtle_cohort(load_cohort_config())
    cue = replace(base.shortcut_cue, crop_fraction=args.crop_fraction, intensity=args.intensity, size=args.size)
    base = base.with_shortcut_cue(cue)
    log = print if args.verbose else (lambda *_: None)

    cohorts = {
        "correlated": (args.train + args.validation, args.seed, cue_config(base, args.p, 1 - args.p)),
        "uncorrelated": (args.train + args.validation, args.seed, cue_config(base, 0.5, 0.5)),
        "broken": (args.test, args.seed + 1, cue_config(base, 0.0, 1.0)),
    }
    records = {}
    for name, (n, seed, config) in cohorts.items():
        log(f"rendering {name}: {n} scans")
        records[name] = render_records(out / "cohorts" / name, n, seed, config)
    test = records["broken"]

    base_classifier = ClassifierConfig(
        image_size=args.image_size,
        crop="fovea",
        crop_fraction=args.crop_fraction,
        epochs=args.epochs,
        patience=args.patience,
        seed=args.seed,
    )
    models = {
        "correlated": ("correlated", base_classifier),
        "uncorrelated": ("uncorrelated", base_classifier),
        "correlated_masked": ("correlated", replace(base_classifier, mask_above_retina=True)),
    }
    results: dict = {"settings": vars(args), "sizes": {}, "models": {}, "cue_only_probe": {}}
    truth = referable(test)
    marked_test = [r for r in test if r.condition == NOT_REFERABLE]  # every one carries the cue
    for name, (cohort, config) in models.items():
        train, validation = split_patients(records[cohort])
        results["sizes"][cohort] = {"train": len(train), "validation": len(validation), "test": len(test)}
        log(f"training {name}")
        trained = train_scan_classifier(train, validation, config, log=log if args.verbose else None)
        test_squares = load_squares(test, config)
        predicted = np.array(
            [trained.classes[i].condition == REFERABLE for i in predict_indices(trained.model, test_squares)]
        )
        results["models"][name] = {
            "trained_on": cohort,
            "best_epoch": trained.best_epoch,
            "validation_macro_f1": round(trained.validation_macro_f1, 3),
            "test_broken": score_with_ci(truth, predicted, [r.patient_id for r in test], args.seed),
            "saliency": saliency_shares(trained, load_squares(marked_test[: args.saliency_scans], config), cue),
        }
    unmasked = base_classifier
    for cohort in ("correlated", "uncorrelated"):
        train, validation = split_patients(records[cohort])
        results["cue_only_probe"][cohort] = cue_only_probe(
            load_squares(train, unmasked),
            referable(train),
            load_squares(validation, unmasked),
            referable(validation),
            cue,
            args.image_size,
        )
    results["cue_kept_after_masking"] = cue_left_after_masking(test, unmasked, cue)
    results["wall_seconds"] = round(time.time() - started, 1)
    write_json(out / "results.json", results)
    return results


def cue_left_after_masking(records: list[ScanRecord], config: ClassifierConfig, cue: ShortcutCue) -> float:
    """Share of marked scans whose cue box is not wholly blanked by the vitreous mask (the retina reaches it)."""
    marked = [r for r in records if r.condition == NOT_REFERABLE]
    squares = load_squares(marked, config)
    top, left, height, width = cue_square_box(cue, config.image_size)
    kept = [bool(mask_above_retina(s)[top : top + height, left : left + width].any()) for s in squares]
    return round(float(np.mean(kept)), 3) if kept else 0.0


def table(results: dict) -> str:
    lines = [
        "model | trained on | best epoch | validation macro-F1 | broken test balanced acc. (95% CI) | saliency in cue box | above retina"
    ]
    for name, m in results["models"].items():
        test = m["test_broken"]
        lines.append(
            f"{name} | {m['trained_on']} | {m['best_epoch']} | {m['validation_macro_f1']:.3f} | "
            f"{test['balanced_accuracy']:.3f} ({test['ci95'][0]:.3f}-{test['ci95'][1]:.3f}) | "
            f"{m['saliency']['cue_box']:.3f} (area {m['saliency']['cue_box_area']:.3f}) | {m['saliency']['above_retina']:.3f}"
        )
    probe = results["cue_only_probe"]
    lines.append(
        f"cue-only probe (validation balanced acc.): correlated {probe['correlated']:.3f}, uncorrelated {probe['uncorrelated']:.3f}"
    )
    lines.append(f"marked test scans whose cue survives the mask: {results['cue_kept_after_masking']:.3f}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder for the cohorts and results.json")
    parser.add_argument(
        "--train", type=int, default=360, help="training scans; with --validation, the cohort's size (split by patient)"
    )
    parser.add_argument("--validation", type=int, default=120)
    parser.add_argument("--test", type=int, default=200, help="scans of the broken-correlation test cohort")
    parser.add_argument("--p", type=float, default=0.95, help="P(cue | referable) = 1 - P(cue | not referable)")
    parser.add_argument("--intensity", type=float, default=0.85, help="the cue's brightness (vitreous: about 0.1)")
    parser.add_argument("--size", type=float, default=0.12, help="the cue's side, a fraction of the crop's side")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--crop-fraction", type=float, default=0.5, help="the encoder's fovea crop (the demo's)")
    parser.add_argument("--saliency-scans", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    results = run(parse_args(argv))
    print(table(results))
    print(f"wall {results['wall_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
