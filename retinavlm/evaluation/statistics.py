"""Statistics of graded reports: staging and referral F1 (micro over positive classes, as in the
published work, and macro), per-biomarker sensitivity/specificity/F1, confusion matrices,
bootstrap 95% confidence intervals resampled by patient, and paired comparison of two systems
(paired bootstrap by patient and McNemar's exact test clustered by patient).

Every metric is a function of per-case counts, so a bootstrap resample is a weighted sum of
per-case counts: all resamples are computed at once as a matrix product, deterministic by seed.
A metric is computed only on the cases whose reference knows its label (an unknown stage,
referral or biomarker is never scored), and says on how many.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import binom

from retinavlm.evaluation.grade import Sample, SystemResult
from retinavlm.evaluation.rubric import Rubric
from retinavlm.knowledge import KnowledgeBase

NOT_STATED = "not_stated"
F1S = ("f1_micro_positive", "f1_macro")
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
    rows = np.array([labels.index(t) for t in truth], dtype=np.int64)
    cols = np.array([columns.index(p if p is not None else NOT_STATED) for p in stated], dtype=np.int64)
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
    if not truth:
        empty = Interval(None, None, None).to_json()
        return {
            "n": 0,
            "f1_micro_positive": empty,
            "f1_macro": empty,
            "accuracy": empty,
            "positive_classes": list(positive),
            "confusion": {
                "rows_reference": list(labels),
                "columns_stated": [*labels, NOT_STATED],
                "counts": [[0] * (len(labels) + 1) for _ in labels],
            },
        }
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
        with np.errstate(invalid="ignore", divide="ignore"):  # a resample without a known case
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
        "n": int(counts.sum()),
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
) -> dict[str, dict]:
    """Differences in F1 (micro over the positive classes, and macro) between two systems on the same
    cases, each with its interval and p-value from the same patient resamples."""
    if not truth:
        return {name: {"n": 0, "difference": Interval(None, None, None).to_json(), "p_value": None} for name in F1S}
    cases_a = _confusion_cases(truth, stated_a, list(labels))
    cases_b = _confusion_cases(truth, stated_b, list(labels))
    k = len(labels) + 1

    def f1s(cases, w):
        return _f1_from_confusion(_weighted(cases, w).reshape(-1, len(labels), k), labels, positive)

    point_a, point_b = f1s(cases_a, None), f1s(cases_b, None)
    boot_a, boot_b = f1s(cases_a, weights), f1s(cases_b, weights)
    out = {}
    for i, name in enumerate(F1S):
        boot = boot_a[i] - boot_b[i]
        boot = boot[~np.isnan(boot)]  # a resample without a case of this field
        interval = _interval(point_a[i] - point_b[i], boot if len(boot) else None)
        p_value = _bootstrap_p(boot) if len(boot) and interval.value is not None else None
        out[name] = {"n": len(truth), "difference": interval.to_json(), "p_value": p_value}
    return out


def _bootstrap_p(differences: np.ndarray) -> float:
    """Two-sided bootstrap p-value of "no difference", never below 1/(B+1)."""
    b = len(differences)
    below = (np.sum(differences <= 0) + 1) / (b + 1)
    above = (np.sum(differences >= 0) + 1) / (b + 1)
    return float(min(1.0, 2 * min(below, above)))


def mcnemar(correct_a: Sequence[bool], correct_b: Sequence[bool], units: Sequence[str]) -> dict:
    """McNemar's exact test on paired correctness, clustered by patient (`units`).

    Scans of one patient are not independent, so the unit of the test is the patient: d_k = (scans
    only A got right) - (scans only B got right) in patient k. Under the null hypothesis the two
    systems are exchangeable within each patient, so each d_k is as likely to have either sign,
    independently across patients; the p-value is the exact probability, over these 2^K sign flips,
    of a total |sum d_k| at least as large as observed. Why this test: it is exact for any number of
    patients (Obuchowski's 1998 clustered McNemar and Durkalski et al.'s 2003 statistic
    (sum d_k)^2 / sum d_k^2 are its large-sample chi-square approximations, unreliable with few
    discordant patients); it reduces to McNemar's exact binomial test when every patient has one
    scan; and copying every scan of a patient leaves it unchanged, where an unclustered test would
    count each copy as new evidence. The distribution is a convolution of one scaled binomial per
    distinct |d_k|, so it is computed exactly in O(n * distinct |d_k|).
    """
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    names, index = np.unique(np.asarray(units, dtype=object).astype(str), return_inverse=True)
    d = np.zeros(len(names), dtype=np.int64)
    np.add.at(d, index, (a & ~b).astype(np.int64) - (~a & b).astype(np.int64))
    return {
        "n": len(a),
        "patients": len(names),
        "only_a_correct": only_a,
        "only_b_correct": only_b,
        "p_value": _sign_flip_p(d),
    }


def _sign_flip_p(d: np.ndarray) -> float:
    """Exact two-sided p-value of sum(d) when each d_k's sign is flipped independently with probability 1/2."""
    magnitudes, counts = np.unique(np.abs(d[d != 0]), return_counts=True)
    if len(magnitudes) == 0:
        return 1.0
    pmf = np.ones(1)  # distribution of the sum, over the integers -reach..reach
    for value, count in zip(magnitudes.tolist(), counts.tolist()):
        term = np.zeros(2 * value * count + 1)  # value * (2X - count), X ~ Binomial(count, 1/2)
        term[:: 2 * value] = binom.pmf(np.arange(count + 1), count, 0.5)
        pmf = np.convolve(pmf, term)
    reach = (len(pmf) - 1) // 2
    observed = abs(int(d.sum()))
    tails = np.abs(np.arange(-reach, reach + 1)) >= observed
    return float(min(1.0, pmf[tails].sum()))


