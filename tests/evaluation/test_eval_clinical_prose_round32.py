"""Rules from the thirtieth writer's general set (round 32: styles_dev30.jsonl), as properties: a treatment interval
with its value and no preposition, an appointment dated to a month, a specialist's practice, the patient's usual eye
care, a software model named by its disease, and a scan normal but for a finding."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(
    st.sampled_from(["keep interval", "Interval", "maintain interval"]),
    st.sampled_from(["8 wk", "10 wks", "12 weeks", "8/52"]),
    st.sampled_from(["nAMD, activity uncertain -", "RE: quiescent MNV, dry macula."]),
    CASES,
)
def test_an_interval_with_its_value_and_no_preposition_is_a_kept_schedule(verb, interval, finding, case):
    """Class: a time frame in any notation. "keep interval 8 wk" is "keep interval at 8 weeks": a schedule kept for
    an inactive eye or one whose activity is left open, routine (eval/README.md rounds 7 and 8)."""
    text = cased(f"{finding} {verb} {interval}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["8 wk", "6 weeks"]), CASES)
def test_an_active_eye_treated_today_keeps_no_referral(interval, case):
    """The treatment is the plan for an active eye, whatever the interval's notation (round 7)."""
    text = cased(f"nAMD active, new SRF. Inject today, keep interval {interval}.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(
    st.sampled_from(["her appointment", "his appointment", "the appointment", "that appointment"]),
    st.sampled_from(["March", "September", "Jan", "December"]),
    CASES,
)
def test_an_appointment_dated_to_a_month_is_booked_not_history(appointment, month, case):
    """Class: a time frame in any notation. The month dates the visit to come: keeping it is routine (round 15)."""
    text = cased(
        f"Already followed by the retina service - no new referral sent, advised to keep {appointment} in {month}.",
        case,
    )
    assert labels(text)["referral"] == "routine", text


def test_a_finding_dated_to_a_month_stays_history():
    text = "The SRF present in March has resolved. Dry macula. Appointment in 3 months."
    got = labels(text)
    assert got["biomarkers"]["srf"] == "absent" and got["referral"] == "routine"


@SETTINGS
@given(
    st.sampled_from(["ophthalmology", "retina", "ophthalmologist's"]),
    st.sampled_from(["control at the", "review at the", "follow-up at the"]),
    st.sampled_from(["12 months", "6 months"]),
    CASES,
)
def test_a_specialists_practice_is_no_community_care(specialty, visit, interval, case):
    """Class: whose practice. An ophthalmologist's practice is the specialist, routine like "control at the
    ophthalmologist"; only the optometrist's or a private practice is community care."""
    text = cased(f"Medium drusen, no PED. Early AMD. Recommend {visit} {specialty} practice in {interval}.", case)
    assert labels(text)["referral"] == "routine", text


def test_a_private_practice_stays_community_care():
    assert labels("Early AMD. Control in private practice in 12 months.")["referral"] == "none"


@SETTINGS
@given(
    st.sampled_from(["regular", "usual"]),
    st.sampled_from(["eye doctor for annual exam", "eye doctor in 1 year", "eye doctor in 2 years"]),
    st.sampled_from(["Return to", "Back to", "Review with"]),
    CASES,
)
def test_the_patients_usual_eye_care_is_none(usual, care, verb, case):
    """Class: who monitors. The patient's regular or usual eye care is the community's, none, like "usual
    optometrist" and "usual checks"."""
    text = cased(f"OS: no drusen, no SRF. WNL. {verb} {usual} {care}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(["Late AMD", "nAMD", "Wet AMD", "GA"]),
    st.sampled_from(["screening model v2.3", "detection algorithm", "classifier", "triage model", "detector v1"]),
    CASES,
)
def test_a_software_model_named_by_its_disease_is_no_stage(disease, tool, case):
    """Class: AI and reading-centre outputs. The tool's name says what it looks for, not what it found: a model
    whose disease outputs are negative states no stage."""
    text = cased(f"{disease} {tool} - OD\nGA: negative\nNeovascular AMD: negative\nDrusen load: moderate", case)
    assert labels(text)["stage"] is None, text


def test_a_stage_before_a_clinic_still_reads_without_a_model():
    assert labels("Intermediate AMD. Refer to injection clinic.")["stage"] == "intermediate"


@SETTINGS
@given(
    st.sampled_from(["macula normal", "Normal macula", "scan normal"]),
    st.sampled_from(["apart from", "except for", "aside from"]),
    st.sampled_from(["a few hard drusen", "small drusen", "a small PED"]),
    CASES,
)
def test_a_scan_normal_but_for_a_finding_is_no_healthy_stage(normal, exception, finding, case):
    """Class: a scan normal but for a finding. The exception reads as "otherwise normal" after a finding: the rest of
    the scan, no stage (eval/README.md: no stage is inferred from findings)."""
    text = cased(f"OCT: no SRF, no IRF; {normal} {exception} {finding}.", case)
    assert labels(text)["stage"] is None, text


