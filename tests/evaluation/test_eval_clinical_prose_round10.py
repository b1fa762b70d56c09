"""Rules for real clinical prose from the tenth dev set (issue 18, round 10: styles_dev10.jsonl), as properties:
headings written with their eye or an aside, questions and their answers, hedges within their own item, and
referral words that name a place or a patient's schedule."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, NAMES, cased, labels, named, stage_term

SETTINGS = settings(max_examples=40, deadline=None)
EXPLICIT_STAGES = {"early": "early AMD", "intermediate": "intermediate AMD", "late_wet_active": "active nAMD"}


def two_names():
    return st.lists(named(NAMES), min_size=2, max_size=2, unique_by=lambda item: item[0])


# -- headings -----------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    named(NAMES),
    st.sampled_from(["OCT R:", "OCT (Topcon Maestro) R:", "OCT (Spectralis):", "Findings (OD):", "OCT LE:"]),
    CASES,
)
def test_a_heading_with_its_eye_or_an_aside_ends_a_history_section(name, heading, case):
    """ "Reason for referral: distortion x 10 days.\\nOCT (Topcon Maestro) R: subretinal fluid ...": the OCT line is a
    heading of its own, so the referral's history section ends before it and the finding is today's."""
    bid, term = name
    text = cased(f"Reason for referral: distortion x 10 days.\n{heading} {term} under the fovea.", case)
    assert labels(text)["biomarkers"][bid] == "present", text
    # the history heading still holds its own line
    assert labels(cased(f"Reason for referral: {term} seen by the optometrist.", case))["biomarkers"] == {}


@SETTINGS
@given(named(NAMES), stage_term(), st.sampled_from(["LE", "RE", "Left eye", "OS"]))
def test_a_heading_after_its_eye_ends_a_history_section(name, stage, eye):
    """ "Background: fellow eye disciform scar (treated 2019). LE OCT today: medium drusen, HRF, no fluid." """
    bid, term = name
    sid, words = stage
    text = f"Case 3: 74F. Background: scar, treated 2019. {eye} OCT today: {term} at the fovea. Consensus: {words}."
    found = labels(text)
    assert found["biomarkers"][bid] == "present" and found["stage"] == sid, (text, found)


# -- questions and answers ----------------------------------------------------------------------------------------


@SETTINGS
@given(stage_term(), st.sampled_from(["Yes", "yes", "Correct", "Confirmed"]), st.sampled_from(["A: ", ""]))
def test_a_stage_asked_and_answered_yes_is_stated(stage, yes, marker):
    """ "Q: Is this GA? A: Yes - a well-defined zone of RPE loss": the question's stage, answered, is stated."""
    sid, words = stage
    assert labels(f"Q: Is this {words}? {marker}{yes} - on the dense scans.")["stage"] == sid
    assert labels(f"Q: Is this {words}? {marker}Not sure.")["stage"] is None


@SETTINGS
@given(st.sampled_from(["MNV", "CNV", "wet AMD"]), st.sampled_from(["No", "None", "Negative"]))
def test_a_stage_asked_and_answered_no_opens_nothing(asked, no):
    """ "Q: Is this GA? A: Yes ... Q: Any sign of MNV? A: No SHRM, no fluid": the denied stage leaves the GA."""
    text = f"Q: Is this GA? A: Yes - RPE loss with hypertransmission.\nQ: Any sign of {asked}? A: {no} - dry."
    assert labels(text)["stage"] == "late_dry"


@SETTINGS
@given(two_names(), CASES)
def test_a_question_followed_by_another_finding_stays_a_query(names, case):
    """ "Small PED? No fluid.": the words after the mark speak of another finding, so they do not answer it."""
    (asked, asked_term), (other, other_term) = names
    found = labels(cased(f"Small {asked_term}? No {other_term}.", case))["biomarkers"]
    assert found[asked] == "uncertain" and found[other] == "absent", found
    # an answer without a finding of its own still answers ("GA? No - hypertransmission is absent")
    found = labels(cased(f"{asked_term}? No - {other_term} is absent.", case))["biomarkers"]
    assert found[asked] == "absent" and found[other] == "absent", found


@SETTINGS
@given(st.sampled_from(["early GA", "GA", "geographic atrophy"]), st.sampled_from(sorted(EXPLICIT_STAGES)))
def test_a_queried_finding_word_opens_no_stage_the_report_names(queried, sid):
    """ "Drusen with ?early GA at the fovea. Probably intermediate AMD.": GA is queried as a finding, the stage is
    named outright; a queried stage name ("?wet AMD") still leaves it open."""
    text = f"Drusen with ?{queried} at the fovea. Probably {EXPLICIT_STAGES[sid]}."
    assert labels(text)["stage"] == sid
    assert labels(f"Drusen. ?wet AMD. Probably {EXPLICIT_STAGES['intermediate']}.")["stage"] is None


# -- hedges within their item -------------------------------------------------------------------------------------


