"""Question/answer builders: questions never leak answers, answers say exactly what the labels say."""

import random
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from retinavlm.data.cohorts.records import labels_from_mapping
from retinavlm.evaluation.extract import FindingsExtractor
from retinavlm.knowledge import load_knowledge, referral_from_findings, stage_from_findings
from retinavlm.resources import curricula_dir
from retinavlm.train.closed import closed_metrics, closed_questions
from retinavlm.train.config import ConfigError
from retinavlm.train.qa import BUILDERS, build_pairs, check_builders, load_templates, prompt_for
from retinavlm.train.qa_builders.report_targets import write_report
from retinavlm.train.records import ScanRecord

KB = load_knowledge()
EXTRACTOR = FindingsExtractor(KB)
STAGE1 = load_templates(curricula_dir() / "templates" / "qa_findings.yaml")
STAGE2 = load_templates(curricula_dir() / "templates" / "qa_reports.yaml")


@st.composite
def records(draw):
    states = {b: draw(st.sampled_from(["present", "absent"])) for b in KB.biomarker_ids}
    attributes = {}
    for bid, state in states.items():
        if state == "present" and KB.biomarkers[bid].attributes and draw(st.booleans()):
            attributes[bid] = {a.name: draw(st.sampled_from(a.values)) for a in KB.biomarkers[bid].attributes.values()}
    findings = {b: {"state": s, **attributes.get(b, {})} for b, s in states.items()}
    return ScanRecord(
        id="s",
        patient_id="p",
        image=Path("s.png"),
        stage=stage_from_findings(findings, KB),
        referral=referral_from_findings(findings, KB),
        biomarkers=states,
        attributes=attributes,
        age=draw(st.integers(50, 95)),
        sex=draw(st.sampled_from(["F", "M"])),
    )


def words(text):
    return set(re.findall(r"[a-z]+", text.lower()))


@settings(max_examples=150, deadline=None)
@given(records(), st.integers(0, 10_000))
def test_presence_question_depends_only_on_the_target_name(record, seed):
    pair = BUILDERS["presence"][0](record, STAGE1, KB, random.Random(seed))
    targets = [b for b in KB.biomarker_ids if re.search(rf"\b{re.escape(KB.biomarkers[b].name)}\b", pair.question)]
    assert len(targets) == 1
    target = targets[0]
    # The question is a template filled with the name alone: the same for a scan with and without the finding.
    questions = {q.format(name=KB.biomarkers[target].name) for q in STAGE1.section("presence")["questions"]}
    assert any(pair.question.endswith(q) for q in questions)
    assert not words(pair.question) & {"yes", "no", "not", "present", "absent"}
    expected = "Yes" if record.biomarkers[target] == "present" else "No"
    assert pair.answer.startswith(expected)


@settings(max_examples=150, deadline=None)
@given(records(), st.integers(0, 10_000))
def test_which_biomarkers_lists_exactly_the_present_ones(record, seed):
    pair = BUILDERS["which_biomarkers"][0](record, STAGE1, KB, random.Random(seed))
    named = {
        b
        for b in KB.biomarker_ids
        if re.search(rf"(?<![\w-]){re.escape(KB.biomarkers[b].name.lower())}", pair.answer.lower())
    }
    # "subretinal fluid" must not count "fluid"-less names; "hyperreflective foci" is not "subretinal hyperreflective material"
    assert named == set(record.present())
    assert not any(KB.biomarkers[b].name.lower() in pair.question.lower() for b in KB.biomarker_ids)


@settings(max_examples=150, deadline=None)
@given(records(), st.integers(0, 10_000))
def test_stage_and_referral_questions_never_name_a_level(record, seed):
    for name, levels, truth in (("stage", KB.stages, record.stage), ("referral", KB.referrals, record.referral)):
        pair = BUILDERS[name][0](record, STAGE1, KB, random.Random(seed))
        question = pair.question.lower()
        for level in levels:
            for phrase in (level.name, *level.synonyms):
                assert not re.search(rf"(?<![\w-]){re.escape(phrase.lower())}(?![\w-])", question), (phrase, question)
        assert next(lv for lv in levels if lv.id == truth).name.lower() in pair.answer.lower()


