"""Typed view of the clinical knowledge YAML (curricula/knowledge/), validated on load.

Every part of the toolkit reads biomarkers, stages, referral levels and conditions from here, so that
training and evaluation can never disagree about what a stage or a referral means.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retinavlm.errors import RetinaVLMError
from retinavlm.resources import default_knowledge_dir
from retinavlm.yaml_files import read_yaml_mapping

FINDING_STATES = ("present", "absent", "uncertain")


class KnowledgeError(RetinaVLMError):
    """A knowledge file or a findings specification breaks the schema."""


@dataclass(frozen=True)
class Attribute:
    name: str
    values: tuple[str, ...]
    when_unspecified: str
    definition: str = ""
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Biomarker:
    id: str
    name: str
    definition: str
    synonyms: tuple[str, ...]
    abbreviations: tuple[str, ...]
    attributes: dict[str, Attribute]


@dataclass(frozen=True)
class BiomarkerGroup:
    """An umbrella term ("fluid") that asserts or denies all its members at once."""

    id: str
    members: tuple[str, ...]
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class Criterion:
    """A biomarker that must be present, optionally restricted to some attribute values."""

    biomarker: str
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def describe(self, kb: KnowledgeBase) -> str:
        marker = kb.biomarkers[self.biomarker]
        qualifiers = [" or ".join(values) for values in self.attributes.values()]
        return " ".join([*qualifiers, marker.name]) if qualifiers else marker.name


@dataclass(frozen=True)
class Level:
    """One rung of an ordered rule ladder: an AMD stage or a referral level."""

    id: str
    name: str
    definition: str
    synonyms: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Condition:
    """A diagnosis that is not an AMD stage (diabetic macular oedema): a report names it, the grader reads it."""

    id: str
    name: str
    definition: str
    synonyms: tuple[str, ...]
    abbreviations: tuple[str, ...]


@dataclass(frozen=True)
class KnowledgeBase:
    name: str
    version: str
    fingerprint: str
    path: Path
    biomarkers: dict[str, Biomarker]
    groups: dict[str, BiomarkerGroup]
    stages: tuple[Level, ...]
    referrals: tuple[Level, ...]
    conditions: dict[str, Condition] = field(default_factory=dict)

    @property
    def biomarker_ids(self) -> tuple[str, ...]:
        return tuple(self.biomarkers)

    @property
    def stage_ids(self) -> tuple[str, ...]:
        return tuple(level.id for level in self.stages)

    @property
    def referral_ids(self) -> tuple[str, ...]:
        return tuple(level.id for level in self.referrals)

    @property
    def version_tag(self) -> str:
        """Name, version and content hash: what checkpoints and results record."""
        return f"{self.name}@{self.version}+{self.fingerprint}"

    def stage(self, stage_id: str) -> Level:
        return _by_id(self.stages, stage_id, "stage")

    def referral(self, referral_id: str) -> Level:
        return _by_id(self.referrals, referral_id, "referral level")

    def condition(self, condition_id: str) -> Condition:
        try:
            return self.conditions[condition_id]
        except KeyError:
            known = ", ".join(self.conditions) or "none"
            raise KnowledgeError(f"unknown condition {condition_id!r}; known: {known}") from None

    def biomarker(self, biomarker_id: str) -> Biomarker:
        try:
            return self.biomarkers[biomarker_id]
        except KeyError:
            raise KnowledgeError(
                f"unknown biomarker id {biomarker_id!r}; known: {', '.join(self.biomarkers)}"
            ) from None


def _by_id(levels: tuple[Level, ...], level_id: str, what: str) -> Level:
    for level in levels:
        if level.id == level_id:
            return level
    raise KnowledgeError(f"unknown {what} {level_id!r}; known: {', '.join(lv.id for lv in levels)}")


def load_knowledge(path: str | os.PathLike | None = None) -> KnowledgeBase:
    """Load and validate a knowledge base folder (default: curricula/knowledge/). Cached per folder."""
    folder = Path(path) if path is not None else default_knowledge_dir()
    return _load_cached(folder.resolve())


@functools.lru_cache(maxsize=8)
def _load_cached(folder: Path) -> KnowledgeBase:
    index_path = folder / "knowledge.yaml"
    index = _read_yaml(index_path)
    _check_keys(index, {"name", "version", "files"}, index_path, "top level")
    files = index.get("files", {})
    _check_keys(files, {"biomarkers", "stages", "referral", "conditions"}, index_path, "files")
    paths = {key: folder / files.get(key, f"{key}.yaml") for key in ("biomarkers", "stages", "referral")}
    if "conditions" in files:  # optional: a knowledge base for AMD alone names no other condition
        paths["conditions"] = folder / files["conditions"]
    docs = {key: _read_yaml(p) for key, p in paths.items()}

    digest = hashlib.sha256()
    for p in (index_path, *paths.values()):
        digest.update(p.read_bytes())

    biomarkers, groups = _parse_biomarkers(docs["biomarkers"], paths["biomarkers"])
    stages = _parse_levels(docs["stages"], "stages", paths["stages"], biomarkers)
    referrals = _parse_levels(docs["referral"], "referral", paths["referral"], biomarkers)
    return KnowledgeBase(
        name=str(index.get("name", folder.name)),
        version=str(index.get("version", "0")),
        fingerprint=digest.hexdigest()[:12],
        path=folder,
        biomarkers=biomarkers,
        groups=groups,
        stages=stages,
        referrals=referrals,
        conditions=_parse_conditions(docs["conditions"], paths["conditions"]) if "conditions" in docs else {},
    )


def _read_yaml(path: Path) -> dict:
    return read_yaml_mapping(path, KnowledgeError, "knowledge file")


def _check_keys(obj: Any, allowed: set[str], path: Path, where: str) -> None:
    if not isinstance(obj, dict):
        raise KnowledgeError(f"{path}: {where} must be a mapping, got {type(obj).__name__}")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise KnowledgeError(
            f"{path}: unknown key(s) {', '.join(unknown)} in {where}; allowed: {', '.join(sorted(allowed))}"
        )


def _strings(value: Any, path: Path, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise KnowledgeError(f"{path}: {where} must be a list of strings")
    return tuple(str(v) for v in value)


def _parse_biomarkers(doc: dict, path: Path) -> tuple[dict[str, Biomarker], dict[str, BiomarkerGroup]]:
    _check_keys(doc, {"biomarkers", "groups"}, path, "top level")
    raw = doc.get("biomarkers")
    if not isinstance(raw, dict) or not raw:
        raise KnowledgeError(f"{path}: 'biomarkers' must be a non-empty mapping of id -> definition")
    biomarkers: dict[str, Biomarker] = {}
    for bid, spec in raw.items():
        where = f"biomarker {bid!r}"
        _check_keys(spec, {"name", "definition", "synonyms", "abbreviations", "attributes"}, path, where)
        attributes: dict[str, Attribute] = {}
        for aname, aspec in (spec.get("attributes") or {}).items():
            awhere = f"{where} attribute {aname!r}"
            _check_keys(aspec, {"values", "when_unspecified", "definition", "synonyms"}, path, awhere)
            values = _strings(aspec.get("values"), path, f"{awhere} values")
            if not values:
                raise KnowledgeError(f"{path}: {awhere} has no values")
            default = str(aspec.get("when_unspecified", values[0]))
            if default not in values:
                raise KnowledgeError(f"{path}: {awhere} when_unspecified {default!r} is not one of {values}")
            syn = aspec.get("synonyms") or {}
            _check_keys(syn, set(values), path, f"{awhere} synonyms")
            attributes[aname] = Attribute(
                name=aname,
                values=values,
                when_unspecified=default,
                definition=str(aspec.get("definition", "")),
                synonyms={v: _strings(s, path, f"{awhere} synonyms {v}") for v, s in syn.items()},
            )
        biomarkers[str(bid)] = Biomarker(
            id=str(bid),
            name=str(spec.get("name", bid)),
            definition=str(spec.get("definition", "")),
            synonyms=_strings(spec.get("synonyms"), path, f"{where} synonyms"),
            abbreviations=_strings(spec.get("abbreviations"), path, f"{where} abbreviations"),
            attributes=attributes,
        )
    groups: dict[str, BiomarkerGroup] = {}
    for gid, gspec in (doc.get("groups") or {}).items():
        _check_keys(gspec, {"members", "synonyms"}, path, f"group {gid!r}")
        members = _strings(gspec.get("members"), path, f"group {gid!r} members")
        for member in members:
            if member not in biomarkers:
                raise KnowledgeError(f"{path}: group {gid!r} names unknown biomarker {member!r}")
        groups[str(gid)] = BiomarkerGroup(
            str(gid), members, _strings(gspec.get("synonyms"), path, f"group {gid!r} synonyms")
        )
    return biomarkers, groups


def _parse_levels(doc: dict, key: str, path: Path, biomarkers: dict[str, Biomarker]) -> tuple[Level, ...]:
    raw = doc.get(key)
    if not isinstance(raw, list) or not raw:
        raise KnowledgeError(f"{path}: {key!r} must be a non-empty list, least to most advanced")
    levels: list[Level] = []
    base_keys = {"id", "name", "definition", "synonyms", "criteria"}
    for i, spec in enumerate(raw):
        if not isinstance(spec, dict) or "id" not in spec:
            raise KnowledgeError(f"{path}: {key}[{i}] must be a mapping with an 'id'")
        lid = str(spec["id"])
        if any(level.id == lid for level in levels):
            raise KnowledgeError(f"{path}: duplicate {key} id {lid!r}")
        criteria = tuple(_parse_criterion(c, path, f"{key} {lid!r}", biomarkers) for c in spec.get("criteria") or [])
        if i == 0 and criteria:
            raise KnowledgeError(f"{path}: the first {key} level {lid!r} is the default and must have no criteria")
        if i > 0 and not criteria:
            raise KnowledgeError(f"{path}: {key} level {lid!r} has no criteria; only the first level is the default")
        levels.append(
            Level(
                id=lid,
                name=str(spec.get("name", lid)),
                definition=str(spec.get("definition", "")),
                synonyms=_strings(spec.get("synonyms"), path, f"{key} {lid!r} synonyms"),
                criteria=criteria,
                extra={k: v for k, v in spec.items() if k not in base_keys},
            )
        )
    return tuple(levels)


def _parse_criterion(raw: Any, path: Path, where: str, biomarkers: dict[str, Biomarker]) -> Criterion:
    if not isinstance(raw, dict) or "biomarker" not in raw:
        raise KnowledgeError(f"{path}: each criterion of {where} must be a mapping with a 'biomarker'")
    bid = str(raw["biomarker"])
    if bid not in biomarkers:
        raise KnowledgeError(f"{path}: {where} names unknown biomarker {bid!r}")
    marker = biomarkers[bid]
    attributes: dict[str, tuple[str, ...]] = {}
    for aname, values in raw.items():
        if aname == "biomarker":
            continue
        if aname not in marker.attributes:
            raise KnowledgeError(f"{path}: {where}: biomarker {bid!r} has no attribute {aname!r}")
        allowed = _strings(values, path, f"{where} {bid}.{aname}")
        bad = [v for v in allowed if v not in marker.attributes[aname].values]
        if bad:
            raise KnowledgeError(
                f"{path}: {where}: {bid}.{aname} value(s) {bad} not in {marker.attributes[aname].values}"
            )
        attributes[aname] = allowed
    return Criterion(bid, attributes)


def _parse_conditions(doc: dict, path: Path) -> dict[str, Condition]:
    _check_keys(doc, {"conditions"}, path, "top level")
    raw = doc.get("conditions")
    if not isinstance(raw, dict):
        raise KnowledgeError(f"{path}: 'conditions' must be a mapping of id -> definition")
    conditions: dict[str, Condition] = {}
    for cid, spec in raw.items():
        where = f"condition {cid!r}"
        _check_keys(spec, {"name", "definition", "synonyms", "abbreviations"}, path, where)
        conditions[str(cid)] = Condition(
            id=str(cid),
            name=str(spec.get("name", cid)),
            definition=str(spec.get("definition", "")),
            synonyms=_strings(spec.get("synonyms"), path, f"{where} synonyms"),
            abbreviations=_strings(spec.get("abbreviations"), path, f"{where} abbreviations"),
        )
    return conditions
