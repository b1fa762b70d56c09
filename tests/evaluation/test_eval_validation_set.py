"""The grader validation set: well-formed, large enough, and read at >= 0.95 accuracy per field;
and the synthetic renderer's reports are labelled back to their exact references."""

import functools

import numpy as np
import pytest

from retinavlm.evaluation.extract import FindingsExtractor
from retinavlm.evaluation.labeller import label_report
from retinavlm.evaluation.validation import default_validation_path, score
from retinavlm.jsonl import read_jsonl
from retinavlm.knowledge import load_knowledge


@functools.lru_cache(maxsize=1)
def extractor() -> FindingsExtractor:
    return FindingsExtractor()


def test_validation_set_is_well_formed():
    rows, problems = read_jsonl(default_validation_path())
    assert problems == []
    kb = load_knowledge()
    assert len(rows) >= 150
    assert {r["split"] for r in rows} == {"dev", "heldout"}
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        labels = row["labels"]
        assert labels["stage"] is None or labels["stage"] in kb.stage_ids
        assert labels["referral"] is None or labels["referral"] in kb.referral_ids
        assert set(labels["biomarkers"]) <= set(kb.biomarker_ids)
        assert set(labels["biomarkers"].values()) <= {"present", "absent", "uncertain"}
    # every stage and referral level is exercised
    assert {r["labels"]["stage"] for r in rows} >= set(kb.stage_ids)
    assert {r["labels"]["referral"] for r in rows} >= set(kb.referral_ids)


def test_extraction_accuracy_on_the_whole_validation_set():
    rows, _ = read_jsonl(default_validation_path())
    accuracy = score(rows, lambda text: extractor().extract(text).labels()).accuracy()
    assert accuracy["stage"] >= 0.95
    assert accuracy["referral"] >= 0.95
    assert accuracy["biomarker_state"] >= 0.95


@pytest.mark.parametrize(
    "split, floors",
    [("dev", (0.99, 0.99, 0.99)), ("heldout", (0.96, 0.99, 0.99))],
)
def test_extraction_accuracy_per_split_does_not_drop(split, floors):
    rows, _ = read_jsonl(default_validation_path())
    """Before issue 18: dev 1.0 / 1.0 / 1.0, held-out 0.9634 / 0.9878 / 0.9903 (stage, referral, biomarkers)."""
    result = score([r for r in rows if r["split"] == split], lambda text: extractor().extract(text).labels())
    accuracy = result.accuracy()
    assert all(
        got >= floor
        for got, floor in zip((accuracy["stage"], accuracy["referral"], accuracy["biomarker_state"]), floors)
    )


def styles_dev_path():
    return default_validation_path().with_name("styles_dev.jsonl")


def test_styles_dev_set_is_well_formed():
    rows, problems = read_jsonl(styles_dev_path())
    assert problems == []
    kb = load_knowledge()
    assert len(rows) == 100 and {r["split"] for r in rows} == {"dev"}
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        labels = row["labels"]
        assert labels["stage"] is None or labels["stage"] in kb.stage_ids
        assert labels["referral"] is None or labels["referral"] in kb.referral_ids
        assert set(labels["biomarkers"]) <= set(kb.biomarker_ids)


def test_extraction_accuracy_on_clinical_styles_dev_set():
    """Reports in the styles clinicians and models write (shorthand, signs, letters, lists), written
    blind to the rules (issue 18). Measured: stage 1.0, referral 1.0, biomarker states 0.9969."""
    rows, _ = read_jsonl(styles_dev_path())
    accuracy = score(rows, lambda text: extractor().extract(text).labels()).accuracy()
    assert accuracy["stage"] >= 0.98
    assert accuracy["referral"] >= 0.98
    assert accuracy["biomarker_state"] >= 0.98


def test_synthetic_reports_are_labelled_back_to_their_references():
    synthetic = pytest.importorskip("retinavlm.data.synthetic.cohort", reason="synthetic renderer not available")
    from retinavlm.data.synthetic.config import load_cohort_config
    from retinavlm.data.synthetic.reports import ReportWriter

    kb = extractor().kb
    writer = ReportWriter(kb)
    plans = synthetic.plan_cohort(300, 11, load_cohort_config())
    stage = referral = cells = 0
    for plan in plans:
        report = writer.write(
            plan.present, plan.stage, plan.referral, np.random.default_rng([11, 2, plan.index]), eye=plan.eye
        )
        labels = label_report(report, extractor())
        stage += labels["stage"] == plan.stage
        referral += labels["referral"] == plan.referral
        cells += sum(labels["biomarkers"][b] == ("present" if b in plan.present else "absent") for b in kb.biomarkers)
    assert stage / len(plans) >= 0.95
    assert referral / len(plans) >= 0.95
    assert cells / (len(plans) * len(kb.biomarkers)) >= 0.95


