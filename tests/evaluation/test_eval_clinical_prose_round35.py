"""Rules from the thirty-fourth writer's general set (round 35: styles_dev34.jsonl), as properties: the patient handed
back to the letter's reader by a pronoun or by the checks held with them, a review already booked, "follow" without
"up" and a document that will follow, "as early as possible", the reason an audit says a referral gave, a form's fields
between "|", a query mark with the list going on after it, the eye named as another eye's fellow, resolution in other
words, a finding's forming or its place after it in a denied list, a model's score in a bracket before its state word, a
repeat scan after a week, a treatment today handed on for consent, and a plural written with an apostrophe."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)


# -- referral ---------------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(
        [
            "I have returned him to your care at the polyclinic for yearly checks.",
            "I have returned her to your care.",
            "We discharged him to your care.",
            "Further controls can take place with you every 6 months.",
            "Further checks can take place with you yearly.",
            "Check-ups with you every 12 months are sufficient.",
        ]
    ),
    CASES,
)
def test_the_patient_handed_back_to_the_reader_is_none(plan, case):
    """Class: dispositions back to the community. The patient returned to the reader by a pronoun ("returned him to
    your care") and the checks held with the reader ("controls can take place with you") are "return to your care":
    none, whatever interval follows."""
    text = cased(
        f"Dear Dr Tan, the right eye shows soft drusen and no fluid. Intermediate AMD. {plan}",
        case,
    )
    assert labels(text)["referral"] == "none", text


def test_the_checks_held_with_us_stay_the_writers_clinic():
    """Negative: the writer's own checks at an interval stay routine."""
    assert labels("Soft drusen, no fluid. Further controls in our clinic every 6 months.")["referral"] == "routine"


@SETTINGS
@given(
    st.sampled_from(
        [
            "Already under MR clinic with review booked for June - no new referral needed.",
            "Review booked for June.",
            "Next visit booked for March, no new referral sent.",
            "Appointment already booked in the retina clinic.",
        ]
    ),
    CASES,
)
def test_a_review_already_booked_is_routine(plan, case):
    """Class: a booked visit (eval/README.md rounds 15 and 16). The hospital's review already booked is a visit kept,
    routine, also beside a new referral declined."""
    text = cased(f"LE: stable large drusen, no fluid, no atrophy. {plan}", case)
    assert labels(text)["referral"] == "routine", text


def test_a_booked_review_within_two_weeks_is_urgent():
    """The booked visit is read by its length, like any follow-up."""
    assert labels("LE: new SRF. Review booked in 1 week.")["referral"] == "urgent"


@SETTINGS
@given(
    st.sampled_from(["Will follow in 3 months.", "We will follow her in 6 months.", "Will follow in 4 months."]),
    CASES,
)
def test_follow_without_up_is_a_follow_up(plan, case):
    """Class: follow-up in other words. "Will follow in 3 months", the US clinic's verb, is a follow-up interval:
    routine."""
    text = cased(f"OD: hyperreflective subretinal lesion, likely vitelliform. No fluid. {plan}", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["report", "letter", "results"]),
    st.sampled_from(["2 weeks", "3 months", "1 week"]),
    CASES,
)
def test_a_document_that_will_follow_is_no_follow_up(document, interval, case):
    """Negative: a document that will follow ("The formal report will follow in 2 weeks") is when it is sent, not the
    patient's follow-up."""
    text = cased(f"Drusen, no fluid. The formal {document} will follow in {interval}.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(st.sampled_from(["as early as possible", "at the earliest possible", "at the earliest possible time"]), CASES)
def test_as_early_as_possible_is_urgent(when, case):
    """Vocabulary (curricula/knowledge/referral.yaml): "as early as possible" is "as soon as possible", urgent."""
    text = cased(f"Your scan shows wet macular degeneration. You are advised to have the injection {when}.", case)
    assert labels(text)["referral"] == "urgent", text


# -- stage --------------------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(["Referral reason given", "Reason given", "Referral reason stated"]),
    st.sampled_from(["?wet AMD", "query nAMD", "suspected wet AMD"]),
    st.sampled_from([("iAMD", "intermediate"), ("early AMD", "early")]),
    CASES,
)
def test_the_reason_an_audit_says_the_referral_gave_is_the_referrers(heading, query, stage, case):
    """Class: copy-forward entries. The reason an audit says the referral gave is the referrer's query (a field of its
    line), so the audit's outcome states the stage and its findings on the next line are read."""
    text = cased(
        f"Audit: referral appropriateness\nEye: R\n{heading}: {query}\nOCT at first visit: large drusen, no SRF, no "
        f"IRF\nOutcome: {stage[0]}, discharged to community optometrist",
        case,
    )
    got = labels(text)
    assert got["stage"] == stage[1], text
    assert got["biomarkers"].get("srf") == "absent", text


