"""The synthetic cohort settings (curricula/synthetic/cohort.yaml) as validated dataclasses.

The file is built by retinavlm/schema.py (strict types, `FILE: dotted.key: problem`); stage and
biomarker ids are checked against the knowledge base on load, so a renamed stage or a typo fails
here with the file and the key named, not deep inside a render.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from retinavlm import schema
from retinavlm.data.synthetic.anatomy import Grid
from retinavlm.errors import ConfigError
from retinavlm.knowledge import KnowledgeBase, load_knowledge
from retinavlm.resources import curricula_dir
from retinavlm.yaml_files import read_yaml_mapping


class CohortConfigError(ConfigError):
    """The cohort YAML is missing, malformed or names unknown stages, biomarkers or domains."""


@dataclass(frozen=True)
class ScannerDomain:
    name: str = field(default="", metadata={"internal": True})  # its key under `domains`
    weight: float = 1.0
    rows: int = 496
    cols: int = 512
    speckle: float = 0.45
    gain: float = 1.0
    gamma: float = 1.0
    background: float = 0.07
    blur: float = 0.0
    watermark: str | None = None

    def __post_init__(self) -> None:
        for key in ("speckle", "gain", "gamma", "background", "blur"):  # weight: checked with the others
            if getattr(self, key) < 0:
                raise CohortConfigError(f"must not be negative, got {getattr(self, key)}", key)
        for key in ("rows", "cols"):
            if getattr(self, key) < 1:
                raise CohortConfigError(f"must be at least 1, got {getattr(self, key)}", key)


@dataclass(frozen=True)
class ShortcutCue:
    """A square burned into the field the encoder sees, for shortcut studies (cohort.yaml `shortcut_cue`).

    It sits in the vitreous corner of the fovea-centred crop of side `crop_fraction` of the scan's shorter side,
    so it reaches that crop, any larger crop and the uncropped scan. Its presence is drawn per scan with
    `p_referable` or `p_non_referable`: equal values make it noise, unequal ones a shortcut to referral.
    """

    p_referable: float = 0.0
    p_non_referable: float = 0.0
    # Its brightness in [0, 1]; the speckled vitreous around it is about 0.1. A black square leaves the fovea crop
    # where it was; a bright one (0.3 and up) is taken for retina by the fovea finder and moves the crop of
    # about one scan in eight (mostly wet AMD, whose pit is shallow), the marker following it.
    intensity: float = 0.0
    size: float = 0.08  # its side, as a fraction of the crop's side
    crop_fraction: float = 0.5  # the encoder's crop it must stay inside (the demo's model.encoder.crop_fraction)

    def __post_init__(self) -> None:
        for key in ("p_referable", "p_non_referable", "intensity"):
            _fraction(self, key)
        for key, most in (("size", MAX_CUE_SIZE), ("crop_fraction", 1.0)):
            value = getattr(self, key)
            if not 0.0 < value <= most:
                raise CohortConfigError(f"must be within (0, {most}], got {value}", key)

    @property
    def active(self) -> bool:
        return self.p_referable > 0 or self.p_non_referable > 0


MAX_CUE_SIZE = 0.12  # a larger square would reach down to the retina in the crop's corner


@dataclass(frozen=True)
class Acquisition:
    """How a scan sits in its frame, drawn per scan (cohort.yaml `acquisition`).

    Real exports place the retina higher and more variably than a centred render, and most carry white
    wedges where the device rotated the B-scan to register it; an encoder pretrained only on centred,
    unrotated scans meets both for the first time on real data.
    """

    # Depth of Bruch's membrane at the fovea, as a fraction of the rows, drawn uniformly between these two.
    retina_depth_min: float = 0.52
    retina_depth_max: float = 0.62
    registration_p: float = 0.0  # share of scans rotated for registration, the exposed corners white
    registration_degrees: float = 5.0  # the largest such rotation, either way

    def __post_init__(self) -> None:
        _within(self, "retina_depth_min", 0.2, 0.8)
        _within(self, "retina_depth_max", 0.2, 0.8)
        if self.retina_depth_min > self.retina_depth_max:
            raise CohortConfigError(
                f"must not exceed retina_depth_max ({self.retina_depth_max}), got {self.retina_depth_min}",
                "retina_depth_min",
            )
        _fraction(self, "registration_p")
        _within(self, "registration_degrees", 0.0, 20.0)


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
    shortcut_cue: ShortcutCue = field(default_factory=ShortcutCue)
    acquisition: Acquisition = field(default_factory=Acquisition)

    def with_shortcut_cue(self, cue: ShortcutCue) -> CohortConfig:
        """The same cohort with another shortcut cue, recorded in `source` (and so in the manifest) too."""
        return replace(self, shortcut_cue=cue, source={**self.source, "shortcut_cue": schema.to_dict(cue)})

    def with_acquisition(self, acquisition: Acquisition) -> CohortConfig:
        """The same cohort framed another way, recorded in `source` (and so in the manifest) too."""
        return replace(
            self, acquisition=acquisition, source={**self.source, "acquisition": schema.to_dict(acquisition)}
        )

    def only_domain(self, name: str) -> CohortConfig:
        """The same cohort, every patient scanned on one domain."""
        if name not in self.domains:
            raise CohortConfigError(f"unknown scanner domain {name!r}; known: {', '.join(self.domains)}")
        return replace(self, domains={name: self.domains[name]})

    def without_domain(self, name: str) -> CohortConfig:
        """The same cohort, no patient scanned on `name`: a scanner domain held out of training."""
        if name not in self.domains:
            raise CohortConfigError(f"unknown scanner domain {name!r}; known: {', '.join(self.domains)}")
        if len(self.domains) == 1:
            raise CohortConfigError(f"scanner domain {name!r} is the only one; none would be left to train on")
        return replace(self, domains={key: domain for key, domain in self.domains.items() if key != name})


def default_cohort_config_path() -> Path:
    return curricula_dir() / "synthetic" / "cohort.yaml"


def load_cohort_config(path: str | os.PathLike | None = None, kb: KnowledgeBase | None = None) -> CohortConfig:
    """Read and validate a cohort YAML (default: curricula/synthetic/cohort.yaml)."""
    kb = kb or load_knowledge()
    path = Path(path) if path is not None else default_cohort_config_path()
    doc = read_yaml_mapping(path, CohortConfigError, "cohort config")
    spec = schema.from_dict(_CohortFile, doc, path, CohortConfigError)
    try:
        findings = _check_ids(spec, kb)
    except CohortConfigError as exc:
        raise exc.within(source=path) from None
    image, visits = spec.image, spec.visits
    return CohortConfig(
        grid=Grid(image.rows, image.cols, image.axial_um, image.lateral_um),
        central_halfwidth_um=image.central_halfwidth_um,
        stage_prevalence=spec.stage_prevalence,
        fellow_eye_same_stage=spec.fellow_eye_same_stage,
        visit_counts=visits.count,
        visit_interval_years=visits.interval_years,
        progression_probability=visits.progression_probability,
        progression={stage: tuple(targets) for stage, targets in visits.progression.items()},
        findings=findings,
        age=schema.to_dict(spec.patients.age),
        female_fraction=spec.patients.female_fraction,
        domains={name: replace(domain, name=name) for name, domain in spec.domains.items()},
        watermark_disease_correlation=spec.watermark_disease_correlation,
        source=copy.deepcopy(doc),
        shortcut_cue=spec.shortcut_cue,
        acquisition=spec.acquisition,
    )


# -- the file as written (schema dataclasses); ids are checked against the knowledge base afterwards --


def _within(owner: object, key: str, low: float, high: float) -> None:
    value = getattr(owner, key)
    if not low <= value <= high:
        raise CohortConfigError(f"must be within [{low:g}, {high:g}], got {value}", key)


def _fraction(owner: object, key: str) -> None:
    _within(owner, key, 0.0, 1.0)


def _weights(weights: dict, key: str) -> None:
    """Draw weights: at least one, none negative, not all zero."""
    if not weights:
        raise CohortConfigError("must be a non-empty mapping of id -> weight", key)
    for name, weight in weights.items():
        if weight < 0:
            raise CohortConfigError(f"weight must be a non-negative number, got {weight}", f"{key}.{name}")
    if sum(weights.values()) <= 0:
        raise CohortConfigError("weights sum to zero", key)


@dataclass(frozen=True)
class _Image:
    rows: int
    cols: int
    axial_um: float
    lateral_um: float
    central_halfwidth_um: float

    def __post_init__(self) -> None:
        for key in ("rows", "cols", "axial_um", "lateral_um", "central_halfwidth_um"):
            if getattr(self, key) <= 0:
                raise CohortConfigError(f"must be positive, got {getattr(self, key)}", key)


@dataclass(frozen=True)
class _Visits:
    count: dict[int, float]  # visits per patient -> weight
    interval_years: float
    progression_probability: float
    progression: dict[str, list[str]]  # stage -> stages an eye may move on to

    def __post_init__(self) -> None:
        _weights(self.count, "count")
        if any(n < 1 for n in self.count):
            raise CohortConfigError(f"a patient has at least 1 visit, got {min(self.count)}", "count")
        if self.interval_years <= 0:
            raise CohortConfigError(f"must be positive, got {self.interval_years}", "interval_years")
        _fraction(self, "progression_probability")


@dataclass(frozen=True)
class _StageFindings:
    at_least_one_of: list[str] = field(default_factory=list)
    # biomarker -> {p: probability, ATTRIBUTE: {value: weight}}
    biomarkers: dict[str, dict[str, float | dict[str, float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Age:
    mean: float
    sd: float
    min: float
    max: float

    def __post_init__(self) -> None:
        if self.sd < 0 or not self.min <= self.mean <= self.max:
            raise CohortConfigError(f"need sd >= 0 and min <= mean <= max, got {schema.to_dict(self)}")


@dataclass(frozen=True)
class _Patients:
    age: _Age
    female_fraction: float

    def __post_init__(self) -> None:
        _fraction(self, "female_fraction")


@dataclass(frozen=True)
class _CohortFile:
    image: _Image
    stage_prevalence: dict[str, float]
    fellow_eye_same_stage: float
    visits: _Visits
    findings: dict[str, _StageFindings]
    patients: _Patients
    domains: dict[str, ScannerDomain]
    watermark_disease_correlation: float = 0.0
    shortcut_cue: ShortcutCue = field(default_factory=ShortcutCue)
    acquisition: Acquisition = field(default_factory=Acquisition)

    def __post_init__(self) -> None:
        _weights(self.stage_prevalence, "stage_prevalence")
        _fraction(self, "fellow_eye_same_stage")
        _fraction(self, "watermark_disease_correlation")
        if not self.domains:
            raise CohortConfigError("at least one scanner domain is needed", "domains")
        _weights({name: domain.weight for name, domain in self.domains.items()}, "domains")


def _known(value: str, known: tuple[str, ...], key: str) -> str:
    if value not in known:
        raise CohortConfigError(f"unknown id {value!r}; known: {', '.join(known)}", key)
    return value


def _check_ids(spec: _CohortFile, kb: KnowledgeBase) -> dict[str, StageRecipe]:
    """Check every stage and biomarker id against the knowledge base; the stage recipes with attribute defaults."""
    for stage in spec.stage_prevalence:
        _known(stage, kb.stage_ids, f"stage_prevalence.{stage}")
        if stage not in spec.findings:
            raise CohortConfigError(f"no recipe for stage {stage!r}", "findings")
    for stage, targets in spec.visits.progression.items():
        _known(stage, kb.stage_ids, f"visits.progression.{stage}")
        for i, target in enumerate(targets):
            _known(target, kb.stage_ids, f"visits.progression.{stage}[{i}]")
    return {stage: _stage_recipe(stage, recipe, kb) for stage, recipe in spec.findings.items()}


def _stage_recipe(stage: str, spec: _StageFindings, kb: KnowledgeBase) -> StageRecipe:
    _known(stage, kb.stage_ids, f"findings.{stage}")
    biomarkers = {}
    for bid, entry in spec.biomarkers.items():
        where = f"findings.{stage}.biomarkers.{bid}"
        marker = kb.biomarker(_known(bid, kb.biomarker_ids, where))
        unknown = sorted(set(entry) - {"p", *marker.attributes})
        if unknown:
            allowed = ", ".join(["p", *marker.attributes])
            raise CohortConfigError(f"unknown key; allowed here: {allowed}", f"{where}.{unknown[0]}")
        if "p" not in entry:
            raise CohortConfigError("required key is missing", f"{where}.p")
        probability = entry["p"]
        if not isinstance(probability, float) or not 0.0 <= probability <= 1.0:
            raise CohortConfigError(f"needs a probability in [0, 1], got {probability!r}", f"{where}.p")
        attributes = {}
        for aname, attribute in marker.attributes.items():
            values = entry.get(aname, {attribute.when_unspecified: 1.0})
            if not isinstance(values, dict):
                raise CohortConfigError(f"expected a mapping of value -> weight, got {values!r}", f"{where}.{aname}")
            _weights(values, f"{where}.{aname}")
            for value in values:
                _known(value, attribute.values, f"{where}.{aname}.{value}")
            attributes[aname] = values
        biomarkers[bid] = BiomarkerRecipe(probability, attributes)
    for i, bid in enumerate(spec.at_least_one_of):
        _known(bid, tuple(biomarkers), f"findings.{stage}.at_least_one_of[{i}]")
    return StageRecipe(tuple(spec.at_least_one_of), biomarkers)
