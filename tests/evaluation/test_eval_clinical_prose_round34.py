"""Rules from the thirty-third writer's general set (round 34: styles_dev33.jsonl), as properties: the follow-up handed
to the letter's reader, no treatment to offer beside a discharge, this eye seen at the other eye's visit, the
intravitreal dose by its abbreviation, a finding's field the scan cannot answer, an automated reader's suggested stage
as a field, a grading scheme's code with its stage in brackets, a finding's nested answer object in a model's JSON, and
vocabulary (intraretinal fluid dictated as "inter retinal", drusen in a patient's words, "initial AMD", "no sign of
AMD")."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)


# -- referral ---------------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(
        [
            "He can continue the follow-up with you.",
            "He can follow up with you annually.",
            "She can continue follow-up with you every year.",
            "Please continue f/u with you yearly.",
        ]
    ),
    st.sampled_from(["It is a disciform lesion, inactive.", "He does not need to return to our office;", ""]),
    CASES,
)
def test_the_follow_up_handed_to_the_reader_is_none(plan, before, case):
    """Class: dispositions back to the community. A letter handing the follow-up to its reader, the referring
    optometrist or doctor ("he can follow up with you annually"), is "return to your care": none."""
    text = cased(
        f"Dear Dr. Souza, the right eye OCT shows a fibrotic scar subfoveal, without signs of exudative activity. {before} "
        f"{plan}",
        case,
    )
    assert labels(text)["referral"] == "none", text


def test_the_follow_up_with_us_stays_the_writers_clinic():
    """The rule must not read the writer's own clinic as the reader's: "with us" is no hand-back."""
    text = "OCT of the right eye shows geographic atrophy. Follow-up with you is not needed; review in our clinic in 6 months."
    assert (
        labels("OCT of the right eye shows geographic atrophy. Review in our clinic in 6 months.")["referral"]
        == "routine"
    )
    assert labels(text)["referral"] != "urgent"


@SETTINGS
@given(
    st.sampled_from(["Nothing to offer", "Nothing further to offer", "nothing more to offer"]),
    st.sampled_from(
        ["discharge back to community optometrist", "discharge to community optometrist", "back to community"]
    ),
    CASES,
)
def test_nothing_to_offer_denies_the_treatment_not_the_discharge(decision, discharge, case):
    """Class: a treatment decision in other words. "Nothing to offer" denies a treatment, as "no benefit from further
    treatment" does; the discharge after it stands (none)."""
    text = cased(f"LE - old disciform scar, dry. No SRF no IRF. Cicatricial AMD. {decision}, {discharge}.", case)
    assert labels(text)["referral"] == "none", text


def test_nothing_to_offer_keeps_a_review_after_it():
    """Negative: the phrase is no discharge itself, so a review after it stays routine."""
    assert labels("GA. Nothing to offer, review 6/12.")["referral"] == "routine"


@SETTINGS
@given(
    st.sampled_from(
        [
            "RE will be seen at same visit",
            "the right eye will be reviewed at the same visit",
            "we will look at both at her next visit",
            "we will review both eyes at her next visit",
        ]
    ),
    CASES,
)
def test_this_eye_seen_at_the_other_eyes_visit_is_routine(plan, case):
    """Class: whose visits (the lead's convention (b), eval/README.md round 31). This eye seen at the hospital visit
    the other eye has is routine."""
    text = cased(
        "RE OCT shows healthy fovea, no drusen, no SRF. LE had treated CNVM with scar. Continue follow up in our "
        f"retina clinic 6 monthly for LE; {plan}.",
        case,
    )
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["FOR IVT TODAY", "IVT today", "IVT given", "IVI today", "IVOM given", "ivt performed"]),
    st.sampled_from(["RV 4/52", "RTC 4 weeks", "Review 4/52"]),
    CASES,
)
def test_the_intravitreal_dose_by_its_abbreviation_is_treatment_now(dose, review, case):
    """Class: treatment-clinic shorthand. The dose by its abbreviation with its verb ("FOR IVT TODAY") is treatment
    now, as "inj today": active wet AMD when no stage is named, and its review is the treatment's own, no referral
    (eval/README.md rounds 7 and 18)."""
    text = cased(f"LE: SRF+, IRF-. {dose}. {review}.", case)
    got = labels(text)
    assert got["stage"] == "late_wet_active", text
    assert got["referral"] is None, text


