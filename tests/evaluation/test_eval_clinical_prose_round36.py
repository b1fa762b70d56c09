"""Rules from the thirty-seventh writer's set (round 36: styles_dev37.jsonl) and the lead's seven conventions settled in
round 36 (eval/README.md), as properties: a referral to a named service with no level, a treating form's activity
field, a model's bare score giving way to its state, a test to rule out a second stage, "No AMD" beside a condition or
qualified beside findings, a plan for both eyes after the other eye's words, a denied diabetic condition, a screening
programme named between, a booked visit by its month, the next dose after today's and the same interval again, an eye
named in two words before its verdict, the stage left open in words, "never present", a bare "Intermediate." verdict,
a model's JSON zero, and vocabulary."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)


# -- the lead's conventions (eval/README.md, round 36) ---------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(
        [
            "Refer to base hospital OPD for detailed evaluation.",
            "Referral to ophthalmology.",
            "Refer to ophthalmology.",
            "Refer to HES.",
            "Refer to the hospital eye service.",
            "Referral to the eye department.",
            "Refer to medical retina.",
        ]
    ),
    CASES,
)
def test_a_referral_to_a_named_service_with_no_level_is_routine(plan, case):
    """Convention (a): a referral to a named hospital service with no level or time frame is routine."""
    text = cased(f"Tele-ophthalmology screening - LE OCT: ?drusen at fovea, image quality poor. {plan}", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["REFER.", "Refer for clinical review."]), CASES)
def test_a_referral_naming_no_service_stays_undecided(plan, case):
    """Negative (a): a referral naming no service stays undecided."""
    text = cased(f"LE OCT: ?drusen at fovea, image quality poor. {plan}", case)
    assert labels(text)["referral"] is None, text


def test_a_named_service_with_a_time_frame_or_denied_keeps_its_reading():
    """Negative (a): the level or time frame stated wins, and a denied referral is none."""
    assert labels("OD: subfoveal SRF w/ small PED, no IRF. nAMD, active. Refer to retina stat.")["referral"] == "urgent"
    assert labels("LE: medium drusen, no fluid. Refer to HES urgently.")["referral"] == "urgent"
    assert labels("LE: medium drusen, no fluid. No need to refer to HES.")["referral"] == "none"


@SETTINGS
@given(
    st.sampled_from(
        [
            ("Activity: none (dry)", "late_wet_inactive"),
            ("Activity: none", "late_wet_inactive"),
            ("Activity: nil", "late_wet_inactive"),
            ("Disease activity: absent", "late_wet_inactive"),
            ("Activity: inactive", "late_wet_inactive"),
            ("Activity: active", "late_wet_active"),
            ("Disease activity: present", "late_wet_active"),
        ]
    ),
    CASES,
)
def test_a_treating_forms_activity_field_states_the_activity(field, case):
    """Convention (b): on a treating form, an activity field that says none or inactive is inactive wet AMD, one that
    says active (or present) active wet AMD."""
    value, stage = field
    text = cased(f"Injection clinic, visit 14, R eye. {value}.", case)
    assert labels(text)["stage"] == stage, text


def test_none_under_another_conclusion_heading_states_no_stage():
    """Negative (b): the activity values are read only under an activity field ("Diagnosis: none" is no stage)."""
    assert labels("OCT R: small drusen.\nDiagnosis: none.")["stage"] is None
    assert labels("OCT R: small drusen.\nGrade: none.")["stage"] is None


@SETTINGS
@given(st.sampled_from([("irf", "false", "absent"), ("srf", "true", "present"), ("ped", "false", "absent")]))
def test_a_models_bare_score_gives_way_to_its_state(item):
    """Convention (c): a model's bare score for a finding gives way to the boolean the same output writes for it."""
    bid, value, state = item
    text = (
        '{"laterality": "OS", "scores": {"SRF": 0.62, "IRF": 0.08, "PED": 0.91}, '
        + f'"{bid}_present": {value}, "amd_stage": "late_wet_active"}}'
    )
    assert labels(text)["biomarkers"][bid] == state, text


