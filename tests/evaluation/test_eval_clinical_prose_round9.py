"""Rules for real clinical prose from the ninth dev set (issue 18, round 9: styles_dev9.jsonl), as properties:
dictation, lists under one negation, structured model output, the eye the writer scanned, answers and asides,
undecided stages and plain referral words."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, NAMES, cased, labels, named, stage_term

SETTINGS = settings(max_examples=40, deadline=None)


def distinct_names(min_size: int, max_size: int):
    return st.lists(named(NAMES), min_size=min_size, max_size=max_size, unique_by=lambda item: item[0])


# -- dictation ----------------------------------------------------------------------------------------------------


@SETTINGS
@given(named(NAMES), stage_term())
def test_dictated_period_and_colon_are_marks(name, stage):
    """ "no sub retinal fluid period the RPE is regular period": "period" ends the sentence, so the denial does not
    reach the next one."""
    bid, term = name
    sid, stage_words = stage
    found = labels(f"oct left eye colon no {term} period the RPE is regular period impression {stage_words} period")
    assert found["biomarkers"][bid] == "absent"
    assert found["biomarkers"]["rpe_irregularity"] == "absent"
    assert found["stage"] == sid


@SETTINGS
@given(named(NAMES), st.sampled_from(["a period of", "the follow-up period", "this period", "over a 6 month period"]))
def test_period_after_a_determiner_is_the_word(name, phrase):
    """ "no SRF over a period of six months": the noun is no full stop, so the negation still reaches."""
    bid, term = name
    text = f"{phrase.capitalize()} with no {term} seen."
    assert labels(text)["biomarkers"][bid] == "absent"


@SETTINGS
@given(st.sampled_from(["within to weeks", "within too weeks", "in to weeks"]))
def test_a_number_dictated_as_a_word_before_weeks(phrase):
    """ "to be seen in the injection clinic within to weeks": the recogniser's "to" is two."""
    assert labels(f"New SRF, active wet AMD. To be seen {phrase} period")["referral"] == "urgent"
    assert labels("Large drusen. I spoke to her about weeks of waiting.")["referral"] is None


@SETTINGS
@given(st.sampled_from(["R.P.E.", "r.p.e."]))
def test_an_abbreviation_spelled_with_full_stops(rpe):
    assert labels(f"there is a shallow irregular {rpe} elevation")["biomarkers"] == {"rpe_irregularity": "present"}


# -- lists under one negation -------------------------------------------------------------------------------------


@SETTINGS
@given(distinct_names(3, 6), st.sampled_from(["is seen in the left eye", "are present on this scan", "is identified"]))
def test_a_negated_disjunction_reaches_its_last_members_whatever_follows(names, tail):
    """ "No SRF, IRF, SHRM, PED, double-layer sign or HRF is seen in the left eye": the words after the list speak
    of the whole list, not of its last member."""
    terms = [term for _, term in names]
    text = "No " + ", ".join(terms[:-1]) + f" or {terms[-1]} {tail}."
    found = labels(text)["biomarkers"]
    assert all(found[bid] == "absent" for bid, _ in names), (text, found)


@SETTINGS
@given(named(NAMES), st.sampled_from(["haemorrhage", "exudate", "blood"]), CASES)
def test_a_negated_disjunction_reaches_past_an_unknown_member(name, other, case):
    """ "no subretinal fluid, haemorrhage or SHRM to suggest a neovascular complication"."""
    bid, term = name
    text = cased(f"Geographic atrophy, but no drusen, {other} or {term} to suggest a neovascular complication.", case)
    assert labels(text)["biomarkers"][bid] == "absent"


@SETTINGS
@given(named(NAMES))
def test_an_item_with_words_of_its_own_after_a_conjunction_stays_its_own(name):
    """Unchanged: "no SRF, fibrosis and scar at the fovea" asserts the fibrosis."""
    bid, term = name
    found = labels(f"No {term}, fibrosis and scarring at the fovea.")["biomarkers"]
    assert found[bid] == "absent" and found["fibrosis"] == "present"


@SETTINGS
@given(
    st.sampled_from([("PED", "ped"), ("SHRM", "shrm"), ("fibrosis", "fibrosis")]),
    st.sampled_from(["flat", "stable", "unchanged", "smaller"]),
)
def test_a_word_stating_a_findings_condition_makes_its_item_a_statement(finding, predicate):
    """ "no SRF/IRF, PED flat": the PED is there, flat; "no SRF, IRF" still denies both."""
    term, bid = finding
    found = labels(f"RE nAMD: OCT dry, no SRF/IRF, {term} {predicate}. Quiescent.")["biomarkers"]
    assert found[bid] == "present" and found["srf"] == found["irf"] == "absent"
    assert labels(f"No SRF, {term}.")["biomarkers"][bid] == "absent"


