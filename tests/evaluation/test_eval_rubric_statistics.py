"""Rubric loading and criterion scores (unknown reference labels are not scored); statistics against
scikit-learn and by construction, paired tests clustered by patient."""

import functools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from sklearn.metrics import f1_score

from retinavlm.evaluation import statistics as stats
from retinavlm.evaluation.extract import FindingsExtractor
from retinavlm.evaluation.grade import grade_miss, grade_pairs
from retinavlm.evaluation.reference import Reference, ReferenceFormatError, parse_reference
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
        (lambda d: d["criteria"][0].update(kind="nope"), r"r\.yaml: criteria\[0\]\.kind: 'nope' is not one of"),
        (lambda d: d["criteria"][0].update(weight=-1), r"criteria\[0\]\.weight: must be a non-negative"),
        (lambda d: d["criteria"][0].update(weight="heavy"), r"criteria\[0\]\.weight: expected a number"),
        (
            lambda d: d["criteria"][1]["params"]["scores"].pop("urgent"),
            r"criteria\[1\]\.params\.scores: .*every reference level",
        ),
        (
            lambda d: d["criteria"][1]["params"]["scores"]["none"].update(none=2),
            r"params\.scores\.none\.none: .*\[0, 1\]",
        ),
        (lambda d: d["criteria"][0]["params"].update(bogus=1), r"criteria\[0\]\.params\.bogus: unknown param"),
        (lambda d: d["criteria"][0]["params"].update(credit_by_distance=[2.0]), r"credit_by_distance\[0\]: .*\[0, 1\]"),
        (lambda d: d["criteria"][1].update(id="stage"), r"criteria\[1\]\.id: criterion id 'stage' is used twice"),
        (lambda d: d.update(criteria=[]), "criteria: list at least one criterion"),
        (lambda d: d.update(extra=1), "extra: unknown key"),
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
    test = stats.mcnemar([x == 1.0 for x in a], [x == 1.0 for x in b], [str(i) for i in range(40)])
    assert (test["only_a_correct"], test["only_b_correct"]) == (30, 10)
    exact = 2 * sum(math.comb(40, k) for k in range(30, 41)) / 2**40  # two-sided exact binomial
    assert test["p_value"] == pytest.approx(exact)
    same = stats.paired_bootstrap(a, a, weights)
    assert same["difference"]["value"] == 0.0 and same["p_value"] == 1.0
    json.dumps(out)


# -- unknown reference labels are never scored -------------------------------------------------------

HEALTHY_TEMPLATE = (  # the demo's always_healthy system (curricula/demo.yaml)
    "No drusen, no pigment epithelial detachment, no subretinal or intraretinal fluid and no atrophy. "
    "Healthy macula with no signs of AMD. No referral needed."
)


def test_unknown_stage_and_referral_are_not_applicable():
    scores, total = grade("Large drusen. Early AMD. Urgent referral.", stage=None, referral=None)
    assert scores["stage"].score is None and "unknown" in scores["stage"].explanation
    assert scores["referral"].score is None and "unknown" in scores["referral"].explanation
    known = [c for c in setup()[2].criteria if scores[c.id].score is not None]
    expected = sum(c.weight * scores[c.id].score for c in known) / sum(c.weight for c in known)
    assert total == pytest.approx(expected)


def test_accuracy_and_completeness_score_only_known_biomarkers():
    report = "Large drusen and subretinal fluid, no PED. Intermediate AMD. Routine referral."
    # srf unknown, ped unknown: only the drusen statement can be checked
    scores, _ = grade(report, biomarkers={"drusen": "present"})
    assert scores["accuracy"].score == 1.0
    assert "1 of 1" in scores["accuracy"].explanation and "2 more" in scores["accuracy"].explanation
    # a stated finding is false only when the reference knows the opposite
    scores, _ = grade(report, biomarkers={"drusen": "present", "srf": "absent", "ped": "present"})
    assert scores["accuracy"].score == pytest.approx(1 / 3)
    # nothing the reference knows was stated: not applicable rather than perfect
    scores, _ = grade(report, biomarkers={"irf": "absent"})
    assert scores["accuracy"].score is None and scores["completeness"].score is None
    # completeness counts only the known-present biomarkers
    scores, _ = grade("Large drusen. Intermediate AMD.", biomarkers={"drusen": "present", "srf": "absent"})
    assert scores["completeness"].score == 1.0


