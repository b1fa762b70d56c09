"""Reports for a cohort of scans, streamed to disk: resumable after a kill, spread over processes.

The library behind `retinavlm report` (and, through `read_written` and `stream_reports`, the demo's
report step). Each generation batch's rows are appended and fsynced as the batch finishes, so a kill
loses at most the batch in flight; a rerun with the same output reads the ids already written (a
torn last line is dropped and its scan reported again) and reports only the rest.

Under `torchrun` or `accelerate launch` (RANK, WORLD_SIZE and LOCAL_RANK in the environment) process
r of N reports every N-th scan still to do into its own shard file beside the output; after a barrier
rank 0 merges the shards, in the order one process would have written them, into the output
atomically. Greedy decoding makes the merged file identical to a single process's.

An id never carries a file name unless asked (file names such as `CNV-1016042-1.jpeg` hold patient
numbers): it is the `--references` id, else `scan-` and the start of the SHA-256 of the file's
bytes, the same in every run and process so that resuming finds it.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import re
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from retinavlm.atomic import append_jsonl, write_json, write_jsonl
from retinavlm.errors import RetinaVLMError
from retinavlm.jsonl import iter_jsonl, read_jsonl
from retinavlm.model.answer_check import CHECK_RULE, AnswerCheck
from retinavlm.model.generation import generate_in_batches
from retinavlm.model.vlm import RetinaVLM

PSEUDONYM_HEX_DIGITS = 16


class ReportRunError(RetinaVLMError):
    """A report run cannot start: bad settings, or an output file that is not one this run can resume."""


@dataclass
class ReportSettings:
    """What `retinavlm report` reports, with which checkpoint, and where."""

    checkpoint: str | os.PathLike
    scans: Sequence[str | os.PathLike]
    out: str | os.PathLike = "predictions.jsonl"
    prompt: str | None = None  # default: `report` in curricula/prompts.yaml
    max_new_tokens: int = 256
    batch_size: int = 8
    references: str | os.PathLike | None = None  # JSONL whose `image` fields give files their ids
    model_name: str | None = None  # default: the checkpoint folder's name
    device: str | None = None  # default: this process's GPU when there is one, else the CPU
    knowledge: str | os.PathLike | None = None
    force_knowledge: bool = False
    keep_source_names: bool = False  # ids from file stems instead of content pseudonyms
    check_answers: int = 0  # candidate reports checked against the model's own answers (answer_check.py); 0: greedy


@dataclass
class ReportOutcome:
    """What one process did; `written`, `resumed` and `skipped` count every process's scans."""

    processes: Processes
    generated_here: int
    written: int
    resumed: int
    skipped: list[str] = field(default_factory=list)  # one line per bad input, in input order
    notes: list[str] = field(default_factory=list)  # one line per repaired file or unusable reference row


@dataclass(frozen=True)
class ScanEntry:
    position: int  # in the input order, which is the output order
    path: Path
    id: str


