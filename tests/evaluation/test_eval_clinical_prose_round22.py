"""Rules from the twentieth writer's general set (round 22: styles_dev20.jsonl), as properties: the referral that
brought the patient, urgency words describing a finding, a visit for a scan only, a claim reconsidered, a weekday of
this week, the clinic's session named by its day, an eye monitored at the other eye's visits, a face-to-face visit in
shorthand, months in shorthand, a rescreen by the writer's own service, a return to the reader's care, the optometrist
named as who monitors, a review denied, and a referral level asked about."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)
WET = "OCT shows subretinal fluid and intraretinal cysts. Impression: active neovascular AMD."
IAMD = "Large drusen, no fluid. Intermediate AMD."
EAMD = "Scattered small drusen only, no fluid. Early AMD."


@SETTINGS
@given(
    st.sampled_from(["following a fast-track referral", "following an urgent referral", "after a routine referral"]),
    st.sampled_from(["from her optometrist", "from the GP", ""]),
    CASES,
)
def test_the_referral_that_brought_the_patient_is_no_plan(received, sender, case):
    """Class: referral history. The level of the referral received is the sender's, not this report's plan: an
    active eye injected today states no referral."""
    text = cased(f"I saw her today {received} {sender}. {WET} First injection given today.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(st.sampled_from(["non-urgent AMD-type change", "non-urgent changes", "non-urgent findings"]), CASES)
def test_urgency_describing_a_finding_is_no_level(words, case):
    """Class: urgency words describing a finding. The plan (community monitoring) decides."""
    text = cased(
        f"Advised that this describes {words}. No need for hospital referral - optometrist to continue monitoring.",
        case,
    )
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["3 months", "6 weeks", "4 months"]), st.sampled_from(["a scan only", "scan only"]), CASES)
def test_a_visit_for_a_scan_only_is_a_test(interval, only, case):
    """Class: a repeat scan (round 14): a scan-only slot names a test, no referral."""
    text = cased(f"Inactive wet AMD, no fluid. Treatment paused. Return in {interval} for {only}.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(st.sampled_from(["should be reconsidered urgently", "must be reconsidered urgently"]), CASES)
def test_a_claim_reconsidered_urgently_is_paperwork(words, case):
    """Class: urgency of paperwork (eval/README.md): an insurance claim's review is no referral."""
    text = cased(f"Geographic atrophy, no fluid. The claim for low-vision aids {words}.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(
    st.sampled_from(["Monday", "Wednesday", "Friday"]), st.sampled_from(["'s injection clinic", " clinic", ""]), CASES
)
def test_a_weekday_of_this_week_is_urgent(day, place, case):
    """Class: time frames under two weeks: a named day this week, like "before Friday"."""
    text = cased(f"New distortion. Plan: bring forward to this {day}{place} for OCT +/- injection.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(st.sampled_from(["Thursday", "Monday", "Friday"]), CASES)
def test_the_clinics_session_named_by_its_day_is_no_time_frame(day, case):
    """Class: the clinic's session in a heading ("Macular Clinic, Thursday list"): no weekday deadline."""
    text = cased(f"Dictation - Macular Clinic, {day} list\n{WET}\nPlan: injection given today, keep at 6 weeks.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(
    st.sampled_from(
        [
            "He will continue to have the left eye scanned at each right-eye injection visit",
            "It will continue to be imaged whenever he attends for his right injections",
            "Monitor with RE visits",
            "The left eye will be scanned at her injection visits",
        ]
    ),
    st.sampled_from(["", ", so no separate referral is needed"]),
    CASES,
)
def test_an_eye_monitored_at_the_other_eyes_visits_is_routine(plan, tail, case):
    """Class: who monitors and when: the fellow eye followed at the treated eye's visits is the hospital's review,
    routine, though a treatment is named for the other eye."""
    text = cased(f"Injection clinic. Left eye OCT: {EAMD} {plan}{tail}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["Needs F2F + OCTA 3/12", "F2F review 4/12", "F2F clinic in 3 months"]), CASES)
def test_a_face_to_face_visit_in_shorthand_is_routine(plan, case):
    """Class: follow-up shorthand: a face-to-face visit named is a hospital review."""
    text = cased(f"VC grading OD: drusen++, fluid -. {plan}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["review 6 mths", "Review in 4 mths", "F/U 12 mths", "review 1 mth"]), CASES)
def test_months_in_shorthand_are_months(plan, case):
    """Class: abbreviated units ("mths", "mth"): a review at months is routine, never a short interval."""
    text = cased(f"OCT LE: dry, medium drusen. Adv: {plan}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        ["we'll rescreen her in 6 months", "we'll rescreen him in 12 months", "We rescreen her in 6 months"]
    ),
    CASES,
)
def test_a_rescreen_by_the_writers_service_is_its_review(plan, case):
    """Class: who monitors: "we" rescreening is the writer's own service (routine), and a risk named before the comma
    does not reach the plan."""
    text = cased(f"iRORA, no fluid. As she remains at risk of progression to geographic atrophy, {plan}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["Rescreen in 12 months at the polyclinic", "Recall 2 years"]), CASES)
def test_a_community_rescreen_stays_none(plan, case):
    """The community's rescreen or recall (round 16) is unchanged."""
    text = cased(f"{EAMD} {plan}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "She can return to your care for monitoring every 6 to 12 months",
            "I have discharged him to your care",
            "She can remain under your care",
            "Optometrist to continue monitoring",
        ]
    ),
    CASES,
)
def test_a_return_to_the_readers_care_is_none(plan, case):
    """Class: dispositions back to the community: a letter to the optometrist or GP returning the patient."""
    text = cased(f"Dear Optometrist, {IAMD} {plan}. Please refer back promptly if she develops distortion.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["no review needed", "no review required", "review not required"]), CASES)
def test_a_review_denied_is_none(plan, case):
    """Class: follow-up denied, as round 21's "no further review"."""
    text = cased(f"Seen in HES. R eye: old disciform scar, no SRF/IRF. R eye - no treatment, {plan}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["can remain under my care", "should remain with me", "can stay under my care"]), CASES)
def test_a_level_asked_about_is_no_referral(rest, case):
    """Class: a referral asked about, not stated: the levels in a question "whether ... or" leave it open."""
    text = cased(
        f"Drusen seen. Could you let me know whether she needs to be seen urgently, routinely or {rest}?", case
    )
    assert labels(text)["referral"] is None, text


# Stage (round 22)


@SETTINGS
@given(
    st.sampled_from(
        [
            "I have not been able to decide between intermediate AMD and a quiescent MNV",
            "Opinions split between quiescent type 1 MNV and intermediate AMD; no consensus stage reached",
            "Model A: intermediate AMD. Model B: inactive nAMD. Consensus: not reached. No stage reported",
        ]
    ),
    CASES,
)
def test_an_undecided_panel_or_writer_states_no_stage(words, case):
    """Class: undecided stage: the writer or a panel that cannot decide, in other words."""
    text = cased(f"OCT: drusen and a double-layer sign, no fluid. {words}.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(st.sampled_from(["exudative MNV is confirmed", "active wet AMD is confirmed", "CNV is confirmed"]), CASES)
def test_a_stage_in_a_condition_is_not_stated(condition, case):
    """Class: a stage in a condition: "If X is confirmed we will start anti-VEGF" states no stage."""
    text = cased(
        f"Large drusen and a drusenoid PED. Plan: OCT-A next week. If {condition} we will start anti-VEGF.", case
    )
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(st.sampled_from(["There is a question of a trace of", "There is a question of"]), CASES)
def test_a_finding_put_as_a_question_is_uncertain(words, case):
    """Class: hedges: "a question of SRF" hedges it."""
    text = cased(f"Drusenoid PED. {words} subretinal fluid at the edge.", case)
    assert labels(text)["biomarkers"]["srf"] == "uncertain", text


@SETTINGS
@given(st.sampled_from(["DLS may indicate non-exudative MNV", "which may indicate a non-exudative MNV"]), CASES)
def test_a_stage_that_may_be_indicated_opens_the_stated_one(words, case):
    """Class: open stage (round 4's bare possibility): "may indicate" like "might indicate" sets the second stage
    against the stated one, so neither stands."""
    text = cased(f"Stage suggestion: intermediate AMD ({words}; clinical correlation advised).", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["ACTIVE", "active", "Inactive"]),
    st.sampled_from(["Activity assessment", "Activity grading"]),
    CASES,
)
def test_an_activity_assessment_field_states_the_activity(value, field, case):
    """Class: conclusion fields: a reading centre's activity field."""
    expected = "late_wet_inactive" if value.lower() == "inactive" else "late_wet_active"
    text = cased(f"IRF: present. SRF: absent.\n{field}: {value} (meets retreatment criterion).", case)
    assert labels(text)["stage"] == expected, text


@SETTINGS
@given(st.sampled_from(["right neovascular AMD", "right wet AMD", "right nAMD"]), CASES)
def test_the_side_as_the_diseases_adjective_names_the_eye(disease, case):
    """Class: eyes: "Mrs H's right neovascular AMD" names the right eye, so "Left eye: normal" is the fellow's."""
    text = cased(
        f"Mrs Horton's {disease} has not responded fully. OCT today shows persistent subretinal fluid.\n"
        "Left eye: normal.",
        case,
    )
    assert labels(text)["stage"] == "late_wet_active", text


@SETTINGS
@given(st.sampled_from(["early", "intermediate"]), CASES)
def test_the_older_name_of_the_disease_takes_its_stage(stage, case):
    """Class: the stage told in words next to the disease, under its older name ("age-related maculopathy")."""
    text = cased(f"Conclusion: age-related maculopathy, {stage} stage.", case)
    assert labels(text)["stage"] == stage, text


@SETTINGS
@given(st.sampled_from(["no signs of", "no evidence of", "no features of"]), CASES)
def test_the_disease_denied_in_full_words_is_healthy(denial, case):
    """Class: healthy named by the disease denied, as the knowledge base's "no signs of AMD"."""
    text = cased(
        f"Normal foveal depression. There are no drusen, no fluid and {denial} age-related macular degeneration.", case
    )
    assert labels(text)["stage"] == "healthy", text


@SETTINGS
@given(st.sampled_from(["at that visit", "at that time", "at the time"]), CASES)
def test_the_last_visits_scan_is_history(when, case):
    """Class: history against today: findings quoted from the last visit say nothing of this scan."""
    text = cased(
        f"Telephone triage. Reports wavy lines since yesterday. Last OCT reviewed: no SRF, no IRF {when}.", case
    )
    assert labels(text)["biomarkers"] == {}, text


@SETTINGS
@given(st.sampled_from(["Active nAMD", "active wet AMD"]), CASES)
def test_an_ai_output_field_ends_the_absent_list(diagnosis, case):
    """Class: sections: "Diagnosis suggestion:" starts a field of its own, so "Not detected:" does not deny it."""
    text = cased(f"Detected: SRF, IRF\nNot detected: SHRM, atrophy\nDiagnosis suggestion: {diagnosis}", case)
    assert labels(text)["stage"] == "late_wet_active", text


@SETTINGS
@given(
    st.sampled_from(
        [
            ("large drusen and focal RPE elevation, no fluid. Possible intermediate AMD.", "intermediate"),
            ("OCT shows SHRM under fovea with subretinal fluid. Provisional dx: possible nAMD", "late_wet_active"),
        ]
    ),
    CASES,
)
def test_an_optometrists_reason_for_referral_is_todays_reading(reason, case):
    """Class: sections: on a referral form the reason for referral is the optometrist's own reading of this scan,
    not history (refd-086, w20-085, w20-088 labels)."""
    words, stage = reason
    text = cased(f"GOS18 - Referral to Hospital Eye Service\nReason for referral: {words}\nUrgency: Routine", case)
    assert labels(text)["stage"] == stage, text


@SETTINGS
@given(st.sampled_from(["quiescent MNV", "inactive nAMD"]), st.sampled_from(["nil fluid", "nil SRF"]), CASES)
def test_a_denial_opening_its_own_item_does_not_reach_back(stage, denial, case):
    """Class: list scope: "quiescent MNV, nil fluid": "nil" before its finding denies that finding, not the item
    before the comma; "SRF, IRF nil" still denies both."""
    text = cased(f"Virtual clinic outcome LE: {stage}, {denial}, scar +.", case)
    assert labels(text)["stage"] == "late_wet_inactive", text
    both = labels(cased("LE: SRF, IRF nil.", case))["biomarkers"]
    assert both == {"srf": "absent", "irf": "absent"}, both


# Biomarker states (round 22)


@SETTINGS
@given(st.sampled_from(["seen by the optometrist", "noted by the GP", "reported by the optometrist"]), CASES)
def test_a_finding_named_as_the_referrers_is_history(reader, case):
    """Class: another reader's call: a finding the referrer saw is history, wherever it is written."""
    text = cased(f"Reason for referral: subretinal fluid {reader}.\nOCT today: large drusen.", case)
    assert "srf" not in labels(text)["biomarkers"], text


@SETTINGS
@given(st.sampled_from(["has gone", "has now gone", "have gone"]), st.sampled_from(["", " seen last time"]), CASES)
def test_a_finding_gone_today_is_absent(gone, before, case):
    """Class: history against today: what has gone is absent on this scan, though seen before ("resolved")."""
    text = cased(f"Persistent SRF, although the intraretinal fluid{before} {gone}.", case)
    assert labels(text)["biomarkers"]["irf"] == "absent", text


@SETTINGS
@given(st.sampled_from(["scarring is unchanged", "PED is flat", "RPE is irregular"]), CASES)
def test_and_the_opens_a_statement_of_its_own(clause, case):
    """Class: negation scope: "no fluid and the scarring is unchanged": the denial does not reach a finding of its
    own after "and the"."""
    text = cased(f"There was no fluid and the {clause}.", case)
    found = labels(text)["biomarkers"]
    assert found["srf"] == "absent" and "absent" not in {v for k, v in found.items() if k not in ("srf", "irf")}, text


@SETTINGS
@given(st.sampled_from(["SRF? low conf.", "SRF: possibly present (low confidence)", "SRF low confidence"]), CASES)
def test_an_automated_readers_low_confidence_hedges(words, case):
    """Class: hedges: a finding with low confidence after it is uncertain, though words follow its question mark."""
    text = cased(f"AUTO-FLAG R: {words} drusen+.", case)
    assert labels(text)["biomarkers"]["srf"] == "uncertain", text


@SETTINGS
@given(st.sampled_from(["unlikely", "very unlikely"]), CASES)
def test_a_field_answered_unlikely_is_ruled_out(value, case):
    """Class: field values: "PED: unlikely" is the reader's no."""
    text = cased(f"- Drusen: present\n- Pigment epithelial detachment: {value}\n- Subretinal fluid: not detected", case)
    assert labels(text)["biomarkers"]["ped"] == "absent", text


@SETTINGS
@given(st.sampled_from(["this is not yet atrophy", "there is not yet atrophy", "it is not yet GA"]), CASES)
def test_not_yet_denies(words, case):
    """Class: negation: "not yet" before a finding denies it ("yet" is no conjunction there)."""
    text = cased(f"Large drusenoid PED. Note the absence of hypertransmission - {words}.", case)
    assert labels(text)["biomarkers"]["rpe_atrophy"] == "absent", text


@SETTINGS
@given(st.sampled_from(["in my opinion", "in my view"]), CASES)
def test_the_writers_own_reading_after_anothers_call_is_current(words, case):
    """Class: another reader's call: after "what was called X", the writer's own reading is today's."""
    text = cased(f"OD: what was called 'wet AMD' is, {words}, a large drusenoid PED with no SRF.", case)
    assert labels(text)["biomarkers"]["ped"] == "present", text


@SETTINGS
@given(st.sampled_from(["He was referred with", "She was referred with", "They were referred with"]), CASES)
def test_the_reason_a_patient_was_referred_with_is_history(words, case):
    """Class: referral history: the finding a patient was referred with is the referrer's, not today's."""
    text = cased(f"{words} a possible pigment epithelial detachment. OCT today: drusen, no fluid.", case)
    assert "ped" not in labels(text)["biomarkers"], text


@SETTINGS
@given(st.sampled_from(["Reactivation suspected", "Suspected reactivation", "?reactivation"]), CASES)
def test_a_suspected_reactivation_leaves_the_activity_open(words, case):
    """Class: an open activity (like "activity uncertain"): a known nAMD with new fluid whose reactivation is only
    suspected states no stage (a suspicion is not stated, eval/README.md)."""
    text = cased(f"Pt known to MR (LE nAMD, discharged 2023). OCT LE: new intraretinal cysts and SRF. {words}.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(st.sampled_from(["old disciform scar", "disciform scar"]), CASES)
def test_a_disciform_scar_without_an_activity_word_states_no_stage(scar, case):
    """Class: a stage named indirectly: the scar's age is no activity verdict (dev10 b10-055, b10-145 and dev20 w20-075
    are labelled no stage); "inactive" or "stable" still pick inactive wet AMD."""
    assert labels(cased(f"R eye: {scar}, no SRF/IRF.", case))["stage"] is None
    assert labels(cased(f"R eye: stable {scar}, no SRF/IRF.", case))["stage"] == "late_wet_inactive"


@SETTINGS
@given(
    st.sampled_from(
        [
            ("Disease still active (low)", "late_wet_active"),
            ("Disease still active (mild)", "late_wet_active"),
            ("Inactive (dry since last visit)", "late_wet_inactive"),
            ("Quiescent (stable x3)", "late_wet_inactive"),
        ]
    ),
    CASES,
)
def test_an_activity_verdict_graded_in_brackets_is_a_verdict(verdict, case):
    """Class: activity verdicts: a bracketed grade after the verdict ends its item ("Disease still active (low).")."""
    words, stage = verdict
    text = cased(f"L eye T&E visit 7. SRF resolved, trace IRF persists. {words}. Inj given.", case)
    assert labels(text)["stage"] == stage, text