def test_the_referral_reason_without_given_stays_the_report():
    """Negative: the field's words on their own are not read as a copy (a referral letter's "Reason for referral:" is
    its own findings)."""
    assert labels("Reason for referral: large drusen, no fluid. Intermediate AMD.")["stage"] == "intermediate"


@SETTINGS
@given(
    st.sampled_from(["Severity", "Stage", "Grade"]),
    st.sampled_from([("intermediate", "intermediate"), ("early", "early")]),
    st.sampled_from(["GA: questionable", "GA: no", "nAMD: no"]),
    CASES,
)
def test_a_field_after_a_bar_is_a_field(field, stage, other, case):
    """Class: a form's fields on one line. Each field after "|" opens as after a full stop ("Drusen: yes, large | GA:
    questionable | Severity: intermediate"), so the stage field is read and wins over the queried GA."""
    text = cased(f"Eye: OS | Drusen: yes, large | {other} | {field}: {stage[0]}", case)
    assert labels(text)["stage"] == stage[1], text


def test_a_bar_in_a_value_cell_names_no_field():
    """Negative: a row of signs between bars names no stage."""
    assert labels("RE | - | - | + |")["stage"] is None


@SETTINGS
@given(
    st.sampled_from(["fluid?", "underlying fluid?", "SRF?"]),
    st.sampled_from(["and reduced VA 6/12", "& reduced VA", "plus new distortion"]),
    st.sampled_from(["as written", "lower"]),
)
def test_a_query_mark_with_the_list_going_on_hedges_the_finding(finding, rest, case):
    """Class: hedges. A finding queried mid-sentence with the list going on after it in lower case ("elevated RPE with
    underlying fluid? and reduced VA") is unanswered, so it is hedged; with "possible wet AMD" the wet AMD is active.
    (In capitals "AND" may open an answer, so upper case is not covered.)"""
    text = cased(f"OCT shows elevated RPE with {finding} {rest}. Possible wet AMD.", case)
    got = labels(text)
    assert got["biomarkers"].get("srf") == "uncertain", text
    assert got["stage"] == "late_wet_active", text


def test_a_query_answered_in_a_new_sentence_stays_answered():
    """Negative: a capital "And" opens the answer ("Drusen? And small ones."): the drusen are there."""
    assert labels("Drusen? And small ones.")["biomarkers"].get("drusen") == "present"


# -- biomarkers ---------------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(
        ["Left eye (fellow eye of a treated nAMD):", "OD (fellow eye of OS nAMD):", "RE (fellow eye to nAMD):"]
    ),
    CASES,
)
def test_the_eye_named_as_another_eyes_fellow_is_this_eye(eye, case):
    """Class: the eye named as another eye's fellow. "fellow eye of ..." says the eye it names is the fellow of another:
    its findings are this eye's, and only the other eye's disease after "of" is not read."""
    text = cased(f"{eye} large drusen and drusenoid PED, without fluid. Intermediate AMD.", case)
    got = labels(text)
    assert got["stage"] == "intermediate", text
    assert got["biomarkers"].get("drusen") == "present", text
    assert got["biomarkers"].get("ped") == "present", text
    assert got["biomarkers"].get("srf") == "absent", text


def test_the_fellow_eye_named_on_its_own_is_still_the_other_eye():
    """Negative: the fellow eye named as the subject is the other eye, its findings not read."""
    got = labels("RE: soft drusen. The fellow eye has GA.")
    assert got["biomarkers"].get("rpe_atrophy") is None
    assert got["biomarkers"].get("drusen") == "present"


@SETTINGS
@given(
    st.sampled_from(["subretinal fluid", "SRF"]),
    st.sampled_from(["reabsorbed", "is disappeared", "has disappeared", "has been reabsorbed", "resorbed"]),
    CASES,
)
def test_resolution_in_other_words_is_absent(finding, verb, case):
    """Class: resolution in other words. Fluid "reabsorbed" or "disappeared" is resolved: absent."""
    text = cased(f"OD: persistence of intraretinal cysts, {finding} {verb} after 3 injections.", case)
    got = labels(text)
    assert got["biomarkers"].get("srf") == "absent", text
    assert got["biomarkers"].get("irf") == "present", text


@SETTINGS
@given(st.sampled_from(["has not disappeared", "not reabsorbed", "has not been reabsorbed"]), CASES)
def test_resolution_denied_leaves_the_finding(verb, case):
    """Negative: the resolution denied ("the SRF has not disappeared") leaves the fluid there."""
    text = cased(f"The SRF {verb}.", case)
    assert labels(text)["biomarkers"].get("srf") == "present", text


