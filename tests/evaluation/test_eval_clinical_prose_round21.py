"""Rules from the nineteenth writer's general set (round 21: styles_dev19.jsonl), as properties: a schedule verb with
its interval in weeks and a dosing interval ("q12w") as treat-and-extend, injections spaced out, a visit or a treatment
needed today, a hospital discharge as no disposition, virtual and shorthand follow-up rhythms, dispositions back to the
community in more words, the reader's own care, an action about the macula denied, community care in the meantime,
the stage word after the disease, a severity field, a call declined, a drug switched for activity, and the activity in
a disease's name as its diagnosis."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)
DRY = "No SRF, no IRF. Stable."
IAMD = "Large drusen, no fluid. Intermediate AMD."
HEALTHY = "OCT normal, no drusen, no fluid."


@SETTINGS
@given(
    st.sampled_from(
        [
            "keep 12 wks",
            "Keep 10 weeks",
            "maintain 10/52 and reassess",
            "interval kept at 10 wks",
            "extend to q12w",
            "Extend to Q14WK",
            "extended to 16/52",
            "continue q8w",
        ]
    ),
    CASES,
)
def test_a_schedule_verb_with_weeks_is_treat_and_extend(plan, case):
    """Class: schedules kept or lengthened (round 7): the interval in weeks names the treatment, so the eye's own
    clinic keeps its review (routine) without the word "interval" or a drug named."""
    text = cased(f"RE: {DRY} {plan}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["keep 12 wks", "maintain 10/52", "extend to q12w"]), CASES)
def test_a_schedule_with_activity_is_the_treatment(plan, case):
    """With fluid present the plan is the treatment itself: no referral."""
    text = cased(f"RE: new SRF and IRF. Inject today, {plan}.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(st.sampled_from(["Q1 2024 audit", "q2 visits", "FAQ 12 weeks"]), CASES)
def test_a_q_before_a_number_without_weeks_is_no_dosing_interval(words, case):
    """Only "q" with a number and a week unit is a dosing interval; a quarter or a word is left as written."""
    text = cased(f"{IAMD} {words}.", case)
    assert labels(text)["stage"] == "intermediate", text


@SETTINGS
@given(st.sampled_from(["space out your injections", "spaced out her injections", "are spacing out the injections"]))
def test_injections_spaced_out_are_lengthened(plan):
    text = f"Your wet macular degeneration is quiet, there is no fluid. Because of this we {plan}: next in 12 weeks."
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Retina to see today",
            "Dr Patel to see today",
            "Needs anti-VEGF today before discharge",
            "needs injection today",
            "Requires an injection today",
        ]
    ),
    CASES,
)
def test_a_visit_or_treatment_needed_today_is_urgent(plan, case):
    """Class: same-day dispositions; a need the writer hands on, unlike the writer's own "inject today"."""
    text = cased(f"OD: new SRF + IRF, active nAMD. {plan}.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(st.sampled_from(["before discharge", "prior to discharge", "before his discharge"]), CASES)
def test_a_hospital_discharge_is_no_disposition(words, case):
    text = cased(f"Ward referral: {IAMD} Please review {words}. Review in 6 months.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Continue 12-monthly virtual monitoring",
            "Continue 6-monthly virtual review",
            "Continue annual virtual review",
            "VC 16/52",
            "VC in 6 months",
            "Next appt 6/12",
            "Keep 6/12 GA clinic appt",
            "Follow-up visit in 3 mo",
            "Appt 6/12",
            "Continue yearly virtual clinic",
        ]
    ),
    CASES,
)
def test_virtual_and_shorthand_follow_up_is_routine(plan, case):
    """Class: who monitors and when: a virtual clinic's rhythm or interval, an appointment in shorthand."""
    text = cased(f"GA temporal to fovea, no fluid. {plan}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Return to optometry 1 yr",
            "Returned to referring optometrist",
            "Back to optometry",
            "Review with polyclinic optometrist yearly",
            "Review with her optometrist in 12 months",
            "Advised routine eye check yearly",
            "Routine eye test in 2 years",
            "Return to primary care",
            "No further review needed",
        ]
    ),
    CASES,
)
def test_dispositions_back_to_the_community_are_none(plan, case):
    """Class: community dispositions in any words: the optometrist's service, the referring optometrist, an eye check."""
    text = cased(f"{HEALTHY} {plan}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["his", "her", "their"]), st.sampled_from(["routine", "usual"]), CASES)
def test_the_readers_own_care_continued_is_none(pronoun, word, case):
    text = cased(f"{HEALTHY} No follow-up with retina is required; please continue {pronoun} {word} care.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "No action re macula",
            "No action regarding the macula",
            "No action about the macula",
            "No action on the macula",
        ]
    ),
    CASES,
)
def test_an_action_about_the_macula_denied_is_none(plan, case):
    text = cased(f"Glaucoma clinic. Incidental: few drusen, otherwise unremarkable. {plan}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["your office", "your practice", "your surgery"]), CASES)
def test_no_action_for_the_readers_office_leaves_the_schedule(party, case):
    """Class: what a community party need not do (round 15's "No action required from the practice")."""
    text = cased(
        f"nAMD, disease quiescent. {DRY} Interval extended to 12 weeks. No action required from {party}.", case
    )
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["in the meantime", "meanwhile", "in the interim"]), CASES)
def test_community_care_in_the_meantime_yields_to_the_review(interim, case):
    """Community care beside a hospital review is interim care; alone it stays none."""
    care = f"he could continue his annual eye checks with his optometrist {interim}"
    text = cased(f"{IAMD} We will see him again in the medical retina clinic in 12 months; {care}.", case)
    assert labels(text)["referral"] == "routine", text
    alone = cased(f"{IAMD} He should continue his eye checks with his optometrist {interim}.", case)
    assert labels(alone)["referral"] == "none", alone