# -- the statistics of graded systems --------------------------------------------------------------


def positive_classes(levels: tuple[str, ...]) -> tuple[str, ...]:
    """All levels but the default one (healthy / no referral): the published work's positive classes."""
    return levels[1:]


@dataclass(frozen=True)
class _Field:
    """A classified field of a report: its levels, the reference's label and the report's stated one."""

    name: str
    levels: tuple[str, ...]
    truth: Callable[[Sample], str | None]  # None: the reference does not know
    stated: Callable[[Sample], str | None]  # None: the report states none


def _fields(kb: KnowledgeBase) -> tuple[_Field, ...]:
    return (
        _Field("stage", kb.stage_ids, lambda s: s.reference.stage, lambda s: _stated_id(s.extraction.stage)),
        _Field(
            "referral", kb.referral_ids, lambda s: s.reference.referral, lambda s: _stated_id(s.extraction.referral)
        ),
    )


def _stated_id(mention: Any) -> str | None:
    return mention.id if mention is not None else None


def _columns(weights: np.ndarray | None, keep: list[int]) -> np.ndarray | None:
    """The resample weights of the kept cases only (the resampled patients stay the same)."""
    if weights is None or len(keep) == weights.shape[1]:
        return weights
    return weights[:, keep]


def system_statistics(samples: list[Sample], rubric: Rubric, kb: KnowledgeBase, resamples: int, seed: int) -> dict:
    """Every metric of one system, with bootstrap intervals by patient; each on the cases it applies to."""
    if not samples:
        return {"n": 0}
    weights = resample_weights([s.reference.unit for s in samples], resamples, seed) if resamples > 0 else None
    criteria = {
        c.id: {
            **mean_with_ci([s.scores[c.id].score for s in samples], weights).to_json(),
            "n_applicable": sum(s.scores[c.id].score is not None for s in samples),
            "weight": c.weight,
        }
        for c in rubric.criteria
    }
    fields = {}
    for f in _fields(kb):
        known = [i for i, s in enumerate(samples) if f.truth(s) is not None]
        fields[f.name] = classification_report(
            [f.truth(samples[i]) for i in known],
            [f.stated(samples[i]) for i in known],
            f.levels,
            positive_classes(f.levels),
            _columns(weights, known),
        )
    biomarkers = {}
    for bid in kb.biomarkers:
        known = [i for i, s in enumerate(samples) if s.reference.state(bid) is not None]
        stated = [samples[i].extraction.biomarkers.get(bid) for i in known]
        biomarkers[bid] = binary_report(
            [samples[i].reference.present(bid) for i in known],
            [m is not None and m.state == "present" for m in stated],
            _columns(weights, known),
        )
    return {
        "n": len(samples),
        "missing_reports": sum(s.missing for s in samples),
        "patients": len({s.reference.unit for s in samples}),
        "score": {
            **mean_with_ci([s.total for s in samples], weights).to_json(),
            "n_applicable": sum(s.total is not None for s in samples),
        },
        "criteria": criteria,
        "stage": fields["stage"],
        "referral": fields["referral"],
        "biomarkers": biomarkers,
        "truncated_reports": sum(s.extraction.truncated for s in samples),
    }


def compare(a: SystemResult, b: SystemResult, rubric: Rubric, kb: KnowledgeBase, resamples: int, seed: int) -> dict:
    """Paired comparison of two systems (A minus B) on the same references, clustered by patient: the
    paired bootstrap resamples patients, McNemar's test is the patient-clustered exact test."""
    b_by_id = {s.id: s for s in b.samples}
    pairs = [(s, b_by_id[s.id]) for s in a.samples if s.id in b_by_id]
    out: dict[str, Any] = {"a": a.predictions.system, "b": b.predictions.system, "n": len(pairs)}
    if not pairs:
        return out
    units = [x.reference.unit for x, _ in pairs]
    weights = resample_weights(units, resamples, seed) if resamples > 0 else None
    if weights is not None:
        out["paired_bootstrap"] = {
            "score": paired_bootstrap([x.total for x, _ in pairs], [y.total for _, y in pairs], weights),
            **{
                c.id: paired_bootstrap(
                    [x.scores[c.id].score for x, _ in pairs], [y.scores[c.id].score for _, y in pairs], weights
                )
                for c in rubric.criteria
            },
        }
    out["mcnemar"] = {}
    for f in _fields(kb):
        known = [i for i, (x, _) in enumerate(pairs) if f.truth(x) is not None]
        truth = [f.truth(pairs[i][0]) for i in known]
        stated_a = [f.stated(pairs[i][0]) for i in known]
        stated_b = [f.stated(pairs[i][1]) for i in known]
        if weights is not None:
            f1s = paired_f1_bootstrap(
                truth, stated_a, stated_b, f.levels, positive_classes(f.levels), _columns(weights, known)
            )
            out["paired_bootstrap"].update({f"{f.name}_{name}": value for name, value in f1s.items()})
        out["mcnemar"][f.name] = mcnemar(
            [t == p for t, p in zip(truth, stated_a)],
            [t == p for t, p in zip(truth, stated_b)],
            [units[i] for i in known],
        )
    return out
