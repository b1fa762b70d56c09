"""Batched generation, in input order, with left padding; images are read lazily, one batch at a time.

- `generate_batched`: one answer per (image, prompt) pair, `batch_size` pairs per call. The one loop behind
  `retinavlm report` and the demo's reports, so that a report is written the same way everywhere: greedy,
  or, when asked, checked against the model's own answers (answer_check.py).
- `answer_each_scan`: several prompts per image, the image encoded once for all of them (the closed-ended
  scores).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice, repeat
from typing import TYPE_CHECKING

import torch
from tqdm.auto import tqdm

from retinavlm.model.vlm import RetinaVLM

if TYPE_CHECKING:
    from retinavlm.model.answer_check import AnswerCheck


def generate_batched(
    model: RetinaVLM,
    images: Iterable[torch.Tensor],
    prompts: str | Iterable[str],
    batch_size: int,
    max_new_tokens: int,
    progress: str | None = None,
    total: int | None = None,
    check: AnswerCheck | None = None,
) -> list[str]:
    """Greedy answers for each image (1, S, S) with its prompt (or one prompt for all), in order; checked
    reports with `check` (answer_check.py).

    `progress` labels a progress bar over `total` pairs (shown on a terminal only).
    """
    batches = generate_in_batches(model, images, prompts, batch_size, max_new_tokens, progress, total, check)
    return [answer for batch in batches for answer in batch]


def answer_each_scan(
    model: RetinaVLM,
    images: Iterable[torch.Tensor],
    prompts: Iterable[Sequence[str]],
    batch_size: int,
    max_new_tokens: int,
) -> list[list[str]]:
    """Greedy answers to each image's (1, S, S) own prompts, in order, the image encoded once for all of them.

    The closed-ended scores ask every scan 13 questions; encoding it 13 times cost more than the LM itself.
    A batch holds whole scans, as many as keep its prompts within `batch_size` (always at least one scan).
    """
    if batch_size < 1 or max_new_tokens < 1:
        raise ValueError(f"batch_size={batch_size} and max_new_tokens={max_new_tokens} must be at least 1")
    answers: list[list[str]] = []
    for group in _scan_groups(zip(images, prompts, strict=True), batch_size):
        scan_of_prompt = [k for k, (_, mine) in enumerate(group) for _ in mine]
        if not scan_of_prompt:
            answers += [[] for _ in group]
            continue
        features = model.inference_features(torch.stack([image for image, _ in group]))
        replies = iter(
            model.generate(
                None,
                [prompt for _, mine in group for prompt in mine],
                max_new_tokens=max_new_tokens,
                image_features=features[scan_of_prompt],
            )
        )
        answers += [[next(replies) for _ in mine] for _, mine in group]
    return answers


def _scan_groups(
    scans: Iterator[tuple[torch.Tensor, Sequence[str]]], batch_size: int
) -> Iterator[list[tuple[torch.Tensor, Sequence[str]]]]:
    group: list[tuple[torch.Tensor, Sequence[str]]] = []
    prompts = 0
    for image, mine in scans:
        if group and prompts + len(mine) > batch_size:
            yield group
            group, prompts = [], 0
        group.append((image, mine))
        prompts += len(mine)
    if group:
        yield group


def generate_in_batches(
    model: RetinaVLM,
    images: Iterable[torch.Tensor],
    prompts: str | Iterable[str],
    batch_size: int,
    max_new_tokens: int,
    progress: str | None = None,
    total: int | None = None,
    check: AnswerCheck | None = None,
) -> Iterator[list[str]]:
    """`generate_batched`, one list of answers per batch as soon as it is generated (for writers that stream).

    The images of the next batch are not read before this batch's answers are taken. With `check`, each
    answer is the report checked against the model's own closed answers (answer_check.py).
    """
    if batch_size < 1 or max_new_tokens < 1:
        raise ValueError(f"batch_size={batch_size} and max_new_tokens={max_new_tokens} must be at least 1")
    pairs = zip(images, repeat(prompts)) if isinstance(prompts, str) else zip(images, prompts, strict=True)
    return _generate(model, pairs, batch_size, max_new_tokens, progress, total, check)


def _generate(
    model: RetinaVLM,
    pairs: Iterator[tuple[torch.Tensor, str]],
    batch_size: int,
    max_new_tokens: int,
    progress: str | None,
    total: int | None,
    check: AnswerCheck | None,
) -> Iterator[list[str]]:
    with tqdm(total=total, desc=progress, unit="answer", disable=None if progress else True) as bar:
        for batch in _batches(pairs, batch_size):
            pixels = torch.stack([image for image, _ in batch])
            prompts = [prompt for _, prompt in batch]
            if check is None:
                answers = model.generate(pixels, prompts, max_new_tokens=max_new_tokens)
            else:
                answers = check.reports(model, pixels, prompts, max_new_tokens)
            bar.update(len(batch))
            yield answers


def _batches(pairs: Iterator[tuple[torch.Tensor, str]], size: int) -> Iterator[list[tuple[torch.Tensor, str]]]:
    while batch := list(islice(pairs, size)):
        yield batch
