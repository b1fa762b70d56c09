"""The cohort plots' data, read from the run's evaluation/results.json (retinavlm.evaluation.outputs),
so the viewer shows exactly the grader's figures and intervals (bootstrap by patient) and never
recomputes them another way."""

from __future__ import annotations

from typing import Any

import pandas as pd


def system_stats(results: dict[str, Any] | None, system: str) -> dict[str, Any]:
    """One system's summary ({} when the evaluation lacks it or graded nothing)."""
    stats = ((results or {}).get("summary") or {}).get("systems", {}).get(system)
    return stats if isinstance(stats, dict) and stats.get("n") else {}


def headline(results: dict[str, Any] | None, systems: list[str]) -> pd.DataFrame:
    """system, n, and the main metrics as 'value [low, high]' strings."""
    rows = []
    for system in systems:
        stats = system_stats(results, system)
        if not stats:
            continue
        rows.append(
            {
                "system": system,
                "reports": stats["n"],
                "rubric score": _cell(stats["score"]),
                "stage accuracy": _cell(stats["stage"]["accuracy"]),
                "stage F1 (macro)": _cell(stats["stage"]["f1_macro"]),
                "referral accuracy": _cell(stats["referral"]["accuracy"]),
                "referral F1 (macro)": _cell(stats["referral"]["f1_macro"]),
            }
        )
    return pd.DataFrame(rows)


def confusion(results: dict[str, Any] | None, system: str, key: str) -> pd.DataFrame:
    """Long form of the grader's confusion matrix for `key` ("stage" | "referral"): reference, stated, count."""
    matrix = system_stats(results, system).get(key, {}).get("confusion")
    if not matrix:
        return pd.DataFrame(columns=["reference", "stated", "count"])
    rows = [
        {
            "reference": ref,
            "stated": stated.replace("_", " ") if stated == "not_stated" else stated,
            "count": int(count),
        }
        for ref, counts in zip(matrix["rows_reference"], matrix["counts"], strict=True)
        for stated, count in zip(matrix["columns_stated"], counts, strict=True)
    ]
    return pd.DataFrame(rows)


def biomarkers(results: dict[str, Any] | None, systems: list[str], names: dict[str, str]) -> pd.DataFrame:
    """system, biomarker, measure (sensitivity | specificity), value, low, high, support."""
    rows = []
    for system in systems:
        for bid, b in system_stats(results, system).get("biomarkers", {}).items():
            for measure, support in (("sensitivity", "support_present"), ("specificity", "support_absent")):
                metric = b[measure]
                if metric["value"] is not None:
                    low, high = metric["ci95"]
                    rows.append(
                        {
                            "system": system,
                            "biomarker": names.get(bid, bid),
                            "measure": measure,
                            "value": metric["value"],
                            "low": metric["value"] if low is None else low,
                            "high": metric["value"] if high is None else high,
                            "support": b[support],
                        }
                    )
    return pd.DataFrame(rows, columns=["system", "biomarker", "measure", "value", "low", "high", "support"])


def _cell(metric: dict[str, Any]) -> str:
    if metric.get("value") is None:
        return "n/a"
    low, high = metric.get("ci95") or (None, None)
    return f"{metric['value']:.2f}" + (f" [{low:.2f}, {high:.2f}]" if low is not None else "")
