"""Rules from the twelfth writer's referral-heavy set (round 14: styles_dev12.jsonl), as properties: follow-ups after an
interval, plain-word schedules and treatment intervals, denied hospital care, a plan put deferentially, what is no
plan (a clinic's letter, the practice's own action), stages asked or denied in a list, scores and item-local signs."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, NAMES, STAGE_TERMS, cased, labels, named

SETTINGS = settings(max_examples=40, deadline=None)
UNITS = {"weeks": 7, "months": 30}
INACTIVE = "Wet AMD, now settled - no fluid. Scar at the centre."


@SETTINGS
@given(
    st.sampled_from(
        ["Control after {n} {unit}.", "See the eye doctor again in {n} {unit}.", "TCA {n} {unit} for OCT."]
    ),
    st.integers(1, 12),
    st.sampled_from(sorted(UNITS)),
    CASES,
)
def test_a_follow_up_after_an_interval_is_read_by_its_length(plan, n, unit, case):
    """ "Control after 3 months", "See the eye doctor again in 12 months", "TCA 4/12": routine; two weeks or less
    urgent (`follow_up_intervals`)."""
    text = cased(f"Drusen, no fluid. Intermediate AMD. {plan.format(n=n, unit=unit)}", case)
    assert labels(text)["referral"] == ("urgent" if n * UNITS[unit] <= 14 else "routine"), text


@SETTINGS
@given(st.sampled_from(["Next injection: stretched to {n} weeks.", "Stretch the interval to {n} weeks."]), CASES)
def test_a_schedule_stretched_for_an_inactive_eye_is_routine(plan, case):
    """Treat-and-extend in plain words keeps the eye in its clinic's review (eval/README.md, round 7)."""
    assert labels(cased(f"{INACTIVE} {plan.format(n=14)}", case))["referral"] == "routine"


@SETTINGS
@given(
    st.sampled_from(
        ["Keep interval at {n} weeks.", "Keep the interval at {n} wks.", "Maintain interval of {n} weeks."]
    ),
    st.sampled_from(["nAMD, activity uncertain.", "Activity uncertain (?trace IRF)."]),
    st.integers(4, 16),
    CASES,
)
def test_a_treatment_interval_kept_while_activity_is_open_is_routine(plan, activity, n, case):
    """ "nAMD, activity uncertain. Keep interval at 8 weeks": the interval names the treatment (six labels of five
    writers), so the schedule kept is the clinic's review (eval/README.md, round 8)."""
    assert labels(cased(f"OD: {activity} {plan.format(n=n)}", case))["referral"] == "routine"


@SETTINGS
@given(st.sampled_from(["Virtual MR clinic", "Macular clinic", "Retina clinic"]), st.integers(4, 8), CASES)
def test_a_clinic_heading_a_treated_eye_s_note_is_no_referral(clinic, n, case):
    """A shortened treatment interval is the plan: the clinic heading the note is the treatment's own."""
    text = cased(f"{clinic} (RE): reactivated nAMD - new SRF. Shorten interval to {n} weeks.", case)
    assert labels(text)["referral"] is None


@SETTINGS
@given(
    st.sampled_from(
        [
            "the hospital does not need to see you",
            "the hospital doesn't need to see you",
            "Referral rejected; returned to optometrist with advice",
            "No further treatment or referral is required",
            "No further injections or referral needed",
        ]
    ),
    CASES,
)
def test_hospital_care_turned_down_is_no_referral(plan, case):
    assert labels(cased(f"Small drusen only, no fluid. {plan}.", case))["referral"] == "none"


def test_no_further_treatment_alone_still_denies_nothing_after_it():
    """Round 12's treatment decision is unchanged: "Not for further treatment, review 6/12 routine"."""
    assert labels("GA. No further treatment, review 6/12 routine.")["referral"] == "routine"