def test_a_bare_score_alone_keeps_todays_reading():
    """Negative (c): with no state beside it, a bare score reads as it did (the finding named)."""
    text = '{"eye": "OD", "scores": {"SRF": 0.62, "IRF": 0.08}, "amd_stage": "late_wet_active"}'
    assert labels(text)["biomarkers"] == {"srf": "present", "irf": "present"}


@SETTINGS
@given(
    st.sampled_from(
        [
            "Will obtain OCTA at next visit to r/o non-exudative MNV.",
            "Obtain OCTA to r/o nonexudative MNV.",
            "The double layer sign needs OCT-A to exclude a non-exudative membrane.",
            "OCTA to rule out non-exudative MNV.",
        ]
    ),
    CASES,
)
def test_a_test_to_rule_out_a_second_stage_leaves_the_stage_open(plan, case):
    """Convention (d): a test to rule out a second stage leaves the stated stage open, as "OCTA to exclude" does."""
    text = cased(f"OS: intermediate AMD with large soft drusen and a DLS temporally, no SRF. {plan} F/u 4 mo.", case)
    assert labels(text)["stage"] is None, text


def test_a_visit_to_exclude_conversion_keeps_the_stage():
    """Negative (d): a referral made to exclude conversion is a visit, not a test; the stated stage stands."""
    text = "Large drusen. ?SRF at the foveal centre, small. No IRF. Intermediate AMD, but refer within 1-2 weeks to exclude conversion."
    assert labels(text)["stage"] == "intermediate"


@SETTINGS
@given(
    st.sampled_from(
        [
            "R: M1 - macular oedema (centre-involving DMO). No AMD features.",
            "Centre-involving diabetic macular oedema. No AMD.",
            "OCT: clinically significant macular oedema. No signs of AMD.",
        ]
    ),
    CASES,
)
def test_no_amd_beside_another_stated_condition_states_no_stage(finding, case):
    """Convention (e): "No AMD" beside another stated condition does not call the eye healthy: no stage."""
    text = cased(f"OCT grading - diabetic & macular screening\n{finding}\nOutcome: refer to HES diabetic clinic.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(st.sampled_from(["NO AMD OF NOTE.", "No AMD of significance.", "No AMD of concern."]), CASES)
def test_no_amd_qualified_beside_amd_findings_states_no_stage(verdict, case):
    """Convention (e): "no AMD of note" beside AMD findings the report reads states no stage."""
    text = cased(f"OS: DRUSEN SMALL, NO SRF/IRF/PED. {verdict} NO REFERRAL.", case)
    assert labels(text)["stage"] is None, text


def test_no_amd_stays_healthy_without_a_condition_or_finding():
    """Negatives (e): "No AMD of note" with nothing found, "No DMO. No AMD." (the condition denied) and a classifier's
    class list with its scores ("DME (p=0.02)") stay as they read."""
    assert labels("OS: no drusen, no fluid. No AMD of note.")["stage"] == "healthy"
    assert labels("Diabetic screening, R: No DMO. No AMD.")["stage"] == "healthy"
    assert labels("OD: normal foveal contour, no drusen. No AMD.")["stage"] == "healthy"
    text = "Predicted class: DRUSEN (p=0.81); CNV (p=0.12); NORMAL (p=0.05); DME (p=0.02)."
    assert labels(text)["stage"] == "healthy"


@SETTINGS
@given(
    st.sampled_from(
        [
            "we will look at both at her next visit in March",
            "we will look at both eyes at her next visit in March",
            "we will see both at the next visit",
        ]
    ),
    CASES,
)
def test_no_further_action_beside_a_visit_for_both_eyes_is_routine(plan, case):
    """Convention (f): "No further action" for this eye beside the hospital's own visit that includes it is routine,
    also when the sentence names the other eye first ("she remains under our care for the right eye and ...")."""
    text = cased(
        "Mrs Keane was seen today for her left eye. The OCT shows some small drusen but no fluid. "
        f"No further action is required for the left eye; she remains under our care for the right eye and {plan}.",
        case,
    )
    assert labels(text)["referral"] == "routine", text


def test_both_findings_in_the_other_eyes_clause_stay_the_other_eyes():
    """Negative (f): "both" before findings ("both SRF and IRF") is no plan for both eyes."""
    text = "LE: small drusen, no fluid. RE has both SRF and IRF - treated elsewhere."
    got = labels(text)["biomarkers"]
    assert got.get("srf") == "absent" and got.get("irf") == "absent", got


@SETTINGS
@given(st.sampled_from(["DME: no", "No DMO.", "no DMO", "DMO: absent", "No DME."]), CASES)
def test_a_denied_diabetic_condition_says_nothing_about_irf(field, case):
    """Convention (g): a denied condition denies the condition only; intraretinal fluid is not read."""
    text = cased(f"Diabetic and AMD screening - RE\nDrusen: small\n{field}\nGrade: early AMD", case)
    assert "irf" not in labels(text)["biomarkers"], text


def test_cysts_and_a_named_dmo_keep_their_fluid():
    """Negative (g): the fluid's own words are still read, denied or present, beside the condition."""
    assert labels("R: no DMO, no cysts. Few small drusen.")["biomarkers"]["irf"] == "absent"
    assert labels("Diabetic macular oedema with intraretinal cysts, no SRF.")["biomarkers"]["irf"] == "present"


# -- the thirty-seventh writer's classes ------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(
        [
            "Kindly continue annual diabetic retinal screening at the polyclinic.",
            "Continue annual diabetic eye screening.",
            "Back to yearly diabetic screening.",
        ]
    ),
    CASES,
)
def test_a_screening_programme_named_between_is_none(plan, case):
    """Class: a screening programme's round (eval/README.md round 34), with the programme named between."""
    text = cased(f"OCT both eyes done. RE macula normal. No AMD. {plan}", case)
    assert labels(text)["referral"] == "none", text


