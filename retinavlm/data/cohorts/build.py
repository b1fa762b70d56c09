"""Turn a cohort source into a patient-split `datasets.DatasetDict` saved to disk, atomically.

Images are read with `retinavlm.data.io.read_scan`, so an unreadable or non-image file is
reported and skipped like any other bad row. Their bytes are embedded in the Arrow files: the
saved dataset is self-contained and loads offline with `datasets.load_from_disk`, wherever the
source folder has gone. An 8-bit greyscale PNG or JPEG is stored as its original bytes (no
re-encoding loss, no growth: a JPEG stays a JPEG); anything else (TIFF, DICOM, 16-bit, colour,
vendor volumes) as a lossless PNG of the grey pixels `read_scan` returns (16-bit when deeper
than 8 bits), so decoding the column gives what the reader gave.
"""

from __future__ import annotations

import datetime
import os
import platform
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import PIL.Image
from datasets import Dataset, DatasetDict, Features, Image, Json, Value

from retinavlm import __version__
from retinavlm.atomic import atomic_dir, write_json
from retinavlm.data.cohorts.label_map import LabelMap, load_label_map
from retinavlm.data.cohorts.records import CohortRecord, RowProblem
from retinavlm.data.cohorts.sources import (
    KINDS,
    CohortSourceError,
    SourceRows,
    detect_kind,
    read_kermany,
    read_manifest,
    read_synthetic,
)
from retinavlm.data.cohorts.splits import SplitConfig, split_by_patient
from retinavlm.data.io import read_scan, sniff_format
from retinavlm.data.scan import Scan, ScanReadError
from retinavlm.errors import RetinaVLMError
from retinavlm.knowledge import KnowledgeBase

BUILD_RECORD = "cohort.json"
_SCALAR_COLUMNS = ("eye", "visit", "domain", "age", "sex", "condition", "stage", "referral")
_INT_COLUMNS = ("visit", "age")


@dataclass
class BuildReport:
    """What was built: written to `cohort.json` beside the splits and printed by the CLI."""

    kind: str
    source: str
    knowledge: str
    label_map: str | None
    split: SplitConfig
    scans: int = 0
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "versions": {
                "retinavlm": __version__,
                "datasets": datasets.__version__,
                "python": platform.python_version(),
            },
        }


def read_cohort_source(
    source: str | os.PathLike,
    kb: KnowledgeBase,
    kind: str | None = None,
    label_map: str | os.PathLike | None = None,
) -> tuple[str, SourceRows, LabelMap | None]:
    """Read and validate the rows of a source; `kind` None detects it from the path."""
    source = Path(source)
    if kind is not None and kind not in KINDS:
        raise CohortSourceError(f"unknown cohort kind {kind!r}; expected one of {', '.join(KINDS)}")
    kind = kind or detect_kind(source)
    if kind == "synthetic":
        return kind, read_synthetic(source, kb), None
    if kind == "manifest":
        return kind, read_manifest(source, kb), None
    labels = load_label_map(label_map, kb)
    return kind, read_kermany(source, labels, kb), labels


def cohort_features(kb: KnowledgeBase) -> Features:
    """The dataset schema (see the package docstring): one string column per biomarker id."""
    columns: dict[str, Any] = {
        "id": Value("string"),
        "patient_id": Value("string"),
        "split_group": Value("string"),
        "image": Image(),
    }
    columns.update({name: Value("int32" if name in _INT_COLUMNS else "string") for name in _SCALAR_COLUMNS})
    clashes = [bid for bid in kb.biomarker_ids if bid in columns or bid in ("attributes", "report", "source")]
    if clashes:
        raise CohortSourceError(f"{kb.path}: biomarker id(s) {', '.join(clashes)} clash with dataset column names")
    columns.update({bid: Value("string") for bid in kb.biomarker_ids})
    columns.update({"attributes": Json(), "report": Value("string"), "source": Value("string")})
    return Features(columns)


