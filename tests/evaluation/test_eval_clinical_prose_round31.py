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


@SETTINGS
@given(st.sampled_from(["Eylea 2 mg OD today.", "Aflibercept given today.", "Faricimab OS today."]), CASES)
def test_the_next_dose_with_no_stage_stated_stays_the_treatments_review(dose, case):
    """Only a stated inactive eye keeps its schedule by its next dose: treatment given today with the next at an
    interval and no stage stated is the treatment's own review, no referral (eval/README.md round 18)."""
    text = cased(f"{dose} Next injection in 8 weeks.", case)
    assert labels(text)["referral"] is None, text


def test_a_next_injection_without_an_interval_keeps_nothing():
    text = "Rt eye: nAMD under treatment, activity uncertain. Repeat OCT in 4 weeks before deciding on next injection."
    assert labels(text)["referral"] is None


@SETTINGS
@given(
    st.sampled_from(["disciform scar", "disciform scarring", "old disciform scar"]),
    st.sampled_from(["with no activity on OCT", ", no activity", ". No activity."]),
    CASES,
)
def test_no_activity_beside_a_scar_is_inactive_wet_amd(scar, activity, case):
    """Class: activity words. A disciform scar stated with its activity ("no activity") is inactive wet AMD (the
    lead's convention (j), eval/README.md); a scar with no activity word names no stage (test_eval_clinical_prose_round38)."""
    text = cased(f"Her left eye shows a {scar} {activity} VA CF. Discharged to her own optometrist.", case)
    text = text.replace(" ,", ",").replace(" .", ".")
    assert labels(text)["stage"] == "late_wet_inactive", text


@SETTINGS
@given(st.sampled_from(["inactive", "quiescent", "end-stage"]), CASES)
def test_a_scar_with_a_stage_word_stays_inactive_wet(word, case):
    text = cased(f"LE: {word} disciform scar, no fluid. Discharge.", case)
    assert labels(text)["stage"] == "late_wet_inactive", text


@SETTINGS
@given(
    st.sampled_from(
        ["Extend to 12/52.", "Extend to 14 weeks.", "Happy to extend her to 16 weeks.", "Extended to 10 wks."]
    ),
    st.sampled_from(["Faricimab #6. SRF resolved. IRF resolved.", "L eye looks good today - no new fluid. Dry."]),
    CASES,
)
def test_a_treat_and_extend_lengthening_states_inactive_wet_amd(extend, before, case):
    """Class: treatment-response words. A lengthening to an interval is made only for an eye judged inactive: it
    states inactive wet AMD (weak) and keeps the eye's review, routine."""
    got = labels(cased(f"{before} {extend}", case))
    assert (got["stage"], got["referral"]) == ("late_wet_inactive", "routine"), (before, extend)


def test_a_stated_stage_wins_over_the_lengthening():
    assert labels("Intermediate AMD, no fluid. Extend to 12 weeks.")["stage"] == "intermediate"


def test_a_lesion_that_extends_is_no_lengthening():
    assert labels("GA extended to the fovea. Review 6 months.")["stage"] == "late_dry"


@SETTINGS
@given(
    st.sampled_from(["switch her to", "switch him to", "switched her to", "switching him to"]),
    st.sampled_from(["faricimab", "aflibercept 8 mg", "Vabysmo"]),
    CASES,
)
def test_a_drug_switched_with_the_patient_named_states_active_wet_amd(switch, drug, case):
    """Class: treatment now for activity. "switch her to faricimab today" is "switch to faricimab": a drug switched
    for activity (eval/README.md round 18)."""
    text = cased(
        f"Today's OCT shows persistent subretinal fluid despite monthly injections. We will {switch} {drug} today.",
        case,
    )
    assert labels(text)["stage"] == "late_wet_active", text


@SETTINGS
@given(
    st.sampled_from(["worth watching for", "we will be watching for", "observe for", "keep an eye out for"]),
    st.sampled_from(["a quiescent MNV", "non-exudative MNV", "conversion to wet AMD"]),
    CASES,
)
def test_what_the_writer_watches_for_is_not_stated(watch, stage, case):
    """Class: vigilance words. What the writer will watch for is a possibility to be checked, like "watch for":
    the stated geographic atrophy stands."""
    text = cased(f"Impression: geographic atrophy. The double-layer sign is {watch} {stage}; OCTA requested.", case)
    text = text.replace("is we will", "means we will")
    assert labels(text)["stage"] == "late_dry", text


