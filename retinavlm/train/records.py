"""The labelled scans a curriculum trains on, read and split by the cohort layer (retinavlm.data.cohorts).

Real cohorts are partially labelled (a diagnosis, a few findings, a referral decision), so any biomarker,
attribute, stage or referral may be unknown (None). A scan is kept whatever it lacks: each objective uses
what is known and never treats an unknown as a fact. `CohortSplits.known` counts what was known per label
kind, for the training summary.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retinavlm.data.cohorts.build import read_cohort_source
from retinavlm.data.cohorts.sources import CohortSourceError
from retinavlm.data.cohorts.splits import SplitConfig, split_by_patient
from retinavlm.errors import RetinaVLMError
from retinavlm.knowledge import KnowledgeBase


class CohortError(RetinaVLMError):
    """A cohort cannot be trained on. `str()` names the file and the problem."""


@dataclass(frozen=True)
class ScanRecord:
    """One scan and its labels; None (or a biomarker missing from `attributes`) means unknown."""

    id: str
    patient_id: str
    image: Path
    stage: str | None
    referral: str | None
    biomarkers: dict[str, str | None]
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    report: str | None = None
    age: int | None = None
    sex: str | None = None
    condition: str | None = None

    def known(self, biomarker_id: str) -> bool:
        """Whether the biomarker is known present or absent (not unknown, not 'uncertain')."""
        return self.biomarkers.get(biomarker_id) in ("present", "absent")

    def complete(self) -> bool:
        """Every biomarker, the stage and the referral are known (attributes may still be missing)."""
        return self.stage is not None and self.referral is not None and all(map(self.known, self.biomarkers))

    def findings(self) -> dict[str, Any]:
        """The labelled findings as `{id: {"state": ..., attr: value}}`, the form the knowledge-base rules take."""
        return {
            bid: {"state": state, **self.attributes.get(bid, {})}
            for bid, state in self.biomarkers.items()
            if state is not None
        }

    def present(self) -> list[str]:
        return [bid for bid, state in self.biomarkers.items() if state == "present"]

    def absent(self) -> list[str]:
        return [bid for bid, state in self.biomarkers.items() if state == "absent"]


def count_known(records: list[ScanRecord]) -> dict[str, Any]:
    """How many scans have each label kind known: biomarkers per id, stage, referral, attributes, condition."""
    biomarkers: Counter[str] = Counter()
    attributes: Counter[str] = Counter()
    for record in records:
        biomarkers.update(bid for bid in record.biomarkers if record.known(bid))
        attributes.update(f"{bid}.{attr}" for bid, attrs in record.attributes.items() for attr in attrs)
    return {
        "scans": len(records),
        "complete": sum(r.complete() for r in records),
        "stage": sum(r.stage is not None for r in records),
        "referral": sum(r.referral is not None for r in records),
        "condition": sum(r.condition is not None for r in records),
        "biomarkers": dict(sorted(biomarkers.items())),
        "attributes": dict(sorted(attributes.items())),
    }


@dataclass
class CohortSplits:
    train: list[ScanRecord]
    validation: list[ScanRecord]
    test: list[ScanRecord]
    refused: list[str]

    def split(self, name: str) -> list[ScanRecord]:
        return {"train": self.train, "validation": self.validation, "test": self.test}[name]

    @property
    def known(self) -> dict[str, dict[str, Any]]:
        """`count_known` per split: what the summary reports was known per label kind."""
        return {name: count_known(self.split(name)) for name in ("train", "validation", "test")}


def load_splits(cohort: str | os.PathLike, kb: KnowledgeBase, split: SplitConfig) -> CohortSplits:
    """Patient-level train/validation/test splits of a cohort source, as the cohort layer makes them.

    Only unusable rows (unreadable, inconsistent labels) are refused; unknown labels are kept as None.
    """
    try:
        _, rows, _ = read_cohort_source(Path(cohort), kb)
    except CohortSourceError as exc:
        raise CohortError(str(exc)) from None
    refused = [str(p) for p in rows.problems]
    records, groups, strata = [], [], []
    for row in rows.records:
        records.append(
            ScanRecord(
                row.id,
                row.patient_id,
                row.image_path,
                row.stage,
                row.referral,
                dict(row.biomarkers),
                {b: dict(a) for b, a in row.attributes.items()},
                row.report,
                row.age,
                row.sex,
                row.condition,
            )
        )
        groups.append(row.split_group)
        strata.append((row.stage, row.referral, row.condition))
    if not records:
        raise CohortError(f"{cohort}: no usable scans" + (f" ({refused[0]})" if refused else ""))
    # The same grouping and strata as the cohort layer's DatasetDict, so both agree on held-out patients.
    names = split_by_patient(groups, strata, split)
    by_name: dict[str, list[ScanRecord]] = {"train": [], "validation": [], "test": []}  # an empty share stays empty
    for record, name in zip(records, names):
        by_name[name].append(record)
    return CohortSplits(by_name["train"], by_name["validation"], by_name["test"], refused)
