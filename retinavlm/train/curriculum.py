"""The curriculum: stages run in order, each starting from the previous stage's final checkpoint, then
the held-out evaluation (closed-ended scores on the test patients, with the shuffled-image control).

Every stage config is validated before the first one trains, so a typo in stage 2 fails in seconds,
not after stage 1's minutes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from retinavlm import schema
from retinavlm.atomic import write_json, write_jsonl
from retinavlm.errors import ConfigError
from retinavlm.knowledge import KnowledgeBase, load_knowledge
from retinavlm.train.config import StageConfig, read_yaml
from retinavlm.train.stage_loading import load_stage


@dataclass
class StageEntry:
    config: str
    overrides: list[str] = field(default_factory=list)
    # The stage's name (and output folder); default: the `name` in its YAML. Needed when a YAML runs twice.
    name: str | None = None
    # Named cohorts (the curriculum's `cohorts`) this stage draws from, with their relative shares of the
    # training draws; default: the curriculum's single `cohort`, or the stage YAML's own data.cohort.
    cohorts: dict[str, float] | None = None


@dataclass
class Evaluation:
    split: str = "test"
    batch_size: int = 64
    shuffled_control: bool = True


@dataclass
class CurriculumConfig:
    name: str
    stages: list[StageEntry]
    output_dir: str = "runs/curriculum"
    cohort: str | None = None
    # name -> cohort folder, for stages that name their cohorts (e.g. synthetic first, then real);
    # a folder left null is given on the command line (`--cohort NAME=DIR`).
    cohorts: dict[str, str | None] = field(default_factory=dict)
    # The named cohort whose held-out patients are scored (default: every cohort of the last stage).
    evaluation_cohort: str | None = None
    evaluation: Evaluation = field(default_factory=Evaluation)


def load_curriculum(
    path: str | os.PathLike,
    cohort: str | Mapping[str, str] | None = None,
    output_dir: str | None = None,
) -> tuple[CurriculumConfig, list[StageConfig]]:
    """The curriculum and its stage configs, chained and validated (no training yet).

    `cohort`: one folder for every stage, or folders for the curriculum's named `cohorts`.
    """
    path = Path(path)
    cur = schema.load(CurriculumConfig, path)
    if isinstance(cohort, Mapping):
        unknown = sorted(set(cohort) - set(cur.cohorts))
        if unknown:
            raise ConfigError(
                f"no cohort named {unknown[0]!r}; the curriculum names {sorted(cur.cohorts)}", "cohorts", path
            )
        cur.cohorts.update(cohort)
    else:
        cur.cohort = cohort or cur.cohort
    cur.output_dir = output_dir or cur.output_dir
    if not cur.stages:
        raise ConfigError("list at least one stage", "stages", path)
    if cur.evaluation_cohort is not None and cur.evaluation_cohort not in cur.cohorts:
        raise ConfigError(f"no cohort named {cur.evaluation_cohort!r} in cohorts", "evaluation_cohort", path)
    stages: list[StageConfig] = []
    produced: frozenset[str] = frozenset()
    names: set[str] = set()
    for index, entry in enumerate(cur.stages):
        stage_path = path.parent / entry.config
        name = str(entry.name or read_yaml(stage_path).get("name", stage_path.stem))
        if name in names:
            raise ConfigError(
                f"stage name {name!r} is used twice; give each stage its own `name`", f"stages[{index}]", path
            )
        names.add(name)
        out = str(Path(cur.output_dir) / name)
        overrides = [*entry.overrides, f"name={name}", f"output_dir={out}"]
        if entry.cohorts is not None:
            overrides.append(
                f"data.cohort={json.dumps(_stage_cohorts(cur, entry.cohorts, f'stages[{index}].cohorts', path))}"
            )
        elif cur.cohort is not None:
            overrides.append(f"data.cohort={cur.cohort}")
        if stages:
            overrides += [f"init_from={Path(stages[-1].output_dir) / 'final'}", "model=null"]
        stages.append(load_stage(stage_path, overrides, produced))
        produced = produced | {str(Path(out) / "final")}
    return cur, stages


def _stage_cohorts(cur: CurriculumConfig, shares: dict[str, float], key: str, path: Path) -> list[dict[str, Any]]:
    """A stage's `cohorts: {name: weight}` as data.cohort entries, each name resolved to its folder."""
    entries = []
    for name, weight in shares.items():
        if name not in cur.cohorts:
            raise ConfigError(f"no cohort named {name!r}; the curriculum names {sorted(cur.cohorts)}", key, path)
        if cur.cohorts[name] is None:
            raise ConfigError(f"cohort {name!r} has no folder; give it with --cohort {name}=DIR", key, path)
        entries.append({"path": str(cur.cohorts[name]), "weight": weight, "name": name})
    return entries


