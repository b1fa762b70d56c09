"""The clinical knowledge base: biomarkers, AMD stages, referral rules and non-AMD conditions, loaded from YAML."""

from retinavlm.knowledge.loader import (
    FINDING_STATES,
    Attribute,
    Biomarker,
    BiomarkerGroup,
    Condition,
    Criterion,
    KnowledgeBase,
    KnowledgeError,
    Level,
    load_knowledge,
)
from retinavlm.knowledge.rules import (
    Decision,
    Finding,
    decide,
    normalize_findings,
    referral_from_findings,
    stage_from_findings,
)

__all__ = [
    "FINDING_STATES",
    "Attribute",
    "Biomarker",
    "BiomarkerGroup",
    "Condition",
    "Criterion",
    "Decision",
    "Finding",
    "KnowledgeBase",
    "KnowledgeError",
    "Level",
    "decide",
    "load_knowledge",
    "normalize_findings",
    "referral_from_findings",
    "stage_from_findings",
]
