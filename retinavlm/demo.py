"""The main job end to end: synthetic cohort -> curriculum -> reports for held-out patients -> graded
against two controls -> a run folder the viewer opens (docs/RUN_FOLDER.md).

Each step's outputs are written atomically and the step is then recorded in RUN/demo_state.json, so a
second run reuses every finished step and a killed run resumes where it stopped (the curriculum
itself resumes mid-stage from its checkpoints). The preset's settings are recorded too: a run folder
is never silently resumed with different settings.

Systems graded on the held-out patients of the scored split (test by default; validation with `--split
validation`, to choose settings without looking at the test patients):
- `retinavlm`: the trained model's reports on each scan;
- `shuffled_images`: the same model, each scan's image replaced by another held-out scan's image (a
  derangement, so no scan sees its own image) -- if this scores as well, the model ignores the pixels;
- `always_healthy`: one fixed template report for every scan (curricula/demo.yaml).

Training (cohort, curriculum) is shared by the splits; what depends on the split (references, reports,
closed-ended answers, grades, summary) is written per split: the test split in RUN itself, the validation
split under RUN/validation/ with the same layout. A preset with a held-out scanner domain also grades the
same patients' scans rendered on that domain, in SPLIT_FOLDER/heldout_domain/.
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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retinavlm import schema
from retinavlm.atomic import write_bytes, write_json, write_jsonl, write_text
from retinavlm.errors import ConfigError, RetinaVLMError
from retinavlm.host import machine
from retinavlm.pseudonyms import pseudonyms
from retinavlm.resources import curricula_dir

if TYPE_CHECKING:
    from retinavlm.data.synthetic import CohortConfig
    from retinavlm.data.synthetic.config import Acquisition
    from retinavlm.knowledge import KnowledgeBase

MODEL_SYSTEM = "retinavlm"
SHUFFLED_SYSTEM = "shuffled_images"
HEALTHY_SYSTEM = "always_healthy"
SYNTHETIC_ONLY_SYSTEM = "synthetic_only"
CNN_SCRATCH_SYSTEM = "cnn_from_scratch"
CNN_PRETRAINED_SYSTEM = "cnn_from_synthetic_encoder"
CLASSIFIERS_DIR = "classifiers"  # RUN/classifiers/SYSTEM: trained once, reused by every scored split
STATE_FILE = "demo_state.json"
SUMMARY_FILE = "demo_summary.json"
SPLITS = ("test", "validation")
HELDOUT_DOMAIN_FOLDER = "heldout_domain"
# What the demo writes into a run folder (and what --restart removes; a viewer's reader_study/ stays).
OWNED = (
    "cohort",
    "curriculum",
    "curriculum.yaml",
    "predictions",
    "evaluation",
    "images",
    "classifiers",
    "references.jsonl",
    "run.json",
    "validation",
    HELDOUT_DOMAIN_FOLDER,
    STATE_FILE,
    SUMMARY_FILE,
)


class DemoError(RetinaVLMError):
    """The demo cannot run as asked. `str()` names the file or setting and the problem."""


@dataclass
class CohortSpec:
    n: int
    seed: int = 0
    # A scanner domain of curricula/synthetic/cohort.yaml that no training or validation scan comes from; the
    # final checkpoint is also graded on the scored patients' scans rendered on it.
    heldout_domain: str | None = None
    # How each scan sits in its frame (cohort.yaml `acquisition`), in place of the cohort file's; null keeps it.
    # Checked when the presets file is read (`cohort_acquisition`).
    acquisition: dict[str, float] | None = None


@dataclass
class Generation:
    max_new_tokens: int = 200
    batch_size: int = 32
    # Candidate reports checked against the model's own closed answers (model/answer_check.py); 0: greedy.
    check_answers: int = 0


@dataclass
class Grading:
    bootstrap: int = 1000
    seed: int = 0


@dataclass
class RealCohort:
    # A cohort folder (Kermany-style class folders, or a manifest) under the shared real-data folder
    # (`retinavlm.resources.shared_data_dir()`); it fills the curriculum's named cohort `real`.
    folder: str


@dataclass
class Classifiers:
    """Plain supervised CNN classifiers on the real training patients, graded beside the VLM."""

    # The stage whose encoder the pretrained classifier starts from (the synthetic stage 0).
    pretrained_stage: str
    epochs: int = 30
    patience: int = 8
    seed: int = 0


@dataclass
class Controls:
    # The stage whose final checkpoint writes the `synthetic_only` system's reports (trained before any real scan).
    synthetic_only_stage: str | None = None
    classifiers: Classifiers | None = None


@dataclass
class Preset:
    cohort: CohortSpec
    # Relative to the demo YAML's folder.
    curriculum: str = "curriculum.yaml"
    # stage name -> KEY=VALUE overrides applied after the curriculum's own.
    stage_overrides: dict[str, list[str]] = field(default_factory=dict)
    generation: Generation = field(default_factory=Generation)
    evaluation: Grading = field(default_factory=Grading)
    # Real scans after the synthetic ones (the curriculum names cohorts `synthetic` and `real`).
    real: RealCohort | None = None
    controls: Controls = field(default_factory=Controls)


@dataclass(frozen=True)
class Fold:
    """One of `count` patient folds (retinavlm.data.cohorts.splits): the run trains without part `index` of the
    patients outside the test split and scores it as its test split; the real test patients are set aside."""

    index: int
    count: int


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
        if preset.generation.check_answers < 0:
            raise ConfigError(
                "must be 0 (greedy) or a number of candidate reports", f"{where}.generation.check_answers", path
            )
        if preset.evaluation.bootstrap < 0:
            raise ConfigError("must be >= 0", f"{where}.evaluation.bootstrap", path)
        if preset.cohort.acquisition is not None:
            cohort_acquisition(preset.cohort, f"{where}.cohort.acquisition", path)
        if preset.cohort.heldout_domain is not None and preset.real is not None:
            raise ConfigError(
                "a held-out scanner domain is graded on synthetic patients; this preset grades real ones",
                f"{where}.cohort.heldout_domain",
                path,
            )
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
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
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


@dataclass(frozen=True)
class ScoredSet:
    """A folder of scored scans (references.jsonl, predictions/, evaluation/, run.json) and the names of its
    steps in RUN/demo_state.json, which start with the folder's path under RUN (none for RUN itself)."""

    run_dir: Path
    folder: Path

    def step(self, name: str) -> str:
        where = self.folder.relative_to(self.run_dir).as_posix()
        return name if where == "." else f"{where}/{name}"

    def within(self, name: str) -> ScoredSet:
        return ScoredSet(self.run_dir, self.folder / name)


