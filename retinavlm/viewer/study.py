"""A blinded reader study, defined in YAML (see ui/studies/example_study.yaml).

Raters see each case's scan and the reports of all systems in an order drawn per (rater, case) from
the study's seed, labelled "Report A", "Report B", ...; system names are never shown. The order is
deterministic so that a rater who comes back sees the same labels.
"""

from __future__ import annotations

import os
import random
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retinavlm.errors import RetinaVLMError
from retinavlm.viewer.run import Run
from retinavlm.yaml_files import read_yaml_mapping

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KEYS = {"name", "description", "seed", "cases", "systems", "raters", "questions", "comments"}


class StudyError(RetinaVLMError):
    """A study file breaks the schema, or does not fit the run."""


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    scale: tuple[str, ...]  # labels of scores 1..len(scale)

    @property
    def scores(self) -> tuple[int, ...]:
        return tuple(range(1, len(self.scale) + 1))


@dataclass(frozen=True)
class Study:
    name: str
    description: str
    seed: int
    cases: tuple[str, ...] | None  # None: every case of the run
    sample: int | None  # draw this many of the cases (seeded)
    systems: tuple[str, ...] | None  # None: every system of the run
    raters: tuple[str, ...]
    questions: tuple[Question, ...]
    comments: bool
    path: Path

    def case_ids(self, run: Run) -> list[str]:
        """The run's cases this study covers, in a seeded order shared by all raters."""
        ids = [c for c in (self.cases or run.case_ids) if c in run.cases]
        if self.sample is not None:
            ids = sorted(random.Random(f"{self.seed}:cases").sample(ids, min(self.sample, len(ids))), key=ids.index)
        return ids

    def system_names(self, run: Run) -> list[str]:
        return [s for s in (self.systems or run.systems) if s in run.systems]

    def problems(self, run: Run) -> list[str]:
        """Ids the study names that the run lacks (they are left out, not fatal)."""
        out = [f"study case {c!r} is not in the run" for c in self.cases or () if c not in run.cases]
        out += [f"study system {s!r} is not in the run" for s in self.systems or () if s not in run.systems]
        return out


def report_order(study: Study, rater: str, case_id: str, systems: list[str]) -> list[str]:
    """The systems in the order this rater sees them for this case."""
    order = sorted(systems)
    random.Random(f"{study.seed}:{rater}:{case_id}").shuffle(order)
    return order


def report_label(position: int) -> str:
    return f"Report {string.ascii_uppercase[position]}" if position < 26 else f"Report {position + 1}"


def load_study(path: str | os.PathLike) -> Study:
    path = Path(path)
    doc = read_yaml_mapping(path, StudyError, "study file")
    unknown = sorted(set(doc) - _KEYS)
    if unknown:
        raise StudyError(f"{path}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_KEYS))}")
    name = _name(doc.get("name"), path, "name")
    cases, sample = _cases(doc.get("cases", "all"), path)
    raters = tuple(_name(r, path, "rater") for r in _list(doc.get("raters"), path, "raters"))
    if not raters or len(set(raters)) != len(raters):
        raise StudyError(f"{path}: `raters` must be a non-empty list of distinct names")
    questions = tuple(_question(q, path) for q in _list(doc.get("questions"), path, "questions"))
    if not questions or len({q.id for q in questions}) != len(questions):
        raise StudyError(f"{path}: `questions` must be a non-empty list with distinct ids")
    seed = doc.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise StudyError(f"{path}: `seed` must be an integer")
    return Study(
        name=name,
        description=str(doc.get("description") or ""),
        seed=seed,
        cases=cases,
        sample=sample,
        systems=_all_or_names(doc.get("systems", "all"), path, "systems"),
        raters=raters,
        questions=questions,
        comments=bool(doc.get("comments", True)),
        path=path,
    )


def _name(value: Any, path: Path, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise StudyError(f"{path}: {what} {value!r} must be a plain name (letters, digits, . _ -; at most 64)")
    return value


def _list(value: Any, path: Path, what: str) -> list:
    if not isinstance(value, list):
        raise StudyError(f"{path}: `{what}` must be a list")
    return value


def _all_or_names(value: Any, path: Path, what: str) -> tuple[str, ...] | None:
    if value == "all":
        return None
    items = _list(value, path, what)
    if not items or not all(isinstance(v, str) and v for v in items):
        raise StudyError(f"{path}: `{what}` must be 'all' or a non-empty list of names")
    return tuple(dict.fromkeys(items))


def _cases(value: Any, path: Path) -> tuple[tuple[str, ...] | None, int | None]:
    if isinstance(value, dict):
        sample = value.get("sample")
        if set(value) != {"sample"} or not isinstance(sample, int) or isinstance(sample, bool) or sample < 1:
            raise StudyError(f"{path}: `cases` as a mapping must be {{sample: N}} with N >= 1")
        return None, sample
    return _all_or_names(value, path, "cases"), None


def _question(value: Any, path: Path) -> Question:
    if not isinstance(value, dict) or set(value) - {"id", "text", "scale"}:
        raise StudyError(f"{path}: each question must be a mapping with id, text and scale")
    scale = value.get("scale")
    if not isinstance(scale, list) or len(scale) < 2 or not all(isinstance(s, str) and s for s in scale):
        raise StudyError(f"{path}: question {value.get('id')!r}: `scale` must list at least two labels (score 1 first)")
    text = value.get("text")
    if not isinstance(text, str) or not text.strip():
        raise StudyError(f"{path}: question {value.get('id')!r}: `text` must be a non-empty string")
    return Question(_name(value.get("id"), path, "question id"), text.strip(), tuple(scale))
