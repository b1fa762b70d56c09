"""The `retinavlm` command. Each subcommand lives in `retinavlm/commands/<name>.py` and is imported
only when it runs, so `retinavlm --help` stays fast (no torch import).

A command module provides `add_arguments(parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# name -> (one-line help, longer description)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "run the whole pipeline on the synthetic cohort (the README's main job)",
        "Render a synthetic cohort, train the tiny model through the curricula, write reports for "
        "held-out patients and grade them against baselines; writes a run folder the viewer opens.",
    ),
    "synth": (
        "render a synthetic OCT cohort with exact labels",
        "Render B-scans from findings specifications with the knowledge-base rules; writes images, "
        "references.jsonl (DESIGN.md §3), annotations and a manifest.",
    ),
    "inspect": (
        "check whether files are usable OCT B-scans (quality gate)",
        "Read files or folders and print, per file, whether it is a usable OCT B-scan with its size, "
        "bit depth and quality figures, or the reason it was refused.",
    ),
}


def _env_defaults() -> None:
    # Nothing is downloaded at run time (DESIGN.md §2).
    for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "NO_ALBUMENTATIONS_UPDATE"):
        os.environ.setdefault(key, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retinavlm",
        description="RetinaVLM toolkit: OCT vision-language models, curricula and clinical report grading.",
    )
    from retinavlm import __version__

    parser.add_argument("--version", action="version", version=f"retinavlm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (short, long) in COMMANDS.items():
        sub.add_parser(name, help=short, description=long, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    _env_defaults()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv:
        parser.print_help()
        return 2
    if argv[0] not in COMMANDS:
        parser.parse_args(argv)  # --help, --version, or an "invalid choice" error (exit 2)
        return 2
    name, rest = argv[0], argv[1:]
    module = importlib.import_module(f"retinavlm.commands.{name.replace('-', '_')}")
    short, long = COMMANDS[name]
    sub = argparse.ArgumentParser(prog=f"retinavlm {name}", description=long)
    module.add_arguments(sub)
    args = sub.parse_args(rest)
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