@SETTINGS
@given(
    st.sampled_from(
        [
            ("Clearly active.", "late_wet_active"),
            ("Definitely active.", "late_wet_active"),
            ("Disease was active.", "late_wet_active"),
            ("Clearly inactive.", "late_wet_inactive"),
            ("Disease was inactive.", "late_wet_inactive"),
        ]
    ),
    CASES,
)
def test_an_activity_verdict_with_an_intensifier_or_in_the_past_tense(verdict, case):
    """Class: activity words. A verdict sentence with an intensifier ("Clearly active.") or in an audit's past tense
    ("Disease was active.") is the activity verdict, as "Active." is."""
    sentence, stage = verdict
    text = cased(f"L eye: IRF present, SRF absent. {sentence}", case)
    assert labels(text)["stage"] == stage, text


@SETTINGS
@given(
    st.sampled_from([("2", "early"), ("3", "intermediate")]),
    st.sampled_from(["AREDS category", "AREDS grade", "AREDS level"]),
    st.booleans(),
    CASES,
)
def test_a_grading_scale_in_a_table_cell_is_the_scale(grade, scale, markdown, case):
    """Class: grading scales. A scale's value in the next table cell ("AREDS category | 3") completes its name, as
    "AREDS category: 3" does."""
    value, stage = grade
    rows = ["Parameter | Grade", "Drusen | Large (>125 µm)", "SRF | Absent", f"{scale} | {value}"]
    if markdown:
        rows = [f"| {row} |" for row in rows]
    text = cased("\n".join(rows), case)
    assert labels(text)["stage"] == stage, text


def test_an_extension_beside_new_fluid_stays_the_active_treatment():
    """The lengthening names the treated wet disease, read by the report's own fluid like "wet AMD"."""
    got = labels("RE: new SRF and IRF. Inject today, extend to q12w.")
    assert (got["stage"], got["referral"]) == ("late_wet_active", None)


@SETTINGS
@given(
    st.sampled_from(
        [
            "should return urgently via eye casualty",
            "should attend eye casualty the same day",
            "should seek review within 48 hours",
        ]
    ),
    st.sampled_from(
        [
            "if he notices new distortion",
            "if she develops new distortion",
            "should he notice any change",
            "if his vision worsens",
        ]
    ),
    CASES,
)
def test_a_return_conditional_on_symptoms_is_no_plan_for_today(advice, condition, case):
    """Class: safety-netting advice. A time frame made conditional on symptoms after it is a plan for then, as a
    sentence opened by "if" is: the community care the writer arranges stands (none)."""
    text = cased(
        f"OCT shows complete RPE and outer retinal atrophy involving the fovea, no SRF. No further hospital follow-up; "
        f"he will continue to see his optometrist and {advice} {condition}.",
        case,
    )
    assert labels(text)["referral"] == "none", text


def test_a_review_before_a_safety_net_in_its_own_item_stands():
    text = "Intermediate AMD. Please come back to see us in 6 months, or call right away if your vision changes."
    assert labels(text)["referral"] == "routine"


@SETTINGS
@given(
    st.sampled_from(
        [
            "No action needed from us today.",
            "No action required from us.",
            "Nothing needed from us.",
            "No action needed on our part.",
        ]
    ),
    CASES,
)
def test_what_the_writers_service_need_not_do_leaves_the_booked_review(nothing, case):
    """Class: who acts. What the writer's own service need not do beside the hospital's booked review is no plan of
    the eye's: the review stands, routine (round 15's booked-review case)."""
    text = cased(f"L eye: established scar, no new SRF or IRF. Under HES, next appt in 4 months. {nothing}", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        [
            ("OS", "Review in MR clinic with OD appointments."),
            ("OD", "Review in MR clinic with OS appointments."),
            ("L eye", "Continue routine follow-up in MR clinic alongside R eye visits."),
            ("OD", "Will be reviewed in clinic at OS injection visits."),
        ]
    ),
    CASES,
)
def test_this_eyes_review_at_the_fellow_eyes_visits_is_routine(eye_plan, case):
    """Convention (round 31): this eye reviewed at the fellow eye's hospital visits is routine, whatever eye notation
    names the visits."""
    eye, plan = eye_plan
    text = cased(f"Impression {eye}: geographic atrophy, no fluid. Plan {eye}: monitoring only. {plan}", case)
    assert labels(text)["referral"] == "routine", text