def test_an_annual_review_in_a_diabetic_clinic_stays_routine():
    """Negative: a hospital clinic's review is no screening round."""
    assert labels("LE: small drusen. Annual review in diabetic eye clinic.")["referral"] == "routine"


@SETTINGS
@given(st.sampled_from(["Feb", "March", "Nov", "september"]), CASES)
def test_a_booked_visit_by_its_month_is_routine(month, case):
    """Class: a booked visit (rounds 15, 16 and 35), by its month alone in shorthand, beside a referral declined."""
    text = cased(
        "OCT RE shows extensive soft drusen; no fluid. Intermediate AMD. No need for HES referral - patient already "
        f"under MR clinic, next appt {month}.",
        case,
    )
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "RE: quiescent nAMD, SRF gone since last visit. Eylea given, next 12 wks.",
            "RE: inactive nAMD. Aflibercept given, next 10 weeks.",
            "L eye inactive, 12/52 again.",
            "LE inactive, 10 weeks again.",
        ]
    ),
    CASES,
)
def test_the_next_dose_for_an_inactive_eye_is_its_kept_schedule(note, case):
    """Class: a kept schedule (round 31's convention): the next dose right after today's with its interval alone, or the
    same interval again, for an eye stated inactive, is routine; "L eye inactive" is the eye's verdict."""
    text = cased(note, case)
    got = labels(text)
    assert (got["stage"], got["referral"]) == ("late_wet_inactive", "routine"), text


def test_the_same_interval_again_for_an_active_eye_is_the_treatment():
    """Negative: for an active eye the plan stays the treatment itself, no referral."""
    got = labels("RE: SRF present, active. Inject, 8/52 again.")
    assert (got["stage"], got["referral"]) == ("late_wet_active", None)


