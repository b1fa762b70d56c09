"""Patient-level splits: no patient in two splits, shares and strata respected, deterministic."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retinavlm.data.cohorts import SplitConfig, split_by_patient
from retinavlm.data.cohorts.splits import SET_ASIDE
from retinavlm.errors import RetinaVLMError

STAGES = [None, "healthy", "early", "intermediate", "late_wet_active"]


@st.composite
def cohorts(draw):
    """Rows of random patients (1-6 scans each), mostly sharing their patient's stage, in random order."""
    groups, strata = [], []
    for patient in range(draw(st.integers(1, 40))):
        stage = draw(st.sampled_from(STAGES))
        for _ in range(draw(st.integers(1, 6))):
            groups.append(f"p{patient}")
            strata.append(draw(st.sampled_from([stage, stage, stage, None])))
    order = draw(st.permutations(range(len(groups))))
    return [groups[i] for i in order], [strata[i] for i in order]


configs = st.builds(
    SplitConfig,
    val=st.sampled_from([0.0, 0.1, 0.15, 0.3]),
    test=st.sampled_from([0.0, 0.15, 0.2]),
    seed=st.integers(0, 2**31),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(cohorts(), configs)
def test_split_properties(cohort, config):
    groups, strata = cohort
    names = split_by_patient(groups, strata, config)

    assert len(names) == len(groups)
    assert set(names) <= set(config.fractions)
    splits_of_patient = defaultdict(set)
    for group, name in zip(groups, names):
        splits_of_patient[group].add(name)
    assert all(len(s) == 1 for s in splits_of_patient.values()), "a patient is in two splits"

    assert split_by_patient(groups, strata, config) == names, "not deterministic"
    split_of = {g: next(iter(s)) for g, s in splits_of_patient.items()}
    reversed_names = split_by_patient(groups[::-1], strata[::-1], config)
    assert reversed_names == [split_of[g] for g in groups[::-1]], "depends on row order"

    if len(splits_of_patient) >= len(config.fractions):
        assert set(names) == set(config.fractions), "a split asked for is empty"

    largest = max(Counter(groups).values())
    scans = Counter(names)
    for name, share in config.fractions.items():
        assert abs(scans[name] - share * len(groups)) <= 2 * largest


def stratified_patients(n: int, stages: int) -> tuple[list[str], list[str]]:
    """n patients with one or two scans, their stages taking turns over the first `stages` known stages."""
    groups, strata = [], []
    for patient in range(n):
        for _ in range(1 + patient % 2):
            groups.append(f"p{patient}")
            strata.append(STAGES[1 + patient % stages])
    return groups, strata


def test_each_stratum_is_shared_in_the_asked_proportions():
    groups, strata = stratified_patients(300, 3)
    names = split_by_patient(groups, strata, SplitConfig(val=0.15, test=0.15, seed=3))
    for stage in STAGES[1:4]:
        in_stage = Counter(n for n, s in zip(names, strata) if s == stage)
        total = sum(in_stage.values())
        assert abs(in_stage["validation"] / total - 0.15) < 0.03
        assert abs(in_stage["test"] / total - 0.15) < 0.03


def test_seed_changes_the_split_and_zero_fraction_drops_the_split():
    groups = [f"p{i // 2}" for i in range(200)]
    strata = ["early"] * 200
    a = split_by_patient(groups, strata, SplitConfig(seed=0))
    b = split_by_patient(groups, strata, SplitConfig(seed=1))
    assert a != b
    assert set(split_by_patient(groups, strata, SplitConfig(val=0.0, test=0.2))) == {"train", "test"}


@pytest.mark.parametrize(("val", "test"), [(-0.1, 0.1), (1.0, 0.0), (0.5, 0.5)])
def test_impossible_fractions_are_refused(val, test):
    with pytest.raises(ValueError, match="val|test"):
        SplitConfig(val=val, test=test)


fold_counts = st.integers(2, 5)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(cohorts(), configs, fold_counts)
def test_folds_set_the_test_patients_aside_and_hold_out_every_other_patient_once(cohort, config, folds):
    """Over K folds each patient outside the real test split is held out (the fold's `test`) exactly once, and
    trained or validated on in the others; the real test patients are in no split of any fold."""
    groups, strata = cohort
    unfolded = split_by_patient(groups, strata, config)
    outside_test = {g for g, n in zip(groups, unfolded) if n != "test"}
    if len(outside_test) < folds:
        with pytest.raises(RetinaVLMError, match=f"{folds} folds need"):
            split_by_patient(groups, strata, SplitConfig(config.val, config.test, config.seed, folds, 0))
        return
    held_out_in: dict[str, list[int]] = defaultdict(list)
    for fold in range(folds):
        names = split_by_patient(groups, strata, SplitConfig(config.val, config.test, config.seed, folds, fold))
        assert [n == SET_ASIDE for n in names] == [n == "test" for n in unfolded]
        splits_of_patient = defaultdict(set)
        for group, name in zip(groups, names):
            splits_of_patient[group].add(name)
        assert all(len(s) == 1 for s in splits_of_patient.values()), "a patient is in two splits"
        for group in {g for g, n in zip(groups, names) if n == "test"}:
            held_out_in[group].append(fold)
    assert set(held_out_in) == outside_test
    assert all(len(folds_of) == 1 for folds_of in held_out_in.values()), "a patient is held out twice"


def test_folds_are_stratified_and_keep_the_validation_share():
    groups, strata = stratified_patients(400, 4)
    config = SplitConfig(val=0.15, test=0.15, seed=1, folds=4, fold=0)
    for fold in range(4):
        names = split_by_patient(groups, strata, SplitConfig(val=0.15, test=0.15, seed=1, folds=4, fold=fold))
        for stage in STAGES[1:]:
            in_stage = Counter(n for n, s in zip(names, strata) if s == stage)
            total = sum(in_stage.values())
            for name, share in config.fractions.items():
                assert abs(in_stage[name] / total - share) < 0.03, (fold, stage, in_stage)
    assert config.fractions["validation"] / (1 - 0.15) == pytest.approx(0.15 * 3 / 4 / 0.85)


@pytest.mark.parametrize(("folds", "fold"), [(1, 0), (-2, 0), (4, 4), (4, -1), (0, 1)])
def test_impossible_folds_are_refused(folds, fold):
    with pytest.raises(RetinaVLMError, match="--folds|--fold"):
        SplitConfig(folds=folds, fold=fold)
