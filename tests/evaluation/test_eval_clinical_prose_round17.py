"""Rules from the fifteenth writer's referral-heavy set (round 17: styles_dev15.jsonl), as properties: who acts (a
community party's no-action, the GP's urgent review of something else, a community visit that was), schedules kept,
community care kept or set aside, forms, the coming days, pathways named for a suspected diagnosis; stages joined by a
slash, services named by a stage, health services, failed definitions, the referrer's history; prefixed signs and the
findings' scope."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)
IAMD = "Large drusen, no fluid. Intermediate AMD."
GA = "Geographic atrophy, no fluid."
INACTIVE = "Wet AMD, quiescent: flat scar, no fluid."
ACTIVE = "Active nAMD: new SRF and SHRM."
COMMUNITY = ["primary care", "the GP", "the practice"]


@SETTINGS
@given(
    st.sampled_from(
        [
            "No action needed from primary care.",
            "No further action from the GP.",
            "GP to take no further action.",
            "No action required by primary care.",
        ]
    ),
    st.sampled_from(["Interval extended to 14 weeks.", "Continue 8-weekly injections.", "Keep interval at 10 weeks."]),
    CASES,
)
def test_a_community_partys_no_action_leaves_the_schedule_standing(no_action, schedule, case):
    """What primary care need not do is no plan of the eye's: the hospital's schedule for an inactive eye stays
    routine (the treat-and-extend convention)."""
    text = cased(f"{INACTIVE} {schedule} {no_action}", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["Optometrist has already made an urgent referral to the hospital today", "Urgent referral sent"]),
    st.sampled_from(["GP to take no further action", "no further action for the GP", "no action needed from the GP"]),
    CASES,
)
def test_an_urgent_referral_made_stands_beside_the_gps_no_action(referral, no_action, case):
    text = cased(f"{ACTIVE} {referral}; {no_action}.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(
    st.sampled_from(["GP asked to review urgently", "GP to review urgently", "urgent GP review requested"]),
    st.sampled_from(["BP 182/104 in clinic", "Blood glucose 22 mmol/l", "Raised BP noted"]),
    CASES,
)
def test_the_gps_urgent_review_of_something_else_is_not_the_eyes(gp, finding, case):
    """A GP reviews no macula: the eye's plan is the routine review the report states."""
    text = cased(f"{IAMD} Routine review in 12 months in the AMD clinic. Separately: {finding} - {gp}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        ["attended community optometrist", "was seen by the community optometrist", "attended her optometrist"]
    ),
    CASES,
)
def test_a_community_visit_that_was_is_no_discharge(visit, case):
    text = cased(
        f"Patient {visit} with new floaters. {GA} No new referral sent; advised to keep her booked macular clinic "
        "appointment in March.",
        case,
    )
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        ["Hospital continuing 8-weekly injections.", "Keeping 10-weekly injections.", "Maintaining 12-week interval."]
    ),
    CASES,
)
def test_a_schedule_kept_in_the_progressive_is_routine(plan, case):
    assert labels(cased(f"{INACTIVE} {plan}", case))["referral"] == "routine"


@SETTINGS
@given(st.integers(6, 16), st.sampled_from(["Next injection {n} weeks", "Next injection in {n} weeks"]), CASES)
def test_a_treated_eye_without_fluid_keeps_its_schedule(n, plan, case):
    """No stage named, no SRF or IRF left: the next injection at an interval is the schedule kept (routine)."""
    text = cased(f"OD OCT: SRF resolved after 3 loading injections; no IRF. {plan.format(n=n)}, then T&E.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["some IRF still present", "new SRF nasal to the fovea"]), CASES)
def test_a_treated_eye_with_fluid_keeps_no_schedule(fluid, case):
    """With fluid the plan is the treatment, which states no referral (round 7's convention)."""
    text = cased(f"Injection nurse report: OCT before injection: {fluid}. Injection given, interval unchanged.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(
    st.sampled_from(["Continue monitoring in the community shared-care scheme", "Continue community monitoring"]),
    st.sampled_from(["at 4-monthly intervals", "at 6-monthly intervals"]),
    CASES,
)
def test_a_schedule_word_in_community_monitoring_is_community_care(plan, rhythm, case):
    text = cased(f"{INACTIVE} 18 months off treatment. {plan} {rhythm}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(
        ["rather than in the community", "instead of in the community", "rather than with her optometrist"]
    ),
    st.sampled_from(["review at the hospital AMD clinic in 6 months", "follow-up in the MR clinic in 4 months"]),
    CASES,
)
def test_community_care_set_aside_leaves_the_hospital_follow_up(aside, plan, case):
    text = cased(f"{GA} Consultant recommends {plan} {aside}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        ["Please process form urgently.", "Please complete the form urgently.", "Medical form needed urgently."]
    ),
    CASES,
)
def test_a_form_acted_on_is_paperwork(form, case):
    assert labels(cased(f"{GA} {form}", case))["referral"] is None


