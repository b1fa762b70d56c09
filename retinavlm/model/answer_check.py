"""Reports checked against the model's own answers (`retinavlm report --check-answers N`).

A report written token by token can leave out what the model knows: asked directly ("Is there intraretinal
fluid in this scan?") the same model answers better than its report says (docs/TRAINING.md, thirteenth
round). So the model first answers its closed questions about the scan and writes its greedy report. A
report that contradicts none of the answers is kept; for the others it writes its N best reports by beam
search and keeps the one whose stage, referral and findings, as the grader's extractor reads them,
contradict the fewest; ties go to the better beam. No reference is read: the model is checked against itself.

The stage and the referral are answered in words (greedy, parsed as the closed-ended scores parse them).
Each biomarker's presence is read from the first answer token, "Yes" against "No", with the log-odds
summed over the scan and its mirror image (a flip the model was trained on): on the validation patients
and a selection cohort the mirrored answers were right more often than one view's, and the checked reports
with them too (docs/TRAINING.md).

Only a contradiction counts, never a silence: a report that states no AMD stage (a diabetic macular oedema,
a scan whose stage its cohort leaves unknown) is not pushed to state the stage the closed question, which
always names one, was answered with. A stage line left empty is not a silence but a broken sentence: a
report that opens the report template's stage sentence ("Stage:") and names no stage counts as
contradicting a parsed stage answer. Likewise a report that names a finding and then lists it among the absent
ones contradicts its presence answer either way, although the grader reads such a finding as present.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from retinavlm.evaluation.extract import Extraction, FindingsExtractor
from retinavlm.knowledge import KnowledgeBase
from retinavlm.model.vlm import RetinaVLM
from retinavlm.resources import curricula_dir
from retinavlm.train.closed import ANSWER_TOKENS, UNPARSED, closed_tasks, parse_answer
from retinavlm.train.qa import Templates, load_templates, prompt_for

# In the report run record, so that reports checked by another rule are never continued by this one.
CHECK_RULE = "fewest contradictions, an empty stage line and a finding both stated and denied among them; presence by Yes/No log-odds of the scan and its mirror image"


def stated_presence(extraction: Extraction) -> dict[str, set[str]]:
    """Each biomarker's presence as the report states it ("yes", "no", or both where one sentence names it
    and another denies it), from the mentions that decide it: its own words over an umbrella term."""
    mentions: dict[str, list] = {}
    for m in extraction.mentions:
        if m.kind == "biomarker" and m.state in ("present", "absent"):
            mentions.setdefault(m.id, []).append(m)
    return {
        bid: {"yes" if m.state == "present" else "no" for m in ([m for m in own if m.via is None] or own)}
        for bid, own in mentions.items()
    }


@dataclass(frozen=True)
class AnswerCheck:
    """How many candidate reports to write per scan, and what reads the questions and the reports."""

    candidates: int
    kb: KnowledgeBase
    templates: Templates
    extractor: FindingsExtractor
    stage_opening: str  # the report template's stage sentence up to the stage ("Stage:")

    @classmethod
    def load(cls, candidates: int, kb: KnowledgeBase) -> AnswerCheck:
        """The closed questions of curricula/templates/qa_findings.yaml, read with the default context rules."""
        if candidates < 1:
            raise ValueError(f"--check-answers needs at least 1 candidate report, got {candidates}")
        templates = load_templates(curricula_dir() / "templates" / "qa_findings.yaml")
        report = load_templates(curricula_dir() / "templates" / "qa_reports.yaml").sections["report"]
        stage_opening = report["sections"]["stage"].split("{stage}")[0].strip()
        return cls(candidates, kb, templates, FindingsExtractor(kb), stage_opening)

    def questions(self) -> list[tuple[str, str]]:
        """(task, question) for the stage, the referral and every biomarker's presence."""
        return closed_tasks(self.templates, self.kb)

    def contradictions(self, report: str, answers: dict[str, str]) -> int:
        """How many parsed answers the report states otherwise; what it leaves unsaid, or an unparsed answer, is none."""
        extraction = self.extractor.extract(report)
        labels = extraction.labels()
        stated = {"stage": {labels["stage"]} - {None}, "referral": {labels["referral"]} - {None}}
        for bid, states in stated_presence(extraction).items():
            stated[f"presence:{bid}"] = states
        empty_stage_line = labels["stage"] is None and self.stage_opening in report
        return sum(
            answer != UNPARSED and (bool(stated.get(task, set()) - {answer}) or task == "stage" and empty_stage_line)
            for task, answer in answers.items()
        )

    def answers(self, model: RetinaVLM, pixels: torch.Tensor, features: torch.Tensor) -> list[dict[str, str]]:
        """Each scan's closed answers (task -> stage id, referral id, "yes" or "no"; UNPARSED for words that name
        no level). `features` are the scans' encoder tokens (`inference_features(pixels)`)."""
        asked = self.questions()
        worded = [(task, q) for task, q in asked if not task.startswith("presence:")]
        presence = [(task, q) for task, q in asked if task.startswith("presence:")]
        scans = len(pixels)
        replies = model.generate(
            None,
            [prompt_for(question) for _ in range(scans) for _, question in worded],
            max_new_tokens=ANSWER_TOKENS,
            image_features=features.repeat_interleave(len(worded), dim=0),
        )
        log_odds = self.presence_log_odds(model, pixels, features)
        answers = []
        for i in range(scans):
            mine = replies[i * len(worded) : (i + 1) * len(worded)]
            scan = {task: parse_answer(task, reply, self.kb) for (task, _), reply in zip(worded, mine, strict=True)}
            scan.update({task: "yes" if log_odds[i, j] > 0 else "no" for j, (task, _) in enumerate(presence)})
            answers.append(scan)
        return answers

    def presence_log_odds(self, model: RetinaVLM, pixels: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """(scans, presence questions) log-odds of "Yes" against "No" as the first answer token, summed over
        the scan and its mirror image; the presence questions in the order of `questions()`."""
        presence = [question for task, question in self.questions() if task.startswith("presence:")]
        yes, no = (model.processor.tokenizer.encode(word, add_special_tokens=False)[0] for word in ("Yes", "No"))
        prompts = [prompt_for(question) for _ in range(len(pixels)) for question in presence]
        log_odds = torch.zeros(len(prompts))
        for view in (features, model.inference_features(pixels.flip(-1))):
            logits = model.next_token_logits(prompts, view.repeat_interleave(len(presence), dim=0)).cpu()
            log_odds += logits[:, yes] - logits[:, no]
        return log_odds.view(len(pixels), len(presence))

    def reports(self, model: RetinaVLM, pixels: torch.Tensor, prompts: list[str], max_new_tokens: int) -> list[str]:
        """One checked report per scan of the batch `pixels` (B, 1, S, S).

        The greedy report is kept when it contradicts no answer (no candidate can do better); beam search
        runs only for the other scans of the batch.
        """
        features = model.inference_features(pixels)  # each scan encoded once for its questions, report and beams
        answers = self.answers(model, pixels, features)
        chosen = model.generate(None, prompts, max_new_tokens=max_new_tokens, image_features=features)
        unsure = [i for i, report in enumerate(chosen) if self.contradictions(report, answers[i])]
        if unsure:
            candidates = model.candidates(
                None, [prompts[i] for i in unsure], max_new_tokens, self.candidates, image_features=features[unsure]
            )
            for i, reports in zip(unsure, candidates, strict=True):
                counts = [self.contradictions(report, answers[i]) for report in reports]
                chosen[i] = reports[counts.index(min(counts))]  # the first best: ties go to the better beam
        return chosen