@SETTINGS
@given(named(NAMES), st.sampled_from(["intact", "regular", "smooth"]), CASES)
def test_a_list_negation_does_not_deny_an_anchored_denial_past_another_finding(name, denial, case):
    """ "There is no subretinal or intraretinal fluid and the RPE otherwise appears intact": the RPE is intact."""
    bid, term = name
    found = labels(cased(f"There is no {term} and the RPE otherwise appears {denial}.", case))["biomarkers"]
    assert found[bid] == "absent" and found["rpe_irregularity"] == "absent"
    # its own denial still turns it round ("the RPE is by no means smooth")
    assert labels(cased(f"The RPE is by no means {denial}.", case))["biomarkers"]["rpe_irregularity"] == "present"


@SETTINGS
@given(st.sampled_from(["atrophic changes", "atrophic change"]), CASES)
def test_atrophic_changes_are_atrophy(term, case):
    """ "there are no drusen, fluid or atrophic changes": all three denied."""
    found = labels(cased(f"There are no drusen, fluid or {term}.", case))["biomarkers"]
    assert found == {"drusen": "absent", "srf": "absent", "irf": "absent", "rpe_atrophy": "absent"}
    assert labels(cased("Diagnosis: atrophic AMD.", case))["stage"] == "late_dry"


# -- structured output and forms ----------------------------------------------------------------------------------


@SETTINGS
@given(
    distinct_names(1, 4),
    st.sampled_from([("biomarkers_absent", "absent"), ("findings_not_detected", "absent"), ("absent", "absent")]),
    st.sampled_from([("biomarkers_detected", "present"), ("present", "present"), ("findings_present", "present")]),
)
def test_a_json_list_under_a_key_naming_its_state(names, absent_key, present_key):
    """{"biomarkers_detected": [], "biomarkers_absent": ["drusen", "subretinal fluid"]}: each item has the key's state."""
    half = len(names) // 2
    absent = [term for _, term in names[half:]]
    present = [term for _, term in names[:half]]
    text = (
        '{"eye": "right", "'
        + present_key[0]
        + '": ['
        + ", ".join(f'"{t}"' for t in present)
        + '], "'
        + absent_key[0]
        + '": ['
        + ",".join(f'"{t}"' for t in absent)
        + "]}"
    )
    expected = {bid: "present" for bid, _ in names[:half]} | {bid: "absent" for bid, _ in names[half:]}
    assert labels(text)["biomarkers"] == expected, text


@SETTINGS
@given(st.sampled_from([("3", "intermediate"), ("2", "early"), ("1", "healthy")]), st.sampled_from([":", " :", "="]))
def test_a_field_whose_value_completes_its_name(grade, mark):
    """ "AREDS category: 3" is "AREDS category 3", intermediate AMD."""
    value, sid = grade
    assert labels(f"Drusen: Yes (large)\nAREDS category{mark} {value}\nReferral: routine")["stage"] == sid


@SETTINGS
@given(
    st.sampled_from([("RPE loss", "rpe_atrophy"), ("Drusen", "drusen"), ("PED height", "ped")]),
    st.sampled_from([">=250 um", "<=125 um", ">= 250 µm"]),
    st.sampled_from([("No", "absent"), ("Yes", "present")]),
)
def test_a_comparison_in_a_field_label_is_no_separator(label, measure, value):
    """ "RPE loss >=250 um: No": the "=" of ">=" compares, the value after the colon answers the label."""
    (term, bid), (answer, state) = label, value
    assert labels(f"Eye: OS\n{term} {measure}: {answer}\nSRF: No")["biomarkers"][bid] == state


@SETTINGS
@given(named(NAMES), st.sampled_from(["cannot grade", "cannot be graded", "not graded", "unable to grade"]))
def test_a_field_the_grader_could_not_read_is_uncertain(name, value):
    bid, term = name
    assert labels(f"OCT CRF | Eye: OD\n{term}: {value}\nDrusen: present")["biomarkers"][bid] == "uncertain"


# -- hedges, answers and asides -----------------------------------------------------------------------------------


@SETTINGS
@given(named(NAMES), CASES)
def test_a_trailing_maybe_hedges(name, case):
    """ "There is slight subretinal fluid, maybe.\""""
    bid, term = name
    assert labels(cased(f"There is slight {term}, maybe.", case))["biomarkers"][bid] == "uncertain"


