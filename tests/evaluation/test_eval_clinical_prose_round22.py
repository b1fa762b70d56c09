"""Rules from the twentieth writer's general set (round 22: styles_dev20.jsonl), as properties: the referral that
brought the patient, urgency words describing a finding, a visit for a scan only, a claim reconsidered, a weekday of
this week, the clinic's session named by its day, an eye monitored at the other eye's visits, a face-to-face visit in
shorthand, months in shorthand, a rescreen by the writer's own service, a return to the reader's care, the optometrist
named as who monitors, a review denied, and a referral level asked about."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)
WET = "OCT shows subretinal fluid and intraretinal cysts. Impression: active neovascular AMD."
IAMD = "Large drusen, no fluid. Intermediate AMD."
EAMD = "Scattered small drusen only, no fluid. Early AMD."


@SETTINGS
@given(
    st.sampled_from(["following a fast-track referral", "following an urgent referral", "after a routine referral"]),
    st.sampled_from(["from her optometrist", "from the GP", ""]),
    CASES,
)
def test_the_referral_that_brought_the_patient_is_no_plan(received, sender, case):
    """Class: referral history. The level of the referral received is the sender's, not this report's plan: an
    active eye injected today states no referral."""
    text = cased(f"I saw her today {received} {sender}. {WET} First injection given today.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(st.sampled_from(["non-urgent AMD-type change", "non-urgent changes", "non-urgent findings"]), CASES)
def test_urgency_describing_a_finding_is_no_level(words, case):
    """Class: urgency words describing a finding. The plan (community monitoring) decides."""
    text = cased(
        f"Advised that this describes {words}. No need for hospital referral - optometrist to continue monitoring.",
        case,
    )
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["3 months", "6 weeks", "4 months"]), st.sampled_from(["a scan only", "scan only"]), CASES)
def test_a_visit_for_a_scan_only_is_a_test(interval, only, case):
    """Class: a repeat scan (round 14): a scan-only slot names a test, no referral."""
    text = cased(f"Inactive wet AMD, no fluid. Treatment paused. Return in {interval} for {only}.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(st.sampled_from(["should be reconsidered urgently", "must be reconsidered urgently"]), CASES)
def test_a_claim_reconsidered_urgently_is_paperwork(words, case):
    """Class: urgency of paperwork (eval/README.md): an insurance claim's review is no referral."""
    text = cased(f"Geographic atrophy, no fluid. The claim for low-vision aids {words}.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(
    st.sampled_from(["Monday", "Wednesday", "Friday"]), st.sampled_from(["'s injection clinic", " clinic", ""]), CASES
)
def test_a_weekday_of_this_week_is_urgent(day, place, case):
    """Class: time frames under two weeks: a named day this week, like "before Friday"."""
    text = cased(f"New distortion. Plan: bring forward to this {day}{place} for OCT +/- injection.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(st.sampled_from(["Thursday", "Monday", "Friday"]), CASES)
def test_the_clinics_session_named_by_its_day_is_no_time_frame(day, case):
    """Class: the clinic's session in a heading ("Macular Clinic, Thursday list"): no weekday deadline."""
    text = cased(f"Dictation - Macular Clinic, {day} list\n{WET}\nPlan: injection given today, keep at 6 weeks.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(
    st.sampled_from(
        [
            "He will continue to have the left eye scanned at each right-eye injection visit",
            "It will continue to be imaged whenever he attends for his right injections",
            "Monitor with RE visits",
            "The left eye will be scanned at her injection visits",
        ]
    ),
    st.sampled_from(["", ", so no separate referral is needed"]),
    CASES,
)
def test_an_eye_monitored_at_the_other_eyes_visits_is_routine(plan, tail, case):
    """Class: who monitors and when: the fellow eye followed at the treated eye's visits is the hospital's review,
    routine, though a treatment is named for the other eye."""
    text = cased(f"Injection clinic. Left eye OCT: {EAMD} {plan}{tail}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["Needs F2F + OCTA 3/12", "F2F review 4/12", "F2F clinic in 3 months"]), CASES)
def test_a_face_to_face_visit_in_shorthand_is_routine(plan, case):
    """Class: follow-up shorthand: a face-to-face visit named is a hospital review."""
    text = cased(f"VC grading OD: drusen++, fluid -. {plan}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["review 6 mths", "Review in 4 mths", "F/U 12 mths", "review 1 mth"]), CASES)
def test_months_in_shorthand_are_months(plan, case):
    """Class: abbreviated units ("mths", "mth"): a review at months is routine, never a short interval."""
    text = cased(f"OCT LE: dry, medium drusen. Adv: {plan}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        ["we'll rescreen her in 6 months", "we'll rescreen him in 12 months", "We rescreen her in 6 months"]
    ),
    CASES,
)
def test_a_rescreen_by_the_writers_service_is_its_review(plan, case):
    """Class: who monitors: "we" rescreening is the writer's own service (routine), and a risk named before the comma
    does not reach the plan."""
    text = cased(f"iRORA, no fluid. As she remains at risk of progression to geographic atrophy, {plan}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["Rescreen in 12 months at the polyclinic", "Recall 2 years"]), CASES)
def test_a_community_rescreen_stays_none(plan, case):
    """The community's rescreen or recall (round 16) is unchanged."""
    text = cased(f"{EAMD} {plan}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "She can return to your care for monitoring every 6 to 12 months",
            "I have discharged him to your care",
            "She can remain under your care",
            "Optometrist to continue monitoring",
        ]
    ),
    CASES,
)
def test_a_return_to_the_readers_care_is_none(plan, case):
    """Class: dispositions back to the community: a letter to the optometrist or GP returning the patient."""
    text = cased(f"Dear Optometrist, {IAMD} {plan}. Please refer back promptly if she develops distortion.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["no review needed", "no review required", "review not required"]), CASES)
def test_a_review_denied_is_none(plan, case):
    """Class: follow-up denied, as round 21's "no further review"."""
    text = cased(f"Seen in HES. R eye: old disciform scar, no SRF/IRF. R eye - no treatment, {plan}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["can remain under my care", "should remain with me", "can stay under my care"]), CASES)
def test_a_level_asked_about_is_no_referral(rest, case):
    """Class: a referral asked about, not stated: the levels in a question "whether ... or" leave it open."""
    text = cased(
        f"Drusen seen. Could you let me know whether she needs to be seen urgently, routinely or {rest}?", case
    )
    assert labels(text)["referral"] is None, text
