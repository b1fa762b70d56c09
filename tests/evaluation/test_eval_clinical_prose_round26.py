"""Rules from the twenty-fourth writer's general set (round 26: styles_dev24.jsonl), as properties: a normal scan in
a radiologist's words, a relative's disease in the possessive, a visit that was at a named service, the soonest slot
with its noun, and a time frame's unit cut to one letter."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(st.sampled_from(["Normal study.", "OCT OD: Normal study.", "Normal.", "Normal scan."]), CASES)
def test_a_normal_study_is_healthy(sentence, case):
    """Class: a normal scan in imaging words. "Normal study" is the scan read as normal, not a study the patient is
    in (a service word after "normal" names no service)."""
    text = cased(f"{sentence} No SRF/IRF. No drusen. Advised yearly eye examination.", case)
    assert labels(text)["stage"] == "healthy", text


@SETTINGS
@given(st.sampled_from(["wet AMD", "nAMD", "geographic atrophy"]), CASES)
def test_a_study_of_a_disease_is_still_no_stage(disease, case):
    """The service rule stands for a disease named before its study ("GA complement study")."""
    text = cased(f"Medium drusen, no fluid. She is enrolled in a {disease} study.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["mother's", "father's", "sister's", "brother's", "husband's", "wife's"]),
    st.sampled_from(["wet AMD", "geographic atrophy", "nAMD"]),
    CASES,
)
def test_a_relatives_disease_in_the_possessive_is_not_this_eyes(relative, disease, case):
    """Class: whose disease. "Pt anxious re mother's wet AMD - reassured" speaks of the mother, not this scan."""
    text = cased(f"Optom: OCT LE normal macula, no AMD. Pt anxious re {relative} {disease} - reassured.", case)
    assert labels(text)["stage"] == "healthy", text


@SETTINGS
@given(
    st.sampled_from(["attended the", "attended our", "was seen at the"]),
    st.sampled_from(["rapid-access macular clinic", "rapid access clinic", "urgent eye clinic"]),
    CASES,
)
def test_a_visit_that_was_at_an_urgent_service_is_no_plan(verb, service, case):
    """Class: a visit that was. "Mr Holt attended the rapid-access macular clinic today" tells where the visit was;
    the first injection given today with its loading doses states no referral (eval/README.md, round 18)."""
    text = cased(
        f"Mr Holt {verb} {service} today with distortion. Active neovascular AMD. He received his first "
        "injection of aflibercept today and will return for the loading doses at 4-weekly intervals.",
        case,
    )
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(
    st.sampled_from(["Book face-to-face review in", "See in", "Appointment in", "Review in"]),
    st.sampled_from(["next available", "first available"]),
    st.sampled_from(["slot", "clinic", "appointment"]),
    CASES,
)
def test_the_soonest_slot_with_its_noun_is_urgent(visit, soonest, noun, case):
    """Class: the soonest slot ("the next available slot"), urgent by eval/README.md, also after "in the", where a
    service word would otherwise make it the place a visit was."""
    text = cased(f"RE: possible SRF, PED unchanged. {visit} the {soonest} {noun}.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(
    st.sampled_from(["Next appt", "Review", "FU", "Follow-up", "Next visit"]),
    st.sampled_from(["3m", "6m", "12m", "1y", "2y"]),
    CASES,
)
def test_a_one_letter_unit_on_the_number_is_a_follow_up(visit, interval, case):
    """Class: a time frame in any notation. "Next appt 6m", "Review 12m": a follow-up interval, routine."""
    text = cased(f"LE - cRORA, fovea-sparing. No fluid. {visit} {interval}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["Injected per protocol.", "Injected today.", "RE injected as planned.", "Injected uneventfully."]),
    CASES,
)
def test_a_dose_told_in_the_passive_is_active_wet(dose, case):
    """Class: treatment given (eval/README.md round 18). "Injected per protocol" is the dose given today, active wet
    AMD when no stage is named, like "injection given"."""
    text = cased(
        f"Injection nurse note, RE: SRF resolved, residual intraretinal cysts, smaller. {dose} Next in 4/52.", case
    )
    assert labels(text)["stage"] == "late_wet_active", text


@SETTINGS
@given(
    st.sampled_from(["Dry.", "Inactive.", "Quiescent."]),
    st.sampled_from(["Injected per protocol.", "Injected today."]),
    CASES,
)
def test_a_passive_dose_yields_to_an_activity_word(activity, dose, case):
    """The passive dose yields like "given" (round 25): a treat-and-extend dose is given at every visit, so "Dry.
    Injected today. Extend to 10/52" is inactive."""
    text = cased(f"{activity} {dose} Extend to 10/52.", case)
    assert labels(text)["stage"] == "late_wet_inactive", text


