"""Rules from the twenty-third writer's general set (round 25: styles_dev23.jsonl), as properties: a cause denied in
relational words, an activity set against its opposite, the dry family in full words or after the disease, and a
grading tool's row of counts."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)
NAMES = {"srf": "SRF", "irf": "IRF", "ped": "PED", "shrm": "SHRM", "hyperreflective_foci": "HRF", "rpe_atrophy": "GA"}


@SETTINGS
@given(
    st.sampled_from(
        ["not associated with", "not related to", "not due to", "not caused by", "not secondary to", "unrelated to"]
    ),
    st.sampled_from(["a neovascular membrane", "MNV", "CNV", "wet AMD"]),
    CASES,
)
def test_a_denied_cause_is_no_stage(relation, cause, case):
    """Class: a finding tied to a cause the writer denies. "The haemorrhage is not associated with a neovascular
    membrane" states no wet AMD."""
    text = cased(f"Medium drusen, no fluid. The haemorrhage you saw is {relation} {cause}.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(
        [
            "more likely inactive than active",
            "more likely active than inactive",
            "active vs inactive",
            "inactive versus active",
            "more likely quiescent than active",
        ]
    ),
    st.sampled_from(["neovascular AMD", "nAMD", "MNV", "wet AMD"]),
    CASES,
)
def test_an_activity_set_against_its_opposite_is_no_stage(activity, disease, case):
    """Class: two stages sharing one disease noun ("more likely inactive than active neovascular AMD"): undecided,
    like "intermediate AMD vs MNV" (eval/README.md, round 23's "more likely ... than")."""
    text = cased(f"Detected: SHRM (p=0.62). Classification: {activity} {disease}. Action: human review.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(st.sampled_from(["Active or inactive?", "Active or inactive ?", "Is it active or inactive?"]), CASES)
def test_an_answered_activity_question_keeps_the_answer(question, case):
    """The alternative asked and answered ("Q: Active or inactive? A: Inactive") is the answer (dev6 b5-015)."""
    text = cased(
        f"Q&A, left eye after loading plus 6 maintenance injections.\nQ: {question} A: Inactive - the fluid has gone.\n"
        "Q: Next step? A: Extend the treatment interval to 12 weeks.",
        case,
    )
    assert labels(text)["stage"] == "late_wet_inactive", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Nonexudative age-related macular degeneration",
            "Non-exudative age-related macular degeneration",
            "AMD (dry)",
            "ARMD (dry)",
            "AMD dry",
            "Non-exudative macular degeneration",
        ]
    ),
    st.sampled_from(["large drusen and pigmentary changes", "medium drusen", "drusen and RPE elevation"]),
    CASES,
)
def test_the_dry_family_names_no_stage(family, findings, case):
    """Class: the dry family in full words or after the disease. It names no stage (round 23), whatever the
    findings; a severity word next to it picks one."""
    text = cased(f"OD OCT: {findings}, no fluid. Impression: {family}, left eye.", case)
    assert labels(text)["stage"] is None, text
    text = cased(f"OD OCT: {findings}, no fluid. Impression: {family}, intermediate.", case)
    assert labels(text)["stage"] == "intermediate", text


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(NAMES)), st.sampled_from([0, 1])),
        min_size=3,
        max_size=6,
        unique_by=lambda x: x[0],
    ),
    st.sampled_from(["Biomarker summary (L): ", "", "OCT grading: "]),
    CASES,
)
def test_a_row_of_counts_reads_each_count(cells, prefix, case):
    """Class: a grading tool's summary row ("SRF 0 | IRF 0 | PED 1 | GA 0"): 0 is absent, 1 present, each cell its
    own item."""
    text = cased(prefix + " | ".join(f"{NAMES[bid]} {n}" for bid, n in cells), case)
    got = labels(text)["biomarkers"]
    for bid, n in cells:
        assert got.get(bid) == ("present" if n else "absent"), text