@SETTINGS
@given(st.sampled_from(["not convincing", "unconvincing", "not very convincing"]))
def test_a_query_answered_with_doubt_stays_hedged(answer):
    """ "?iRORA temporal - not convincing" leaves the atrophy in doubt; "?iRORA - no" denies it."""
    assert labels(f"Soft drusen. ?iRORA temporal - {answer}.")["biomarkers"]["rpe_atrophy"] == "uncertain"
    assert labels("Soft drusen. ?iRORA temporal - no.")["biomarkers"]["rpe_atrophy"] == "absent"


@SETTINGS
@given(
    st.sampled_from([("SRF", "srf"), ("IRF", "irf")]),
    st.sampled_from(["near the PED", "at the nasal edge of a serous PED", "at the margin of the PED"]),
    st.sampled_from(
        ["There seems to be a small amount of {} {}, but it is difficult to judge.", "Equivocal trace of {} {}."]
    ),
)
def test_a_hedge_on_a_finding_does_not_reach_the_lesion_it_lies_by(fluid, place, template):
    """ "equivocal trace of SRF at the nasal edge of a serous PED": the fluid is in doubt, the PED is not."""
    term, bid = fluid
    found = labels(template.format(term, place))["biomarkers"]
    assert found[bid] == "uncertain" and found["ped"] == "present"


@SETTINGS
@given(st.sampled_from(["vs 2022", "vs last visit", "versus baseline", "vs. 2019"]))
def test_vs_before_a_date_or_visit_compares(comparison):
    """ "large drusenoid PED, stable vs 2022" compares two scans; "SHRM vs fibrosis" still hedges both."""
    assert labels(f"RE OCT - large drusenoid PED, stable {comparison}, no fluid.")["biomarkers"]["ped"] == "present"
    found = labels("RE OCT: SHRM vs fibrosis.")["biomarkers"]
    assert found["shrm"] == "uncertain"


@SETTINGS
@given(
    st.sampled_from([("shallow irregular rpe elevation", "rpe_irregularity"), ("large drusen", "drusen")]),
    st.sampled_from([("?dls", "double_layer_sign"), ("?ped", "ped")]),
)
def test_a_query_mark_stuck_to_the_next_word_queries_that_word_only(first, queried):
    """ "shallow irregular rpe elevation ?dls": the elevation is there, the double-layer sign in doubt."""
    (text, bid), (query, qid) = first, queried
    found = labels(f"os: {text} {query}, no fluid.")["biomarkers"]
    assert found[bid] == "present" and found[qid] == "uncertain"
    assert labels(f"os: {text}?")["biomarkers"][bid] == "uncertain"


@SETTINGS
@given(named(NAMES), st.sampled_from(["increased from last visit", "enlarged compared with last visit"]))
def test_a_change_measured_from_the_last_visit_speaks_of_now(name, change):
    """ "intraretinal fluid increased from last visit, SRF (-)": both speak of this scan."""
    bid, term = name
    found = labels(f"OD OCT: drusen {change}, {term} (-).")["biomarkers"]
    assert found["drusen"] == "present" and found[bid] == "absent"
    assert labels(f"At the last visit {term} was seen.")["biomarkers"] == {}


@SETTINGS
@given(named(NAMES), st.sampled_from(["the lesion labelled", "the area labelled", "the feature labelled"]))
def test_a_lesion_another_reader_labelled_is_their_call(name, phrase):
    """ "the lesion labelled SHRM by grader 1 is sub-RPE, not subretinal ... SHRM absent"."""
    bid, term = name
    text = f"Senior grader: {phrase} {term} by grader 1 is a large druse. {term} absent."
    assert labels(text)["biomarkers"][bid] == "absent"
    # a reader who labels a stage the writer agrees with keeps it
    assert labels("Grader labelled inactive nAMD - agree.")["stage"] == "late_wet_inactive"


# -- the eye ------------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from([("right", "left"), ("left", "right")]),
    st.sampled_from(
        [
            "Today I scanned her {this} eye, which shows {finding}.",
            "His {this} eye OCT today shows {finding}.",
            "{This} eye being assessed: {finding}.",
        ]
    ),
)
def test_the_eye_the_writer_scanned_is_the_reports_eye(eyes, template):
    """ "Her right eye has long-standing disciform scarring. Today I scanned her left eye, which shows only small hard
    drusen": the first eye named is the fellow eye."""
    this, other = eyes
    sentence = template.format(this=this, This=this.capitalize(), finding="large drusen and no fluid")
    found = labels(f"Her {other} eye has disciform scarring. {sentence}")["biomarkers"]
    assert found == {"drusen": "present", "srf": "absent", "irf": "absent"}, sentence


