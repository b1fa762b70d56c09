"""Loading a stage YAML: its schema and value checks (train/config.py), then the checks that need the
modules consuming its sections (augmentation options, QA templates and builders), all before training.

It sits above config, images and qa, so those never import one another to validate a stage.
"""

from __future__ import annotations

import os
from pathlib import Path

from retinavlm import schema
from retinavlm.errors import ConfigError
from retinavlm.train.config import StageConfig, apply_overrides, read_yaml, stage_problems
from retinavlm.train.images import augment_config
from retinavlm.train.qa import check_builders, load_templates


def load_stage(
    path: str | os.PathLike, overrides: list[str] | None = None, produced: frozenset[str] = frozenset()
) -> StageConfig:
    """Read, override and validate a stage YAML; checks that the files it names exist and are usable.

    `produced`: checkpoint folders an earlier stage of the same curriculum will write.
    """
    path = Path(path)
    cfg = schema.from_dict(StageConfig, apply_overrides(read_yaml(path), overrides or []), path)
    cfg.source = str(path)
    problems = stage_problems(cfg, produced)
    try:
        augment_config(cfg.data.augment, 32)
    except ConfigError as exc:
        problems.append(str(exc))
    if cfg.kind == "vlm" and cfg.templates_path().is_file():
        try:
            check_builders(cfg.qa.builders, load_templates(cfg.templates_path()))
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(f"{problems[0]}{more}", source=path)
    return cfg
