"""The main job end to end: synthetic cohort -> curriculum -> reports for held-out patients -> graded
against two controls -> a run folder the viewer opens (docs/RUN_FOLDER.md).

Each step's outputs are written atomically and the step is then recorded in RUN/demo_state.json, so a
second run reuses every finished step and a killed run resumes where it stopped (the curriculum
itself resumes mid-stage from its checkpoints). The preset's settings are recorded too: a run folder
is never silently resumed with different settings.

Systems graded on the test patients:
- `retinavlm`: the trained model's reports on each scan;
- `shuffled_images`: the same model, each scan's image replaced by another test scan's image (a
  derangement, so no scan sees its own image) -- if this scores as well, the model ignores the pixels;
- `always_healthy`: one fixed template report for every scan (curricula/demo.yaml).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retinavlm import schema
from retinavlm.atomic import write_json, write_jsonl, write_text
from retinavlm.errors import ConfigError, RetinaVLMError
from retinavlm.resources import curricula_dir

MODEL_SYSTEM = "retinavlm"
SHUFFLED_SYSTEM = "shuffled_images"
HEALTHY_SYSTEM = "always_healthy"
SYSTEMS = (MODEL_SYSTEM, SHUFFLED_SYSTEM, HEALTHY_SYSTEM)
STATE_FILE = "demo_state.json"
SUMMARY_FILE = "demo_summary.json"
# What the demo writes into a run folder (and what --restart removes; a viewer's reader_study/ stays).
OWNED = (
    "cohort",
    "curriculum",
    "curriculum.yaml",
    "predictions",
    "evaluation",
    "references.jsonl",
    "run.json",
    STATE_FILE,
    SUMMARY_FILE,
)


class DemoError(RetinaVLMError):
    """The demo cannot run as asked. `str()` names the file or setting and the problem."""


@dataclass
class CohortSpec:
    n: int
    seed: int = 0


@dataclass
class Generation:
    max_new_tokens: int = 200
    batch_size: int = 32


@dataclass
class Grading:
    bootstrap: int = 1000
    seed: int = 0


@dataclass
class Preset:
    cohort: CohortSpec
    # Relative to the demo YAML's folder.
    curriculum: str = "curriculum.yaml"
    # stage name -> KEY=VALUE overrides applied after the curriculum's own.
    stage_overrides: dict[str, list[str]] = field(default_factory=dict)
    generation: Generation = field(default_factory=Generation)
    evaluation: Grading = field(default_factory=Grading)


@dataclass
class DemoConfig:
    always_healthy_report: str
    presets: dict[str, Preset]
    source: str = field(default="", metadata={"internal": True})


def default_config_path() -> Path:
    return curricula_dir() / "demo.yaml"


def load_demo_config(path: str | os.PathLike | None = None) -> DemoConfig:
    """The presets file, validated key by key (an unknown key or a wrong type names itself)."""
    path = Path(path) if path is not None else default_config_path()
    config = schema.load(DemoConfig, path, "presets file")
    if not config.always_healthy_report.strip():
        raise ConfigError("must not be empty", "always_healthy_report", path)
    for name, preset in config.presets.items():
        where = f"presets.{name}"
        if preset.cohort.n < 8:
            raise ConfigError("at least 8 scans are needed for three patient splits", f"{where}.cohort.n", path)
        if preset.generation.max_new_tokens < 1 or preset.generation.batch_size < 1:
            raise ConfigError("max_new_tokens and batch_size must be at least 1", f"{where}.generation", path)
        if preset.evaluation.bootstrap < 0:
            raise ConfigError("must be >= 0", f"{where}.evaluation.bootstrap", path)
    config.source = str(path)
    return config


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


class DemoState:
    """RUN/demo_state.json: the preset's settings and the steps already finished (with their seconds)."""

    def __init__(self, run_dir: Path, preset_name: str, settings: dict[str, Any]):
        self.path = run_dir / STATE_FILE
        self.settings_sha = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
        self.doc: dict[str, Any] = {
            "preset": preset_name,
            "settings": settings,
            "settings_sha": self.settings_sha,
            "steps": {},
        }
        if self.path.is_file():
            try:
                previous = json.loads(self.path.read_text(encoding="utf-8"))
                steps, sha = previous["steps"], previous["settings_sha"]
            except (OSError, ValueError, KeyError, TypeError):
                raise DemoError(f"{self.path}: unreadable; pass --restart to start this run folder again") from None
            if sha != self.settings_sha:
                raise DemoError(
                    f"{run_dir}: made with other settings (preset {previous.get('preset')!r}); "
                    "choose another --out, or pass --restart to replace it"
                )
            self.doc["steps"] = steps

    def done(self, step: str) -> bool:
        return step in self.doc["steps"]

    def forget(self, step: str) -> None:
        self.doc["steps"].pop(step, None)

    def finish(self, step: str, seconds: float, **info: Any) -> None:
        self.doc["steps"][step] = {"seconds": round(seconds, 1), "finished": _now(), **info}
        write_json(self.path, self.doc)

    def seconds(self) -> float:
        return round(sum(s["seconds"] for s in self.doc["steps"].values()), 1)