@SETTINGS
@given(
    st.sampled_from(
        [
            "We think it is intermediate AMD but non-exudative MNV is not denied.",
            "I think this is most consistent with intermediate AMD, though early AMD would not be unreasonable.",
            "There is a subfoveal lesion. I am not certain this is neovascular AMD.",
        ]
    ),
    CASES,
)
def test_a_stage_left_open_in_words_is_no_stage(assessment, case):
    """Class: a stage left open in words (eval/README.md: two stages set against each other, or the writer not
    certain): a second-language "is not denied" is "cannot be excluded", a second stage "not unreasonable" sets the
    stages against each other, and "not certain this is" declines the call."""
    text = cased(f"Left eye OCT: drusen are many and big size, double layer sign. {assessment}", case)
    assert labels(text)["stage"] is None, text


def test_cannot_be_denied_affirms():
    """Negative: "cannot be denied" affirms the finding."""
    text = "OCT OD: the presence of subretinal fluid cannot be denied - thin band under the fovea."
    assert labels(text)["biomarkers"]["srf"] == "present"


@SETTINGS
@given(st.sampled_from(["IRF never present", "IRF never seen", "intraretinal fluid never detected"]), CASES)
def test_never_present_is_absent(phrase, case):
    """Class: negation after the finding: "never present" rules it out."""
    text = cased(f"RE: previously treated for SRF, now resolved; {phrase}. Fibrosis unchanged. Quiescent >1 yr.", case)
    assert labels(text)["biomarkers"]["irf"] == "absent", text


@SETTINGS
@given(CASES)
def test_a_bare_intermediate_sentence_is_the_stage(case):
    """Class: a bare stage verdict: a sentence that is only "Intermediate." states intermediate AMD."""
    text = cased("RE: drsuen ++, no SRF, HRF +. Intermediate. VC 6m.", case)
    assert labels(text)["stage"] == "intermediate", text


def test_intermediate_inside_a_longer_sentence_is_no_verdict():
    """Negative: the word inside a sentence about something else names no stage."""
    assert labels("RE: drusen of intermediate size, no fluid.")["stage"] is None


@SETTINGS
@given(st.sampled_from(["srf", "irf"]))
def test_a_models_json_zero_is_none_found(bid):
    """Class: a model's output: a finding's integer zero in JSON ('"fluid": {"srf": 0, "irf": 0}') is absent."""
    text = '{"eye": "OS", "diagnosis": "neovascular AMD", "activity": "inactive", "fluid": {"srf": 0, "irf": 0}}'
    assert labels(text)["biomarkers"][bid] == "absent", text


def test_a_models_json_one_and_score_keep_their_reading():
    """Negative: a one and a score stay as they read."""
    assert labels('{"eye": "OD", "drusen": 1, "srf": 0}')["biomarkers"] == {"drusen": "present", "srf": "absent"}


@SETTINGS
@given(
    st.sampled_from(
        [
            ("There are few hyperreflective points in the outer retina.", "hyperreflective_foci"),
            ("Some hyper-reflective points over the drusen.", "hyperreflective_foci"),
            ("Consistent with an old scarred membrane.", "fibrosis"),
            ("A scarred lesion under the fovea.", "fibrosis"),
        ]
    ),
    CASES,
)
def test_vocabulary(item, case):
    """Vocabulary (curricula/knowledge/): "hyperreflective points" are hyperreflective foci, a "scarred membrane" is
    fibrosis."""
    sentence, bid = item
    text = cased(f"OCT right eye: {sentence} No subretinal fluid.", case)
    assert labels(text)["biomarkers"].get(bid) == "present", text


@SETTINGS
@given(st.sampled_from(["exam inside normality", "within normality"]), CASES)
def test_inside_normality_is_healthy(phrase, case):
    """Vocabulary: a second-language "inside normality" ("dentro de la normalidad") is the healthy stage."""
    text = cased(f"Exam OCT right eye: retina with normal profile, without drusens. Conclusion: {phrase}.", case)
    assert labels(text)["stage"] == "healthy", text
