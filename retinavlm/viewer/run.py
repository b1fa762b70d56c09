"""Load a run folder (docs/RUN_FOLDER.md) tolerantly: every missing or broken part becomes a message,
and everything that can be read is still shown.

Nothing here raises on bad run content; the only errors are a run folder that does not exist and a
`run.json` that is not a JSON object (both are problems of the whole run, reported as `RunError`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retinavlm.errors import RetinaVLMError
from retinavlm.jsonl import read_jsonl
from retinavlm.viewer.paths import AllowedRoots, UnsafePathError

# A system name is also a file name (predictions/<system>.jsonl), so it may not name a path.
_SYSTEM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ +-]{0,99}$")


class RunError(RetinaVLMError):
    """The run folder as a whole cannot be opened."""


@dataclass
class Case:
    """One scan of the run: its reference row, the resolved image (or why there is none)."""

    id: str
    reference: dict[str, Any]
    image: Path | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def biomarkers(self) -> dict[str, str]:
        """Reference biomarker states ({} when the row has none or they are malformed)."""
        value = self.reference.get("biomarkers")
        return value if isinstance(value, dict) else {}


@dataclass
class Run:
    root: Path
    name: str
    meta: dict[str, Any]
    roots: AllowedRoots
    cases: dict[str, Case]
    systems: list[str]
    predictions: dict[str, dict[str, dict[str, Any]]]  # system -> case id -> prediction row
    samples: dict[str, dict[str, dict[str, Any]]]  # system -> case id -> evaluation sample
    results: dict[str, Any] | None
    checkpoint: Path | None
    problems: list[str] = field(default_factory=list)

    @property
    def case_ids(self) -> list[str]:
        return list(self.cases)

    def report(self, system: str, case_id: str) -> str | None:
        row = self.predictions.get(system, {}).get(case_id)
        return row.get("report") if row else None


def load_run(
    run_dir: str | os.PathLike,
    data_roots: Sequence[str | os.PathLike] = (),
    checkpoint: str | os.PathLike | None = None,
) -> Run:
    root = Path(run_dir)
    if not root.is_dir():
        raise RunError(f"{root}: run folder not found")
    roots = AllowedRoots([root, *data_roots])
    problems: list[str] = []
    meta = _read_meta(root, problems)

    references_name = meta.get("references") or "references.jsonl"
    cases = _read_cases(roots, str(references_name), problems)
    systems = _system_names(root, meta, problems)
    predictions = {s: _read_predictions(roots, s, cases, problems) for s in systems}
    samples, results = _read_evaluation(roots, str(meta.get("evaluation") or "evaluation"), systems, problems)
    return Run(
        root=roots.roots[0],
        name=str(meta.get("name") or root.resolve().name),
        meta=meta,
        roots=roots,
        cases=cases,
        systems=systems,
        predictions=predictions,
        samples=samples,
        results=results,
        checkpoint=_checkpoint(roots, meta, checkpoint, problems),
        problems=problems,
    )


def _read_meta(root: Path, problems: list[str]) -> dict[str, Any]:
    path = root / "run.json"
    if not path.is_file():
        problems.append(f"{path}: missing; using the defaults of docs/RUN_FOLDER.md")
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise RunError(f"{path}: expected a JSON object, got {type(meta).__name__}")
    return meta


def _read_rows(roots: AllowedRoots, name: str, what: str, problems: list[str]) -> tuple[Path | None, list[dict]]:
    try:
        path = roots.resolve(name)
    except (UnsafePathError, FileNotFoundError) as exc:
        problems.append(f"{what}: {exc}")
        return None, []
    rows, bad = read_jsonl(path)
    problems.extend(f"{what}: {p}" for p in bad)
    return path, rows


def _read_cases(roots: AllowedRoots, name: str, problems: list[str]) -> dict[str, Case]:
    path, rows = _read_rows(roots, name, "references", problems)
    cases: dict[str, Case] = {}
    for number, row in enumerate(rows, start=1):
        case_id = row.get("id")
        if not isinstance(case_id, str) or not case_id:
            problems.append(f"references: {path.name} row {number} has no string `id`; skipped")
            continue
        if case_id in cases:
            problems.append(f"references: duplicate id {case_id!r}; the first row is kept")
            continue
        case = Case(case_id, row)
        _resolve_image(roots, case)
        cases[case_id] = case
    return cases


def _resolve_image(roots: AllowedRoots, case: Case) -> None:
    image = case.reference.get("image")
    if image is None:
        case.problems.append("no `image` in its reference row")
        return
    if not isinstance(image, str):
        case.problems.append(f"`image` must be a path string, got {type(image).__name__}")
        return
    try:
        path = roots.resolve(image)
    except (UnsafePathError, FileNotFoundError) as exc:
        case.problems.append(f"image {exc}")
        return
    if not path.is_file():
        case.problems.append(f"image {image}: not a file")
        return
    case.image = path


def _system_names(root: Path, meta: dict[str, Any], problems: list[str]) -> list[str]:
    listed = meta.get("systems")
    if listed is None:
        folder = root / "predictions"
        listed = sorted(p.stem for p in folder.glob("*.jsonl")) if folder.is_dir() else []
    if not isinstance(listed, list):
        problems.append("run.json: `systems` must be a list of names; ignored")
        return []
    systems = []
    for name in listed:
        if not isinstance(name, str) or not _SYSTEM_NAME.match(name):
            problems.append(f"run.json: system name {name!r} is not a plain name (letters, digits, . _ + -); ignored")
        elif name not in systems:
            systems.append(name)
    if not systems:
        problems.append("no systems: predictions/ holds no <system>.jsonl")
    return systems


def _read_predictions(roots: AllowedRoots, system: str, cases: dict[str, Case], problems: list[str]) -> dict[str, dict]:
    _, rows = _read_rows(roots, f"predictions/{system}.jsonl", f"system {system}", problems)
    out: dict[str, dict] = {}
    for row in rows:
        case_id, report = row.get("id"), row.get("report")
        if not isinstance(case_id, str) or case_id not in cases:
            problems.append(f"system {system}: prediction for unknown case id {case_id!r}; skipped")
        elif not isinstance(report, str):
            problems.append(f"system {system}: case {case_id}: `report` is not a string; skipped")
        else:
            out[case_id] = row
    return out


def _read_evaluation(roots: AllowedRoots, folder: str, systems: list[str], problems: list[str]):
    samples: dict[str, dict[str, dict]] = {s: {} for s in systems}
    _, rows = _read_rows(roots, f"{folder}/samples.jsonl", "evaluation", problems)
    for row in rows:
        system, case_id = row.get("system") or row.get("model"), row.get("id")
        if system in samples and isinstance(case_id, str):
            samples[system][case_id] = row
    results = None
    try:
        results = json.loads(roots.resolve(f"{folder}/results.json").read_text(encoding="utf-8"))
    except (UnsafePathError, FileNotFoundError):
        pass  # samples.jsonl already said the evaluation is missing
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"evaluation: results.json not readable ({exc})")
    return samples, results if isinstance(results, dict) else None


def _checkpoint(roots: AllowedRoots, meta: dict[str, Any], override, problems: list[str]) -> Path | None:
    if override is not None:
        path = Path(override)
        if not path.is_dir():
            problems.append(f"checkpoint {path}: not a folder; live reports and heat-maps are off")
            return None
        return path.resolve()
    name = meta.get("checkpoint")
    if not name:
        return None
    try:
        return roots.resolve(str(name))
    except (UnsafePathError, FileNotFoundError) as exc:
        problems.append(f"checkpoint {exc}")
        return None
