"""The labelled scans a curriculum trains on, read and split by the cohort layer (retinavlm.data.cohorts).

Training needs complete labels: a row whose stage, referral or any biomarker is unknown is refused
with a reason (the batch goes on), never guessed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retinavlm.data.cohorts.build import read_cohort_source
from retinavlm.data.cohorts.sources import CohortSourceError
from retinavlm.data.cohorts.splits import SplitConfig, split_by_patient
from retinavlm.knowledge import KnowledgeBase


class CohortError(ValueError):
    """A cohort cannot be trained on. `str()` names the file and the problem."""


@dataclass(frozen=True)
class ScanRecord:
    id: str
    patient_id: str
    image: Path
    stage: str
    referral: str
    biomarkers: dict[str, str]
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    report: str | None = None
    age: int | None = None
    sex: str | None = None

    def findings(self) -> dict[str, Any]:
        """The `{id: {"state": ..., attr: value}}` form the knowledge-base rules take."""
        return {bid: {"state": state, **self.attributes.get(bid, {})} for bid, state in self.biomarkers.items()}

    def present(self) -> list[str]:
        return [bid for bid, state in self.biomarkers.items() if state == "present"]

    def absent(self) -> list[str]:
        return [bid for bid, state in self.biomarkers.items() if state == "absent"]


@dataclass
class CohortSplits:
    train: list[ScanRecord]
    validation: list[ScanRecord]
    test: list[ScanRecord]
    refused: list[str]

    def split(self, name: str) -> list[ScanRecord]:
        return {"train": self.train, "validation": self.validation, "test": self.test}[name]


def load_splits(cohort: str | os.PathLike, kb: KnowledgeBase, split: SplitConfig) -> CohortSplits:
    """Patient-level train/validation/test splits of a cohort source, as the cohort layer makes them."""
    try:
        _, rows, _ = read_cohort_source(Path(cohort), kb)
    except CohortSourceError as exc:
        raise CohortError(str(exc)) from None
    refused = [str(p) for p in rows.problems]
    records, groups, strata = [], [], []
    for row in rows.records:
        unknown = [bid for bid, state in row.biomarkers.items() if state is None]
        if row.stage is None or row.referral is None or unknown:
            missing = unknown[:1] or [k for k in ("stage", "referral") if getattr(row, k) is None]
            refused.append(f"{row.where}: incomplete labels for training ({missing[0]} unknown)")
            continue
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
            )
        )
        groups.append(row.split_group)
        strata.append((row.stage, row.referral, row.condition))
    if not records:
        raise CohortError(f"{cohort}: no scans with complete labels" + (f" ({refused[0]})" if refused else ""))
    # The same grouping and strata as the cohort layer's DatasetDict, so both agree on held-out patients.
    names = split_by_patient(groups, strata, split)
    by_name: dict[str, list[ScanRecord]] = {"train": [], "validation": [], "test": []}  # an empty share stays empty
    for record, name in zip(records, names):
        by_name[name].append(record)
    return CohortSplits(by_name["train"], by_name["validation"], by_name["test"], refused)
