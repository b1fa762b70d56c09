"""`retinavlm view RUN_DIR`: open the Streamlit report viewer (ui/app.py) on a run folder.

The server listens on 127.0.0.1 only, runs headless and sends no usage statistics.
"""

from __future__ import annotations

import argparse
import os
import sys

from retinavlm.extras import require
from retinavlm.resources import project_root
from retinavlm.viewer import config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    config.add_arguments(parser)
    parser.add_argument("--port", type=int, default=8501, help="port on 127.0.0.1 (default: %(default)s)")


def streamlit_command(args: argparse.Namespace) -> list[str]:
    """The `streamlit run` command line for these arguments."""
    app_args = [args.run_dir, "--max-upload-mb", str(args.max_upload_mb)]
    for flag, value in (
        ("--checkpoint", args.checkpoint),
        ("--study", args.study),
        ("--study-db", args.study_db),
        ("--knowledge", args.knowledge),
    ):
        if value:
            app_args += [flag, value]
    if args.force_knowledge:
        app_args.append("--force-knowledge")
    for root in args.data_root:
        app_args += ["--data-root", root]
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(project_root() / "ui" / "app.py"),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(args.port),
        "--server.maxUploadSize",
        str(args.max_upload_mb),
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
        "--",
        *app_args,
    ]


def run(args: argparse.Namespace) -> int:
    if not os.path.isdir(args.run_dir):
        print(f"error: {args.run_dir}: run folder not found", file=sys.stderr)
        return 2
    require("streamlit", "the viewer")
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    env.pop(config.ENV_VAR, None)  # the arguments below are the settings
    print(f"RetinaVLM viewer on http://127.0.0.1:{args.port} (Ctrl+C stops it)", file=sys.stderr, flush=True)
    command = streamlit_command(args)
    os.execve(command[0], command, env)  # streamlit takes over this process: signals reach it directly
