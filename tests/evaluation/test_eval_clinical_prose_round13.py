"""Referral rules from two more referral-focused sets (round 13: styles_ref_c.jsonl, styles_ref_d.jsonl), as
properties: a time frame read by its length (under treatment too), a weekday deadline and the earliest slot, a visit
planned with a pronoun or as a field, a monitoring rhythm."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, extractor, labels

from retinavlm.evaluation.matcher import PhraseTable

SETTINGS = settings(max_examples=40, deadline=None)
UNITS = {"days": 1, "weeks": 7, "months": 30}


@SETTINGS
@given(
    st.sampled_from(
        ["Please see within {n} {unit}.", "GA clinic within {n} {unit}.", "Book within the next {n} {unit}."]
    ),
    st.integers(1, 12),
    st.sampled_from(sorted(UNITS)),
    CASES,
)
def test_a_time_frame_is_urgent_up_to_two_weeks(plan, n, unit, case):
    """ "within 3 months" is a routine time frame, "within the next 5 days" an urgent one (two weeks or less)."""
    text = cased(f"Large drusen, no fluid. {plan.format(n=n, unit=unit)}", case)
    expected = "urgent" if n * UNITS[unit] <= 14 else "routine"
    assert labels(text)["referral"] == expected, text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Scheduled for injection within {n} days.",
            "We would like to see you for an injection within the next {n} days.",
            "RTC {n} days for first injection.",
        ]
    ),
    st.integers(1, 14),
    CASES,
)
def test_a_treatment_within_a_short_time_frame_is_urgent(plan, days, case):
    """A planned treatment no longer skips a short interval: eval/README.md, treatment within a time frame is urgent."""
    text = cased(f"New SRF and IRF. Active nAMD. {plan.format(n=days)}", case)
    assert labels(text)["referral"] == "urgent", text


def test_a_long_interval_under_treatment_is_still_no_plan():
    """Active disease treated today: a four-week return is the treatment's schedule, no referral (unchanged)."""
    assert labels("SRF. Active nAMD. Aflibercept given today; review in 4 weeks.")["referral"] is None


@SETTINGS
@given(
    st.sampled_from(["before Friday", "before Monday", "at your earliest availability", "at the earliest possible"]),
    CASES,
)
def test_a_weekday_deadline_and_the_earliest_slot_are_urgent(frame, case):
    text = cased(f"New SRF under the fovea. Please book into clinic {frame}.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "I'd like to see him back in {n} months.",
            "We will see her again in {n} months.",
            "Return: {n} months",
            "Next appointment: {n} months",
            "Control examination in {n} months.",
        ]
    ),
    st.integers(2, 12),
    CASES,
)
def test_a_visit_planned_with_a_pronoun_or_as_a_field_is_routine(plan, months, case):
    text = cased(f"Large drusen and a drusenoid PED, no SRF. {plan.format(n=months)}", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["Please see next month.", "Moved to PRN with monthly OCT monitoring."]), CASES)
def test_next_month_and_monthly_monitoring_are_routine(plan, case):
    text = cased(f"Drusenoid PED, no fluid. {plan}", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["annual eye examination", "yearly eye examination"]), CASES)
def test_an_eye_examination_with_the_optometrist_is_none(exam, case):
    text = cased(f"Few small drusen, no fluid. Early AMD. {exam} with local optometrist.", case)
    assert labels(text)["referral"] == "none", text


def test_a_literal_number_does_not_hide_a_number_phrase():
    """The matcher follows a number both as itself and as "#": "within 1 day" is a "within # day" phrase though
    "within 1 week" is a phrase too (the trie once took the literal branch only), and at equal length the
    literal phrase wins ("within 2 weeks" stays the knowledge base's urgent level)."""
    table = PhraseTable()
    table.add(("within", "1", "week"), "literal")
    table.add(("within", "#", "day"), "number")
    table.add(("within", "#", "week"), "number")

    def match(text):
        return table.match_at(extractor()._reader.read(text).tokens, 0).payloads

    assert match("within 1 day") == ("number",)
    assert match("within 1 week") == ("literal",)
    assert match("within 3 week") == ("number",)


