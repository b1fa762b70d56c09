"""Reports checked against the model's own answers: the candidate contradicting the fewest is kept, ties go
to the better beam, neither an unparsed answer nor an unstated field is a contradiction (an empty stage line is one),
a finding both stated and denied contradicts either answer, and a report written from the labels contradicts exactly
the answers flipped from the same labels."""

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from retinavlm.data.cohorts.records import labels_from_mapping
from retinavlm.knowledge import load_knowledge
from retinavlm.model.answer_check import AnswerCheck
from retinavlm.resources import curricula_dir
from retinavlm.train.closed import ANSWER_TOKENS
from retinavlm.train.qa import load_templates
from retinavlm.train.qa_builders.report_targets import write_report
from retinavlm.train.records import ScanRecord

KB = load_knowledge()
CHECK = AnswerCheck.load(3, KB)
REPORTS = load_templates(curricula_dir() / "templates" / "qa_reports.yaml")


def answers_from(stage: str, referral: str, present: set[str]) -> dict[str, str]:
    answers = {"stage": stage, "referral": referral}
    answers.update({f"presence:{b}": "yes" if b in present else "no" for b in KB.biomarker_ids})
    return answers


class Words:
    """A tokenizer with just the two first answer tokens the check weighs."""

    ids = {"Yes": [1, 9], "No": [2]}  # "Yes" in two pieces, as the tiny tokenizer splits it

    def encode(self, word, add_special_tokens):
        assert not add_special_tokens
        return self.ids[word]


class ScriptedModel:
    """Closed answers, greedy reports and candidate reports given in advance, in the order AnswerCheck asks.

    `replies` hold each scan's 13 closed answers in turn (closed_replies): the stage's and referral's words are
    generated; each presence answer sets its question's log-odds, Yes against No, to +1 or -1 in the scan itself
    and to `mirrored` (the same by default) in its mirror image.
    """

    def __init__(self, replies: list[str], greedy: list[str], candidates: list[list[str]], mirrored=None):
        self.replies, self.greedy, self.candidates_given = replies, greedy, candidates
        self.mirrored = mirrored
        self.questions_asked, self.beams_for, self.encoded, self.shown = [], None, [], None
        self.processor = type("Processor", (), {"tokenizer": Words()})()

    def inference_features(self, pixels):
        """Each scan's index as its features (negative for a mirror image), so a test sees which scan was shown."""
        index = torch.arange(len(pixels), dtype=torch.float32)[:, None]
        mirror = self.shown is not None and torch.equal(pixels, self.shown.flip(-1))
        if not mirror:
            self.shown = pixels
        self.encoded.append("mirror" if mirror else "scan")
        return -index - 1 if mirror else index

    def answer(self, scan: int, task_index: int) -> str:
        return self.replies[scan * (2 + len(KB.biomarker_ids)) + task_index]

    def generate(self, pixels, prompts, max_new_tokens, image_features):
        assert pixels is None and len(image_features) == len(prompts)
        if max_new_tokens == ANSWER_TOKENS:  # the stage and referral questions, every scan's in turn
            self.questions_asked += prompts
            return [self.answer(int(f), k % 2) for k, f in enumerate(image_features[:, 0])]
        return self.greedy

    def next_token_logits(self, prompts, image_features):
        self.questions_asked += prompts
        logits = torch.zeros(len(prompts), 10)
        for k, f in enumerate(image_features[:, 0].tolist()):
            scan, task = (int(f), k % len(KB.biomarker_ids))
            if f < 0 and self.mirrored is not None:
                logits[k, 1] = self.mirrored[task]
                continue
            scan = scan if f >= 0 else -scan - 1
            logits[k, 1] = 1.0 if self.answer(scan, 2 + task) == "Yes." else -1.0
        return logits

    def candidates(self, pixels, prompts, max_new_tokens, beams, image_features):
        assert beams == CHECK.candidates and pixels is None and len(image_features) == len(prompts)
        self.beams_for = image_features[:, 0].int().tolist()
        return self.candidates_given


def closed_replies(stage_words: str, referral_words: str, present: set[str]) -> list[str]:
    presence = ["Yes." if b in present else "No." for b in KB.biomarker_ids]
    return [stage_words, referral_words, *presence]


def wet_report(present: set[str]) -> str:
    states = {b: "present" if b in present else "absent" for b in KB.biomarker_ids}
    return write_report(ScanRecord("s", "p", Path("s.png"), "late_wet_active", "urgent", states), REPORTS, KB)