def prepare_run_dir(run_dir: Path, restart: bool) -> None:
    """Refuse a folder that is not a demo run; with restart, remove what an earlier demo wrote there."""
    if run_dir.exists() and not run_dir.is_dir():
        raise DemoError(f"{run_dir}: exists and is not a folder")
    if run_dir.is_dir() and any(run_dir.iterdir()) and not (run_dir / STATE_FILE).is_file():
        raise DemoError(f"{run_dir}: folder is not empty and is not a demo run folder; choose another --out")
    if restart and run_dir.is_dir():
        for name in OWNED:
            path = run_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    run_dir.mkdir(parents=True, exist_ok=True)


# --- the steps ----------------------------------------------------------------------------------


def render_step(run_dir: Path, spec: CohortSpec, log: Callable[[str], None]) -> dict[str, Any]:
    """Render the cohort, or reuse one already there with the same size and seed (its manifest says)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from retinavlm.data.synthetic import render_cohort

    out = run_dir / "cohort"
    manifest = _read_manifest(out)
    if manifest.get("n_scans") == spec.n and manifest.get("seed") == spec.seed:
        log(f"cohort: reusing {out} ({spec.n} scans, seed {spec.seed})")
        return manifest
    columns = (TextColumn("rendering cohort"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("render", total=spec.n)
        summary = render_cohort(
            spec.n,
            out,
            seed=spec.seed,
            workers=min(4, os.cpu_count() or 1),
            progress=lambda done, total: progress.update(task, completed=done),
        )
    log(f"cohort: {summary.n_scans} scans of {summary.n_patients} patients in {out}")
    return _read_manifest(out)


def _read_manifest(cohort: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((cohort / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def derive_curriculum(run_dir: Path, config: DemoConfig, preset: Preset) -> tuple[dict[str, Any], list[Path]]:
    """The preset's curriculum with its per-stage overrides, on RUN's cohort; and the files it reads."""
    from retinavlm.train.config import read_yaml
    from retinavlm.train.curriculum import CurriculumConfig

    base = Path(config.source).parent / preset.curriculum
    curriculum = schema.load(CurriculumConfig, base)
    names, files = [], [base.resolve()]
    for entry in curriculum.stages:
        stage_path = (base.parent / entry.config).resolve()
        names.append(str(read_yaml(stage_path).get("name", stage_path.stem)))
        files.append(stage_path)
        entry.config = str(stage_path)
        entry.overrides = [*entry.overrides, *preset.stage_overrides.get(names[-1], [])]
    unknown = sorted(set(preset.stage_overrides) - set(names))
    if unknown:
        raise DemoError(f"{config.source}: stage_overrides.{unknown[0]}: no such stage in {base} ({', '.join(names)})")
    curriculum.cohort, curriculum.output_dir = str(run_dir / "cohort"), str(run_dir / "curriculum")
    return schema.to_dict(curriculum), files


def file_digests(paths: list[Path]) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in paths}


def held_out_scans(curriculum: Path):
    """The held-out test patients' scans, split exactly as the curriculum splits them."""
    from retinavlm.knowledge import load_knowledge
    from retinavlm.train.curriculum import load_curriculum
    from retinavlm.train.records import load_cohorts

    _, stages = load_curriculum(curriculum)
    data = stages[-1].data
    records = load_cohorts(data, load_knowledge()).test
    if not records:
        raise DemoError(f"{data.cohort}: the test split is empty; render a larger cohort")
    return records, Path(stages[-1].output_dir) / "final"


