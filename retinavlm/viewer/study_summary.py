"""Reader-study results: scores per system, and how far raters agree (quadratic weighted kappa).

Agreement is Cohen's kappa with quadratic weights (scikit-learn) for each pair of raters over the
reports both rated, per question: on an ordinal Likert scale a 4 against a 5 is a smaller
disagreement than a 1 against a 5, which unweighted kappa would ignore.
"""

from __future__ import annotations

import itertools
import math

import pandas as pd
from sklearn.metrics import cohen_kappa_score

from retinavlm.viewer.study import Study


def per_system(table: pd.DataFrame, study: Study) -> pd.DataFrame:
    """system, question, ratings, mean, sd, median."""
    rows = []
    for system, group in table.groupby("system", sort=True):
        for q in study.questions:
            scores = group[q.id].dropna().astype(float)
            rows.append(
                {
                    "system": system,
                    "question": q.id,
                    "ratings": int(scores.size),
                    "mean": scores.mean() if scores.size else math.nan,
                    "sd": scores.std(ddof=1) if scores.size > 1 else math.nan,
                    "median": scores.median() if scores.size else math.nan,
                }
            )
    return pd.DataFrame(rows, columns=["system", "question", "ratings", "mean", "sd", "median"])


def agreement(table: pd.DataFrame, study: Study) -> pd.DataFrame:
    """question, rater_a, rater_b, shared (reports both rated), kappa (NaN when it is undefined)."""
    rows = []
    for q in study.questions:
        for a, b in itertools.combinations(study.raters, 2):
            left = table[table["rater"] == a].set_index(["case_id", "system"])[q.id]
            right = table[table["rater"] == b].set_index(["case_id", "system"])[q.id]
            both = pd.concat([left, right], axis=1, join="inner").dropna()
            kappa = math.nan
            if len(both) >= 2:
                x, y = both.iloc[:, 0].astype(int), both.iloc[:, 1].astype(int)
                kappa = float(cohen_kappa_score(x, y, weights="quadratic", labels=list(q.scores)))
            rows.append({"question": q.id, "rater_a": a, "rater_b": b, "shared": len(both), "kappa": kappa})
    return pd.DataFrame(rows, columns=["question", "rater_a", "rater_b", "shared", "kappa"])
