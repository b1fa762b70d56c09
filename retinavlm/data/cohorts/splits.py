"""Patient-level train/validation/test splits, stratified by label, deterministic by seed.

A patient's scans (both eyes, every visit) always land in one split, or a model would be tested
on the eye it was trained on. Patients are ordered by stratum (their most frequent label), shuffled
within it by the seed, and dealt one by one to the split furthest below its share of scans so far:
every stratum, being a contiguous run of that order, is shared out in the same proportions.

K folds (`SplitConfig.folds`) cross-validate on a small cohort without touching its test patients. The test
patients of the split made without folds are set aside (in no split of any fold); the others are dealt the same
way into K parts. Fold k holds out part k as its `test` split (scored, never trained or chosen on) and splits the
rest into train and validation as usual, so a setting chosen on validation is scored on patients it never saw, and
over the K folds every patient outside the real test split is scored exactly once.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from retinavlm.errors import RetinaVLMError

SPLIT_NAMES = ("train", "validation", "test")
# With folds: the real test patients, in no split of any fold.
SET_ASIDE = "set_aside"


@dataclass(frozen=True)
class SplitConfig:
    """Fractions of scans for validation and test (train takes the rest), and the shuffle seed.

    With `folds` K >= 2, the test split is part `fold` of K of the patients outside the test split that `val` and
    `test` make without folds (those are set aside), and validation takes `val` of the scans of the other parts.
    """

    val: float = 0.15
    test: float = 0.15
    seed: int = 0
    folds: int = 0
    fold: int = 0

    def __post_init__(self) -> None:
        for name, value in (("val", self.val), ("test", self.test)):
            if not 0.0 <= value < 1.0:
                raise RetinaVLMError(f"--{name} must be a fraction in [0, 1), got {value}")
        if self.val + self.test >= 1.0:
            raise RetinaVLMError(f"--val {self.val} + --test {self.test} leaves no scans for training")
        problem = fold_problem(self.folds, self.fold)
        if problem:
            raise RetinaVLMError(f"--{problem}")

    @property
    def fractions(self) -> dict[str, float]:
        """The splits asked for, with their share of scans (a split of share 0 is left out)."""
        if self.folds:
            rest = 1.0 - self.test
            kept = rest * (self.folds - 1) / self.folds
            val = kept * self.val / rest
            shares = dict(zip(SPLIT_NAMES, (kept - val, val, rest / self.folds)))
        else:
            shares = self.shares_without_folds
        return {name: share for name, share in shares.items() if share > 0}

    @property
    def shares_without_folds(self) -> dict[str, float]:
        """train / validation / test shares as `val` and `test` set them; with folds, they set the test patients aside."""
        return dict(zip(SPLIT_NAMES, (1.0 - self.val - self.test, self.val, self.test)))


def fold_problem(folds: int, fold: int) -> str | None:
    """What is wrong with a fold setting ("folds: ..." or "fold: ..."), or None."""
    if folds == 1 or folds < 0:
        return f"folds: must be 0 (no folds) or at least 2, got {folds}"
    if not 0 <= fold < max(folds, 1):
        return f"fold: must be in [0, {max(folds, 1)}) for {folds} folds, got {fold}"
    return None


def split_by_patient(groups: Sequence[str], strata: Sequence[Hashable], config: SplitConfig) -> list[str]:
    """The split name of each row; rows with the same group (patient) always share a split. With folds, the real
    test patients' rows are named SET_ASIDE."""
    if len(groups) != len(strata):
        raise ValueError(f"{len(groups)} groups but {len(strata)} strata")
    rows_of: dict[str, list[int]] = defaultdict(list)
    for index, group in enumerate(groups):
        rows_of[group].append(index)
    stratum_of = {group: _most_common(strata[i] for i in rows) for group, rows in rows_of.items()}

    unfolded = {name: share for name, share in config.shares_without_folds.items() if share > 0}
    assigned = _deal(rows_of, stratum_of, unfolded, random.Random(config.seed))
    if config.folds:
        outside_test = {g: rows_of[g] for name in ("train", "validation") for g in assigned.get(name, [])}
        if len(outside_test) < config.folds:
            raise RetinaVLMError(
                f"{config.folds} folds need at least {config.folds} patients outside the test split; "
                f"there are {len(outside_test)}"
            )
        rng = random.Random(f"folds-{config.seed}")  # its own stream, so the parts do not depend on val
        parts = _deal(outside_test, stratum_of, dict.fromkeys(range(config.folds), 1.0 / config.folds), rng)
        kept = {g: rows_of[g] for k, members in parts.items() if k != config.fold for g in members}
        val = config.val / (1.0 - config.test)
        inner = _deal(kept, stratum_of, {name: s for name, s in (("train", 1.0 - val), ("validation", val)) if s}, rng)
        assigned = {**inner, "test": parts[config.fold], SET_ASIDE: assigned.get("test", [])}

    split_of_row = [""] * len(groups)
    for name, members in assigned.items():
        for group in members:
            for index in rows_of[group]:
                split_of_row[index] = name
    return split_of_row


def _deal(
    rows_of: dict[str, list[int]], stratum_of: dict[str, Hashable], fractions: dict[Any, float], rng: random.Random
) -> dict[Any, list[str]]:
    """Patients ordered by stratum, shuffled within it, each dealt to the part furthest below its share of scans."""
    order: list[str] = []
    for stratum in sorted({stratum_of[g] for g in rows_of}, key=repr):
        members = sorted(g for g in rows_of if stratum_of[g] == stratum)
        rng.shuffle(members)
        order.extend(members)

    assigned: dict[Any, list[str]] = {name: [] for name in fractions}
    scans = dict.fromkeys(fractions, 0)
    dealt = 0
    for group in order:
        dealt += len(rows_of[group])
        name = max(fractions, key=lambda n: fractions[n] * dealt - scans[n])  # ties: first part
        assigned[name].append(group)
        scans[name] += len(rows_of[group])
    _fill_empty_splits(assigned, rows_of)
    return assigned


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
