"""Rules from the thirty-eighth writer's set (round 38: styles_dev38.jsonl), as properties, and the lead's conventions
(h), (i) and (j) from round 37's open items: the coming days and the next fortnight, the soonest slot addressed to the
reader, a need or a visit today with the eye or clinic between, a repeat scan on a named weekday, an annual review
with the service between, a review brought forward, "follow" and "consult" as visit words, the optometrist or
optician named in a plan, "no action", the return to the patient's own ophthalmologist (h), a visit to eye casualty
that was, an activity called doubtful, a reader's "ungradable for neovascular status", lifestyle advice that names no
healthy macula, a reading centre's AREDS severity scale, a history of inactivity beside today's hedged fluid (i), a
disciform scar with its activity word (j), the eye named as the referral's subject, the side in shorthand ("lt:",
"rt (fellow)"), a model's score that gives way to its stated state, and vocabulary ("fibrose", "controle")."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)


# -- referral: urgent time frames -------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(
        [
            "We will give one injection in the next days.",
            "Injection within the next days.",
            "Please see within the next fortnight.",
            "Kindly evaluate at your earliest.",
            "Please see at your earliest convenience.",
            "Pls rescan Mon.",
            "Repeat OCT on Friday.",
            "Bring forward review to 2 weeks.",
        ]
    ),
    CASES,
)
def test_the_coming_days_and_the_soonest_slot_are_urgent(plan, case):
    """Under the urgent level's two weeks: the next days, the next fortnight, the reader's earliest slot, a repeat
    scan on a weekday of the coming week (round 14's urgent repeat scan) and a review brought forward to two weeks."""
    text = cased(f"Right eye: small PED with subretinal fluid. {plan}", case)
    assert labels(text)["referral"] == "urgent", text


def test_the_coming_days_keep_their_limits():
    """Negative: a review brought forward to three months stays routine, a repeat scan at an interval names a test
    (no referral), and "the next few weeks" is no urgent time frame."""
    assert labels("LE: drusen, no fluid. Bring forward review to 3 months.")["referral"] == "routine"
    assert labels("LE: drusen, no fluid. Rescan in 3 months.")["referral"] is None
    assert labels("LE: drusen, no fluid. Repeat OCT in 6 months.")["referral"] is None


@SETTINGS
@given(
    st.sampled_from(
        [
            "Pt in clinic room 3 needs anti-VEGF to R eye today - consent done.",
            "Needs injection to the left eye today.",
            "Needs to be seen in MR clinic today.",
            "To be seen in the eye clinic today.",
        ]
    ),
)
def test_a_need_or_a_visit_today_with_the_eye_or_clinic_between_is_urgent(plan):
    """Round 21: a treatment needed today, handed on, and a visit wanted today are urgent, with the eye or the
    clinic named between."""
    text = f"Overnight: L eye OCT shows new subretinal haem and SRF. {plan}"
    assert labels(text)["referral"] == "urgent", text


def test_a_visit_today_that_was_is_no_plan():
    """Negative: the patient seen in clinic today and the writer's own injection today state no urgent referral."""
    assert labels("Seen in clinic today. LE: drusen, no fluid. Review 12 months.")["referral"] == "routine"
    assert labels("LE: active nAMD with SRF. Injection given today. Review 4 weeks.")["referral"] != "urgent"


# -- referral: routine follow-up in other words ------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(
        [
            "Annual MR review.",
            "Annual medical retina review.",
            "We will follow up at our hospital after 3 months.",
            "You must return to consult with the retina doctor in 6 months.",
        ]
    ),
    CASES,
)
def test_a_follow_up_in_other_words_is_routine(plan, case):
    """The annual review with the service between, "follow" with its venue between it and the interval, and a
    second-language "return to consult" at an interval are routine."""
    text = cased(f"LE: multiple large drusen, no sub- or intraretinal fluid. Dx LE: iAMD. {plan}", case)
    assert labels(text)["referral"] == "routine", text