@SETTINGS
@given(st.sampled_from([("AMD EARLY", "early"), ("ARMD early", "early"), ("AMD intermediate", "intermediate")]), CASES)
def test_the_stage_word_after_the_disease_states_it(words, case):
    phrase, stage = words
    text = cased(f"OCT LE: macula flat, no fluid, scattered drusen. {phrase}. Recall 12m.", case)
    assert labels(text)["stage"] == stage, text


@SETTINGS
@given(CASES)
def test_an_early_finding_after_amd_is_no_stage(case):
    text = cased("LE OCT: iRORA temporal to the fovea. No fluid. Dx: AMD with early atrophy (iRORA).", case)
    assert labels(text)["stage"] != "early", text


@SETTINGS
@given(st.sampled_from(["AMD severity", "Severity", "Disease severity"]), CASES)
def test_a_severity_field_states_the_stage(heading, case):
    text = cased(f"OS: drusen present; no fluid. {heading}: intermediate.", case)
    assert labels(text)["stage"] == "intermediate", text


@SETTINGS
@given(st.sampled_from(["not enough to call it active", "insufficient to call it active"]), CASES)
def test_a_call_declined_leaves_the_stage_open(words, case):
    text = cased(f"MR MDT: L eye. PED + ?trace SRF. Consensus: {words}; monitor. See in 4 weeks.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(st.sampled_from(["Switch to faricimab today", "Switched to faricimab", "switching to faricimab"]), CASES)
def test_a_drug_switched_for_activity_is_active(plan, case):
    text = cased(f"OD persistent SRF despite 4-weekly aflibercept x6. {plan}. RTC 4 wks.", case)
    assert labels(text)["stage"] == "late_wet_active", text


@SETTINGS
@given(CASES)
def test_the_activity_in_a_diseases_name_yields_to_its_state_today(case):
    """ "exudative AMD" read as active by its own word is the diagnosis's name, weak: a stated activity wins."""
    text = cased(
        "Audit, L eye. Documentation: 'nAMD, inactive, no SRF/IRF, extend interval to 16 wks'. Code H35.3223 "
        "(exudative AMD, left eye, with inactive scar) supported.",
        case,
    )
    assert labels(text)["stage"] == "late_wet_inactive", text


@SETTINGS
@given(st.sampled_from(["OCT normal – no drusen, RPE smooth", "OCT normal - no drusen, RPE intact"]), CASES)
def test_an_anchored_word_does_not_reach_past_another_finding(findings, case):
    """ "normal" before "no drusen, RPE smooth" is the scan's: another finding between it and "RPE" has it."""
    text = cased(f"R eye {findings}. Recall 2 years.", case)
    assert labels(text)["stage"] == "healthy", text
    assert labels(cased("RPE with drusen, irregular.", case))["biomarkers"].get("rpe_irregularity") is None


@SETTINGS
@given(st.sampled_from(["HES referral", "referral", "treatment", "anti-VEGF"]), CASES)
def test_criteria_for_care_are_no_definition_the_stage_fails(care, case):
    """Class: a care decision's criteria; a finding's own criteria ("does not meet cRORA criteria") still deny."""
    text = cased(f"Several small drusen, no fluid. Early AMD — does not meet criteria for {care}.", case)
    assert labels(text)["stage"] == "early", text
    denied = cased("Hypertransmission 200 µm; lesion does not meet cRORA criteria.", case)
    assert labels(denied)["stage"] != "late_dry", denied


@SETTINGS
@given(
    st.sampled_from(["LE quiescent", "OD inactive", "RE quiet", "OS stable, inactive"]),
    st.sampled_from(["T&E: +2 wk to 14/52", "Faricimab #12"]),
    CASES,
)
def test_an_eyes_activity_verdict_states_inactive_wet(verdict, plan, case):
    """Class: an activity verdict as a list item, with the eye named before it."""
    text = cased(f"{verdict}, no SRF/IRF, fibrosis stable. {plan}.", case)
    assert labels(text)["stage"] == "late_wet_inactive", text


@SETTINGS
@given(st.sampled_from(["–", "-", "—"]), CASES)
def test_a_verdict_before_a_dash_is_an_item(dash, case):
    text = cased(f"OS treated eye: dry, no SRF/IRF, inactive {dash} extend to q12w.", case)
    assert labels(text)["stage"] == "late_wet_inactive", text


@SETTINGS
@given(
    st.sampled_from(["IRF", "SRF", "PED"]),
    st.sampled_from(
        ["slightly more than last time", "smaller than at the last visit", "larger compared with last time"]
    ),
    CASES,
)
def test_a_comparison_with_the_last_visit_is_today(finding, comparison, case):
    """Class: a comparison with the last visit says what the finding is now, as "unchanged since last visit" does."""
    text = cased(f"Virtual MR review LE: persistent small {finding}, {comparison}. Review in 4 weeks.", case)
    assert labels(text)["biomarkers"].get(finding.lower()) == "present", text


@SETTINGS
@given(st.sampled_from([">63 µm", "> 125 um", "larger than 125 microns", "over 63µm", "≥63µm"]), CASES)
def test_a_size_threshold_after_a_denied_finding_says_nothing_of_it(threshold, case):
    """ "No drusen >63 µm" denies only the larger drusen, like "no large drusen" (eval/README.md)."""
    text = cased(f"Control cohort, OS: No drusen {threshold}. No fluid.", case)
    assert "drusen" not in labels(text)["biomarkers"], text
    assert labels(cased("No drusen. No fluid.", case))["biomarkers"]["drusen"] == "absent"
    # a field answering its own criterion, and a share that is no size, still deny
    assert labels(cased("Drusen >= 125 µm: No\nSRF: No", case))["biomarkers"]["drusen"] == "absent"
    assert labels(cased("No drusen >50% of the area.", case))["biomarkers"]["drusen"] == "absent"


@SETTINGS
@given(st.sampled_from(["Initially thought there was", "At first thought there was", "Was initially thought to be"]))
def test_a_first_impression_corrected_is_not_the_finding(opening):
    text = f"OD OCT: {opening} a small pocket of SRF temporally, but on closer look it is shadowing — no SRF. iAMD."
    assert labels(text)["biomarkers"]["srf"] == "absent", text


@SETTINGS
@given(st.sampled_from(["exudative AMD", "Exudative AMD"]), CASES)
def test_a_known_disease_named_with_its_activity_is_the_standing_diagnosis(name, case):
    """ "Known exudative AMD": the diagnosis; its activity today is read from the findings (no fluid: inactive)."""
    text = cased(f"Summary: Known {name} OS, treated since 2021. Today's OCT: no SRF, no IRF. Disease quiescent.", case)
    assert labels(text)["stage"] == "late_wet_inactive", text
    active = cased(f"Summary: Known {name} OS. Today's OCT: new SRF.", case)
    assert labels(active)["stage"] == "late_wet_active", active


@SETTINGS
@given(st.sampled_from(["an atrophic patch temporally", "a PED nasally", "an area of SHRM"]), CASES)
def test_and_an_article_after_a_comma_opens_a_new_item(item, case):
    """Class: list scope: ", and a/an ..." after a denied finding is a statement of its own."""
    text = cased(f"Today's OCT shows subretinal fibrosis, no fluid, and {item}.", case)
    found = labels(text)["biomarkers"]
    assert "present" in {found.get(b) for b in ("rpe_atrophy", "ped", "shrm")}, text
    assert found["srf"] == "absent", text


@SETTINGS
@given(
    st.sampled_from(["Stay at 16 weeks", "Hold at 12 weeks", "Remain at 12/52", "T&E +2/52", "Extend by 2/52"]), CASES
)
def test_a_schedule_held_or_stepped_is_treat_and_extend(plan, case):
    """Class: schedules kept or lengthened: held where it is, or a step ("+2/52") that is no two-week time frame."""
    text = cased(f"RE: no SRF, no IRF, nAMD inactive. {plan}.", case)
    assert labels(text)["referral"] == "routine", text
