"""Rules from the twenty-sixth writer's general set (round 28: styles_dev26.jsonl), as properties: the eye examined
today, treatment history and treatment-response words, a stage beside an OCTA request, hedges (a clause opened by one,
a "Possible:" field, a kind set against another), the RPE's anchors, a second reader's overread, schedules lengthened,
a transfer of care and the other eye as a referral's reason."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)

SIDES = st.sampled_from([("right eye", "left eye"), ("left eye", "right eye")])
# abbreviations as written: lower-case "re" and "le" are words too
SHORT_SIDES = st.sampled_from([("RE", "LE"), ("LE", "RE"), ("OD", "OS"), ("OS", "OD")])
HISTORIES = st.sampled_from(
    [
        "Known GA {other} under monitoring in our atrophy clinic.",
        "{other} treated for wet AMD at hospital (stable per pt).",
        "Known GA {other}, followed in the GA clinic.",
    ]
)


@SETTINGS
@given(
    st.one_of(st.tuples(SIDES, CASES), st.tuples(SHORT_SIDES, st.sampled_from(["as written", "upper"]))),
    HISTORIES,
    st.sampled_from(["Today {eye} imaged:", "{eye} today:", "Today {eye}:"]),
)
def test_the_eye_examined_today_is_the_reports_eye(sides_case, history, opener):
    """Class: eye scope. A history of the other eye comes first, so the first eye named is not the scanned one: the
    eye named next to today's word ("Today LEFT eye imaged", "RE today:") is this report's eye, and its findings
    count (the other eye's GA does not)."""
    (other, eye), case = sides_case
    text = cased(
        f"{history.format(other=other)} {opener.format(eye=eye)} medium drusen, RPE regular, no SRF, no IRF.", case
    )
    got = labels(text)
    assert got["biomarkers"].get("drusen") == "present", text
    assert got["biomarkers"].get("srf") == "absent", text
    assert "rpe_atrophy" not in got["biomarkers"], text
    assert got["stage"] is None, text


@SETTINGS
@given(SIDES, CASES)
def test_today_saying_when_keeps_the_first_eye(sides, case):
    """Class: eye scope. "today" that says when a referral for the other eye was sent ("urgent referral sent today for
    the LEFT eye") does not make that eye the report's."""
    eye, other = sides
    text = cased(
        f"OCT {eye} (requested for comparison): medium drusen, no fluid.\nFundus photo of the {other}: fresh "
        f"haemorrhage - urgent referral sent today for the {other}.",
        case,
    )
    assert labels(text)["biomarkers"].get("drusen") == "present", text


WET_NAMES = st.sampled_from(["wet AMD", "nAMD", "neovascular AMD"])
TREATED = st.sampled_from(["previously treated", "treated previously", "previously treated x14", "has been treated"])


@SETTINGS
@given(WET_NAMES, TREATED, st.booleans(), CASES)
def test_a_treatment_history_after_the_disease_keeps_the_diagnosis(name, treated, fluid, case):
    """Class: treatment history of a chronic disease. "wet AMD, previously treated x14" tells the eye's care, not a
    disease of the past: wet AMD, its activity from today's findings (fluid: active, none: inactive)."""
    today = "SRF present, no IRF" if fluid else "no SRF, no IRF"
    text = cased(f"Left eye: {name}, {treated}. Today: {today}; fibrovascular PED unchanged.", case)
    assert labels(text)["stage"] == ("late_wet_active" if fluid else "late_wet_inactive"), text


@SETTINGS
@given(TREATED, CASES)
def test_a_finding_treated_before_stays_history(treated, case):
    """Class: history. The treatment-history cue of a finding ("SRF, previously treated") keeps it history."""
    text = cased(f"Right eye: SRF, {treated}. Today: medium drusen.", case)
    assert labels(text)["biomarkers"].get("srf") is None, text


@SETTINGS
@given(
    st.sampled_from(["Looks", "Appears", "Seems", "Likely", "Probably"]),
    st.sampled_from(
        [("quiescent", "late_wet_inactive"), ("inactive", "late_wet_inactive"), ("active", "late_wet_active")]
    ),
    CASES,
)
def test_an_activity_verdict_with_a_lean_states_the_stage(lean, activity, case):
    """Class: activity words (a lean keeps the stage). "Looks quiescent." after the findings is the writer's verdict."""
    word, stage = activity
    text = cased(f"Right eye OCT shows an irregular fibrovascular PED with no fluid. {lean} {word}.", case)
    assert labels(text)["stage"] == stage, text


@SETTINGS
@given(
    st.sampled_from(
        ["We have therefore extended her", "We will extend his", "I have lengthened her", "Plan: extend the"]
    ),
    st.sampled_from(["treatment interval", "injection interval"]),
    st.integers(min_value=8, max_value=16),
    CASES,
)
def test_a_lengthened_treatment_interval_states_inactive(verb, noun, weeks, case):
    """Class: treatment-response words. The treatment named by its interval with a verb that lengthens it is the
    knowledge base's "treatment interval extended": inactive wet AMD (and the eye's scheduled review, routine)."""
    text = cased(f"Left eye remains dry on OCT, no IRF or SRF. {verb} {noun} to {weeks} weeks.", case)
    got = labels(text)
    assert got["stage"] == "late_wet_inactive", text
    assert got["referral"] == "routine", text


OCTA_REQUESTS = st.sampled_from(
    [
        "OCTA requested.",
        "OCTA advised.",
        "Routine referral to MR clinic for OCTA.",
        "OCTA booked for 3 months.",
        "Bring to F2F clinic within 2 weeks for OCTA.",
    ]
)


@SETTINGS
@given(
    st.sampled_from(
        [
            ("Probably intermediate AMD.", "intermediate"),
            ("iAMD.", "intermediate"),
            ("GA enlarged slightly.", "late_dry"),
            ("Possible non-exudative MNV.", "late_wet_inactive"),
        ]
    ),
    OCTA_REQUESTS,
    CASES,
)
def test_a_stage_beside_an_octa_request_is_kept(stated, request, case):
    """Class: a test requested beside a stage (eval/README.md, round 28: the lead's convention). A stated or leaned
    stage keeps its stage when OCTA is requested; the test looks for more, the writer has committed."""
    phrase, stage = stated
    text = cased(f"LE: large drusen, shallow PED. ?DLS subfoveally. No fluid. {phrase} {request}", case)
    assert labels(text)["stage"] == stage, text


@SETTINGS
@given(st.sampled_from(["iAMD vs non-exudative MNV", "intermediate AMD or non-exudative MNV"]), OCTA_REQUESTS, CASES)
def test_two_stages_set_against_each_other_stay_open_with_an_octa_request(against, request, case):
    """Class: undecided stage. Two stages set against each other stay open, OCTA requested or not."""
    text = cased(f"LE: large drusen, shallow PED, no fluid. {against}. {request}", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["could be", "might be", "may be"]),
    st.sampled_from(["SHRM from a new MNV", "material from a new CNV", "SHRM due to a new MNV"]),
    CASES,
)
def test_a_stage_in_a_clause_opened_by_an_open_hedge_is_open(hedge, clause, case):
    """Class: hedges. "could be SHRM from a new MNV or a vitelliform deposit": the possibility covers the clause,
    though "new" nearer to the stage word affirms it; the stage stays open."""
    text = cased(
        f"LE: hyperreflective material under the fovea - {hedge} {clause} or a vitelliform deposit. No fluid.", case
    )
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["Stage recorded", "Stage assigned", "Recorded stage", "Stage documented", "Grade recorded"]),
    st.sampled_from([("intermediate", "intermediate"), ("early", "early"), ("late dry", "late_dry")]),
    CASES,
)
def test_an_audit_stage_field_states_the_stage(field, value, case):
    """Class: conclusion fields. An audit's or register's stage field with its participle ("Stage recorded:
    intermediate.") is a stage field like "Stage:"."""
    word, stage = value
    text = cased(f"Audit - AMD referral pathway. Eye: R. OCT findings recorded: drusen, no SRF. {field}: {word}.", case)
    assert labels(text)["stage"] == stage, text