def samples_for(references: list[Reference], reports: list[str | None]):
    """Graded samples; a None report is a missing one (graded as a miss)."""
    kb, extractor, rubric = setup()
    given = [i for i, r in enumerate(reports) if r is not None]
    graded = dict(
        zip(given, grade_pairs([references[i] for i in given], [reports[i] for i in given], rubric, extractor))
    )
    return [graded[i] if i in graded else grade_miss(references[i], rubric, kb) for i in range(len(references))]


def test_always_healthy_template_is_not_rewarded_on_unknown_biomarkers():
    """Kermany-like references: a diagnosis, no biomarker list. The healthy template's "no drusen, no
    fluid" must not count as true negations of findings nobody labelled."""
    kb, _, rubric = setup()
    references = [Reference(f"r{i}", "late_wet_active", "urgent", {}, patient_id=f"p{i}") for i in range(6)]
    samples = samples_for(references, [HEALTHY_TEMPLATE] * 6)
    out = stats.system_statistics(samples, rubric, kb, resamples=50, seed=0)
    assert out["criteria"]["accuracy"]["n_applicable"] == 0 and out["criteria"]["accuracy"]["value"] is None
    for bid, b in out["biomarkers"].items():
        assert b["n"] == 0 and b["specificity"]["value"] is None, bid
    assert out["stage"]["n"] == 6 and out["stage"]["accuracy"]["value"] == 0.0
    # the same template against fully labelled references does get credit for its true negations
    labelled = [
        Reference(r.id, r.stage, r.referral, {"srf": "present"} | dict.fromkeys(["drusen", "irf"], "absent"))
        for r in references
    ]
    out = stats.system_statistics(samples_for(labelled, [HEALTHY_TEMPLATE] * 6), rubric, kb, 0, 0)
    assert out["biomarkers"]["irf"]["specificity"]["value"] == 1.0 and out["biomarkers"]["irf"]["n"] == 6


def test_unknown_stage_is_left_out_of_f1_and_confusion():
    kb, _, rubric = setup()
    references = [
        Reference("a", "intermediate", "routine", {"drusen": "present"}),
        Reference("b", None, "routine", {"drusen": "present"}),
        Reference("c", "healthy", None, {}),
    ]
    report = "Large drusen. Intermediate AMD. Routine referral."
    out = stats.system_statistics(samples_for(references, [report] * 3), rubric, kb, 0, 0)
    assert out["stage"]["n"] == 2 and np.sum(out["stage"]["confusion"]["counts"]) == 2
    assert out["referral"]["n"] == 2 and out["referral"]["accuracy"]["value"] == 1.0
    assert out["criteria"]["stage"]["n_applicable"] == 2
    empty = stats.system_statistics(samples_for(references[1:2], [report]), rubric, kb, 20, 0)
    assert empty["stage"]["n"] == 0 and empty["stage"]["f1_macro"]["value"] is None


def test_missing_report_is_graded_as_a_miss():
    kb, _, rubric = setup()
    references = [Reference("a", "late_wet_active", "urgent", {"srf": "present"}), Reference("b", "healthy", "none")]
    samples = samples_for(references, [None, None])
    assert all(s.missing for s in samples)
    assert samples[0].scores["stage"].score == 0.0 and samples[0].scores["referral"].score == 0.0
    assert samples[0].scores["completeness"].score == 0.0 and samples[0].total < 0.1
    out = stats.system_statistics(samples, rubric, kb, 0, 0)
    assert out["n"] == 2 and out["missing_reports"] == 2
    assert out["stage"]["confusion"]["counts"][-1][-1] == 1  # reference late_wet_active, nothing stated
    assert out["biomarkers"]["srf"]["counts"]["fn"] == 1


def test_reference_labels_may_be_unknown_and_carry_a_condition():
    kb = setup()[0]
    ref = parse_reference({"id": 7, "biomarkers": {"srf": "present", "irf": None}, "condition": "dme"}, kb)
    assert (ref.stage, ref.referral, ref.biomarkers, ref.condition) == (None, None, {"srf": "present"}, "dme")
    assert ref.state("irf") is None and ref.state("srf") == "present"
    assert ref.labels()["condition"] == "dme"
    for row, message in [
        ({"id": 1, "stage": "stage9"}, "stage 'stage9'"),
        ({"id": 1, "biomarkers": {"srf": "maybe"}}, "state 'maybe'"),
        ({"id": 1, "condition": 3}, "'condition'"),
    ]:
        with pytest.raises(ReferenceFormatError, match=message):
            parse_reference(row, kb)


# -- paired tests respect patients -------------------------------------------------------------------

