"""`retinavlm report`: write a report for each scan with a trained checkpoint (predictions JSONL, DESIGN.md §3).

Bad files (unreadable, refused by the quality gate, duplicate ids) are skipped and listed, the rest
are reported. Exit status: 0 all reported, 1 some skipped, 2 nothing could run.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from retinavlm.knowledge.arguments import add_knowledge_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scans", nargs="+", metavar="SCAN", help="scan files, or folders searched for scans")
    parser.add_argument("--checkpoint", required=True, metavar="DIR", help="a folder written by save_pretrained")
    parser.add_argument("--out", default="predictions.jsonl", help="predictions JSONL to write (default: %(default)s)")
    parser.add_argument(
        "--prompt", help="prompt with one <image> placeholder (default: `report` in curricula/prompts.yaml)"
    )
    parser.add_argument(
        "--max-new-tokens", type=int, default=256, help="longest report in tokens (default: %(default)s)"
    )
    parser.add_argument("--batch-size", type=int, default=8, help="scans per generation batch (default: %(default)s)")
    parser.add_argument("--references", help="references JSONL whose `image` fields give each file its id")
    parser.add_argument("--model-name", help="the predictions' `model` field (default: the checkpoint folder name)")
    parser.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    add_knowledge_arguments(parser, checkpoints=True)


def run(args: argparse.Namespace) -> int:
    if args.max_new_tokens < 1 or args.batch_size < 1:
        return _fail("--max-new-tokens and --batch-size must be at least 1")
    import torch

    from retinavlm.atomic import write_jsonl
    from retinavlm.data.io import find_scan_files, read_scan
    from retinavlm.data.quality import assess_quality
    from retinavlm.data.scan import ScanReadError
    from retinavlm.errors import RetinaVLMError
    from retinavlm.knowledge import load_knowledge
    from retinavlm.model.generation import generate_batched
    from retinavlm.model.processor import ProcessorError
    from retinavlm.model.prompts import report_prompt
    from retinavlm.model.vlm import RetinaVLM

    paths, skipped = [], []
    for name in args.scans:
        path = Path(name)
        if path.is_dir():
            paths += find_scan_files(path)
        elif path.is_file():
            paths.append(path)
        else:
            skipped.append(f"{path}: no such file or folder")
    try:
        ids = _reference_ids(args.references) if args.references else {}
        prompt = args.prompt if args.prompt is not None else report_prompt()
        knowledge = load_knowledge(args.knowledge)
        model = RetinaVLM.from_pretrained(args.checkpoint, args.device, knowledge, args.force_knowledge)
        model.processor.prompt_ids(prompt, with_image=True)
    except RetinaVLMError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.filename or args.checkpoint}: {exc.strerror or exc}")
    model_name = args.model_name or Path(args.checkpoint).resolve().name

    seen: dict[str, Path] = {}

    def readable_images() -> Iterator[torch.Tensor]:
        """Each scan that can be reported, preprocessed; the rest go to `skipped`, ids to `seen` in order."""
        for path in tqdm(paths, desc="reports", unit="scan", disable=None):
            scan_id = _lookup(ids, path)
            if scan_id in seen:
                skipped.append(f"{path}: duplicate id {scan_id!r} (also {seen[scan_id]}); name them with --references")
                continue
            try:
                scan = read_scan(path)
                quality = assess_quality(scan)
                if not quality.ok:
                    skipped.append(f"{path}: refused by the quality gate ({quality.reason})")
                    continue
                image = model.processor.preprocess(scan)
            except (ScanReadError, ProcessorError) as exc:
                skipped.append(str(exc) if isinstance(exc, ScanReadError) else f"{path}: {exc}")
                continue
            seen[scan_id] = path
            yield image

    reports = generate_batched(model, readable_images(), prompt, args.batch_size, args.max_new_tokens)
    rows = [{"id": i, "report": r, "model": model_name} for i, r in zip(seen, reports, strict=True)]
    write_jsonl(args.out, rows)
    for line in skipped:
        print(f"skipped: {line}", file=sys.stderr)
    print(f"wrote {len(rows)} report(s) to {args.out}; skipped {len(skipped)}")
    return 1 if skipped else 0


def _reference_ids(path: str) -> dict[str, str]:
    """Map each reference's `image` to its `id`, by resolved path and by file name where that is unique."""
    from retinavlm.jsonl import read_jsonl

    rows, problems = read_jsonl(path)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    base = Path(path).resolve().parent
    named = [
        (row["image"], row["id"])
        for row in rows
        if isinstance(row.get("image"), str) and isinstance(row.get("id"), str)
    ]
    ids = {str((base / image).resolve()): scan_id for image, scan_id in named}
    file_names = Counter(Path(image).name for image, _ in named)
    ids.update({Path(image).name: scan_id for image, scan_id in named if file_names[Path(image).name] == 1})
    return ids


def _lookup(ids: dict[str, str], path: Path) -> str:
    return ids.get(str(path.resolve())) or ids.get(path.name) or path.stem


def _fail(message: str) -> int:
    print(f"retinavlm report: error: {message}", file=sys.stderr)
    return 2
