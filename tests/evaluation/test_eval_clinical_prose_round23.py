"""Rules from the twenty-first writer's general set (round 23: styles_dev21.jsonl), as properties: follow-up shorthand
of other health systems, a plan field that names a community carer, urgency denied in any words, a referral declined
for now beside a kept visit, and a level word that names an eye referral sent on by primary care."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)
IAMD = "Large drusen, no fluid. Intermediate AMD."
INACTIVE = "Dry macula, no fluid seen. Fibrotic scar unchanged. Inactive CNV, defer injection."


@SETTINGS
@given(
    st.sampled_from(["TCU", "RTO", "TCA", "RTC"]),
    st.integers(2, 12),
    st.sampled_from(["wks", "weeks", "months"]),
    CASES,
)
def test_follow_up_shorthand_is_a_visit(shorthand, n, unit, case):
    """Class: follow-up shorthand across health systems ("TCU 12 wks with OCT", to come up). An inactive treated eye's
    review at an interval of two weeks or more is routine (round 7's treat-and-extend convention)."""
    if unit != "months" and n <= 2:
        n = 3
    text = cased(f"{INACTIVE} {shorthand} {n} {unit} with OCT.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["Follow-up", "F/U", "Plan", "Disposition", "Outcome"]),
    st.sampled_from(["optometrist", "own optometrist", "community optometrist", "GP", "optician", "primary care"]),
    CASES,
)
def test_a_plan_field_naming_a_community_carer_is_none(heading, carer, case):
    """Class: who acts. A plan field whose value is a community carer hands the patient back: none."""
    text = cased(f"Drusen: few, small\nSRF: no\nDiagnosis: early AMD\n{heading}: {carer}", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(["no haste", "no rush", "no hurry", "without haste", "no urgency"]),
    st.sampled_from(["confirmation of diagnosis and advice", "your opinion on management", "assessment please"]),
    CASES,
)
def test_urgency_denied_in_any_words_is_routine(denied, request, case):
    """Class: urgency denied. A referral request without time pressure is routine, like "not urgent"."""
    text = cased(
        f"Referral to the ophthalmologist. OCT shows cRORA involving the fovea. Question: {request}, {denied}.", case
    )
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["No retina referral", "No referral", "No HES referral"]),
    st.sampled_from(["at this time", "at present", "for now", "at the moment", "at this stage"]),
    st.sampled_from(["RTC 6 months with OCT", "Review 6/12", "Return in 6 months"]),
    st.booleans(),
    CASES,
)
def test_a_referral_declined_for_now_yields_to_a_kept_visit(declined, now, visit, visit_first, case):
    """Class: a referral declined for now. Beside a visit the report keeps, the visit is the plan (routine, as round
    15's "no new referral" beside a booked review); alone it is none."""
    plan = f"{visit}. {declined} {now}." if visit_first else f"{declined} {now}. {visit}."
    assert labels(cased(f"{IAMD} {plan}", case))["referral"] == "routine", plan
    alone = cased(f"{IAMD} {declined} {now}.", case)
    assert labels(alone)["referral"] == "none", alone


@SETTINGS
@given(
    st.sampled_from(["polyclinic doctor", "GP", "community optometrist"]),
    st.sampled_from(["non-urgent", "routine"]),
    st.sampled_from(["eye referral", "referral to the eye clinic", "referral"]),
    CASES,
)
def test_a_level_naming_an_eye_referral_sent_on_is_that_referral(carer, level, referral, case):
    """Class: who acts. Primary care asked to send a routine eye referral: the level is the referral's (routine), not
    community monitoring; "routine monitoring by the optometrist" stays none."""
    text = cased(f"Drusen at macula - AMD suspect. Outcome: refer to {carer} for {level} {referral}.", case)
    assert labels(text)["referral"] == "routine", text
    kept = cased("Drusen at macula - AMD suspect. Outcome: routine monitoring by the optometrist.", case)
    assert labels(kept)["referral"] == "none", kept


DRY = ["dry AMD", "dry ARMD", "nonexudative AMD", "non-neovascular AMD", "dry age-related macular degeneration"]


@SETTINGS
@given(
    st.sampled_from(DRY),
    st.sampled_from(["drusen, RPE changes, no fluid", "large drusen, no fluid", "small drusen only", "soft drusen"]),
    CASES,
)
def test_dry_amd_without_a_severity_names_no_stage(dry, findings, case):
    """Convention (round 23): "dry AMD" names the non-neovascular family, not a stage; the findings do not pick one
    (round 8: no stage is inferred from findings)."""
    text = cased(f"LE: {dry}. OCT - {findings}. RTC 12 months.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(DRY),
    st.sampled_from([("early", "early"), ("intermediate", "intermediate"), ("late", "late_dry")]),
    st.booleans(),
    CASES,
)
def test_dry_amd_with_its_severity_states_that_stage(dry, severity, before, case):
    """A severity word next to "dry AMD" ("dry AMD, intermediate", "Early nonexudative AMD") states the stage."""
    word, stage = severity
    named = f"{word} {dry}" if before else f"{dry}, {word}"
    text = cased(f"OS: {named}. Drusen, no fluid. Review 6 months.", case)
    assert labels(text)["stage"] == stage, text


