"""Read a cohort's rows from its source: a synthetic cohort folder, a manifest, or class folders.

Bad rows are skipped and reported (RowProblem, naming the file and line), never fatal: one
wrong row in a thousand should not stop a build, and it must not pass silently either. Whole-
source problems (no manifest, unreadable label map, a manifest without required columns) are
fatal `CohortSourceError`s.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retinavlm.data.cohorts.label_map import LabelMap
from retinavlm.data.cohorts.records import CohortRecord, RowError, RowProblem, record_from_mapping
from retinavlm.errors import RetinaVLMError
from retinavlm.jsonl import iter_jsonl
from retinavlm.knowledge import KnowledgeBase

KINDS = ("synthetic", "manifest", "kermany")
SYNTHETIC_REFERENCES = "references.jsonl"
KERMANY_MANIFEST = "manifest.csv"
# Row keys (JSONL; a CSV has one column per biomarker id and `<id>_<attribute>` columns instead
# of the biomarkers and attributes objects).
MANIFEST_KEYS = (
    "id",
    "patient_id",
    "image",
    "patient_group",
    "eye",
    "visit",
    "domain",
    "age",
    "sex",
    "condition",
    "stage",
    "referral",
    "biomarkers",
    "attributes",
    "report",
)
CSV_STATES = {
    "present": "present",
    "absent": "absent",
    "uncertain": "uncertain",
    "1": "present",
    "0": "absent",
    "": None,
}


class CohortSourceError(RetinaVLMError):
    """The source as a whole cannot be read; one line naming it and the problem."""


@dataclass
class SourceRows:
    """What a source gave: the usable records, the skipped rows, and notes worth a warning."""

    records: list[CohortRecord] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def detect_kind(source: Path) -> str:
    """A file is a manifest, a folder with references.jsonl a synthetic cohort, other folders class folders."""
    if source.is_file():
        return "manifest"
    if not source.is_dir():
        raise CohortSourceError(f"{source}: no such file or folder")
    return "synthetic" if (source / SYNTHETIC_REFERENCES).is_file() else "kermany"


def read_synthetic(folder: Path, kb: KnowledgeBase) -> SourceRows:
    """A `retinavlm synth` cohort: its references.jsonl is a JSONL manifest."""
    path = folder / SYNTHETIC_REFERENCES
    if not path.is_file():
        raise CohortSourceError(f"{folder}: not a synthetic cohort folder ({SYNTHETIC_REFERENCES} not found)")
    return read_manifest(path, kb)


def read_manifest(path: Path, kb: KnowledgeBase) -> SourceRows:
    """A CSV or JSONL manifest; image paths are relative to the manifest's folder."""
    if not path.is_file():
        raise CohortSourceError(f"{path}: manifest not found")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(path, kb)
    elif suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(path)
    else:
        raise CohortSourceError(f"{path}: unknown manifest format {suffix!r}; expected .csv or .jsonl")
    out = SourceRows()
    ignored: set[str] = set()
    for where, raw, problem in rows:
        if problem is not None:
            out.problems.append(problem)
            continue
        ignored.update(set(raw) - set(MANIFEST_KEYS))
        _add_record(out, raw, path.parent, where, kb)
    if ignored:
        out.notes.append(f"{path}: ignored unknown column(s)/key(s): {', '.join(sorted(ignored))}")
    return _without_duplicates(out)


def read_kermany(folder: Path, label_map: LabelMap, kb: KnowledgeBase) -> SourceRows:
    """Class folders of CLASS-PATIENT-N images, cross-checked with manifest.csv when present."""
    if not folder.is_dir():
        raise CohortSourceError(f"{folder}: no such folder")
    out = SourceRows()
    listed = _kermany_manifest(folder / KERMANY_MANIFEST)
    seen: set[str] = set()
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(p for p in class_dir.iterdir() if p.is_file() and not p.name.startswith("."))
        seen.update(image.relative_to(folder).as_posix() for image in files)
        labels = label_map.classes.get(class_dir.name)
        if labels is None:
            out.problems.append(
                RowProblem(
                    str(class_dir),
                    f"class {class_dir.name!r} is not in {label_map.path}; its {len(files)} file(s) skipped",
                )
            )
            continue
        for image in files:
            relative = image.relative_to(folder).as_posix()
            try:
                raw = _kermany_row(image, relative, class_dir.name, label_map, listed)
            except RowError as exc:
                out.problems.append(RowProblem(str(image), str(exc)))
                continue
            raw.update(
                biomarkers=labels.biomarkers,
                attributes=labels.attributes,
                condition=labels.condition,
                stage=labels.stage,
                referral=labels.referral,
            )
            _add_record(out, raw, folder, str(image), kb)
    if listed is not None:
        for relative, entry in listed.items():
            if relative not in seen:
                out.problems.append(
                    RowProblem(f"{folder / KERMANY_MANIFEST}:{entry['line']}", f"listed file {relative} not found")
                )
    if not out.records and not out.problems:
        raise CohortSourceError(f"{folder}: no class folders with images found (and no {SYNTHETIC_REFERENCES})")
    return _without_duplicates(out)


