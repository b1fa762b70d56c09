"""`retinavlm synth`: render a synthetic OCT cohort with exact labels into a folder."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from retinavlm.data.synthetic import CohortSummary, load_cohort_config, render_cohort
from retinavlm.errors import RetinaVLMError
from retinavlm.knowledge import load_knowledge
from retinavlm.knowledge.arguments import add_knowledge_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--n", type=int, required=True, help="number of scans (both eyes of each patient, repeat visits)"
    )
    parser.add_argument(
        "--out", required=True, help="output folder (created atomically; an older cohort there is replaced)"
    )
    add_common_arguments(parser)
    add_knowledge_arguments(parser)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared with `retinavlm demo`."""
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives byte-identical files")
    parser.add_argument("--config", default=None, help="cohort YAML (default: curricula/synthetic/cohort.yaml)")
    parser.add_argument("--domain", default=None, help="render every scan with this scanner domain of the config")
    parser.add_argument("--workers", type=int, default=1, help="parallel render processes (default 1)")


def run(args: argparse.Namespace) -> int:
    print_summary(synthesize(args))
    return 0


def synthesize(args: argparse.Namespace) -> CohortSummary:
    """Render the cohort the flags ask for with a progress bar; bad input raises RetinaVLMError."""
    if args.n < 1:
        raise RetinaVLMError(f"--n must be at least 1, got {args.n}")
    kb = load_knowledge(args.knowledge)
    config = load_cohort_config(args.config, kb)
    if args.domain:
        config = config.only_domain(args.domain)
    columns = (TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("render", total=args.n)
        return render_cohort(
            args.n,
            args.out,
            seed=args.seed,
            config=config,
            workers=max(1, args.workers),
            kb=kb,
            progress=lambda done, total: progress.update(task, completed=done),
        )


def print_summary(summary: CohortSummary) -> None:
    console = Console()
    console.print(
        f"[bold]{summary.n_scans}[/] scans of [bold]{summary.n_patients}[/] patients written to {summary.out_dir}"
    )
    for key, title in (("stage", "AMD stage"), ("referral", "referral"), ("domain", "scanner domain"), ("eye", "eye")):
        table = Table(title=f"scans per {title}", title_justify="left")
        table.add_column(title)
        table.add_column("scans", justify="right")
        table.add_column("share", justify="right")
        for name, count in summary.counts[key].items():
            table.add_row(name, str(count), f"{count / max(summary.n_scans, 1):.0%}")
        console.print(table)