@dataclass(frozen=True)
class Processes:
    """This process's place among the launcher's processes (a single process when no launcher started it)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    launched: bool = False  # started by torchrun or accelerate launch, even as their only process

    @classmethod
    def from_environment(cls) -> Processes:
        env = os.environ
        ranks = (int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0)))
        return cls(*ranks, launched="WORLD_SIZE" in env)


def run_reports(settings: ReportSettings) -> ReportOutcome:
    """Report every readable scan of `settings.scans` not yet in `settings.out`; see the module docstring."""
    from retinavlm.knowledge import load_knowledge
    from retinavlm.model.prompts import report_prompt

    if settings.max_new_tokens < 1 or settings.batch_size < 1:
        raise ReportRunError("--max-new-tokens and --batch-size must be at least 1")
    if settings.check_answers < 0:
        raise ReportRunError(
            f"--check-answers must be 0 (greedy) or a number of candidate reports, got {settings.check_answers}"
        )
    if settings.references is not None and not Path(settings.references).is_file():
        raise ReportRunError(f"{settings.references}: references file not found")
    processes = Processes.from_environment()
    ids, problems = reference_ids(settings.references) if settings.references else ({}, [])
    notes = problems if processes.rank == 0 else []  # every process reads the same references
    entries, skipped = list_scans(settings.scans, ids, settings.keep_source_names)
    prompt = settings.prompt if settings.prompt is not None else report_prompt()
    device = settings.device or (f"cuda:{processes.local_rank}" if torch.cuda.is_available() else "cpu")
    knowledge = load_knowledge(settings.knowledge)
    model = RetinaVLM.from_pretrained(settings.checkpoint, device, knowledge, settings.force_knowledge)
    model.processor.prompt_ids(prompt, with_image=True)
    check = AnswerCheck.load(settings.check_answers, knowledge) if settings.check_answers else None
    model_name = settings.model_name or Path(settings.checkpoint).resolve().name
    out = Path(settings.out)

    with process_group(processes, model.device):
        settings_record = run_record(
            settings.checkpoint, prompt, settings.max_new_tokens, model_name, settings.check_answers
        )
        check_run_record(out, settings_record)  # every process refuses the same way, before any writes
        _barrier(processes)
        if processes.rank == 0:
            write_json(run_record_path(out), settings_record)
        done = {row["id"] for path in [out, *shard_paths(out)] for row in read_written(path, model_name)}
        todo = [entry for entry in entries if entry.id not in done]
        mine = todo[processes.rank :: processes.world_size]
        target = out if processes.world_size == 1 else shard_path(out, processes.rank, processes.world_size)
        _barrier(processes)  # every process has read what is done before any of them writes
        if drop_torn_line(target):
            notes.append(f"{target}: dropped an incomplete last line (a killed run); its scan is reported again")
        refused: list[tuple[int, str]] = []
        generated = stream_reports(
            model,
            readable_images(mine, model, refused),
            prompt,
            settings.batch_size,
            settings.max_new_tokens,
            target,
            model_name,
            progress="reports" if processes.rank == 0 else None,
            total=len(mine),
            check=check,
        )
        counts, refusals = _gather(processes, generated, refused)
        if processes.rank == 0 and (shard_paths(out) or _torn_line_number(out) or not out.is_file()):
            merge_shards(out, [entry.id for entry in entries], model_name)  # also: --out exists, whole lines
    reasons = [reason for _, reason in sorted(skipped + refusals)]
    resumed = sum(entry.id in done for entry in entries)
    return ReportOutcome(processes, generated, sum(counts), resumed, reasons, notes)


# ---------------------------------------------------------------- the scan list and its ids


def list_scans(
    names: Iterable[str | os.PathLike], ids: dict[str, str], keep_source_names: bool = False
) -> tuple[list[ScanEntry], list[tuple[int, str]]]:
    """Every scan file named (folders searched) with its id, and (position, reason) for each input left out.

    `ids` maps resolved paths and unique file names to reference ids; other files get a pseudonym from
    their bytes, or their file stem with `keep_source_names`. A second file with an id already taken is
    left out. The same inputs give the same list in every process.
    """
    from retinavlm.data.io import find_scan_files

    def expanded() -> Iterator[tuple[Path, str | None]]:
        for name in names:
            path = Path(name)
            if path.is_dir():
                yield from ((found, None) for found in find_scan_files(path))
            else:
                yield path, None if path.is_file() else "no such file or folder"

    entries: list[ScanEntry] = []
    skipped: list[tuple[int, str]] = []
    seen: dict[str, Path] = {}
    for position, (path, problem) in enumerate(expanded()):
        if problem is None:
            try:
                scan_id = _scan_id(path, ids, keep_source_names)
            except OSError as exc:
                problem = f"cannot read ({exc.strerror or exc})"
        if problem is not None:
            skipped.append((position, f"{path}: {problem}"))
        elif scan_id in seen:
            skipped.append(
                (position, f"{path}: duplicate id {scan_id!r} (also {seen[scan_id]}); name them with --references")
            )
        else:
            seen[scan_id] = path
            entries.append(ScanEntry(position, path, scan_id))
    return entries, skipped


def _scan_id(path: Path, ids: dict[str, str], keep_source_names: bool) -> str:
    reference_id = ids.get(str(path.resolve())) or ids.get(path.name)
    return reference_id or (path.stem if keep_source_names else pseudonym(path))


def pseudonym(path: str | os.PathLike) -> str:
    """`scan-` and the first hex digits of the SHA-256 of the file's bytes: stable, and free of the file name."""
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return f"scan-{digest[:PSEUDONYM_HEX_DIGITS]}"