@SETTINGS
@given(
    st.sampled_from(
        [
            ("no SRF, no IRF, scar formation", "fibrosis"),
            ("no fluid, atrophy subfoveal", "rpe_atrophy"),
            ("no fluid, scar forming", "fibrosis"),
            ("no SRF, no IRF, atrophy juxtafoveal", "rpe_atrophy"),
        ]
    ),
    CASES,
)
def test_a_findings_forming_or_place_after_it_is_its_own_statement(item, case):
    """Class: list and negation scope. A finding's forming ("scar formation") or its place after it ("atrophy
    subfoveal") makes its list item a statement of its own, as "PED flat" does: the denial before does not reach it."""
    text = cased(f"OCT today dry, {item[0]}. Disease inactive.", case)
    assert labels(text)["biomarkers"].get(item[1]) == "present", text


def test_a_denial_of_the_item_itself_still_reaches_it():
    """Negative: the item's own denial stands ("no atrophy subfoveal", "no fluid or atrophy subfoveal")."""
    assert labels("no fluid, no atrophy subfoveal.")["biomarkers"].get("rpe_atrophy") == "absent"
    assert labels("no fluid or atrophy subfoveal.")["biomarkers"].get("rpe_atrophy") == "absent"


@SETTINGS
@given(
    st.sampled_from(["p=0.41", "0.41", "score 0.5", "41%"]),
    st.sampled_from([("uncertain", "uncertain"), ("absent", "absent"), ("present", "present")]),
    CASES,
)
def test_a_score_in_a_bracket_before_its_state_word(score, state, case):
    """Class: a model's output. A score first in a bracket with the state word after a comma ("IRF (p=0.41,
    uncertain)") is read by the word, as "IRF (uncertain)"."""
    text = cased(f"Biomarkers detected: SRF (p=0.94), IRF ({score}, {state[0]}), PED (p=0.88)", case)
    got = labels(text)
    assert got["biomarkers"].get("irf") == state[1], text
    assert got["biomarkers"].get("srf") == "present", text


def test_a_score_before_a_denial_of_the_next_finding_is_kept():
    """Negative: outside a bracket a comma after the score ends it ("SRF: 0.45, no IRF"): the "no" is IRF's."""
    got = labels("SRF: 0.95, no IRF")
    assert got["biomarkers"].get("srf") == "present"
    assert got["biomarkers"].get("irf") == "absent"


# -- added with the second part of the round ----------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(["To repeat OCT after 1 week", "Repeat OCT after a week", "Repeat scan after 10 days"]),
    CASES,
)
def test_a_repeat_scan_after_a_week_is_urgent(plan, case):
    """Class: a repeat scan with an urgent time frame (eval/README.md round 14). The scan repeated "after" a week is
    "Repeat OCT in 1 week": urgent."""
    text = cased(f"RE: doubtful subretinal fluid near fovea, may be artefact. Drusen. {plan} for confirmation.", case)
    assert labels(text)["referral"] == "urgent", text


def test_a_repeat_scan_after_months_or_a_course_after_a_week_is_no_referral():
    """Negative: a repeat scan after months names a test (null, round 14), and a finding's course after two weeks is
    no plan."""
    assert labels("Drusen. Repeat OCT after 3 months.")["referral"] is None
    assert labels("Repeat OCT after 30 days.")["referral"] is None
    assert labels("The SRF resolved after 2 weeks of treatment. Inactive nAMD.")["referral"] is None


@SETTINGS
@given(
    st.sampled_from(
        [
            "pls ask reg to consent for inj today",
            "please ask the registrar to consent him for injection today",
            "needs inj today",
        ]
    ),
    CASES,
)
def test_a_treatment_today_handed_on_is_urgent(plan, case):
    """Class: same-day dispositions (eval/README.md round 21). The injection today handed on for consent, or needed in
    shorthand ("needs inj today"), asks another team to act within the day: urgent."""
    text = cased(f"pt in cubicle 3 - LE oct done, SRF+ IRF-, looks like active wet. {plan}", case)
    assert labels(text)["referral"] == "urgent", text


def test_the_writers_own_injection_today_is_no_referral():
    """Negative: the writer's own treatment today ("Consented for inj today. Given.", "Inj today") stays no referral
    (round 7)."""
    assert labels("SRF+. Consented for inj today. Given.")["referral"] is None
    assert labels("Active nAMD. Inj today.")["referral"] is None


@SETTINGS
@given(st.sampled_from(["intra retinal cyst's", "intraretinal cyst's", "cyst's"]), CASES)
def test_a_plural_with_an_apostrophe_is_the_finding(finding, case):
    """Vocabulary (eval/context_rules.yaml token aliases): a plural written with an apostrophe ("intra retinal
    cyst's") is the finding; denied, it is absent."""
    text = cased(f"OCT shows subretinal fluid and {finding} in keeping with active wet AMD.", case)
    assert labels(text)["biomarkers"].get("irf") == "present", text
    assert labels(cased(f"No {finding}.", case))["biomarkers"].get("irf") == "absent"
