"""Stage and referral as functions of findings, read from the knowledge base's rule ladders.

Both use one mechanism: walk the ordered levels from most to least advanced and take the first
whose criteria a present finding meets. Only `present` findings count; `uncertain` findings are
reported by the grader but never change a stage or a referral.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from retinavlm.knowledge.loader import FINDING_STATES, Criterion, KnowledgeBase, KnowledgeError, Level, load_knowledge


@dataclass(frozen=True)
class Finding:
    state: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The level a rule ladder gives, and the findings that put it there (empty for the default)."""

    level: Level
    reasons: tuple[Criterion, ...]

    @property
    def id(self) -> str:
        return self.level.id


FindingsLike = Mapping[str, Any]


def normalize_findings(findings: FindingsLike, kb: KnowledgeBase | None = None) -> dict[str, Finding]:
    """Accept `{id: "present"}`, `{id: {"state": "present", "size": "large"}}` or `{id: Finding}`.

    Unknown biomarker ids, states and attribute values raise `KnowledgeError` naming them.
    """
    kb = kb or load_knowledge()
    if not isinstance(findings, Mapping):
        raise KnowledgeError(f"findings must be a mapping of biomarker id -> state, got {type(findings).__name__}")
    out: dict[str, Finding] = {}
    for bid, value in findings.items():
        marker = kb.biomarker(bid)
        if isinstance(value, Finding):
            state, attrs = value.state, dict(value.attributes)
        elif isinstance(value, str):
            state, attrs = value, {}
        elif isinstance(value, Mapping):
            attrs = {k: v for k, v in value.items() if k != "state"}
            state = value.get("state", "present")
        else:
            raise KnowledgeError(f"finding {bid!r}: expected a state string or a mapping, got {type(value).__name__}")
        if state not in FINDING_STATES:
            raise KnowledgeError(
                f"finding {bid!r}: unknown state {state!r}; expected one of {', '.join(FINDING_STATES)}"
            )
        for aname, avalue in attrs.items():
            if aname not in marker.attributes:
                raise KnowledgeError(f"finding {bid!r}: unknown attribute {aname!r}")
            if avalue not in marker.attributes[aname].values:
                raise KnowledgeError(
                    f"finding {bid!r}: {aname}={avalue!r} is not one of {', '.join(marker.attributes[aname].values)}"
                )
        out[bid] = Finding(state, dict(attrs))
    return out


def criterion_met(criterion: Criterion, findings: Mapping[str, Finding], kb: KnowledgeBase) -> bool:
    finding = findings.get(criterion.biomarker)
    if finding is None or finding.state != "present":
        return False
    marker = kb.biomarkers[criterion.biomarker]
    for aname, allowed in criterion.attributes.items():
        value = finding.attributes.get(aname, marker.attributes[aname].when_unspecified)
        if value not in allowed:
            return False
    return True


def decide(levels: tuple[Level, ...], findings: FindingsLike, kb: KnowledgeBase | None = None) -> Decision:
    """The most advanced level with a met criterion, with the criteria that were met."""
    kb = kb or load_knowledge()
    normalized = normalize_findings(findings, kb)
    for level in reversed(levels):
        reasons = tuple(c for c in level.criteria if criterion_met(c, normalized, kb))
        if reasons:
            return Decision(level, reasons)
    return Decision(levels[0], ())


def stage_from_findings(findings: FindingsLike, kb: KnowledgeBase | None = None) -> str:
    """AMD stage id for a set of findings (the most advanced stage that applies)."""
    kb = kb or load_knowledge()
    return decide(kb.stages, findings, kb).id


def referral_from_findings(findings: FindingsLike, kb: KnowledgeBase | None = None) -> str:
    """Referral level id for a set of findings (the most urgent level that applies)."""
    kb = kb or load_knowledge()
    return decide(kb.referrals, findings, kb).id
