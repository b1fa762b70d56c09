"""Rules from the thirty-second writer's general set (round 33: styles_dev32.jsonl), as properties: urgency as a noun,
a visit in a second-language word, the next dose by its abbreviation, a virtual clinic named by its adjective, a
treatment stopped beside a review, a virtual visit converted, a treatment needed on a weekday, the optometrist who
monitors, the eye that was the referral's reason, a fellow-eye field on one line, a slash between visit words, the
hospital's audit fields, an open activity, the RPE in other words, a doubt after an eye label, a denial denied, a
second place of fluid, a dose today with its eye, a bare decision to inject, a ranked-down diagnosis, the early
changes of AMD and a soft g in dictation."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)


# -- referral ---------------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(["with urgency", "as a matter of urgency", "with high urgency"]),
    st.sampled_from(["Conduct: start antiangiogenic therapy", "Refer to the retina service", "Start anti-VEGF"]),
    CASES,
)
def test_urgency_as_a_noun_is_urgent(urgency, plan, case):
    """Class: urgency in a noun phrase. "start antiangiogenic therapy with urgency" is "urgently"."""
    text = cased(
        f"Left eye: subretinal fluid and intraretinal cysts. Neovascular AMD in activity. {plan} {urgency}.", case
    )
    assert labels(text)["referral"] == "urgent", text


def test_urgency_denied_in_a_noun_stays_routine():
    assert labels("Drusen, no fluid. Refer to MR clinic, no urgency.")["referral"] == "routine"


@SETTINGS
@given(
    st.sampled_from(["Revision", "revision"]),
    st.sampled_from(["in 6 months", "in one year", "in 12 months", "after 6 months"]),
    CASES,
)
def test_a_revision_at_an_interval_is_a_review(visit, interval, case):
    """Class: a visit in other words. A Spanish or Portuguese writer's "Revision in 6 months" (revisión, revisão) is
    a review at an interval, routine (eval/README.md round 9)."""
    text = cased(f"Right eye: soft confluent drusen, no exudation. Dry AMD. {visit} {interval}.", case)
    assert labels(text)["referral"] == "routine", text


def test_a_revision_without_an_interval_names_no_visit():
    assert labels("Right eye: soft drusen, no fluid. Revision of the diagnosis pending.")["referral"] is None


@SETTINGS
@given(
    st.sampled_from(["Next IVOM in 10 weeks", "Next IVOM 12 weeks", "Next IVI in 8 weeks", "next ivom in 16 wks"]),
    CASES,
)
def test_the_next_dose_by_its_abbreviation_keeps_an_inactive_eyes_schedule(plan, case):
    """Class: the next dose in any word for it. "Next IVOM in 10 weeks" for an eye stated inactive is its kept
    schedule, routine, as "Next injection in 8 weeks" (eval/README.md round 31)."""
    text = cased(
        f"Left eye: status after 15 IVOM. No fluid. Findings consistent with inactive neovascular AMD. {plan}.", case
    )
    assert labels(text)["referral"] == "routine", text


def test_the_next_dose_for_an_active_eye_is_the_treatment():
    text = "Left eye: new SRF. Active neovascular AMD. IVOM today. Next IVOM in 4 weeks."
    assert labels(text)["referral"] is None


@SETTINGS
@given(
    st.sampled_from(
        ["Continue virtual 12/12", "continue virtual 6/12", "Virtual in 6 months", "Continue virtual 16/52"]
    ),
    CASES,
)
def test_a_virtual_clinic_named_by_its_adjective_is_a_review(plan, case):
    """Class: a virtual clinic named by its adjective. "Continue virtual 12/12" is "VC 12/12", routine."""
    text = cased(f"VC L: GA stable, no fluid. {plan}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["no further injections", "no more injections", "no further anti-VEGF", "no further IVOM"]),
    st.sampled_from(["review 4 months", "review in 6 months", "RTC 6/12"]),
    CASES,
)
def test_a_treatment_stopped_denies_no_review_after_it(stop, review, case):
    """Class: a treatment decision in other words. "observe, no further injections, review 4 months" stops the
    injections; the review listed after it stands, routine, as after "no further treatment"."""
    text = cased(f"RE: Wet AMD, 3 years of treatment. Fibrotic scar, no fluid. Plan: observe, {stop}, {review}.", case)
    assert labels(text)["referral"] == "routine", text


def test_a_treatment_and_referral_denied_together_stay_denied():
    """ "No further injections or review needed" still denies the review: the denial joins both."""
    text = "RE: inactive scar. No further injections or referral is required."
    assert labels(text)["referral"] == "none"


@SETTINGS
@given(
    st.sampled_from(["Convert to F2F clinic", "Convert to face-to-face clinic", "convert to clinic"]),
    st.sampled_from([("within 2/52", "urgent"), ("within 1 week", "urgent"), ("in 3 months", "routine")]),
    CASES,
)
def test_a_virtual_visit_converted_is_the_plans_visit(convert, frame, case):
    """Class: a visit converted. "Convert to F2F clinic within 2/52" turns a virtual review into a clinic visit: the
    plan, read by its time frame, not a disease converting ("convert to" hypothetical)."""
    interval, level = frame
    text = cased(f"VC: OS - PED enlarging. {convert} {interval}.", case)
    assert labels(text)["referral"] == level, text


def test_a_disease_converting_stays_hypothetical():
    """ "Risk to convert to wet AMD": the disease is a risk, no stage."""
    assert labels("Large drusen; watch to convert to wet AMD.")["stage"] is None


@SETTINGS
@given(
    st.sampled_from(["Needs injection", "needs an injection", "Needs anti-VEGF", "Requires injection"]),
    st.sampled_from(["Monday", "on Friday", "Wednesday", "on Tuesday"]),
    CASES,
)
def test_a_treatment_needed_on_a_weekday_is_urgent(need, day, case):
    """Class: a weekday of this week. "Needs injection Monday - booked" is within days, as "before Friday"
    (eval/README.md round 21)."""
    text = cased(f"OCT R: IRF increased, SRF new. Reactivated. {need} {day} - booked.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(
    st.sampled_from(["Your optometrist", "Her optometrist", "His optician", "The optometrist"]),
    st.sampled_from(
        ["can keep an eye on this for you", "will keep an eye on this", "can monitor this", "will monitor it"]
    ),
    CASES,
)
def test_the_optometrist_who_monitors_with_a_modal_is_none(who, verb, case):
    """Class: who monitors. "Your optometrist can keep an eye on this" hands monitoring to the community, none, as
    "optometrist to monitor"."""
    text = cased(f"The scan showed some small drusen - we call this early AMD. {who} {verb}.", case)
    assert labels(text)["referral"] == "none", text


def test_an_optometrist_named_as_the_sender_is_no_monitoring():
    text = "Your optometrist noticed fluid. OCT: SRF. Active wet AMD. Refer urgently."
    assert labels(text)["referral"] == "urgent"


@SETTINGS
@given(
    st.sampled_from(["left", "right"]),
    st.sampled_from(["which was the reason for your referral", "the reason for your referral"]),
    CASES,
)
def test_the_eye_that_was_the_referrals_reason_is_this_reports_eye(eye, reason, case):
    """Class: eyes. A letter back names the other eye's treatment first; the eye "which was the reason for your
    referral" is the one reported, so its findings, stage and plan are read."""
    other = {"left": "right", "right": "left"}[eye]
    text = cased(
        f"I reviewed Mary in the medical retina clinic today. Her {other} eye continues to be treated for neovascular "
        f"AMD in our injection service. Her {eye} eye, {reason}, shows a few medium-sized drusen only, with no fluid. "
        f"I would consider this early AMD. For the {eye} eye she can continue monitoring with her optometrist.",
        case,
    )
    got = labels(text)
    assert got["stage"] == "early" and got["referral"] == "none" and got["biomarkers"]["drusen"] == "present", text


