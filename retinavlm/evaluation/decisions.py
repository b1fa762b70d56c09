"""The knowledge base's stage and referral ladders, remembered per set of findings: grading decides the
same few combinations of findings over and over (each report's own stage, then the rubric's consistency
check), and a ladder is a pure function of the findings."""

from __future__ import annotations

from collections.abc import Mapping

from retinavlm.knowledge import Decision, KnowledgeBase, decide

_MAX_ENTRIES = 100_000  # per knowledge base; past this, decisions are computed, not stored
# id(kb) -> (kb, {(ladder, findings key): decision}); the kb is held so that its id is not reused
_CACHE: dict[int, tuple[KnowledgeBase, dict]] = {}


def decision(kb: KnowledgeBase, ladder: str, findings: Mapping[str, Mapping[str, str]]) -> Decision:
    """`decide` on kb.stages (ladder "stage") or kb.referrals ("referral") for findings written
    {biomarker: {"state": ..., attribute: value}}."""
    held = _CACHE.get(id(kb))
    if held is None or held[0] is not kb:
        held = _CACHE[id(kb)] = (kb, {})
    cache = held[1]
    key = (ladder, tuple(sorted((bid, tuple(sorted(f.items()))) for bid, f in findings.items())))
    found = cache.get(key)
    if found is None:
        found = decide(kb.stages if ladder == "stage" else kb.referrals, findings, kb)
        if len(cache) < _MAX_ENTRIES:
            cache[key] = found
    return found
