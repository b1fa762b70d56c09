"""Rules from the twenty-fifth writer's general set (round 27: styles_dev25.jsonl), as properties: who acts (a
clinician named with a title, the optometrist's practice, the hospital's retina service, care the patient already
has), a comparison with the last visit, an undecided stage denied, and checklist answers inside brackets."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)

TITLES = st.sampled_from(["Dr.", "Mr.", "Mrs.", "Ms.", "Prof."])
MONTHS = st.integers(min_value=3, max_value=12)


@SETTINGS
@given(TITLES, st.sampled_from(["return to see", "come back to see", "review with"]), MONTHS, CASES)
def test_a_visit_with_a_titled_clinician_is_a_follow_up(title, verb, months, case):
    """Class: who acts and when. "return to see Dr. Cohen in 6 months": the title's full stop is inside the clause,
    so the visit word still reaches its interval (routine)."""
    text = cased(f"Large drusen, no fluid. Intermediate AMD. Please {verb} {title} Cohen in {months} months.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(
        ["Continue monitoring in practice.", "Monitor in practice.", "Continue monitoring in the practice."]
    ),
    CASES,
)
def test_monitoring_in_the_practice_is_community_care(plan, case):
    """Class: who acts. Monitoring in the optometrist's practice is community care, no referral (none)."""
    text = cased(f"RE known GA, discharged last year. OCT stable, no SRF. {plan}", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(["medical retina service", "MR service", "retina service", "macular service"]),
    MONTHS,
    CASES,
)
def test_a_follow_up_in_the_retina_service_is_routine(service, months, case):
    """Class: who acts. The hospital's retina service named as a service ("a follow-up visit in our medical retina
    service in 6 months") is the hospital's review, like "MR clinic"."""
    text = cased(f"GA, no SRF, no IRF. Please arrange a follow-up visit in our {service} in {months} months.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["with appointment in March", "with a review booked in 3 months", "with next visit in 4 months"]),
    st.sampled_from(["no HES referral sent", "no HES referral needed", "no referral made"]),
    CASES,
)
def test_a_declined_referral_beside_a_booked_visit_is_routine(visit, declined, case):
    """Class: care the patient already has. The booked review kept in the same sentence is the plan (round 15's
    booked-review case, eval/README.md)."""
    text = cased(f"Inactive wet AMD, scar, no fluid. Already under MR clinic {visit} - {declined}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["No HES referral - already under MR.", "No HES referral needed - already under MR clinic."]), CASES
)
def test_a_declined_referral_alone_stays_none(plan, case):
    """The same decline without a booked visit is none (u122, v045); a clinic the patient is known to, named in
    another sentence, is no visit kept (w23-067)."""
    text = cased(f"Known to MR clinic, under treatment. RE OCT: small PED, no SRF or IRF today. {plan}", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(
        ["stable vs last visit", "unchanged vs last visit", "stable vs previous", "stable versus last visit"]
    ),
    CASES,
)
def test_a_comparison_with_the_last_visit_is_todays_reading(comparison, case):
    """Class: a comparison with an earlier visit. "few small IRCs, stable vs last visit, no SRF": the denial after
    the comparison is today's, not history."""
    text = cased(f"OD nAMD: few small IRCs, {comparison}, no SRF. Keep at 6/52 interval.", case)
    assert labels(text)["biomarkers"].get("srf") == "absent", text


@SETTINGS
@given(
    st.sampled_from(["No adjudication needed.", "Not for adjudication.", "No adjudication required."]),
    CASES,
)
def test_an_undecided_cue_denied_leaves_the_stage(denial, case):
    """Class: an undecided stage denied. A reading centre's "No adjudication needed" sends nothing to another
    reader: the stage its grid names stands ("cRORA: present" is late dry AMD, eval/README.md round 10)."""
    text = cased(f"Study eye: OS | cRORA: present, total area 7.2 mm2 | Hypertransmission: present | {denial}", case)
    assert labels(text)["stage"] == "late_dry", text


def test_an_undecided_cue_still_leaves_the_stage_open():
    text = "Study eye: OS | cRORA: present | Adjudication needed."
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(st.sampled_from(["no", "No", "NO"]), st.sampled_from(["Fluid at visit: none", "Dry macula"]), CASES)
def test_checklist_answers_inside_brackets(answer, lead, case):
    """Class: checklist answers without colons (round 25), also closing a bracket: "(SRF no / IRF no)"."""
    text = cased(f"nAMD audit | Eye: R | {lead} (SRF {answer} / IRF {answer}) | Activity decision: inactive", case)
    got = labels(text)
    assert got["biomarkers"].get("srf") == "absent" and got["biomarkers"].get("irf") == "absent", text
    assert got["stage"] == "late_wet_inactive", text


