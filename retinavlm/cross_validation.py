"""K-fold cross-validation of a demo preset over the patients outside the test split (`retinavlm demo --folds K`).

A small real cohort has few validation patients (the Kermany sample's validation split holds 13 CNV scans), too
few to choose a setting on. Folds use every patient outside the test split instead: fold k trains the whole
curriculum without part k of them (retinavlm.data.cohorts.splits), keeps its best steps on its own validation
patients, and writes and grades reports for part k, patients it neither trained nor chose on. The folds' graded
reports are then pooled and graded together, so every such patient is scored once; the test patients are set aside
in every fold and stay for the one final score.

RUN/fold-K/ is a demo run folder of its own (it resumes and opens in the viewer like any other); RUN/pooled/ holds
the pooled references, predictions and grades (a run folder without a checkpoint: `retinavlm view RUN/pooled
--data-root RUN`); RUN/folds_summary.json the pooled and per-fold figures.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from retinavlm.atomic import write_json, write_jsonl
from retinavlm.demo import (
    MODEL_SYSTEM,
    SUMMARY_FILE,
    DemoConfig,
    DemoError,
    Fold,
    cell,
    label_agreement,
    load_demo_config,
    run_demo,
    system_rows,
    systems_table,
    versions,
    write_run_json,
)
from retinavlm.host import machine
from retinavlm.jsonl import read_jsonl

POOLED_DIR = "pooled"
FOLDS_SUMMARY_FILE = "folds_summary.json"


def fold_dir(run_dir: Path, index: int) -> Path:
    return run_dir / f"fold-{index}"


def prepare_folds_dir(run_dir: Path, folds: int, restart: bool) -> None:
    """Refuse a folder that holds anything but this command's own; with restart, remove the pooled grades (each
    fold's run folder restarts itself)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise DemoError(f"{run_dir}: exists and is not a folder")
    ours = {POOLED_DIR, FOLDS_SUMMARY_FILE} | {f"fold-{k}" for k in range(folds)}
    strangers = sorted(p.name for p in run_dir.iterdir() if p.name not in ours) if run_dir.is_dir() else []
    if strangers:
        raise DemoError(
            f"{run_dir}: holds {strangers[0]!r}, which is not a fold of {folds}; choose another --out for --folds {folds}"
        )
    if restart:
        shutil.rmtree(run_dir / POOLED_DIR, ignore_errors=True)
        (run_dir / FOLDS_SUMMARY_FILE).unlink(missing_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)


def pool_folds(run_dir: Path, fold_folders: list[Path], names: list[str]) -> tuple[Path, list[Path]]:
    """RUN/pooled/references.jsonl and predictions/SYSTEM.jsonl: every fold's scored rows, ids (and patient ids)
    prefixed with the fold's folder name so that the folds' pseudonyms never clash; images relative to RUN/pooled."""
    pooled = run_dir / POOLED_DIR
    references: list[dict[str, Any]] = []
    predictions: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for folder in fold_folders:
        for row in _rows(folder / "references.jsonl"):
            row = {
                **row,
                "id": f"{folder.name}:{row['id']}",
                "patient_id": f"{folder.name}:{row.get('patient_id', row['id'])}",
            }
            if row.get("image"):
                row["image"] = Path(os.path.relpath(folder / row["image"], pooled)).as_posix()
            references.append(row)
        for name in names:
            predictions[name] += [
                {**row, "id": f"{folder.name}:{row['id']}"} for row in _rows(folder / "predictions" / f"{name}.jsonl")
            ]
    write_jsonl(pooled / "references.jsonl", references)
    for name, rows in predictions.items():
        write_jsonl(pooled / "predictions" / f"{name}.jsonl", rows)
    return pooled / "references.jsonl", [pooled / "predictions" / f"{name}.jsonl" for name in names]


def _rows(path: Path) -> list[dict[str, Any]]:
    rows, problems = read_jsonl(path)
    if problems:
        raise DemoError(f"{path}: {problems[0]}")
    return rows


