"""Rubric loading and criterion scores; statistics against scikit-learn and by construction."""

import functools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from retinavlm.evaluation import statistics as stats
from retinavlm.evaluation.extract import FindingsExtractor
from retinavlm.evaluation.reference import Reference
from retinavlm.evaluation.rubric import RubricError, default_rubric_path, load_rubric
from retinavlm.knowledge import load_knowledge


@functools.lru_cache(maxsize=1)
def setup():
    kb = load_knowledge()
    return kb, FindingsExtractor(kb), load_rubric(default_rubric_path(), kb)


def grade(report: str, stage="intermediate", referral="routine", biomarkers=None):
    kb, extractor, rubric = setup()
    ref = Reference("x", stage, referral, biomarkers if biomarkers is not None else {"drusen": "present"})
    scores = rubric.score(extractor.extract(report), ref, report, kb)
    return scores, rubric.total(scores)


def test_stage_adjacent_credit_and_referral_asymmetry():
    scores, _ = grade("Large drusen. Early AMD. Urgent referral.")
    assert scores["stage"].score == 0.5 and '"Early AMD"' in scores["stage"].explanation
    assert scores["referral"].score == 0.5 and "over-referral" in scores["referral"].explanation
    under, _ = grade(
        "Large drusen. Intermediate AMD. Routine referral.",
        stage="late_wet_active",
        referral="urgent",
        biomarkers={"srf": "present"},
    )
    assert under["referral"].score == 0.0 and "under-referral" in under["referral"].explanation
    assert under["stage"].score == 0.0


def test_completeness_accuracy_and_consistency():
    scores, total = grade(
        "Large drusen and subretinal fluid; possible PED. Intermediate AMD. Routine referral.",
        biomarkers={"drusen": "present", "ped": "present", "srf": "absent"},
    )
    assert scores["completeness"].score == pytest.approx((1 + 0.5) / 2)
    # statements: drusen (true), srf present (hallucinated), ped uncertain (true): 1 - 1/2.5
    assert scores["accuracy"].score == pytest.approx(1 - 1 / 2.5)
    assert '"subretinal fluid"' in scores["accuracy"].explanation
    # its own SRF makes the stage late_wet_active and the referral urgent: both contradict it
    assert scores["consistency"].score == 0.0 and "contradicts" in scores["consistency"].explanation
    assert 0.0 <= total <= 1.0


def test_consistent_report_and_not_applicable_criteria():
    scores, _ = grade(
        "Subretinal fluid. Active wet AMD. Urgent referral.", stage="late_wet_active", referral="urgent", biomarkers={}
    )
    assert scores["consistency"].score == 1.0
    assert scores["completeness"].score is None  # nothing present in the reference


def test_conciseness_penalises_repetition_and_length():
    short, _ = grade("Drusen.")
    assert short["conciseness"].score < 0.2
    repeated, _ = grade("Large drusen are present in the macula today. " * 4)
    assert repeated["conciseness"].score == pytest.approx(0.25)
    assert "3 repeated" in repeated["conciseness"].explanation


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_scores_always_in_unit_interval(report):
    scores, total = grade(report)
    for s in scores.values():
        assert s.score is None or 0.0 <= s.score <= 1.0
        assert s.explanation
    assert total is None or 0.0 <= total <= 1.0


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["criteria"][0].update(kind="nope"), "kind 'nope'"),
        (lambda d: d["criteria"][0].update(weight=-1), "weight"),
        (lambda d: d["criteria"][1]["params"]["scores"].pop("urgent"), "every reference level"),
        (lambda d: d["criteria"][0]["params"].update(bogus=1), "unknown param"),
        (lambda d: d["criteria"][0]["params"].update(credit_by_distance=[2.0]), r"\[0, 1\]"),
        (lambda d: d.update(extra=1), "unknown top-level"),
    ],
)
def test_rubric_validation_names_the_problem(tmp_path, edit, message):
    import yaml

    doc = yaml.safe_load(default_rubric_path().read_text())
    edit(doc)
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(RubricError, match=message):
        load_rubric(path, setup()[0])


# -- statistics ------------------------------------------------------------------------------------

LABELS = ["healthy", "early", "intermediate", "late"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(LABELS), st.sampled_from(LABELS + [None])), min_size=1, max_size=40))
def test_f1_matches_scikit_learn(pairs):
    truth = [t for t, _ in pairs]
    stated = [p for _, p in pairs]
    report = stats.classification_report(truth, stated, LABELS, LABELS[1:], None)
    filled = [p if p is not None else stats.NOT_STATED for p in stated]
    micro = f1_score(truth, filled, labels=LABELS[1:], average="micro", zero_division=0)
    seen = sorted(set(truth) | {p for p in stated if p is not None}, key=LABELS.index)
    macro = f1_score(truth, filled, labels=seen, average="macro", zero_division=0)
    assert report["f1_micro_positive"]["value"] == pytest.approx(micro)
    assert report["f1_macro"]["value"] == pytest.approx(macro)
    assert np.sum(report["confusion"]["counts"]) == len(pairs)


def test_binary_report_counts():
    out = stats.binary_report([True, True, False, False], [True, False, True, False], None)
    assert out["counts"] == {"tp": 1, "fp": 1, "fn": 1, "tn": 1}
    assert out["sensitivity"]["value"] == 0.5 and out["specificity"]["value"] == 0.5 and out["f1"]["value"] == 0.5


def test_bootstrap_resamples_patients_and_is_deterministic():
    units = ["a", "a", "b", "c", "c", "c"]
    w1 = stats.resample_weights(units, 50, seed=3)
    w2 = stats.resample_weights(units, 50, seed=3)
    assert np.array_equal(w1, w2)
    assert not np.array_equal(w1, stats.resample_weights(units, 50, seed=4))
    # the cases of one patient are drawn together; each resample draws as many patients as there are
    assert np.array_equal(w1[:, 0], w1[:, 1]) and np.array_equal(w1[:, 3], w1[:, 5])
    assert np.all(w1[:, [0, 2, 3]].sum(axis=1) == 3)


def test_mean_interval_contains_the_mean():
    rng = np.random.default_rng(0)
    values = list(rng.uniform(size=200))
    out = stats.mean_with_ci(values + [None], stats.resample_weights([str(i) for i in range(201)], 500, 0))
    assert out.low < out.value < out.high
    assert out.value == pytest.approx(np.mean(values))


def test_paired_comparisons():
    a = [1.0] * 30 + [0.0] * 10
    b = [0.0] * 30 + [1.0] * 10
    weights = stats.resample_weights([str(i) for i in range(40)], 400, 0)
    out = stats.paired_bootstrap(a, b, weights)
    assert out["difference"]["value"] == pytest.approx(0.5)
    assert out["p_value"] < 0.05
    test = stats.mcnemar([x == 1.0 for x in a], [x == 1.0 for x in b])
    assert (test["only_a_correct"], test["only_b_correct"]) == (30, 10)
    exact = 2 * sum(math.comb(40, k) for k in range(30, 41)) / 2**40  # two-sided exact binomial
    assert test["p_value"] == pytest.approx(exact)
    same = stats.paired_bootstrap(a, a, weights)
    assert same["difference"]["value"] == 0.0 and same["p_value"] == 1.0
    json.dumps(out)