@SETTINGS
@given(two_names(), CASES)
def test_a_query_after_a_comma_queries_what_follows(names, case):
    """ "new small area of hypertransmission, query early iRORA": the query is about the iRORA."""
    (first, first_term), (second, second_term) = names
    found = labels(cased(f"New small {first_term}, query {second_term}.", case))["biomarkers"]
    assert found[first] == "present" and found[second] == "uncertain", found
    assert labels(cased(f"{first_term} query.", case))["biomarkers"][first] == "uncertain"


@SETTINGS
@given(
    two_names(), st.sampled_from(["could not be excluded", "could not be ruled out", "could not be entirely excluded"])
)
def test_could_not_be_excluded_hedges_its_own_item(names, hedge):
    """ "There are, however, large drusen, and a double layer sign could not be excluded." """
    (first, first_term), (second, second_term) = names
    found = labels(f"There are, however, {first_term}, and a {second_term} {hedge}.")["biomarkers"]
    assert found[first] == "present" and found[second] == "uncertain", found


@SETTINGS
@given(stage_term(), st.sampled_from(["-", "–", ":"]))
def test_a_progression_stated_after_a_dash_states_the_stage(stage, mark):
    """ "leaving cRORA at its former site - progression to late atrophic AMD"; "risk of progression to" does not."""
    sid, words = stage
    assert labels(f"The drusenoid PED has collapsed {mark} progression to {words}.")["stage"] == sid
    assert labels(f"Large drusen. Risk of progression to {words}.")["stage"] is None


# -- referral words -----------------------------------------------------------------------------------------------


@SETTINGS
@given(st.sampled_from(["injection list", "clinic", "list"]), CASES)
def test_a_time_frame_in_the_possessive_is_urgent(place, case):
    """ "Reactivation. Brought forward to next week's injection list." """
    assert labels(cased(f"Reactivation. Brought forward to next week's {place}.", case))["referral"] == "urgent"


@SETTINGS
@given(st.sampled_from(["rapid access", "fast-track", "urgent"]), st.sampled_from(["in the", "at the", "in our"]))
def test_a_level_word_naming_the_clinic_of_a_visit_is_no_referral(level, place):
    """ "I saw Mrs Ali in the rapid access macular clinic today ... commenced aflibercept today": the clinic she was
    seen in, not a referral; "refer to the rapid access clinic" still refers."""
    text = f"I saw her {place} {level} macular clinic today. Active nAMD, commenced aflibercept today."
    assert labels(text)["referral"] is None, text
    assert labels(f"Active nAMD. Please refer to the {level} clinic.")["referral"] == "urgent"


@SETTINGS
@given(st.sampled_from(["longer", "a little longer"]), CASES)
def test_a_longer_gap_between_injections_is_a_kept_schedule(longer, case):
    """ "The wet macular degeneration is now quiet ... we can make the gap between your injections longer"."""
    text = cased(
        f"Your wet AMD is now inactive, with no fluid. We can make the gap between your injections {longer}.", case
    )
    found = labels(text)
    assert found["stage"] == "late_wet_inactive" and found["referral"] == "routine", found


@SETTINGS
@given(st.sampled_from(["the optometrist", "her optometrist", "optometrist", "optom"]), st.sampled_from(["may", "can"]))
def test_check_ups_controlled_by_the_optometrist_are_no_referral(who, verb):
    """ "Early AMD. Pt may be controlled by optometrist.": "control" is a check-up, as in "Control in 6 months"."""
    assert labels(f"Small drusen. Early AMD. Pt {verb} be controlled by {who}.")["referral"] == "none"


@SETTINGS
@given(
    st.sampled_from(["Not for further treatment", "Not for treatment", "NOT FOR TX"]),
    st.sampled_from([("review 6/12 routine", "routine"), ("routine review in MR clinic", "routine")]),
)
def test_a_decision_not_to_treat_denies_nothing_after_it(decision, plan):
    """ "LE: dense subretinal fibrosis. End-stage nAMD. Not for further treatment, review 6/12 routine." """
    words, level = plan
    assert labels(f"Dense fibrosis at the fovea. {decision}, {words}.")["referral"] == level


@SETTINGS
@given(st.sampled_from(["called", "known as", "this is called"]), CASES)
def test_a_name_in_brackets_after_lay_words_is_the_finding(called, case):
    """ "an area where the cells under the retina have thinned and been lost (called geographic atrophy)"."""
    text = cased(
        f"The scan shows an area where the cells have thinned and been lost ({called} geographic atrophy).", case
    )
    found = labels(text)
    assert found["stage"] == "late_dry" and found["biomarkers"]["rpe_atrophy"] == "present", found
    # another reader's call stays theirs
    assert labels("The grader called GA; on review this is shadowing.")["stage"] is None


@SETTINGS
@given(named(NAMES), st.sampled_from(["not convinced of", "Not convinced of any", "unconvinced of"]), CASES)
def test_not_convinced_of_is_doubt_not_denial(name, doubt, case):
    """ "Consensus: not convinced of activity": doubt, like "not convincing" after a query (round 9)."""
    bid, term = name
    assert labels(cased(f"Consensus: {doubt} {term}.", case))["biomarkers"][bid] == "uncertain"
    assert labels(cased(f"Consensus: no {term}.", case))["biomarkers"][bid] == "absent"