# Later clinical-styles sets (issue 18; docs/EVALUATION.md): more dev sets, each by a new writer
# blind to the rules, fitted in rounds 2-9, and the set kept blind while the rules changed (never fitted
# to). Floors sit just under what each measured after its round:
#   dev2 (UK letters, US OD/OS notes, proformas, both-eye reports, model outputs): 1.0 / 0.9933 / 1.0
#   dev3 (how the stage is expressed: Beckman/AREDS, treatment wording, hedges): 1.0 / 0.9933 / 0.988
#   dev4 (30 writer voices x 5 reports): 0.98 / 0.9933 / 0.9736
#   dev5 (15 voices x 5 of a fifth writer: lay letters, code-switched, trial screens, SMS, Q&A): 0.9867 / 1.0 / 0.996
#   dev6 (the fifth writer's other 15 voices: SBAR handovers, tables, insurance letters, model hedges, T&E notes):
#   0.9867 / 1.0 / 0.9806 after round 7 (its 'extend the interval' plans are routine by the round-7 treat-and-extend
#   convention; the earlier sets' such plans were relabelled from none to routine)
#   dev7 (the sixth writer, 12 reports for each of issue 18's ten classes; blind through round 6): 0.9917 / 1.0 /
#   0.9839 after round 7
#   dev8 (the seventh writer, 150 voices from seven countries; blind through round 7; 18 labels relabelled to the
#   conventions of eval/README.md): 1.0 / 1.0 / 0.9801 after round 8
#   dev9 (a ninth writer, 150 voices: dictation, forms, JSON, letters from seven countries; 13 labels relabelled to
#   the conventions of eval/README.md): 0.9733 / 0.9933 / 0.9948 after round 9; 0.9867 / 0.9933 / 0.9948 after round 11
#   relabelled its two cRORA-only reports late dry (the round-10 convention); round 12b two bare follow-up
#   intervals routine (17 relabels in all, docs/EVALUATION.md)
#   dev10 (a tenth writer, European, African, Middle-Eastern and team-communication voices; blind through round 9;
#   6 labels relabelled to the conventions of eval/README.md): 0.98 / 0.9867 / 0.9773 after round 10
#   dev11 (an eleventh writer, South American, South Asian, Chinese, Irish/Welsh, VA, Canadian, military, insurer,
#   PACS, emergency and AI voices; blind through round 10; no label relabelled): 0.9933 / 0.9867 / 0.9792 after
#   round 11; referral 0.9933 after round 12b
#   ref_a, ref_b (two writers of short referral-focused notes; round 12, referral only; no label relabelled):
#   0.9933 / 0.9867 / 0.9835 and 0.9733 / 0.98 / 0.9667 after round 12; referral 0.9933 and 0.9933 after round 12b
#   (bare review intervals; dev4 and dev9 each had labels relabelled, docs/EVALUATION.md round 12b)
#   ref_c, ref_d (two more writers of referral-focused notes; round 13; ref_d had 2 labels relabelled to the
#   conventions of eval/README.md): 0.9867 / 0.98 / 0.9942 and 0.94 / 0.9933 / 0.9762 after round 13
#   dev12 (the twelfth writer's 150 referral-heavy reports; blind through round 13; 2 labels relabelled, round 14):
#   0.98 / 0.98 / 0.996 after round 14, which also moved dev9, dev10, dev11 and ref_b referral (+1 report each) and
#   ref_d biomarker states (0.9799)
#   dev13 (the thirteenth writer's 150 referral-heavy reports; blind through round 14; no label relabelled): 1.0 /
#   0.98 / 0.998 after round 15, which also moved ref_d stage and referral (0.9467 / 1.0; +1 report each), dev11 and
#   blind biomarker states (+1 mention each)
#   dev14 (the fourteenth writer's 150 referral-heavy reports; blind through round 15; 2 stage labels relabelled, round
#   16): 1.0 / 1.0 / 0.9972 after round 16, which also moved dev9 stage (+1 report, relabelled), ref_b stage and
#   biomarker states, ref_c referral and reports.jsonl held-out stage (+1 each)
#   dev15 (the fifteenth writer's 150 referral-heavy reports; blind through round 16; 2 stage labels relabelled, round
#   17): 0.98 / 0.9933 / 0.992 after round 17, which also moved dev9 and ref_b biomarker states (+1 mention each)
#   dev17 (the seventeenth writer's 150 general reports from outside the UK; blind through round 18; no label
#   relabelled): 0.98 / 1.0 / 0.9911 after round 19, which also moved dev16 (0.98 / 0.9933 / 0.9786), ref_c and blind
#   biomarker states (+2 and +1 mentions)
#   dev18 (the eighteenth writer's 150 general reports; blind through round 19; 2 referral labels relabelled, round
#   20): 0.96 / 0.9933 / 0.9773 after round 20, which moved no other set
#   dev19 (the nineteenth writer's 150 general reports; blind through round 20; no label relabelled): 0.98 / 1.0 / 1.0
#   after round 21, which also moved dev10 and dev12 referral, dev12 and dev18 stage (+1 report each), ref_d biomarker
#   states (+1 mention) and one spurious mention fewer in dev16 and ref_a
#   dev20 (the twentieth writer's 150 general reports; blind through round 21; 3 labels relabelled, round 22): 0.96 /
#   0.9933 / 0.9928 after round 22, which also moved dev18 referral (+1 report) and ref_d stage (+2) and biomarker
#   states (+3 mentions)
#   dev21 (the twenty-first writer's 150 general reports; blind through round 22; 10 labels relabelled, round 23):
#   0.98 / 1.0 / 0.9795 after round 23, which also moved dev10, dev17 and ref_c stage (+1 report each; dev3's u019
#   and u049 relabelled to the round-23 "dry AMD" convention)
#   dev22 (the twenty-second writer's 150 general reports; blind through round 23; 1 stage label relabelled, round 24):
#   0.90 / 0.94 / 0.9498 after round 24 (0.88 / 0.88 / 0.9319 before)
#   dev23 (the twenty-third writer's 150 general reports; blind through round 24; 2 stage labels relabelled, round
#   25): 0.9867 / 0.9867 / 0.974 after round 25 (0.8733 / 0.9667 / 0.9524 before); round 25 also relabelled five
#   earlier stage labels (dev10, dev12, dev14, dev15) to round 18's treatment convention and gained dev7 b6-069
#   dev24 (the twenty-fourth writer's 150 general reports; blind through round 25; no label relabelled, round 26):
#   0.9667 / 1.0 / 0.9786 after round 26 (0.9333 / 0.9467 / 0.9786 before); round 26 also gained ref_d refd-010 stage
#   dev25 (the twenty-fifth writer's 150 general reports; blind through round 26; 1 biomarker label relabelled, round
#   27): 0.9933 / 0.9867 / 0.9906 after round 27 (0.96 / 0.9467 / 0.9742 before on the same labels); round 27 also
#   gained dev24 w24-097 stage
#   dev26 (the twenty-sixth writer's 150 general reports; blind through round 27; no label relabelled, round 28):
#   0.9933 / 1.0 / 0.9859 after round 28 (0.94 / 0.96 / 0.9578 before); round 28 also gained stage in dev19, dev21,
#   dev23, dev25 and ref_d, referral in dev25 and biomarker states in dev4, dev13, dev17, dev21 and dev24 (+1 each)
#   dev27 (the twenty-seventh writer's 150 general reports; blind through round 28; 1 referral label relabelled,
#   round 29): 0.9533 / 0.9667 / 0.9831 after round 29 (0.9333 / 0.9267 / 0.9831 before)
#   dev28 (the twenty-eighth writer's 150 general reports; blind through round 29; 2 stage labels and 1 report's two
#   biomarker labels relabelled, round 30): 1.0 / 0.9933 / 0.9959 after round 30 (0.9533 / 0.9533 / 0.9792 before on
#   the original labels, 0.9667 / 0.9533 / 0.9752 on the corrected ones); round 30 also gained dev27 referral, stage in
#   dev20-dev22 and biomarker states in dev8, dev11, dev16, dev20 and dev24
#   dev29 (the twenty-ninth writer's 150 general reports; blind through round 30; 3 stage labels relabelled, round
#   31): 0.98 / 0.98 / 0.9961 after round 31 (0.9333 / 0.9267 / 0.9765 before on the corrected labels, 0.9133 /
#   0.9267 / 0.9765 on the original ones); round 31 also gained stage in dev10 and dev18, referral in dev4, dev25-dev28
#   and biomarker states in dev16, dev18, dev24 and ref_c
#   dev30 (the thirtieth writer's 150 general reports; blind through round 31; 1 referral label relabelled, round
#   32): 0.9933 / 0.9933 / 0.9955 after round 32 (0.96 / 0.9467 / 0.9888 before, on the original and the corrected
#   labels alike); round 32 also gained biomarker states in dev22 and dev26
#   dev32 (the thirty-second writer's 150 general reports; blind through round 32, scored once; no label relabelled,
#   round 33): 0.9933 / 0.9933 / 0.9904 after round 33 (0.94 / 0.9133 / 0.9639 before); round 33 also gained stage in
#   dev5 and dev24 and referral in dev3
#   dev33 (the thirty-third writer's 150 general reports; blind through round 33, scored before and after it; 1
#   referral label relabelled, round 34): 0.96 / 0.98 / 0.9796 after round 34 (0.9267 / 0.9467 / 0.9734 before on the
#   corrected labels, 0.9267 / 0.94 / 0.9734 on the original ones); round 34 gained no other set
#   dev34 (the thirty-fourth writer's 150 general reports; blind through round 34, scored before and after it; no
#   label relabelled, round 35): 0.9933 / 0.98 / 0.9661 after round 35 (0.9733 / 0.9333 / 0.9368 before); round 35
#   gained no other set
#   dev37 (the thirty-seventh writer's 150 general reports; blind through round 35, scored before and after it; no
#   label relabelled, round 36): 0.9733 / 0.96 / 0.9805 after round 36 (0.9267 / 0.9267 / 0.9683 before); round 36
#   also gained dev16 (on its relabel), dev27, dev30, dev32 and dev33, and removed spurious mentions in dev13, dev21,
#   dev24, dev27, dev29 and dev34 (the lead's conventions of round 36, with their relabels)
#   dev35 (the thirty-fifth writer's 150 general reports; blind through round 36, scored before and after rounds 35 and
#   36; 1 biomarker label relabelled by convention (g), round 37): 0.98 / 0.98 / 0.9745 after round 37 (0.9667 /
#   0.9467 / 0.9639 before on the corrected labels, 0.9667 / 0.9467 / 0.9619 on the original ones); round 37 gained no
#   other set
#   dev38 (the thirty-eighth writer's 150 general reports; blind through round 37, scored before and after it; no
#   label relabelled, round 38): 0.9533 / 0.9933 / 0.9928 after round 38 (0.92 / 0.8867 / 0.9712 before); round 38
#   also gained dev10, dev18, dev27 and dev29 stage and dev20 referral (on the relabels by the lead's conventions (h)
#   and (j)), dev35 stage and referral (conventions (i) and (h))
#   dev39 (the thirty-ninth writer's 150 general reports; blind through round 38, scored before and after rounds 37
#   and 38; no label relabelled, round 39): 0.92 / 0.9333 / 0.9753 after round 39 (0.92 / 0.9267 / 0.9753 before); round 39 also
#   gained dev38 stage (conventions (k) and (l)) and kept dev17 and dev33 stage on their relabels by (k)
#   dev41 (the forty-first writer's 150 general reports; blind through round 39, scored once; no label relabelled,
#   round 40): 1.0 / 0.9933 / 1.0 after round 40 (0.9733 / 0.92 / 0.9685 before); round 40 also gained dev39 referral
#   (w39-022, w39-037) and dev15 and dev24 biomarker states (w15-053, w24-057)
#   dev42 (the forty-second writer's 150 general reports; blind through round 40, scored twice; no label relabelled,
#   round 41): 0.98 / 0.98 / 0.994 after round 41 (0.9467 / 0.9133 / 0.9563 before); round 41 also gained dev2 and
#   dev12 referral (t124, b12-047), dev20 stage (w20-145), dev39 stage (w39-036) and dev41 referral (w41-137)
#   dev43 (the forty-third writer's 150 general reports; blind through round 41, scored three times; no label
#   relabelled, round 42): 0.9867 / 1.0 / 0.9923 after round 42 (0.9467 / 0.9467 / 0.9749 before); round 42 also
#   gained dev18 (w18-106; w18-108 on its relabel by convention (o)), dev33 stage (w33-148), dev39 biomarker states
#   (w39-065, w39-145) and dev42 (w42-128 stage, w42-030 PED)
#   blind (scored once per round, what landed; no longer blind): 0.97 / 1.0 / 0.9914 after round 7 -- a floor, not a
#   target
@pytest.mark.parametrize(
    "file, size, floors",
    [
        ("styles_dev2.jsonl", 150, (0.98, 0.98, 0.98)),
        ("styles_dev3.jsonl", 150, (0.99, 0.98, 0.975)),
        ("styles_dev4.jsonl", 150, (0.97, 0.98, 0.965)),
        ("styles_dev5.jsonl", 75, (0.98, 0.99, 0.99)),
        ("styles_dev6.jsonl", 75, (0.98, 0.99, 0.975)),
        ("styles_dev7.jsonl", 120, (0.98, 0.99, 0.98)),
        ("styles_dev8.jsonl", 150, (1.0, 1.0, 0.98)),
        ("styles_dev9.jsonl", 150, (0.98, 0.99, 0.99)),
        ("styles_dev10.jsonl", 150, (0.98, 0.99, 0.975)),
        ("styles_dev11.jsonl", 150, (0.99, 0.99, 0.975)),
        ("styles_ref_a.jsonl", 150, (0.99, 0.99, 0.98)),
        ("styles_ref_b.jsonl", 150, (0.97, 0.99, 0.96)),
        ("styles_ref_c.jsonl", 150, (0.98, 0.98, 0.99)),
        ("styles_ref_d.jsonl", 150, (0.94, 1.0, 0.975)),
        ("styles_dev12.jsonl", 150, (0.98, 0.98, 0.99)),
        ("styles_dev13.jsonl", 150, (1.0, 0.98, 0.99)),
        ("styles_dev14.jsonl", 150, (1.0, 1.0, 0.99)),
        ("styles_dev15.jsonl", 150, (0.98, 0.99, 0.99)),
        ("styles_dev16.jsonl", 150, (0.97, 0.99, 0.97)),
        ("styles_dev17.jsonl", 150, (0.98, 0.99, 0.99)),
        ("styles_dev18.jsonl", 150, (0.96, 0.99, 0.975)),
        ("styles_dev19.jsonl", 150, (0.98, 1.0, 1.0)),
        ("styles_dev20.jsonl", 150, (0.96, 0.99, 0.99)),
        ("styles_dev21.jsonl", 150, (0.98, 1.0, 0.975)),
        ("styles_dev22.jsonl", 150, (0.9, 0.94, 0.945)),
        ("styles_dev23.jsonl", 150, (0.98, 0.98, 0.97)),
        ("styles_dev24.jsonl", 150, (0.97, 1.0, 0.975)),
        ("styles_dev25.jsonl", 150, (0.99, 0.98, 0.99)),
        ("styles_dev26.jsonl", 150, (0.99, 1.0, 0.985)),
        ("styles_dev27.jsonl", 150, (0.95, 0.965, 0.98)),
        ("styles_dev28.jsonl", 150, (0.99, 0.99, 0.99)),
        ("styles_dev29.jsonl", 150, (0.975, 0.975, 0.99)),
        ("styles_dev30.jsonl", 150, (0.99, 0.99, 0.99)),
        ("styles_dev32.jsonl", 150, (0.99, 0.99, 0.985)),
        ("styles_dev33.jsonl", 150, (0.95, 0.975, 0.975)),
        ("styles_dev34.jsonl", 150, (0.99, 0.975, 0.96)),
        ("styles_dev35.jsonl", 150, (0.975, 0.975, 0.97)),
        ("styles_dev37.jsonl", 150, (0.97, 0.955, 0.975)),
        ("styles_dev38.jsonl", 150, (0.95, 0.99, 0.99)),
        ("styles_dev39.jsonl", 150, (0.91, 0.92, 0.97)),
        ("styles_dev41.jsonl", 150, (0.99, 0.99, 0.99)),
        ("styles_dev42.jsonl", 150, (0.97, 0.97, 0.98)),
        ("styles_dev43.jsonl", 150, (0.98, 0.99, 0.985)),
        ("styles_blind.jsonl", 100, (0.92, 0.98, 0.98)),
    ],
)
def test_extraction_accuracy_on_later_clinical_styles_sets(file, size, floors):
    rows, problems = read_jsonl(default_validation_path().with_name(file))
    assert problems == [] and len(rows) == size
    accuracy = score(rows, lambda text: extractor().extract(text).labels()).accuracy()
    got = (accuracy["stage"], accuracy["referral"], accuracy["biomarker_state"])
    assert all(value >= floor for value, floor in zip(got, floors)), (file, got)
