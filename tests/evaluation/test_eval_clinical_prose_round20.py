"""Rules from the eighteenth writer's general set (round 20: styles_dev18.jsonl), as properties: a weekday or a spelled
number as a time frame, a clinic or a monitoring rhythm with its interval, a review with an angiogram, a booked review
kept, a screening programme's round, the care a patient already has named as a state, a condition kept to its own
clause, and today's scan as a heading after a history section."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)
IAMD = "Large drusen, no fluid. Intermediate AMD."
PCV = "LE OCT: large serous PED with SRF, no IRF. ? PCV vs nAMD."


@SETTINGS
@given(
    st.sampled_from(["Review with ICG", "Review with ICGA", "RTC", "Review in clinic", "Review with FFA"]),
    st.sampled_from(["on Friday", "on Monday", "this Thursday", "next Tuesday", "on wed"]),
    CASES,
)
def test_a_weekday_after_a_follow_up_is_urgent(visit, day, case):
    """Class: a dated visit within the week is under the urgent level's two weeks (after a follow-up phrase only)."""
    text = cased(f"{PCV} {visit} {day}.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(st.sampled_from(["two days", "three days", "seven days", "ten days", "one week", "two weeks"]), CASES)
def test_a_spelled_number_is_a_time_frame(frame, case):
    """Class: time frames in words; two weeks or less is urgent, by the same length as digits."""
    text = cased(f"Wet AMD with fluid. You will receive an appointment within the next {frame}.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(st.sampled_from(["three", "four", "six"]), CASES)
def test_a_spelled_number_of_months_is_routine(number, case):
    text = cased(f"{IAMD} We will see her again within the next {number} months.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["Bring to face-to-face clinic", "Virtual clinic", "Face to face clinic"]),
    st.sampled_from(["3/12", "6/12", "4 months", "in 6/12"]),
    CASES,
)
def test_a_clinic_with_its_interval_is_routine(clinic, interval, case):
    text = cased(f"RE: shallow irregular PED, no SRF or IRF. {clinic} {interval} with OCTA.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["Monitor", "Monitoring", "Monitor"]),
    st.sampled_from(["3-monthly", "6-monthly", "12-monthly"]),
    CASES,
)
def test_a_monitoring_rhythm_after_its_verb_is_routine(verb, rhythm, case):
    text = cased(
        f"RE: DLS under fovea, no SRF or IRF. Possible non-exudative MNV. {verb} {rhythm} in virtual clinic.", case
    )
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["her", "his", "that", "the"]), CASES)
def test_a_booked_review_kept_is_routine(whose, case):
    """Round 15's convention: a new referral declined beside a booked review kept is routine."""
    text = cased(
        f"{IAMD} As she already has an appointment booked with us in March, no new referral is needed; "
        f"I have advised her to keep {whose} appointment.",
        case,
    )
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["Return to annual screening", "Back to screening", "Routine screening in 12 months"]), CASES)
def test_a_screening_round_is_no_referral(plan, case):
    """A screening programme's next round is its recall, community care: none."""
    text = cased(f"OCT surveillance - L: no IRF/SRF. Incidental medium drusen. {plan}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["MR clinic", "the macular clinic", "medical retina", "the retina clinic"]), CASES)
def test_care_already_had_is_no_plan(venue, case):
    """Round 15's convention: only the referral declined ("already under MR - no new referral") is none."""
    text = cased(f"RE: {IAMD} Already under {venue} - no new referral.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["new distortion", "sudden loss of vision", "new symptoms", "worse"]), CASES)
def test_a_condition_stays_in_its_clause(condition, case):
    """Class: safety-netting; the discharge an item before "if" is today's plan."""
    text = cased(
        f"Remains inactive. Discharge to community optometrist, advised to return urgently if {condition}.", case
    )
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(CASES)
def test_a_conditional_plan_alone_is_still_no_plan(case):
    text = cased("Inactive. Re-refer urgently if new distortion.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(st.sampled_from(["Today OCT", "Today's OCT scan", "OCT scan today"]), CASES)
def test_todays_scan_ends_a_history_section(heading, case):
    text = cased(
        f"Hx: treated for nAMD 2018-2021 (IRF and SRF then).\n{heading}: no SRF, no IRF, stable thin SHRM.", case
    )
    got = labels(text)["biomarkers"]
    assert (got.get("srf"), got.get("irf"), got.get("shrm")) == ("absent", "absent", "present"), text


@SETTINGS
@given(CASES)
def test_a_weekday_in_history_is_no_plan(case):
    """A weekday only reads after a follow-up phrase: a visit that was stays no plan."""
    text = cased(f"{IAMD} OCT on Monday showed no change.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(st.sampled_from(["mild RPE disruption", "disrupted RPE", "RPE disruption"]), CASES)
def test_the_rpes_disruption_is_its_irregularity(phrase, case):
    """Class: RPE wording near its anchor (round 19's "abnormalities")."""
    text = cased(f"OS: confluent soft drusen and {phrase}. No exudation. Intermediate AMD.", case)
    assert labels(text)["biomarkers"].get("rpe_irregularity") == "present", text


@SETTINGS
@given(
    st.sampled_from(["collecting", "pooling", "accumulating", "lying"]),
    st.sampled_from([("within the retina", "irf"), ("under the retina", "srf")]),
    CASES,
)
def test_fluid_placed_with_its_verb(verb, place, case):
    """Class: lay wording of where fluid lies; with wet AMD it makes the eye active."""
    where, bid = place
    text = cased(f"Your left eye has wet age-related macular degeneration, with some fluid {verb} {where}.", case)
    got = labels(text)
    assert (got["biomarkers"].get(bid), got["stage"]) == ("present", "late_wet_active"), text


@SETTINGS
@given(st.sampled_from(["nad", "NAD", "wnl", "normal macula", "healthy macula"]), CASES)
def test_otherwise_healthy_after_a_finding_is_no_healthy_stage(rest, case):
    """Class: "otherwise" + any healthy wording describes the rest of a scan with a finding."""
    text = cased(f"OCT R: few small hard drusen, otherwise {rest}. No ref.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(st.sampled_from(["NAD", "Normal macula", "WNL"]), CASES)
def test_a_healthy_statement_alone_stays_healthy(statement, case):
    text = cased(f"OCT R: {statement}. No referral.", case)
    assert labels(text)["stage"] == "healthy", text


@SETTINGS
@given(
    st.sampled_from([("subretinal fluid", "srf"), ("drusen", "drusen"), ("intraretinal fluid", "irf")]),
    st.sampled_from([0, -1]),
    CASES,
)
def test_a_biomarker_word_with_its_first_letters_swapped(term, which, case):
    """Class: typos, a transposed letter in a biomarker word, at the word's start as elsewhere ("lfuid")."""
    words, bid = term
    parts = words.split()
    slip = parts[which][1] + parts[which][0] + parts[which][2:]
    parts[which] = slip
    text = cased(f"L eye: persistent {' '.join(parts)}. Plan: review.", case)
    assert labels(text)["biomarkers"].get(bid) == "present", text