@SETTINGS
@given(
    st.sampled_from(["treat as", "manage as", "regarded as", "managed as"]),
    st.sampled_from([("inactive", "late_wet_inactive"), ("active", "late_wet_active")]),
    CASES,
)
def test_an_activity_word_as_a_management_decision_is_the_verdict(verb, activity, case):
    """Class: activity words as a management decision. "Discussed with Mr K - treat as inactive, extend to 14/52":
    the treating clinician's verdict, like "I'd call it inactive"."""
    word, stage = activity
    text = cased(
        f"Injection clinic, R: ?IRF vs degenerative cysts over the scar. No SRF. Discussed - {verb} {word}.", case
    )
    assert labels(text)["stage"] == stage, text


@SETTINGS
@given(
    st.sampled_from(["annual checks", "yearly eye examinations", "usual sight tests"]),
    st.sampled_from(["optometrist", "optician"]),
    CASES,
)
def test_community_care_in_the_meantime_before_its_words_yields_to_the_review(checks, carer, case):
    """Class: who acts and when (eval/README.md round 21). "In the meantime" before the community care ("we will see
    her again in 12 months; in the meantime she should continue her annual checks with her optometrist") runs beside
    the hospital's review, routine, as it does after it."""
    text = cased(
        "GA involving the fovea. We will see her again in the medical retina clinic in 12 months; in the meantime "
        f"she should continue her {checks} with her {carer}.",
        case,
    )
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Transfer to the GA monitoring clinic, 12 months.",
            "Follow-up 12 months in GA clinic.",
            "Move to the geographic atrophy clinic.",
            "Continue in the AMD clinic.",
        ]
    ),
    CASES,
)
def test_a_disease_clinic_is_the_hospitals_monitoring(plan, case):
    """Class: who acts. A clinic named by the disease it monitors ("the GA monitoring clinic") is the hospital's
    review, routine, like "MR clinic"."""
    text = cased(f"Virtual clinic outcome LE: GA progression, no CNV, no fluid. {plan}", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["booked on", "booked for", "listed for"]),
    st.sampled_from(["Monday's injection list", "Tuesday", "Thursday's list", "Friday"]),
    CASES,
)
def test_a_booking_on_a_weekday_is_urgent(booked, day, case):
    """Class: a weekday of this week. "He's booked on Monday's injection list" is within days, urgent (treatment
    within a time frame, eval/README.md)."""
    text = cased(f"Small pocket of SRF nasally. Consultant agrees it's active nAMD. He's {booked} {day}.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(
    st.sampled_from(["Query PCV vs", "PCV vs", "suspected polypoidal choroidal vasculopathy vs", "CSC vs"]),
    st.sampled_from(["typical nAMD", "classic CNV", "typical wet AMD", "occult MNV"]),
    CASES,
)
def test_a_stage_set_against_a_condition_across_one_word_is_open(first, second, case):
    """Class: two conditions set against each other ("Query PCV vs typical nAMD"): undecided (eval/README.md), also
    with a kind word ("typical", "classic") between "vs" and the stage, as with none ("?PCV vs nAMD")."""
    text = cased(f"OS: notched PED with SRF. {first} {second}. ICGA arranged within 1 week.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["Follow-up", "Follow up", "Plan", "Review", "FU", "F/U", "Next visit"]),
    st.sampled_from([("12 months", "routine"), ("6/12", "routine"), ("6m", "routine"), ("1 week", "urgent")]),
    CASES,
)
def test_a_plan_field_with_a_bare_interval_is_a_follow_up(field, interval, case):
    """Class: a plan field with its interval ("Follow-up: 12 months in GA clinic", "Review: 6/12"): the field's name
    is the visit word, so the value is a follow-up read by its length (eval/README.md: a bare follow-up interval is
    routine, one under two weeks urgent)."""
    value, level = interval
    text = cased(f"RE: GA approx 2.5 mm2, no fluid. Stage: late dry AMD.\n{field}: {value}.", case)
    assert labels(text)["referral"] == level, text


@SETTINGS
@given(st.sampled_from(["Follow-up: 4 weeks.", "Plan: 6/12 OCT.", "Follow-up: 3 months OCT."]), CASES)
def test_a_plan_field_interval_is_no_referral_under_treatment_or_for_a_scan(plan, case):
    """The treatment's own review ("Aflibercept given today. Follow-up: 4 weeks") and a repeat scan ("Plan: 6/12
    OCT", eval/README.md round 14) state no referral."""
    text = (
        cased(f"Active nAMD, new SRF. Aflibercept given today.\n{plan}", case)
        if "4 weeks" in plan
        else cased(f"Medium drusen, no fluid.\n{plan}", case)
    )
    assert labels(text)["referral"] is None, text
