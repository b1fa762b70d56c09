"""Closed-ended answers are parsed with the knowledge base's words; unparseable answers count as wrong."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retinavlm.knowledge import load_knowledge
from retinavlm.resources import curricula_dir
from retinavlm.train.closed import UNPARSED, ClosedQuestion, closed_metrics, parse_answer
from retinavlm.train.qa import load_templates

KB = load_knowledge()
TEMPLATES = load_templates(curricula_dir() / "templates" / "qa_reports.yaml")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(KB.stages), st.integers(0, 10), st.sampled_from(["", "  ", "Answer: "]))
def test_every_stage_answer_template_parses_back(level, pick, prefix):
    answers = TEMPLATES.section("stage")["answers"]
    text = prefix + answers[pick % len(answers)].format(stage=level.name)
    assert parse_answer("stage", text, KB) == level.id


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(KB.referrals), st.integers(0, 10))
def test_every_referral_answer_and_synonym_parses_back(level, pick):
    answers = TEMPLATES.section("referral")["answers"]
    assert parse_answer("referral", answers[pick % len(answers)].format(referral=level.name), KB) == level.id
    for synonym in level.synonyms:
        assert parse_answer("referral", f"{synonym.capitalize()}.", KB) == level.id


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parsing_never_crashes_and_garbage_is_unparsed(text):
    for task in ("stage", "referral", "presence:drusen"):
        assert parse_answer(task, text, KB) in (*KB.stage_ids, *KB.referral_ids, "yes", "no", UNPARSED)


@pytest.mark.parametrize(
    ("task", "answer", "label"),
    [
        ("stage", "This is inactive late wet AMD.", "late_wet_inactive"),
        ("stage", "Active late wet AMD.", "late_wet_active"),
        ("stage", "Findings: drusen. Rule: drusen means early AMD. Stage: intermediate AMD.", "intermediate"),
        ("referral", "The patient needs no referral.", "none"),
        ("presence:srf", "Yes, there is subretinal fluid.", "yes"),
        ("presence:srf", "No.", "no"),
        ("presence:srf", "Perhaps.", UNPARSED),
        ("stage", "", UNPARSED),
    ],
)
def test_examples(task, answer, label):
    assert parse_answer(task, answer, KB) == label


def test_metrics_count_unparsed_as_wrong():
    questions = [ClosedQuestion("stage", "q", s) for s in ("healthy", "early", "healthy", "early")]
    perfect = closed_metrics(questions, ["healthy", "early", "healthy", "early"], KB)
    assert perfect["stage_macro_f1"] == 1.0 and perfect["unparsed_fraction"] == 0.0
    half = closed_metrics(questions, ["healthy", UNPARSED, "healthy", UNPARSED], KB)
    assert half["stage_accuracy"] == 0.5 and half["unparsed_fraction"] == 0.5
    biomarkers = [ClosedQuestion("presence:srf", "q", e) for e in ("yes", "no", "yes", "no")]
    scores = closed_metrics(biomarkers, ["yes", "no", "no", "no"], KB)
    assert scores["f1_srf"] == pytest.approx(2 / 3) and scores["biomarker_mean_f1"] == pytest.approx(2 / 3)