def test_the_fellow_eyes_care_by_the_optometrist_stays_none():
    text = (
        "OCT right eye: geographic atrophy. The left eye shows active CNV, for which treatment was started. "
        "Regarding the right eye, no further treatment options; follow-up via the optometrist."
    )
    assert labels(text)["referral"] == "none"


def test_further_appointments_denied_in_the_plural_are_none():
    text = "The scan of your left eye was normal. You do not need any further appointments with the eye clinic."
    assert labels(text)["referral"] == "none"


@SETTINGS
@given(
    st.sampled_from(["GA", "geographic atrophy"]),
    st.sampled_from(["larger than last year", "bigger than a year ago", "enlarged compared with last year"]),
    CASES,
)
def test_a_comparison_with_a_year_ago_is_todays_finding(ga, comparison, case):
    """Class: a comparison with an earlier time. The finding measured against last year is today's, as "than last
    visit" is: the past time is the comparison's, no history of the finding."""
    text = cased(f"LE: {ga}, lesion {comparison}. No fluid seen. Review 6 months.", case)
    assert labels(text)["biomarkers"].get("rpe_atrophy") == "present", text


@SETTINGS
@given(
    st.sampled_from(["SRF", "subretinal fluid"]),
    st.sampled_from(["reducing", "reduced", "decreasing", "improving", "smaller"]),
    st.sampled_from(["IRF gone", "IRF resolved", "no IRF"]),
    CASES,
)
def test_a_finding_with_its_course_is_not_reached_by_the_next_items_denial(srf, course, irf, case):
    """Class: list scope. One finding with its course right after it ("SRF reducing, IRF gone") is a statement of
    its own: the next item's denial does not reach back into it."""
    got = labels(cased(f"R) eye - inj #3 of loading. OCT: {srf} {course}, {irf}. Next 4/52.", case))["biomarkers"]
    assert (got["srf"], got["irf"]) == ("present", "absent"), (srf, course, irf)


def test_a_dated_history_line_keeps_its_resolution():
    """The earlier visit's line stays history ("11/03: SRF reduced, IRF resolved"): today's denial decides."""
    text = (
        "14/01: SRF subfoveal, IRF +. Aflibercept x3.\n11/03: SRF reduced, IRF resolved.\nTODAY 06/05: No SRF, no IRF."
    )
    assert labels(text)["biomarkers"]["srf"] == "absent"


@SETTINGS
@given(
    st.sampled_from(
        [
            ("RPE: mottled", "present"),
            ("RPE - mottling", "present"),
            ("RPE - unremarkable", "absent"),
            ("RPE: unremarkable", "absent"),
            ("Pigment: no abnormality", "absent"),
            ("Pigment: abnormality present", "present"),
        ]
    ),
    CASES,
)
def test_a_form_field_of_the_rpe_or_pigment_states_rpe_irregularity(field, case):
    """Class: RPE field values. A form's RPE or pigment field with its value ("RPE: mottled", "RPE - unremarkable",
    "Pigment: no abnormality") states RPE irregularity or denies it, as "RPE: regular" does."""
    line, state = field
    text = cased(f"Findings, left eye:\nDrusen - small only\n{line}\nFluid - none", case)
    assert labels(text)["biomarkers"].get("rpe_irregularity") == state, text


@SETTINGS
@given(
    st.sampled_from(
        ["Large drusen beneath the RPE, otherwise unremarkable.", "Drusen under the RPE; otherwise unremarkable."]
    ),
    CASES,
)
def test_otherwise_unremarkable_near_the_rpe_denies_no_irregularity(text, case):
    """Only the RPE field's own "unremarkable" denies RPE irregularity, not the scan's "otherwise unremarkable"."""
    assert "rpe_irregularity" not in labels(cased(text, case))["biomarkers"], text


