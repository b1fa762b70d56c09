"""Patient-level train/validation/test splits, stratified by label, deterministic by seed.

A patient's scans (both eyes, every visit) always land in one split, or a model would be tested
on the eye it was trained on. Patients are ordered by stratum (their most frequent label), shuffled
within it by the seed, and dealt one by one to the split furthest below its share of scans so far:
every stratum, being a contiguous run of that order, is shared out in the same proportions.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from retinavlm.errors import RetinaVLMError

SPLIT_NAMES = ("train", "validation", "test")


@dataclass(frozen=True)
class SplitConfig:
    """Fractions of scans for validation and test (train takes the rest), and the shuffle seed."""

    val: float = 0.15
    test: float = 0.15
    seed: int = 0

    def __post_init__(self) -> None:
        for name, value in (("val", self.val), ("test", self.test)):
            if not 0.0 <= value < 1.0:
                raise RetinaVLMError(f"--{name} must be a fraction in [0, 1), got {value}")
        if self.val + self.test >= 1.0:
            raise RetinaVLMError(f"--val {self.val} + --test {self.test} leaves no scans for training")

    @property
    def fractions(self) -> dict[str, float]:
        """The splits asked for, with their share of scans (a split of share 0 is left out)."""
        shares = dict(zip(SPLIT_NAMES, (1.0 - self.val - self.test, self.val, self.test)))
        return {name: share for name, share in shares.items() if share > 0}


def split_by_patient(groups: Sequence[str], strata: Sequence[Hashable], config: SplitConfig) -> list[str]:
    """The split name of each row; rows with the same group (patient) always share a split."""
    if len(groups) != len(strata):
        raise ValueError(f"{len(groups)} groups but {len(strata)} strata")
    fractions = config.fractions
    rows_of: dict[str, list[int]] = defaultdict(list)
    for index, group in enumerate(groups):
        rows_of[group].append(index)
    stratum_of = {group: _most_common(strata[i] for i in rows) for group, rows in rows_of.items()}

    rng = random.Random(config.seed)
    order: list[str] = []
    for stratum in sorted({*stratum_of.values()}, key=repr):
        members = sorted(g for g in rows_of if stratum_of[g] == stratum)
        rng.shuffle(members)
        order.extend(members)

    assigned: dict[str, list[str]] = {name: [] for name in fractions}
    scans = dict.fromkeys(fractions, 0)
    dealt = 0
    for group in order:
        dealt += len(rows_of[group])
        name = max(fractions, key=lambda n: fractions[n] * dealt - scans[n])  # ties: first split
        assigned[name].append(group)
        scans[name] += len(rows_of[group])
    _fill_empty_splits(assigned, rows_of)

    split_of_row = [""] * len(groups)
    for name, members in assigned.items():
        for group in members:
            for index in rows_of[group]:
                split_of_row[index] = name
    return split_of_row


def _most_common(values) -> Hashable:
    counts = Counter(values)
    return min(counts, key=lambda value: (-counts[value], repr(value)))


def _fill_empty_splits(assigned: dict[str, list[str]], rows_of: dict[str, list[int]]) -> None:
    """Give each empty split one patient (the smallest) from the split with the most, if it can spare one."""
    for _name, members in assigned.items():
        if members:
            continue
        donor = max(assigned, key=lambda n: len(assigned[n]))
        if len(assigned[donor]) < 2:
            return
        smallest = min(assigned[donor], key=lambda g: (len(rows_of[g]), g))
        assigned[donor].remove(smallest)
        members.append(smallest)