@SETTINGS
@given(
    st.sampled_from(["left eye", "right eye"]),
    st.sampled_from([("early", "early"), ("intermediate", "intermediate")]),
    CASES,
)
def test_a_codes_stage_after_the_eye_is_stated(eye, severity, case):
    """A diagnosis code's description ("Nonexudative AMD, left eye, intermediate dry stage (H35.3122)")."""
    word, stage = severity
    text = cased(f"Diagnosis: Nonexudative AMD, {eye}, {word} dry stage (H35.31). OCT: drusen, no fluid.", case)
    assert labels(text)["stage"] == stage, text


@SETTINGS
@given(
    st.sampled_from(["AMD classification", "AMD category", "Stage estimate", "Predicted stage", "Estimated stage"]),
    st.sampled_from([("intermediate", "intermediate"), ("early", "early"), ("intermediate AMD", "intermediate")]),
    st.sampled_from(["", " (moderate confidence)"]),
    CASES,
)
def test_a_stage_field_in_other_words_states_the_stage(field, value, comment, case):
    """Class: conclusion fields of grading forms and models ("AMD classification: intermediate")."""
    words, stage = value
    text = cased(f"Soft drusen: yes\nGA: no\nCNV: no\n{field}: {words}{comment}", case)
    assert labels(text)["stage"] == stage, text


@SETTINGS
@given(
    st.sampled_from(["Investigator's assessment of disease activity", "Assessment of disease activity"]),
    st.sampled_from([("Active", "late_wet_active"), ("Inactive", "late_wet_inactive")]),
    CASES,
)
def test_an_investigators_activity_field_states_the_activity(field, value, case):
    """Class: conclusion fields (a trial's case report form)."""
    words, stage = value
    text = cased(f"CRF - OCT assessment, study eye OD\nPresence of IRF: Yes\n{field}: {words}", case)
    assert labels(text)["stage"] == stage, text


@SETTINGS
@given(
    st.sampled_from(["Presence of", "Any evidence of", "Evidence of", "Signs of"]),
    st.sampled_from([("SRF", "srf"), ("IRF", "irf"), ("subretinal fluid", "srf"), ("SHRM", "shrm")]),
    st.sampled_from([("No", "absent"), ("Yes", "present")]),
    CASES,
)
def test_a_label_asking_whether_a_finding_is_there_is_answered_by_its_value(asks, finding, value, case):
    """Class: field forms. "Presence of SRF: No", "Any evidence of MNV: No": the label's own wording asks, the value
    answers (the label's "evidence of" had affirmed the finding against a "No")."""
    (name, bid), (answer, state) = finding, value
    text = cased(f"OCT assessment, OD\n{asks} {name}: {answer}", case)
    assert labels(text)["biomarkers"].get(bid) == state, text


