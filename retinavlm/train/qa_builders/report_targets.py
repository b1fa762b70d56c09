"""Report targets, what a specialist's report teaches (stage 2 trains on them): findings, staging and
referral with explicit reasoning (findings -> rule -> level, via `retinavlm.knowledge.decide`), and the
full report in a fixed order (biomarkers, stage, referral).

The findings are the scan's reference findings (those its specialist report states); the reasoning
derives stage and referral from them with the knowledge-base rules, so it always agrees with the rule
it cites.

A target never states a guess as a fact. When a scan's labels are incomplete (a real cohort's class
label), the report says only what is known: the findings known present, the findings known absent,
the stage, a non-AMD condition and the referral when known; the reasoning builders, which must cite
every finding, apply only to fully labelled scans. (docs/TRAINING.md says why partial reports rather
than a loss mask.)
"""

from __future__ import annotations

import functools
import random

from retinavlm.errors import ConfigError
from retinavlm.knowledge import KnowledgeBase, Level, decide
from retinavlm.model.prompts import load_prompts
from retinavlm.resources import curricula_dir
from retinavlm.train.qa import QAPair, Templates, finding_phrase, join_list, register, with_context
from retinavlm.train.records import ScanRecord


def _lists(record: ScanRecord, templates: Templates, kb: KnowledgeBase) -> dict[str, str]:
    none = templates.sections.get("none_word", "none")
    present = [finding_phrase(record, b, kb) for b in record.present()]
    absent = [kb.biomarkers[b].name for b in record.absent()]
    return {
        "findings": join_list(present) or none,
        "absent": join_list(absent) or none,
        "rule_outs": rule_out_sentences(absent, templates),
    }


def rule_out_sentences(absent: list[str], templates: Templates) -> str:
    """The absent findings as short negated sentences ("No A, B or C. No D."); empty when none is absent."""
    spec = templates.section("rule_outs")
    size, sentence = spec.get("items_per_sentence"), spec.get("sentence")
    if (
        not isinstance(size, int)
        or isinstance(size, bool)
        or size < 1
        or not isinstance(sentence, str)
        or "{list}" not in sentence
    ):
        raise ConfigError(
            f"{templates.path}: rule_outs needs items_per_sentence (a positive integer) and a "
            f"sentence holding {{list}}; got {spec!r}"
        )
    chunks = [absent[i : i + size] for i in range(0, len(absent), size)]
    return " ".join(sentence.format(list=join_list(chunk, "or")) for chunk in chunks)


def _all_known(record: ScanRecord) -> bool:
    return all(map(record.known, record.biomarkers))


@register("describe_findings", ("describe_findings", "rule_outs"))
def describe_findings(record: ScanRecord, templates: Templates, kb: KnowledgeBase, rng: random.Random) -> QAPair | None:
    """Present and ruled-out findings; "none present" only when every biomarker is known."""
    if not record.present() and not _all_known(record):
        return None
    t = templates.section("describe_findings")
    answer = rng.choice(t["answers"]["some" if record.present() else "none"]).format(**_lists(record, templates, kb))
    return QAPair(with_context(rng.choice(t["questions"]), record, templates, rng), answer, "describe_findings")


def _reasoning(
    name: str,
    levels: tuple[Level, ...],
    key: str,
    record: ScanRecord,
    templates: Templates,
    kb: KnowledgeBase,
    rng: random.Random,
) -> QAPair | None:
    """The rule applied to every finding; only for a fully labelled scan whose label the rule gives."""
    label = getattr(record, key)
    decision = decide(levels, record.findings(), kb)
    if label is None or not _all_known(record) or decision.level.id != label:
        return None
    t = templates.section(name)
    reasons = join_list([c.describe(kb) for c in decision.reasons])
    fields = {
        **_lists(record, templates, kb),
        key: decision.level.name,
        "reasons": reasons,
        "definition": decision.level.definition.rstrip("."),
    }
    answer = rng.choice(t["answers"]["met" if decision.reasons else "default"]).format(**fields)
    return QAPair(with_context(rng.choice(t["questions"]), record, templates, rng), answer, name)


@register("staging_reasoning", ("staging_reasoning", "rule_outs"))
def staging_reasoning(record: ScanRecord, templates: Templates, kb: KnowledgeBase, rng: random.Random) -> QAPair | None:
    return _reasoning("staging_reasoning", kb.stages, "stage", record, templates, kb, rng)


@register("referral_reasoning", ("referral_reasoning", "rule_outs"))
def referral_reasoning(
    record: ScanRecord, templates: Templates, kb: KnowledgeBase, rng: random.Random
) -> QAPair | None:
    return _reasoning("referral_reasoning", kb.referrals, "referral", record, templates, kb, rng)


@register("report", ("report", "rule_outs"))
def report(record: ScanRecord, templates: Templates, kb: KnowledgeBase, rng: random.Random) -> QAPair:
    """The whole report, sections always in the order biomarkers, stage, referral."""
    question = rng.choice(report_prompts(templates))
    return QAPair(with_context(question, record, templates, rng), write_report(record, templates, kb), "report")


def write_report(record: ScanRecord, templates: Templates, kb: KnowledgeBase) -> str:
    """The deterministic reference report of what is known about a scan (the target of report writing).

    Sections in order, each only when known: biomarkers ("none" only when all are known absent; only the
    rule-outs when none is known present but some are unknown), the AMD stage or the non-AMD condition,
    the referral.
    """
    sections = templates.section("report")["sections"]
    fields = _lists(record, templates, kb)
    parts = []
    if record.present():
        parts.append(sections["biomarkers"]["some"])
    elif _all_known(record):
        parts.append(sections["biomarkers"]["none"])
    elif record.absent():
        parts.append(sections["biomarkers"]["ruled_out"])
    if record.stage is not None:
        parts.append(sections["stage"])
        fields["stage"] = kb.stage(record.stage).name
    if record.condition is not None:
        parts.append(sections["condition"])
        fields["condition"] = kb.condition(record.condition).name
    if record.referral is not None:
        parts.append(sections["referral"])
        fields["referral"] = kb.referral(record.referral).name
    return " ".join(part.format(**fields).strip() for part in parts)


def report_prompts(templates: Templates) -> list[str]:
    """The shared report prompt (curricula/prompts.yaml `report`) when there is one, else the templates'."""
    shared = _shared_prompt()
    return [shared] if shared else list(templates.section("report")["questions"])


@functools.lru_cache(maxsize=1)
def _shared_prompt() -> str | None:
    path = curricula_dir() / "prompts.yaml"
    return load_prompts(path).get("report") if path.is_file() else None
