"""Extraction accuracy on the grader validation set (eval/validation/reports.jsonl): reports written
in varied clinical styles with labels of what each one asserts.

    python -m retinavlm.evaluation.validation [--split dev|heldout] [--errors]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from retinavlm.evaluation.extract import FindingsExtractor
from retinavlm.jsonl import read_jsonl
from retinavlm.resources import eval_dir


def default_validation_path() -> Path:
    return eval_dir() / "validation" / "reports.jsonl"


@dataclass
class ValidationResult:
    reports: int = 0
    stage_correct: int = 0
    referral_correct: int = 0
    biomarkers_labelled: int = 0
    biomarkers_correct: int = 0
    spurious_mentions: int = 0  # extracted for a biomarker the report does not mention
    errors: list[dict] = field(default_factory=list)

    def accuracy(self) -> dict[str, float]:
        return {
            "stage": self.stage_correct / self.reports if self.reports else 0.0,
            "referral": self.referral_correct / self.reports if self.reports else 0.0,
            "biomarker_state": self.biomarkers_correct / self.biomarkers_labelled if self.biomarkers_labelled else 0.0,
        }

    def summary(self) -> dict:
        return {
            "reports": self.reports,
            "accuracy": {k: round(v, 4) for k, v in self.accuracy().items()},
            "biomarker_mentions_labelled": self.biomarkers_labelled,
            "spurious_biomarker_mentions": self.spurious_mentions,
        }


def score(rows: Iterable[dict], read: Callable[[str], dict]) -> ValidationResult:
    """Compare what `read` (report -> labels) makes of each validation report with its labels."""
    result = ValidationResult()
    for row in rows:
        expected = row["labels"]
        got = read(row["report"])
        result.reports += 1
        problems = []
        for key, counter in (("stage", "stage_correct"), ("referral", "referral_correct")):
            if got[key] == expected[key]:
                setattr(result, counter, getattr(result, counter) + 1)
            else:
                problems.append(f"{key}: expected {expected[key]}, got {got[key]}")
        for bid, state in expected["biomarkers"].items():
            result.biomarkers_labelled += 1
            if got["biomarkers"].get(bid) == state:
                result.biomarkers_correct += 1
            else:
                problems.append(f"{bid}: expected {state}, got {got['biomarkers'].get(bid)}")
        for bid in sorted(set(got["biomarkers"]) - set(expected["biomarkers"])):
            result.spurious_mentions += 1
            problems.append(f"{bid}: not mentioned, got {got['biomarkers'][bid]}")
        if problems:
            result.errors.append({"id": row["id"], "problems": problems, "report": row["report"]})
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Extraction accuracy on the grader validation set.")
    parser.add_argument("--path", type=Path, default=default_validation_path())
    parser.add_argument("--split", default="all", help="dev, heldout, blind, ... or all (every split in the file)")
    parser.add_argument("--errors", action="store_true", help="print each report with an extraction error")
    args = parser.parse_args(argv)
    rows, problems = read_jsonl(args.path)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 2
    extractor = FindingsExtractor()
    splits = sorted({str(r.get("split")) for r in rows}) if args.split == "all" else [args.split]
    out = {}
    for split in splits:
        result = score([r for r in rows if r.get("split") == split], lambda text: extractor.extract(text).labels())
        out[split] = result.summary()
        if args.errors:
            for error in result.errors:
                print(json.dumps(error, ensure_ascii=False), file=sys.stderr)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
