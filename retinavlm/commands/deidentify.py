"""`retinavlm deidentify IN OUT`: de-identified copies of DICOM files (DICOM PS3.15 Annex E basic profile;
retinavlm.data.deidentify does the work). It never prints a header value; only the files it skipped are
named, with their reasons."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="IN", help="a DICOM file, or a folder searched recursively")
    parser.add_argument("out", metavar="OUT", help="a new or empty folder for the de-identified copies")
    parser.add_argument(
        "--keep-source-names",
        action="store_true",
        help="name each copy by its path under IN (file and folder names may carry patient names or numbers); "
        "default: by its new SOP Instance UID",
    )
    parser.add_argument(
        "--mapping",
        metavar="FILE.csv",
        default=None,
        help="also write which source file became which copy (source,copy); it re-identifies the copies, "
        "so it must lie outside OUT and be kept apart from them",
    )
    parser.add_argument("--profile", default=None, help="profile YAML (default: curricula/deidentification.yaml)")


def run(args: argparse.Namespace) -> int:
    """Exit code 0: every file copied; 1: some skipped (listed with reasons); 2: nothing copied."""
    from tqdm import tqdm

    from retinavlm.atomic import write_text
    from retinavlm.data.deidentify import Outcome, deidentify_tree, find_files, load_profile
    from retinavlm.errors import RetinaVLMError

    source, out = Path(args.source), Path(args.out)
    mapping = Path(args.mapping) if args.mapping else None
    problem = _argument_problem(source, out, mapping)
    if problem:
        raise RetinaVLMError(problem)
    profile = load_profile(args.profile)
    outcome = Outcome()
    total = len(find_files(source))
    with tqdm(total=total, desc="de-identifying", unit="file", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
        for path, copy, reason in deidentify_tree(
            source, out, profile=profile, keep_source_names=args.keep_source_names
        ):
            if copy is None:
                outcome.skipped.append((path, reason))
            else:
                outcome.written.append((path, copy))
            bar.update()
    for path, reason in outcome.skipped:
        print(f"skipped: {path}: {reason}", file=sys.stderr)
    if mapping is not None and outcome.written:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["source", "copy"])
        writer.writerows([str(path), copy.relative_to(out).as_posix()] for path, copy in outcome.written)
        write_text(mapping, buffer.getvalue())
    print(
        f"de-identified {len(outcome.written)} of {total} file(s) into {out} ({profile.name}); "
        f"{len(outcome.skipped)} skipped" + (f"; mapping in {mapping}" if mapping and outcome.written else "")
    )
    return outcome.exit_code


def _argument_problem(source: Path, out: Path, mapping: Path | None) -> str | None:
    """A one-line reason the command cannot start, or None."""
    if not source.exists():
        return f"{source}: no such file or folder"
    src, dst = source.resolve(), out.resolve()
    if source.is_dir() and (dst == src or dst.is_relative_to(src) or src.is_relative_to(dst)):
        return f"{out}: OUT must lie outside IN (and IN outside OUT)"
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        return f"{out}: not an empty folder; a rerun names the copies anew, so choose a new or empty OUT"
    if mapping is not None and mapping.resolve().is_relative_to(dst):
        return f"{mapping}: the mapping re-identifies the copies; write it outside OUT"
    return None