@SETTINGS
@given(st.sampled_from(["The clinic has expedited her first injection.", "They have expedited the appointment."]))
def test_an_expedited_booking_is_urgent(plan):
    assert labels(f"Wet AMD with subretinal fluid. {plan}")["referral"] == "urgent"


def test_an_expedited_claim_or_a_past_expedite_is_no_plan():
    assert labels("Active CNV. Medical director agrees; expedited approval of the claim granted.")["referral"] is None
    assert labels("Her first injection was expedited in 2021. Today dry, GA.")["referral"] is None


@SETTINGS
@given(
    st.sampled_from(["Summary of eye clinic letter", "MR clinic letter", "Summary: eye clinic letter re L eye"]),
    st.sampled_from(["No action required from the practice.", "Nothing for the practice to do.", ""]),
    CASES,
)
def test_a_clinic_s_letter_and_the_practice_s_action_are_no_plan(letter, practice, case):
    """A GP's summary: the clinic that wrote the letter is no follow-up venue, the practice's action no level."""
    text = cased(f"{letter}: active wet AMD, already being treated there. {practice}", case)
    assert labels(text)["referral"] is None
    urgent = cased(f"{letter}: wet AMD; first appointment within 2 weeks (fast track). {practice}", case)
    assert labels(urgent)["referral"] == "urgent"


@SETTINGS
@given(
    st.sampled_from(["If this were my call", "If it were up to me,", "If it were my decision,"]),
    st.sampled_from([("a fast-track review", "urgent"), ("a routine referral", "routine")]),
    CASES,
)
def test_a_plan_put_deferentially_is_today_s_plan(opener, plan, case):
    """ "If this were my call I'd suggest a fast-track review" is the writer's recommendation, not a condition."""
    words, level = plan
    assert labels(cased(f"Probable SRF. {opener} I'd suggest {words}.", case))["referral"] == level


def test_a_real_condition_still_states_no_plan():
    """Round 13's conditional opener is unchanged."""
    assert labels("Large drusen. If he develops new distortion, refer via the fast-track pathway.")["referral"] is None


@SETTINGS
@given(st.sampled_from(["wet AMD", "nAMD", "neovascular AMD"]), CASES)
def test_other_signs_of_a_stage_continue_a_denied_list(stage, case):
    """ "no fluid or other sign of wet AMD": the stage is denied with the list, and geographic atrophy stands."""
    text = cased(f"Geographic atrophy affecting the fovea; there is no fluid or other sign of {stage}.", case)
    assert labels(text)["stage"] == "late_dry"


@SETTINGS
@given(
    st.sampled_from(["wet AMD", "neovascular AMD", "nAMD", "exudative AMD"]),
    st.sampled_from(["active", "inactive"]),
    CASES,
)
def test_an_activity_asked_leaves_the_stage_open(stage, activity, case):
    """ "neovascular AMD, inactive?" asks the stage (eval/README.md: a stage asked as a question is not stated)."""
    assert labels(cased(f"Diagnosis: {stage}, {activity}? Recommend planned consultation.", case))["stage"] is None
    assert labels(cased(f"Diagnosis: {stage}, {activity}?", case))["stage"] is None


@SETTINGS
@given(st.sampled_from(["inactive", "quiescent"]), CASES)
def test_a_qualifier_next_to_exudative_amd_picks_its_activity(activity, case):
    """ "exudative AMD" names the disease; the activity word next to it decides ("Exudative AMD, inactive")."""
    assert labels(cased(f"Exudative AMD, {activity}. No SRF.", case))["stage"] == "late_wet_inactive"
    assert labels(cased("Exudative AMD. New SRF.", case))["stage"] == "late_wet_active"


@SETTINGS
@given(st.sampled_from(["nAMD rapid-access slot", "wet AMD rapid access clinic", "nAMD slot"]), CASES)
def test_a_service_named_by_the_disease_is_no_stage(service, case):
    text = cased(f"Images confirm subretinal fluid. Accept as urgent; expedite to the next available {service}.", case)
    assert labels(text)["stage"] is None