def split_folder(run_dir: Path, split: str) -> ScoredSet:
    """Where a scored split's files go: RUN itself for test (docs/RUN_FOLDER.md), RUN/<split>/ otherwise."""
    if split not in SPLITS:
        raise DemoError(f"--split {split!r}: choose one of {', '.join(SPLITS)}")
    return ScoredSet(run_dir, run_dir if split == "test" else run_dir / split)


# --- the steps ----------------------------------------------------------------------------------


def cohort_acquisition(
    spec: CohortSpec, where: str = "cohort.acquisition", source: str | os.PathLike = ""
) -> Acquisition:
    """The preset's framing of synthetic scans, validated as cohort.yaml's `acquisition` section is."""
    from retinavlm.data.synthetic.config import Acquisition, CohortConfigError

    try:
        return schema.from_dict(Acquisition, spec.acquisition, error=CohortConfigError)
    except CohortConfigError as exc:
        raise exc.within(where, source) from None


def synthetic_cohort_configs(spec: CohortSpec, kb: KnowledgeBase, where: str) -> tuple[CohortConfig, CohortConfig]:
    """The synthetic cohort's settings (curricula/synthetic/cohort.yaml) with every scanner domain, and without
    the held-out one (what the cohort the model trains on is rendered with)."""
    from retinavlm.data.synthetic import CohortConfigError, load_cohort_config

    config = load_cohort_config(kb=kb)
    if spec.acquisition is not None:
        config = config.with_acquisition(cohort_acquisition(spec, f"{where}.cohort.acquisition"))
    if spec.heldout_domain is None:
        return config, config
    try:
        return config, config.without_domain(spec.heldout_domain)
    except CohortConfigError as exc:
        raise DemoError(f"{where}.cohort.heldout_domain: {exc}") from None