@SETTINGS
@given(
    st.sampled_from(["Fellow eye: GA, stable.", "Other eye: drusen only.", "Fellow eye: scar, dry."]),
    st.sampled_from([("Continue current 8-week interval.", "routine"), ("Review in 3 months.", "routine")]),
    CASES,
)
def test_a_fellow_eye_field_on_one_line_ends_with_its_line(field, plan, case):
    """Class: a fellow-eye field. "Fellow eye: GA, stable." with its value on its line is one field: the next line's
    plan is this eye's again."""
    line, level = plan
    text = cased(f"Virtual review - LE\nFluid: none\nComment: considered inactive. {field}\n{line}", case)
    got = labels(text)
    assert got["referral"] == level and got["stage"] == "late_wet_inactive", text


def test_a_fellow_eye_heading_on_its_own_line_keeps_the_lines_under_it():
    """A heading alone on its line opens a section: the findings under it stay the fellow eye's."""
    text = "LE: large drusen, no fluid. Intermediate AMD.\nFellow eye:\nSRF and IRF. Active nAMD."
    got = labels(text)
    assert got["stage"] == "intermediate" and got["biomarkers"]["srf"] == "absent"


@SETTINGS
@given(
    st.sampled_from(["Review SOS / after 6 months", "Review SOS/after 6 months", "review PRN / in 6 months"]),
    CASES,
)
def test_a_slash_between_visit_words_joins_alternatives(plan, case):
    """Class: a time frame in any notation. "Review SOS / after 6 months" (as needed or after 6 months) is a review
    at an interval, routine: the slash joins the alternatives of the one visit."""
    text = cased(f"Left eye OCT reveals few drusen. No SRF/IRF. Impression - Early ARMD. Adv: {plan}.", case)
    assert labels(text)["referral"] == "routine", text