def test_an_eye_not_being_assessed_is_not_the_reports_eye():
    assert labels("Right eye (not being assessed): GA. Left eye: drusen.")["biomarkers"] == {"drusen": "present"}
    assert labels("Note: the right-eye scan (not assessed here) shows GA. Left eye: drusen.")["biomarkers"] == {
        "drusen": "present"
    }


@SETTINGS
@given(st.sampled_from([("OD", "OS"), ("OS", "OD"), ("RE", "LE")]), distinct_names(1, 3))
def test_an_eye_named_in_a_parenthesis_is_an_aside(eyes, names):
    """ "OD (fellow eye of treated nAMD OS): OCT normal, no drusen, no PED": the findings are OD's."""
    this, other = eyes
    denials = ", ".join(f"no {term}" for _, term in names)
    found = labels(f"{this} (fellow eye of treated nAMD {other}): OCT normal, {denials}. {this} healthy.")
    assert found["biomarkers"] == {bid: "absent" for bid, _ in names}


@SETTINGS
@given(st.sampled_from([("L/E", "R/E"), ("R/E", "L/E")]), stage_term())
def test_an_eye_written_with_a_slash_ends_its_sentence(eyes, stage):
    """ "Impression: iAMD L/E. R/E GA (known).": the fellow eye's GA is a sentence of its own."""
    this, other = eyes
    sid, term = stage
    assert labels(f"{this} OCT: drusen. Impression: {term} {this}. {other} GA (known).")["stage"] == sid


# -- stage --------------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    stage_term(),
    st.sampled_from(["?DMO vs {}", "DMO vs {}", "PCV vs {}", "{} vs CSC", "?CSC versus {}"]),
)
def test_a_stage_set_against_another_diagnosis_is_left_open(stage, template):
    """ "?DMO vs nAMD": the writer has not decided; "SHRM vs fibrosis. Inactive nAMD." keeps the stage."""
    sid, term = stage
    assert labels(f"LE: cystoid spaces with SRF. {template.format(term)}. Refer.")["stage"] is None
    assert labels(f"LE: SHRM vs fibrosis, no fluid. {term}.")["stage"] == sid


@SETTINGS
@given(
    st.sampled_from(["nAMD", "neovascular AMD", "wet AMD"]),
    st.sampled_from(
        [
            "the activity status of this neovascular lesion remains uncertain",
            "whether it is active remains unclear",
            "Stage not assigned",
        ]
    ),
)
def test_activity_or_stage_left_open_in_words(stage, phrase):
    """ "Therefore, the activity status of this neovascular lesion remains uncertain.\""""
    assert labels(f"Fibrovascular PED, {stage}, possible SRF. {phrase.capitalize()}.")["stage"] is None


# -- referral -----------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(["Return to the referring optometrist", "Back to the referring optometrist"]),
    st.sampled_from(["for routine eye exam", "for annual eye exam"]),
    CASES,
)
def test_back_to_the_referring_optometrist_is_no_referral(plan, what, case):
    """ "Return to the referring optometrist for routine eye exam": the writer's plan, not the letter's history."""
    assert labels(cased(f"Fibrotic scar, no fluid. Inactive nAMD. {plan} {what}.", case))["referral"] == "none"


@SETTINGS
@given(
    st.sampled_from(
        ["monitoring by the patient's optometrist", "monitoring by her optometrist", "review by his optometrist"]
    ),
    st.sampled_from(["I recommend continued {}.", "Continued {}."]),
)
def test_monitoring_by_the_patients_optometrist_is_no_referral(care, template):
    assert labels(f"Several drusen. Early AMD. {template.format(care)}")["referral"] == "none"


@SETTINGS
@given(
    st.sampled_from(
        [
            "Notify sponsor within 24 hours",
            "Notify the sponsor within 48 hours",
            "Report to the sponsor within 24 hours",
        ]
    ),
)
def test_a_trials_reporting_deadline_is_no_referral(deadline):
    """ "Conversion to exudative MNV: YES. Notify sponsor within 24 hours (SAE form)": paperwork, not care."""
    assert labels(f"CRF: study eye OS. New SRF: YES. {deadline} (SAE form).")["referral"] is None
    assert labels("New SRF. Refer within 24 hours.")["referral"] == "urgent"
