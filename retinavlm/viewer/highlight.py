"""A report as HTML with every extracted mention marked by its state and linked to its findings row.

Report text is untrusted (it comes from a model or a run file), so everything is HTML-escaped;
the only markup is ours.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from retinavlm.evaluation.extract import Extraction, Mention
from retinavlm.evaluation.text import clean_text
from retinavlm.knowledge import KnowledgeBase

# state -> (background, text) colours; None is "said, but not about this scan" (historical, other eye, ...).
STATE_STYLES = {
    "present": ("#fde2e1", "#9b1c1c"),
    "absent": ("#dcfce7", "#166534"),
    "uncertain": ("#fef3c7", "#92400e"),
    None: ("#e5e7eb", "#374151"),
}
STATE_LABELS = {"present": "present", "absent": "absent", "uncertain": "uncertain", None: "not about this scan"}


@dataclass(frozen=True)
class MarkedMention:
    anchor: str  # HTML id of the span in the report
    mention: Mention
    label: str  # what the mention is about, in words


def mention_label(mention: Mention, kb: KnowledgeBase) -> str:
    if mention.kind == "biomarker":
        name = kb.biomarkers[mention.id].name
        qualifiers = " ".join(mention.attributes.values())
        return f"{qualifiers} {name}".strip()
    level = kb.stage(mention.id) if mention.kind == "stage" else kb.referral(mention.id)
    return f"{mention.kind}: {level.name}"


def marked_mentions(extraction: Extraction, kb: KnowledgeBase, prefix: str) -> list[MarkedMention]:
    """Mentions in reading order, with non-overlapping spans (the first one wins an overlap)."""
    out: list[MarkedMention] = []
    last_end = -1
    for mention in sorted(extraction.mentions, key=lambda m: (m.span.start, -m.span.end)):
        if mention.span.start < last_end:
            continue
        out.append(MarkedMention(f"{prefix}-m{len(out)}", mention, mention_label(mention, kb)))
        last_end = mention.span.end
    return out


def report_html(report: str, marks: list[MarkedMention]) -> str:
    """The report with <mark> around each mention (colour = state, tooltip = finding and cues)."""
    text = clean_text(report)
    pieces, cursor = [], 0
    for mark in marks:
        span, state = mark.mention.span, mark.mention.state
        background, colour = STATE_STYLES[state]
        tip = f"{mark.label} — {STATE_LABELS[state]}"
        if mark.mention.cues:
            tip += f" ({', '.join(mark.mention.cues)})"
        pieces.append(html.escape(text[cursor : span.start]))
        pieces.append(
            f'<mark id="{mark.anchor}" class="finding finding-{html.escape(str(state).lower())}" title="{html.escape(tip)}" '
            f'style="background:{background};color:{colour};padding:0 3px;border-radius:4px;font-weight:600">'
            f"{html.escape(text[span.start : span.end])}</mark>"
        )
        cursor = span.end
    pieces.append(html.escape(text[cursor:]))
    body = "".join(pieces).replace("\n", "<br>")
    return f'<div class="report" style="line-height:1.7;font-size:1.02rem">{body}</div>'


def legend_html() -> str:
    items = [
        f'<span style="background:{bg};color:{fg};padding:1px 6px;border-radius:4px;margin-right:6px;font-size:0.85rem">'
        f"{STATE_LABELS[state]}</span>"
        for state, (bg, fg) in STATE_STYLES.items()
    ]
    return "".join(items)