@SETTINGS
@given(
    st.sampled_from(["can be a sign of", "could be a sign of", "may be a sign of", "can be due to"]),
    st.sampled_from(["wet age-related macular degeneration", "wet AMD", "neovascular AMD"]),
    CASES,
)
def test_a_stage_offered_as_what_a_finding_can_be_a_sign_of_is_open(verb, stage, case):
    """Class: hedges (a stage offered, not concluded, as "suggestive of"). "fluid within the retina, which can be a sign
    of wet AMD" leaves the stage open; the finding stays present."""
    text = cased(
        f"The scan of your left eye shows some swelling (fluid within the retina), which {verb} {stage}.", case
    )
    got = labels(text)
    assert got["stage"] is None, text
    assert got["biomarkers"].get("irf") == "present", text


@SETTINGS
@given(
    st.sampled_from(["over the drusen", "overlying the PED", "above the drusen", "over the drusenoid PED"]),
    st.sampled_from(["is irregular in places", "is slightly irregular", "appears irregular"]),
    CASES,
)
def test_the_rpe_placed_by_a_finding_keeps_its_irregularity(place, predicate, case):
    """Class: anchored findings. "The RPE over the drusen is irregular": the finding places the RPE, the word after it
    is still the RPE's."""
    text = cased(f"Large soft drusen, no fluid. The RPE {place} {predicate}.", case)
    assert labels(text)["biomarkers"].get("rpe_irregularity") == "present", text


