"""Reference labels of one scan (DESIGN.md §3), validated against the knowledge base."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from retinavlm.knowledge import KnowledgeBase

REFERENCE_STATES = ("present", "absent")


class ReferenceError(ValueError):
    """A reference row breaks the interchange format."""


@dataclass(frozen=True)
class Reference:
    id: str
    stage: str
    referral: str
    biomarkers: dict[str, str] = field(default_factory=dict)  # unlisted biomarkers count as absent
    patient_id: str | None = None
    image: str | None = None
    report: str | None = None

    @property
    def unit(self) -> str:
        """What the bootstrap resamples: the patient, or the scan when no patient is given."""
        return self.patient_id if self.patient_id is not None else self.id

    def present(self, biomarker_id: str) -> bool:
        return self.biomarkers.get(biomarker_id) == "present"

    def labels(self) -> dict[str, Any]:
        return {"stage": self.stage, "referral": self.referral, "biomarkers": dict(self.biomarkers)}


def parse_reference(row: dict, kb: KnowledgeBase) -> Reference:
    """A reference from one JSON object; raises ReferenceError naming the field and the problem."""
    rid = row.get("id")
    if not isinstance(rid, (str, int)) or isinstance(rid, bool) or str(rid) == "":
        raise ReferenceError("missing or invalid 'id'")
    rid = str(rid)
    stage, referral = row.get("stage"), row.get("referral")
    if stage not in kb.stage_ids:
        raise ReferenceError(f"id {rid}: stage {stage!r} is not one of {', '.join(kb.stage_ids)}")
    if referral not in kb.referral_ids:
        raise ReferenceError(f"id {rid}: referral {referral!r} is not one of {', '.join(kb.referral_ids)}")
    raw = row.get("biomarkers", {})
    if not isinstance(raw, dict):
        raise ReferenceError(f"id {rid}: 'biomarkers' must be an object of biomarker id -> present/absent")
    biomarkers = {}
    for bid, value in raw.items():
        state = value.get("state") if isinstance(value, dict) else value
        if bid not in kb.biomarkers:
            raise ReferenceError(f"id {rid}: unknown biomarker {bid!r}")
        if state not in REFERENCE_STATES:
            raise ReferenceError(f"id {rid}: biomarker {bid} state {state!r} is not present/absent")
        biomarkers[bid] = state
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
    )
