"""Short questions from the tabular labels (presence, lists, attributes, stage, referral); stage 1 trains on them.

Each question is drawn before the answer is known to the template and uses only the target's name,
so it never reveals the answer. A builder asks only what is known for the scan: it returns None (the
question does not apply) when its answer would rest on an unknown label.
"""

from __future__ import annotations

import random

from retinavlm.knowledge import KnowledgeBase
from retinavlm.train.qa import QAPair, Templates, join_list, register, with_context
from retinavlm.train.records import ScanRecord


@register("presence", ("presence",))
def presence(record: ScanRecord, templates: Templates, kb: KnowledgeBase, rng: random.Random) -> QAPair | None:
    """Yes/no about one biomarker; present and absent targets are drawn half and half."""
    present, absent = record.present(), record.absent()
    pool = rng.choice([present, absent]) if present and absent else (present or absent)
    if not pool:
        return None
    target = rng.choice(pool)
    t = templates.section("presence")
    name = kb.biomarkers[target].name
    question = rng.choice(t["questions"]).format(name=name)
    answer = rng.choice(t["answers"][record.biomarkers[target]]).format(name=name)
    return QAPair(with_context(question, record, templates, rng), answer, "presence")


@register("which_biomarkers", ("which_biomarkers",))
def which_biomarkers(record: ScanRecord, templates: Templates, kb: KnowledgeBase, rng: random.Random) -> QAPair | None:
    """The list of exactly the present biomarkers, in knowledge-base order; only when every one is known."""
    if not all(map(record.known, record.biomarkers)):
        return None
    t = templates.section("which_biomarkers")
    names = [kb.biomarkers[b].name for b in record.present()]
    question = rng.choice(t["questions"])
    answer = rng.choice(t["answers"]["some" if names else "none"]).format(list=join_list(names))
    return QAPair(with_context(question, record, templates, rng), _capitalise(answer), "which_biomarkers")


@register("attribute", ("attribute",))
def attribute(record: ScanRecord, templates: Templates, kb: KnowledgeBase, rng: random.Random) -> QAPair | None:
    """An attribute of a present finding (drusen size, PED type) that the templates ask about."""
    t = templates.section("attribute")
    options = [
        (key, record.attributes[bid][attr])
        for key in t
        for bid, _, attr in [key.partition(".")]
        if record.biomarkers.get(bid) == "present" and attr in record.attributes.get(bid, {})
    ]
    if not options:
        return None
    key, value = rng.choice(options)
    question = rng.choice(t[key]["questions"])
    answer = rng.choice(t[key]["answers"]).format(value=value)
    return QAPair(with_context(question, record, templates, rng), _capitalise(answer), "attribute")


@register("stage", ("stage",))
def stage(record: ScanRecord, templates: Templates, kb: KnowledgeBase, rng: random.Random) -> QAPair | None:
    if record.stage is None:
        return None
    t = templates.section("stage")
    answer = rng.choice(t["answers"]).format(stage=kb.stage(record.stage).name)
    return QAPair(with_context(rng.choice(t["questions"]), record, templates, rng), _capitalise(answer), "stage")


@register("referral", ("referral",))
def referral(record: ScanRecord, templates: Templates, kb: KnowledgeBase, rng: random.Random) -> QAPair | None:
    if record.referral is None:
        return None
    t = templates.section("referral")
    answer = rng.choice(t["answers"]).format(referral=kb.referral(record.referral).name)
    return QAPair(with_context(rng.choice(t["questions"]), record, templates, rng), _capitalise(answer), "referral")


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]