@settings(max_examples=100, deadline=None)
@given(records(), st.integers(0, 10_000))
def test_reasoning_follows_the_knowledge_base_rule(record, seed):
    staging = BUILDERS["staging_reasoning"][0](record, STAGE2, KB, random.Random(seed))
    referral = BUILDERS["referral_reasoning"][0](record, STAGE2, KB, random.Random(seed))
    assert staging.answer.endswith(f"Stage: {KB.stage(record.stage).name}.")
    assert referral.answer.endswith(f"Referral: {KB.referral(record.referral).name}.")
    assert KB.stage(record.stage).name.lower() not in staging.question.lower()


@settings(max_examples=100, deadline=None)
@given(records(), st.integers(0, 10_000))
def test_report_sections_come_in_fixed_order(record, seed):
    pair = BUILDERS["report"][0](record, STAGE2, KB, random.Random(seed))
    assert prompt_for(pair.question).count("<image>") == 1  # the shared report prompt places the scan itself
    report = pair.answer
    positions = [report.index(h) for h in ("Biomarkers:", "Stage:", "Referral:")]
    assert positions == sorted(positions)
    assert f"Stage: {KB.stage(record.stage).name}." in report
    assert f"Referral: {KB.referral(record.referral).name}." in report


@settings(max_examples=150, deadline=None)
@given(records(), st.integers(0, 10_000))
def test_the_grader_reads_the_target_report_back_as_the_labels(record, seed):
    """What stage 2 teaches the model to write must grade perfectly: every finding, stage and referral.

    (A first template listed the absent findings as "A, B, ... and I absent": the grader's negation
    scope, a few words, left the head of the list read as present.)"""
    report = BUILDERS["report"][0](record, STAGE2, KB, random.Random(seed)).answer
    labels = EXTRACTOR.extract(report).labels()
    assert labels["biomarkers"] == record.biomarkers, report
    assert (labels["stage"], labels["referral"]) == (record.stage, record.referral), report


def test_presence_questions_are_balanced_between_present_and_absent():
    record = ScanRecord(
        "s",
        "p",
        Path("s.png"),
        "early",
        "none",
        {b: "present" if b == "drusen" else "absent" for b in KB.biomarker_ids},
        {"drusen": {"size": "small"}},
    )
    rng = random.Random(1)
    answers = [BUILDERS["presence"][0](record, STAGE1, KB, rng).answer for _ in range(400)]
    share = sum(a.startswith("Yes") for a in answers) / len(answers)
    assert 0.4 < share < 0.6  # one present finding against ten absent ones, still about half "yes"


def test_attribute_builder_skips_scans_without_attributes_and_build_pairs_redraws():
    record = ScanRecord("s", "p", Path("s.png"), "healthy", "none", {b: "absent" for b in KB.biomarker_ids})
    assert BUILDERS["attribute"][0](record, STAGE1, KB, random.Random(0)) is None
    pairs = build_pairs(record, 6, {"attribute": 5.0, "stage": 1.0}, STAGE1, KB, random.Random(0))
    assert len(pairs) == 6 and {p.builder for p in pairs} == {"stage"}


def test_builder_checks_name_the_bad_builder(tmp_path):
    with pytest.raises(ConfigError, match="qa.builders.staging: unknown builder"):
        check_builders({"staging": 1.0}, STAGE1)
    with pytest.raises(ConfigError, match="qa.builders.report: .*no 'report' section"):
        check_builders({"report": 1.0}, STAGE1)
    with pytest.raises(ConfigError, match="positive weight"):
        check_builders({"stage": 0.0}, STAGE1)
    # A stage-2 templates file without the rule-out wording is refused before training, by section name.
    without = {k: v for k, v in STAGE2.sections.items() if k != "rule_outs"}
    with pytest.raises(ConfigError, match="qa.builders.report: .*no 'rule_outs' section"):
        check_builders({"report": 1.0}, type(STAGE2)(STAGE2.path, without))
    record = ScanRecord("s", "p", Path("s.png"), "healthy", "none", {b: "absent" for b in KB.biomarker_ids})
    for bad in (
        {"sentence": "No {list}.", "items_per_sentence": 0},
        {"sentence": "No findings.", "items_per_sentence": 4},
    ):
        broken = type(STAGE2)(STAGE2.path, {**STAGE2.sections, "rule_outs": bad})
        with pytest.raises(ConfigError, match="rule_outs needs items_per_sentence"):
            BUILDERS["report"][0](record, broken, KB, random.Random(0))


