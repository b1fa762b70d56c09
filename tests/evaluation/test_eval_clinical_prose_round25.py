"""Rules from the twenty-third writer's general set (round 25: styles_dev23.jsonl), as properties: a cause denied in
relational words, an activity set against its opposite, the dry family in full words or after the disease, and a
grading tool's row of counts."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)
NAMES = {"srf": "SRF", "irf": "IRF", "ped": "PED", "shrm": "SHRM", "hyperreflective_foci": "HRF", "rpe_atrophy": "GA"}


@SETTINGS
@given(
    st.sampled_from(
        ["not associated with", "not related to", "not due to", "not caused by", "not secondary to", "unrelated to"]
    ),
    st.sampled_from(["a neovascular membrane", "MNV", "CNV", "wet AMD"]),
    CASES,
)
def test_a_denied_cause_is_no_stage(relation, cause, case):
    """Class: a finding tied to a cause the writer denies. "The haemorrhage is not associated with a neovascular
    membrane" states no wet AMD."""
    text = cased(f"Medium drusen, no fluid. The haemorrhage you saw is {relation} {cause}.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(
        [
            "more likely inactive than active",
            "more likely active than inactive",
            "active vs inactive",
            "inactive versus active",
            "more likely quiescent than active",
        ]
    ),
    st.sampled_from(["neovascular AMD", "nAMD", "MNV", "wet AMD"]),
    CASES,
)
def test_an_activity_set_against_its_opposite_is_no_stage(activity, disease, case):
    """Class: two stages sharing one disease noun ("more likely inactive than active neovascular AMD"): undecided,
    like "intermediate AMD vs MNV" (eval/README.md, round 23's "more likely ... than")."""
    text = cased(f"Detected: SHRM (p=0.62). Classification: {activity} {disease}. Action: human review.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(st.sampled_from(["Active or inactive?", "Active or inactive ?", "Is it active or inactive?"]), CASES)
def test_an_answered_activity_question_keeps_the_answer(question, case):
    """The alternative asked and answered ("Q: Active or inactive? A: Inactive") is the answer (dev6 b5-015)."""
    text = cased(
        f"Q&A, left eye after loading plus 6 maintenance injections.\nQ: {question} A: Inactive - the fluid has gone.\n"
        "Q: Next step? A: Extend the treatment interval to 12 weeks.",
        case,
    )
    assert labels(text)["stage"] == "late_wet_inactive", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Nonexudative age-related macular degeneration",
            "Non-exudative age-related macular degeneration",
            "AMD (dry)",
            "ARMD (dry)",
            "AMD dry",
            "Non-exudative macular degeneration",
        ]
    ),
    st.sampled_from(["large drusen and pigmentary changes", "medium drusen", "drusen and RPE elevation"]),
    CASES,
)
def test_the_dry_family_names_no_stage(family, findings, case):
    """Class: the dry family in full words or after the disease. It names no stage (round 23), whatever the
    findings; a severity word next to it picks one."""
    text = cased(f"OD OCT: {findings}, no fluid. Impression: {family}, left eye.", case)
    assert labels(text)["stage"] is None, text
    text = cased(f"OD OCT: {findings}, no fluid. Impression: {family}, intermediate.", case)
    assert labels(text)["stage"] == "intermediate", text


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(NAMES)), st.sampled_from([0, 1])),
        min_size=3,
        max_size=6,
        unique_by=lambda x: x[0],
    ),
    st.sampled_from(["Biomarker summary (L): ", "", "OCT grading: "]),
    CASES,
)
def test_a_row_of_counts_reads_each_count(cells, prefix, case):
    """Class: a grading tool's summary row ("SRF 0 | IRF 0 | PED 1 | GA 0"): 0 is absent, 1 present, each cell its
    own item."""
    text = cased(prefix + " | ".join(f"{NAMES[bid]} {n}" for bid, n in cells), case)
    got = labels(text)["biomarkers"]
    for bid, n in cells:
        assert got.get(bid) == ("present" if n else "absent"), text


DRUGS = ["Vabysmo", "faricimab", "Eylea", "aflibercept", "Lucentis", "ranibizumab", "Avastin", "Injection", "Inj"]


