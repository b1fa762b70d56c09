"""One labelled scan of a cohort before its image is read, validated against the knowledge base.

Every source (synthetic cohort, manifest, Kermany folder) is turned into rows shaped like the
references.jsonl interchange format and passes through `record_from_mapping`, so all of them are
checked by the same rules and fail with the same messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retinavlm.data.cohorts.labels import LABEL_STATES, contradiction, derived_level
from retinavlm.errors import RetinaVLMError
from retinavlm.knowledge import KnowledgeBase, KnowledgeError, normalize_findings

EYES = ("OD", "OS")


class RowError(RetinaVLMError):
    """One row of a source cannot be used; the message says why, without the location."""


@dataclass(frozen=True)
class RowProblem:
    """A skipped row or file: where it is (file[:line]) and what is wrong with it."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class CohortRecord:
    """A validated row; `biomarkers` holds every knowledge-base id, None meaning unknown."""

    id: str
    patient_id: str
    split_group: str
    image_path: Path
    source: str
    where: str
    biomarkers: dict[str, str | None]
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    stage: str | None = None
    referral: str | None = None
    condition: str | None = None
    eye: str | None = None
    visit: int | None = None
    domain: str | None = None
    age: int | None = None
    sex: str | None = None
    report: str | None = None


@dataclass(frozen=True)
class Labels:
    """The clinical labels of one scan; `biomarkers` has every knowledge-base id, None = unknown."""

    biomarkers: dict[str, str | None]
    attributes: dict[str, dict[str, str]]
    condition: str | None
    stage: str | None
    referral: str | None


def labels_from_mapping(raw: Mapping[str, Any], kb: KnowledgeBase) -> Labels:
    """Validate the label keys of a row (biomarkers, attributes, condition, stage, referral)."""
    states = _states(raw.get("biomarkers"), kb)
    attributes = _attributes(raw.get("attributes"), states, kb)
    condition = _text(raw, "condition")
    if condition is not None and condition not in kb.conditions:
        raise RowError(
            f"unknown condition {condition!r}; known: {', '.join(kb.conditions) or 'none'} "
            "(the knowledge base's conditions.yaml names them)"
        )
    stage, referral = resolve_labels(states, attributes, condition, _text(raw, "stage"), _text(raw, "referral"), kb)
    return Labels(states, attributes, condition, stage, referral)


def record_from_mapping(raw: Mapping[str, Any], folder: Path, where: str, kb: KnowledgeBase) -> CohortRecord:
    """Validate one references.jsonl-shaped row; image paths are relative to `folder`."""
    scan_id = _text(raw, "id", required=True)
    patient_id = _text(raw, "patient_id", required=True)
    image = _text(raw, "image", required=True)
    image_path = folder / image
    if not image_path.is_file():
        raise RowError(f"image file not found: {image} (looked in {folder})")
    labels = labels_from_mapping(raw, kb)
    eye = _text(raw, "eye")
    if eye is not None and eye not in EYES:
        raise RowError(f"eye {eye!r} is not one of {', '.join(EYES)}")
    return CohortRecord(
        id=scan_id,
        patient_id=patient_id,
        split_group=_text(raw, "patient_group") or patient_id,
        image_path=image_path,
        source=image,
        where=where,
        biomarkers=labels.biomarkers,
        attributes=labels.attributes,
        stage=labels.stage,
        referral=labels.referral,
        condition=labels.condition,
        eye=eye,
        visit=_integer(raw, "visit"),
        domain=_text(raw, "domain"),
        age=_integer(raw, "age"),
        sex=_text(raw, "sex"),
        report=_text(raw, "report"),
    )


def resolve_labels(
    states: Mapping[str, str | None],
    attributes: Mapping[str, Mapping[str, str]],
    condition: str | None,
    stage: str | None,
    referral: str | None,
    kb: KnowledgeBase,
) -> tuple[str | None, str | None]:
    """Check given stage/referral against the findings; derive the missing ones where determined.

    `condition` names a non-AMD diagnosis: AMD stages do not describe it, so its stage is None.
    """
    if condition is not None and stage is not None:
        raise RowError(
            f"stage {stage!r} given with condition {condition!r}: `condition` names a non-AMD diagnosis, "
            "which has no AMD stage; leave the condition empty for AMD grading"
        )
    checked = []
    for value, levels, what in ((stage, kb.stages, "stage"), (referral, kb.referrals, "referral")):
        if value is None:
            checked.append(
                None if what == "stage" and condition is not None else derived_level(levels, states, attributes, kb)
            )
            continue
        if value not in (level.id for level in levels):
            raise RowError(f"unknown {what} {value!r}; known: {', '.join(level.id for level in levels)}")
        problem = contradiction(value, levels, states, attributes, kb)
        if problem:
            raise RowError(f"{what} {problem}")
        checked.append(value)
    return checked[0], checked[1]


def _states(raw: Any, kb: KnowledgeBase) -> dict[str, str | None]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise RowError(f"biomarkers must be a mapping of biomarker id -> state, got {type(raw).__name__}")
    unknown = [str(bid) for bid in raw if bid not in kb.biomarkers]
    if unknown:
        raise RowError(f"unknown biomarker id(s) {', '.join(map(repr, unknown))}; known: {', '.join(kb.biomarker_ids)}")
    states: dict[str, str | None] = {}
    for bid in kb.biomarker_ids:
        state = raw.get(bid)
        if state is not None and state not in LABEL_STATES:
            raise RowError(
                f"biomarker {bid!r}: state {state!r} is not one of {', '.join(LABEL_STATES)} (or empty for unknown)"
            )
        states[bid] = state
    return states


def _attributes(raw: Any, states: Mapping[str, str | None], kb: KnowledgeBase) -> dict[str, dict[str, str]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(isinstance(v, Mapping) for v in raw.values()):
        raise RowError("attributes must be a mapping of biomarker id -> {attribute: value}")
    attributes = {str(bid): {str(k): v for k, v in attrs.items()} for bid, attrs in raw.items() if attrs}
    for bid, attrs in attributes.items():
        if bid in kb.biomarkers and states.get(bid) != "present":
            raise RowError(f"attributes {attrs} given for {bid!r}, which is not labelled present")
        try:
            normalize_findings({bid: {"state": "present", **attrs}}, kb)
        except KnowledgeError as exc:
            raise RowError(str(exc)) from None
    return attributes


def _text(raw: Mapping[str, Any], key: str, required: bool = False) -> str | None:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | type(None)):
        raise RowError(f"{key} must be text, got {type(value).__name__}")
    text = None if value is None else str(value).strip() or None
    if required and text is None:
        raise RowError(f"missing {key}")
    return text


def _integer(raw: Mapping[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise RowError(f"{key} must be a whole number, got {value!r}")
