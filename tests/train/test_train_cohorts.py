"""Several cohorts in one stage: each split by patient on its own, merged with unique ids, drawn by weight;
partially labelled scans kept (nothing skipped for an unknown), with what was known counted."""

from collections import Counter
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from retinavlm.data.cohorts.splits import SplitConfig
from retinavlm.knowledge import load_knowledge
from retinavlm.resources import curricula_dir, shared_data_dir
from retinavlm.train.config import CohortEntry, ConfigError, Data
from retinavlm.train.data import epoch_examples
from retinavlm.train.qa import load_templates
from retinavlm.train.records import CohortError, CohortSplits, ScanRecord, count_known, load_cohorts, load_splits
from retinavlm.train.stage_loading import load_stage

KB = load_knowledge()
STAGE1 = load_templates(curricula_dir() / "templates" / "qa_findings.yaml")
KERMANY = shared_data_dir() / "kermany-oct2017" if shared_data_dir() else None


def record(scan_id: str, stage: str | None = "healthy") -> ScanRecord:
    return ScanRecord(scan_id, scan_id, Path(f"{scan_id}.png"), stage, "none", {"drusen": "absent", "srf": None})


def merged(sizes: list[int], weights: list[float]) -> CohortSplits:
    splits = CohortSplits([], [], [], [])
    for c, (size, weight) in enumerate(zip(sizes, weights)):
        records = [record(f"c{c}-{i}") for i in range(size)]
        splits.train += records
        splits.cohort_of.update({r.id: f"c{c}" for r in records})
        splits.cohort_weights[f"c{c}"] = weight
    return splits


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 40), st.floats(0.05, 20)), min_size=1, max_size=4),
    st.integers(1, 6),
)
def test_each_cohort_gets_its_weight_share_of_the_draws_whatever_its_size(cohorts, per_scan):
    sizes, weights = [c[0] for c in cohorts], [c[1] for c in cohorts]
    splits = merged(sizes, weights)
    examples = epoch_examples(splits.train, splits.train_weights, per_scan, {"stage": 1.0}, STAGE1, KB, seed=0, epoch=0)
    drawn = Counter(splits.cohort_of[splits.train[e.scan].id] for e in examples)
    total = len(examples)
    assert total == per_scan * sum(sizes)
    for c, weight in enumerate(weights):
        expected = weight / sum(weights) * total
        assert abs(drawn[f"c{c}"] - expected) < 1 + 1e-6  # systematic sampling: within one example


def test_one_cohort_draws_every_scan_equally():
    splits = merged([7], [3.0])
    assert splits.train_weights.tolist() == [1.0] * 7


def test_two_cohorts_merge_with_unique_ids_split_by_patient_on_their_own(small_cohort, kb):
    one = load_splits(small_cohort, kb, _split())
    data = Data([CohortEntry(str(small_cohort), 3.0, "synth"), CohortEntry(str(small_cohort), 1.0, "again")])
    both = load_cohorts(data, kb)
    assert len(both.train) == 2 * len(one.train) and len(both.test) == 2 * len(one.test)
    ids = [r.id for split in ("train", "validation", "test") for r in both.split(split)]
    assert len(ids) == len(set(ids))
    # the second cohort's ids clashed, so they carry its name; the first cohort's stay as they were
    assert {r.id for r in both.train[: len(one.train)]} == {r.id for r in one.train}
    assert all(r.id.startswith("again:") for r in both.train[len(one.train) :])
    shares = Counter()
    for r, w in zip(both.train, both.train_weights):
        shares[both.cohort_of[r.id]] += w
    assert shares["synth"] / shares["again"] == pytest.approx(3.0)


def test_a_stage_holds_out_its_fold_and_never_sees_the_test_patients(small_cohort, kb):
    """data.folds / data.fold reach the split of every cohort: fold k scores part k, and the real test patients are
    in no split."""
    plain = load_cohorts(Data(str(small_cohort)), kb)
    folds = [load_cohorts(Data(str(small_cohort), folds=3, fold=k), kb) for k in range(3)]
    test_ids = {r.id for r in plain.test}
    for f in folds:
        seen = [r for split in ("train", "validation", "test") for r in f.split(split)]
        assert not {r.id for r in seen} & test_ids
        assert len(seen) == len(plain.train) + len(plain.validation)
        assert not {r.patient_id for r in f.train + f.validation} & {r.patient_id for r in f.test}
    assert sorted(r.id for f in folds for r in f.test) == sorted(r.id for r in plain.train + plain.validation)


def test_too_many_folds_name_the_cohort(small_cohort, kb):
    with pytest.raises(CohortError, match=f"{small_cohort}: 200 folds need at least 200 patients"):
        load_cohorts(Data(str(small_cohort), folds=200), kb)