def test_a_test_after_the_slash_is_still_a_repeat_scan():
    """ "Review / OCT in 6 months": the test named before the interval makes it a repeat scan (round 14)."""
    assert labels("Drusen, no fluid. OCT / FAF in 6 months.")["referral"] is None


# -- stage ------------------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(["?wet AMD", "?nAMD", "query wet AMD"]),
    st.sampled_from([("intermediate AMD", "intermediate"), ("early AMD", "early"), ("GA", "late_dry")]),
    CASES,
)
def test_the_hospitals_diagnosis_in_an_audit_answers_the_referrers_query(query, diagnosis, case):
    """Class: copy-forward entries. "Optom referral reason: ?wet AMD" is the referrer's query, history like "optom
    query"; the hospital's "HES finding" and "HES diagnosis" fields are today's findings and conclusion."""
    name, stage = diagnosis
    text = cased(
        f"Audit tool - AMD referral accuracy\nCase ID 097 | Eye: L\nOptom referral reason: {query}\n"
        f"HES finding: drusenoid PED, no SRF, no IRF\nHES diagnosis: {name}\nOutcome: discharged to community optometrist",
        case,
    )
    got = labels(text)
    assert got["stage"] == stage and got["biomarkers"]["srf"] == "absent", text


def test_a_letters_own_reason_for_referral_stays_its_findings():
    """ "Reason for referral:" in an optometrist's own letter holds the findings, not a copied query."""
    text = "Reason for referral: OCT left shows large drusen and SRF.\nUrgency: urgent"
    assert labels(text)["biomarkers"]["srf"] == "present"


@SETTINGS
@given(
    st.sampled_from(["activity cannot be judged", "activity cannot be assessed", "activity not assessable"]),
    st.sampled_from(["Known nAMD", "Known wet AMD", "Treated MNV"]),
    CASES,
)
def test_an_activity_the_scan_cannot_show_leaves_the_stage_open(activity, disease, case):
    """Class: an open activity. "Known nAMD, activity cannot be judged" is "nAMD, activity uncertain": no stage
    (eval/README.md, issue 18)."""
    text = cased(f"LE: image quality poor due to cataract; fluid cannot be assessed. {disease}, {activity}.", case)
    assert labels(text)["stage"] is None, text


def test_a_judged_activity_keeps_the_stage():
    assert labels("LE: no fluid. Known nAMD, inactive. Extend to 10 weeks.")["stage"] == "late_wet_inactive"


@SETTINGS
@given(
    st.sampled_from(
        ["1 more injection OD today", "one more injection OS today", "Eylea RE today", "injection LE today"]
    ),
    CASES,
)
def test_a_dose_today_with_its_eye_between_is_treatment_now(plan, case):
    """Class: treatment given now. "1 more injection OD today" is "injection today" with the eye named: active wet
    AMD when the report names no stage (eval/README.md round 18)."""
    text = cased(f"OD: post 3 inj. OCT: SRF resolved, IRF minimal persisting. Plan: {plan}.", case)
    assert labels(text)["stage"] == "late_wet_active", text


def test_a_dose_today_yields_to_a_stated_activity():
    """ "Inactive. Eylea OS today": a treat-and-extend dose, the stated inactivity wins."""
    assert labels("Inactive. Eylea OS today, extend to 10 weeks.")["stage"] == "late_wet_inactive"