def test_normal_but_for_no_finding_stays_healthy():
    assert labels("No SRF. Macula normal apart from a floater.")["stage"] == "healthy"


@SETTINGS
@given(
    st.sampled_from(["srf ++", "SRF +", "srf -"]),
    st.sampled_from([("irf -", "irf", "absent"), ("IRF -", "irf", "absent"), ("ped +", "ped", "present")]),
    st.sampled_from(["shrm +", "fibrosis -", "SHRM -"]),
    st.sampled_from(["le:", "RE:", "OD"]),
    CASES,
)
def test_a_run_of_signed_findings_without_punctuation_reads_each_sign(first, middle, last, eye, case):
    """Class: sign notation. In "srf ++ irf - shrm +" each sign is its finding's, though no comma ends the item."""
    sign, bid, state = middle
    text = cased(f"{eye} {first} {sign} {last}. first inj today.", case)
    assert labels(text)["biomarkers"][bid] == state, text


def test_a_dash_after_a_stage_before_a_signed_finding_is_no_sign():
    """ "active nAMD - SRF +": the dash separates the diagnosis from its findings; no run of signs precedes it."""
    got = labels("RE: active nAMD - SRF + IRF on OCT, PED+.")
    assert got["stage"] == "late_wet_active" and got["biomarkers"]["srf"] == "present"


@SETTINGS
@given(
    st.sampled_from(["p=", "p =", "prob ", "score "]),
    st.sampled_from(
        [("0.12", "(not detected)", "absent"), ("0.91", "(detected)", "present"), ("0.5", "(uncertain)", "uncertain")]
    ),
    st.sampled_from(["IRF", "SRF", "PED"]),
    CASES,
)
def test_a_named_score_before_its_state_word_is_read_by_the_word(name, scored, finding, case):
    """Class: AI and reading-centre outputs. "IRF p=0.12 (not detected)": the model's own word states the finding,
    as "srf: 0.05 (absent)" does; the score's name does not make it present."""
    value, word, state = scored
    text = cased(f"Fluid detector: {finding} {name}{value} {word}.", case)
    assert labels(text)["biomarkers"][finding.lower()] == state, text


@SETTINGS
@given(
    st.sampled_from(["could be artefact", "may be an artefact", "possibly artefact", "might be artifact"]),
    st.sampled_from(
        [("RPE irregular", "rpe_irregularity"), ("Small IRF cyst nasally", "irf"), ("Thin SRF band", "srf")]
    ),
    st.sampled_from([", ", " - "]),
    CASES,
)
def test_an_artefact_offered_after_a_finding_hedges_it(artefact, finding, mark, case):
    """Class: hedges. An artefact offered as another reading of the finding leaves it uncertain; "is artefact"
    still denies it."""
    words, bid = finding
    text = cased(f"{words}{mark}{artefact}.", case)
    assert labels(text)["biomarkers"][bid] == "uncertain", text


def test_an_artefact_stated_still_denies():
    assert labels("What looked like SRF is artefact.")["biomarkers"].get("srf") in (None, "absent")


@SETTINGS
@given(
    st.sampled_from(["pegcetacoplan", "Syfovre", "avacincaptad pegol", "Izervay"]),
    st.sampled_from(
        ["Book first injection routinely.", "First injection next visit.", "Intravitreal injection today."]
    ),
    st.sampled_from(["fovea-involving GA", "geographic atrophy, extrafoveal"]),
    CASES,
)
def test_injections_in_a_report_naming_a_ga_treatment_are_that_treatments(drug, plan, ga, case):
    """Class: treatment words. The complement inhibitor owns the report's generic injection words: the GA stays late
    dry AMD, no anti-VEGF dose for active wet AMD (eval/README.md round 18 infers that only with no condition named)."""
    text = cased(f"LE: {ga}, enlarging. No MNV, no SRF. Eligible for {drug} - patient wishes to proceed. {plan}", case)
    assert labels(text)["stage"] == "late_dry", text


def test_an_injection_without_a_ga_treatment_still_states_active_wet_amd():
    assert labels("RE: new SRF. Book first injection this week.")["stage"] == "late_wet_active"