@SETTINGS
@given(
    st.sampled_from(DRUGS),
    st.sampled_from(["{d} given.", "{d} given today.", "Continue monthly, {d} given.", "{d} performed same day."]),
    st.sampled_from(["SRF ++ worse vs last.", "IRF minimal, persisting.", "IRF increased at 12 wk, SRF nil."]),
    CASES,
)
def test_a_treatment_given_now_states_active_wet_amd(drug, plan, findings, case):
    """Class: treatment given now (eval/README.md round 18: a treatment given, booked or needed now states active wet
    AMD when the report names no stage); "Vabysmo given", "inj given" in a treating clinic's shorthand."""
    text = cased(f"R eye. {findings} {plan.format(d=drug)}", case)
    assert labels(text)["stage"] == "late_wet_active", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Inj today (faricimab).",
            "1st loading inj today.",
            "Bring forward injection - next week.",
            "I have advised intravitreal treatment.",
            "Needs inj before Friday.",
        ]
    ),
    CASES,
)
def test_a_treatment_now_in_other_words_states_active_wet_amd(plan, case):
    """Class: treatment given, brought forward or needed now, in other words: active wet AMD."""
    text = cased(f"Left eye: SRF has reaccumulated (small), IRF absent. {plan}", case)
    assert labels(text)["stage"] == "late_wet_active", text


@SETTINGS
@given(
    st.sampled_from(DRUGS),
    st.sampled_from(["Disease inactive.", "Quiescent.", "Dry, quiet.", "Inactive nAMD."]),
    st.sampled_from(["Extend to 10 weeks.", "Interval unchanged at 8 weeks.", "Extend 8->10/52."]),
    CASES,
)
def test_a_treatment_given_to_an_inactive_eye_stays_inactive(drug, activity, plan, case):
    """A treat-and-extend dose given to an eye the writer calls inactive keeps its stage: the activity word wins."""
    text = cased(f"LE: no SRF, no IRF. {activity} {drug} given. {plan}", case)
    assert labels(text)["stage"] == "late_wet_inactive", text


@SETTINGS
@given(st.sampled_from(["Anti-VEGF loading started today.", "I have started anti-VEGF treatment today."]), CASES)
def test_a_course_started_today_names_no_stage(plan, case):
    """A course started ("loading started today") states no stage, as its labels read (t129, ra-063)."""
    text = cased(f"OCT OD: SRF under fovea. {plan}", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["pegcetacoplan", "Syfovre", "Izervay", "avacincaptad", "complement inhibitor"]),
    st.sampled_from(["inj today", "injection given today", "injection today"]),
    CASES,
)
def test_a_ga_treatment_is_no_anti_vegf(drug, given_, case):
    """Class: the GA treatments. A complement inhibitor given treats late dry AMD: no wet stage, and its review
    at an interval stays routine (not the anti-VEGF treatment's own review)."""
    text = cased(f"os oct: geographic atrophy, enlarging, no fluid. {drug} {given_}. rtc 2 months.", case)
    got = labels(text)
    assert (got["stage"], got["referral"]) == ("late_dry", "routine"), text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Disease activity: YES - meets retreatment criteria.",
            "Activity criteria met: yes",
            "Meets retreatment criteria.",
            "Retreatment criteria met.",
        ]
    ),
    CASES,
)
def test_retreatment_criteria_met_state_active_wet_amd(field, case):
    """Class: a treating clinic's activity verdict as retreatment criteria: met is active wet AMD, not met inactive."""
    text = cased(f"Visit 6, study eye OS.\nIRF: present (new)\nSRF: absent\n{field}", case)
    assert labels(text)["stage"] == "late_wet_active", text
    text = cased("Visit 7, study eye OS.\nIRF: absent\nSRF: absent\nRetreatment criteria not met.", case)
    assert labels(text)["stage"] == "late_wet_inactive", text


@SETTINGS
@given(
    st.sampled_from(["(was dry)", "(was inactive)", "(previously quiescent)", "(were dry)"]),
    st.sampled_from(["given today's injection", "Aflibercept given", "Inj given"]),
    CASES,
)
def test_an_earlier_state_in_parentheses_does_not_hold_back_a_treatment_now(earlier, plan, case):
    """Class: an earlier state in parentheses ("new IRF since last visit (was dry)") is history, so the treatment
    given today still states active wet AMD."""
    text = cased(f"RE OCT shows new IRF since last visit {earlier}. {plan}, booked 8 weeks.", case)
    assert labels(text)["stage"] == "late_wet_active", text


