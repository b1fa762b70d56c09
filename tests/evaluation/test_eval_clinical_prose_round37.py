"""Rules from the thirty-fifth writer's set (round 37: styles_dev35.jsonl), as properties: "follow" with its interval
bare, the review with the service named between it and its interval, the next examination at an interval, a
treatment decision in the verb ("not treat") that does not deny the follow-up after it, the next dose after "after"
for an inactive eye, the treatment needed today with its route named, a stage told with a copula, the side as the
scan's adjective, a second-language "is not recognized", a finding affirmed in its own clause, the artefact ranked as
the likelier reading, and vocabulary (plural "fluids", the PED with "pigment epithelium" after "detachment")."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)


# -- referral --------------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(
        [
            "Plan: follow 6 months.",
            "Follow 12 months.",
            "Plan: not treat, follow 6 months.",
            "Do not treat, follow 1 year.",
            "Review MR 6/12.",
            "Review MR 4 months.",
            "Next examination after 1 year at our hospital.",
            "Next examination in 6 months.",
        ]
    ),
    CASES,
)
def test_a_follow_up_in_other_words_is_routine(plan, case):
    """ "follow" with its interval bare, the review with the service between, the next examination at an interval,
    and a plan whose treatment is declined in the verb before its follow-up are routine."""
    text = cased(f"OD: disciform scar at macula, without signs of activity. {plan}", case)
    assert labels(text)["referral"] == "routine", text


def test_follow_up_in_other_words_keeps_its_length_and_its_denials():
    """Negative: a short interval stays urgent, a denied referral stays none, and a community examination stays
    the optometrist's."""
    assert labels("LE: SRF at fovea. Follow 1 week.")["referral"] == "urgent"
    assert labels("LE: SRF at fovea. Review MR 1/52.")["referral"] == "urgent"
    assert labels("LE: small drusen. Do not refer, not treat.")["referral"] == "none"
    assert labels("LE: small drusen. Routine eye examination in 2 years.")["referral"] == "none"


@SETTINGS
@given(
    st.sampled_from(["Next injection after 16 weeks.", "Next inj after 12 weeks.", "Next treatment after 10 weeks."]),
    CASES,
)
def test_the_next_dose_after_an_interval_for_an_inactive_eye_is_routine(plan, case):
    """Round 31's kept schedule: the next dose with "after" its interval, for an eye stated inactive, is routine."""
    text = cased(f"Left eye: SRF is not recognized. Condition of nAMD is stable and quiescent. {plan}", case)
    assert labels(text)["referral"] == "routine", text


def test_the_next_dose_after_an_interval_for_an_active_eye_is_the_treatment():
    """Negative: for an active eye the plan is the treatment itself, no referral."""
    assert labels("Left eye: new SRF. Active nAMD. Injection given. Next injection after 4 weeks.")["referral"] is None


@SETTINGS
@given(
    st.sampled_from(
        [
            "Needs intravitreal anti-VEGF today before he goes home.",
            "Requires intravitreal anti-VEGF today.",
            "Needs intravitreal injection today - please liaise with eye day unit.",
        ]
    ),
    CASES,
)
def test_a_treatment_needed_today_with_its_route_is_urgent(plan, case):
    """Round 21: a treatment the eye needs today, handed on, is urgent, with the route named too."""
    text = cased(f"Ward 7 handover: R eye active nAMD (SRF + IRF on OCT this am). {plan}", case)
    assert labels(text)["referral"] == "urgent", text


def test_the_writers_own_treatment_today_stays_no_referral():
    """Negative (round 7): the writer's own injection today states no referral."""
    assert labels("R eye active nAMD, SRF. Intravitreal anti-VEGF given today.")["referral"] is None


# -- stage -----------------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(
        [
            ("is in the intermediate stage", "intermediate"),
            ("is at an intermediate stage", "intermediate"),
            ("is in the early stage", "early"),
            ("is at an early stage", "early"),
        ]
    ),
    CASES,
)
def test_a_stage_told_with_a_copula_is_the_stage(told, case):
    """A letter's "the dry macular degeneration in your left eye is in the intermediate stage" states the stage."""
    words, stage = told
    text = cased(f"The dry macular degeneration in your left eye {words}, and there's no fluid.", case)
    assert labels(text)["stage"] == stage, text