WET, WET_WITH_IRF = wet_report({"srf"}), wet_report({"srf", "irf"})
PROMPT = ["<image>\nWrite the report."]
PIXELS = torch.arange(64.0).view(1, 1, 8, 8)  # not mirror-symmetric, so its mirror image is another


def test_a_greedy_report_that_contradicts_an_answer_is_replaced_by_the_candidate_contradicting_fewest():
    model = ScriptedModel(
        closed_replies("This is active late wet AMD.", "Urgent referral.", {"srf", "irf"}),
        [WET],
        [[WET, WET_WITH_IRF, WET]],
    )
    assert CHECK.reports(model, PIXELS, PROMPT, 50) == [WET_WITH_IRF]
    assert len(model.questions_asked) == len(CHECK.questions()) * 2 - 2  # presence asked of the scan and its mirror
    assert model.beams_for == [0]
    assert model.encoded == ["scan", "mirror"]  # encoded once for its questions, report and candidates; mirrored once


def test_beam_search_runs_on_the_features_of_the_contradicted_scan_only():
    replies = closed_replies("Active late wet AMD.", "Urgent.", {"srf"})
    replies += closed_replies("Active late wet AMD.", "Urgent.", {"srf", "irf"})
    model = ScriptedModel(replies, [WET, WET], [[WET_WITH_IRF]])
    assert CHECK.reports(model, torch.arange(128.0).view(2, 1, 8, 8), PROMPT * 2, 50) == [WET, WET_WITH_IRF]
    assert model.beams_for == [1]


def test_a_greedy_report_contradicting_no_answer_is_kept_without_beam_search():
    model = ScriptedModel(closed_replies("Active late wet AMD.", "Urgent.", {"srf"}), [WET], [[WET_WITH_IRF]])
    assert CHECK.reports(model, PIXELS, PROMPT, 50) == [WET]
    assert model.beams_for is None


def test_presence_answers_weigh_the_scan_and_its_mirror_image_together():
    # The scan says IRF (+1) and SRF (+1); its mirror image doubts IRF strongly (-3) and agrees on SRF (+1).
    mirrored = [{"irf": -3.0, "srf": 1.0}.get(b, -1.0) for b in KB.biomarker_ids]
    model = ScriptedModel(
        closed_replies("Active late wet AMD.", "Urgent.", {"srf", "irf"}), [WET], [[WET_WITH_IRF]], mirrored
    )
    [answers] = CHECK.answers(model, PIXELS, model.inference_features(PIXELS))
    assert answers["presence:srf"] == "yes" and answers["presence:irf"] == "no"
    assert answers["stage"] == "late_wet_active" and answers["referral"] == "urgent"
    assert CHECK.reports(model, PIXELS, PROMPT, 50) == [WET]  # the report without IRF agrees with the pair


def test_presence_log_odds_are_the_scan_and_mirror_image_summed_per_biomarker_in_question_order():
    mirrored = [{"irf": -3.0, "srf": 1.0}.get(b, -1.0) for b in KB.biomarker_ids]
    model = ScriptedModel(closed_replies("Active late wet AMD.", "Urgent.", {"srf", "irf"}), [WET], [], mirrored)
    log_odds = CHECK.presence_log_odds(model, PIXELS, model.inference_features(PIXELS))
    assert log_odds.shape == (1, len(KB.biomarker_ids))
    expected = {"srf": 2.0, "irf": -2.0}  # +1 from the scan each; +1 and -3 from the mirror image
    assert log_odds[0].tolist() == [expected.get(b, -2.0) for b in KB.biomarker_ids]


def test_ties_between_candidates_go_to_the_better_beam():
    # Only IRF answered "yes" (SRF "no"): every candidate contradicts an answer; two tie, the better beam is kept.
    replies = closed_replies("Active late wet AMD.", "Urgent.", {"irf"})
    model = ScriptedModel(replies, [WET], [[WET + " ", WET_WITH_IRF, WET_WITH_IRF + " "]])
    assert CHECK.reports(model, PIXELS, PROMPT, 50) == [WET_WITH_IRF]