def _rendering(label: str):
    """A progress bar on stderr, gone when done."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    return Progress(*columns, console=Console(stderr=True), transient=True)


def render_step(run_dir: Path, spec: CohortSpec, config: CohortConfig, log: Callable[[str], None]) -> dict[str, Any]:
    """Render the cohort on `config`'s scanner domains, or reuse one already there with the same size, seed and
    domains (its manifest says)."""
    from retinavlm.data.synthetic import render_cohort

    out = run_dir / "cohort"
    manifest = _read_manifest(out)
    if (manifest.get("n_scans"), manifest.get("seed"), manifest.get("domains_used")) == (
        spec.n,
        spec.seed,
        list(config.domains),
    ):
        log(f"cohort: reusing {out} ({spec.n} scans, seed {spec.seed})")
        return manifest
    with _rendering("rendering cohort") as progress:
        task = progress.add_task("render", total=spec.n)
        summary = render_cohort(
            spec.n,
            out,
            seed=spec.seed,
            config=config,
            workers=min(4, os.cpu_count() or 1),
            progress=lambda done, total: progress.update(task, completed=done),
        )
    log(f"cohort: {summary.n_scans} scans of {summary.n_patients} patients in {out}")
    return _read_manifest(out)


def _read_manifest(cohort: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((cohort / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def derive_curriculum(
    run_dir: Path, config: DemoConfig, preset: Preset, fold: Fold | None = None
) -> tuple[dict[str, Any], list[Path]]:
    """The preset's curriculum with its per-stage overrides (and the fold, for every stage), on RUN's cohort; and
    the files it reads."""
    from retinavlm.train.config import read_yaml
    from retinavlm.train.curriculum import CurriculumConfig

    base = Path(config.source).parent / preset.curriculum
    curriculum = schema.load(CurriculumConfig, base)
    names, files = [], [base.resolve()]
    for entry in curriculum.stages:
        stage_path = (base.parent / entry.config).resolve()
        names.append(str(entry.name or read_yaml(stage_path).get("name", stage_path.stem)))
        files.append(stage_path)
        entry.config = str(stage_path)
        entry.overrides = [*entry.overrides, *preset.stage_overrides.get(names[-1], [])]
        if fold is not None:
            entry.overrides += [f"data.folds={fold.count}", f"data.fold={fold.index}"]
    where = f"{config.source}: presets"
    unknown = sorted(set(preset.stage_overrides) - set(names))
    if unknown:
        raise DemoError(f"{where}: stage_overrides.{unknown[0]}: no such stage in {base} ({', '.join(names)})")
    for key, stage in (
        ("synthetic_only_stage", preset.controls.synthetic_only_stage),
        ("classifiers.pretrained_stage", getattr(preset.controls.classifiers, "pretrained_stage", None)),
    ):
        if stage is not None and stage not in names:
            raise DemoError(f"{where}: controls.{key}: no stage {stage!r} in {base} ({', '.join(names)})")
    curriculum.output_dir = str(run_dir / "curriculum")
    if preset.real is None:
        curriculum.cohort = str(run_dir / "cohort")
    elif set(curriculum.cohorts) != {"synthetic", "real"}:
        raise DemoError(f"{base}: cohorts: a preset with real scans needs a curriculum naming `synthetic` and `real`")
    else:
        curriculum.cohorts = {"synthetic": str(run_dir / "cohort"), "real": str(real_cohort_dir(preset.real))}
    return schema.to_dict(curriculum), files


def real_cohort_dir(real: RealCohort) -> Path:
    """The preset's real cohort in the shared data folder, or one clear line saying it is not there."""
    from retinavlm.resources import shared_data_dir

    data = shared_data_dir()
    if data is None or not (data / real.folder).is_dir():
        looked = data / real.folder if data is not None else f"../shared/data/{real.folder} beside the checkout"
        raise DemoError(
            f"real OCT sample not found: {looked}; put the Kermany sample there or set RETINAVLM_SHARED_DATA"
        )
    return data / real.folder


def file_digests(paths: list[Path]) -> dict[str, str]:
    """Content digests keyed by path relative to the first file's folder (the curriculum's), so that a run folder
    resumes from another checkout or worktree of the same files."""
    root = paths[0].parent
    return {
        (str(p.relative_to(root)) if p.is_relative_to(root) else str(p)): hashlib.sha256(p.read_bytes()).hexdigest()[
            :16
        ]
        for p in paths
    }


def held_out_scans(curriculum: Path, kb: KnowledgeBase, split: str):
    """The held-out `split` patients' scans (of the evaluation cohort), split exactly as the curriculum splits them;
    and the final checkpoint and each stage's final checkpoint by stage name."""
    from retinavlm.train.curriculum import heldout_records, load_curriculum

    cur, stages = load_curriculum(curriculum)
    try:
        records = heldout_records(stages[-1], split, kb, cur.evaluation_cohort)
    except ConfigError as exc:
        raise DemoError(f"{exc}; render a larger cohort") from None
    finals = {stage.name: Path(stage.output_dir) / "final" for stage in stages}
    return records, finals[stages[-1].name], finals


def cohort_references(cohort: Path) -> dict[str, dict[str, Any]]:
    """A rendered cohort's reference rows by scan id."""
    from retinavlm.jsonl import read_jsonl

    rows, problems = read_jsonl(cohort / "references.jsonl")
    if problems:
        raise DemoError(str(problems[0]))
    return {row["id"]: row for row in rows}


def write_references(cohort: Path, folder: Path, records) -> None:
    """FOLDER/references.jsonl: the cohort's reference rows of the scored scans, images relative to FOLDER."""
    by_id = cohort_references(cohort)
    write_jsonl(
        folder / "references.jsonl",
        [
            {**by_id[r.id], "image": Path(os.path.relpath(cohort / by_id[r.id]["image"], folder)).as_posix()}
            for r in records
        ],
    )


def pseudonymous_records(records: list) -> list:
    """The real scans under pseudonymous scan and patient ids: their file names carry patient numbers
    (`CNV-1016042-1`), and ids flow into every output of the run."""
    scans = pseudonyms((r.id for r in records), "scan")
    patients = pseudonyms((r.patient_id for r in records), "patient")
    return [replace(r, id=scans[r.id], patient_id=patients[r.patient_id]) for r in records]