def test_follow_up_in_other_words_keeps_its_negatives():
    """Negative: a document that will follow is no follow-up, and an annual review with the optometrist is none."""
    assert labels("LE: drusen, no fluid. The formal report will follow in 2 weeks.")["referral"] is None
    assert labels("LE: drusen, no fluid. Annual review with her optometrist.")["referral"] == "none"


@SETTINGS
@given(
    st.sampled_from(
        [
            "Controle by the optometrist in one year.",
            "We have asked your optician to check your eyes every year.",
            "Review with local optometrist yearly.",
            "No action.",
            "Return annual to your ophthalmologist.",
            "Continue with your local ophthalmologist, review 3 months.",
        ]
    ),
    CASES,
)
def test_community_and_own_eye_doctor_care_is_none(plan, case):
    """The optometrist or optician named in the plan, "no action", and (h) a return to the patient's own
    ophthalmologist outside the writing service are none."""
    text = cased(f"OCT right eye: few small drusen, no fluid. Early AMD. {plan}", case)
    assert labels(text)["referral"] == "none", text


def test_an_ophthalmologist_referred_to_is_no_return_to_ones_own():
    """Negative (h): a referral to an ophthalmologist, and an optometrist named as the sender, stay referrals."""
    assert labels("RE: soft drusen, no fluid. Refer ophthalmologist routine.")["referral"] == "routine"
    assert labels("Referred by optometrist. LE: SRF at fovea. Refer urgently.")["referral"] == "urgent"


def test_a_visit_to_eye_casualty_that_was_is_no_plan():
    """The patient came to eye casualty: where the visit was, so the plan after it decides; eye casualty as the plan
    stays urgent."""
    text = "L eye GA, came to eye casualty with sudden blur - no fluid. Reassured. Back to her usual MR review in Sept."
    assert labels(text)["referral"] == "routine"
    assert labels("LE: new SRF. Please attend eye casualty today.")["referral"] == "urgent"


def test_a_schedule_kept_while_the_activity_is_doubtful_is_routine():
    """Round 8: a kept interval for a treated eye whose activity is left open is routine, and the activity called
    doubtful leaves the stage open."""
    text = (
        "In the left eye, the activity of the neovascular membrane is doubtful: minimal subretinal fluid versus "
        "artefact. We maintain the interval of 8 weeks."
    )
    assert labels(text) | {"biomarkers": None} == {"stage": None, "referral": "routine", "biomarkers": None}
    # negative: a stated activity keeps its stage
    assert labels("Left eye: neovascular membrane, active, with SRF. Inject today.")["stage"] == "late_wet_active"


# -- stage --------------------------------------------------------------------------------------------------------------


@SETTINGS
@given(st.sampled_from(["healthy diet", "healthy lifestyle", "healthy balanced diet"]), CASES)
def test_lifestyle_advice_names_no_healthy_macula(advice, case):
    text = cased(f"My impression is early age-related macular degeneration OD. I recommended a {advice}.", case)
    assert labels(text)["stage"] == "early", text


def test_a_healthy_macula_is_still_healthy():
    """Negative: the macula called healthy still states the healthy stage."""
    assert labels("OD: healthy macula, no drusen.")["stage"] == "healthy"


@SETTINGS
@given(st.sampled_from([("1", "healthy"), ("2", "early"), ("3", "intermediate")]), CASES)
def test_the_areds_severity_scale_names_its_stage(grade, case):
    number, stage = grade
    text = cased(f"Reading Centre Grade Report. Study eye: OS. AREDS severity scale: category {number}.", case)
    assert labels(text)["stage"] == stage, text


def test_a_stage_the_reader_cannot_grade_is_open():
    """A reader's "ungradable for neovascular status" leaves the wet stage open; a grade given stays."""
    text = "Reading centre QC: OS scan decentred, fluid cannot be assessed reliably. Grade: ungradable for neovascular status."
    assert labels(text)["stage"] is None
    assert labels("OS: SRF present. Grade: active neovascular AMD.")["stage"] == "late_wet_active"


