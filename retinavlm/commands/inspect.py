"""`retinavlm inspect PATH...`: is each file a usable OCT B-scan, and if not, why not?

The readers and the gate (numpy, OpenCV, SciPy) are imported when the command runs, so that
`--help` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TABLE_FIGURES = ("p99", "snr_db", "layer_anisotropy", "median_to_p99")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="scan files or folders (searched recursively)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    parser.add_argument(
        "--frame", type=int, default=None, help="B-scan of a volume to inspect (default: the central one)"
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=None,
        help="refuse images larger than this before decoding (default: 100 million)",
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="quality gate thresholds (default: curricula/quality_gate.yaml)"
    )


def inspect_file(path: Path, frame: int | None, max_pixels: int, config) -> dict:
    """One row of the report: the quality verdict, or the read error as the reason."""
    from retinavlm.data.io import read_scan
    from retinavlm.data.quality import assess_quality
    from retinavlm.data.scan import ScanReadError

    try:
        scan = read_scan(path, frame, max_pixels=max_pixels)
    except ScanReadError as exc:
        return {
            "path": str(path),
            "ok": False,
            "level": "refused",
            "reason": f"unreadable: {exc.problem}",
            "flags": [],
            "figures": {},
        }
    report = assess_quality(scan, config)
    height, width = scan.shape
    return {
        "path": str(path),
        "ok": report.ok,
        "level": report.level,
        "reason": report.reason,
        "width": width,
        "height": height,
        "bit_depth": scan.bit_depth,
        "mode": scan.original_mode,
        "frame": scan.frame,
        "n_frames": scan.n_frames,
        "laterality": scan.laterality,
        "pixel_spacing_mm": list(scan.pixel_spacing_mm) if scan.pixel_spacing_mm else None,
        "flags": report.flags,
        "figures": report.figures,
        "metadata": scan.metadata,
    }


def _expand(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Files to inspect, in the order given (folders sorted), and one usage problem per bad path."""
    from retinavlm.data.io import find_scan_files

    files: list[Path] = []
    problems: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = find_scan_files(path)
            if not found:
                problems.append(f"{path}: folder holds no scan files")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            problems.append(f"{path}: no such file or folder")
    return files, problems


def run(args: argparse.Namespace) -> int:
    from retinavlm.data.io import DEFAULT_MAX_PIXELS
    from retinavlm.data.quality import load_quality_config
    from retinavlm.errors import RetinaVLMError

    max_pixels = DEFAULT_MAX_PIXELS if args.max_pixels is None else args.max_pixels
    try:
        config = load_quality_config(args.config)
    except (OSError, RetinaVLMError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    files, problems = _expand(args.paths)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)

    rows = []
    for path in files:
        row = inspect_file(path, args.frame, max_pixels, config)
        rows.append(row)
        if args.json:
            print(json.dumps(row, ensure_ascii=False), flush=True)
    if not args.json and rows:
        _print_table(rows)
    if problems:
        return 2
    return 0 if all(row["ok"] for row in rows) else 1


def _print_table(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    verdicts = {  # rich is imported when a table is printed, so its cells are built here
        "accepted": Text("yes", style="green"),
        "low_quality": Text("low quality", style="yellow"),
        "refused": Text("no", style="red"),
    }
    table = Table(title="OCT B-scan quality gate", show_lines=False)
    longest_path = max((len(row["path"]) for row in rows), default=4)
    table.add_column("file", no_wrap=True, min_width=longest_path)  # a path must stay copy-pasteable
    for column in ("usable", "size", "bits", *TABLE_FIGURES, "flags / reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        size = f"{row['width']}×{row['height']}" if "width" in row else "-"
        figures = [f"{row['figures'][name]:.2f}" if name in row["figures"] else "-" for name in TABLE_FIGURES]
        verdict = verdicts[row["level"]]
        note = ", ".join(row["flags"]) if row["ok"] else row["reason"]
        table.add_row(Text(row["path"]), verdict, size, str(row.get("bit_depth", "-")), *figures, Text(note))
    console = Console(width=max(160, Console().width, longest_path + 120))
    console.print(table)
    low_quality = sum(row["level"] == "low_quality" for row in rows)
    refused = sum(row["level"] == "refused" for row in rows)
    console.print(
        f"{len(rows) - refused - low_quality} of {len(rows)} usable, {low_quality} low quality, {refused} refused"
    )