def reference_ids(path: str | os.PathLike) -> tuple[dict[str, str], list[str]]:
    """Each reference's `image` mapped to its `id` (by resolved path, and by file name where unique); unusable rows."""
    rows, problems = read_jsonl(path)
    base = Path(path).resolve().parent
    named = [
        (row["image"], row["id"])
        for row in rows
        if isinstance(row.get("image"), str) and isinstance(row.get("id"), str)
    ]
    ids = {str((base / image).resolve()): scan_id for image, scan_id in named}
    file_names = Counter(Path(image).name for image, _ in named)
    ids.update({Path(image).name: scan_id for image, scan_id in named if file_names[Path(image).name] == 1})
    return ids, [str(problem) for problem in problems]


def readable_images(
    entries: Iterable[ScanEntry], model: RetinaVLM, refused: list[tuple[int, str]]
) -> Iterator[tuple[str, torch.Tensor]]:
    """(id, preprocessed image) for each scan that reads and passes the quality gate; the rest go to `refused`."""
    from retinavlm.data.io import read_scan
    from retinavlm.data.quality import assess_quality
    from retinavlm.data.scan import ScanReadError
    from retinavlm.model.processor import ProcessorError

    for entry in entries:
        try:
            scan = read_scan(entry.path)
            quality = assess_quality(scan)
            if not quality.ok:
                verdict = "as low quality " if quality.level == "low_quality" else ""
                refused.append(
                    (entry.position, f"{entry.path}: refused by the quality gate {verdict}({quality.reason})")
                )
                continue
            image = model.processor.preprocess(scan)
        except ScanReadError as exc:
            refused.append((entry.position, str(exc)))
            continue
        except ProcessorError as exc:
            refused.append((entry.position, f"{entry.path}: {exc}"))
            continue
        yield entry.id, image


# ---------------------------------------------------------------- streaming and resuming


def stream_reports(
    model: RetinaVLM,
    items: Iterable[tuple[str, torch.Tensor]],
    prompt: str,
    batch_size: int,
    max_new_tokens: int,
    out: str | os.PathLike,
    model_name: str,
    progress: str | None = None,
    total: int | None = None,
    check: AnswerCheck | None = None,
) -> int:
    """Report each (id, image) and append each batch's `{id, report, model}` rows to `out`, fsynced; how many."""
    pending: deque[str] = deque()

    def images() -> Iterator[torch.Tensor]:
        for scan_id, image in items:
            pending.append(scan_id)
            yield image

    written = 0
    for reports in generate_in_batches(model, images(), prompt, batch_size, max_new_tokens, progress, total, check):
        append_jsonl(out, [{"id": pending.popleft(), "report": report, "model": model_name} for report in reports])
        written += len(reports)
    return written


def run_record_path(out: str | os.PathLike) -> Path:
    """OUT_STEM.run.json beside `out`: what wrote it, so that a rerun never continues another run's file."""
    out = Path(out)
    return out.with_name(f"{out.stem}.run.json")


def run_record(
    checkpoint: str | os.PathLike, prompt: str, max_new_tokens: int, model_name: str, check_answers: int = 0
) -> dict:
    """What decides a report's text: the checkpoint's files (their sha256 from its manifest), the prompt, the
    length limit and the answer check's candidates and rule (when on). The batch size and the number of processes do
    not (greedy decoding; beam search keeps each scan's beams apart)."""
    manifest = json.loads((Path(checkpoint) / "checkpoint.json").read_text())
    files = json.dumps(manifest.get("files", {}), sort_keys=True).encode()
    return {
        "model": model_name,
        "checkpoint_files_sha256": hashlib.sha256(files).hexdigest(),
        "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest(),
        "max_new_tokens": max_new_tokens,
        **({"check_answers": check_answers, "check_rule": CHECK_RULE} if check_answers else {}),
    }


def check_run_record(out: str | os.PathLike, expected: dict) -> None:
    """Refuse to continue `out` when its run record says another checkpoint or other settings wrote it."""
    path = run_record_path(out)
    if not path.is_file():
        return
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ReportRunError(f"{path}: unreadable run record ({exc}); delete it with {out} to start again") from None
    if not isinstance(recorded, dict):
        raise ReportRunError(
            f"{path}: a run record is a JSON object, got {type(recorded).__name__}; delete it with {out} to start again"
        )
    # Both ways: a setting only one of the two records has (an answer check) differs too.
    differing = sorted(key for key in expected.keys() | recorded.keys() if recorded.get(key) != expected.get(key))
    if differing and (Path(out).is_file() or shard_paths(out)):
        names = ", ".join(k.removesuffix("_sha256").replace("_", " ") for k in differing)
        raise ReportRunError(
            f"{out}: written by another run (different {names}); choose another --out, "
            f"or delete {out} and {path.name} to start again"
        )