@SETTINGS
@given(st.sampled_from(["Inject.", "Plan: inject.", "Inject;", "Plan: Inject."]), CASES)
def test_a_bare_decision_to_inject_is_treatment_now(plan, case):
    """Class: treatment now for activity. "trace IRF. Inject." is the decision "inject today" (round 18)."""
    text = cased(f"L eye: trace IRF. {plan}", case)
    assert labels(text)["stage"] == "late_wet_active", text


def test_a_decision_to_inject_for_another_condition_names_no_amd_stage():
    assert labels("DMO with IRF. Inject.")["stage"] is None


def test_a_conditional_injection_names_no_stage():
    assert labels("Drusen. Inject if SRF recurs.")["stage"] is None


@SETTINGS
@given(
    st.sampled_from(["a vitelliform deposit", "a pseudovitelliform lesion", "fibrin"]),
    st.sampled_from(["SHRM from MNV", "type 1 MNV", "neovascular AMD"]),
    CASES,
)
def test_a_diagnosis_ranked_below_another_is_open(favoured, ranked, case):
    """Class: the ranked-down alternative. "more likely a vitelliform deposit than SHRM from MNV": the writer
    ranks another reading above the MNV, so no stage, as round 23 reads "more likely ... than" between stages."""
    text = cased(f"R eye: subfoveal hyperreflective lesion, more likely {favoured} than {ranked}; no fluid.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["Fewer than five small drusen", "More than 3 drusen", "Drusen larger than 125 um"]),
    st.sampled_from([("intermediate AMD", "intermediate"), ("early AMD", "early")]),
    CASES,
)
def test_a_count_or_measure_compared_ranks_nothing(measure, stage, case):
    """A count or a measure ("fewer than five", "larger than 125 um") is no ranking: the drusen are there and the
    stage after them stands."""
    name, sid = stage
    text = cased(f"{measure}, {name}. RPE intact.", case)
    got = labels(text)
    assert got["stage"] == sid and got["biomarkers"]["drusen"] == "present", text


def test_a_comparison_with_the_last_visit_stays_a_comparison():
    """ "slightly more than last time" compares visits: the IRF stays present."""
    got = labels("LE: persistent small IRF, slightly more than last time. SRF absent.")
    assert got["biomarkers"]["irf"] == "present"


@SETTINGS
@given(
    st.sampled_from(["early changes of", "an early sign of", "early signs of"]),
    st.sampled_from(["age-related macular degeneration", "AMD", "macular degeneration"]),
    CASES,
)
def test_the_early_changes_of_amd_state_early_amd(changes, disease, case):
    """Class: a stage named as the disease's changes. "shows early changes of age-related macular degeneration" is
    early AMD (three writers label it so)."""
    text = cased(f"The scan of your left eye shows {changes} {disease}: small deposits called drusen.", case)
    assert labels(text)["stage"] == "early", text


def test_changes_without_a_severity_name_no_stage():
    assert labels("The scan shows changes of age-related macular degeneration: drusen.")["stage"] is None


@SETTINGS
@given(st.sampled_from(["jeografic atrophy", "jeographic atrophy"]), CASES)
def test_a_soft_g_dictated_as_j_is_the_word(slip, case):
    """Class: speech-recognition slips. A soft g sounds as j: "jeografic atrophy" is geographic atrophy."""
    text = cased(f"Left eye shows {slip} involving the fovea. No sign of neovascular activity.", case)
    assert labels(text)["stage"] == "late_dry", text


# -- biomarker states -------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(["alterations", "disturbance", "hyperpigmentation", "disturbances"]),
    st.sampled_from(["mild RPE", "RPE", "focal RPE"]),
    CASES,
)
def test_the_rpe_changed_in_other_words_is_irregular(word, rpe, case):
    """Class: the RPE's irregularity in other words. "mild RPE alterations", "RPE disturbance", "RPE
    hyperpigmentation" are the knowledge base's pigmentary changes, RPE irregularity."""
    text = cased(f"OCT shows few drusen with {rpe} {word}. No SRF/IRF.", case)
    assert labels(text)["biomarkers"]["rpe_irregularity"] == "present", text


