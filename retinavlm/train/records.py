"""The labelled scans a curriculum trains on, read and split by the cohort layer (retinavlm.data.cohorts).

Real cohorts are partially labelled (a diagnosis, a few findings, a referral decision), so any biomarker,
attribute, stage or referral may be unknown (None). A scan is kept whatever it lacks: each objective uses
what is known and never treats an unknown as a fact. `CohortSplits.known` counts what was known per label
kind, for the training summary.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from retinavlm.data.cohorts.build import read_cohort_source
from retinavlm.data.cohorts.sources import CohortSourceError
from retinavlm.data.cohorts.splits import SplitConfig, split_by_patient
from retinavlm.errors import RetinaVLMError
from retinavlm.knowledge import KnowledgeBase
from retinavlm.train.config import Data, cohort_entries, cohort_names


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
    """Patient-level splits of one or more cohorts; `cohort_of` and `cohort_weights` say who draws how much."""

    train: list[ScanRecord]
    validation: list[ScanRecord]
    test: list[ScanRecord]
    refused: list[str]
    cohort_of: dict[str, str] = field(default_factory=dict)  # scan id -> cohort name
    cohort_weights: dict[str, float] = field(default_factory=dict)  # cohort name -> relative share of draws

    def split(self, name: str) -> list[ScanRecord]:
        return {"train": self.train, "validation": self.validation, "test": self.test}[name]

    def sampling_weights(self, records: list[ScanRecord]) -> np.ndarray:
        """Per-scan draw weights (mean 1): a cohort's weight is shared equally by its scans among `records`, so
        its share of the draws is its weight over the total whatever its size (or how many scans were dropped).
        One cohort gives all ones."""
        if not self.cohort_weights:
            return np.ones(len(records))
        names = [self.cohort_of[record.id] for record in records]
        sizes = Counter(names)
        total = sum(self.cohort_weights[name] for name in sizes)
        return np.array([self.cohort_weights[name] / total * len(records) / sizes[name] for name in names])

    @property
    def train_weights(self) -> np.ndarray:
        return self.sampling_weights(self.train)

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
    try:
        names = split_by_patient(groups, strata, split)
    except RetinaVLMError as exc:  # too few patients for the folds asked for
        raise CohortError(f"{cohort}: {exc}") from None
    by_name: dict[str, list[ScanRecord]] = {"train": [], "validation": [], "test": []}  # an empty share stays empty
    for record, name in zip(records, names):
        if name in by_name:  # with folds, the real test patients are set aside
            by_name[name].append(record)
    return CohortSplits(by_name["train"], by_name["validation"], by_name["test"], refused)


def load_cohorts(data: Data, kb: KnowledgeBase) -> CohortSplits:
    """The splits a stage trains on: each cohort of `data.cohort` split by patient on its own (the same
    SplitConfig, folds included), capped at `data.max_train_scans` training scans per cohort, and merged with its weight.

    A later cohort whose scan ids clash with an earlier one's gets its ids (and patient ids) prefixed
    with its name ("kermany:CNV-1-1"), so every id stays unique.
    """
    entries = cohort_entries(data)
    if not entries:
        raise CohortError("data.cohort: no cohort folder given")
    split = SplitConfig(data.validation_fraction, data.test_fraction, data.split_seed, data.folds, data.fold)
    merged = CohortSplits([], [], [], [])
    for entry, name in zip(entries, cohort_names(entries)):
        part = load_splits(entry.path, kb, split)
        if data.max_train_scans:
            part.train = part.train[: data.max_train_scans]
        parts = {key: part.split(key) for key in ("train", "validation", "test")}
        if any(record.id in merged.cohort_of for records in parts.values() for record in records):
            parts = {key: [_prefixed(record, name) for record in records] for key, records in parts.items()}
        for key, records in parts.items():
            clash = next((record.id for record in records if record.id in merged.cohort_of), None)
            if clash is not None:
                raise CohortError(f"{entry.path}: scan id {clash!r} is also in an earlier cohort; rename the cohort")
            merged.split(key).extend(records)
            merged.cohort_of.update(dict.fromkeys((record.id for record in records), name))
        merged.refused += part.refused
        merged.cohort_weights[name] = entry.weight
    return merged


def _prefixed(record: ScanRecord, name: str) -> ScanRecord:
    return dataclasses.replace(record, id=f"{name}:{record.id}", patient_id=f"{name}:{record.patient_id}")