@SETTINGS
@given(
    st.sampled_from(["within the coming week", "in the coming days", "within the next few days", "within a few days"]),
    st.sampled_from(["We have scheduled IVOM", "Injection booked", "Appointment arranged"]),
    CASES,
)
def test_the_coming_days_or_week_are_urgent(frame, plan, case):
    assert labels(cased(f"{ACTIVE} {plan} {frame}.", case))["referral"] == "urgent"


@SETTINGS
@given(st.sampled_from(["suspected nAMD pathway", "suspected wet AMD pathway", "suspected wet AMD fast-track"]), CASES)
def test_a_pathway_named_for_a_suspected_diagnosis_is_no_hedge(pathway, case):
    """The suspicion names the pathway: the urgent plan is confident, so it wins over the first reading."""
    text = cased(f"First vetting: routine. Then SRF clearly visible on OCT. Final: urgent {pathway}.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(
    st.sampled_from([("Early", "intermediate"), ("early", "intermediate"), ("Intermediate", "late")]),
    CASES,
)
def test_two_stage_words_joined_by_a_slash_leave_the_stage_open(pair, case):
    text = cased(f"Medium drusen, no fluid. {pair[0]}/{pair[1]} AMD. Review 12 months.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(CASES)
def test_a_stage_and_something_else_apart_across_a_slash_keeps_the_stage(case):
    """ "Normal for age / early AMD": the slash joins only a bare stage word right before it (held-out h077)."""
    assert labels(cased("Drusen, small, few. Normal for age / early AMD. No ref.", case))["stage"] == "early"


@SETTINGS
@given(
    st.sampled_from(["WA Health", "Queensland Health", "community health centre", "the health service"]),
    CASES,
)
def test_a_health_service_is_no_healthy_stage(service, case):
    text = cased(
        f"Ophthalmology triage ({service}): LE, OCT: shallow SIRE with DLS, no fluid. Routine outpatient.", case
    )
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Book into nAMD treatment clinic within 14 days.",
            "Booked per wet AMD fast-track protocol within 2 weeks.",
            "Refer to the nAMD rapid access clinic within 2 weeks.",
            "Plan: repeat scan; no AMD referral at this stage.",
        ]
    ),
    CASES,
)
def test_a_stage_word_naming_a_service_states_no_stage(plan, case):
    text = cased(f"LE: new IRF, PED enlarging. {plan}", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(
        ["not yet meeting cRORA criteria", "not meeting cRORA criteria", "which does not meet cRORA criteria"]
    ),
    CASES,
)
def test_a_definition_failed_before_it_denies_the_stage(phrase, case):
    text = cased(f"Hypertransmission defect with RPE attenuation, {phrase}; medium drusen. Grade: iRORA.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["Referred urgent ?wet AMD", "Referred routine ?drusen", "Referred urgent query nAMD"]),
    st.sampled_from(["Intermediate AMD", "Early AMD"]),
    CASES,
)
def test_the_referrers_query_with_its_level_is_history(referral, stage, case):
    text = cased(
        f"{referral} LE. Seen in clinic: no SRF, no IRF; large drusen. {stage}. Routine review 6 months.", case
    )
    assert labels(text)["stage"] == ("intermediate" if stage.startswith("Inter") else "early"), text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Routine referral requested by optom for drusen.",
            "Optom letter described drusen only.",
            "The referral described drusen.",
        ]
    ),
    CASES,
)
def test_the_referrers_reason_is_no_finding_of_this_scan(reason, case):
    text = cased(f"{reason} OCT shows a small IRF pocket at the fovea; to be seen within 2 weeks.", case)
    assert "drusen" not in labels(text)["biomarkers"], text


