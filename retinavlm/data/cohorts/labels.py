"""Stage and referral from partial labels: derived only where the unknown findings cannot change them.

A dataset label often names a few findings and leaves the rest unknown (a Kermany "DRUSEN" scan
says nothing about fluid). The knowledge-base rules read a report, where "not mentioned" and
"unspecified size" have defaults; a label has no such defaults. So we compute the range of rungs
a rule ladder can take over every completion of the unknowns, and derive a level only when that
range is one rung. The same range checks given labels: a stage below what the present findings
force, or above what they allow, contradicts them.

Each criterion depends on one biomarker, and a ladder takes its highest met rung, so the range
decomposes per biomarker: the lowest rung is the max over biomarkers of the least rung each must
reach; the highest is the max of the most each could reach.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from retinavlm.knowledge import Biomarker, Finding, KnowledgeBase, Level
from retinavlm.knowledge.rules import criterion_met

# Per-biomarker label states; None means unknown (not labelled).
LABEL_STATES = ("present", "absent", "uncertain")


def level_range(
    levels: tuple[Level, ...],
    states: Mapping[str, str | None],
    attributes: Mapping[str, Mapping[str, str]],
    kb: KnowledgeBase,
) -> tuple[int, int]:
    """Lowest and highest rung index of `levels` consistent with the labelled findings."""
    low = high = 0
    for marker in kb.biomarkers.values():
        rungs = [
            _rung(levels, marker.id, finding, kb)
            for finding in _possible_findings(marker, states.get(marker.id), attributes.get(marker.id, {}))
        ]
        low, high = max(low, min(rungs)), max(high, max(rungs))
    return low, high


def derived_level(levels: tuple[Level, ...], states, attributes, kb: KnowledgeBase) -> str | None:
    """The level the labels fix, or None when unknown findings could change it."""
    low, high = level_range(levels, states, attributes, kb)
    return levels[low].id if low == high else None


def contradiction(level_id: str, levels: tuple[Level, ...], states, attributes, kb: KnowledgeBase) -> str | None:
    """Why `level_id` cannot hold for these findings, or None when it can."""
    ids = [level.id for level in levels]
    index = ids.index(level_id)
    low, high = level_range(levels, states, attributes, kb)
    if low <= index <= high:
        return None
    allowed = ids[low] if low == high else f"{ids[low]} .. {ids[high]}"
    return f"{level_id!r} contradicts the labelled findings, which allow {allowed}"


def _possible_findings(marker: Biomarker, state: str | None, given: Mapping[str, str]) -> list[Finding]:
    absent = [Finding("absent")]
    if state == "absent":
        return absent
    names = list(marker.attributes)
    choices = [[given[name]] if name in given else list(marker.attributes[name].values) for name in names]
    present = [Finding("present", dict(zip(names, combo))) for combo in itertools.product(*choices)]
    return present if state == "present" else absent + present  # unknown or uncertain: either


def _rung(levels: tuple[Level, ...], biomarker_id: str, finding: Finding, kb: KnowledgeBase) -> int:
    findings = {biomarker_id: finding}
    met = (
        index
        for index, level in enumerate(levels)
        if any(c.biomarker == biomarker_id and criterion_met(c, findings, kb) for c in level.criteria)
    )
    return max(met, default=0)
