"""Reference labels of one scan (DESIGN.md §3), validated against the knowledge base.

A reference may leave its stage, its referral or any biomarker unknown (not given): real cohorts are
partially labelled. An unknown label is never read as absent and never scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from retinavlm.errors import RetinaVLMError
from retinavlm.knowledge import KnowledgeBase

REFERENCE_STATES = ("present", "absent")


class ReferenceFormatError(RetinaVLMError):
    """A reference row breaks the interchange format."""


@dataclass(frozen=True)
class Reference:
    id: str
    stage: str | None  # None: unknown
    referral: str | None  # None: unknown
    biomarkers: dict[str, str] = field(default_factory=dict)  # listed biomarkers only; unlisted ones are unknown
    patient_id: str | None = None
    image: str | None = None
    report: str | None = None
    condition: str | None = None  # a named condition that is not AMD (e.g. "dme"); passed through, not scored

    @property
    def unit(self) -> str:
        """What the bootstrap resamples: the patient, or the scan when no patient is given."""
        return self.patient_id if self.patient_id is not None else self.id

    def state(self, biomarker_id: str) -> str | None:
        """The state the reference gives ("present" or "absent"), None when it does not know."""
        return self.biomarkers.get(biomarker_id)

    def present(self, biomarker_id: str) -> bool:
        return self.biomarkers.get(biomarker_id) == "present"

    def labels(self) -> dict[str, Any]:
        labels = {"stage": self.stage, "referral": self.referral, "biomarkers": dict(self.biomarkers)}
        return labels if self.condition is None else {**labels, "condition": self.condition}


def parse_reference(row: dict, kb: KnowledgeBase) -> Reference:
    """A reference from one JSON object; raises ReferenceFormatError naming the field and the problem."""
    rid = row.get("id")
    if not isinstance(rid, (str, int)) or isinstance(rid, bool) or str(rid) == "":
        raise ReferenceFormatError("missing or invalid 'id'")
    rid = str(rid)
    stage, referral = row.get("stage"), row.get("referral")
    if stage is not None and stage not in kb.stage_ids:
        raise ReferenceFormatError(f"id {rid}: stage {stage!r} is not one of {', '.join(kb.stage_ids)}")
    if referral is not None and referral not in kb.referral_ids:
        raise ReferenceFormatError(f"id {rid}: referral {referral!r} is not one of {', '.join(kb.referral_ids)}")
    raw = row.get("biomarkers", {})
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ReferenceFormatError(f"id {rid}: 'biomarkers' must be an object of biomarker id -> present/absent")
    biomarkers = {}
    for bid, value in raw.items():
        state = value.get("state") if isinstance(value, dict) else value
        if bid not in kb.biomarkers:
            raise ReferenceFormatError(f"id {rid}: unknown biomarker {bid!r}")
        if state is None:  # written out as unknown
            continue
        if state not in REFERENCE_STATES:
            raise ReferenceFormatError(
                f"id {rid}: biomarker {bid} state {state!r} is not present/absent (or null for unknown)"
            )
        biomarkers[bid] = state
    condition = row.get("condition")
    if condition is not None and (not isinstance(condition, str) or not condition.strip()):
        raise ReferenceFormatError(f"id {rid}: 'condition' must be a non-empty string, got {condition!r}")
    patient = row.get("patient_id")
    report = row.get("report")
    return Reference(
        id=rid,
        stage=stage,
        referral=referral,
        biomarkers={b: biomarkers[b] for b in kb.biomarkers if b in biomarkers},
        patient_id=None if patient is None else str(patient),
        image=None if row.get("image") is None else str(row.get("image")),
        report=report if isinstance(report, str) else None,
        condition=condition,
    )
