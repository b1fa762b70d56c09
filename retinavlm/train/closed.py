"""Closed-ended evaluation: fixed short questions per scan (stage, referral, each biomarker's presence),
the model's free-text answers parsed with the knowledge base's vocabulary, and the F1 scores.

An answer that cannot be parsed counts as wrong, never as a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from sklearn.metrics import f1_score

from retinavlm.knowledge import KnowledgeBase, Level
from retinavlm.model.generation import answer_each_scan
from retinavlm.train.images import ScanImages
from retinavlm.train.qa import Templates, prompt_for
from retinavlm.train.records import ScanRecord

UNPARSED = "unparsed"
ANSWER_TOKENS = 16  # a closed answer is a few words ("No.", "This is active late wet AMD.")


@dataclass(frozen=True)
class ClosedQuestion:
    task: str  # "stage", "referral" or "presence:<biomarker id>"
    question: str
    expected: str  # stage id, referral id, or "yes"/"no"


def closed_tasks(templates: Templates, kb: KnowledgeBase) -> list[tuple[str, str]]:
    """(task, question) for the stage, the referral and every biomarker's presence, in that order."""
    closed = templates.section("closed")
    presence = [(f"presence:{bid}", closed["presence"].format(name=b.name)) for bid, b in kb.biomarkers.items()]
    return [("stage", closed["stage"]), ("referral", closed["referral"]), *presence]


def closed_questions(record: ScanRecord, templates: Templates, kb: KnowledgeBase) -> list[ClosedQuestion]:
    """The questions whose answer is known for the scan: an unknown stage, referral or biomarker is not asked."""
    questions = []
    for task, question in closed_tasks(templates, kb):
        if task in ("stage", "referral"):
            expected = getattr(record, task)
        else:
            bid = task.removeprefix("presence:")
            expected = ("yes" if record.biomarkers[bid] == "present" else "no") if record.known(bid) else None
        if expected is not None:
            questions.append(ClosedQuestion(task, question, expected))
    return questions


def parse_answer(task: str, answer: str, kb: KnowledgeBase) -> str:
    """The label an answer gives for a task, or UNPARSED."""
    if task.startswith("presence:"):
        return parse_yes_no(answer)
    levels = kb.stages if task == "stage" else kb.referrals
    marker = "stage:" if task == "stage" else "referral:"
    lowered = answer.lower()
    if marker in lowered:  # reasoning answers end with "Stage: <name>."
        lowered = lowered.rsplit(marker, 1)[1]
    return parse_level(lowered, levels)


def parse_yes_no(answer: str) -> str:
    words = re.findall(r"[a-z]+", answer.lower())
    return words[0] if words and words[0] in ("yes", "no") else UNPARSED


def parse_level(text: str, levels: tuple[Level, ...]) -> str:
    """The level whose name or synonym occurs first in the text (longest phrase wins at a position)."""
    best: tuple[int, int, str] | None = None
    for phrase, level_id in _phrases(levels):
        match = re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text)
        if match and (best is None or (match.start(), -len(phrase)) < (best[0], best[1])):
            best = (match.start(), -len(phrase), level_id)
    return best[2] if best else UNPARSED


def _phrases(levels: tuple[Level, ...]) -> tuple[tuple[str, str], ...]:
    pairs = {(p.lower(), lv.id) for lv in levels for p in (lv.name, lv.id.replace("_", " "), *lv.synonyms)}
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


def closed_metrics(questions: list[ClosedQuestion], predictions: list[str], kb: KnowledgeBase) -> dict[str, float]:
    """Macro-F1 for stage and referral, F1 per biomarker (present = positive) and their mean.

    A biomarker with no positive reference case is left out of the mean (its F1 is undefined).
    """
    by_task: dict[str, tuple[list[str], list[str]]] = {}
    for q, pred in zip(questions, predictions, strict=True):
        truth, preds = by_task.setdefault(q.task, ([], []))
        truth.append(q.expected)
        preds.append(pred)
    metrics: dict[str, float] = {}
    for task, labels in (("stage", kb.stage_ids), ("referral", kb.referral_ids)):
        if task in by_task:
            truth, preds = by_task[task]
            present = [lb for lb in labels if lb in truth]
            metrics[f"{task}_macro_f1"] = float(
                f1_score(truth, preds, labels=present, average="macro", zero_division=0)
            )
            metrics[f"{task}_accuracy"] = sum(t == p for t, p in zip(truth, preds)) / len(truth)
    biomarker_f1 = []
    for bid in kb.biomarker_ids:
        if f"presence:{bid}" not in by_task:
            continue
        truth, preds = by_task[f"presence:{bid}"]
        if "yes" not in truth:
            continue
        score = float(f1_score([t == "yes" for t in truth], [p == "yes" for p in preds], zero_division=0))
        metrics[f"f1_{bid}"] = score
        biomarker_f1.append(score)
    if biomarker_f1:
        metrics["biomarker_mean_f1"] = sum(biomarker_f1) / len(biomarker_f1)
    metrics["unparsed_fraction"] = sum(p == UNPARSED for p in predictions) / max(len(predictions), 1)
    return metrics


@torch.no_grad()
def closed_ended_scores(
    model,
    images: ScanImages,
    templates: Templates,
    kb: KnowledgeBase,
    batch_size: int = 32,
    image_order: list[int] | None = None,
    max_new_tokens: int = ANSWER_TOKENS,
) -> tuple[dict[str, float], list[dict[str, str]]]:
    """Ask every closed question about every scan; scores and one row per answer.

    `image_order[i]` is the scan whose pixels are shown for scan i's questions: a permutation gives
    the shuffled-image control (the answers should fall to chance if they come from the pixels).
    """
    per_scan = [closed_questions(record, templates, kb) for record in images.records]
    shown = image_order if image_order is not None else range(len(per_scan))
    replies = answer_each_scan(
        model,
        (images.tensor(i) for i in shown),
        [[prompt_for(q.question) for q in mine] for mine in per_scan],
        batch_size,
        max_new_tokens,
    )
    asked = [(i, q) for i, mine in enumerate(per_scan) for q in mine]
    answers = [answer for mine in replies for answer in mine]
    questions = [q for _, q in asked]
    parsed = [parse_answer(q.task, a, kb) for q, a in zip(questions, answers)]
    rows = [
        {"id": images.records[i].id, "task": q.task, "expected": q.expected, "answer": a, "parsed": p}
        for (i, q), a, p in zip(asked, answers, parsed)
    ]
    return closed_metrics(questions, parsed, kb), rows