@SETTINGS
@given(
    st.sampled_from(["Drusen present", "Large drusen", "Soft drusen"]),
    st.sampled_from(["SRF: no / IRF: no", "SRF no / IRF no", "SRF: no, IRF: no"]),
    CASES,
)
def test_a_field_inside_a_bracket_is_its_own(finding, field, case):
    """A label inside a bracket opened after a finding ("Drusen present (SRF: no / IRF: no)") answers its own
    finding, not the one before the bracket."""
    text = cased(f"{finding} ({field}).", case)
    got = labels(text)["biomarkers"]
    assert got.get("drusen") == "present" and got.get("srf") == "absent", text


@SETTINGS
@given(
    st.sampled_from(["no SRF", "no fluid", "no SRF or IRF"]),
    st.sampled_from(["the dark space was a shadow artefact", "the lucency was a floater's shadow"]),
    st.sampled_from(["Macula otherwise unremarkable.", "Otherwise normal macula.", "Otherwise unremarkable."]),
    CASES,
)
def test_otherwise_normal_after_only_excluded_findings_is_healthy(denial, artefact, normal, case):
    """Class: a normal scan named through "otherwise". After findings that were all ruled out, the rest of the scan is
    the whole scan: healthy. "few drusen, otherwise normal" stays no stage (eval/README.md, the "otherwise" rule
    applies after a finding)."""
    text = cased(f"RE OCT: on closer inspection {denial} - {artefact}. {normal} Back to optom recall 2 yrs.", case)
    assert labels(text)["stage"] == "healthy", text
    text = cased(f"RE OCT: few small drusen. {normal}", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["false positive for wet", "false positive for wet AMD", "false-positive for nAMD"]),
    CASES,
)
def test_a_false_positive_is_an_excluded_differential(outcome, case):
    """Class: an excluded differential. "Outcome: false positive for wet" denies the referral's suspicion."""
    text = cased(
        f"Referral refinement audit | Referred as: ?wet AMD | Findings at MR: drusen; SRF: none | Outcome: {outcome}",
        case,
    )
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(
        ["persistent SRF since loading, stable height", "trace SRF, stable x3 visits", "small SRF, stable size"]
    ),
    st.sampled_from(["injected today", "Injection given today", "Eylea given"]),
    CASES,
)
def test_a_findings_stability_does_not_undo_a_treatment_given(fluid, treatment, case):
    """Class: a finding's own course. "stable" right after a present finding or before its measure describes the
    fluid; the treatment given still states active wet AMD (eval/README.md round 18). w24-097 read so too."""
    text = cased(f"RE: {fluid}, no IRF. Tolerating persistent SRF; {treatment}, interval kept at 8 wk.", case)
    assert labels(text)["stage"] == "late_wet_active", text


@SETTINGS
@given(
    st.sampled_from(["Aflibercept given, stable.", "Dry. Injected today. Extend.", "Eylea given. Stable, dry."]), CASES
)
def test_the_disease_stable_still_yields(text, case):
    """A stability word not next to a present finding is the disease's ("Aflibercept given, stable")."""
    text = cased(text, case)
    assert labels(text)["stage"] == "late_wet_inactive", text


@SETTINGS
@given(
    st.sampled_from(["negatives", "absent", "not detected"]),
    st.permutations(["SRF", "IRF"]),
    CASES,
)
def test_an_unquoted_list_of_negatives(key, items, case):
    """Class: a model's loose JSON. "{findings: [...], negatives: [SRF, IRF]}" reads each item as absent, as the
    quoted list does."""
    text = cased(f"{{findings: [RPE atrophy, drusen], {key}: [{', '.join(items)}], stage: late dry AMD}}", case)
    got = labels(text)["biomarkers"]
    assert got.get("srf") == "absent" and got.get("irf") == "absent", text
    assert got.get("drusen") == "present", text


