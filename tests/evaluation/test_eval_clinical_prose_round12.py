"""Referral rules from two referral-focused sets (round 12: styles_ref_a.jsonl, styles_ref_b.jsonl), as properties:
a follow-up interval's length, "stat" and a fortnight, a re-referral left to the future, a plan for another
condition."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(
    st.sampled_from(
        ["Review in {n} weeks", "See in {n}/52", "Appointment in {n} weeks", "We will see you in {n} weeks"]
    ),
    st.integers(1, 12),
    CASES,
)
def test_a_follow_up_interval_is_urgent_up_to_two_weeks(plan, weeks, case):
    """ "Review in 1 week" is within the urgent level's two weeks; "See in 4/52" is a routine follow-up."""
    text = cased(f"Large drusen, no fluid. {plan.format(n=weeks)}.", case)
    assert labels(text)["referral"] == ("urgent" if weeks <= 2 else "routine"), text


@SETTINGS
@given(st.sampled_from(["rv {n}/12", "Review {n}/12", "Next visit {n}/12", "Seeing in {n} months"]), st.integers(1, 12))
def test_a_follow_up_in_months_is_routine(plan, months):
    text = f"Drusenoid PED, no SRF. {plan.format(n=months)}."
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["Refer to retina stat.", "Stat referral to retina.", "Within a fortnight please."]), CASES)
def test_stat_and_a_fortnight_are_urgent(plan, case):
    text = cased(f"SRF and PED. {plan}", case)
    assert labels(text)["referral"] == "urgent", text


def test_start_is_not_stat():
    """ "Start loading phase" is a treatment, not a "stat" referral (a typo-tolerant match must not read it so)."""
    assert labels("Wet AMD with SRF. Start loading phase.")["referral"] is None


@SETTINGS
@given(st.sampled_from(["re-refer urgently if sudden distortion", "re-refer urgently if new metamorphopsia"]), CASES)
def test_a_re_referral_is_left_to_the_future(condition, case):
    """A discharge with a re-referral on a condition is the discharge: the urgent level is hypothetical."""
    text = cased(f"GA, no fluid. Discharged to optometrist; {condition}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(
        ["Refer routinely for cataract surgery (separate pathway).", "Glaucoma: refer routinely for VF and IOP."]
    ),
    CASES,
)
def test_a_referral_for_another_condition_is_not_the_maculas(plan, case):
    text = cased(f"Small hard drusen, no fluid. Macula: no referral. {plan}", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "We are discharging you back to your optician.",
            "Back to GP.",
            "Follow-up not required.",
            "No follow-up needed.",
        ]
    ),
    CASES,
)
def test_a_discharge_or_a_follow_up_denied_is_no_referral(plan, case):
    text = cased(f"Small hard drusen, no fluid. {plan}", case)
    assert labels(text)["referral"] == "none", text


def test_a_note_that_decides_no_referral_states_none():
    """An insurer's review that says "Not a referral decision" states no referral level at all."""
    text = "Intermediate AMD, large drusen, no fluid. Request for anti-VEGF denied. Not a referral decision."
    assert labels(text)["referral"] is None


@SETTINGS
@given(st.sampled_from([("OS", "OD"), ("LE", "RE"), ("OD", "OS")]), st.sampled_from(["this scan", "this eye"]))
def test_an_eye_marked_as_this_scans_is_the_reports_eye(eyes, marker):
    """ "OS listed for urgent review (SRF). OD (this scan): …": the urgent plan is the other eye's."""
    other, this = eyes
    text = f"{other} listed for urgent review (SRF). {this} ({marker}): medium drusen, no fluid. No referral."
    found = labels(text)
    assert found["referral"] == "none", text
    assert found["biomarkers"].get("srf") == "absent", text


@SETTINGS
@given(st.sampled_from(["No benefit from further treatment, discharge.", "No benefit from treatment; discharge."]))
def test_no_benefit_expected_negates_nothing_after_it(plan):
    text = f"Wet AMD, dense subfoveal scar, no fluid. {plan}"
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["urgently", "routinely"]), st.integers(1, 12), st.integers(2015, 2025))
def test_a_dated_past_referral_is_no_plan(level, month, year):
    """ "referred urgently 02/2024 …; treated x3. Today dry": the dated referral is history, today's plan is unstated."""
    text = f"Referred {level} {month:02d}/{year} for SRF; treated x3. Today dry, no SRF/IRF. Plan not documented."
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Next review {n} weeks",
            "Review {n} weeks",
            "FU {n}/52",
            "Follow-up {n} weeks",
            "Follow up {n}/52",
            "rv {n}/52",
            "Follow up every {n} weeks",
            "Every {n} weeks OCT",
        ]
    ),
    st.integers(1, 12),
    CASES,
)
def test_a_bare_review_interval_in_weeks_is_routine_beyond_two_weeks(plan, weeks, case):
    """Round 12b: a bare review / follow-up interval or rhythm is a routine follow-up ("Next review 12 weeks", dev4's
    v125), urgent within the urgent level's two weeks ("FU 1/52"); a recall is the optometrist's (round 16)."""
    text = cased(f"Large drusen, no fluid. {plan.format(n=weeks)}.", case)
    assert labels(text)["referral"] == ("urgent" if weeks <= 2 else "routine"), text


@SETTINGS
@given(
    st.sampled_from(
        [
            "FU {n}/12",
            "Follow up {n}/12",
            "FU {n} months",
            "Follow up every {n} months",
            "Every {n}/12",
        ]
    ),
    st.integers(1, 12),
)
def test_a_bare_review_interval_in_months_is_routine(plan, months):
    """Round 12b: "FU 3/12, no IVI" (dev9's b9-042) and "Follow up every 6 months" (b9-131) are routine."""
    text = f"Drusenoid PED, no SRF. {plan.format(n=months)}."
    assert labels(text)["referral"] == "routine", text


def test_a_bare_interval_next_to_community_care_is_none():
    """The community rule still wins: a recall in practice is no referral."""
    assert labels("Medium drusen. Recall 12 months in practice.")["referral"] == "none"