@SETTINGS
@given(
    st.sampled_from(["RPE-Bruch complex", "RPE-Bruch's complex", "the RPE-Bruch complex"]),
    st.sampled_from(["regular", "intact"]),
    CASES,
)
def test_the_rpe_bruch_complex_named_regular_denies_irregularity(name, word, case):
    """Class: the RPE named in other words. "RPE-Bruch complex regular" denies RPE irregularity like "RPE regular"."""
    text = cased(f"Normal foveal contour, no SRF, no IRF. {name} {word}.", case)
    assert labels(text)["biomarkers"].get("rpe_irregularity") == "absent", text


@SETTINGS
@given(
    st.sampled_from(["Possible", "Equivocal", "Uncertain", "Possible findings"]),
    st.sampled_from([("SRF", "srf"), ("IRF", "irf"), ("SHRM", "shrm")]),
    CASES,
)
def test_a_possible_field_hedges_its_findings(heading, finding, case):
    """Class: hedges as a field. An automated reader's "Possible: SRF (0.47)" after its "Detected:" list hedges the
    finding; the detected ones stay present."""
    name, bid = finding
    text = cased(f"Prediction: nAMD vs iAMD.\nDetected: PED (0.88), drusen (0.91).\n{heading}: {name} (0.47).", case)
    got = labels(text)["biomarkers"]
    assert got.get(bid) == "uncertain", text
    assert got.get("ped") == "present", text


@SETTINGS
@given(
    st.sampled_from(["Consultant overread", "Clinician over-read", "Senior review", "Second read"]),
    st.sampled_from([("SRF", "srf"), ("IRF", "irf")]),
    CASES,
)
def test_a_second_readers_overread_corrects_the_grader(reader, finding, case):
    """Class: a second reader's correction. The overread after a grader's fields supersedes the finding it speaks of
    again ("Grader: SRF present. Consultant overread: on closer inspection no SRF - choroidal shadow")."""
    name, bid = finding
    text = cased(
        f"Virtual clinic audit, LE. Grader: {name} present.\n{reader}: on closer inspection no {name} - shadow.", case
    )
    assert labels(text)["biomarkers"].get(bid) == "absent", text