def write_real_references(folder: Path, records) -> None:
    """FOLDER/references.jsonl for real held-out scans (pseudonymous_records): only what each scan's labels know
    (an unknown is left out, so the grader never scores it); the scans are copied into FOLDER/images under their
    pseudonyms, so that the run folder stands alone and names no source file."""
    rows = []
    for record in records:
        image = Path("images") / f"{record.id}{record.image.suffix.lower()}"
        if not (folder / image).is_file():
            write_bytes(folder / image, record.image.read_bytes())
        row = {"id": record.id, "patient_id": record.patient_id, "image": image.as_posix()}
        row.update({key: getattr(record, key) for key in ("stage", "referral", "condition") if getattr(record, key)})
        row["biomarkers"] = {bid: state for bid, state in record.biomarkers.items() if state is not None}
        rows.append(row)
    write_jsonl(folder / "references.jsonl", rows)


def systems(preset: Preset) -> list[str]:
    """The systems a preset grades: the model, its two controls, and the preset's extra controls."""
    names = [MODEL_SYSTEM, SHUFFLED_SYSTEM, HEALTHY_SYSTEM]
    if preset.controls.synthetic_only_stage is not None:
        names.append(SYNTHETIC_ONLY_SYSTEM)
    if preset.controls.classifiers is not None:
        names += [CNN_SCRATCH_SYSTEM, CNN_PRETRAINED_SYSTEM]
    return names


def predictions_step(
    scored: ScoredSet,
    records,
    names: list[str],
    finals: dict[str, Path],
    final: Path,
    config: DemoConfig,
    preset: Preset,
    state: DemoState,
    log: Callable[[str], None],
    kb: KnowledgeBase,
    force_knowledge: bool = False,
) -> None:
    """FOLDER/predictions/<system>.jsonl for each system of `names` (each file is a step of its own); the CNN
    classifiers' files are written by classifiers_step."""
    from retinavlm.model.answer_check import AnswerCheck
    from retinavlm.model.prompts import report_prompt
    from retinavlm.model.report_run import (
        ReportRunError,
        check_run_record,
        drop_torn_line,
        read_written,
        run_record,
        run_record_path,
        stream_reports,
    )
    from retinavlm.model.vlm import RetinaVLM
    from retinavlm.train.curriculum import shuffled_order
    from retinavlm.train.images import ScanImages, augment_config

    out = scored.folder / "predictions"
    ids = [r.id for r in records]
    todo = [s for s in names if not (state.done(scored.step(f"predictions:{s}")) and (out / f"{s}.jsonl").is_file())]
    if todo:
        state.forget(scored.step("evaluation"))  # it graded other reports
    if HEALTHY_SYSTEM in todo:
        started = time.perf_counter()
        report = " ".join(config.always_healthy_report.split())
        write_jsonl(
            out / f"{HEALTHY_SYSTEM}.jsonl", [{"id": i, "report": report, "model": HEALTHY_SYSTEM} for i in ids]
        )
        state.finish(scored.step(f"predictions:{HEALTHY_SYSTEM}"), time.perf_counter() - started, reports=len(ids))
    # system -> (checkpoint, the image each scan is shown)
    model_systems = {
        MODEL_SYSTEM: (final, list(range(len(ids)))),
        SHUFFLED_SYSTEM: (final, shuffled_order(len(ids), seed=preset.evaluation.seed)),
    }
    if SYNTHETIC_ONLY_SYSTEM in names:
        model_systems[SYNTHETIC_ONLY_SYSTEM] = (finals[preset.controls.synthetic_only_stage], list(range(len(ids))))
    if not any(system in todo for system in model_systems):
        log("predictions: reusing every model system's reports")
    prompt = report_prompt()
    candidates = preset.generation.check_answers
    check = AnswerCheck.load(candidates, kb) if candidates else None
    loaded: dict[Path, tuple[Any, Any]] = {}
    for system, (checkpoint, order) in model_systems.items():
        if system not in todo:
            continue
        if checkpoint not in loaded:
            model = RetinaVLM.from_pretrained(checkpoint, knowledge=kb, force_knowledge=force_knowledge)
            images = ScanImages(records, model.processor, augment_config({}, model.processor.image_size))
            if images.refused:
                raise DemoError(f"unreadable held-out scan: {images.refused[0]}")
            loaded = {checkpoint: (model, images)}  # one model in memory at a time
        model, images = loaded[checkpoint]
        started = time.perf_counter()
        path = out / f"{system}.jsonl"  # appended batch by batch; a killed run's rows are kept and continued
        record = run_record(checkpoint, prompt, preset.generation.max_new_tokens, system, candidates)
        try:
            check_run_record(path, record)
            same_writer = run_record_path(path).is_file()  # a file without a record has no known writer
        except ReportRunError:
            same_writer = False
        if path.is_file() and not same_writer:
            # rows of another checkpoint or another answer-check rule (the code changed since the kill)
            log(f"predictions: {path.name} was written by another checkpoint or report rule; writing it again")
            path.unlink()
        write_json(run_record_path(path), record)
        done = {row["id"] for row in read_written(path, system)}
        drop_torn_line(path)
        pending = [(i, shown) for i, shown in zip(ids, order, strict=True) if i not in done]
        stream_reports(
            model,
            ((i, images.tensor(shown)) for i, shown in pending),
            prompt,
            preset.generation.batch_size,
            preset.generation.max_new_tokens,
            path,
            system,
            progress=f"reports ({system})",
            total=len(pending),
            check=check,
        )
        seconds = time.perf_counter() - started
        state.finish(scored.step(f"predictions:{system}"), seconds, reports=len(ids))
        log(f"predictions: {len(ids)} {system} reports in {seconds:.1f} s")


