"""What a stage trains on, step by step: question/answer examples per epoch and their batches.

A batch is a list of rows; a row holds one example, or with `questions_per_row` K > 1 up to K examples
of the same scan, which the model reads as one packed row sharing the scan's image tokens
(retinavlm.model.packing). The order is a pure function of (seed, epoch), never of a global RNG, so a resumed run sees exactly
the batches an uninterrupted one would, and every process of a DDP run agrees on the global batch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from retinavlm.knowledge import KnowledgeBase
from retinavlm.train.qa import QAPair, Templates, build_pairs
from retinavlm.train.records import ScanRecord


@dataclass(frozen=True)
class Example:
    scan: int  # index into the stage's training scans
    pair: QAPair

    @property
    def length(self) -> int:
        return len(self.pair.question) + len(self.pair.answer)


def allocate(total: int, weights: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """Split `total` examples over scans in proportion to `weights`; sums exactly.

    Systematic sampling: scan i gets the whole steps of `offset` + the running share that fall in its own
    share, so every scan gets its share rounded down or up, and so does every run of neighbouring scans
    (a cohort, whose scans are listed together) — a cohort's draws match its weight within one example.
    A fresh `offset` in [0, 1) per epoch hands the fractional examples to different scans each epoch.
    """
    share = weights / weights.sum() * total
    edges = np.floor(np.round(np.concatenate([[0.0], np.cumsum(share)]), 9) + offset).astype(int)
    return np.diff(edges)


def epoch_examples(
    records: list[ScanRecord],
    weights: np.ndarray,
    per_scan: int,
    builders: dict[str, float],
    templates: Templates,
    kb: KnowledgeBase,
    seed: int,
    epoch: int,
) -> list[Example]:
    """Fresh question/answer pairs for every scan: `per_scan` on average, more for up-weighted scans."""
    counts = allocate(per_scan * len(records), weights, random.Random(f"{seed}/{epoch}/allocate").random())
    examples = []
    for index, (record, count) in enumerate(zip(records, counts)):
        rng = random.Random(f"{seed}/{epoch}/{record.id}")
        examples.extend(Example(index, pair) for pair in build_pairs(record, int(count), builders, templates, kb, rng))
    return examples


def length_grouped_batches(lengths: list[int], batch_size: int, group_batches: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar length (less padding); the incomplete last batch is dropped.

    As transformers' LengthGroupedSampler: shuffle, sort by length inside windows of `group_batches`
    batches, cut into batches, shuffle the batches.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    window = batch_size * group_batches
    grouped: list[int] = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        grouped.extend(sorted(chunk.tolist(), key=lambda i: -lengths[i]))
    batches = [grouped[i : i + batch_size] for i in range(0, len(grouped) - batch_size + 1, batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


Row = tuple[Example, ...]


def scan_rows(examples: list[Example], questions_per_row: int) -> list[Row]:
    """Consecutive examples of the same scan, up to `questions_per_row` per row (epoch_examples lists a scan's
    examples together, in a random order, so a row is a random draw of that scan's questions)."""
    rows: list[Row] = []
    for example in examples:
        last = rows[-1] if rows else ()
        if last and last[0].scan == example.scan and len(last) < questions_per_row:
            rows[-1] = last + (example,)
        else:
            rows.append((example,))
    return rows


class EpochPlan:
    """Maps a global optimizer step to its batch of rows (one epoch's plan cached at a time)."""

    def __init__(
        self,
        records: list[ScanRecord],
        weights: np.ndarray,
        per_scan: int,
        builders: dict[str, float],
        templates: Templates,
        kb: KnowledgeBase,
        batch_size: int,
        group_batches: int,
        seed: int,
        questions_per_row: int = 1,
    ):
        self._args = (records, weights, per_scan, builders, templates, kb)
        self.batch_size = batch_size
        self.questions_per_row = questions_per_row
        self.group_batches = group_batches
        self.seed = seed
        self._epoch: int | None = None
        self._rows: list[Row] = []
        self._batches: list[list[int]] = []
        self._plan(0)
        self.steps_per_epoch = len(self._batches)
        if self.steps_per_epoch == 0:
            raise ValueError(f"{len(self._rows)} training rows do not fill one batch of {batch_size}")

    def batch(self, step: int) -> tuple[int, list[Row]]:
        """(epoch, rows) of a global step."""
        epoch, position = divmod(step, self.steps_per_epoch)
        self._plan(epoch)
        # An epoch may build a few pairs fewer than epoch 0 (a builder that does not apply): wrap.
        return epoch, [self._rows[i] for i in self._batches[position % len(self._batches)]]

    def _plan(self, epoch: int) -> None:
        if epoch != self._epoch:
            self._rows = scan_rows(epoch_examples(*self._args, seed=self.seed, epoch=epoch), self.questions_per_row)
            lengths = [sum(e.length for e in row) for row in self._rows]
            self._batches = length_grouped_batches(
                lengths, self.batch_size, self.group_batches, self.seed * 100_003 + epoch
            )
            self._epoch = epoch