@SETTINGS
@given(
    st.sampled_from(
        [
            "No follow-up arranged at her request.",
            "No F/U needed with retina.",
            "No retina referral.",
            "No eye referral needed.",
            "No control in our clinic required.",
            "You do not need to see us again.",
            "You don't need another appointment with the eye clinic.",
            "No clinical action required.",
        ]
    ),
    CASES,
)
def test_a_follow_up_or_eye_referral_denied_is_none(plan, case):
    """Hospital care denied is no referral (eval/README.md): a follow-up, the eye or retina service, an appointment."""
    text = cased(f"Few small drusen, no fluid. Early AMD. {plan}", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Cataract surgery listed for next week.",
            "Listed for phaco + IOL (routine list).",
            "Please see GP urgently for blood pressure check.",
            "Letter to GP requesting urgent BP review.",
        ]
    ),
    CASES,
)
def test_a_plan_for_cataract_or_blood_pressure_is_not_the_maculas(plan, case):
    text = cased(f"Medium drusen, no fluid, RPE intact. {plan}", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(st.sampled_from(["she notices", "he notices", "you notice"]), CASES)
def test_a_safety_net_on_the_patients_notice_is_no_plan(who, case):
    text = cased(
        f"Quiescent nAMD. Discharged to her community optometrist, with an urgent self-referral route (eye casualty)"
        f" if {who} distortion.",
        case,
    )
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["you notice", "she notices"]), CASES)
def test_an_earlier_visit_on_notice_keeps_the_routine_plan(who, case):
    text = cased(
        f"Intermediate AMD. We will see you again in the clinic in 12 months, or earlier if {who} distortion.", case
    )
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["was fast-tracked", "was fast tracked", "had been fast-tracked"]), CASES)
def test_a_past_fast_track_is_no_plan(verb, case):
    text = cased(f"Mrs I {verb} by her optometrist in 2022 and treated. Today no SRF, no IRF; small scar.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(
    st.sampled_from(
        [
            "URGENT - CVI (sight impairment) certificate to be completed today for a benefits deadline.",
            "URGENT: CVI certificate to be completed and sent to social services this week.",
            "URGENT: insurer requires the completed claim form by Friday - please sign.",
        ]
    ),
    st.sampled_from(["Continue 6-monthly review in MR clinic.", "No hospital follow-up required.", ""]),
    CASES,
)
def test_urgent_paperwork_states_no_referral(paperwork, plan, case):
    """A sentence about a certificate or a claim is urgency of paperwork: the plan of another sentence decides."""
    text = cased(f"{paperwork}\nEnd-stage disciform scar, no fluid. {plan}", case)
    expected = {"": None, "No hospital follow-up required.": "none"}.get(plan, "routine")
    assert labels(text)["referral"] == expected, text


