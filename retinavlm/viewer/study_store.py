"""Reader-study answers in SQLite, written the moment a rater submits (so a study can be resumed).

One row per rating (a rater's judgement of one report: rater, case, system, position shown,
comment, timestamp) and one row per question score of that rating. Rating a report again replaces
the earlier rating. Each submit is one transaction, so a crash never leaves half a rating.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from retinavlm.atomic import write_text
from retinavlm.viewer.study import Study

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY,
    study TEXT NOT NULL,
    rater TEXT NOT NULL,
    case_id TEXT NOT NULL,
    system TEXT NOT NULL,
    position INTEGER NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    rated_at TEXT NOT NULL,
    UNIQUE (study, rater, case_id, system)
);
CREATE TABLE IF NOT EXISTS scores (
    rating_id INTEGER NOT NULL REFERENCES ratings(id) ON DELETE CASCADE,
    question TEXT NOT NULL,
    score INTEGER NOT NULL,
    PRIMARY KEY (rating_id, question)
);
"""
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Rating:
    system: str
    position: int
    scores: Mapping[str, int]
    comment: str = ""


class StudyStore:
    def __init__(self, path: str | os.PathLike, study: Study):
        self.path = Path(path)
        self.study = study
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            with db:  # one transaction: committed on success, rolled back on error
                yield db
        finally:
            db.close()

    def save(self, rater: str, case_id: str, ratings: list[Rating]) -> None:
        """Store a rater's ratings of all reports of one case in one transaction."""
        if rater not in self.study.raters:
            raise ValueError(f"unknown rater {rater!r}; the study's raters are {', '.join(self.study.raters)}")
        questions = {q.id: q for q in self.study.questions}
        for rating in ratings:
            if set(rating.scores) != set(questions):
                raise ValueError(
                    f"a rating needs a score for each of {', '.join(questions)}; got {', '.join(rating.scores)}"
                )
            for qid, score in rating.scores.items():
                if score not in questions[qid].scores:
                    raise ValueError(f"question {qid}: score {score!r} is not one of {questions[qid].scores}")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._connect() as db:
            for rating in ratings:
                db.execute(
                    "DELETE FROM ratings WHERE study = ? AND rater = ? AND case_id = ? AND system = ?",
                    (self.study.name, rater, case_id, rating.system),
                )
                cursor = db.execute(
                    "INSERT INTO ratings (study, rater, case_id, system, position, comment, rated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (self.study.name, rater, case_id, rating.system, rating.position, rating.comment.strip(), now),
                )
                db.executemany(
                    "INSERT INTO scores (rating_id, question, score) VALUES (?, ?, ?)",
                    [(cursor.lastrowid, qid, int(score)) for qid, score in rating.scores.items()],
                )

    def rated_cases(self, rater: str) -> set[str]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT DISTINCT case_id FROM ratings WHERE study = ? AND rater = ?", (self.study.name, rater)
            )
            return {row[0] for row in rows}

    def table(self) -> pd.DataFrame:
        """One row per rating, one column per question, in the order they were given."""
        columns = [
            "study",
            "rater",
            "case_id",
            "system",
            "position",
            *(q.id for q in self.study.questions),
            "comment",
            "rated_at",
        ]
        with self._connect() as db:
            ratings = db.execute(
                "SELECT id, study, rater, case_id, system, position, comment, rated_at FROM ratings WHERE study = ? ORDER BY id",
                (self.study.name,),
            ).fetchall()
            scores = db.execute(
                "SELECT rating_id, question, score FROM scores JOIN ratings ON ratings.id = scores.rating_id WHERE study = ?",
                (self.study.name,),
            ).fetchall()
        by_rating: dict[int, dict[str, int]] = {}
        for rating_id, question, score in scores:
            by_rating.setdefault(rating_id, {})[question] = score
        rows = [
            {
                "study": s,
                "rater": r,
                "case_id": c,
                "system": y,
                "position": p,
                **by_rating.get(i, {}),
                "comment": m,
                "rated_at": t,
            }
            for i, s, r, c, y, p, m, t in ratings
        ]
        return pd.DataFrame(rows, columns=columns)

    def csv_text(self) -> str:
        """The table as CSV; comments that a spreadsheet would run as a formula are quoted with a leading '."""
        table = self.table()
        table["comment"] = [f"'{c}" if c[:1] in _FORMULA_STARTS else c for c in table["comment"]]
        buffer = io.StringIO()
        table.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL)
        return buffer.getvalue()

    def export_csv(self, path: str | os.PathLike) -> Path:
        write_text(path, self.csv_text())
        return Path(path)