def test_max_train_scans_caps_each_cohort(small_cohort, kb):
    data = Data([CohortEntry(str(small_cohort), 1.0, "a"), CohortEntry(str(small_cohort), 1.0, "b")], max_train_scans=3)
    splits = load_cohorts(data, kb)
    assert Counter(splits.cohort_of[r.id] for r in splits.train) == {"a": 3, "b": 3}


def _split() -> SplitConfig:
    return SplitConfig(0.15, 0.15, 0)


def _stage(tmp_path: Path, cohort) -> Path:
    doc = yaml.safe_load((curricula_dir() / "stage1_introduction.yaml").read_text())
    doc["data"]["cohort"] = cohort
    doc["qa"]["templates"] = str(curricula_dir() / "templates" / "qa_findings.yaml")
    path = tmp_path / "stage.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_stage_yaml_takes_a_list_of_weighted_cohorts(small_cohort, tmp_path):
    cfg = load_stage(
        _stage(tmp_path, [{"path": str(small_cohort), "weight": 2}, {"path": str(small_cohort), "name": "b"}])
    )
    assert cfg.data.cohort == [CohortEntry(str(small_cohort), 2.0), CohortEntry(str(small_cohort), 1.0, "b")]
    assert load_stage(_stage(tmp_path, str(small_cohort))).data.cohort == str(small_cohort)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"path": "COHORT", "wieght": 2}], r"stage\.yaml: data\.cohort\[0\]\.wieght: unknown key"),
        ([{"path": "COHORT", "weight": "x"}], r"stage\.yaml: data\.cohort\[0\]\.weight: expected a number, got 'x'"),
        ([{"weight": 1}], r"stage\.yaml: data\.cohort\[0\]\.path: required key is missing"),
        ([{"path": "COHORT", "weight": 0}], r"stage\.yaml: data\.cohort\[0\]\.weight: must be a positive number"),
        ([{"path": "/nowhere"}], r"stage\.yaml: data\.cohort\[0\]: cohort /nowhere not found"),
        ([{"path": "COHORT"}, {"path": "COHORT"}], r"data\.cohort\[1\]\.name: cohort name '\w+' is used twice"),
        ([], r"data\.cohort: no cohort folder given"),
    ],
)
def test_bad_cohort_lists_name_the_file_and_key(small_cohort, tmp_path, entries, message):
    entries = [{k: str(small_cohort) if v == "COHORT" else v for k, v in e.items()} for e in entries]
    with pytest.raises(ConfigError, match=message) as info:
        load_stage(_stage(tmp_path, entries))
    assert "\n" not in str(info.value)


def test_partial_labels_are_kept_and_counted(kb):
    records = [
        ScanRecord("a", "p", Path("a.png"), None, "urgent", {**dict.fromkeys(kb.biomarker_ids), "irf": "present"}),
        ScanRecord("b", "q", Path("b.png"), "healthy", "none", dict.fromkeys(kb.biomarker_ids, "absent")),
    ]
    known = count_known(records)
    assert (known["scans"], known["complete"], known["stage"], known["referral"]) == (2, 1, 1, 2)
    assert known["biomarkers"]["irf"] == 2 and known["biomarkers"]["srf"] == 1
    assert records[0].findings() == {"irf": {"state": "present"}}
    assert not records[0].known("srf") and records[0].known("irf")


@pytest.mark.skipif(KERMANY is None or not KERMANY.is_dir(), reason="the public Kermany sample is not here")
def test_the_kermany_sample_trains_on_every_scan_whatever_it_lacks(kb):
    splits = load_cohorts(Data(str(KERMANY)), kb)
    scans = sum(len(splits.split(name)) for name in ("train", "validation", "test"))
    images = sum(1 for p in KERMANY.rglob("*.jpeg"))
    assert splits.refused == [] and scans == images
    known = splits.known["train"]
    assert known["scans"] == len(splits.train)
    assert 0 < known["complete"] < known["scans"]  # only NORMAL scans are complete
    assert known["referral"] == known["scans"]  # every class gives a referral
    assert 0 < known["stage"] < known["scans"]  # DME (not AMD) and DRUSEN (size unknown) have none
    assert known["condition"] == sum(r.condition == "dme" for r in splits.train) > 0


def test_over_epochs_a_small_share_reaches_every_scan():
    splits = merged([4, 12], [3.0, 1.0])  # the second cohort's scans get a third of an example per epoch
    seen = Counter()
    for epoch in range(12):
        examples = epoch_examples(
            splits.train, splits.train_weights, 1, {"stage": 1.0}, STAGE1, KB, seed=0, epoch=epoch
        )
        seen.update(splits.train[e.scan].id for e in examples)
    assert all(seen[r.id] > 0 for r in splits.train)