def classifiers_step(
    scored: ScoredSet,
    split: str,
    curriculum: Path,
    finals: dict[str, Path],
    settings: Classifiers,
    state: DemoState,
    log: Callable[[str], None],
    kb: KnowledgeBase,
) -> dict[str, Any]:
    """The plain supervised baselines on the real patients: a CNN classifier from scratch and one from the synthetic
    stage-0 encoder, each choosing its epoch on the validation patients; reports on the `split` patients from the
    predicted class (its referral and, where known, its stage). Scored on validation, their figures are optimistic:
    the summary says so. Each is trained once per run folder (RUN/classifiers/SYSTEM) and reused by every split."""
    from retinavlm.train.curriculum import heldout_records, load_curriculum
    from retinavlm.train.scan_classifier import (
        ClassifierConfig,
        load_classifier,
        save_classifier,
        train_scan_classifier,
        write_predictions,
    )

    cur, stages = load_curriculum(curriculum)
    last = stages[-1]
    train, validation = (heldout_records(last, name, kb, "real") for name in ("train", "validation"))
    scored_records = heldout_records(last, split, kb, "real")
    encoder = next(stage for stage in stages if stage.name == settings.pretrained_stage).model
    info: dict[str, Any] = {}
    for system, weights in (
        (CNN_SCRATCH_SYSTEM, None),
        (CNN_PRETRAINED_SYSTEM, finals[settings.pretrained_stage] / "encoder.safetensors"),
    ):
        step = scored.step(f"predictions:{system}")
        if state.done(step) and (scored.folder / "predictions" / f"{system}.jsonl").is_file():
            info[system] = state.doc["steps"][step]
            continue
        started = time.perf_counter()
        saved = scored.run_dir / CLASSIFIERS_DIR / system
        reused = saved.is_dir()
        if reused:
            trained = load_classifier(saved)
        else:
            config = ClassifierConfig(
                encoder=encoder.encoder.name,
                image_size=encoder.encoder.image_size,
                crop=encoder.encoder.crop,
                crop_fraction=encoder.encoder.crop_fraction,
                encoder_weights=None if weights is None else str(weights),
                epochs=settings.epochs,
                patience=settings.patience,
                seed=settings.seed,
            )
            trained = train_scan_classifier(train, validation, config)
            save_classifier(trained, saved)
        write_predictions(
            scored.folder / "predictions" / f"{system}.jsonl",
            pseudonymous_records(scored_records),
            trained.predict(scored_records),
            kb,
            system,
        )
        seconds = time.perf_counter() - started
        info[system] = {
            "best_epoch": trained.best_epoch,
            "validation_macro_f1": round(trained.validation_macro_f1, 4),
            "epoch_chosen_on": "validation",
            "scored_on_the_patients_it_chose_on": split == "validation",
        }
        state.finish(step, seconds, reports=len(scored_records), **info[system])
        log(
            f"predictions: {system} (best epoch {trained.best_epoch}, validation macro-F1 "
            f"{trained.validation_macro_f1:.3f}{', trained earlier in this run folder' if reused else ''}) "
            f"in {seconds:.1f} s"
        )
    return info