@SETTINGS
@given(named(NAMES), st.sampled_from(["0.03", "0.1", "5%"]), st.sampled_from(["0.97", "0.9", "95%"]))
def test_a_score_after_a_finding_s_name_is_read_by_its_state_word(finding, low, high):
    """ "SRF 0.03 (absent)": the score is left out, the state word read, as after a colon."""
    bid, name = finding
    assert labels(f"Findings: {name} {low} (absent).")["biomarkers"] == {bid: "absent"}
    assert labels(f"Findings: {name} {high} present.")["biomarkers"] == {bid: "present"}


@SETTINGS
@given(st.sampled_from(["unable to assess for fluid", "cannot assess for fluid", "unable to grade for fluid"]), CASES)
def test_fluid_the_reader_cannot_assess_is_hedged(phrase, case):
    """eval/README.md (round 5): "fluid cannot be assessed" hedges SRF and IRF; so does the reader's own "unable"."""
    found = labels(cased(f"RE: {phrase} reliably - media opacity. Drusen visible.", case))["biomarkers"]
    assert (found["srf"], found["irf"]) == ("uncertain", "uncertain")


@SETTINGS
@given(named(NAMES), st.integers(2010, 2023), CASES)
def test_a_dated_treatment_is_history(finding, year, case):
    bid, name = finding
    text = cased(f"The left eye was treated in {year} for {name}. The current OCT shows a flat PED.", case)
    assert bid not in labels(text)["biomarkers"] or bid == "ped"


@SETTINGS
@given(st.sampled_from(["Grader 1 flagged IRF", "Grader flagged IRF", "First grader flagged IRF"]), CASES)
def test_another_grader_s_flag_is_history(flag, case):
    text = cased(f"{flag} - on review these are not cysts but a lamellar appearance; drusen only.", case)
    assert labels(text)["biomarkers"].get("irf") != "present"


@SETTINGS
@given(named(NAMES), named(NAMES), st.sampled_from(["", "confluent drusen, "]))
def test_a_minus_sign_denies_its_own_item_only(first, second, before):
    """ "confluent drusen, DLS -": the sign is notation of its item; a bare item before it stands (the round-8
    reading of "SHRM, PED -" as both absent holds for denial words, "SHRM, PED nil", not for the sign)."""
    (a, a_term), (b, b_term) = first, second
    if a == b:
        return
    found = labels(f"LE: {before}{a_term}, {b_term} -.")["biomarkers"]
    assert (found[a], found[b]) == ("present", "absent")
    assert labels(f"LE: {a_term}, {b_term} nil.")["biomarkers"] == {a: "absent", b: "absent"}


@SETTINGS
@given(named(NAMES), named(NAMES), st.sampled_from(["/", " & "]))
def test_findings_joined_in_one_item_share_its_sign(first, second, joiner):
    """ "SRF/IRF -": a slash or "&" keeps both findings in the signed item."""
    (a, a_term), (b, b_term) = first, second
    if a == b:
        return
    found = labels(f"OS: drusen +, {a_term}{joiner}{b_term} -.")["biomarkers"]
    assert (found[a], found[b]) == ("absent", "absent")


@SETTINGS
@given(
    named(NAMES),
    st.sampled_from(
        [
            "it is not possible to say that {f} is absent",
            "I can't say that {f} is absent",
            "whether a small amount of {f} is present cannot be assessed",
        ]
    ),
    CASES,
)
def test_a_statement_the_writer_cannot_make_hedges(finding, sentence, case):
    bid, name = finding
    text = cased(f"OCT OS: {sentence.format(f=name)} due to artefacts.", case)
    assert labels(text)["biomarkers"] == {bid: "uncertain"}, text


def test_stage_terms_are_unchanged_by_the_round():
    """The stage names the shared strategies draw still read as themselves (a guard for the new stage rules)."""
    for sid, terms in STAGE_TERMS.items():
        for term in terms:
            assert labels(f"Impression: {term}.")["stage"] == sid