@st.composite
def partial_records(draw):
    """Scans as a real cohort labels them: any biomarker, attribute, stage or referral may be unknown."""
    states = {b: draw(st.sampled_from(["present", "absent", None])) for b in KB.biomarker_ids}
    attributes = {}
    for bid, state in states.items():
        if state == "present" and KB.biomarkers[bid].attributes and draw(st.booleans()):
            attributes[bid] = {a.name: draw(st.sampled_from(a.values)) for a in KB.biomarkers[bid].attributes.values()}
    labels = labels_from_mapping({"biomarkers": states, "attributes": attributes}, KB)  # derived where determined
    return ScanRecord(
        id="s",
        patient_id="p",
        image=Path("s.png"),
        stage=labels.stage if draw(st.booleans()) else None,
        referral=labels.referral if draw(st.booleans()) else None,
        biomarkers=states,
        attributes=attributes,
    )


@settings(max_examples=150, deadline=None)
@given(partial_records(), st.integers(0, 10_000))
def test_no_question_is_asked_about_an_unknown(record, seed):
    rng = random.Random(seed)
    for name, (builder, _) in BUILDERS.items():
        templates = STAGE1 if name in ("presence", "which_biomarkers", "attribute", "stage", "referral") else STAGE2
        pair = builder(record, templates, KB, rng)
        if pair is None:
            continue
        if name == "presence":
            target = next(b for b in KB.biomarker_ids if KB.biomarkers[b].name in pair.question)
            assert record.known(target)
        assert not (name in ("stage", "staging_reasoning") and record.stage is None)
        assert not (name in ("referral", "referral_reasoning") and record.referral is None)
        assert not (name == "which_biomarkers" and not all(map(record.known, record.biomarkers)))
    asked = closed_questions(record, STAGE1, KB)
    tasks = {q.task for q in asked}
    assert ("stage" in tasks) == (record.stage is not None) and ("referral" in tasks) == (record.referral is not None)
    assert {t.removeprefix("presence:") for t in tasks if t.startswith("presence:")} == {
        b for b in KB.biomarker_ids if record.known(b)
    }


@settings(max_examples=150, deadline=None)
@given(partial_records(), st.integers(0, 10_000))
def test_a_report_target_states_only_what_is_known(record, seed):
    """The grader reads the target back as exactly the known labels: nothing unknown is stated."""
    report = BUILDERS["report"][0](record, STAGE2, KB, random.Random(seed)).answer
    labels = EXTRACTOR.extract(report).labels()
    assert labels["biomarkers"] == {b: s for b, s in record.biomarkers.items() if s is not None}, report
    assert (labels["stage"], labels["referral"]) == (record.stage, record.referral), report


def test_a_dme_report_names_the_condition_and_no_amd_stage():
    states = {**dict.fromkeys(KB.biomarker_ids), "irf": "present"}
    record = ScanRecord("s", "p", Path("s.png"), None, "urgent", states, condition="dme")
    report = write_report(record, STAGE2, KB)
    assert report == "Biomarkers: intraretinal fluid. Diagnosis: diabetic macular oedema. Referral: urgent referral."
    labels = EXTRACTOR.extract(report).labels()
    assert labels["stage"] is None and labels["referral"] == "urgent" and labels["biomarkers"]["irf"] == "present"


def test_closed_metrics_score_only_the_known_answers():
    known = ScanRecord("a", "p", Path("a.png"), "healthy", "none", dict.fromkeys(KB.biomarker_ids, "absent"))
    partial = ScanRecord("b", "q", Path("b.png"), None, "urgent", {**dict.fromkeys(KB.biomarker_ids), "irf": "present"})
    questions = closed_questions(known, STAGE1, KB) + closed_questions(partial, STAGE1, KB)
    assert len(questions) == 2 + len(KB.biomarker_ids) + 2  # the partial scan: its referral and its IRF only
    metrics = closed_metrics(questions, [q.expected for q in questions], KB)
    assert metrics["stage_accuracy"] == metrics["referral_accuracy"] == metrics["f1_irf"] == 1.0


@settings(max_examples=100, deadline=None)
@given(records(), st.integers(0, 10_000))
def test_every_prompt_puts_the_scan_first_so_questions_of_a_scan_can_share_a_row(record, seed):
    # Shared-prefix packing needs the same tokens up to the image for every question about a scan; the
    # report prompt places the scan itself and used to get the patient's age and sex before it.
    for stage, templates in (("stage1_introduction", STAGE1), ("stage2_specialism", STAGE2)):
        weights = yaml.safe_load((curricula_dir() / f"{stage}.yaml").read_text())["qa"]["builders"]
        for pair in build_pairs(record, 12, weights, templates, KB, random.Random(seed)):
            assert prompt_for(pair.question).startswith("<image>\n"), pair.question