@SETTINGS
@given(st.sampled_from(["Best wishes,", "Kind regards,", "Yours sincerely,"]), CASES)
def test_the_clinic_that_signs_a_letter_is_no_follow_up(closing, case):
    text = cased(
        f"Dear Mr O,\nYour scan showed a few small drusen. You do not need to see us again.\n{closing}\n"
        "Eye Clinic, Royal Hospital",
        case,
    )
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["our practice", "my practice"]), st.integers(3, 12), CASES)
def test_the_writers_own_practice_is_no_community_care(place, months, case):
    text = cased(f"Soft drusen, no SRF. Control examination in {months} months at {place}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["could be seen in the", "should be seen in the", "to be seen in the"]), CASES)
def test_a_visit_asked_for_in_a_rapid_access_clinic_is_urgent(verb, case):
    """Only a visit that was ("I saw her in the rapid access clinic today") names where it was, no referral."""
    text = cased(f"Active nAMD with SRF. I would be grateful if he {verb} rapid access macular clinic.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(st.integers(1, 3), CASES)
def test_a_sight_test_is_community_care(years, case):
    text = cased(f"No macular abnormality. Green - sight test {years} yrs.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.integers(6, 30), CASES)
def test_a_treatment_some_time_ago_is_history(months, case):
    """A follow-up of an eye whose last injection was months ago is a referral: the eye is not under treatment."""
    text = cased(
        f"nAMD, previously treated (last injection {months} mo ago). No SRF, no IRF. Inactive. Follow-up 4 months.",
        case,
    )
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["Not detected", "Absent"]), st.sampled_from(["routine referral", "urgent referral"]), CASES)
def test_a_section_of_absent_findings_does_not_deny_a_plan(heading, plan, case):
    """ "Not detected:" rules out the findings it lists, not a referral written under it."""
    text = cased(f"Detected: large drusen\n{heading}: SRF, IRF, SHRM\nHuman review: drusen > 125 um, {plan}.", case)
    assert labels(text)["referral"] == plan.split()[0], text
    assert labels(text)["biomarkers"]["srf"] == "absent", text


@SETTINGS
@given(st.sampled_from([("Left", "Right"), ("Right", "Left")]), CASES)
def test_a_forms_eye_field_names_the_reports_eye(eyes, case):
    this, other = eyes
    text = cased(
        f"Patient: Mrs B | Eye: {this}\nLarge drusen and a drusenoid PED, no SRF. Intermediate AMD. Routine referral.\n"
        f"{other} eye: healthy, no referral.",
        case,
    )
    got = labels(text)
    assert (got["stage"], got["referral"]) == ("intermediate", "routine"), text


@SETTINGS
@given(st.sampled_from(["I have referred as urgent", "We have referred as urgent"]), CASES)
def test_the_writers_own_referral_is_stated(plan, case):
    """ "Referred as ?SRF" is another reader's call (history); "I have referred as urgent" is the writer's plan."""
    text = cased(f"?trace SRF at fovea, drusenoid PED. {plan} (FSA within 2 weeks).", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(
    st.sampled_from(["Assessment: conversion to {stage}.", "This now represents conversion to {stage}."]),
    st.sampled_from(["active nAMD", "active wet AMD"]),
    CASES,
)
def test_a_stated_conversion_is_the_stage(sentence, stage, case):
    """A conversion stated is the stage now; its risk or its signs to watch for are not (unchanged)."""
    text = cased(f"MR clinic, intermediate AMD observation. New SRF over the PED. {sentence.format(stage=stage)}", case)
    assert labels(text)["stage"] == "late_wet_active", text
    watched = cased(f"Large drusen, no fluid. Intermediate AMD. Watch for signs of conversion to {stage}.", case)
    assert labels(watched)["stage"] == "intermediate", watched


@SETTINGS
@given(st.sampled_from(["NAD otherwise", "Normal otherwise", "Unremarkable otherwise"]), CASES)
def test_a_normal_statement_followed_by_otherwise_is_no_healthy_stage(rest, case):
    """ "Few hard drusen. NAD otherwise." describes the rest of a scan with a finding, like "otherwise normal"."""
    text = cased(f"LE OCT: few hard drusen. No fluid. {rest}. D/C to optom.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(st.sampled_from(["disease still active.", "Still active.", "Remains active."]), CASES)
def test_still_active_alone_is_a_verdict(verdict, case):
    text = cased(f"inj clinic re: persistent srf, irf -. {verdict} aflibercept today, interval unchanged 4/52.", case)
    assert labels(text)["stage"] == "late_wet_active", text


@SETTINGS
@given(
    st.sampled_from(["2022-05: {f}, observe.", "01/2023 - {f}, observe.", "2018: {f}, observed."]),
    st.sampled_from(["large drusen", "drusenoid PED", "HRF"]),
    st.sampled_from(["2024-05 (today): OCT: cRORA, no fluid.", "Today 07/2024 - OCT: cRORA, no fluid."]),
    CASES,
)
def test_a_line_headed_by_a_date_is_an_earlier_visit(earlier, finding, today, case):
    """A timeline's dated line is history; the line marked today, and what follows the dated line, are not."""
    text = cased(f"Retina progress note - OD\n{earlier.format(f=finding)}\n{today}\nPlan: RTC 3 months.", case)
    got = labels(text)
    assert not ({"drusen", "ped", "hyperreflective_foci"} & set(got["biomarkers"])), text
    assert got["biomarkers"].get("srf") == "absent" and got["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["rpe reg", "RPE reg."]), st.sampled_from(["hypertrans +", "hypertrans ++"]), CASES)
def test_clipped_shorthand_reads_as_its_word(rpe, hypertransmission, case):
    text = cased(f"lt eye: ga temporal, {hypertransmission}, {rpe}, no fluid. r/v 3-4 months.", case)
    got = labels(text)["biomarkers"]
    assert (got.get("hypertransmission"), got.get("rpe_irregularity")) == ("present", "absent"), text


@SETTINGS
@given(st.sampled_from(["OS", "LE"]), st.sampled_from(["Indication", "History"]))
def test_referring_od_names_no_eye_and_an_eye_line_ends_a_history_section(eye, heading):
    """ "by referring OD" is a doctor of optometry; a line headed by an eye ("OS: ...") holds that eye's findings."""
    text = (
        f"{heading}: drusen seen on routine exam by referring OD.\n{eye}: multiple large soft drusen, no fluid. "
        f"RPE intact.\nImpression: intermediate AMD {eye}.\nOD: pseudophakic, not imaged today."
    )
    got = labels(text)["biomarkers"]
    assert (got.get("drusen"), got.get("srf"), got.get("rpe_irregularity")) == ("present", "absent", "absent"), text


@SETTINGS
@given(st.lists(st.sampled_from(["srf", "irf", "shrm"]), min_size=2, max_size=3, unique=True), CASES)
def test_signs_between_slashes_deny_each_finding(names, case):
    """ "srf - / irf - / shrm -": a spaced sign before a slash ends its item like one before a comma."""
    text = cased("re oct: dome serous ped 500um. " + " / ".join(f"{n} -" for n in names) + ". ?occult mnv.", case)
    got = labels(text)["biomarkers"]
    assert all(got.get(n) == "absent" for n in names), text


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from(["intraretinal fluid", "subretinal fluid", "SHRM"]), st.sampled_from(["yes", "no"])),
        min_size=1,
        max_size=3,
        unique_by=lambda pair: pair[0],
    ),
    CASES,
)
def test_a_bracketed_answer_is_the_findings_state(answers, case):
    ids = {"intraretinal fluid": "irf", "subretinal fluid": "srf", "SHRM": "shrm"}
    text = cased("OCT findings entered: " + ", ".join(f"{name} ({a})" for name, a in answers), case)
    got = labels(text)["biomarkers"]
    assert all(got.get(ids[name]) == ("present" if a == "yes" else "absent") for name, a in answers), text


@SETTINGS
@given(st.sampled_from(["DR", "diabetic retinopathy", "macular oedema"]), CASES)
def test_a_stage_phrase_that_is_a_denial_keeps_it_after_another_denial(other, case):
    """ "No DR, no AMD": the first "no" is the other item's; "no AMD" states healthy by itself."""
    text = cased(f"Diabetic screening - RE OCT: no drusen. No {other}, no AMD. No referral.", case)
    assert labels(text)["stage"] == "healthy", text


@SETTINGS
@given(
    st.sampled_from(["refer via the fast-track pathway", "refer urgently", "please re-refer within 2 weeks"]),
    st.sampled_from(["he develops new distortion", "vision drops suddenly"]),
    CASES,
)
def test_a_sentence_opened_by_if_is_no_plan_today(plan, condition, case):
    text = cased(f"Few small drusen, no fluid. Early AMD. I would not refer. If {condition}, {plan}.", case)
    assert labels(text)["referral"] == "none", text


def test_a_sentence_opened_by_should_keeps_its_plan():
    assert labels("Large drusen, no fluid. Should be seen within 2 weeks.")["referral"] == "urgent"