def test_an_unparsed_answer_and_an_unstated_field_are_no_contradiction():
    states = {b: "present" if b == "drusen" else "absent" for b in KB.biomarker_ids}
    report = write_report(ScanRecord("s", "p", Path("s.png"), "early", "routine", states), REPORTS, KB)
    answers = answers_from("early", "routine", {"drusen"})
    assert CHECK.contradictions(report, answers) == 0
    assert CHECK.contradictions(report, {**answers, "stage": "intermediate"}) == 1
    assert CHECK.contradictions(report, {**answers, "stage": "unparsed"}) == 0
    # Findings the report does not mention contradict neither "yes" nor "no".
    assert CHECK.contradictions("Biomarkers: drusen. Stage: early AMD. Referral: routine referral.", answers) == 0


def test_a_report_without_an_amd_stage_is_not_pushed_to_one():
    """Regression: a real DME scan's report lost its diagnosis to a candidate stating the AMD stage the closed
    question (which always names one) was answered with."""
    dme = "Biomarkers: intraretinal fluid. Diagnosis: diabetic macular oedema. Referral: urgent referral."
    wet = "Biomarkers: intraretinal fluid. Stage: active late wet AMD. Referral: urgent referral."
    model = ScriptedModel(closed_replies("This is active late wet AMD.", "Urgent referral.", {"irf"}), [dme], [[wet]])
    assert CHECK.reports(model, PIXELS, PROMPT, 50) == [dme]
    assert model.beams_for is None


def test_an_empty_stage_line_is_replaced_by_a_candidate_stating_the_answered_stage():
    """Regression: "Stage: Stage: Referral: ..." (the model's stage sentence left empty) read as a silence, so the
    check kept it (5 of the default's 180 test reports)."""
    empty = "Biomarkers: drusen. Stage: Stage: Referral: routine referral."
    staged = "Biomarkers: drusen. Stage: intermediate AMD. Referral: routine referral."
    answers = answers_from("intermediate", "routine", {"drusen"})
    assert CHECK.contradictions(empty, answers) == 1
    assert CHECK.contradictions(empty, {**answers, "stage": "unparsed"}) == 0
    model = ScriptedModel(
        closed_replies("Intermediate AMD.", "Routine referral.", {"drusen"}), [empty], [[empty, staged]]
    )
    assert CHECK.reports(model, PIXELS, PROMPT, 50) == [staged]


def test_a_finding_both_stated_and_denied_contradicts_either_presence_answer():
    """Regression: "Biomarkers: ... double-layer sign ... No ..., double-layer sign or subretinal fluid." reads as
    present, so with a "yes" answer the check kept it (13 of the default's 180 test reports named a finding both
    ways)."""
    both = (
        "Biomarkers: large drusen and double-layer sign. No pigment epithelial detachment, double-layer sign or "
        "subretinal fluid. Stage: intermediate AMD. Referral: routine referral."
    )
    once = (
        "Biomarkers: large drusen and double-layer sign. No pigment epithelial detachment or subretinal fluid. "
        "Stage: intermediate AMD. Referral: routine referral."
    )
    answers = answers_from("intermediate", "routine", {"drusen", "double_layer_sign"})
    assert CHECK.contradictions(both, answers) == 1
    assert CHECK.contradictions(both, {**answers, "presence:double_layer_sign": "no"}) == 1
    assert CHECK.contradictions(once, answers) == 0
    model = ScriptedModel(
        closed_replies("Intermediate AMD.", "Routine referral.", {"drusen", "double_layer_sign"}),
        [both],
        [[both, once]],
    )
    assert CHECK.reports(model, PIXELS, PROMPT, 50) == [once]


def test_fewer_than_one_candidate_is_refused():
    with pytest.raises(ValueError, match="at least 1 candidate"):
        AnswerCheck.load(0, KB)


@settings(max_examples=60, deadline=None)
@given(st.sets(st.sampled_from(KB.biomarker_ids)), st.sets(st.sampled_from(KB.biomarker_ids)))
def test_a_report_from_the_labels_contradicts_exactly_the_flipped_answers(present, flipped):
    states = {b: "present" if b in present else "absent" for b in KB.biomarker_ids}
    labels = labels_from_mapping({"biomarkers": states}, KB)
    record = ScanRecord("s", "p", Path("s.png"), labels.stage, labels.referral, states)
    report = write_report(record, REPORTS, KB)
    answers = answers_from(labels.stage, labels.referral, present)
    assert CHECK.contradictions(report, answers) == 0, report
    wrong = {**answers, **{f"presence:{b}": "no" if b in present else "yes" for b in flipped}}
    assert CHECK.contradictions(report, wrong) == len(flipped), report
