"""`retinavlm report`: write a report for each scan with a trained checkpoint (predictions JSONL, DESIGN.md §3).

Rows are appended batch by batch and a rerun with the same --out continues where a killed run stopped;
under torchrun or accelerate launch the scans are split between the processes (retinavlm/model/report_run.py).
Bad files (unreadable, refused by the quality gate, duplicate ids) are skipped and listed, the rest
are reported. Exit status: 0 all reported, 1 some skipped, 2 nothing could run. Under torchrun or
accelerate launch a run that reported every readable scan exits 0 even when it skipped files (the
launcher takes any other status for a crashed process and prints its traceback); they are listed the same way.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from retinavlm.knowledge.arguments import add_knowledge_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scans", nargs="+", metavar="SCAN", help="scan files, or folders searched for scans")
    parser.add_argument("--checkpoint", required=True, metavar="DIR", help="a folder written by save_pretrained")
    parser.add_argument(
        "--out",
        default="predictions.jsonl",
        help="predictions JSONL to write, or to continue when it exists (default: %(default)s)",
    )
    parser.add_argument(
        "--prompt", help="prompt with one <image> placeholder (default: `report` in curricula/prompts.yaml)"
    )
    parser.add_argument(
        "--max-new-tokens", type=int, default=256, help="longest report in tokens (default: %(default)s)"
    )
    parser.add_argument("--batch-size", type=int, default=8, help="scans per generation batch (default: %(default)s)")
    parser.add_argument(
        "--check-answers",
        type=int,
        default=0,
        metavar="N",
        help="check each report against the model's own answers to its closed questions; where it contradicts one, "
        "write N candidates by beam search and keep the one contradicting the fewest (docs/TRAINING.md: 8 raised "
        "biomarker F1 by 0.02-0.08); default 0: greedy",
    )
    parser.add_argument("--references", help="references JSONL whose `image` fields give each file its id")
    parser.add_argument(
        "--keep-source-names",
        action="store_true",
        help="use file names (stems) as ids; by default a file --references does not name gets `scan-` and a hash "
        "of its content, since file names often carry patient numbers",
    )
    parser.add_argument("--model-name", help="the predictions' `model` field (default: the checkpoint folder name)")
    parser.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    add_knowledge_arguments(parser, checkpoints=True)


def run(args: argparse.Namespace) -> int:
    from retinavlm.errors import RetinaVLMError
    from retinavlm.model.report_run import ReportSettings, run_reports

    settings = ReportSettings(
        checkpoint=args.checkpoint,
        scans=args.scans,
        out=args.out,
        prompt=args.prompt,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        references=args.references,
        model_name=args.model_name,
        device=args.device,
        knowledge=args.knowledge,
        force_knowledge=args.force_knowledge,
        keep_source_names=args.keep_source_names,
        check_answers=args.check_answers,
    )
    try:
        outcome = run_reports(settings)
    except RetinaVLMError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.filename or args.checkpoint}: {exc.strerror or exc}")
    for note in outcome.notes:
        _say(f"note: {note}", sys.stderr)
    processes = outcome.processes
    if processes.world_size > 1:
        _say(f"process {processes.rank} of {processes.world_size}: generated {outcome.generated_here} reports")
    if processes.rank == 0:
        for line in outcome.skipped:
            _say(f"skipped: {line}", sys.stderr)
        _say(
            f"wrote {outcome.written} report(s) to {args.out}; resumed {outcome.resumed} already there; "
            f"skipped {len(outcome.skipped)}"
        )
    return 1 if outcome.skipped and not processes.launched else 0


def _say(line: str, stream: TextIO | None = None) -> None:
    """One line in one write (stdout by default): the processes of a launched run share the terminal, and
    print() writes the newline separately, so two processes' lines could interleave."""
    stream = stream or sys.stdout
    stream.write(line + "\n")
    stream.flush()


def _fail(message: str) -> int:
    _say(f"retinavlm report: error: {message}", sys.stderr)
    return 2