def write_references(run_dir: Path, records) -> None:
    """RUN/references.jsonl: the cohort's reference rows of the test scans, images relative to RUN."""
    from retinavlm.jsonl import read_jsonl

    rows, problems = read_jsonl(run_dir / "cohort" / "references.jsonl")
    if problems:
        raise DemoError(str(problems[0]))
    by_id = {row["id"]: row for row in rows}
    write_jsonl(
        run_dir / "references.jsonl", [{**by_id[r.id], "image": f"cohort/{by_id[r.id]['image']}"} for r in records]
    )


def predictions_step(
    run_dir: Path,
    records,
    checkpoint: Path,
    config: DemoConfig,
    preset: Preset,
    state: DemoState,
    log: Callable[[str], None],
) -> None:
    """RUN/predictions/<system>.jsonl for the three systems (each file is a step of its own)."""
    from retinavlm.model.generation import generate_batched
    from retinavlm.model.prompts import report_prompt
    from retinavlm.model.vlm import RetinaVLM
    from retinavlm.train.curriculum import shuffled_order
    from retinavlm.train.images import ScanImages, augment_config

    out = run_dir / "predictions"
    ids = [r.id for r in records]
    todo = [s for s in SYSTEMS if not (state.done(f"predictions:{s}") and (out / f"{s}.jsonl").is_file())]
    if todo:
        state.forget("evaluation")  # it graded other reports
    if HEALTHY_SYSTEM in todo:
        started = time.perf_counter()
        report = " ".join(config.always_healthy_report.split())
        write_jsonl(
            out / f"{HEALTHY_SYSTEM}.jsonl", [{"id": i, "report": report, "model": HEALTHY_SYSTEM} for i in ids]
        )
        state.finish(f"predictions:{HEALTHY_SYSTEM}", time.perf_counter() - started, reports=len(ids))
    model_systems = [s for s in todo if s != HEALTHY_SYSTEM]
    if not model_systems:
        log("predictions: reusing all three systems' reports")
        return
    model = RetinaVLM.from_pretrained(checkpoint)
    images = ScanImages(records, model.processor, augment_config({}, model.processor.image_size))
    if images.refused:
        raise DemoError(f"unreadable test scan: {images.refused[0]}")
    orders = {
        MODEL_SYSTEM: list(range(len(ids))),
        SHUFFLED_SYSTEM: shuffled_order(len(ids), seed=preset.evaluation.seed),
    }
    prompt = report_prompt()
    for system in model_systems:
        started = time.perf_counter()
        reports = generate_batched(
            model,
            (images.tensor(shown) for shown in orders[system]),
            prompt,
            preset.generation.batch_size,
            preset.generation.max_new_tokens,
            progress=f"reports ({system})",
            total=len(ids),
        )
        write_jsonl(out / f"{system}.jsonl", [{"id": i, "report": r, "model": system} for i, r in zip(ids, reports)])
        seconds = time.perf_counter() - started
        state.finish(f"predictions:{system}", seconds, reports=len(ids))
        log(f"predictions: {len(ids)} {system} reports in {seconds:.1f} s")


def evaluation_step(run_dir: Path, preset: Preset) -> dict[str, Any]:
    """Grade the three systems with the default rubric into RUN/evaluation (as `retinavlm evaluate`);
    the contents of its results.json."""
    from retinavlm.evaluation.context_rules import RulesError
    from retinavlm.evaluation.evaluate import evaluate_systems
    from retinavlm.knowledge import KnowledgeError

    try:
        result = evaluate_systems(
            [run_dir / "predictions" / f"{s}.jsonl" for s in SYSTEMS],
            run_dir / "references.jsonl",
            run_dir / "evaluation",
            bootstrap=preset.evaluation.bootstrap,
            seed=preset.evaluation.seed,
        )
    except (RetinaVLMError, RulesError, KnowledgeError) as exc:
        raise DemoError(f"grading into {run_dir / 'evaluation'} failed: {exc}") from None
    return {**result.results, "run": result.run}


