"""Rules from the sixteenth writer's general set (round 18: styles_dev16.jsonl), as properties: a stage the findings
"suggest" is left open; a treatment now is active wet AMD and its review at the treatment's interval no referral; time
frames given as an upper bound, a visit again with a bare interval, a return to the optometrist in any person, an eye
examination as the optometrist's, a treatment discussed or declined, a letter's new clause to the patient."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels, stage_term

SETTINGS = settings(max_examples=40, deadline=None)
IAMD = "Large drusen, no fluid. Intermediate AMD."
GA = "Geographic atrophy, no fluid."
ACTIVE = "Active nAMD: new SRF and SHRM."


@SETTINGS
@given(
    stage_term(),
    st.sampled_from(["These features suggest {}.", "New fluid, which suggests {}.", "Drusen, suggesting {}."]),
    CASES,
)
def test_a_stage_the_findings_suggest_is_left_open(stage, template, case):
    """ "suggests" is "suggestive of" as a verb: offered, not concluded (settled in round 18)."""
    _, term = stage
    text = cased(template.format(term), case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(st.sampled_from(["inactive neovascular AMD", "quiescent nAMD"]), CASES)
def test_a_stage_stated_after_a_suggestion_that_agrees_stands(term, case):
    """held-out h012: the writer commits after the suggestion ("most consistent with")."""
    text = cased(
        f"Double-layer sign, which suggests a neovascular membrane. No fluid. Most consistent with {term}.", case
    )
    assert labels(text)["stage"] == "late_wet_inactive", text


@SETTINGS
@given(
    st.sampled_from(["Inject today.", "Booked for injection within 5 days.", "Needs injection before Friday."]),
    CASES,
)
def test_a_treatment_now_states_active_wet_amd(plan, case):
    """An injection given, booked or needed now is the clinician's verdict of activity (settled in round 18)."""
    text = cased(f"RE: new SRF at the fovea. {plan}", case)
    assert labels(text)["stage"] == "late_wet_active", text


@SETTINGS
@given(
    st.sampled_from(
        ["Avastin today, RTC 4 wks.", "Inject today and bring her back in four weeks.", "Eylea given, 4/52."]
    ),
    CASES,
)
def test_an_active_eyes_review_at_the_treatments_interval_is_no_referral(plan, case):
    """The round-7 convention, applied in round 18: with active disease the plan is the treatment."""
    text = cased(f"{ACTIVE} {plan}", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(
    st.sampled_from(["in less than", "in under", "no later than", "within less than"]),
    st.integers(min_value=1, max_value=2),
    st.sampled_from(["Referral to retina unit", "Preferential referral to the MR clinic", "Review"]),
    CASES,
)
def test_an_upper_bound_of_two_weeks_or_less_is_urgent(bound, weeks, visit, case):
    text = cased(f"{ACTIVE} {visit} {bound} {weeks} weeks.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(st.sampled_from(["in less than", "in under", "no later than"]), st.integers(min_value=4, max_value=12), CASES)
def test_a_longer_upper_bound_is_routine(bound, weeks, case):
    text = cased(f"{IAMD} Review in the MR clinic {bound} {weeks} weeks.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["see again", "review again", "seen again"]),
    st.sampled_from(["1 yr", "12 months", "2 years", "6 mo"]),
    CASES,
)
def test_a_visit_again_with_a_bare_interval_is_a_follow_up(visit, interval, case):
    text = cased(f"{IAMD} {visit} {interval}.", case)
    assert labels(text)["referral"] == "routine", text
    text = cased(f"{IAMD} {visit} {interval} in practice.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(["She can go back to", "He may go back to", "Back to", "Discharged back to"]),
    st.sampled_from(["her optometrist", "his optometrist", "the optometrist", "their optician", "his own optometrist"]),
    CASES,
)
def test_back_to_the_optometrist_in_any_person_is_none(verb, who, case):
    text = cased(f"{IAMD} {verb} {who}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(["Routine annual eye examination.", "Annual eye examination.", "Routine yearly eye examination."]),
    CASES,
)
def test_an_eye_examination_is_the_optometrists(plan, case):
    text = cased(f"Few small drusen, no fluid. Early AMD. {plan}", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["Control examination in 6 months.", "Routine review in 6 months."]), CASES)
def test_the_hospitals_examination_stays_routine(plan, case):
    """Only the two words "eye examination" are community care; a control examination is the hospital's."""
    text = cased(f"Few small drusen, no fluid. Early AMD. {plan}", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Discussed complement inhibitor injections; patient declines for now.",
            "Pegcetacoplan injections offered; patient declined.",
            "Injections discussed, she refused.",
        ]
    ),
    st.sampled_from(["RTC 6 months with OCT/FAF.", "Review in 6 months."]),
    CASES,
)
def test_a_treatment_discussed_or_declined_leaves_the_follow_up_a_referral(declined, follow_up, case):
    text = cased(f"{GA} {declined} {follow_up}", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["an emergency", "urgent", "a serious change"]), CASES)
def test_a_letters_new_clause_to_the_patient_ends_a_denial(denied, case):
    text = cased(f"Your scan shows drusen. This is not {denied} and you will receive a routine appointment.", case)
    assert labels(text)["referral"] == "routine", text
