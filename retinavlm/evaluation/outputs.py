"""The files an evaluation writes: results.json, samples.jsonl, results.csv and summary.md.

results.json is byte-identical for the same inputs: keys in a fixed order, floats rounded, and the
only time-dependent values kept apart under "run".
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from retinavlm.atomic import atomic_dir, write_text
from retinavlm.evaluation.grade import Sample

_TABLE_METRICS = ("score", "stage_f1_micro", "stage_f1_macro", "referral_f1_micro", "referral_f1_macro")


def sample_rows(system: str, samples: list[Sample]) -> list[dict]:
    rows = []
    for s in samples:
        rows.append(
            {
                "id": s.id,
                "system": system,
                **({"missing": True} if s.missing else {}),
                "patient_id": s.reference.patient_id,
                "extracted": s.extraction.labels(),
                "evidence": s.extraction.to_json()["evidence"],
                **({"truncated_at": s.extraction.read_chars} if s.extraction.truncated else {}),
                "reference": s.reference.labels(),
                "scores": {
                    cid: {"score": _round(c.score), "explanation": c.explanation} for cid, c in s.scores.items()
                },
                "total": _round(s.total),
            }
        )
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def round_floats(obj: Any, digits: int = 6) -> Any:
    """Fixed float precision, so that results files are byte-identical across runs and machines."""
    if isinstance(obj, float):
        return None if np.isnan(obj) else round(obj, digits)
    if isinstance(obj, dict):
        return {k: round_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [round_floats(v, digits) for v in obj]
    return obj


def missing_reports_line(results: dict) -> str | None:
    """One sentence on the references each system wrote no report for (graded as misses), if any."""
    systems = results["inputs"]["predictions"]
    if not any(p["missing"] for p in systems):
        return None
    total = results["inputs"]["references"]["valid"]
    counts = ", ".join(f"{p['system']} {p['missing']} of {total}" for p in systems)
    return f"Reports missing, graded as misses (a report that states nothing): {counts}."


def flat_metrics(stats: dict) -> list[tuple[str, dict]]:
    """(metric name, {value, ci95}) rows of one system, in a fixed order."""
    if not stats.get("n"):
        return []
    rows = [("score", stats["score"])]
    rows += [(f"criterion:{cid}", c) for cid, c in stats["criteria"].items()]
    for name in ("stage", "referral"):
        rows += [
            (f"{name}_f1_micro", stats[name]["f1_micro_positive"]),
            (f"{name}_f1_macro", stats[name]["f1_macro"]),
            (f"{name}_accuracy", stats[name]["accuracy"]),
        ]
    for bid, b in stats["biomarkers"].items():
        rows += [(f"{bid}:{m}", b[m]) for m in ("sensitivity", "specificity", "f1")]
    return rows


def results_csv(results: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["system", "metric", "value", "ci95_low", "ci95_high"])
    for system, stats in results["summary"]["systems"].items():
        for name, metric in flat_metrics(stats):
            writer.writerow([system, name, _fmt(metric["value"]), _fmt(metric["ci95"][0]), _fmt(metric["ci95"][1])])
    return buffer.getvalue()


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _cell(metric: dict) -> str:
    if metric["value"] is None:
        return "n/a"
    low, high = metric["ci95"]
    return f"{metric['value']:.3f}" + (f" [{low:.3f}, {high:.3f}]" if low is not None else "")


def table_rows(results: dict) -> list[list[str]]:
    rows = []
    for system, stats in results["summary"]["systems"].items():
        if not stats.get("n"):
            rows.append([system, "0", *["n/a"] * len(_TABLE_METRICS)])
            continue
        metrics = dict(flat_metrics(stats))
        rows.append([system, str(stats["n"]), *[_cell(metrics[m]) for m in _TABLE_METRICS]])
    return rows


TABLE_HEADER = [
    "system",
    "n",
    "rubric score",
    "stage F1 micro",
    "stage F1 macro",
    "referral F1 micro",
    "referral F1 macro",
]


def summary_markdown(results: dict) -> str:
    meta = results["metadata"]
    lines = [
        "# Report evaluation",
        "",
        f"Rubric `{meta['rubric']['name']}` {meta['rubric']['version']} (sha256 {meta['rubric']['sha256'][:12]}), "
        f"knowledge base `{meta['knowledge_base']}`, context rules {meta['context_rules']}, "
        f"retinavlm {meta['toolkit_version']}. 95% intervals: {meta['bootstrap']['resamples']} bootstrap resamples "
        f"by patient, seed {meta['bootstrap']['seed']}. F1 micro is over the positive classes "
        f"(all but the first level), as in the published work.",
        "",
        "| " + " | ".join(TABLE_HEADER) + " |",
        "|" + "---|" * len(TABLE_HEADER),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results)]
    if missing := missing_reports_line(results):
        lines += ["", missing]
    for system, stats in results["summary"]["systems"].items():
        if not stats.get("n"):
            continue
        lines += ["", f"## {system}", "", "| criterion | weight | mean [95% CI] | applicable |", "|---|---|---|---|"]
        lines += [
            f"| {cid} | {c['weight']:g} | {_cell(c)} | {c['n_applicable']} |" for cid, c in stats["criteria"].items()
        ]
        lines += ["", "| biomarker | sensitivity | specificity | F1 | present / absent |", "|---|---|---|---|---|"]
        lines += [
            f"| {bid} | {_cell(b['sensitivity'])} | {_cell(b['specificity'])} | {_cell(b['f1'])} | "
            f"{b['support_present']} / {b['support_absent']} |"
            for bid, b in stats["biomarkers"].items()
        ]
    if results["comparisons"]:
        lines += [
            "",
            "## Paired comparisons (A - B)",
            "",
            "| A | B | n | metric | difference [95% CI] | p |",
            "|---|---|---|---|---|---|",
        ]
        for comp in results["comparisons"]:
            for metric, value in comp.get("paired_bootstrap", {}).items():
                p = "n/a" if value["p_value"] is None else f"{value['p_value']:.4f}"
                lines.append(
                    f"| {comp['a']} | {comp['b']} | {value['n']} | {metric} | {_cell(value['difference'])} | {p} |"
                )
            for name, test in comp.get("mcnemar", {}).items():
                lines.append(
                    f"| {comp['a']} | {comp['b']} | {test['n']} | McNemar {name} correct, clustered by patient "
                    f"({test['only_a_correct']} vs {test['only_b_correct']}; {test['patients']} patients) | | "
                    f"{test['p_value']:.4f} |"
                )
    problems = results["inputs"]["problems"]
    if problems:
        lines += ["", f"## Input problems ({len(problems)})", ""] + [f"- {p}" for p in problems[:200]]
        if len(problems) > 200:
            lines.append(f"- ... and {len(problems) - 200} more (all in results.json)")
    return "\n".join(lines) + "\n"


def write_outputs(out_dir: str | Path, results: dict, samples: list[dict], run: dict) -> None:
    """Write the folder atomically: it appears complete or not at all."""
    document = {**round_floats(results), "run": run}
    with atomic_dir(out_dir) as tmp:
        write_text(tmp / "results.json", json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        write_text(tmp / "samples.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in samples))
        write_text(tmp / "results.csv", results_csv(document))
        write_text(tmp / "summary.md", summary_markdown(document))


def print_table(results: dict, stream: Any) -> None:
    rows = [TABLE_HEADER, *table_rows(results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(TABLE_HEADER))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip(), file=stream)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=stream)
    if missing := missing_reports_line(results):
        print(missing, file=stream)