@SETTINGS
@given(
    st.sampled_from(["Extending to 10 wks.", "extend 2/52.", "Extend 3/52.", "Extending to 12 weeks."]),
    st.sampled_from(["Disease inactive.", "disease quiescent.", "Inactive."]),
    st.booleans(),
    CASES,
)
def test_a_lengthened_schedule_of_an_inactive_eye_is_routine(plan, verdict, given_today, case):
    """Class: schedules kept or lengthened (round 7's treat-and-extend convention). "Extending to 10 wks" and the step
    "extend 2/52" (no eye is extended to two weeks: the step, not the urgent time frame) keep an inactive eye's
    scheduled review: routine, with an injection given today or not."""
    dose = " Eylea given." if given_today else ""
    text = cased(f"R eye - aflibercept #5. OCT dry, no IRF or SRF. {verdict}{dose} {plan}", case)
    got = labels(text)
    assert got["stage"] == "late_wet_inactive", text
    assert got["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["the activity is uncertain", "the activity is unclear", "activity is indeterminate"]),
    st.sampled_from(["reassess at that visit", "review at that visit", "reassess at that time"]),
    CASES,
)
def test_a_schedule_kept_with_its_activity_open_is_routine(open_activity, visit, case):
    """Class: an open activity, and who acts and when. "Given this, the activity is uncertain. I have elected to keep
    his aflibercept interval at 8 weeks and will reassess at that visit": no stage (open activity), and the schedule
    kept is routine (round 8); "at that visit" after the plan's verb is the visit to come, not history."""
    text = cased(
        f"Fibrovascular PED, no IRF, equivocal SRF. Given this, {open_activity}. I have elected to keep his aflibercept "
        f"interval at 8 weeks and will {visit}.",
        case,
    )
    got = labels(text)
    assert got["stage"] is None, text
    assert got["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from([("LE", "RE"), ("RE", "LE")]),
    st.sampled_from(["alongside {other} injections", "at {other} treatment visits"]),
    st.just("as written"),  # mixed case, as "RE visits" (round 24) is written
)
def test_the_other_eyes_injections_as_the_occasion_name_when(sides, occasion, case):
    """Class: whose visits. "Continue monitoring in MR clinic alongside RE injections" in a note about LE: the other
    eye's injections say when, the plan is this eye's (routine)."""
    eye, other = sides
    text = cased(
        f"Virtual clinic - {eye} (non-treated eye) OCT: large drusen, no fluid. Continue monitoring in MR clinic "
        f"{occasion.format(other=other)}.",
        case,
    )
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "referral letter to the Glasgow MR service to continue treatment",
            "care transferred to the Leeds retina service",
            "transfer of care to the Cardiff macular service",
        ]
    ),
    st.booleans(),
    CASES,
)
def test_a_transfer_of_care_is_routine(transfer, discharge_first, case):
    """Class: a transfer of care (eval/README.md, round 28: the lead's convention). Care handed to another hospital's
    retina service is a routine referral, and the discharge from the writer's service beside it yields to it, in
    either order."""
    discharge = "discharged from our injection service"
    plan = f"{discharge}; {transfer}" if discharge_first else f"{transfer}; {discharge}"
    text = cased(f"Left eye: residual IRF, no SRF. Active nAMD, responding. Patient moving away - {plan}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["Discharged to optometrist.", "Discharged from our clinic to the optometrist."]), CASES)
def test_a_discharge_to_the_community_stays_none(plan, case):
    """Class: who acts. Without a transfer, a discharge to the optometrist is none."""
    text = cased(f"Inactive nAMD, dry for 2 years. {plan}", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from([("left", "right"), ("right", "left")]),
    st.sampled_from(["continues in GA clinic", "remains under the GA clinic"]),
    CASES,
)
def test_the_side_alone_names_the_other_eyes_care(sides, care, case):
    """Class: eyes. "No need for hospital review of the left; right continues in GA clinic" in a note about the left
    eye: the side alone names the eye, so the other eye's clinic is not this eye's plan (none)."""
    eye, other = sides
    text = cased(
        f"Known GA {other} eye under monitoring. Today {eye} eye imaged: no drusen, no fluid. "
        f"No need for hospital review of the {eye}; {other} {care}.",
        case,
    )
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(
        ["given fellow-eye nAMD", "because of the fellow eye's nAMD", "in view of the other eye's wet AMD"]
    ),
    st.sampled_from([("Referral: routine", "routine"), ("Refer urgently", "urgent")]),
    CASES,
)
def test_the_other_eye_as_a_referrals_reason_keeps_the_referral(reason, referral, case):
    """Class: who acts and why. "Referral: routine, given fellow-eye nAMD": the other eye is the reason, the referral is
    this eye's; the other eye's disease is not this eye's stage."""
    plan, level = referral
    text = cased(f"Right eye: drusen of medium size; no fluid. Right eye stage: early AMD. {plan}, {reason}.", case)
    got = labels(text)
    assert got["referral"] == level, text
    assert got["stage"] == "early", text


@SETTINGS
@given(
    st.sampled_from(["drusenoid", "serous", "fibrovascular"]),
    st.sampled_from(["drusenoid", "serous", "fibrovascular"]),
    st.sampled_from(["more likely a {a} PED than {b}", "more likely a {a} PED than a {b} one", "{a} PED vs {b}"]),
    CASES,
)
def test_a_ped_set_against_another_kind_is_present(a, b, form, case):
    """Class: hedges about the kind. "more likely drusenoid PED than fibrovascular": the PED is there either way, the
    hedge is about its kind; a PED set against another finding ("a large druse than a small PED") stays uncertain."""
    text = cased(f"OD: sub-RPE material lifting the RPE; {form.format(a=a, b=b)}. No fluid.", case)
    assert labels(text)["biomarkers"].get("ped") == "present", text


@SETTINGS
@given(st.sampled_from(["more likely a large druse than a small PED", "drusen vs small drusenoid PED"]), CASES)
def test_a_finding_set_against_another_finding_stays_uncertain(form, case):
    """Class: hedges. Two findings set against each other stay uncertain (dev12 b12-088, dev9 b9-065)."""
    text = cased(f"OD: dome-shaped elevation, {form}. No fluid.", case)
    assert labels(text)["biomarkers"].get("ped") == "uncertain", text