def write_cohort(
    rows: SourceRows,
    out: str | os.PathLike,
    *,
    kind: str,
    source: str | os.PathLike,
    kb: KnowledgeBase,
    split: SplitConfig = SplitConfig(),
    label_map: LabelMap | None = None,
) -> BuildReport:
    """Read the images, split by patient and save the DatasetDict at `out` (replaced atomically).

    Unreadable images are added to `rows.problems` and to the report, and skipped.
    """
    report = BuildReport(kind, str(source), kb.version_tag, str(label_map.path) if label_map else None, split)
    _check_replaceable(Path(out), Path(source))
    if not rows.records:
        raise CohortSourceError(f"{source}: no usable rows to build a dataset from")
    read = 0

    def generate() -> Iterator[dict[str, Any]]:
        nonlocal read
        for record in rows.records:
            try:
                image = image_for_dataset(record.image_path)
            except ScanReadError as exc:
                rows.problems.append(RowProblem(record.where, str(exc)))
                continue
            read += 1
            yield _row(record, image, kb)

    with atomic_dir(out) as folder, tempfile.TemporaryDirectory(dir=folder.parent, prefix=".cohort-cache.") as cache:
        try:
            full = Dataset.from_generator(
                generate, features=cohort_features(kb), cache_dir=cache, fingerprint=uuid.uuid4().hex
            )
        except ValueError:
            if read == 0:  # datasets refuses a dataset with no rows
                raise CohortSourceError(f"{source}: none of the {len(rows.records)} images could be read") from None
            raise
        labels = full.select_columns(["split_group", "stage", "referral", "condition"]).to_list()
        try:
            names = split_by_patient(
                [row["split_group"] for row in labels],
                [(row["stage"], row["referral"], row["condition"]) for row in labels],
                split,
            )
        except RetinaVLMError as exc:  # too few patients for the folds asked for
            raise CohortSourceError(f"{source}: {exc}") from None
        splits = DatasetDict(
            {name: full.select([i for i, n in enumerate(names) if n == name]) for name in split.fractions}
        )
        report.scans = len(full)
        report.splits = {
            name: _summary(ds.select_columns(["patient_id", "stage", "referral"]).to_list())
            for name, ds in splits.items()
        }
        report.problems = [str(p) for p in rows.problems]
        report.notes = list(rows.notes)
        # datasets writes no shard for an empty split and then cannot load it; one empty shard can.
        splits.save_to_disk(str(folder), num_shards={name: 1 for name, ds in splits.items() if len(ds) == 0})
        write_json(folder / BUILD_RECORD, report.to_json())
    return report


def _check_replaceable(out: Path, source: Path) -> None:
    """Refuse to replace the source, a folder holding it, or a non-empty folder that is not a cohort dataset."""
    out, source = out.resolve(), source.resolve()
    if out == source or out in source.parents:
        raise CohortSourceError(f"{out}: --out would replace the source {source}; choose another folder")
    if out.is_file() or (out.is_dir() and any(out.iterdir()) and not (out / BUILD_RECORD).is_file()):
        raise CohortSourceError(
            f"{out}: exists and is not a cohort dataset (no {BUILD_RECORD}); refusing to replace it"
        )


def image_for_dataset(path: Path) -> dict[str, Any]:
    """The `image` cell: original bytes for 8-bit grey PNG/JPEG, else a lossless PNG of the read pixels."""
    scan = read_scan(path)
    if (
        scan.bit_depth == 8
        and scan.original_mode == "L"
        and scan.n_frames == 1
        and sniff_format(path) in ("png", "jpeg")
    ):
        return {"bytes": path.read_bytes(), "path": path.name}
    return {"bytes": _png_bytes(scan), "path": f"{path.stem}.png"}


def _png_bytes(scan: Scan) -> bytes:
    samples = scan.to_uint8() if scan.bit_depth <= 8 else np.rint(scan.pixels * 65535.0).astype(np.uint16)
    buffer = BytesIO()
    PIL.Image.fromarray(samples).save(buffer, format="PNG")
    return buffer.getvalue()


def _row(record: CohortRecord, image: dict[str, Any], kb: KnowledgeBase) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": record.id,
        "patient_id": record.patient_id,
        "split_group": record.split_group,
        "image": image,
    }
    row.update({name: getattr(record, name) for name in _SCALAR_COLUMNS})
    row.update({bid: record.biomarkers.get(bid) for bid in kb.biomarker_ids})
    row.update({"attributes": record.attributes, "report": record.report, "source": record.source})
    return row


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def counts(key: str) -> dict[str, int]:
        return dict(sorted(Counter(row[key] or "unknown" for row in rows).items()))

    return {
        "scans": len(rows),
        "patients": len({row["patient_id"] for row in rows}),
        "stages": counts("stage"),
        "referrals": counts("referral"),
    }