def run_folds(
    preset_name: str,
    run_dir: str | os.PathLike,
    folds: int,
    config: DemoConfig | None = None,
    restart: bool = False,
    log: Callable[[str], None] | None = None,
    knowledge: str | os.PathLike | None = None,
    force_knowledge: bool = False,
) -> dict[str, Any]:
    """Run (or resume) the preset once per fold into RUN/fold-K, pool their graded held-out patients into
    RUN/pooled and return the summary also written to RUN/folds_summary.json."""
    from retinavlm.evaluation.evaluate import evaluate_systems
    from retinavlm.knowledge import load_knowledge

    if folds < 2:
        raise DemoError(f"--folds {folds}: cross-validation needs at least 2 folds")
    started = time.perf_counter()
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    config = config or load_demo_config()
    run_dir = Path(run_dir).resolve()
    prepare_folds_dir(run_dir, folds, restart)
    per_fold = []
    for index in range(folds):
        log(f"=== fold {index + 1} of {folds}: {fold_dir(run_dir, index)}")
        per_fold.append(
            run_demo(
                preset_name,
                fold_dir(run_dir, index),
                config,
                restart=restart,
                log=log,
                knowledge=knowledge,
                force_knowledge=force_knowledge,
                fold=Fold(index, folds),
            )
        )
    names = [row["system"] for row in per_fold[0]["systems"]]
    log(f"=== pooled: {folds} folds' held-out patients graded together")
    references, predictions = pool_folds(run_dir, [fold_dir(run_dir, k) for k in range(folds)], names)
    preset = config.presets[preset_name]
    result = evaluate_systems(
        predictions,
        references,
        run_dir / POOLED_DIR / "evaluation",
        knowledge=knowledge,
        bootstrap=preset.evaluation.bootstrap,
        seed=preset.evaluation.seed,
    )
    title = f"demo ({preset_name} preset, {folds} folds' held-out patients pooled)"
    write_run_json(run_dir / POOLED_DIR, title, names, None, load_knowledge(knowledge))
    samples, _ = read_jsonl(run_dir / POOLED_DIR / "evaluation" / "samples.jsonl")
    summary = {
        "preset": preset_name,
        "folds": folds,
        "scored": "each fold's held-out part of the patients outside the test split (the test patients set aside)",
        "compute_seconds": round(sum(s["compute_seconds"] for s in per_fold), 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "machine": machine(),
        "versions": versions(),
        "systems": system_rows(result.results),
        "stage_agreement": label_agreement(samples, "stage"),
        "condition_agreement": label_agreement(samples, "condition"),
        "per_fold": [
            {"fold": k, "summary": str(fold_dir(run_dir, k) / SUMMARY_FILE), "systems": s["systems"]}
            for k, s in enumerate(per_fold)
        ],
    }
    write_json(run_dir / FOLDS_SUMMARY_FILE, summary)
    return summary


def print_folds_summary(summary: dict[str, Any], run_dir: Path) -> None:
    from rich.console import Console

    console = Console()
    folds = summary["folds"]
    console.print(
        systems_table(
            f"Pooled over {folds} folds: each fold's held-out patients (test patients set aside)", summary["systems"]
        )
    )
    for row in summary["per_fold"]:
        model = next((s for s in row["systems"] if s["system"] == MODEL_SYSTEM), None)
        if model is not None:
            console.print(
                f"fold {row['fold'] + 1}: {MODEL_SYSTEM} on {model['n']} scans of {model['patients']} patients: stage "
                f"macro-F1 {cell(model['stage_f1_macro'])}, referral macro-F1 {cell(model['referral_f1_macro'])}".replace(
                    "\n", " "
                ),
                highlight=False,
            )
    agreement = summary["stage_agreement"].get(MODEL_SYSTEM, {})
    if agreement:
        console.print(
            f"{MODEL_SYSTEM}, pooled stage agreement: "
            + ", ".join(f"{stage} {a['agreement']:.2f} (n={a['n']})" for stage, a in agreement.items()),
            highlight=False,
        )
    console.print(
        f"preset {summary['preset']}: {summary['compute_seconds'] / 60:.1f} min of compute over {folds} folds "
        f"({summary['wall_seconds'] / 60:.1f} min this run)",
        highlight=False,
    )
    console.print(f"run folder: {run_dir}   (summary: {run_dir / FOLDS_SUMMARY_FILE})", highlight=False)
    console.print(f"next: retinavlm view {run_dir / POOLED_DIR} --data-root {run_dir}", style="bold", highlight=False)
