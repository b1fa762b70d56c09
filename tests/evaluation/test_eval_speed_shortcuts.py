"""The grader's speed shortcuts change no result: remembered ladder decisions equal fresh ones, and a phrase
table said not to match a report finds nothing in it."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, extractor

from retinavlm.evaluation.decisions import decision
from retinavlm.evaluation.document import Document
from retinavlm.evaluation.matcher import PhraseTable
from retinavlm.evaluation.text import clean_text
from retinavlm.evaluation.validation import default_validation_path
from retinavlm.jsonl import read_jsonl
from retinavlm.knowledge import decide


def _findings(kb):
    """Findings as an extraction writes them, with each attribute value of each biomarker."""
    states = st.sampled_from(["present", "absent", "uncertain"])

    def one(bid):
        attributes = kb.biomarkers[bid].attributes
        values = st.fixed_dictionaries({}, optional={n: st.sampled_from(a.values) for n, a in attributes.items()})
        return st.builds(lambda s, a: {"state": s, **a}, states, values)

    return st.lists(st.sampled_from(sorted(kb.biomarkers)), unique=True).flatmap(
        lambda ids: st.fixed_dictionaries({bid: one(bid) for bid in ids})
    )


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_remembered_decision_equals_a_fresh_one_in_any_order(data):
    kb = extractor().kb
    findings = data.draw(_findings(kb))
    reordered = dict(reversed(list(findings.items())))
    for ladder, levels in (("stage", kb.stages), ("referral", kb.referrals)):
        fresh = decide(levels, findings, kb)
        assert decision(kb, ladder, findings) == fresh
        assert decision(kb, ladder, reordered) == fresh  # the second call is a remembered one


def _tables(ex) -> list[tuple[str, PhraseTable]]:
    return [(name, value) for name, value in vars(ex).items() if isinstance(value, PhraseTable)]


def _document(ex, text: str) -> Document:
    return ex._reader.read(ex._norm.punctuate(clean_text(text)))


def _assert_may_match_holds(text: str) -> None:
    ex = extractor()
    doc = _document(ex, text)
    for (name, table), caseless in itertools.product(_tables(ex), (False, True)):
        written = frozenset(raw.lower() for raw in doc.raws) if caseless else doc.raws
        if table.may_match(doc.norms, written, caseless):
            continue
        found = [m for s in doc.sentences for m in table.scan(doc.tokens, *s, caseless=caseless)]
        assert not found, (name, caseless, text)


def test_a_table_said_not_to_match_finds_nothing_in_the_validation_reports():
    rows, _ = read_jsonl(default_validation_path())
    for row in rows:
        _assert_may_match_holds(row["report"])


@settings(max_examples=150, deadline=None)
@given(
    words=st.lists(
        st.sampled_from(["no", "SRF", "srf", "GA", "ga", "6", "monthly", "review", "right", "eye", "wet", "AMD", ","]),
        max_size=12,
    ),
    case=CASES,
)
def test_a_table_said_not_to_match_finds_nothing_in_generated_notes(words, case):
    _assert_may_match_holds(cased(" ".join(words), case))
