"""`--knowledge` and `--force-knowledge`: the options of every front end (command, viewer) using the knowledge base."""

from __future__ import annotations

import argparse


def add_knowledge_arguments(parser: argparse.ArgumentParser, checkpoints: bool = False) -> None:
    """`--knowledge DIR`; with `checkpoints`, also `--force-knowledge` for a checkpoint of another knowledge base."""
    parser.add_argument("--knowledge", default=None, help="knowledge base folder (default: curricula/knowledge)")
    if checkpoints:
        parser.add_argument(
            "--force-knowledge",
            action="store_true",
            help="use a checkpoint trained under another knowledge base (refused by default)",
        )
