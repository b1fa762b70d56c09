"""Rules from the twenty-first writer's general set (round 23: styles_dev21.jsonl), as properties: follow-up shorthand
of other health systems, a plan field that names a community carer, urgency denied in any words, a referral declined
for now beside a kept visit, and a level word that names an eye referral sent on by primary care."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)
IAMD = "Large drusen, no fluid. Intermediate AMD."
INACTIVE = "Dry macula, no fluid seen. Fibrotic scar unchanged. Inactive CNV, defer injection."


@SETTINGS
@given(
    st.sampled_from(["TCU", "RTO", "TCA", "RTC"]),
    st.integers(2, 12),
    st.sampled_from(["wks", "weeks", "months"]),
    CASES,
)
def test_follow_up_shorthand_is_a_visit(shorthand, n, unit, case):
    """Class: follow-up shorthand across health systems ("TCU 12 wks with OCT", to come up). An inactive treated eye's
    review at an interval of two weeks or more is routine (round 7's treat-and-extend convention)."""
    if unit != "months" and n <= 2:
        n = 3
    text = cased(f"{INACTIVE} {shorthand} {n} {unit} with OCT.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["Follow-up", "F/U", "Plan", "Disposition", "Outcome"]),
    st.sampled_from(["optometrist", "own optometrist", "community optometrist", "GP", "optician", "primary care"]),
    CASES,
)
def test_a_plan_field_naming_a_community_carer_is_none(heading, carer, case):
    """Class: who acts. A plan field whose value is a community carer hands the patient back: none."""
    text = cased(f"Drusen: few, small\nSRF: no\nDiagnosis: early AMD\n{heading}: {carer}", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(["no haste", "no rush", "no hurry", "without haste", "no urgency"]),
    st.sampled_from(["confirmation of diagnosis and advice", "your opinion on management", "assessment please"]),
    CASES,
)
def test_urgency_denied_in_any_words_is_routine(denied, request, case):
    """Class: urgency denied. A referral request without time pressure is routine, like "not urgent"."""
    text = cased(
        f"Referral to the ophthalmologist. OCT shows cRORA involving the fovea. Question: {request}, {denied}.", case
    )
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["No retina referral", "No referral", "No HES referral"]),
    st.sampled_from(["at this time", "at present", "for now", "at the moment", "at this stage"]),
    st.sampled_from(["RTC 6 months with OCT", "Review 6/12", "Return in 6 months"]),
    st.booleans(),
    CASES,
)
def test_a_referral_declined_for_now_yields_to_a_kept_visit(declined, now, visit, visit_first, case):
    """Class: a referral declined for now. Beside a visit the report keeps, the visit is the plan (routine, as round
    15's "no new referral" beside a booked review); alone it is none."""
    plan = f"{visit}. {declined} {now}." if visit_first else f"{declined} {now}. {visit}."
    assert labels(cased(f"{IAMD} {plan}", case))["referral"] == "routine", plan
    alone = cased(f"{IAMD} {declined} {now}.", case)
    assert labels(alone)["referral"] == "none", alone


@SETTINGS
@given(
    st.sampled_from(["polyclinic doctor", "GP", "community optometrist"]),
    st.sampled_from(["non-urgent", "routine"]),
    st.sampled_from(["eye referral", "referral to the eye clinic", "referral"]),
    CASES,
)
def test_a_level_naming_an_eye_referral_sent_on_is_that_referral(carer, level, referral, case):
    """Class: who acts. Primary care asked to send a routine eye referral: the level is the referral's (routine), not
    community monitoring; "routine monitoring by the optometrist" stays none."""
    text = cased(f"Drusen at macula - AMD suspect. Outcome: refer to {carer} for {level} {referral}.", case)
    assert labels(text)["referral"] == "routine", text
    kept = cased("Drusen at macula - AMD suspect. Outcome: routine monitoring by the optometrist.", case)
    assert labels(kept)["referral"] == "none", kept


DRY = ["dry AMD", "dry ARMD", "nonexudative AMD", "non-neovascular AMD", "dry age-related macular degeneration"]


@SETTINGS
@given(
    st.sampled_from(DRY),
    st.sampled_from(["drusen, RPE changes, no fluid", "large drusen, no fluid", "small drusen only", "soft drusen"]),
    CASES,
)
def test_dry_amd_without_a_severity_names_no_stage(dry, findings, case):
    """Convention (round 23): "dry AMD" names the non-neovascular family, not a stage; the findings do not pick one
    (round 8: no stage is inferred from findings)."""
    text = cased(f"LE: {dry}. OCT - {findings}. RTC 12 months.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(DRY),
    st.sampled_from([("early", "early"), ("intermediate", "intermediate"), ("late", "late_dry")]),
    st.booleans(),
    CASES,
)
def test_dry_amd_with_its_severity_states_that_stage(dry, severity, before, case):
    """A severity word next to "dry AMD" ("dry AMD, intermediate", "Early nonexudative AMD") states the stage."""
    word, stage = severity
    named = f"{word} {dry}" if before else f"{dry}, {word}"
    text = cased(f"OS: {named}. Drusen, no fluid. Review 6 months.", case)
    assert labels(text)["stage"] == stage, text


@SETTINGS
@given(
    st.sampled_from(["left eye", "right eye"]),
    st.sampled_from([("early", "early"), ("intermediate", "intermediate")]),
    CASES,
)
def test_a_codes_stage_after_the_eye_is_stated(eye, severity, case):
    """A diagnosis code's description ("Nonexudative AMD, left eye, intermediate dry stage (H35.3122)")."""
    word, stage = severity
    text = cased(f"Diagnosis: Nonexudative AMD, {eye}, {word} dry stage (H35.31). OCT: drusen, no fluid.", case)
    assert labels(text)["stage"] == stage, text