outcome = st.tuples(st.booleans(), st.booleans())  # (A correct, B correct) for one scan


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(outcome, min_size=1, max_size=4), min_size=1, max_size=25), st.integers(2, 4))
def test_clustered_mcnemar_does_not_count_copies_of_a_patient_as_evidence(patients, copies):
    """Copying every scan of every patient leaves the clustered p-value as it was (the unclustered test
    would take each copy as new evidence: see the known cases below)."""

    def flatten(repeat):
        rows = [(a, b, f"p{k}") for k, scans in enumerate(patients) for a, b in scans for _ in range(repeat)]
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]

    once, copied = stats.mcnemar(*flatten(1)), stats.mcnemar(*flatten(copies))
    assert copied["p_value"] == pytest.approx(once["p_value"], rel=1e-9)
    assert copied["only_a_correct"] == copies * once["only_a_correct"] and copied["patients"] == once["patients"]


@settings(max_examples=60, deadline=None)
@given(st.lists(outcome, min_size=1, max_size=60))
def test_clustered_mcnemar_is_the_exact_test_when_each_patient_has_one_scan(scans):
    a, b = [x for x, _ in scans], [y for _, y in scans]
    out = stats.mcnemar(a, b, [str(i) for i in range(len(scans))])
    only_a, only_b = out["only_a_correct"], out["only_b_correct"]
    exact = 1.0 if only_a + only_b == 0 else binomtest(only_a, only_a + only_b, 0.5).pvalue
    assert out["p_value"] == pytest.approx(exact, rel=1e-9)


def test_clustered_mcnemar_on_known_cases():
    # d per patient: +3 (A right on 3 scans B missed), +1, -1; sum 3. Of the 8 sign flips of (3, 1, 1),
    # 6 reach |sum| >= 3: p = 0.75, where the unclustered exact test (4 vs 1) gives 0.375
    out = stats.mcnemar([True] * 4 + [False], [False] * 4 + [True], ["p1"] * 3 + ["p2", "p3"])
    assert (out["only_a_correct"], out["only_b_correct"], out["patients"]) == (4, 1, 3)
    assert out["p_value"] == pytest.approx(0.75)
    # ten scans of one patient are one piece of evidence, not ten
    one_patient = stats.mcnemar([True] * 10, [False] * 10, ["p"] * 10)
    assert one_patient["p_value"] == 1.0 and binomtest(10, 10, 0.5).pvalue < 0.01
    # eight patients, A alone right on one scan of each: p = 2 / 2^8; copied five times, still so
    eight = stats.mcnemar([True] * 8, [False] * 8, [f"p{i}" for i in range(8)])
    copied = stats.mcnemar([True] * 40, [False] * 40, [f"p{i // 5}" for i in range(40)])
    assert eight["p_value"] == pytest.approx(2 / 256) == copied["p_value"]
    assert binomtest(40, 40, 0.5).pvalue < 1e-10  # what an unclustered test would claim


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(LABELS), st.sampled_from(LABELS + [None]), st.sampled_from(LABELS + [None])),
        min_size=2,
        max_size=30,
    ),
    st.integers(0, 3),
)
def test_paired_bootstrap_of_macro_f1(cases, seed):
    """Point differences match scikit-learn; copying each case within its patient changes nothing."""
    truth, stated_a, stated_b = ([c[i] for c in cases] for i in range(3))
    units = [f"p{i // 2}" for i in range(len(cases))]
    out = stats.paired_f1_bootstrap(
        truth, stated_a, stated_b, LABELS, LABELS[1:], stats.resample_weights(units, 200, seed)
    )

    def macro(stated):
        filled = [p if p is not None else stats.NOT_STATED for p in stated]
        seen = sorted(set(truth) | {p for p in stated if p is not None}, key=LABELS.index)
        return f1_score(truth, filled, labels=seen, average="macro", zero_division=0)

    assert out["f1_macro"]["difference"]["value"] == pytest.approx(macro(stated_a) - macro(stated_b), abs=1e-12)
    twice = [x for x in range(len(cases)) for _ in range(2)]
    copied = stats.paired_f1_bootstrap(
        [truth[i] for i in twice],
        [stated_a[i] for i in twice],
        [stated_b[i] for i in twice],
        LABELS,
        LABELS[1:],
        stats.resample_weights([units[i] for i in twice], 200, seed),
    )
    for name in ("f1_micro_positive", "f1_macro"):
        assert copied[name]["difference"]["value"] == pytest.approx(out[name]["difference"]["value"])
        assert copied[name]["difference"]["ci95"] == pytest.approx(out[name]["difference"]["ci95"])
        assert copied[name]["p_value"] == pytest.approx(out[name]["p_value"])