def write_run_json(run_dir: Path, preset_name: str, checkpoint: Path) -> None:
    from retinavlm import __version__
    from retinavlm.knowledge import load_knowledge

    write_json(
        run_dir / "run.json",
        {
            "name": f"demo ({preset_name} preset)",
            "toolkit_version": __version__,
            "knowledge_version": load_knowledge().version_tag,
            "checkpoint": os.path.relpath(checkpoint, run_dir),
            "systems": list(SYSTEMS),
            "references": "references.jsonl",
            "evaluation": "evaluation",
        },
    )


# --- the summary ---------------------------------------------------------------------------------


def system_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per system: rubric score, stage and referral macro-F1 (with 95% CIs), mean biomarker F1."""
    rows = []
    for system, stats in results["summary"]["systems"].items():
        if not stats.get("n"):
            continue
        f1s = [b["f1"]["value"] for b in stats["biomarkers"].values() if b["f1"]["value"] is not None]
        rows.append(
            {
                "system": system,
                "n": stats["n"],
                "patients": stats["patients"],
                "score": stats["score"],
                "stage_f1_macro": stats["stage"]["f1_macro"],
                "referral_f1_macro": stats["referral"]["f1_macro"],
                "biomarker_f1_mean": round(sum(f1s) / len(f1s), 4) if f1s else None,
            }
        )
    return rows


def machine() -> dict[str, Any]:
    import torch

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info = {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    with contextlib.suppress(OSError):
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    return info


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("retinavlm", "torch", "transformers", "accelerate", "numpy"):
        with contextlib.suppress(md.PackageNotFoundError):
            out[name] = md.version(name)
    return out


def print_summary(summary: dict[str, Any], run_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    def cell(metric: dict[str, Any] | float | None) -> str:
        if metric is None or isinstance(metric, (int, float)):
            return "n/a" if metric is None else f"{metric:.3f}"
        if metric.get("value") is None:
            return "n/a"
        low, high = metric.get("ci95") or (None, None)
        return f"{metric['value']:.3f}" + (f"\n[{low:.2f}, {high:.2f}]" if low is not None else "")

    console = Console()
    rows = summary["systems"]
    n = rows[0]["n"] if rows else 0
    table = Table(
        title=f"Graded free-text reports, {n} held-out scans of {rows[0]['patients'] if rows else 0} "
        "patients (95% CI, patient bootstrap)",
        title_justify="left",
    )
    table.add_column("system", no_wrap=True)
    for column in ("stage macro-F1", "referral macro-F1", "biomarker F1 (mean)", "rubric score"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row["system"],
            cell(row["stage_f1_macro"]),
            cell(row["referral_f1_macro"]),
            cell(row["biomarker_f1_mean"]),
            cell(row["score"]),
        )
    console.print(table)
    heldout = summary.get("closed_ended") or {}
    own, shuffled = heldout.get("own_images", {}), heldout.get("shuffled_images", {})
    if own:
        console.print(
            f"closed-ended answers (test split): stage macro-F1 {cell(own.get('stage_macro_f1'))} with own images, "
            f"{cell(shuffled.get('stage_macro_f1'))} shuffled; referral macro-F1 {cell(own.get('referral_macro_f1'))} / "
            f"{cell(shuffled.get('referral_macro_f1'))}",
            highlight=False,
        )
    console.print(
        f"preset {summary['preset']}: {summary['compute_seconds'] / 60:.1f} min of compute over all runs of "
        f"this folder ({summary['wall_seconds'] / 60:.1f} min this run) on {summary['machine']['cpu']}, "
        f"{summary['machine']['logical_cpus']} logical CPUs",
        highlight=False,
    )
    console.print(f"run folder: {run_dir}   (summary: {run_dir / SUMMARY_FILE})", highlight=False)
    console.print(f"next: retinavlm view {run_dir}", style="bold", highlight=False)


# --- the job --------------------------------------------------------------------------------------


def run_demo(
    preset_name: str,
    run_dir: str | os.PathLike,
    config: DemoConfig | None = None,
    restart: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) the demo into `run_dir`; returns the summary also written to RUN/demo_summary.json."""
    import yaml

    started = time.perf_counter()
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    config = config or load_demo_config()
    if preset_name not in config.presets:
        raise DemoError(f"{config.source}: no preset {preset_name!r}; choose one of {', '.join(config.presets)}")
    preset = config.presets[preset_name]
    run_dir = Path(run_dir).resolve()
    prepare_run_dir(run_dir, restart)
    # Editing the curriculum or a stage YAML changes the settings too: finished stages would be stale.
    curriculum_doc, curriculum_files = derive_curriculum(run_dir, config, preset)
    state = DemoState(
        run_dir,
        preset_name,
        {
            **asdict(preset),
            "always_healthy_report": config.always_healthy_report,
            "curriculum_files": file_digests(curriculum_files),
        },
    )
    steps = 6

    def announce(number: int, text: str) -> None:
        log(f"[{number}/{steps}] {text}")

    announce(1, f"synthetic cohort: {preset.cohort.n} scans, seed {preset.cohort.seed}")
    t = time.perf_counter()
    if not (state.done("cohort") and _read_manifest(run_dir / "cohort")):
        manifest = render_step(run_dir, preset.cohort, log)
        state.finish(
            "cohort", time.perf_counter() - t, scans=manifest.get("n_scans"), patients=manifest.get("n_patients")
        )
    else:
        log(f"cohort: done earlier; reusing {run_dir / 'cohort'}")

    announce(2, "curriculum: training the tiny model stage by stage")
    curriculum = run_dir / "curriculum.yaml"
    write_text(curriculum, "# Written by `retinavlm demo`.\n" + yaml.safe_dump(curriculum_doc, sort_keys=False))
    summary_path = run_dir / "curriculum" / "curriculum_summary.json"
    t = time.perf_counter()
    if state.done("curriculum") and summary_path.is_file():
        log(f"curriculum: done earlier; reusing {summary_path}")
        trained = json.loads(summary_path.read_text(encoding="utf-8"))
    else:
        from retinavlm.train.curriculum import run_curriculum

        # A finished stage is skipped; a killed one resumes from its last checkpoint.
        trained = run_curriculum(curriculum, log=log)
        state.finish("curriculum", time.perf_counter() - t, training_seconds=trained["training_seconds"])

    announce(3, "held-out test patients: references")
    records, checkpoint = held_out_scans(curriculum)
    write_references(run_dir, records)
    log(f"references: {len(records)} test scans of {len({r.patient_id for r in records})} patients")

    announce(4, f"reports: {', '.join(SYSTEMS)}")
    predictions_step(run_dir, records, checkpoint, config, preset, state, log)

    announce(5, "grading with the default rubric")
    t = time.perf_counter()
    evaluation_done = state.done("evaluation") and (run_dir / "evaluation" / "results.json").is_file()
    if evaluation_done:
        log(f"evaluation: done earlier; reusing {run_dir / 'evaluation'}")
        results = json.loads((run_dir / "evaluation" / "results.json").read_text(encoding="utf-8"))
    else:
        results = evaluation_step(run_dir, preset)
        state.finish("evaluation", time.perf_counter() - t)

    announce(6, "run folder")
    write_run_json(run_dir, preset_name, checkpoint)
    summary = {
        "preset": preset_name,
        "settings_sha": state.settings_sha,
        "date": _now(),
        "compute_seconds": state.seconds(),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "steps": state.doc["steps"],
        "machine": machine(),
        "versions": versions(),
        "curriculum": {
            "stages": [{k: s[k] for k in ("name", "steps", "seconds")} for s in trained["stages"]],
            "final_model": trained["final_model"],
        },
        "closed_ended": trained.get("heldout"),
        "systems": system_rows(results),
    }
    write_json(run_dir / SUMMARY_FILE, summary)
    return summary
