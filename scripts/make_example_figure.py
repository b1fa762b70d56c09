"""Render the README's example figure from a demo run folder: one held-out scan, the report the model
wrote for it, the reference labels, and the rubric's score and explanation per criterion.

The case is picked by a fixed rule, not by hand: the first test scan (in references.jsonl order) of
the requested reference stage. Every value shown is read from the run folder's files.

    python scripts/make_example_figure.py runs/demo --stage intermediate --out docs/images/example_report.png
"""

from __future__ import annotations

import argparse
import io
import sys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from retinavlm.atomic import write_bytes
from retinavlm.data.io import read_scan
from retinavlm.demo import MODEL_SYSTEM
from retinavlm.jsonl import read_jsonl


def pick_case(run: Path, stage: str, case_id: str | None) -> dict:
    references, _ = read_jsonl(run / "references.jsonl")
    for row in references:
        if row["id"] == case_id or (case_id is None and row.get("stage") == stage):
            return row
    raise SystemExit(
        f"error: {run / 'references.jsonl'}: no test scan " + (f"with id {case_id}" if case_id else f"of stage {stage}")
    )


def sample_of(run: Path, system: str, case_id: str) -> dict:
    rows, _ = read_jsonl(run / "evaluation" / "samples.jsonl")
    for row in rows:
        if row["system"] == system and row["id"] == case_id:
            return row
    raise SystemExit(f"error: {run / 'evaluation' / 'samples.jsonl'}: no {system} sample for {case_id}")


def report_of(run: Path, system: str, case_id: str) -> str:
    rows, _ = read_jsonl(run / "predictions" / f"{system}.jsonl")
    return next(r["report"] for r in rows if r["id"] == case_id)


def _score(value: float | None) -> str:
    return " n/a" if value is None else f"{value:.2f}"


def render(run: Path, case: dict, system: str) -> bytes:
    scan = read_scan(run / case["image"])
    sample = sample_of(run, system, case["id"])
    present = [b for b, state in case["biomarkers"].items() if state == "present"] or ["none"]
    criteria = "\n".join(
        f"{name:<13} {_score(s['score'])}  {textwrap.shorten(s['explanation'], 70)}"
        for name, s in sample["scores"].items()
    )
    text = (
        f"Generated report ({system}):\n{textwrap.fill(report_of(run, system, case['id']), 78)}\n\n"
        f"Reference: stage {case['stage']}, referral {case['referral']}; present: {', '.join(present)}\n\n"
        f"Rubric score {sample['total']:.2f}  (criterion, score, explanation)\n{criteria}"
    )
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.4), gridspec_kw={"width_ratios": [1, 1.25]})
    left.imshow(scan.pixels, cmap="gray", vmin=0, vmax=1, aspect="auto")
    left.set_title(f"{case['id']} (held-out test patient)", fontsize=10)
    left.axis("off")
    right.axis("off")
    right.text(0, 1, text, va="top", ha="left", family="monospace", fontsize=8.2, transform=right.transAxes)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a demo run folder")
    parser.add_argument(
        "--stage", default="intermediate", help="reference stage of the case to show (default: intermediate)"
    )
    parser.add_argument("--id", help="show this case instead")
    parser.add_argument("--system", default=MODEL_SYSTEM, help="whose report to show (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("docs/images/example_report.png"))
    args = parser.parse_args(argv)
    case = pick_case(args.run, args.stage, args.id)
    write_bytes(args.out, render(args.run, case, args.system))
    print(f"wrote {args.out} ({case['id']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
