"""Class-folder label maps (curricula/label_maps/*.yaml): a dataset's class names -> our labels.

A map is validated once on load, with the same rules as every cohort row, so a clinically
inconsistent map (a stage its findings contradict) fails before any image is read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retinavlm.data.cohorts.records import Labels, RowError, labels_from_mapping
from retinavlm.errors import ConfigError
from retinavlm.knowledge import KnowledgeBase, load_knowledge
from retinavlm.resources import curricula_dir
from retinavlm.yaml_files import read_yaml_mapping

UNLISTED_STATES = {"unknown": None, "absent": "absent"}
_TOP_KEYS = {"name", "file_pattern", "classes"}
_CLASS_KEYS = {"findings", "unlisted", "condition", "stage", "referral"}
_PATTERN_GROUPS = {"label", "patient"}


class LabelMapError(ConfigError):
    """A label map file breaks the schema; the message names the file and the class."""


@dataclass(frozen=True)
class LabelMap:
    name: str
    path: Path
    file_pattern: re.Pattern[str]
    classes: dict[str, Labels]


def default_label_map_path() -> Path:
    return curricula_dir() / "label_maps" / "kermany.yaml"


def load_label_map(path: str | os.PathLike | None = None, kb: KnowledgeBase | None = None) -> LabelMap:
    """Read and validate a label map (default: the Kermany OCT2017 map)."""
    kb = kb or load_knowledge()
    path = Path(path) if path is not None else default_label_map_path()
    doc = read_yaml_mapping(path, LabelMapError, "label map")
    _check_keys(doc, _TOP_KEYS, path, "top level")
    classes = doc.get("classes")
    if not isinstance(classes, Mapping) or not classes:
        raise LabelMapError(f"{path}: 'classes' must be a non-empty mapping of class name -> labels")
    return LabelMap(
        name=str(doc.get("name", path.stem)),
        path=path,
        file_pattern=_pattern(doc.get("file_pattern"), path),
        classes={str(name): _class_labels(spec, path, str(name), kb) for name, spec in classes.items()},
    )


def _pattern(raw: Any, path: Path) -> re.Pattern[str]:
    if not isinstance(raw, str):
        raise LabelMapError(
            f"{path}: 'file_pattern' must be a regular expression with groups (?P<label>) and (?P<patient>)"
        )
    try:
        pattern = re.compile(raw)
    except re.error as exc:
        raise LabelMapError(f"{path}: file_pattern is not a valid regular expression ({exc})") from None
    missing = _PATTERN_GROUPS - set(pattern.groupindex)
    if missing:
        raise LabelMapError(f"{path}: file_pattern lacks named group(s) {', '.join(sorted(missing))}")
    return pattern


def _class_labels(spec: Any, path: Path, name: str, kb: KnowledgeBase) -> Labels:
    where = f"class {name!r}"
    _check_keys(spec, _CLASS_KEYS, path, where)
    unlisted = spec.get("unlisted", "unknown")
    if unlisted not in UNLISTED_STATES:
        raise LabelMapError(f"{path}: {where}: unlisted must be one of {', '.join(UNLISTED_STATES)}, got {unlisted!r}")
    findings = spec.get("findings") or {}
    if not isinstance(findings, Mapping):
        raise LabelMapError(f"{path}: {where}: findings must be a mapping of biomarker id -> state")
    states: dict[str, Any] = dict.fromkeys(kb.biomarker_ids, UNLISTED_STATES[unlisted])
    attributes: dict[str, dict] = {}
    for bid, value in findings.items():
        if isinstance(value, Mapping):
            states[bid] = value.get("state", "present")
            attributes[bid] = {k: v for k, v in value.items() if k != "state"}
        else:
            states[bid] = value
    raw = {key: spec.get(key) for key in ("condition", "stage", "referral")}
    try:
        return labels_from_mapping({**raw, "biomarkers": states, "attributes": attributes}, kb)
    except RowError as exc:
        raise LabelMapError(f"{path}: {where}: {exc}") from None


def _check_keys(obj: Any, allowed: set[str], path: Path, where: str) -> None:
    if not isinstance(obj, Mapping):
        raise LabelMapError(f"{path}: {where} must be a mapping, got {type(obj).__name__}")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise LabelMapError(
            f"{path}: unknown key(s) {', '.join(unknown)} in {where}; allowed: {', '.join(sorted(allowed))}"
        )
