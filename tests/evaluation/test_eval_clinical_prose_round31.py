"""Rules from the twenty-ninth writer's general set (round 31: styles_dev29.jsonl), as properties: a review
abbreviated or repeated at an interval in any notation, a screening programme's next screen, an anatomical gap that
is no treatment interval, and the next dose at an interval for an inactive eye (the lead's kept-schedule convention)."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(
    st.sampled_from(["RV", "r/v", "VC"]),
    st.sampled_from(["6m", "12m", "1y", "2y"]),
    st.sampled_from(["OD GA, fovea-sparing, enlarging.", "LE: large drusen, no fluid. iAMD."]),
    CASES,
)
def test_a_review_abbreviated_with_its_unit_on_the_number_is_routine(visit, interval, finding, case):
    """Class: a time frame in any notation. "RV 12m" is "Review 12m", a bare review interval, routine."""
    text = cased(f"{finding} {visit} {interval}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["VC again", "review again", "see again", "VC again in"]),
    st.sampled_from(["6/12", "3/12", "12/52"]),
    CASES,
)
def test_a_visit_again_at_a_fraction_is_routine(visit, interval, case):
    """Class: a time frame in any notation. "VC again 6/12" is a visit again at its interval, like "review again 6
    months": routine."""
    text = cased(
        f"LE: drusen + drusenoid PED, stable. No fluid.\nStage: intermediate AMD.\nPlan: {visit} {interval}.", case
    )
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["Next screen", "Next screening in", "Next screen in"]),
    st.sampled_from(["12 months", "2 years", "24 months"]),
    CASES,
)
def test_a_screening_programmes_next_screen_is_none(screen, interval, case):
    """Class: who monitors and when. The programme's next screen is its recall, none, as "rescreen in 12 months"."""
    text = cased(f"Screening, R: few medium drusen, no exudation. R0M0. AMD: early. {screen} {interval}.", case)
    assert labels(text)["referral"] == "none", text


def test_the_clinics_own_rescreen_stays_routine():
    """The writer's own visit ("we'll rescreen her") is no community screen."""
    text = "Medium drusen, no fluid. Early AMD. We'll rescreen her in 6 months."
    assert labels(text)["referral"] == "routine"


@SETTINGS
@given(
    st.sampled_from(["a hyporeflective gap between the RPE and Bruch's membrane", "a gap between the RPE and BM"]),
    CASES,
)
def test_an_anatomical_gap_is_no_treatment_interval(gap, case):
    """Class: schedules kept or lengthened. Only the gap between injections is the interval; a gap between layers
    is anatomy and states no referral."""
    text = cased(f"Teaching case: this OCT shows a shallow irregular RPE elevation with {gap}. No SRF, no IRF.", case)
    assert labels(text)["referral"] is None, text


def test_the_gap_between_injections_is_still_the_interval():
    text = "Your wet AMD is inactive, so we can make the gap between your injections longer: 12 weeks."
    assert labels(text)["referral"] == "routine"


@SETTINGS
@given(
    st.sampled_from(["Disease inactive.", "Quiescent.", "Inactive, dry macula."]),
    st.sampled_from(
        ["Next injection in 8 weeks.", "Next inj 12/52.", "Next treatment in 10 weeks.", "Next dose 12 weeks."]
    ),
    CASES,
)
def test_the_next_dose_at_an_interval_for_an_inactive_eye_is_routine(activity, dose, case):
    """Convention (round 31): a next injection at an interval for an inactive eye is its kept schedule, routine."""
    text = cased(f"OCT OD after 3 loading doses: SRF resolved, no IRF. {activity} {dose}", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["Next injection in 4 weeks.", "Next inj 4/52."]), CASES)
def test_the_next_dose_for_an_active_eye_stays_the_treatment(dose, case):
    """For an active eye the plan is the treatment: no referral."""
    text = cased(f"OCT OD: new SRF. Active nAMD. Aflibercept given today. {dose}", case)
    assert labels(text)["referral"] is None, text


def test_a_next_injection_without_an_interval_keeps_nothing():
    text = "Rt eye: nAMD under treatment, activity uncertain. Repeat OCT in 4 weeks before deciding on next injection."
    assert labels(text)["referral"] is None
