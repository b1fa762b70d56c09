"""Stage configs: one YAML file per curriculum stage, validated strictly before any training starts.

Every key is checked against the dataclasses below; an unknown key, a wrong type or a missing file
raises `ConfigError` with the file and the dotted key, so a typo never trains the wrong thing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from retinavlm import schema
from retinavlm.errors import ConfigError
from retinavlm.model.config import RetinaVLMConfig
from retinavlm.yaml_files import read_yaml_mapping

PART_NAMES = ("encoder", "adapter", "lora", "llm")


# The validation scores a stage reports, by kind, which `checkpoint.keep_best.metric` may name: the closed-ended
# answers' summary scores of a language stage (retinavlm.train.closed, besides f1_<biomarker>) and the
# supervised encoder heads' scores (retinavlm.train.encoder_pretraining).
CLOSED_SCORES = (
    "stage_macro_f1",
    "stage_accuracy",
    "referral_macro_f1",
    "referral_accuracy",
    "biomarker_mean_f1",
    "unparsed_fraction",
)
HEAD_SCORES = (
    "heads_macro_f1",
    "heads_stage_macro_f1",
    "heads_referral_macro_f1",
    "heads_condition_macro_f1",
    "heads_biomarker_mean_f1",
)


@dataclass
class Parts:
    """Which parts of the model train in this stage (the rest are frozen)."""

    encoder: bool = False
    adapter: bool = True
    lora: bool = False
    # Every LLM weight: for the tiny LLM built from scratch (a base LLM from a path trains via LoRA).
    llm: bool = False


@dataclass
class Optimizer:
    name: Literal["adamw", "sgd"] = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    momentum: float = 0.9
    # Per-part learning-rate multipliers, e.g. {encoder: 0.5}: the encoder often wants a smaller step.
    lr_scale: dict[str, float] = field(default_factory=dict)


@dataclass
class Schedule:
    name: Literal["constant", "linear", "cosine"] = "cosine"
    warmup_steps: int = 0


@dataclass
class Train:
    parts: Parts = field(default_factory=Parts)
    optimizer: Optimizer = field(default_factory=Optimizer)
    schedule: Schedule = field(default_factory=Schedule)
    batch_size: int = 16
    grad_accum: int = 1
    max_steps: int | None = None
    epochs: float | None = None
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    gradient_checkpointing: bool = False
    max_grad_norm: float | None = 1.0
    # Local CPU processes that split every step's batch (data parallel; retinavlm/train/launch.py): a step of the
    # tiny model gains nothing from a second thread, a second process uses the second core. 1: this process.
    processes: int = 1
    # Sort examples by token length inside windows of this many batches, so padding stays small.
    length_group_batches: int = 8
    seed: int = 0


@dataclass
class Selection:
    """Data-efficiency option: keep a fraction of the training scans, chosen in embedding space."""

    method: Literal["all", "random", "redundancy"] = "all"
    keep_fraction: float = 1.0
    # Sampling weight multiplier for scans with rare findings or high loss (1.0 = off).
    rare_weight: float = 1.0


@dataclass
class CohortEntry:
    """One of several cohorts a stage draws from (see `retinavlm.train.records.load_cohorts`)."""

    path: str
    # Relative share of the training draws, whatever the cohort's size (shares are normalised).
    weight: float = 1.0
    # Prefix for its scan ids when they clash with an earlier cohort's; default: the folder name.
    name: str | None = None


@dataclass
class Data:
    # One cohort folder, or a list of {path, weight, name} entries drawn by weight.
    cohort: str | list[CohortEntry] | None = None
    split_seed: int = 0
    # Patient-level split shares, as `retinavlm.data.cohorts.splits.SplitConfig` (val, test).
    validation_fraction: float = 0.15
    test_fraction: float = 0.15
    # K-fold cross-validation on a small cohort: with folds K >= 2 the test split is part `fold` (0..K-1) of the
    # patients outside the test split the fractions make, which are set aside (retinavlm.data.cohorts.splits).
    folds: int = 0
    fold: int = 0
    max_train_scans: int | None = None
    augment: dict[str, Any] = field(default_factory=dict)
    # Augmented views per scan cached when the encoder is frozen (the feature cache).
    cached_views: int = 4
    selection: Selection = field(default_factory=Selection)


@dataclass
class QA:
    templates: str = "templates/qa_findings.yaml"
    # builder name -> relative sampling weight (see retinavlm.train.qa_builders).
    builders: dict[str, float] = field(default_factory=dict)
    per_scan: int = 4
    # Up to this many questions about one scan share one row and one copy of its image tokens
    # (retinavlm.model.packing): the same losses for fewer tokens; train.batch_size then counts rows.
    questions_per_row: int = 1


@dataclass
class KeepBest:
    """Keep the validated step with the best `metric` as the stage's final model, not the last step (as a
    classifier chooses its epoch on the validation patients). Validation runs every `validation.every_steps`.

    A step's score is the mean of the last `window` validations' scores, its own included: on a few dozen
    validation patients one validation can spike, and a window of several prefers a step that ends a steady
    stretch of good scores to one lucky validation. `window: 1` scores each step by its own validation."""

    metric: str
    mode: Literal["max", "min"] = "max"
    window: int = 1


@dataclass
class Checkpoint:
    every_steps: int = 100
    keep_last: int = 2
    keep_best: KeepBest | None = None


@dataclass
class Validation:
    every_steps: int = 100
    max_scans: int | None = 64
    closed_ended: bool = True
    batch_size: int = 32


@dataclass
class SSL:
    """Stage 0 only: the encoder objective and its settings (see curricula/stage0_ssl.yaml)."""

    method: Literal["simclr", "mae", "byol", "barlow_twins", "supervised"] = "simclr"
    # simclr: softmax temperature of the NT-Xent similarities.
    temperature: float = 0.2
    # simclr, byol, barlow_twins: width of the projection the loss compares.
    projection_dim: int = 64
    # byol, barlow_twins: hidden width of the projector (and of BYOL's predictor).
    hidden_dim: int = 256
    # byol: the target network's starting EMA momentum; it rises to 1 over the run on a cosine.
    momentum: float = 0.99
    # barlow_twins: lambda, the weight of the off-diagonal (redundancy) terms of the cross-correlation.
    redundancy_weight: float = 0.005
    # mae: share of the token grid's cells blanked per scan.
    mask_ratio: float = 0.6
    # supervised only: each biomarker's positives weigh (negatives / positives) in the training split,
    # capped here (1: unweighted). A finding in 4% of scans is otherwise never worth predicting.
    max_positive_weight: float = 10.0
    # supervised only: a biomarker head on every visual token besides the scan-level one. `mil`: its
    # strongest token must agree with the scan's label (multiple-instance learning); `masks`: also, each
    # token is told whether a lesion touches its cell (the cohort's lesion masks, masks/ in its manifest).
    # Either makes single tokens carry a finding, which is what the LLM attends to.
    token_head: Literal["none", "mil", "masks"] = "none"
    # masks only: a lesion covers few tokens, so positive tokens weigh (negatives / positives), capped here.
    max_token_positive_weight: float = 30.0
    # supervised only: a condition head (no other condition, or a knowledge-base condition such as DME), trained
    # where the training scans tell conditions apart. Off by default: on real Kermany patients it named DME in
    # two thirds of DME reports instead of two fifths, but cost referral (docs/TRAINING.md, "four patient folds").
    condition_head: bool = False


@dataclass
class StageConfig:
    name: str
    kind: Literal["ssl", "vlm"] = "vlm"
    # Checkpoint folder to start from; None builds a fresh model from `model`.
    init_from: str | None = None
    model: RetinaVLMConfig | None = None
    output_dir: str = "runs/stage"
    data: Data = field(default_factory=Data)
    qa: QA = field(default_factory=QA)
    train: Train = field(default_factory=Train)
    checkpoint: Checkpoint = field(default_factory=Checkpoint)
    validation: Validation = field(default_factory=Validation)
    ssl: SSL = field(default_factory=SSL)
    # Where the YAML lives; template paths are relative to it.
    source: str = field(default="", metadata={"internal": True})

    def templates_path(self) -> Path:
        path = Path(self.qa.templates)
        return path if path.is_absolute() else Path(self.source).parent / path

    def to_dict(self) -> dict[str, Any]:
        return schema.to_dict(self)


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    return read_yaml_mapping(path, ConfigError, "config file")


def apply_overrides(doc: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `a.b.c=value` overrides (value parsed as YAML) to a nested mapping, in place."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r}: expected KEY=VALUE, e.g. train.max_steps=100")
        try:
            value = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            value = raw
        node = doc
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {part!r} is not a section")
            node = child
        node[parts[-1]] = value
    return doc


def stage_problems(cfg: StageConfig, produced: frozenset[str] = frozenset()) -> list[str]:
    """Checks that need more than types: ranges, combinations and files on disk, each as "dotted.key: problem".

    `produced`: checkpoint folders an earlier stage of the same curriculum will write.
    """
    t = cfg.train
    problems = []
    if (t.max_steps is None) == (t.epochs is None):
        problems.append("train: give exactly one of max_steps or epochs")
    for key, value in (
        ("train.batch_size", t.batch_size),
        ("train.grad_accum", t.grad_accum),
        ("train.processes", t.processes),
        ("checkpoint.every_steps", cfg.checkpoint.every_steps),
        ("checkpoint.keep_last", cfg.checkpoint.keep_last),
        ("validation.every_steps", cfg.validation.every_steps),
        ("qa.per_scan", cfg.qa.per_scan),
        ("qa.questions_per_row", cfg.qa.questions_per_row),
        ("data.cached_views", cfg.data.cached_views),
    ):
        if value < 1:
            problems.append(f"{key}: must be at least 1, got {value}")
    if t.processes >= 1 and t.grad_accum >= 1 and t.batch_size % (t.processes * t.grad_accum):
        problems.append(
            f"train.batch_size: {t.batch_size} must divide evenly over train.processes {t.processes} x "
            f"train.grad_accum {t.grad_accum}"
        )
    if t.max_steps is not None and t.max_steps < 1:
        problems.append(f"train.max_steps: must be at least 1, got {t.max_steps}")
    if t.epochs is not None and t.epochs <= 0:
        problems.append(f"train.epochs: must be positive, got {t.epochs}")
    from retinavlm.data.cohorts.splits import fold_problem  # the cohort package imports `datasets`: only when checked

    fold = fold_problem(cfg.data.folds, cfg.data.fold)
    if fold:
        problems.append(f"data.{fold}")
    if not 0 < cfg.data.selection.keep_fraction <= 1:
        problems.append(f"data.selection.keep_fraction: must be in (0, 1], got {cfg.data.selection.keep_fraction}")
    unknown_parts = sorted(set(t.optimizer.lr_scale) - set(PART_NAMES))
    if unknown_parts:
        problems.append(f"train.optimizer.lr_scale.{unknown_parts[0]}: unknown part; use {', '.join(PART_NAMES)}")
    if cfg.init_from is None and cfg.model is None:
        problems.append("model: a stage without init_from must give the model config")
    if cfg.init_from is not None and cfg.model is not None:
        problems.append("model: give either init_from (a checkpoint) or model (a fresh model), not both")
    if cfg.init_from == "previous":
        problems.append("init_from: 'previous' only means something inside a curriculum; give a checkpoint folder")
    elif cfg.init_from is not None and cfg.init_from not in produced and not Path(cfg.init_from).is_dir():
        problems.append(f"init_from: checkpoint folder {cfg.init_from} not found")
    problems.extend(cohort_problems(cfg.data))
    problems.extend(_ssl_problems(cfg))
    problems.extend(_keep_best_problems(cfg))
    if cfg.kind == "vlm" and not cfg.templates_path().is_file():
        problems.append(f"qa.templates: {cfg.templates_path()} not found")
    return problems


def cohort_entries(data: Data) -> list[CohortEntry]:
    """`data.cohort` as a list of entries: a single folder is one entry of weight 1."""
    if data.cohort is None:
        return []
    return [CohortEntry(data.cohort)] if isinstance(data.cohort, str) else list(data.cohort)


def cohort_names(entries: list[CohortEntry]) -> list[str]:
    """Each entry's name: given, or its folder's name."""
    return [entry.name or Path(entry.path).name for entry in entries]


def cohort_problems(data: Data) -> list[str]:
    """`data.cohort` names existing folders, with positive weights and distinct names."""
    if data.cohort is None or data.cohort == []:
        return ["data.cohort: no cohort folder given (set it in the YAML or as data.cohort=DIR)"]
    entries = cohort_entries(data)
    single = isinstance(data.cohort, str)
    problems = []
    seen: set[str] = set()
    for i, (entry, name) in enumerate(zip(entries, cohort_names(entries))):
        key = "data.cohort" if single else f"data.cohort[{i}]"
        if not Path(entry.path).exists():
            problems.append(f"{key}: cohort {entry.path} not found")
        if not 0 < entry.weight < float("inf"):
            problems.append(f"{key}.weight: must be a positive number, got {entry.weight}")
        if name in seen:
            problems.append(f"{key}.name: cohort name {name!r} is used twice; give each entry a distinct name")
        seen.add(name)
    return problems


def _ssl_problems(cfg: StageConfig) -> list[str]:
    """Stage 0's settings in range; a token head learns from labels, and from masks only when the cohort has them."""
    if cfg.kind != "ssl":
        return []
    ssl = cfg.ssl
    problems = [
        f"ssl.{key}: {rule}, got {value}"
        for key, value, ok, rule in (
            ("temperature", ssl.temperature, ssl.temperature > 0, "must be positive"),
            ("projection_dim", ssl.projection_dim, ssl.projection_dim >= 1, "must be at least 1"),
            ("hidden_dim", ssl.hidden_dim, ssl.hidden_dim >= 1, "must be at least 1"),
            ("momentum", ssl.momentum, 0 <= ssl.momentum < 1, "must be in [0, 1)"),
            ("redundancy_weight", ssl.redundancy_weight, ssl.redundancy_weight >= 0, "must be at least 0"),
            ("mask_ratio", ssl.mask_ratio, 0 < ssl.mask_ratio < 1, "must be in (0, 1)"),
            ("max_positive_weight", ssl.max_positive_weight, ssl.max_positive_weight >= 1, "must be at least 1"),
            (
                "max_token_positive_weight",
                ssl.max_token_positive_weight,
                ssl.max_token_positive_weight >= 1,
                "must be at least 1",
            ),
        )
        if not ok
    ]
    two_views = ssl.method in ("simclr", "byol", "barlow_twins")
    if two_views and cfg.train.grad_accum >= 1 and cfg.train.batch_size // cfg.train.grad_accum < 2:
        problems.append(
            f"train.batch_size: {ssl.method} compares scans within a micro-batch; "
            f"batch_size / grad_accum must be at least 2, got {cfg.train.batch_size} / {cfg.train.grad_accum}"
        )
    if ssl.condition_head and ssl.method != "supervised":
        problems.append(f"ssl.condition_head learns from labels; it needs ssl.method=supervised, got {ssl.method!r}")
    if problems or ssl.token_head == "none":
        return problems
    if cfg.ssl.method != "supervised":
        return [
            f"ssl.token_head: {cfg.ssl.token_head!r} learns from labels; it needs ssl.method=supervised, got {cfg.ssl.method!r}"
        ]
    if cfg.ssl.token_head == "masks" and isinstance(cfg.data.cohort, list):
        return ["ssl.token_head: 'masks' reads one cohort's lesion masks; data.cohort lists several (use mil)"]
    if cfg.ssl.token_head == "masks" and cfg.data.cohort is not None and Path(cfg.data.cohort).exists():
        from retinavlm.data.lesion_masks import LesionMaskError, bit_positions
        from retinavlm.knowledge import load_knowledge

        try:
            bit_positions(cfg.data.cohort, load_knowledge().biomarker_ids)
        except LesionMaskError as exc:
            return [f"data.cohort: {exc}; use ssl.token_head=mil or none"]
    return []


def _keep_best_problems(cfg: StageConfig) -> list[str]:
    """`checkpoint.keep_best.metric` must be a score the stage's periodic validation gives."""
    keep = cfg.checkpoint.keep_best
    if keep is None:
        return []
    if keep.window < 1:
        return [f"checkpoint.keep_best.window: {keep.window} must be at least 1 (the validations a score averages)"]
    if cfg.kind == "ssl":
        names = HEAD_SCORES
        needs = None if cfg.ssl.method == "supervised" else "ssl.method=supervised (they are its heads' scores)"
    else:
        names = ("loss", *CLOSED_SCORES)
        needs = None if keep.metric == "loss" or cfg.validation.closed_ended else "validation.closed_ended=true"
    if keep.metric not in names:
        return [
            f"checkpoint.keep_best.metric: {keep.metric!r} is not a validation score of a {cfg.kind} stage; "
            f"use one of {', '.join(names)}"
        ]
    return [f"checkpoint.keep_best.metric: {keep.metric!r} needs {needs}"] if needs else []
