"""The synthetic cohort settings (curricula/synthetic/cohort.yaml) as validated dataclasses.

Stage and biomarker ids are checked against the knowledge base on load, so a renamed stage or a
typo fails here with the file and the key named, not deep inside a render.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from retinavlm.data.synthetic.anatomy import Grid
from retinavlm.errors import ConfigError
from retinavlm.knowledge import KnowledgeBase, load_knowledge
from retinavlm.resources import curricula_dir
from retinavlm.yaml_files import read_yaml_mapping


class CohortConfigError(ConfigError):
    """The cohort YAML is missing, malformed or names unknown stages, biomarkers or domains."""


@dataclass(frozen=True)
class ScannerDomain:
    name: str
    weight: float = 1.0
    rows: int = 496
    cols: int = 512
    speckle: float = 0.45
    gain: float = 1.0
    gamma: float = 1.0
    background: float = 0.07
    blur: float = 0.0
    watermark: str | None = None


@dataclass(frozen=True)
class BiomarkerRecipe:
    probability: float
    attributes: dict[str, dict[str, float]]  # attribute -> value -> weight


@dataclass(frozen=True)
class StageRecipe:
    at_least_one_of: tuple[str, ...]
    biomarkers: dict[str, BiomarkerRecipe]


@dataclass(frozen=True)
class CohortConfig:
    grid: Grid
    central_halfwidth_um: float
    stage_prevalence: dict[str, float]
    fellow_eye_same_stage: float
    visit_counts: dict[int, float]
    visit_interval_years: float
    progression_probability: float
    progression: dict[str, tuple[str, ...]]
    findings: dict[str, StageRecipe]
    age: dict[str, float]
    female_fraction: float
    domains: dict[str, ScannerDomain]
    watermark_disease_correlation: float
    source: dict[str, Any]  # the YAML as read, recorded in the manifest

    def only_domain(self, name: str) -> CohortConfig:
        """The same cohort, every patient scanned on one domain."""
        if name not in self.domains:
            raise CohortConfigError(f"unknown scanner domain {name!r}; known: {', '.join(self.domains)}")
        return replace(self, domains={name: self.domains[name]})


def default_cohort_config_path() -> Path:
    return curricula_dir() / "synthetic" / "cohort.yaml"


def load_cohort_config(path: str | os.PathLike | None = None, kb: KnowledgeBase | None = None) -> CohortConfig:
    """Read and validate a cohort YAML (default: curricula/synthetic/cohort.yaml)."""
    kb = kb or load_knowledge()
    path = Path(path) if path is not None else default_cohort_config_path()
    doc = read_yaml_mapping(path, CohortConfigError, "cohort config")
    try:
        return _parse(doc, kb)
    except (KeyError, TypeError, ValueError) as exc:
        message = exc.args[0] if isinstance(exc, CohortConfigError) else f"{type(exc).__name__}: {exc}"
        raise CohortConfigError(f"{path}: {message}") from None


def _parse(doc: dict, kb: KnowledgeBase) -> CohortConfig:
    image = doc["image"]
    grid = Grid(int(image["rows"]), int(image["cols"]), float(image["axial_um"]), float(image["lateral_um"]))
    prevalence = _weights(doc["stage_prevalence"], kb.stage_ids, "stage_prevalence")
    visits = doc["visits"]
    progression = {}
    for stage, targets in visits["progression"].items():
        _known(stage, kb.stage_ids, "visits.progression")
        progression[stage] = tuple(_known(t, kb.stage_ids, f"visits.progression.{stage}") for t in targets or [])
    findings = {stage: _stage_recipe(spec, kb, stage) for stage, spec in doc["findings"].items()}
    for stage in prevalence:
        if stage not in findings:
            raise CohortConfigError(f"findings: no recipe for stage {stage!r}")
    domains = {}
    for name, spec in doc["domains"].items():
        domains[name] = ScannerDomain(name=str(name), **spec)
    if not domains:
        raise CohortConfigError("domains: at least one scanner domain is needed")
    correlation = float(doc.get("watermark_disease_correlation", 0.0))
    if not 0.0 <= correlation <= 1.0:
        raise CohortConfigError(f"watermark_disease_correlation must be within [0, 1], got {correlation}")
    patients = doc["patients"]
    return CohortConfig(
        grid=grid,
        central_halfwidth_um=float(image["central_halfwidth_um"]),
        stage_prevalence=prevalence,
        fellow_eye_same_stage=float(doc["fellow_eye_same_stage"]),
        visit_counts={int(k): float(v) for k, v in _weights(visits["count"], None, "visits.count").items()},
        visit_interval_years=float(visits["interval_years"]),
        progression_probability=float(visits["progression_probability"]),
        progression=progression,
        findings=findings,
        age={k: float(patients["age"][k]) for k in ("mean", "sd", "min", "max")},
        female_fraction=float(patients["female_fraction"]),
        domains=domains,
        watermark_disease_correlation=correlation,
        source=copy.deepcopy(doc),
    )


def _known(value: Any, known: tuple[str, ...], where: str) -> str:
    if str(value) not in known:
        raise CohortConfigError(f"{where}: unknown id {value!r}; known: {', '.join(known)}")
    return str(value)


def _weights(raw: Any, known: tuple[str, ...] | None, where: str) -> dict:
    if not isinstance(raw, dict) or not raw:
        raise CohortConfigError(f"{where} must be a non-empty mapping of id -> weight")
    out = {}
    for key, weight in raw.items():
        if known is not None:
            _known(key, known, where)
        if not isinstance(weight, (int, float)) or weight < 0:
            raise CohortConfigError(f"{where}.{key}: weight must be a non-negative number, got {weight!r}")
        out[key] = float(weight)
    if sum(out.values()) <= 0:
        raise CohortConfigError(f"{where}: weights sum to zero")
    return out


def _stage_recipe(spec: dict, kb: KnowledgeBase, stage: str) -> StageRecipe:
    _known(stage, kb.stage_ids, "findings")
    biomarkers = {}
    for bid, entry in (spec.get("biomarkers") or {}).items():
        where = f"findings.{stage}.{bid}"
        marker = kb.biomarker(_known(bid, kb.biomarker_ids, f"findings.{stage}"))
        entry = dict(entry)
        probability = float(entry.pop("p"))
        attributes = {}
        for aname, attribute in marker.attributes.items():
            values = entry.pop(aname, {attribute.when_unspecified: 1.0})
            attributes[aname] = _weights(values, attribute.values, f"{where}.{aname}")
        if entry:
            raise CohortConfigError(f"{where}: unknown key(s) {', '.join(map(str, entry))}")
        biomarkers[bid] = BiomarkerRecipe(probability, attributes)
    required = tuple(
        _known(b, tuple(biomarkers), f"findings.{stage}.at_least_one_of") for b in spec.get("at_least_one_of") or []
    )
    return StageRecipe(required, biomarkers)
