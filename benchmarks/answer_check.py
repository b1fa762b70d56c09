"""What `retinavlm report --check-answers N` costs: checked reports against greedy ones, same process, same scans.

    python benchmarks/answer_check.py --checkpoint runs/demo/curriculum/stage2_specialism/final \
        --references runs/demo/validation/references.jsonl     # writes benchmarks/results/answer_check.json

A trained checkpoint is needed: how many scans get a beam search depends on how often the greedy report
disagrees with the model's own answers (an untrained model disagrees everywhere). Greedy and checked runs
alternate (`--repeats`), so a change in the machine's load touches both; the ratio of medians is recorded.

Also the closed-ended answers alone, each scan encoded once for its 13 questions (`answer_each_scan`, what
the closed-ended scores use; the check encodes each scan once the same way) against each (scan, question)
pair encoded on its own (`generate_batched`, the way they were asked before), alternating in the same way;
the answers must be equal.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch

from retinavlm.atomic import write_json
from retinavlm.data.io import read_scan
from retinavlm.knowledge import load_knowledge
from retinavlm.model.answer_check import AnswerCheck
from retinavlm.model.generation import answer_each_scan, generate_batched
from retinavlm.model.prompts import report_prompt
from retinavlm.model.vlm import RetinaVLM
from retinavlm.train.closed import ANSWER_TOKENS
from retinavlm.train.qa import prompt_for

sys.path.insert(0, str(Path(__file__).resolve().parent))
from read_augment import environment

RESULTS = Path(__file__).resolve().parent / "results" / "answer_check.json"


def timed_call(run: Callable[[], list[str]]) -> tuple[float, list[str]]:
    started = time.perf_counter()
    answers = run()
    return time.perf_counter() - started, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--references", required=True, help="references JSONL whose `image` fields name the scans")
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    kb = load_knowledge()
    model = RetinaVLM.from_pretrained(args.checkpoint, "cpu", kb)
    references = Path(args.references)
    rows = [json.loads(line) for line in references.read_text().splitlines() if line.strip()]
    pixels = [model.processor.preprocess(read_scan(references.parent / row["image"])) for row in rows]
    prompt = report_prompt()
    check = AnswerCheck.load(args.candidates, kb)

    def timed(**options) -> tuple[float, list[str]]:
        return timed_call(
            lambda: generate_batched(model, pixels, prompt, args.batch_size, args.max_new_tokens, **options)
        )

    greedy_seconds, checked_seconds = [], []
    for _ in range(args.repeats):
        seconds, greedy = timed()
        greedy_seconds.append(seconds)
        seconds, checked = timed(check=check)
        checked_seconds.append(seconds)

    questions = [prompt_for(question) for _, question in check.questions()]
    pairs = [(image, question) for image in pixels for question in questions]

    def per_pair() -> list[str]:
        return generate_batched(model, [i for i, _ in pairs], [q for _, q in pairs], args.batch_size, ANSWER_TOKENS)

    def per_scan() -> list[str]:
        answers = answer_each_scan(model, pixels, [questions] * len(pixels), args.batch_size, ANSWER_TOKENS)
        return [answer for mine in answers for answer in mine]

    pair_seconds, scan_seconds = [], []
    for _ in range(args.repeats):
        seconds, by_pair = timed_call(per_pair)
        pair_seconds.append(seconds)
        seconds, by_scan = timed_call(per_scan)
        scan_seconds.append(seconds)
    if by_pair != by_scan:
        raise SystemExit("the closed answers differ between encoding each scan once and each pair")
    result = {
        "benchmark": "answer_check",
        **environment(),
        "threads": torch.get_num_threads(),
        "checkpoint": str(args.checkpoint),
        "scans": len(rows),
        "candidates": args.candidates,
        "batch_size": args.batch_size,
        "max_new_tokens": args.max_new_tokens,
        "reports_changed_by_the_check": sum(a != b for a, b in zip(greedy, checked, strict=True)),
        "greedy_seconds": [round(s, 2) for s in greedy_seconds],
        "checked_seconds": [round(s, 2) for s in checked_seconds],
        "checked_over_greedy": round(statistics.median(checked_seconds) / statistics.median(greedy_seconds), 1),
        "closed_answers": len(pairs),
        "closed_answers_each_pair_encoded_seconds": [round(s, 2) for s in pair_seconds],
        "closed_answers_each_scan_encoded_once_seconds": [round(s, 2) for s in scan_seconds],
        "closed_answers_speedup": round(statistics.median(pair_seconds) / statistics.median(scan_seconds), 2),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, indent=2))
    write_json(RESULTS, result)


if __name__ == "__main__":
    main()
