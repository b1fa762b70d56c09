"""Helpers for the viewer tests: a small demo run folder built with the toolkit's own commands."""

from __future__ import annotations

import json
from pathlib import Path

from retinavlm.atomic import write_json, write_jsonl
from retinavlm.cli import main
from retinavlm.jsonl import read_jsonl

# A deliberately wrong system: whatever the scan shows, it calls the macula healthy.
ALWAYS_HEALTHY = "No drusen, no fluid and no atrophy. Healthy macula with no signs of AMD. No referral needed."
SYSTEMS = ("reference_reports", "always_healthy")


def build_demo_run(run: Path, n: int = 8) -> Path:
    """synth -> predictions of two systems -> evaluate -> run.json, as `retinavlm demo` lays a run out (docs/RUN_FOLDER.md)."""
    assert main(["synth", "--n", str(n), "--out", str(run), "--seed", "0"]) == 0
    references, problems = read_jsonl(run / "references.jsonl")
    assert not problems
    write_jsonl(
        run / "predictions" / "reference_reports.jsonl",
        [{"id": r["id"], "report": r["report"], "model": "reference_reports"} for r in references],
    )
    write_jsonl(
        run / "predictions" / "always_healthy.jsonl",
        [{"id": r["id"], "report": ALWAYS_HEALTHY, "model": "always_healthy"} for r in references],
    )
    predictions = [str(run / "predictions" / f"{system}.jsonl") for system in SYSTEMS]
    assert (
        main(
            [
                "evaluate",
                "--predictions",
                *predictions,
                "--references",
                str(run / "references.jsonl"),
                "--out",
                str(run / "evaluation"),
                "--bootstrap",
                "20",
            ]
        )
        == 0
    )
    write_json(
        run / "run.json",
        {
            "name": "viewer-test-run",
            "toolkit_version": "test",
            "knowledge_version": "test",
            "checkpoint": None,
            "systems": list(SYSTEMS),
            "references": "references.jsonl",
            "evaluation": "evaluation",
        },
    )
    return run


def reference_ids(run: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (run / "references.jsonl").read_text().splitlines() if line.strip()]