@SETTINGS
@given(
    st.sampled_from(
        [
            "more likely a vitelliform-type deposit over a druse",
            "more likely a deposit",
            "more likely a shadow artefact",
        ]
    ),
    st.sampled_from(["true subretinal fluid", "genuine SRF", "real subretinal fluid"]),
    CASES,
)
def test_a_finding_ranked_below_a_likelier_reading_is_uncertain(likelier, finding, case):
    """Class: hedges. "more likely X than true SRF": the finding set below a likelier reading is hedged
    (eval/README.md: "more likely ... than")."""
    text = cased(f"Right eye OCT: small hyporeflective pocket under the fovea, {likelier} than {finding}.", case)
    assert labels(text)["biomarkers"]["srf"] == "uncertain", text


@SETTINGS
@given(
    st.sampled_from(["possible", "probable", "likely", "suspected"]),
    st.sampled_from(
        [
            ("subretinal fluid", "intraretinal fluid", "srf", "irf"),
            ("SRF", "IRF", "srf", "irf"),
            ("IRF", "SHRM", "irf", "shrm"),
        ]
    ),
    CASES,
)
def test_a_hedge_before_the_second_finding_is_that_findings(hedge, pair, case):
    """Class: hedges. "SRF and possible IRF": a hedge word in front of a finding is that finding's, not a trailing
    hedge of the one before ("SHRM possible" still hedges the SHRM)."""
    first, second, a, b = pair
    got = labels(cased(f"OCT OS shows a PED with overlying {first} and {hedge} {second}.", case))["biomarkers"]
    assert (got[a], got[b]) == ("present", "uncertain"), (first, hedge, second)


def test_a_trailing_hedge_still_hedges_the_finding_before():
    assert labels("OCT: large drusen. SHRM possible.")["biomarkers"]["shrm"] == "uncertain"


@SETTINGS
@given(
    st.sampled_from(["scar", "fibrotic scar", "disciform scar"]),
    st.sampled_from(["previously treated", "treated"]),
    CASES,
)
def test_a_scar_from_treated_disease_is_todays(scar, treated, case):
    """Class: history. A lesion's origin in a treated disease ("established scar from previously treated wet AMD")
    is today's lesion; the treatment is its history."""
    text = cased(f"L eye: established {scar} from {treated} wet AMD; no new SRF or IRF.", case)
    assert labels(text)["biomarkers"].get("fibrosis") == "present", text


@SETTINGS
@given(
    st.sampled_from([("R eye", "L eye"), ("Right eye", "Left eye")]),
    st.sampled_from(["not assessed today", "not imaged today", "not scanned"]),
    CASES,
)
def test_an_eye_whose_status_clause_says_it_was_not_seen_is_the_fellow_eye(eyes, status, case):
    """Class: eye scope. A clause after a dash that names no eye and states the eye's status ("R eye: wet AMD under
    treatment - not assessed today") is the named eye's: the other eye is the report's."""
    fellow, this = eyes
    text = cased(
        f"{fellow}: known wet AMD under treatment at hospital (injections) - {status}.\n"
        f"{this}: small drusen only, stable. Early AMD. Recall 12 months.",
        case,
    )
    got = labels(text)
    assert (got["stage"], got["referral"], got["biomarkers"].get("drusen")) == ("early", "none", "present"), text


def test_a_fellow_eye_named_after_a_dash_is_still_the_fellow_eye():
    got = labels("OS new SRF - the fellow eye has GA. Urgent referral.")
    assert got["biomarkers"].get("srf") == "present" and "rpe_atrophy" not in got["biomarkers"]


@SETTINGS
@given(
    st.sampled_from(["no subretinal or intraretinal fluid", "no SRF or IRF", "no fluid"]),
    st.sampled_from(
        [
            ("a stable fibrotic scar", "fibrosis"),
            ("a small drusenoid PED", "ped"),
            ("an area of subretinal fibrosis", "fibrosis"),
        ]
    ),
    CASES,
)
def test_and_with_an_indefinite_article_ends_a_denial(denied, finding, case):
    """Class: negation scope. "and a" opens a finding of its own ("no subretinal or intraretinal fluid and a stable
    fibrotic scar"): the denial before it does not reach it, as "and the" does not."""
    words, bid = finding
    text = cased(f"Today's OCT of the right eye shows {denied} and {words}.", case)
    got = labels(text)["biomarkers"]
    assert got[bid] == "present" and got["srf"] == "absent", text


def test_a_hedge_still_reaches_past_and_a():
    text = "There may be subtle irregularity of the RPE and a few small hyperreflective foci, but no clear drusen."
    assert labels(text)["biomarkers"]["hyperreflective_foci"] == "uncertain"