def evaluate_heldout(
    model_dir: str | os.PathLike,
    stage: StageConfig,
    evaluation: Evaluation,
    out_dir: Path | None = None,
    knowledge: KnowledgeBase | None = None,
    cohort: str | None = None,
) -> dict[str, Any]:
    """Closed-ended scores of a trained model on held-out patients, own images vs shuffled images."""
    from retinavlm.model.vlm import RetinaVLM
    from retinavlm.train.closed import closed_ended_scores
    from retinavlm.train.images import ScanImages, augment_config
    from retinavlm.train.qa import load_templates

    kb = knowledge or load_knowledge()
    model = RetinaVLM.from_pretrained(model_dir, knowledge=kb)
    records = heldout_records(stage, evaluation.split, kb, cohort)
    images = ScanImages(records, model.processor, augment_config(stage.data.augment, model.processor.image_size))
    templates = load_templates(stage.templates_path())
    started = time.perf_counter()
    scores, rows = closed_ended_scores(model, images, templates, kb, evaluation.batch_size)
    result: dict[str, Any] = {
        "split": evaluation.split,
        "scans": len(images),
        "own_images": scores,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if evaluation.shuffled_control:
        order = shuffled_order(len(images), seed=stage.train.seed)
        result["shuffled_images"], _ = closed_ended_scores(model, images, templates, kb, evaluation.batch_size, order)
    if out_dir is not None:
        write_jsonl(out_dir / f"answers-{evaluation.split}.jsonl", rows)
    return result


def heldout_records(stage: StageConfig, split: str, kb: KnowledgeBase, cohort: str | None = None) -> list:
    """The `split` patients' scans of the stage's cohorts (only those of the named `cohort` when given)."""
    from retinavlm.train.records import load_cohorts

    splits = load_cohorts(stage.data, kb)
    records = [r for r in splits.split(split) if cohort is None or splits.cohort_of.get(r.id) == cohort]
    if not records:
        where = f"cohort {cohort!r}" if cohort else str(stage.data.cohort)
        raise ConfigError(f"the {split} split of {where} is empty", "evaluation.split")
    return records


def shuffled_order(n: int, seed: int) -> list[int]:
    """A permutation with no fixed point, so no scan is shown its own image."""
    order = np.random.default_rng(seed).permutation(n)
    shown = np.empty(n, dtype=int)
    shown[order] = np.roll(order, -1)  # one cycle through a random order
    return shown.tolist()


def run_curriculum(
    path: str | os.PathLike,
    cohort: str | Mapping[str, str] | None = None,
    output_dir: str | None = None,
    restart: bool = False,
    log=None,
    knowledge: KnowledgeBase | None = None,
    force_knowledge: bool = False,
    score_heldout: bool = True,
) -> dict[str, Any]:
    """Train every stage under `knowledge` (default: the default knowledge base), then score held-out patients
    (unless `score_heldout` is false: the demo scores the split it was asked for itself)."""
    from retinavlm.train.trainer import train_stage  # heavy (torch, accelerate): only when training

    log = log or (lambda msg: print(msg, file=sys.stderr))
    cur, stages = load_curriculum(path, cohort, output_dir)
    out = Path(cur.output_dir)
    summary: dict[str, Any] = {"curriculum": cur.name, "stages": []}
    for stage in stages:
        log(f"== {stage.name} -> {stage.output_dir}")
        result = train_stage(stage, restart, log, knowledge, force_knowledge)
        summary["stages"].append(
            {
                "name": stage.name,
                "steps": result.steps,
                "seconds": round(result.seconds, 1),
                "validation": result.validation,
            }
        )
    summary["training_seconds"] = round(sum(s["seconds"] for s in summary["stages"]), 1)
    final = Path(stages[-1].output_dir) / "final"
    summary["final_model"] = str(final)
    if score_heldout:
        summary["heldout"] = evaluate_heldout(final, stages[-1], cur.evaluation, out, knowledge, cur.evaluation_cohort)
    write_json(out / "curriculum_summary.json", summary)
    return summary
