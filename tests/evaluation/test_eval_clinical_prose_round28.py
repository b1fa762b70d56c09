"""Rules from the twenty-sixth writer's general set (round 28: styles_dev26.jsonl), as properties: the eye examined
today after a history of the other eye, ..."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)

SIDES = st.sampled_from([("right eye", "left eye"), ("left eye", "right eye")])
# abbreviations as written: lower-case "re" and "le" are words too
SHORT_SIDES = st.sampled_from([("RE", "LE"), ("LE", "RE"), ("OD", "OS"), ("OS", "OD")])
HISTORIES = st.sampled_from(
    [
        "Known GA {other} under monitoring in our atrophy clinic.",
        "{other} treated for wet AMD at hospital (stable per pt).",
        "Known GA {other}, followed in the GA clinic.",
    ]
)


@SETTINGS
@given(
    st.one_of(st.tuples(SIDES, CASES), st.tuples(SHORT_SIDES, st.sampled_from(["as written", "upper"]))),
    HISTORIES,
    st.sampled_from(["Today {eye} imaged:", "{eye} today:", "Today {eye}:"]),
)
def test_the_eye_examined_today_is_the_reports_eye(sides_case, history, opener):
    """Class: eye scope. A history of the other eye comes first, so the first eye named is not the scanned one: the
    eye named next to today's word ("Today LEFT eye imaged", "RE today:") is this report's eye, and its findings
    count (the other eye's GA does not)."""
    (other, eye), case = sides_case
    text = cased(
        f"{history.format(other=other)} {opener.format(eye=eye)} medium drusen, RPE regular, no SRF, no IRF.", case
    )
    got = labels(text)
    assert got["biomarkers"].get("drusen") == "present", text
    assert got["biomarkers"].get("srf") == "absent", text
    assert "rpe_atrophy" not in got["biomarkers"], text
    assert got["stage"] is None, text


@SETTINGS
@given(SIDES, CASES)
def test_today_saying_when_keeps_the_first_eye(sides, case):
    """Class: eye scope. "today" that says when a referral for the other eye was sent ("urgent referral sent today for
    the LEFT eye") does not make that eye the report's."""
    eye, other = sides
    text = cased(
        f"OCT {eye} (requested for comparison): medium drusen, no fluid.\nFundus photo of the {other}: fresh "
        f"haemorrhage - urgent referral sent today for the {other}.",
        case,
    )
    assert labels(text)["biomarkers"].get("drusen") == "present", text