def _kermany_row(
    image: Path, relative: str, class_name: str, label_map: LabelMap, listed: dict | None
) -> dict[str, Any]:
    match = label_map.file_pattern.match(image.name)
    if match is None:
        raise RowError(
            f"file name does not match the pattern of {label_map.path.name} ({label_map.file_pattern.pattern})"
        )
    if match["label"] != class_name:
        raise RowError(f"file name says class {match['label']!r} but the file is in folder {class_name!r}")
    patient_id = match["patient"]
    group = patient_id
    if listed is not None:
        entry = listed.get(relative)
        if entry is None:
            raise RowError(f"not listed in {KERMANY_MANIFEST}")
        for key, expected in (("label", class_name), ("patient_id", patient_id)):
            if entry[key] != expected:
                raise RowError(
                    f"{key} {expected!r} from the path disagrees with {KERMANY_MANIFEST} line {entry['line']} ({entry[key]!r})"
                )
        if entry.get("sha256") and hashlib.sha256(image.read_bytes()).hexdigest() != entry["sha256"]:
            raise RowError(
                f"sha256 differs from {KERMANY_MANIFEST} line {entry['line']}: the file was changed or truncated"
            )
        group = entry.get("patient_group") or patient_id
    return {"id": image.stem, "patient_id": patient_id, "patient_group": group, "image": relative}


def _kermany_manifest(path: Path) -> dict[str, dict[str, Any]] | None:
    """file -> {label, patient_id, sha256?, patient_group?, line}, or None when there is no manifest."""
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "label", "patient_id"} - set(reader.fieldnames or ())
        if missing:
            raise CohortSourceError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return {row["file"]: {**row, "line": reader.line_num} for row in reader}


def _add_record(out: SourceRows, raw: Mapping[str, Any], folder: Path, where: str, kb: KnowledgeBase) -> None:
    try:
        out.records.append(record_from_mapping(raw, folder, where, kb))
    except RowError as exc:
        out.problems.append(RowProblem(where, str(exc)))


def _without_duplicates(out: SourceRows) -> SourceRows:
    first: dict[str, str] = {}
    kept = []
    for record in out.records:
        if record.id in first:
            out.problems.append(
                RowProblem(record.where, f"duplicate id {record.id!r} (first at {first[record.id]}); row skipped")
            )
            continue
        first[record.id] = record.where
        kept.append(record)
    out.records = kept
    return out


RawRows = Iterator[tuple[str, dict[str, Any] | None, RowProblem | None]]


def _jsonl_rows(path: Path) -> RawRows:
    for number, obj, problem in iter_jsonl(path):
        where = f"{path}:{number}"
        yield where, obj, None if problem is None else RowProblem(where, problem.message)


def _csv_rows(path: Path, kb: KnowledgeBase) -> RawRows:
    """CSV rows reshaped like JSONL: one column per biomarker id, `<id>_<attribute>` columns."""
    attribute_columns = {f"{bid}_{name}": (bid, name) for bid, m in kb.biomarkers.items() for name in m.attributes}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if None in row:
                    yield where, None, RowProblem(where, f"{len(row[None])} more field(s) than the header has columns")
                    continue
                try:
                    yield where, _reshape_csv_row(row, kb, attribute_columns), None
                except RowError as exc:
                    yield where, None, RowProblem(where, str(exc))
    except UnicodeDecodeError as exc:
        raise CohortSourceError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise CohortSourceError(f"{path}: malformed CSV ({exc})") from None


def _reshape_csv_row(row: dict[str, str | None], kb: KnowledgeBase, attribute_columns: dict) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    biomarkers: dict[str, str | None] = {}
    attributes: dict[str, dict[str, str]] = {}
    for column, value in row.items():
        value = (value or "").strip()
        if column in kb.biomarkers:
            if value.lower() not in CSV_STATES:
                raise RowError(f"column {column}: {value!r} is not present/absent/uncertain, 1/0, or empty for unknown")
            biomarkers[column] = CSV_STATES[value.lower()]
        elif column in attribute_columns:
            if value:
                bid, name = attribute_columns[column]
                attributes.setdefault(bid, {})[name] = value
        else:
            raw[column] = value or None
    return {**raw, "biomarkers": biomarkers, "attributes": attributes}