@SETTINGS
@given(st.sampled_from(["Active, stable.", "No active exudation seen."]), st.sampled_from(DRUGS[:-2]), CASES)
def test_a_treatment_given_beside_another_activity_word_yields(activity, drug, case):
    """A yielding qualifier ("given") gives way to any other activity word of the report, even a contradictory or
    a denied one: no stage is read from the dose alone."""
    text = cased(f"{drug} given today. {activity}", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["surveillance", "monitoring", "review"]),
    st.sampled_from(["fellow-eye", "fellow eye"]),
    st.sampled_from(["annual", "6-monthly", "yearly"]),
    CASES,
)
def test_a_fellow_eye_service_is_the_labelled_eyes_care(service, fellow, rhythm, case):
    """Class: the fellow-eye service. "Continue annual fellow-eye surveillance in MR clinic" for a fellow eye of
    treated nAMD is that eye's hospital review, routine, not a plan for the other eye."""
    text = cased(
        f"Virtual clinic - right eye, fellow eye of treated nAMD. OCT: few medium drusen, no fluid. No MNV. "
        f"Continue {rhythm} {fellow} {service} in MR clinic.",
        case,
    )
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["to be discussed at next F2F", "discussed at the next F2F visit", "to be discussed at next f2f"]),
    st.sampled_from(["Extend interval to 14 wks.", "Interval unchanged at 8 weeks."]),
    CASES,
)
def test_a_visit_named_as_an_occasion_is_no_plan(occasion, plan, case):
    """Class: a visit named as the occasion for something else ("to be discussed at next F2F") is when, not a plan:
    the treat-and-extend schedule stays the plan, routine."""
    text = cased(f"VC - left eye. Macula dry. Activity: none. {plan} Note: developing atrophy, {occasion}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["Injection performed same day", "Injection given same day", "Aflibercept given the same day"]),
    st.sampled_from([": yes", ""]),
    CASES,
)
def test_a_treatment_done_the_same_day_is_no_time_frame(done, answer, case):
    """Class: the writer's own treatment the same day (round 7): no referral, not the urgent time frame."""
    text = cased(f"Injection audit - Eye: R\nPre-treatment OCT: IRF yes, SRF no\n{done}{answer}", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(NAMES)), st.booleans()), min_size=2, max_size=5, unique_by=lambda x: x[0]
    ),
    st.sampled_from([" / ", ", "]),
    CASES,
)
def test_a_checklist_answer_without_a_colon_is_the_value(items, joiner, case):
    """Class: a checklist's answers without colons ("SRF no / IRF no / PED yes (flat)"): each answers its finding."""
    text = cased("OCT: " + joiner.join(f"{NAMES[bid]} {'yes' if on else 'no'}" for bid, on in items), case)
    got = labels(text)["biomarkers"]
    for bid, on in items:
        assert got.get(bid) == ("present" if on else "absent"), text


@SETTINGS
@given(st.sampled_from(["R slash O", "r slash o", "rule out", "R/O"]), CASES)
def test_a_dictated_slash_is_the_mark(rule_out, case):
    """Class: punctuation dictated as words. "R slash O occult CNV" is "R/O": a differential to exclude, so the
    stated stage stands."""
    text = cased(
        f"Impression intermediate AMD with serous PED full stop. {rule_out} occult CNV with OCTA next visit.", case
    )
    assert labels(text)["stage"] == "intermediate", text


@SETTINGS
@given(
    st.sampled_from(["Raises possibility of", "Raises the possibility of", "Raising the possibility of"]),
    st.sampled_from(["non-exudative MNV", "active nAMD", "geographic atrophy"]),
    CASES,
)
def test_a_raised_possibility_is_no_stage(raises, stage, case):
    """Class: a bare possibility ("Raises possibility of non-exudative MNV — OCTA booked") leaves the stage open."""
    text = cased(
        f"OCT RE: shallow irregular RPE elevation with double layer sign. {raises} {stage} — OCTA booked.", case
    )
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["Recommend in-person review and treatment", "Book anti-VEGF", "Aflibercept"]),
    st.sampled_from(["in 1 week", "within 5 days", "within the next week", "within 1 week"]),
    CASES,
)
def test_a_treatment_within_the_urgent_time_frame_states_active_wet_amd(plan, frame, case):
    """Class: treatment within a time frame (round 18: "Booked for injection within 5 working days"). A dose at an
    interval ("Next loading dose in 4 weeks") stays no stage."""
    text = cased(f"Teleretina (LE): SRF present subfoveally, new since last; PED enlarged. {plan} {frame}.", case)
    assert labels(text)["stage"] == "late_wet_active", text
    text = cased(
        "OD Lucentis #3 of loading given. OCT: SRF reduced, small residual. Next loading dose in 4 weeks.", case
    )
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(
        [
            "The scan is of insufficient quality to assess for",
            "Image of insufficient quality to assess",
            "Scan too poor to assess for",
        ]
    ),
    CASES,
)
def test_a_scan_that_cannot_answer_leaves_the_fluid_open(cannot, case):
    """Class: a scan that cannot answer ("insufficient quality to assess for fluid"): the fluid is uncertain (round 5's
    hedged umbrella term hedges each)."""
    text = cased(f"{cannot} fluid. Drusen appear present. Please repeat the acquisition.", case)
    got = labels(text)["biomarkers"]
    assert (got.get("srf"), got.get("irf")) == ("uncertain", "uncertain"), text