@SETTINGS
@given(
    st.lists(st.sampled_from(["SRF", "IRF", "SHRM", "PED"]), min_size=1, max_size=4, unique=True),
    st.sampled_from(["+", "-"]),
    CASES,
)
def test_a_sign_stuck_before_a_finding_reads_forward(findings, sign, case):
    """ "OS: +drusen, -SRF, -IRF": a sign before a finding after a comma or colon, like "(+) drusen"."""
    text = cased("OCT OS: +drusen (large), " + ", ".join(f"{sign}{f}" for f in findings) + ". iAMD.", case)
    got = labels(text)["biomarkers"]
    assert got.get("drusen") == "present", text
    want = "present" if sign == "+" else "absent"
    assert all(got.get(f.lower()) == want for f in findings), text


@SETTINGS
@given(st.sampled_from(["RPE ok", "RPE okay", "RPE fine", "RPE: ok"]), CASES)
def test_rpe_ok_denies_irregularity(phrase, case):
    text = cased(f"LE: drusen + (small), fluid -, {phrase}. eAMD. d/c to optom.", case)
    assert labels(text)["biomarkers"].get("rpe_irregularity") == "absent", text


@SETTINGS
@given(st.sampled_from(["degenerative cyst", "degenerative cysts", "a degenerative cyst"]), CASES)
def test_a_degenerative_cyst_is_no_irf(cyst, case):
    text = cased(f"OD: small hyporeflective space ?IRF vs {cyst}; stable fibrosis. Activity uncertain.", case)
    assert labels(text)["biomarkers"].get("irf") == "uncertain", text


@SETTINGS
@given(st.sampled_from(["fvPED", "FVPED", "fvped"]), CASES)
def test_fvped_is_a_ped(word, case):
    assert (
        labels(cased(f"OD: nAMD, active. OCT: SRF, IRF, {word}. Inject within 5 days.", case))["biomarkers"].get("ped")
        == "present"
    )


@SETTINGS
@given(st.sampled_from(["suspicious subretinal fluid", "suspicious SRF", "suspicious intraretinal fluid"]), CASES)
def test_a_suspicious_finding_is_hedged(finding, case):
    bid = "irf" if "intra" in finding else "srf"
    text = cased(f"Human grader: {finding} at the fovea on the OCT. Refer within 2 weeks.", case)
    assert labels(text)["biomarkers"].get(bid) == "uncertain", text


@SETTINGS
@given(
    st.sampled_from(["what looked like", "what appeared to be", "what seemed to be"]),
    st.sampled_from([("SRF", "srf"), ("IRF", "irf"), ("subretinal fluid", "srf")]),
    st.sampled_from(["a motion artefact", "a shadow artefact", "a blood-vessel shadow"]),
    CASES,
)
def test_a_finding_explained_away_as_what_it_looked_like_is_absent(cue, finding, cause, case):
    text = cased(f"OCT repeated on a better machine: {cue} {finding[0]} is {cause}; macula normal.", case)
    assert labels(text)["biomarkers"].get(finding[1]) == "absent", text


@SETTINGS
@given(st.sampled_from(["tele-retina consultant", "retina fellow", "Dr Lee"]), CASES)
def test_an_override_marker_past_who_made_it_corrects(who, case):
    text = cased(f"Triage AI: URGENT - IRF detected, OS. Human override ({who}): no IRF, no SRF. Normal macula.", case)
    assert labels(text)["biomarkers"].get("irf") == "absent", text