def test_dry_amd_without_a_stage_word_states_no_stage():
    """Negative (round 23): the family alone states no stage."""
    assert labels("The dry macular degeneration in your left eye is stable, and there's no fluid.")["stage"] is None


@SETTINGS
@given(st.sampled_from([("left", "right"), ("right", "left")]), CASES)
def test_the_side_as_the_scans_adjective_names_this_eye(sides, case):
    """ "His left OCT shows ..." names the eye of the findings, so the other eye's "healthy" is the fellow eye's."""
    this, other = sides
    text = cased(
        f"His {this} OCT shows a large PED with subretinal fluid. I diagnosed active neovascular AMD. "
        f"His {other} eye is healthy.",
        case,
    )
    assert labels(text)["stage"] == "late_wet_active", text


def test_an_eye_healthy_alone_stays_healthy():
    """Negative: a letter that names only a healthy eye stays healthy."""
    assert labels("His right OCT is normal. His right eye is healthy.")["stage"] == "healthy"


# -- biomarkers ------------------------------------------------------------------------------------------------------


@SETTINGS
@given(st.sampled_from(["SRF is not recognized", "SRF is not recognised", "subretinal fluid not recognized"]), CASES)
def test_not_recognized_denies_the_finding_and_not_the_clause_before(denial, case):
    """A second-language "is not recognized" denies the finding; a finding affirmed in its own clause before the
    comma keeps its reading."""
    text = cased(f"Left eye: Subretinal fibrosis is formed, {denial}.", case)
    got = labels(text)["biomarkers"]
    assert got.get("srf") == "absent" and got.get("fibrosis") == "present", text


def test_a_denial_in_the_same_clause_still_reaches_its_list():
    """Negative: without a predicate of its own the first finding is in the denial's list."""
    got = labels("Left eye: SRF, IRF not seen.")["biomarkers"]
    assert got == {"srf": "absent", "irf": "absent"}


@SETTINGS
@given(
    st.sampled_from(
        [
            "a little of subretinal fluid, but more probably is a artefact",
            "a little subretinal fluid, probably an artefact",
            "a little subretinal fluid, but more likely an artefact",
        ]
    ),
    CASES,
)
def test_an_artefact_ranked_likelier_hedges_the_finding(finding, case):
    """The artefact offered as the likelier reading hedges the finding, as "could be artefact" does."""
    text = cased(f"Right eye: {finding}. Large drusen.", case)
    assert labels(text)["biomarkers"].get("srf") == "uncertain", text


def test_an_artefact_stated_denies_the_finding():
    """Negative: "is an artefact" stated denies it, as before."""
    assert labels("Right eye: the apparent SRF is an artefact.")["biomarkers"].get("srf") == "absent"


@SETTINGS
@given(st.sampled_from(["No fluids.", "No fluids seen.", "There are no fluids."]), CASES)
def test_the_plural_fluids_denies_both_fluids(denial, case):
    """Plural "fluids" is the fluid umbrella: denied, it denies SRF and IRF."""
    text = cased(f"Left eye: atrophy of RPE and outer retina. {denial}", case)
    got = labels(text)["biomarkers"]
    assert got.get("srf") == "absent" and got.get("irf") == "absent", text


def test_fluids_affirmed_names_no_particular_biomarker():
    """Negative (round 5): an affirmed umbrella names no particular biomarker."""
    got = labels("Left eye: fluids present under the fovea.")["biomarkers"]
    assert "srf" not in got and "irf" not in got


@SETTINGS
@given(
    st.sampled_from(["one drusenoid detachment of the pigment epithelium", "a detachment of pigment epithelium"]),
    CASES,
)
def test_detachment_of_the_pigment_epithelium_is_a_ped(finding, case):
    """The PED named with the layer after "detachment" is a PED."""
    text = cased(f"Right eye: drusens of big size and {finding}.", case)
    assert labels(text)["biomarkers"].get("ped") == "present", text


def test_a_retinal_detachment_is_no_ped():
    """Negative: a neurosensory detachment is SRF, not a PED."""
    assert "ped" not in labels("Right eye: neurosensory detachment at the fovea.")["biomarkers"]
