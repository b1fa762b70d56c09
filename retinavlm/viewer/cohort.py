"""The cohort table: one row per (case, system) with the reference, what the report states, and its score.

Stage, referral and biomarker states of a report come from the grader's findings extraction
(retinavlm.evaluation.extract), never from a second reading of the text, so the viewer shows exactly
what the evaluation graded.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from retinavlm.evaluation.extract import Extraction, FindingsExtractor
from retinavlm.viewer.run import Run
from retinavlm.viewer.scores import sample_criteria, sample_score

COLUMNS = (
    "case",
    "system",
    "reference stage",
    "reference referral",
    "stage",
    "referral",
    "score",
    "stage agrees",
    "referral agrees",
    "problems",
)


def extract_reports(run: Run, extractor: FindingsExtractor) -> dict[str, dict[str, Extraction]]:
    """system -> case id -> extraction of that system's report."""
    return {
        system: {case_id: extractor.extract(row["report"]) for case_id, row in rows.items()}
        for system, rows in run.predictions.items()
    }


def case_table(run: Run, extractions: dict[str, dict[str, Extraction]]) -> pd.DataFrame:
    rows = []
    for case in run.cases.values():
        ref = case.reference
        for system in run.systems:
            extraction = extractions.get(system, {}).get(case.id)
            labels = extraction.labels() if extraction else {"stage": None, "referral": None}
            problems = list(case.problems)
            if extraction is None:
                problems.append(f"no report from {system}")
            rows.append(
                {
                    "case": case.id,
                    "system": system,
                    "reference stage": ref.get("stage"),
                    "reference referral": ref.get("referral"),
                    "stage": labels["stage"],
                    "referral": labels["referral"],
                    "score": sample_score(run.samples.get(system, {}).get(case.id)),
                    "stage agrees": _agrees(ref.get("stage"), labels["stage"], extraction),
                    "referral agrees": _agrees(ref.get("referral"), labels["referral"], extraction),
                    "problems": "; ".join(problems),
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _agrees(reference, stated, extraction) -> bool | None:
    if extraction is None or reference is None:
        return None
    return reference == stated


@dataclass
class CaseFilter:
    """What the cohort page's sidebar asks for; empty selections mean 'all'."""

    stages: tuple[str, ...] = ()
    referrals: tuple[str, ...] = ()
    disagreement_only: bool = False
    score_range: tuple[float, float] | None = None

    def apply(self, table: pd.DataFrame) -> pd.DataFrame:
        keep = pd.Series(True, index=table.index)
        if self.stages:
            keep &= table["reference stage"].isin(self.stages)
        if self.referrals:
            keep &= table["reference referral"].isin(self.referrals)
        if self.disagreement_only:
            keep &= (table["stage agrees"] == False) | (table["referral agrees"] == False)  # noqa: E712 (None stays out)
        if self.score_range is not None:
            low, high = self.score_range
            keep &= table["score"].between(low, high)
        return table[keep]


def criterion_scores(run: Run) -> pd.DataFrame:
    """Long table of rubric criterion scores: system, case, criterion, score."""
    rows = [
        {"system": system, "case": case_id, "criterion": c.name, "score": c.score}
        for system, samples in run.samples.items()
        for case_id, sample in samples.items()
        for c in sample_criteria(sample)
        if c.score is not None
    ]
    return pd.DataFrame(rows, columns=["system", "case", "criterion", "score"])
