"""Statistics of graded reports: staging and referral F1 (micro over positive classes, as in the
published work, and macro), per-biomarker sensitivity/specificity/F1, confusion matrices,
bootstrap 95% confidence intervals resampled by patient, and paired comparison of two systems
(paired bootstrap and McNemar's exact test).

Every metric is a function of per-case counts, so a bootstrap resample is a weighted sum of
per-case counts: all resamples are computed at once as a matrix product, deterministic by seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

NOT_STATED = "not_stated"
_CHUNK = 200  # resamples per matrix product, to bound memory


@dataclass(frozen=True)
class Interval:
    value: float | None
    low: float | None
    high: float | None

    def to_json(self) -> dict:
        return {"value": self.value, "ci95": [self.low, self.high]}


def resample_weights(units: Sequence[str], resamples: int, seed: int) -> np.ndarray:
    """(resamples, n_cases) weights: how often each case's unit (patient) was drawn."""
    names, index = np.unique(np.asarray(units, dtype=object).astype(str), return_inverse=True)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(names), size=(resamples, len(names)))
    counts = np.zeros((resamples, len(names)), dtype=np.float64)
    np.add.at(counts, (np.repeat(np.arange(resamples), len(names)), draws.ravel()), 1.0)
    return counts[:, index]


def _weighted(per_case: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Sum of per-case rows: once (weights None) or per resample."""
    if weights is None:
        return per_case.sum(axis=0, keepdims=True)
    return np.concatenate([weights[i : i + _CHUNK] @ per_case for i in range(0, len(weights), _CHUNK)])


def _interval(point: np.ndarray, boot: np.ndarray | None) -> Interval:
    value = float(point[0])
    if np.isnan(value):
        return Interval(None, None, None)
    if boot is None or np.all(np.isnan(boot)):
        return Interval(value, None, None)
    low, high = np.nanpercentile(boot, [2.5, 97.5])
    return Interval(value, float(low), float(high))


def mean_with_ci(values: Sequence[float | None], weights: np.ndarray | None) -> Interval:
    """Mean of the applicable (not None) values, with its bootstrap interval."""
    x = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    per_case = np.stack([np.nan_to_num(x), ~np.isnan(x)], axis=1).astype(np.float64)

    def mean(totals):
        with np.errstate(invalid="ignore", divide="ignore"):
            return totals[:, 0] / totals[:, 1]

    return _interval(mean(_weighted(per_case, None)), None if weights is None else mean(_weighted(per_case, weights)))


def _confusion_cases(truth: Sequence[str], stated: Sequence[str | None], labels: Sequence[str]) -> np.ndarray:
    """One-hot per case over the (reference label, stated label or not stated) cells."""
    columns = [*labels, NOT_STATED]
    k = len(columns)
    rows = np.array([labels.index(t) for t in truth])
    cols = np.array([columns.index(p if p is not None else NOT_STATED) for p in stated])
    cases = np.zeros((len(truth), len(labels) * k))
    cases[np.arange(len(truth)), rows * k + cols] = 1.0
    return cases


def _f1_from_confusion(
    matrices: np.ndarray, labels: Sequence[str], positive: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Micro F1 over the positive classes and macro F1 over the classes seen, per matrix."""
    n = len(labels)
    square = matrices[:, :, :n]
    tp = np.diagonal(square, axis1=1, axis2=2)
    predicted = square.sum(axis=1)
    actual = matrices.sum(axis=2)
    fp, fn = predicted - tp, actual - tp
    pos = np.array([label in positive for label in labels])
    with np.errstate(invalid="ignore", divide="ignore"):
        denominator = 2 * tp[:, pos].sum(1) + fp[:, pos].sum(1) + fn[:, pos].sum(1)
        micro = np.where(denominator > 0, 2 * tp[:, pos].sum(1) / np.maximum(denominator, 1e-300), 0.0)
        per_class = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1e-300), 0.0)
    seen = (actual + predicted) > 0
    macro = np.where(seen.any(1), (per_class * seen).sum(1) / np.maximum(seen.sum(1), 1), np.nan)
    return micro, macro


