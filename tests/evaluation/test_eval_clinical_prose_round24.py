"""Rules from the twenty-second writer's general set (round 24: styles_dev22.jsonl), as properties: clipped visit
words of dictated and hurried notes, time frames counted in working days, and observation named as the visit."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)
IAMD = "Large drusen, no fluid. Intermediate AMD."


@SETTINGS
@given(
    st.sampled_from(["in 1 yr", "in 6 months", "6/12", "12/12", "in 4 months", "in a year"]),
    st.sampled_from(["rev", "Rev", "REV"]),
    CASES,
)
def test_a_clipped_review_is_a_visit(interval, rev, case):
    """Class: clipped visit words ("rev in 1 yr", "rev 6/12"). A review at an interval is routine."""
    text = cased(f"LE: drusen med size x3. No fluid. ?early amd. {rev} {interval}", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.integers(1, 10),
    st.sampled_from(["working", "business"]),
    st.sampled_from(["Booked for injection", "Refer to retina clinic", "To be seen"]),
    CASES,
)
def test_a_time_frame_in_working_days_is_urgent(n, kind, plan, case):
    """Class: time frames in working days. Up to ten working days is within the urgent level's two weeks."""
    text = cased(f"SRF and IRF at the fovea. Active CNV. Plan: {plan} within {n} {kind} days.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(
    st.sampled_from(["by retinologist", "by ophthalmologist", "in the retina clinic", ""]),
    st.sampled_from(["in 6 months", "in 3 months", "1 time in 6 months", "in 1 year"]),
    CASES,
)
def test_observation_at_an_interval_is_a_visit(who, interval, case):
    """Class: observation named as the visit (second-language plans). Observation at an interval is routine."""
    text = cased(f"{IAMD} Recommended: observation {who} {interval}.".replace("  ", " "), case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        ["review both eyes 12/12", "review both eyes 6/12", "review both eyes in 6 months", "see both eyes in 1 year"]
    ),
    CASES,
)
def test_a_review_of_both_eyes_is_a_visit(plan, case):
    """Class: a plan for both eyes. A review naming both eyes includes the labelled one: routine."""
    text = cased(f"RE/LE, this record is for RE. RE: cRORA at fovea, no fluid. LE: iRORA only. {plan}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        ["Keep both at # weeks", "Keep both eyes at # weeks", "Interval unchanged at # weeks", "Keep both at #/52"]
    ),
    st.integers(4, 16),
    CASES,
)
def test_a_kept_schedule_for_both_eyes_is_routine(plan, n, case):
    """Class: a schedule kept (round 7's treat-and-extend convention) for both eyes or with its value: routine."""
    text = cased(f"Report OS. OS: SRF resolved, IRF resolved. Response good. {plan.replace('#', str(n))}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["Prev plan", "Previous plan", "PREVIOUS", "Previous impression", "Last plan", "Prior plan"]),
    st.sampled_from(["Today OD", "RAPID ACCESS TODAY", "Clinic today", "Today's visit"]),
    CASES,
)
def test_a_copy_forward_entry_is_history(previous, today, case):
    """Class: copy-forward entries. The earlier entry's urgent plan is history; today's entry, headed by today's
    visit, states the referral."""
    text = cased(
        f"{previous}: ?SRF at fovea, urgent referral to rapid access sent.\n"
        f"{today}: on closer inspection no SRF. No IRF. Large drusen. Intermediate AMD. Routine MR follow-up 6 months.",
        case,
    )
    got = labels(text)
    assert got["referral"] == "routine", text
    assert got["stage"] == "intermediate", text


DAY_DATE = st.builds(
    lambda d, m, y, sep: f"{d:02d}{sep}{m:02d}" + (f"{sep}{y}" if y else ""),
    st.integers(1, 28),
    st.integers(1, 12),
    st.sampled_from(["", "24", "2024"]),
    st.sampled_from(["/", "."]),
)


@SETTINGS
@given(DAY_DATE, DAY_DATE, st.sampled_from(["", " OD", " RE"]), CASES)
def test_a_day_dated_entry_above_today_is_history(earlier, later, eye, case):
    """Class: copy-forward timelines dated by day ("14/01:", "10/10/24 OD:"). An earlier dated entry is history; the
    last line of the timeline is today's entry."""
    text = cased(
        f"{earlier}{eye}: SRF subfoveal, IRF +. Active nAMD. Inject.\n"
        f"{later}{eye}: No SRF, no IRF. Disease inactive. Extend to 10 weeks.",
        case,
    )
    got = labels(text)
    assert got["biomarkers"].get("srf") == "absent", text
    assert got["biomarkers"].get("irf") == "absent", text


@SETTINGS
@given(st.sampled_from(["6/60", "6/36", "20/40", "20/200", "3/60"]), CASES)
def test_an_acuity_heading_a_line_is_no_date(acuity, case):
    """An acuity that can be no day and month ("6/60 - SRF at the fovea") is no date: its findings stand. (One that
    can, "6/9 -" at a line's start, reads as a dated entry: a known limit.)"""
    text = cased(f"VA\n{acuity} - SRF at the fovea. Active nAMD.\nInject today.", case)
    assert labels(text)["biomarkers"].get("srf") == "present", text


@SETTINGS
@given(st.sampled_from(["no", "No", "nil"]), st.sampled_from(["S H R M", "s h r m"]), CASES)
def test_a_four_letter_abbreviation_spelled_out_is_the_abbreviation(negation, spelled, case):
    """Class: speech-recognition splits. An abbreviation dictated letter by letter ("no S H R M") is the abbreviation,
    four letters as well as three ("R P E", "P E D")."""
    text = cased(f"right eye there is complete R P E and outer retinal atrophy {negation} {spelled} late dry AMD", case)
    got = labels(text)
    assert got["biomarkers"].get("shrm") == "absent", text
    assert got["stage"] == "late_dry", text


@SETTINGS
@given(
    st.sampled_from(["Now with progression to", "OCT shows progression to", "There is evidence of progression to"]),
    st.sampled_from(["GA", "geographic atrophy", "late dry AMD"]),
    CASES,
)
def test_a_progression_the_scan_shows_is_stated(progression, stage, case):
    """Class: a stated progression. A progression the scan shows names the stage reached; its risk does not."""
    text = cased(f"Large drusen, area of RPE loss with hypertransmission. No fluid. {progression} {stage}.", case)
    assert labels(text)["stage"] == "late_dry", text
    risk = cased(f"Large drusen, no fluid. Intermediate AMD, at risk of progression to {stage}.", case)
    assert labels(risk)["stage"] == "intermediate", risk