@SETTINGS
@given(st.sampled_from(["NO FLUID SEEN ??", "No fluid seen ??", "no fluid visible ??"]), CASES)
def test_a_denial_doubted_with_a_double_query_is_hedged(denial, case):
    """Class: hedges. A double query mark after a finding's statement doubts it: "NO FLUID SEEN ?? (POOR SCAN)" leaves
    the fluid uncertain."""
    text = cased(f"LE: intermediate AMD - large drusen. {denial} (poor scan). Routine ref to HES.", case)
    got = labels(text)["biomarkers"]
    assert got.get("srf") == "uncertain" and got.get("irf") == "uncertain", text


def test_a_forms_question_is_still_answered():
    text = "Grader 2 (OCT, R):\nRPE atrophy present? No\nFluid? No\nHRF? Yes"
    got = labels(text)["biomarkers"]
    assert got.get("rpe_atrophy") == "absent" and got.get("srf") == "absent", text


@SETTINGS
@given(
    st.sampled_from(["OS", "LE", "Left eye", "RE", "OD"]),
    st.sampled_from(["new SRF", "new subretinal fluid", "SRF ++"]),
    st.sampled_from(["the fellow eye has GA", "fellow eye has geographic atrophy", "the other eye has GA"]),
    CASES,
)
def test_a_fellow_eye_clause_after_a_dash_is_its_own(eye, finding, fellow, case):
    """Class: eye scope. "OS new SRF - the fellow eye has GA": the fellow-eye cue speaks of its own clause; the
    clause that names this eye keeps its finding, and the fellow eye's GA is not this scan's."""
    text = cased(f"{eye} {finding} - {fellow}. Pt 2ww to nAMD clinic.", case)
    got = labels(text)
    assert got["biomarkers"].get("srf") == "present", text
    assert "rpe_atrophy" not in got["biomarkers"] and got["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["The right eye, not the subject of this referral, has GA.", "Right eye (fellow eye): GA."]), CASES
)
def test_a_fellow_eye_named_in_its_clause_is_still_the_other_eye(fellow, case):
    """The fellow-eye cue in the clause that names the eye still makes that eye the fellow one."""
    text = cased(f"{fellow} LE: small drusen, no fluid. Early AMD.", case)
    got = labels(text)
    assert got["stage"] == "early" and "rpe_atrophy" not in got["biomarkers"], text


@SETTINGS
@given(
    st.sampled_from(["Repeat OCT", "Repeat scan", "OCT"]),
    st.sampled_from(["at next visit in 6 months", "at the next visit in 12 months", "at next visit"]),
    CASES,
)
def test_a_test_at_the_next_visit_names_no_referral(test, when, case):
    """Class: a visit named as the occasion for something else (round 25). "Repeat OCT at next visit in 6 months"
    says when the scan is taken; like "repeat OCT in 6 months" it names a test, no referral (eval/README.md round
    14)."""
    text = cased(f"L: drusen + RPE mottling. Dry AMD. Pt given leaflet. {test} {when}.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(st.sampled_from(["Review in 6 months", "RTC 6 months"]), CASES)
def test_a_review_beside_a_test_at_the_next_visit_stays_routine(review, case):
    text = cased(f"Drusen, no fluid. Intermediate AMD. {review}; repeat OCT at next visit.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from([("ga", "rpe_atrophy"), ("srf", "srf"), ("ped", "ped"), ("shrm", "shrm")]), CASES)
def test_an_unquoted_lower_case_key_is_still_the_abbreviation(key_bid, case):
    """Class: a model's loose JSON. A lower-case field name unquoted ("{eye: OS, ga: present}") is the abbreviation,
    as the quoted '"ga": "present"' is (dev21 w21-081 read so too)."""
    key, bid = key_bid
    text = f"{{eye: OS, drusen: present, {key}: present, referral: routine}}"
    text = text if case == "as written" else cased(text, case)
    assert labels(text)["biomarkers"].get(bid) == "present", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Observation at place of residence by optometrist.",
            "Observation by her optometrist.",
            "Follow-up by the optometrist.",
        ]
    ),
    CASES,
)
def test_observation_by_the_optometrist_is_community_care(plan, case):
    """Class: who acts. Observation or follow-up by the optometrist, or near home, is community care (none); dev22
    w22-050 read so too. "Referred by optometrist" names who referred, not who monitors."""
    text = cased(f"OD: macula without pathology. No drusen, no fluid. Conclusion: healthy retina. {plan}", case)
    assert labels(text)["referral"] == "none", text


def test_referred_by_the_optometrist_is_no_community_care():
    text = "New patient, LE. Referred by optometrist via fast-track. SRF, IRF. Active nAMD. Loading dose 1 given today."
    assert labels(text)["referral"] is None, text