def test_the_abbreviation_without_its_verb_is_no_dose():
    """Negative: a bare "IVT" names no treatment now, so a review after it stays routine."""
    assert labels("LE: drusen, no fluid. Discussed IVT. Review 4/12.")["referral"] == "routine"


# -- stage --------------------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(["Fluid", "SRF", "Drusen", "PED"]),
    st.sampled_from(["cannot be determined", "could not be determined"]),
    st.sampled_from([("early AMD", "early"), ("intermediate AMD", "intermediate")]),
    CASES,
)
def test_a_findings_field_the_scan_cannot_answer_leaves_the_stage(finding, doubt, stage, case):
    """Class: a field the scan cannot answer. "Fluid: cannot be determined (motion artefact)" is that finding's doubt,
    not the stage left open (engine `_finding_field`), so the grade after it stands."""
    text = cased(f"Eye: OS | Image quality: fair\n{finding}: {doubt} (motion artefact)\nGrade: {stage[0]}.", case)
    assert labels(text)["stage"] == stage[1], text


def test_the_stage_that_cannot_be_determined_stays_open():
    """Negative: the same words about the stage or the disease's type still leave it open."""
    assert labels("Late AMD, type cannot be determined. SRF present.")["stage"] is None
    assert labels("Stage: cannot be determined. Drusen.")["stage"] is None


@SETTINGS
@given(
    st.sampled_from(["SRF, IRF, PED, GA", "GA", "SRF"]),
    st.sampled_from(["Suggested stage", "Suggested grade", "Suggested AMD stage"]),
    st.sampled_from([("early AMD", "early"), ("intermediate AMD", "intermediate")]),
    CASES,
)
def test_a_suggested_stage_field_ends_the_absent_list_above_it(denied, field, stage, case):
    """Class: conclusion fields. An automated reader's "Suggested stage:" is the stage it reports (eval/README.md round
    31) and a heading, so a "Not detected:" list on the line above ends there instead of denying the stage."""
    text = cased(
        f"Automated OCT analysis - Right eye\nDetected: drusen (medium). Not detected: {denied}.\n{field}: {stage[0]}.",
        case,
    )
    assert labels(text)["stage"] == stage[1], text


@SETTINGS
@given(
    st.sampled_from(["AMD SCREEN GRADE", "Grade", "AMD grade", "Screening grade"]),
    st.sampled_from(["R2", "E", "G3", "r1"]),
    st.sampled_from([("early", "early"), ("INTERMEDIATE", "intermediate")]),
    CASES,
)
def test_a_grading_codes_stage_in_brackets_is_the_fields_value(field, code, stage, case):
    """Class: conclusion fields. A grading scheme's code with its stage in brackets ("AMD SCREEN GRADE: R2
    (INTERMEDIATE)") is the field's value, the bracketed stage (engine, `_heading_value_mentions`)."""
    text = cased(f"{field}: {code} ({stage[0]}). Drusen OD. No SRF.", case)
    assert labels(text)["stage"] == stage[1], text


def test_a_grading_code_with_another_word_in_brackets_names_no_stage():
    """Negative: a code whose bracket names no stage ("R2 (pre-proliferative)", a retinopathy grade) states none, and a
    bracket after the value still comments on it."""
    assert labels("Grade: R2 (pre-proliferative). Drusen.")["stage"] is None
    assert labels("Grade: M1 (maculopathy). Drusen.")["stage"] is None
    assert labels("Activity: inactive (dry since last visit). Scar.")["stage"] == "late_wet_inactive"


