"""The curriculum: stages run in order, each starting from the previous stage's final checkpoint, then
the held-out evaluation (closed-ended scores on the test patients, with the shuffled-image control).

Every stage config is validated before the first one trains, so a typo in stage 2 fails in seconds,
not after stage 1's minutes.
"""

from __future__ import annotations

import os
import sys
import time
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
    evaluation: Evaluation = field(default_factory=Evaluation)


def load_curriculum(
    path: str | os.PathLike, cohort: str | None = None, output_dir: str | None = None
) -> tuple[CurriculumConfig, list[StageConfig]]:
    """The curriculum and its stage configs, chained and validated (no training yet)."""
    path = Path(path)
    cur = schema.load(CurriculumConfig, path)
    cur.cohort = cohort or cur.cohort
    cur.output_dir = output_dir or cur.output_dir
    if not cur.stages:
        raise ConfigError("list at least one stage", "stages", path)
    stages: list[StageConfig] = []
    produced: frozenset[str] = frozenset()
    for entry in cur.stages:
        stage_path = path.parent / entry.config
        name = read_yaml(stage_path).get("name", stage_path.stem)
        out = str(Path(cur.output_dir) / str(name))
        overrides = [*entry.overrides, f"output_dir={out}"]
        if cur.cohort is not None:
            overrides.append(f"data.cohort={cur.cohort}")
        if stages:
            overrides += [f"init_from={Path(stages[-1].output_dir) / 'final'}", "model=null"]
        stages.append(load_stage(stage_path, overrides, produced))
        produced = produced | {str(Path(out) / "final")}
    return cur, stages


def evaluate_heldout(
    model_dir: str | os.PathLike,
    stage: StageConfig,
    evaluation: Evaluation,
    out_dir: Path | None = None,
    knowledge: KnowledgeBase | None = None,
) -> dict[str, Any]:
    """Closed-ended scores of a trained model on held-out patients, own images vs shuffled images."""
    from retinavlm.model.vlm import RetinaVLM
    from retinavlm.train.closed import closed_ended_scores
    from retinavlm.train.images import ScanImages, augment_config
    from retinavlm.train.qa import load_templates
    from retinavlm.train.records import load_cohorts

    kb = knowledge or load_knowledge()
    model = RetinaVLM.from_pretrained(model_dir, knowledge=kb)
    records = load_cohorts(stage.data, kb).split(evaluation.split)
    if not records:
        raise ConfigError(f"evaluation.split: the {evaluation.split} split of {stage.data.cohort} is empty")
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


def shuffled_order(n: int, seed: int) -> list[int]:
    """A permutation with no fixed point, so no scan is shown its own image."""
    order = np.random.default_rng(seed).permutation(n)
    shown = np.empty(n, dtype=int)
    shown[order] = np.roll(order, -1)  # one cycle through a random order
    return shown.tolist()


def run_curriculum(
    path: str | os.PathLike,
    cohort: str | None = None,
    output_dir: str | None = None,
    restart: bool = False,
    log=None,
    knowledge: KnowledgeBase | None = None,
    force_knowledge: bool = False,
) -> dict[str, Any]:
    """Train every stage under `knowledge` (default: the default knowledge base), then score held-out patients."""
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
    summary["heldout"] = evaluate_heldout(final, stages[-1], cur.evaluation, out, knowledge)
    write_json(out / "curriculum_summary.json", summary)
    return summary