@SETTINGS
@given(
    st.sampled_from(
        [
            "could be a small SRF pocket or just an optical artifact. Hx of wet AMD OS treated 2019-2021, inactive since.",
            "Wet AMD, inactive since March. Possible small SRF pocket today.",
            "Known nAMD, quiescent for 18 months. ?trace IRF today.",
        ]
    ),
    CASES,
)
def test_a_history_of_inactivity_beside_todays_hedged_fluid_leaves_the_stage_open(text, case):
    """(i): today's hedged sign of activity beside a history of inactivity leaves the wet stage undecided."""
    text = cased(f"OS: {text}", case)
    assert labels(text)["stage"] is None, text


def test_a_history_of_inactivity_alone_or_with_fluid_present_keeps_its_reading():
    """Negative (i): with no hedged fluid the inactivity stands; with fluid present the hedge is not the reading."""
    assert labels("Wet AMD, inactive since March. No SRF. Extend to 12 weeks.")["stage"] == "late_wet_inactive"
    assert labels("Inactive wet AMD. Possible trace SRF.")["stage"] == "late_wet_inactive"


@SETTINGS
@given(
    st.sampled_from(
        [
            "R EYE: DISCIFORM SCAR. NO ACTIVITY. VA CF.",
            "LE: disciform scar, no activity on OCT. Not for anti-VEGF.",
            "The right macula shows disciform scarring with no exudative activity.",
            "Her left eye shows a disciform scar with no activity on OCT.",
        ]
    ),
)
def test_a_disciform_scar_with_its_activity_word_is_inactive_wet_amd(text):
    """(j): a disciform scar stated with its activity is inactive wet AMD."""
    assert labels(text)["stage"] == "late_wet_inactive", text


def test_a_disciform_scar_without_an_activity_word_names_no_stage():
    """Negative (j): a scar with no activity word names no stage (round 8), and the fellow eye's scar says nothing."""
    assert labels("Right eye: old disciform scar, no SRF or IRF, nothing to treat.")["stage"] is None
    assert (
        labels("The left eye, not the subject of this referral, has a disciform scar. Right eye: small drusen only.")[
            "stage"
        ]
        is None
    )


# -- eyes ---------------------------------------------------------------------------------------------------------------


def test_the_eye_named_as_the_referrals_subject_is_this_eye():
    text = (
        "Her left eye has been treated for neovascular AMD since 2020. Her right eye, the subject of your recent "
        "referral, shows a few small drusen but no pigment epithelial detachment and no fluid."
    )
    got = labels(text)
    assert got["biomarkers"]["drusen"] == "present" and got["biomarkers"]["ped"] == "absent"
    # negative: "not the subject of this referral" is still the fellow eye's cue
    other = labels("The right eye, not the subject of this referral, has SRF. Left eye: small drusen, no fluid.")
    assert other["biomarkers"].get("srf") == "absent"


def test_the_side_in_shorthand_and_the_fellow_in_brackets():
    text = "lt: ga stable, no fluid. rt (fellow) treated nAMD, inactive. both reviewed in 6/12."
    assert labels(text)["stage"] == "late_dry"
    # negative: without the brackets' fellow mark the first eye still decides
    assert labels("LE: GA stable. RE: treated nAMD, inactive.")["stage"] == "late_dry"


# -- biomarkers ---------------------------------------------------------------------------------------------------------


def test_a_models_score_gives_way_to_its_stated_state():
    """(c): a score named with its finding gives way to the state the same output derives from it, in prose and in a
    JSON states object; a bare score alone keeps its reading."""
    prose = "Model output (OS): srf_probability 0.71 -> SRF present; irf_probability 0.12 -> IRF absent"
    assert labels(prose)["biomarkers"] == {"srf": "present", "irf": "absent"}
    js = '{"eye":"OD","scores":{"srf":0.41,"irf":0.09},"states":{"srf":"uncertain","irf":"absent"}}'
    assert labels(js)["biomarkers"] == {"srf": "uncertain", "irf": "absent"}
    assert labels('{"eye":"OD","scores":{"srf":0.95}}')["biomarkers"].get("srf") == "present"


@SETTINGS
@given(CASES)
def test_second_language_fibrose_is_fibrosis(case):
    text = cased("Right eye: presence of subretinal fluid, with subretinal fibrose.", case)
    assert labels(text)["biomarkers"].get("fibrosis") == "present", text