@SETTINGS
@given(st.sampled_from(["initial AMD", "initial age-related macular degeneration"]), CASES)
def test_initial_amd_is_early(term, case):
    """Vocabulary (knowledge base): "initial AMD", a second-language writer's early AMD (DMAE inicial)."""
    text = cased(f"Left eye: no subretinal fluid. Small drusen in the macula. Diagnostic: {term}.", case)
    assert labels(text)["stage"] == "early", text


@SETTINGS
@given(st.sampled_from(["No sign of ARMD", "No sign of AMD", "no sign of macular degeneration"]), CASES)
def test_no_sign_of_amd_is_healthy(term, case):
    """Vocabulary (knowledge base): the singular "no sign of AMD", as "no signs of AMD"."""
    text = cased(f"RE OCT shows normal foveal dip, no drusen, no SRF. {term}.", case)
    assert labels(text)["stage"] == "healthy", text


def test_a_sign_of_amd_is_no_healthy_eye():
    """Negative: "sign of AMD" affirmed names no healthy eye."""
    assert labels("RE OCT: small drusen, an early sign of AMD.")["stage"] == "early"


# -- biomarkers ---------------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(["shrm", "srf", "ped"]),
    st.sampled_from([("false", "absent"), ("true", "present")]),
    st.sampled_from(["detected", "present"]),
    st.sampled_from(["as written", "lower"]),
)
def test_a_findings_nested_answer_object_answers_it(bid, answer, key, case):
    """Class: a model's output. A finding's nested object ('"shrm": {"detected": false}') answers the finding as
    '"shrm": false' does (normalize.py). JSON's literals are lower case, so no upper-case form is drawn."""
    text = f'{{"eye":"right","biomarkers":{{"irf":{{"{key}":true,"volume_nl":18}},"{bid}":{{"{key}":{answer[0]}}}}}}}'
    got = labels(cased(text, case))
    assert got["biomarkers"].get(bid) == answer[1], text
    assert got["biomarkers"].get("irf") == "present", text


def test_a_nested_object_without_an_answer_key_is_unchanged():
    """Negative: a nested object with no detection key ('{"volume_nl": 0}') is left to the other readers."""
    got = labels('{"biomarkers":{"srf":{"volume_nl":42,"confidence":"high"}}}')
    assert got["biomarkers"].get("srf") != "absent"


@SETTINGS
@given(
    st.sampled_from(["inter retinal fluid", "interretinal fluid", "inter-retinal fluid"]),
    st.sampled_from(["a small amount of", "some", "no"]),
    CASES,
)
def test_intraretinal_fluid_dictated_as_inter_retinal(term, amount, case):
    """Vocabulary (knowledge base): "inter retinal fluid", the dictated or misspelt intraretinal fluid."""
    text = cased(f"Left eye OCT shows a sub retinal fluid pocket with {amount} {term}.", case)
    assert labels(text)["biomarkers"].get("irf") == ("absent" if amount == "no" else "present"), text


@SETTINGS
@given(
    st.sampled_from(["deposits under the retina", "deposits beneath the retina", "yellow deposits under the retina"]),
    st.sampled_from(["a few small", "some", "larger"]),
    CASES,
)
def test_deposits_under_the_retina_are_drusen(term, amount, case):
    """Vocabulary (knowledge base): a patient letter's "deposits under the retina" for drusen, as six letters of four
    writers explain them ("small yellow deposits under the retina called drusen")."""
    text = cased(f"Your recent eye scan showed early signs of AMD in your left eye: {amount} {term}.", case)
    assert labels(text)["biomarkers"].get("drusen") == "present", text


def test_deposits_denied_are_no_drusen():
    """Negative: the same words denied rule drusen out; they are not read as present."""
    assert labels("Your scan shows no deposits under the retina.")["biomarkers"].get("drusen") == "absent"