def evaluation_step(
    scored: ScoredSet,
    names: list[str],
    preset: Preset,
    state: DemoState,
    log: Callable[[str], None],
    kb: KnowledgeBase,
) -> dict[str, Any]:
    """Grade the systems `names` with the default rubric into FOLDER/evaluation (as `retinavlm evaluate`), or
    reuse the grades of an earlier run; the contents of its results.json."""
    from retinavlm.evaluation.context_rules import RulesError
    from retinavlm.evaluation.evaluate import evaluate_systems
    from retinavlm.knowledge import KnowledgeError

    out = scored.folder / "evaluation"
    if state.done(scored.step("evaluation")) and (out / "results.json").is_file():
        log(f"evaluation: done earlier; reusing {out}")
        return json.loads((out / "results.json").read_text(encoding="utf-8"))
    started = time.perf_counter()
    try:
        result = evaluate_systems(
            [scored.folder / "predictions" / f"{s}.jsonl" for s in names],
            scored.folder / "references.jsonl",
            out,
            knowledge=kb.path,
            bootstrap=preset.evaluation.bootstrap,
            seed=preset.evaluation.seed,
        )
    except (RetinaVLMError, RulesError, KnowledgeError) as exc:
        raise DemoError(f"grading into {out} failed: {exc}") from None
    state.finish(scored.step("evaluation"), time.perf_counter() - started)
    return {**result.results, "run": result.run}