@SETTINGS
@given(
    st.sampled_from(
        [("inactive", "late_wet_inactive"), ("quiescent", "late_wet_inactive"), ("active", "late_wet_active")]
    ),
    st.sampled_from(
        ["for 3 consecutive visits at 16 weeks", "since March", "over the last two visits", "for 6 months"]
    ),
    st.sampled_from(["LE:", "RE", ""]),
    CASES,
)
def test_an_activity_verdict_with_the_time_it_has_held_is_the_verdict(verdict, span, eye, case):
    """Class: activity words. "Inactive for 3 consecutive visits" is the verdict "Inactive." with its duration."""
    word, stage = verdict
    text = cased(f"{eye} {word} {span}. Small stable scar. Review 3 months.".strip(), case)
    assert labels(text)["stage"] == stage, text


def test_a_finding_stable_for_a_time_names_no_stage():
    """Only the activity verdicts take a duration: "Stable for 2 years" after drusen states no stage."""
    assert labels("RE: drusen. Stable for 2 years.")["stage"] is None


@SETTINGS
@given(
    st.sampled_from(["her", "him", "them"]),
    st.sampled_from(["the injection clinic", "injection service", "injections", "treatment"]),
    st.sampled_from(["will see her in the macular clinic in 6 months", "review in MR clinic in 4 months"]),
    CASES,
)
def test_a_discharge_from_treatment_with_the_patient_named_leaves_the_review(who, service, review, case):
    """Class: who acts. "discharged her from the injection clinic" ends the treatment, as "discharged from the
    injection clinic" does (round 30); the review the writer keeps is routine."""
    text = cased(f"Dry macula. Inactive. I have discharged {who} from {service} and {review}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["Please assess for", "Kindly evaluate for", "Request: assess for"]),
    st.sampled_from(["intermediate AMD", "wet AMD", "GA"]),
    st.sampled_from(
        [("at the ophthalmologist (no urgency)", "routine"), ("at the eye clinic within 1 week", "urgent")]
    ),
    CASES,
)
def test_a_request_to_assess_for_a_diagnosis_keeps_its_plan(request, diagnosis, plan, case):
    """Class: who acts. The request leaves the diagnosis open (no stage), not the referral it makes."""
    where, level = plan
    text = cased(f"OCT: soft drusen, no fluid. {request} {diagnosis} {where}.", case)
    got = labels(text)
    assert got["referral"] == level and got["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["RTN", "Rtn", "Review", "Return"]),
    st.sampled_from(["2 yrs", "12 mos", "6 mths", "1 mth"]),
    CASES,
)
def test_a_review_or_return_with_a_plural_abbreviated_unit_is_routine(visit, interval, case):
    """Class: a time frame in any notation. "RTN 2 YRS" is "Rtn 2 years", a bare return interval, routine
    (eval/README.md round 9)."""
    text = cased(f"RE: macula flat, no fluid, no drusen. Healthy macula. {visit} {interval}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["could represent", "might be", "may represent", "could be"]),
    st.sampled_from(["a double-layer sign of a", "the double-layer sign of a", "an early sign of a"]),
    st.sampled_from(["non-exudative MNV", "quiescent type 1 MNV"]),
    CASES,
)
def test_a_second_stage_offered_further_into_its_clause_opens_the_stage(hedge, words, stage, case):
    """Class: a stage left open (eval/README.md round 30). "Most likely intermediate AMD, though the band could
    represent a double-layer sign of a non-exudative MNV": the possibility opens the whole clause, however many
    words describe the sign before the second stage."""
    text = cased(f"Most likely intermediate AMD, though the band {hedge} {words} {stage}. No fluid.", case)
    assert labels(text)["stage"] is None, text


def test_a_dictated_heading_ends_the_hedged_clause():
    """Unpunctuated dictation: "could be a type one membrane impression active wet macular degeneration" states
    the impression, which the hedge before the heading does not reach."""
    text = (
        "the R P E is irregular with a flat irregular elevation which could be a type one membrane impression active "
        "wet macular degeneration I've referred him urgently"
    )
    assert labels(text)["stage"] == "late_wet_active"


@SETTINGS
@given(
    st.sampled_from(["Soft drusen >125 um", "drusen < 63 um x2", "PED 350 microns"]),
    st.sampled_from(["double layer sign absent", "SRF absent", "nil else"]),
    CASES,
)
def test_a_measured_finding_is_its_own_item(measured, denial, case):
    """Class: list and negation scope. A finding with its measurement is asserted; the next item's denial is its
    own ("Soft drusen >125 um, double layer sign absent")."""
    text = cased(f"OCT left. {measured}, {denial}, IRF absent.", case)
    bid = "ped" if "PED" in measured else "drusen"
    assert labels(text)["biomarkers"][bid] == "present", text


def test_a_count_of_zero_is_no_measurement():
    """ "No (SRF 0, IRF 0)": a zero counts none, so the denial still reaches both."""
    got = labels("Activity on OCT: No (SRF 0, IRF 0)")["biomarkers"]
    assert got["srf"] == "absent" and got["irf"] == "absent"