def test_pigment_clumping_stays_hyperreflective_foci():
    """Writers label "pigment clumping (HRF)" as hyperreflective foci, not RPE irregularity."""
    got = labels("OS: intermediate AMD, large drusen + pigment clumping (HRF). No fluid.")["biomarkers"]
    assert "rpe_irregularity" not in got and got["hyperreflective_foci"] == "present"


@SETTINGS
@given(
    st.sampled_from(["OD", "RE", "LE", "Left eye"]),
    st.sampled_from(["cannot exclude", "cannot rule out"]),
    st.sampled_from(["a small amount of SRF under the PED edge", "SRF", "trace IRF"]),
    CASES,
)
def test_a_doubt_after_an_eye_label_reads_forward(eye, hedge, finding, case):
    """Class: a doubt after an eye label. "OD: cannot exclude a small amount of SRF": the eye is the field, so the
    doubt hedges the finding after it, as without the label."""
    text = cased(f"{eye}: {hedge} {finding}. Wet AMD.", case)
    bid = "irf" if "IRF" in finding else "srf"
    assert labels(text)["biomarkers"][bid] == "uncertain", text


def test_a_finding_fields_doubt_still_reads_back():
    """ "SRF: cannot exclude a small amount at the PED margin": the field's value hedges the field."""
    assert labels("SRF: cannot exclude a small amount at the PED margin")["biomarkers"]["srf"] == "uncertain"


@SETTINGS
@given(st.sampled_from(["not free of", "not entirely free of", "not completely free of"]), CASES)
def test_a_denial_denied_names_the_umbrella(denial, case):
    """Class: a denial denied. "the scan is not free of fluid" asserts fluid, the umbrella, which names no
    particular biomarker (eval/README.md): nothing is ruled out."""
    text = cased(f"OD: the scan is {denial} fluid. Active nAMD, restart injections.", case)
    got = labels(text)["biomarkers"]
    assert "srf" not in got and "irf" not in got, text


def test_free_of_fluid_still_denies():
    got = labels("OD: the scan is free of fluid.")["biomarkers"]
    assert got["srf"] == "absent" and got["irf"] == "absent"


@SETTINGS
@given(
    st.sampled_from(["regressive", "regredient", "progressive"]),
    st.sampled_from(["pigment epithelial detachment", "PED"]),
    CASES,
)
def test_a_finding_with_its_course_is_its_own_item(course, ped, case):
    """Class: list and negation scope. "no intraretinal or subretinal fluid, pigment epithelial detachment
    regressive": the PED's course makes it an item of its own, present."""
    text = cased(f"Left eye: no intraretinal or subretinal fluid, {ped} {course}.", case)
    got = labels(text)["biomarkers"]
    assert got["ped"] == "present" and got["srf"] == "absent", text


@SETTINGS
@given(
    st.sampled_from(["and also in the retina", "and additionally within the retina", "and also within the retina"]),
    CASES,
)
def test_a_second_place_after_an_adverb_is_the_same_fluid(second, case):
    """Class: an umbrella term named by where it lies. "fluid under the retina and also in the retina" is SRF and
    IRF, as "fluid under the retina and in the retina"."""
    text = cased(f"On the OCT of your left eye I see fluid under the retina {second}.", case)
    got = labels(text)["biomarkers"]
    assert got["srf"] == "present" and got["irf"] == "present", text


def test_an_adverb_before_another_words_leaves_the_first_place():
    got = labels("Fluid under the retina and also drusen.")["biomarkers"]
    assert got["srf"] == "present" and "irf" not in got


@SETTINGS
@given(st.sampled_from(["cystoid macula edema", "cystoid macula oedema"]), CASES)
def test_cystoid_macula_oedema_is_intraretinal_fluid(words, case):
    """Vocabulary (curricula/knowledge/biomarkers.yaml): the noun "macula" for "macular" in cystoid oedema."""
    text = cased(f"O.D., OCT shows {words} and subretinal fluid.", case)
    assert labels(text)["biomarkers"]["irf"] == "present", text


def test_a_finding_that_regressed_is_gone():
    """ "regressed" (went away) still denies: only the adjective of its course makes an item of its own."""
    assert labels("Left eye: no fluid, PED regressed.")["biomarkers"]["ped"] == "absent"


def test_no_more_than_a_trace_is_a_measure():
    """ "no more than trace SRF" bounds the amount: the SRF is there, neither ruled out nor ranked below another."""
    assert labels("LE: no more than trace SRF.")["biomarkers"]["srf"] == "present"