def read_written(path: str | os.PathLike, model_name: str) -> list[dict]:
    """The rows of a predictions file being resumed (none if it is absent), without a torn last line.

    A last line without its newline is a write cut short by a kill and is left out. Any other bad line,
    or a report by another model, means the file is not this run's: one-line ReportRunError.
    """
    path = Path(path)
    if not path.is_file():
        return []
    torn = _torn_line_number(path)
    rows = []
    for number, row, problem in iter_jsonl(path):
        if number == torn:
            continue
        if problem is not None:
            raise ReportRunError(f"{problem}; not a predictions file a report run wrote, choose another --out")
        if not isinstance(row.get("id"), str):
            raise ReportRunError(f"{path}:{number}: a row without a string `id`; choose another --out")
        if row.get("model") != model_name:
            raise ReportRunError(
                f"{path}:{number}: a report by model {row.get('model')!r}, not {model_name!r}; "
                "choose another --out or --model-name"
            )
        rows.append(row)
    return rows


def drop_torn_line(path: str | os.PathLike) -> bool:
    """Cut a torn last line (no newline: a kill mid-write) off `path` so appending starts on a fresh line."""
    path = Path(path)
    if _torn_line_number(path) is None:
        return False
    os.truncate(path, path.read_bytes().rfind(b"\n") + 1)
    return True


def _torn_line_number(path: Path) -> int | None:
    """The number of the last line when it lacks its newline, else None (also for an absent file)."""
    data = path.read_bytes() if path.is_file() else b""
    if not data or data.endswith(b"\n"):
        return None
    return data.count(b"\n") + 1


# ---------------------------------------------------------------- processes: shards, barrier, merge


def shard_path(out: str | os.PathLike, rank: int, world_size: int) -> Path:
    """Process `rank`'s shard beside `out`: OUT_STEM.part-R-of-N.jsonl."""
    out = Path(out)
    return out.with_name(f"{out.stem}.part-{rank}-of-{world_size}.jsonl")


def shard_paths(out: str | os.PathLike) -> list[Path]:
    """The shard files beside `out`, of any number of processes (an earlier run may have used another)."""
    out = Path(out)
    pattern = re.compile(rf"{re.escape(out.stem)}\.part-(\d+)-of-(\d+)\.jsonl")
    found = [
        (m, p)
        for p in out.parent.glob(f"{glob.escape(out.stem)}.part-*-of-*.jsonl")
        if (m := pattern.fullmatch(p.name))
    ]
    return [p for m, p in sorted(found, key=lambda mp: (int(mp[0][2]), int(mp[0][1])))]


def merge_shards(out: str | os.PathLike, order: Sequence[str], model_name: str) -> int:
    """Rewrite `out` atomically: its rows, then the shards' rows in `order` (each id once); remove the shards.

    A torn last line of `out` is left out; an absent `out` is written (empty when there are no shards).
    """
    out = Path(out)
    rows = read_written(out, model_name)
    have = {row["id"] for row in rows}
    shards = shard_paths(out)
    found: dict[str, dict] = {}
    for shard in shards:
        for row in read_written(shard, model_name):
            if row["id"] not in have:
                found.setdefault(row["id"], row)
    position = {scan_id: index for index, scan_id in enumerate(order)}
    added = sorted(found.values(), key=lambda row: position.get(row["id"], len(order)))
    write_jsonl(out, rows + added)
    for shard in shards:
        shard.unlink()
    return len(added)


@contextlib.contextmanager
def process_group(processes: Processes, device: torch.device) -> Iterator[None]:
    """torch.distributed's process group for a launched run (nccl on GPUs, gloo on the CPU); nothing for one process."""
    if processes.world_size == 1:
        yield
        return
    import torch.distributed as dist

    if device.type == "cuda":
        torch.cuda.set_device(device)  # all_gather_object and barrier use the current device
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()


def _barrier(processes: Processes) -> None:
    if processes.world_size > 1:
        torch.distributed.barrier()


def _gather(
    processes: Processes, generated: int, refused: list[tuple[int, str]]
) -> tuple[list[int], list[tuple[int, str]]]:
    """Every process's report count and refusals (one process: its own)."""
    if processes.world_size == 1:
        return [generated], refused
    parts: list[tuple[int, list[tuple[int, str]]] | None] = [None] * processes.world_size
    torch.distributed.all_gather_object(parts, (generated, refused))
    return [count for count, _ in parts], [item for _, items in parts for item in items]
