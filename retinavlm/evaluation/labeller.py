"""Report labeller: turn free-text reference reports (a specialist's own words) into reference
labels in the interchange format, so that they can grade other reports.

A report names some findings and usually a stage and a referral. The labels list every biomarker
(present when the report asserts it, absent otherwise; hedged findings go where `uncertain_as`
says) and take the stage and referral the report states, or, when it states none, the ones the
knowledge-base rules give for its findings. What was inferred is recorded in "label_notes".
"""

from __future__ import annotations

from typing import Any

from retinavlm.evaluation.extract import FindingsExtractor
from retinavlm.knowledge import decide


def label_report(report: str, extractor: FindingsExtractor, uncertain_as: str = "absent") -> dict[str, Any]:
    """Reference labels (stage, referral, biomarkers) for one free-text report, with notes."""
    if uncertain_as not in ("present", "absent"):
        raise ValueError(f"uncertain_as must be 'present' or 'absent', got {uncertain_as!r}")
    kb = extractor.kb
    extraction = extractor.extract(report)
    biomarkers = {}
    notes = []
    for bid in kb.biomarkers:
        mention = extraction.biomarkers.get(bid)
        state = mention.state if mention else None
        if state == "uncertain":
            notes.append(f'{bid} hedged ("{mention.span.text}"), labelled {uncertain_as}')
            state = uncertain_as
        biomarkers[bid] = "present" if state == "present" else "absent"
    findings = {
        bid: {"state": "present", **(extraction.biomarkers[bid].attributes if bid in extraction.biomarkers else {})}
        for bid, state in biomarkers.items()
        if state == "present"
    }
    out: dict[str, Any] = {}
    for key, stated, levels in (
        ("stage", extraction.stage, kb.stages),
        ("referral", extraction.referral, kb.referrals),
    ):
        if stated is not None:
            out[key] = stated.id
        else:
            decision = decide(levels, findings, kb)
            out[key] = decision.id
            notes.append(f"{key} not stated, {decision.id} from the findings")
    if extraction.truncated:
        notes.append(f"report longer than {extraction.read_chars} characters; only that much was read")
    return {**out, "biomarkers": biomarkers, "label_notes": notes}
