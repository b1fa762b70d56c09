"""JSON Lines reading that reports malformed lines by number instead of failing or skipping silently."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class JsonlProblem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict | None, JsonlProblem | None]]:
    """Yield (line number, object, None) for each good line and (line number, None, problem) for bad ones.

    Blank lines are skipped. A line must hold a JSON object.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, None, JsonlProblem(str(path), number, f"not UTF-8 ({exc.reason})")
                continue
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, None, JsonlProblem(str(path), number, f"malformed JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                yield number, None, JsonlProblem(str(path), number, f"expected a JSON object, got {type(obj).__name__}")
                continue
            yield number, obj, None


def read_jsonl(path: str | os.PathLike) -> tuple[list[dict], list[JsonlProblem]]:
    rows: list[dict] = []
    problems: list[JsonlProblem] = []
    for _, obj, problem in iter_jsonl(path):
        if problem is not None:
            problems.append(problem)
        else:
            rows.append(obj)
    return rows, problems