def classification_report(
    truth: Sequence[str],
    stated: Sequence[str | None],
    labels: Sequence[str],
    positive: Sequence[str],
    weights: np.ndarray | None,
) -> dict:
    """F1 (micro over positive classes, macro), accuracy and the confusion matrix of one field."""
    cases = _confusion_cases(truth, stated, list(labels))
    k = len(labels) + 1
    point = _weighted(cases, None).reshape(-1, len(labels), k)
    micro, macro = _f1_from_confusion(point, labels, positive)
    correct = np.array([t == s for t, s in zip(truth, stated)], dtype=np.float64)[:, None]
    accuracy_point = _weighted(np.hstack([correct, np.ones_like(correct)]), None)
    if weights is not None:
        boot = _weighted(cases, weights).reshape(-1, len(labels), k)
        boot_micro, boot_macro = _f1_from_confusion(boot, labels, positive)
        acc = _weighted(np.hstack([correct, np.ones_like(correct)]), weights)
        boot_accuracy = acc[:, 0] / acc[:, 1]
    else:
        boot_micro = boot_macro = boot_accuracy = None
    matrix = point[0].astype(int)
    return {
        "n": len(truth),
        "f1_micro_positive": _interval(micro, boot_micro).to_json(),
        "f1_macro": _interval(macro, boot_macro).to_json(),
        "accuracy": _interval(accuracy_point[:, 0] / accuracy_point[:, 1], boot_accuracy).to_json(),
        "positive_classes": list(positive),
        "confusion": {
            "rows_reference": list(labels),
            "columns_stated": [*labels, NOT_STATED],
            "counts": matrix.tolist(),
        },
    }


def binary_report(truth: Sequence[bool], predicted: Sequence[bool], weights: np.ndarray | None) -> dict:
    """Sensitivity, specificity and F1 of one biomarker (predicted = stated present)."""
    t = np.asarray(truth, dtype=bool)
    p = np.asarray(predicted, dtype=bool)
    cases = np.stack([t & p, ~t & p, t & ~p, ~t & ~p], axis=1).astype(np.float64)  # tp fp fn tn

    def metrics(c):
        tp, fp, fn, tn = c[:, 0], c[:, 1], c[:, 2], c[:, 3]
        with np.errstate(invalid="ignore", divide="ignore"):
            return tp / (tp + fn), tn / (tn + fp), 2 * tp / (2 * tp + fp + fn)

    point = metrics(_weighted(cases, None))
    boot = metrics(_weighted(cases, weights)) if weights is not None else (None, None, None)
    counts = _weighted(cases, None)[0].astype(int)
    return {
        "support_present": int(counts[0] + counts[2]),
        "support_absent": int(counts[1] + counts[3]),
        "counts": {"tp": int(counts[0]), "fp": int(counts[1]), "fn": int(counts[2]), "tn": int(counts[3])},
        "sensitivity": _interval(point[0], boot[0]).to_json(),
        "specificity": _interval(point[1], boot[1]).to_json(),
        "f1": _interval(point[2], boot[2]).to_json(),
    }


def paired_bootstrap(a: Sequence[float | None], b: Sequence[float | None], weights: np.ndarray) -> dict:
    """Difference of means (a - b) on the same cases, its interval and a two-sided p-value."""
    x = np.array([np.nan if v is None else v for v in a], dtype=np.float64)
    y = np.array([np.nan if v is None else v for v in b], dtype=np.float64)
    both = ~np.isnan(x) & ~np.isnan(y)
    per_case = np.stack([np.where(both, x - y, 0.0), both], axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        point = _weighted(per_case, None)
        point = point[:, 0] / point[:, 1]
        boot_totals = _weighted(per_case, weights)
        boot = boot_totals[:, 0] / boot_totals[:, 1]
    boot = boot[~np.isnan(boot)]
    interval = _interval(point, boot if len(boot) else None)
    return {
        "n": int(both.sum()),
        "difference": interval.to_json(),
        "p_value": _bootstrap_p(boot) if len(boot) else None,
    }


def paired_f1_bootstrap(
    truth: Sequence[str],
    stated_a: Sequence[str | None],
    stated_b: Sequence[str | None],
    labels: Sequence[str],
    positive: Sequence[str],
    weights: np.ndarray,
) -> dict:
    """Difference in micro F1 (positive classes) between two systems on the same cases."""
    cases_a = _confusion_cases(truth, stated_a, list(labels))
    cases_b = _confusion_cases(truth, stated_b, list(labels))
    k = len(labels) + 1

    def micro(cases, w):
        return _f1_from_confusion(_weighted(cases, w).reshape(-1, len(labels), k), labels, positive)[0]

    point = micro(cases_a, None) - micro(cases_b, None)
    boot = micro(cases_a, weights) - micro(cases_b, weights)
    return {"n": len(truth), "difference": _interval(point, boot).to_json(), "p_value": _bootstrap_p(boot)}


def _bootstrap_p(differences: np.ndarray) -> float:
    """Two-sided bootstrap p-value of "no difference", never below 1/(B+1)."""
    b = len(differences)
    below = (np.sum(differences <= 0) + 1) / (b + 1)
    above = (np.sum(differences >= 0) + 1) / (b + 1)
    return float(min(1.0, 2 * min(below, above)))


def mcnemar(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> dict:
    """McNemar's exact test on paired correctness: b = only A right, c = only B right."""
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    p_value = 1.0 if only_a + only_b == 0 else float(binomtest(only_a, only_a + only_b, 0.5).pvalue)
    return {"n": len(a), "only_a_correct": only_a, "only_b_correct": only_b, "p_value": p_value}
