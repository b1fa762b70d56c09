"""The viewer's settings, parsed from the arguments after `--` of `streamlit run ui/app.py -- RUN_DIR ...`.

`retinavlm view` writes those arguments; tests (and anyone embedding the app) can pass the same
string in the RETINAVLM_VIEW_ARGS environment variable instead, because under AppTest sys.argv
belongs to pytest.
"""

from __future__ import annotations

import argparse
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from retinavlm.knowledge.arguments import add_knowledge_arguments
from retinavlm.resources import project_root

ENV_VAR = "RETINAVLM_VIEW_ARGS"
DEFAULT_MAX_UPLOAD_MB = 20


@dataclass(frozen=True)
class ViewerConfig:
    run_dir: Path
    checkpoint: Path | None
    data_roots: tuple[Path, ...]
    study: Path
    study_db: Path | None  # None: RUN_DIR/reader_study/<study name>.sqlite
    max_upload_mb: int
    knowledge: Path | None = None  # None: the default knowledge base
    force_knowledge: bool = False  # load a checkpoint trained under another knowledge base


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_dir", metavar="RUN_DIR", help="run folder written by `retinavlm demo` (docs/RUN_FOLDER.md)"
    )
    parser.add_argument(
        "--checkpoint", metavar="DIR", help="model checkpoint for live reports and heat-maps (default: the run's)"
    )
    parser.add_argument(
        "--data-root",
        metavar="DIR",
        action="append",
        default=[],
        help="another folder scans may be read from (repeatable); nothing outside these and RUN_DIR is read",
    )
    parser.add_argument(
        "--study",
        metavar="YAML",
        help="reader study definition (default: RUN_DIR/study.yaml, else ui/studies/example_study.yaml)",
    )
    parser.add_argument(
        "--study-db",
        metavar="FILE",
        help="SQLite file for reader-study answers (default: RUN_DIR/reader_study/<study name>.sqlite)",
    )
    parser.add_argument(
        "--max-upload-mb", type=int, default=DEFAULT_MAX_UPLOAD_MB, help="largest scan upload (default: %(default)s MB)"
    )
    add_knowledge_arguments(parser, checkpoints=True)


def parse(argv: list[str]) -> ViewerConfig:
    """Settings from app arguments; raises SystemExit (argparse) with a usage line on bad ones."""
    parser = argparse.ArgumentParser(prog="ui/app.py")
    add_arguments(parser)
    args = parser.parse_args(argv)
    run_dir = Path(args.run_dir).expanduser().resolve()
    study = Path(args.study) if args.study else run_dir / "study.yaml"
    if not args.study and not study.is_file():
        study = project_root() / "ui" / "studies" / "example_study.yaml"
    return ViewerConfig(
        run_dir=run_dir,
        checkpoint=Path(args.checkpoint).expanduser().resolve() if args.checkpoint else None,
        data_roots=tuple(Path(p).expanduser().resolve() for p in args.data_root),
        study=study.resolve(),
        study_db=Path(args.study_db).resolve() if args.study_db else None,
        max_upload_mb=max(1, args.max_upload_mb),
        knowledge=Path(args.knowledge).expanduser().resolve() if args.knowledge else None,
        force_knowledge=args.force_knowledge,
    )


def from_environment(argv: list[str]) -> ViewerConfig:
    """The app's own arguments, or RETINAVLM_VIEW_ARGS when it is set."""
    env = os.environ.get(ENV_VAR)
    return parse(shlex.split(env) if env else argv)
