"""Rules from the thirteenth writer's referral-heavy set (round 15: styles_dev13.jsonl), as properties: ranges and rough
intervals, priority fields, what is no plan (a letter's signature, a plan set aside or for later, the GP's own
urgency, paperwork, the service a note is written in), the referrer's call, open stages, tables and conditions."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)
UNITS = {"weeks": 7, "months": 30}
IAMD = "Large drusen, no fluid. Intermediate AMD."
INACTIVE = "Inactive nAMD: flat scar, no fluid."


@SETTINGS
@given(
    st.sampled_from(["Review within {lo}-{hi} {unit}.", "Follow-up {lo}-{hi} {unit}.", "Review {lo}-{hi} {unit}."]),
    st.integers(1, 6),
    st.integers(1, 6),
    st.sampled_from(sorted(UNITS)),
    CASES,
)
def test_a_range_is_an_interval_read_by_its_longer_end(plan, lo, step, unit, case):
    """ "review within 4-6 weeks", "Follow-up 3-4 months": a range is a number; its longer end sets the level."""
    hi = lo + step
    text = cased(f"{IAMD} {plan.format(lo=lo, hi=hi, unit=unit)}", case)
    assert labels(text)["referral"] == ("urgent" if hi * UNITS[unit] <= 14 else "routine"), text


@SETTINGS
@given(
    st.sampled_from(["in about", "in around", "in approximately"]),
    st.integers(3, 12),
    st.sampled_from(["Return", "See her", "Review"]),
    CASES,
)
def test_a_rough_interval_is_a_follow_up(approx, n, verb, case):
    assert labels(cased(f"{IAMD} {verb} {approx} {n} months.", case))["referral"] == "routine"


@SETTINGS
@given(st.sampled_from(["Community Optometrist", "Optometrist", "Eye Clinic, Royal Hospital"]), CASES)
def test_who_signs_a_letter_is_no_plan(signature, case):
    text = (
        f"Dear Colleague,\nOCT shows SRF.\nPlease see her via the urgent nAMD pathway.\nYours sincerely,\n{signature}"
    )
    assert labels(cased(text, case))["referral"] == "urgent"


@SETTINGS
@given(
    st.sampled_from(
        [
            "Re-presentation in our outpatient clinic in 6 months.",
            "Next MR appointment 28/04.",
            "Next clinic appointment 12/09.",
            "Review with OCT and autofluorescence in the new year.",
            "Review with imaging in 6 months.",
        ]
    ),
    CASES,
)
def test_a_clinic_visit_planned_is_routine(plan, case):
    assert labels(cased(f"{IAMD} {plan}", case))["referral"] == "routine"


@SETTINGS
@given(st.sampled_from(["HIGH", "high", "High"]), st.sampled_from(["Referral to MR clinic - priority: ", "Priority: "]))
def test_a_high_priority_field_is_urgent(value, field):
    assert labels(f"RE: SRF and IRF on OCT. {field}{value}.")["referral"] == "urgent"


@SETTINGS
@given(st.sampled_from(["Priority: low.", "Low priority."]), CASES)
def test_a_low_priority_is_routine(plan, case):
    assert labels(cased(f"{IAMD} {plan}", case))["referral"] == "routine"


@SETTINGS
@given(
    st.sampled_from(
        ["See optometrist as usual.", "Continue routine optometric care.", "See your optometrist as usual."]
    ),
    CASES,
)
def test_the_optometrist_as_usual_is_no_referral(plan, case):
    assert labels(cased(f"Scan is normal. No drusen, no fluid. {plan}", case))["referral"] == "none"


@SETTINGS
@given(st.sampled_from(["DVLA V1 form", "driving licence renewal form"]), CASES)
def test_urgency_of_a_driving_form_is_no_referral(form, case):
    text = f"{INACTIVE}\nPlease expedite completion of his {form} as his licence lapses next week."
    assert labels(cased(text, case))["referral"] is None


@SETTINGS
@given(st.sampled_from(["Was going to discharge", "Had planned to discharge"]), st.integers(6, 12), CASES)
def test_a_plan_set_aside_is_no_plan(opener, n, case):
    text = f"{IAMD} {opener} to optom, but given the new HRF will keep her here - review {n}/12."
    assert labels(cased(text, case))["referral"] == "routine"


@SETTINGS
@given(st.sampled_from(["would then refer urgently", "would then refer", "will then refer urgently"]), CASES)
def test_a_referral_for_a_later_event_is_no_plan(then, case):
    text = f"Medium drusen, no fluid. No referral at present - told to come back if new distortion and {then}."
    assert labels(cased(text, case))["referral"] == "none"


@SETTINGS
@given(st.sampled_from(["review this urgently at the surgery", "see him urgently at your surgery"]), CASES)
def test_an_urgency_for_the_gp_is_no_eye_referral(ask, case):
    text = f"Quiescent nAMD, no fluid. Continue 12-weekly aflibercept.\nBP 186/102. I would be grateful if you could {ask}."
    assert labels(cased(text, case))["referral"] == "routine"


@SETTINGS
@given(st.sampled_from(["Eye casualty nurse triage", "Eye casualty triage", "Eye casualty note"]), CASES)
def test_the_service_a_note_is_written_in_is_no_referral(heading, case):
    text = f"{heading}, RE: drusenoid PED, no SRF/IRF. Not for same-day review; booked MR clinic within 6 weeks."
    assert labels(cased(text, case))["referral"] == "routine"


@SETTINGS
@given(st.sampled_from(["optom", "her optometrist", "the GP"]), CASES)
def test_a_referral_made_routinely_stays_routine_whoever_sent_it(sender, case):
    """ "Referred routinely to eye clinic by optom": the optometrist sent it; no community care."""
    assert labels(cased(f"{IAMD} Referred routinely to eye clinic by {sender}.", case))["referral"] == "routine"


@SETTINGS
@given(st.sampled_from(["Amsler normal.", "Amsler grid normal."]), CASES)
def test_a_normal_function_test_is_no_healthy_stage(amsler, case):
    assert labels(cased(f"Medium drusen, RPE mottling, no SRF/IRF. {amsler}", case))["stage"] is None


@SETTINGS
@given(st.sampled_from(["6-monthly monitoring in MR clinic", "review in MR clinic in 3 months"]), CASES)
def test_a_follow_up_of_an_inactive_treated_eye_is_routine(plan, case):
    """Like a kept treat-and-extend schedule (eval/README.md, round 7)."""
    text = f"Inactive nAMD, no fluid. Stepped down from injection clinic; stop injections - {plan}."
    assert labels(cased(text, case))["referral"] == "routine"


@SETTINGS
@given(st.sampled_from(["OD", "OS"]), st.sampled_from(["extend to 16/52", "extend interval to 14 weeks"]))
def test_a_table_row_is_a_field(eye, decision):
    text = f"| Parameter | {eye} |\n|---|---|\n| SRF | absent |\n| Activity | inactive |\n| Decision | {decision} |"
    got = labels(text)
    assert (got["stage"], got["referral"]) == ("late_wet_inactive", "routine"), text


@SETTINGS
@given(
    st.sampled_from(["GP referred urgently for ?wet AMD.", "Referred routinely by optom for ?GA."]),
    CASES,
)
def test_the_referrer_s_query_is_history(referral, case):
    text = f"{referral}\nOCT: a few small drusen, no SRF/IRF. Early AMD only."
    assert labels(cased(text, case))["stage"] == "early"


@SETTINGS
@given(st.sampled_from(["early", "intermediate"]), CASES)
def test_an_amd_grade_field_states_the_stage(grade, case):
    assert labels(cased(f"Drusen: small\nAMD grade: {grade}", case))["stage"] == grade


@SETTINGS
@given(
    st.sampled_from(["Suspected diagnosis: wet AMD", "?conversion to nAMD", "Query conversion to nAMD"]),
    CASES,
)
def test_a_suspected_diagnosis_leaves_the_stage_open(stage, case):
    assert labels(cased(f"OCT: SRF - yes, IRF - yes.\n{stage}.", case))["stage"] is None


@SETTINGS
@given(st.sampled_from(["normal RPE", "RPE normal"]), CASES)
def test_a_normal_rpe_denies_irregularity(rpe, case):
    assert labels(cased(f"OCT RE - no drusen, {rpe}, no fluid.", case))["biomarkers"]["rpe_irregularity"] == "absent"


@SETTINGS
@given(st.sampled_from(["Human grader override:", "Override:"]))
def test_a_reader_s_override_corrects_the_automated_reading(marker):
    text = f"AI triage: URGENT (SRF probability 0.62).\n{marker} the band is shadowing beneath a druse - no SRF."
    assert labels(text)["biomarkers"]["srf"] == "absent"


@SETTINGS
@given(st.sampled_from(["a few pachydrusen", "scattered pachydrusen", "pachydrusen"]), CASES)
def test_pachydrusen_are_drusen(finding, case):
    assert labels(cased(f"LE: {finding}; no PED, no fluid.", case))["biomarkers"]["drusen"] == "present"


@SETTINGS
@given(st.sampled_from(["no new referral sent", "no new referral made"]), CASES)
def test_a_new_referral_not_sent_leaves_the_booked_review(denied, case):
    text = f"GA, no fluid. Already under the MR clinic with an appointment in March - {denied}, advised to keep it."
    assert labels(cased(text, case))["referral"] == "routine"


def test_a_new_referral_not_required_stays_none():
    """ "No new referral required" is a decision of none (sixth writer's b6-049)."""
    assert labels("Small drusen, no fluid - early AMD. No new referral required.")["referral"] == "none"


@SETTINGS
@given(st.sampled_from(["DMO", "diabetic macular oedema"]), CASES)
def test_a_treatment_for_a_stated_condition_is_no_amd_stage(condition, case):
    text = f"Centre-involving {condition} with intraretinal cysts.\nPlan: anti-VEGF - first injection within 2 weeks."
    assert labels(cased(text, case))["stage"] is None


@SETTINGS
@given(
    st.sampled_from(["cannot exclude a small amount", "cannot rule out", "not excluded"]),
    st.sampled_from(["SRF", "IRF"]),
    CASES,
)
def test_a_field_whose_value_is_a_doubt_hedges_its_label(doubt, name, case):
    """ "SRF: cannot exclude a small amount at the PED margin": the value hedges the label, not the PED after it."""
    got = labels(cased(f"PED present; {name}: {doubt} at the PED margin.", case))["biomarkers"]
    assert (got[name.lower()], got["ped"]) == ("uncertain", "present")