@SETTINGS
@given(st.sampled_from(["Any evidence of MNV", "Evidence of CNV", "Signs of MNV"]), CASES)
def test_a_denied_mnv_field_names_no_wet_stage(field, case):
    """Class: field forms. A GA trial's "Any evidence of MNV: No" beside cRORA states late dry AMD, not inactive wet."""
    text = cased(f"cRORA present: Yes\nExudation (SRF/IRF): No\n{field}: No", case)
    assert labels(text)["stage"] == "late_dry", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Grader flag: adjudication needed for non-exudative MNV.",
            "Sent for adjudication: quiescent MNV vs intermediate AMD.",
            "Non-exudative MNV - needs arbitration.",
        ]
    ),
    CASES,
)
def test_a_stage_sent_to_another_reader_is_undecided(flag, case):
    """Class: undecided stage. A stage sent to adjudication or arbitration is not yet called."""
    text = cased(f"Study eye OS: shallow irregular RPE elevation nasal to fovea. No exudation. {flag}", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["late wet AMD", "neovascular AMD", "nAMD"]),
    st.sampled_from(["uncertain", "unclear", "indeterminate", "unknown"]),
    st.booleans(),
    CASES,
)
def test_an_open_activity_as_a_field_value_leaves_the_stage_open(disease, value, json_form, case):
    """Class: an open activity, as a field ("Activity: unclear") or a model's JSON ("activity": "uncertain")."""
    if json_form:
        text = (
            f'{{"eye": "right", "prediction": {{"stage": "{disease}", "activity": "{value}"}}, "findings": ["SHRM"]}}'
        )
    else:
        text = f"Diagnosis: {disease}\nActivity: {value}\nFindings: SHRM"
    text = cased(text, case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(st.sampled_from(["below GA threshold", "below the cRORA threshold", "under the GA threshold"]), CASES)
def test_a_stage_definitions_threshold_is_no_stage(threshold, case):
    """Class: a stage's definition named. An unassigned stage measured against the GA threshold states none."""
    text = cased(
        f"Outer retinal thinning with hypertransmission, meets iRORA. No fluid. Stage: not assigned ({threshold}).",
        case,
    )
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["Her sister", "His mother", "Her father", "He"]),
    st.sampled_from(["lost vision with", "lost vision from", "went blind from", "lost his sight to"]),
    st.sampled_from(["wet macular degeneration", "wet AMD"]),
    CASES,
)
def test_sight_lost_to_a_disease_is_the_past(who, lost, disease, case):
    """Class: a past outcome (a relative's or the patient's): the disease is not a stage of today's scan."""
    text = cased(f"Scattered drusen, no fluid. {who} {lost} {disease} years ago.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["Hyporeflective space", "Big dark space", "A dark space", "A bubble", "A fluid blister"]),
    st.sampled_from(["beneath the neurosensory retina", "under the retina", "below the retina"]),
    st.sampled_from(["at the fovea", "at the centre", ""]),
    CASES,
)
def test_a_space_under_the_retina_is_subretinal_fluid(shape, place, where, case):
    """Class: fluid described by its look and place. Hedged ("what looks like a bubble") it is uncertain; offered by
    "may show" it is uncertain too."""
    text = cased(f"Findings: {shape} {place} {where}.", case)
    assert labels(text)["biomarkers"].get("srf") == "present", text
    hedged = cased(f"Noticed what looks like {shape.lower()} {place} {where}.", case)
    assert labels(hedged)["biomarkers"].get("srf") == "uncertain", hedged
    offered = cased(f"The scan may show {shape.lower()} {place}.", case)
    assert labels(offered)["biomarkers"].get("srf") == "uncertain", offered


@SETTINGS
@given(st.sampled_from(["intraretinal cystoid changes", "cystoid changes"]), CASES)
def test_cystoid_changes_are_intraretinal_fluid(words, case):
    """Class: fluid described by its look ("cystic changes" in the knowledge base)."""
    text = cased(f"OCT shows a large vascularised PED with overlying subretinal fluid and {words}.", case)
    assert labels(text)["biomarkers"].get("irf") == "present", text


@SETTINGS
@given(
    st.sampled_from([("within the retina", "irf"), ("in the retina", "irf"), ("under the retina", "srf")]),
    st.sampled_from([("under the retina", "srf"), ("beneath the retina", "srf"), ("within the retina", "irf")]),
    st.sampled_from(["and", "or"]),
    st.booleans(),
    CASES,
)
def test_fluid_in_two_places_joined_is_both(first, second, joiner, denied, case):
    """Class: elided coordination of places ("fluid within the retina and under the retina" = IRF and SRF), denied
    for both by one "no"."""
    (place1, bid1), (place2, bid2) = first, second
    text = f"No fluid {place1} {joiner} {place2}." if denied else f"OCT shows fluid {place1} {joiner} {place2}."
    text = cased(text, case)
    got = labels(text)["biomarkers"]
    state = "absent" if denied else "present"
    assert got.get(bid1) == state and got.get(bid2) == state, (text, got)


@SETTINGS
@given(
    st.sampled_from(["Recheck", "Revisit", "Review", "Follow-up"]),
    st.sampled_from(["in 6 months", "after 6 months", "6/12", "in 4 months", "after 3 months"]),
    CASES,
)
def test_a_visit_at_an_interval_in_any_notation_is_routine(visit, interval, case):
    """Class: time frames in any notation ("Revisit in 6 months", "Recheck 6/12", "review after 3 months")."""
    if visit == "Follow-up" and interval == "6/12":
        interval = "in 6 months"
    text = cased(f"Large drusen, no fluid. Intermediate AMD. {visit} {interval}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["Refer today", "Refer immediately", "Please see today", "To be seen immediately"]), CASES)
def test_a_referral_today_is_urgent(plan, case):
    """Class: time frames. Today or immediately is under the urgent level's two weeks."""
    text = cased(f"OCT: new subretinal fluid at the fovea. Suspected wet AMD. {plan}.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(
    st.sampled_from(["AMD", "ARMD"]),
    st.sampled_from([":", " -"]),
    st.sampled_from(
        [("intermediate", "intermediate"), ("early stage", "early"), ("intermediate stage", "intermediate")]
    ),
    CASES,
)
def test_the_disease_as_the_field_of_its_stage(name, mark, value, case):
    """Class: conclusion fields. A checklist's "AMD: intermediate" or a note's "ARMD - intermediate stage"."""
    words, stage = value
    text = cased(f"OCT OD: drusenoid PED, no fluid. {name}{mark} {words}.", case)
    assert labels(text)["stage"] == stage, text