def closed_ended_step(
    scored: ScoredSet,
    curriculum: Path,
    split: str,
    state: DemoState,
    log: Callable[[str], None],
    kb: KnowledgeBase,
    renamed: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The final checkpoint's closed-ended answers on the `split` patients, own images against shuffled ones (the
    curriculum's held-out scoring, on the scored split; answers in RUN/curriculum/answers-SPLIT.jsonl, their scan
    ids replaced by `renamed`, the real scans' pseudonyms)."""
    from retinavlm.jsonl import read_jsonl
    from retinavlm.train.curriculum import evaluate_heldout, load_curriculum

    step = scored.step("closed_ended")
    if state.done(step):
        log(f"closed-ended answers: done earlier ({split} split)")
        return state.doc["steps"][step]["scores"]
    started = time.perf_counter()
    cur, stages = load_curriculum(curriculum)
    final = Path(stages[-1].output_dir) / "final"
    evaluation = replace(cur.evaluation, split=split)
    scores = evaluate_heldout(final, stages[-1], evaluation, Path(cur.output_dir), kb, cur.evaluation_cohort)
    if renamed:
        answers = Path(cur.output_dir) / f"answers-{split}.jsonl"
        rows, _ = read_jsonl(answers)
        write_jsonl(answers, [{**row, "id": renamed.get(row["id"], row["id"])} for row in rows])
    state.finish(step, time.perf_counter() - started, scores=scores)
    return scores


def heldout_domain_step(
    scored: ScoredSet,
    records,
    spec: CohortSpec,
    cohort_config: CohortConfig,
    checkpoint: Path,
    config: DemoConfig,
    preset: Preset,
    state: DemoState,
    log: Callable[[str], None],
    kb: KnowledgeBase,
    force_knowledge: bool,
) -> tuple[ScoredSet, dict[str, Any]]:
    """The scored patients' scans rendered on the held-out scanner domain (never seen in training) into
    FOLDER/heldout_domain/cohort, the final checkpoint's reports on them and the same controls, graded; the
    folder and its results.json."""
    from retinavlm.data.synthetic import render_on_domain

    domain = str(spec.heldout_domain)
    where = scored.within(HELDOUT_DOMAIN_FOLDER)
    cohort = where.folder / "cohort"
    if not (state.done(where.step("cohort")) and _read_manifest(cohort)):
        started = time.perf_counter()
        with _rendering(f"rendering on {domain}") as progress:
            task = progress.add_task("render", total=len(records))
            render_on_domain(
                spec.n,
                cohort,
                domain,
                {r.patient_id for r in records},
                seed=spec.seed,
                config=cohort_config,
                workers=min(4, os.cpu_count() or 1),
                progress=lambda done, total: progress.update(task, completed=done),
                kb=kb,
            )
        state.finish(where.step("cohort"), time.perf_counter() - started, scans=len(records))
    log(f"held-out scanner {domain}: {len(records)} scans in {cohort}")
    write_references(cohort, where.folder, records)
    by_id = cohort_references(cohort)
    shown = [replace(r, image=cohort / by_id[r.id]["image"]) for r in records]
    names = [MODEL_SYSTEM, SHUFFLED_SYSTEM, HEALTHY_SYSTEM]
    predictions_step(where, shown, names, {}, checkpoint, config, preset, state, log, kb, force_knowledge)
    return where, evaluation_step(where, names, preset, state, log, kb)


def write_run_json(folder: Path, name: str, names: list[str], checkpoint: Path | None, kb: KnowledgeBase) -> None:
    """FOLDER/run.json for the viewer (docs/RUN_FOLDER.md); no checkpoint: no live reports (pooled folds)."""
    from retinavlm import __version__

    write_json(
        folder / "run.json",
        {
            "name": name,
            "toolkit_version": __version__,
            "knowledge_version": kb.version_tag,
            "knowledge": str(kb.path),
            "checkpoint": None if checkpoint is None else os.path.relpath(checkpoint, folder),
            "systems": names,
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


def label_agreement(rows: list[dict[str, Any]], field: str) -> dict[str, dict[str, Any]]:
    """Per system and reference value of `field` ("stage" or "condition") over the graded `rows` (samples.jsonl):
    the share of reports that state that value (how often a CNV scan is read as active wet AMD, a normal one as
    healthy, a DME one as DME); references that leave the field unknown are not counted."""
    counts: dict[str, dict[str, list[int]]] = {}
    for row in rows:
        value = (row.get("reference") or {}).get(field)
        if value is None:
            continue
        tally = counts.setdefault(row["system"], {}).setdefault(value, [0, 0])
        tally[0] += (row.get("extracted") or {}).get(field) == value
        tally[1] += 1
    return {
        system: {value: {"agreement": round(hit / n, 4), "n": n} for value, (hit, n) in sorted(by_value.items())}
        for system, by_value in counts.items()
    }


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("retinavlm", "torch", "transformers", "accelerate", "numpy"):
        with contextlib.suppress(md.PackageNotFoundError):
            out[name] = md.version(name)
    return out


def cell(metric: dict[str, Any] | float | None) -> str:
    """A metric for a table: its value, and its 95% CI below when it has one."""
    if metric is None or isinstance(metric, (int, float)):
        return "n/a" if metric is None else f"{metric:.3f}"
    if metric.get("value") is None:
        return "n/a"
    low, high = metric.get("ci95") or (None, None)
    return f"{metric['value']:.3f}" + (f"\n[{low:.2f}, {high:.2f}]" if low is not None else "")


def systems_table(title: str, rows: list[dict[str, Any]]):
    """The systems' graded figures (system_rows) as a rich table."""
    from rich.table import Table

    n, patients = (rows[0]["n"], rows[0]["patients"]) if rows else (0, 0)
    out = Table(title=f"{title}, {n} scans of {patients} patients (95% CI, patient bootstrap)", title_justify="left")
    out.add_column("system", no_wrap=True)
    for column in ("stage macro-F1", "referral macro-F1", "biomarker F1 (mean)", "rubric score"):
        out.add_column(column, justify="right")
    for row in rows:
        out.add_row(
            row["system"],
            cell(row["stage_f1_macro"]),
            cell(row["referral_f1_macro"]),
            cell(row["biomarker_f1_mean"]),
            cell(row["score"]),
        )
    return out


def print_summary(summary: dict[str, Any], run_dir: Path) -> None:
    from rich.console import Console

    console = Console()
    split = summary["split"]
    fold = summary.get("fold")
    of_fold = f" of fold {fold['index'] + 1} of {fold['count']}" if fold else ""
    console.print(
        systems_table(f"Graded free-text reports of the held-out {split} patients{of_fold}", summary["systems"])
    )
    if "systems_heldout_domain" in summary:
        console.print(
            systems_table(
                f"The same patients on the held-out scanner {summary['heldout_domain']} (never seen in training)",
                summary["systems_heldout_domain"],
            )
        )
    if any(info.get("scored_on_the_patients_it_chose_on") for info in (summary.get("classifiers") or {}).values()):
        console.print(
            "the CNN classifiers chose their epoch on these validation patients: their figures are optimistic",
            highlight=False,
        )
    heldout = summary.get("closed_ended") or {}
    own, shuffled = heldout.get("own_images", {}), heldout.get("shuffled_images", {})
    if own:
        console.print(
            f"closed-ended answers ({split} split): stage macro-F1 {cell(own.get('stage_macro_f1'))} with own images, "
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
    folder = split_folder(run_dir, split).folder
    console.print(f"run folder: {run_dir}   (summary: {folder / SUMMARY_FILE})", highlight=False)
    data_root = "" if folder == run_dir else f" --data-root {run_dir}"
    console.print(f"next: retinavlm view {folder}{data_root}", style="bold", highlight=False)


# --- the job --------------------------------------------------------------------------------------


def run_demo(
    preset_name: str,
    run_dir: str | os.PathLike,
    config: DemoConfig | None = None,
    restart: bool = False,
    log: Callable[[str], None] | None = None,
    knowledge: str | os.PathLike | None = None,
    force_knowledge: bool = False,
    split: str = "test",
    fold: Fold | None = None,
) -> dict[str, Any]:
    """Run (or resume) the demo into `run_dir` under the knowledge base `knowledge` (default: curricula/knowledge),
    grading the held-out patients of `split`; returns the summary also written to demo_summary.json in the split's
    folder (RUN for test, RUN/validation for validation). With a `fold`, every stage trains on that fold's patients
    and the scored test split is its held-out part (retinavlm.cross_validation runs all of them)."""
    import yaml

    from retinavlm.jsonl import read_jsonl
    from retinavlm.knowledge import load_knowledge

    started = time.perf_counter()
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    config = config or load_demo_config()
    if preset_name not in config.presets:
        raise DemoError(f"{config.source}: no preset {preset_name!r}; choose one of {', '.join(config.presets)}")
    preset = config.presets[preset_name]
    kb = load_knowledge(knowledge)
    run_dir = Path(run_dir).resolve()
    scored = split_folder(run_dir, split)
    cohort_config, training_cohort = synthetic_cohort_configs(
        preset.cohort, kb, f"{config.source}: presets.{preset_name}"
    )
    prepare_run_dir(run_dir, restart)
    # Editing the curriculum or a stage YAML changes the settings too: finished stages would be stale.
    # The scored split is not a setting: each split has steps of its own, on the same training.
    curriculum_doc, curriculum_files = derive_curriculum(run_dir, config, preset, fold)
    settings = asdict(preset)
    for optional in ("heldout_domain", "acquisition"):  # run folders without one keep the digest they were made with
        if settings["cohort"][optional] is None:
            del settings["cohort"][optional]
    if fold is not None:
        settings["fold"] = asdict(fold)
    state = DemoState(
        run_dir,
        preset_name,
        {
            **settings,
            "always_healthy_report": config.always_healthy_report,
            "curriculum_files": file_digests(curriculum_files),
            "knowledge": kb.version_tag,
        },
    )
    heldout_domain = preset.cohort.heldout_domain
    steps = 6 if heldout_domain is None else 7

    def announce(number: int, text: str) -> None:
        log(f"[{number}/{steps}] {text}")

    without = "" if heldout_domain is None else f", scanner {heldout_domain} held out"
    announce(1, f"synthetic cohort: {preset.cohort.n} scans, seed {preset.cohort.seed}{without}")
    t = time.perf_counter()
    if not (state.done("cohort") and _read_manifest(run_dir / "cohort")):
        manifest = render_step(run_dir, preset.cohort, training_cohort, log)
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

        # A finished stage is skipped; a killed one resumes from its last checkpoint. The demo scores the
        # held-out split itself (closed_ended_step), so that it looks only at the split it was asked for.
        trained = run_curriculum(
            curriculum, log=log, knowledge=kb, force_knowledge=force_knowledge, score_heldout=False
        )
        state.finish("curriculum", time.perf_counter() - t, training_seconds=trained["training_seconds"])

    announce(3, f"held-out {split} patients: closed-ended answers, references")
    records, checkpoint, finals = held_out_scans(curriculum, kb, split)
    named = records if preset.real is None else pseudonymous_records(records)
    renamed = {r.id: n.id for r, n in zip(records, named) if r.id != n.id}
    closed_ended = closed_ended_step(scored, curriculum, split, state, log, kb, renamed)
    records = named
    if preset.real is None:
        write_references(run_dir / "cohort", scored.folder, records)
    else:
        write_real_references(scored.folder, records)
    log(f"references: {len(records)} {split} scans of {len({r.patient_id for r in records})} patients")

    names = systems(preset)
    announce(4, f"reports: {', '.join(names)}")
    predictions_step(scored, records, names, finals, checkpoint, config, preset, state, log, kb, force_knowledge)
    classifiers = None
    if preset.controls.classifiers is not None:
        classifiers = classifiers_step(scored, split, curriculum, finals, preset.controls.classifiers, state, log, kb)

    announce(5, "grading with the default rubric")
    results = evaluation_step(scored, names, preset, state, log, kb)

    heldout_results = None
    if heldout_domain is not None:
        announce(6, f"held-out scanner {heldout_domain}: the same patients' scans, reports, grades")
        elsewhere, heldout_results = heldout_domain_step(
            scored, records, preset.cohort, cohort_config, checkpoint, config, preset, state, log, kb, force_knowledge
        )
        write_run_json(
            elsewhere.folder,
            f"demo ({preset_name} preset, {split} patients, held-out scanner {heldout_domain})",
            [MODEL_SYSTEM, SHUFFLED_SYSTEM, HEALTHY_SYSTEM],
            checkpoint,
            kb,
        )

    announce(steps, "run folder")
    title = f"demo ({preset_name} preset)" if split == "test" else f"demo ({preset_name} preset, {split} patients)"
    if fold is not None:
        title = f"demo ({preset_name} preset, fold {fold.index + 1} of {fold.count}, {split} patients)"
    write_run_json(scored.folder, title, names, checkpoint, kb)
    samples, _ = read_jsonl(scored.folder / "evaluation" / "samples.jsonl")
    summary = {
        "preset": preset_name,
        "split": split,
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
        "closed_ended": closed_ended,
        "systems": system_rows(results),
        "stage_agreement": label_agreement(samples, "stage"),
        "condition_agreement": label_agreement(samples, "condition"),
    }
    if fold is not None:
        summary["fold"] = asdict(fold)
    if heldout_results is not None:
        summary["heldout_domain"] = heldout_domain
        summary["systems_heldout_domain"] = system_rows(heldout_results)
    if classifiers is not None:
        summary["classifiers"] = classifiers
    write_json(scored.folder / SUMMARY_FILE, summary)
    return summary
