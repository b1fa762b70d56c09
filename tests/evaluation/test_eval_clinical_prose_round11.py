"""Rules for real clinical prose from the eleventh dev set (issue 18, round 11: styles_dev11.jsonl), as properties:
referral time frames and follow-ups in shorthand, community care, a treatment stopped, a normal study, a diagnosis
not excluded, the RPE within normal limits, a reader's disagreement, scores explained by a word, and cues of a
finding's own item."""

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from prose_testing import CASES, NAMES, cased, labels, named

SETTINGS = settings(max_examples=40, deadline=None)
DRY_STAGES = {"early": "early AMD", "intermediate": "intermediate AMD"}
NUMBERS = st.integers(1, 12)
WRITTEN = st.sampled_from(["as written", "upper"])  # eye abbreviations ("LE", "OS") are matched as written

# -- referral -----------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(["retina clinic tomorrow morning", "review tomorrow", "next available slot", "see next day"]),
    st.sampled_from(["", " for anti-VEGF", " for injection"]),
    CASES,
)
def test_a_time_frame_under_two_weeks_is_urgent(frame, purpose, case):
    """ "Plan: retina clinic tomorrow morning for anti-VEGF": tomorrow is under two weeks (eval/README.md), and a
    time frame is stated like a level, so a treatment named with it does not make it the treatment's own review."""
    text = cased(f"Large SRF and IRF. Active nAMD. Plan: {frame}{purpose}.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(
    st.sampled_from(sorted(DRY_STAGES.items())),
    st.sampled_from(
        [
            "REVIEW AFTER {n} YEAR",
            "Review after {n} years",
            "Rtn {n} months",
            "Return in {n} months",
        ]
    ),
    NUMBERS,
    CASES,
)
def test_a_follow_up_interval_in_shorthand_is_routine(stage, plan, n, case):
    """ "ADV: REVIEW AFTER 1 YEAR", "Rtn 6 months": a bare follow-up interval is routine (eval/README.md)."""
    sid, term = stage
    text = cased(f"Drusen. {term}. Plan: {plan.format(n=n)}.", case)
    assert labels(text)["referral"] == "routine", text
    assert labels(text)["stage"] == sid, text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Recall {n} yr in practice",
            "Annual dilated exam w/ optometry",
            "I'd recommend follow-up with an optometrist",
            "Follow-up with her optometrist in {n} months",
            "annual review by the optometrist",
        ]
    ),
    NUMBERS,
    CASES,
)
def test_a_follow_up_left_to_the_community_is_no_referral(plan, n, case):
    """Community / optometrist monitoring is `none` (eval/README.md), in its shorthands too."""
    text = cased(f"Small drusen, no fluid. Early AMD. {plan.format(n=n)}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["No further treatment", "No further tx", "Not for further treatment"]), CASES)
def test_a_decision_not_to_treat_does_not_deny_the_discharge_after_it(decision, case):
    """ "No further treatment, discharged to community optometrist": the decision negates nothing after it."""
    text = cased(
        f"Old disciform scar, no fluid. Inactive wet AMD. {decision}, discharged to community optometrist.", case
    )
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(["stop injections", "stopped aflibercept", "discontinue anti-VEGF", "cease injections"]),
    NUMBERS,
    CASES,
)
def test_a_treatment_stopped_leaves_the_follow_up_a_referral(stop, n, case):
    """ "Plan: stop injections, review 6 months": the eye leaves its treating schedule, so the interval is routine
    again; a treatment given keeps it the treatment's own review ("Eylea given today, review 4 months")."""
    text = cased(f"No SRF, no IRF. Fibrotic scar. Plan: {stop}, review {n} months.", case)
    assert labels(text)["referral"] == "routine", text
    given_today = cased(f"No SRF, no IRF. Fibrotic scar. Plan: Eylea given today, review {n} months.", case)
    assert labels(given_today)["referral"] is None, given_today


# -- stage ----------------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(["IMPRESSION", "Impression", "Conclusion"]),
    st.sampled_from(["normal study", "normal scan", "normal OCT"]),
    CASES,
)
def test_a_normal_study_is_healthy(heading, value, case):
    """ "IMPRESSION: NORMAL STUDY." is the radiology form of "Impression: normal"."""
    text = cased(f"Normal foveal contour. No drusen, no fluid.\n{heading}: {value}.", case)
    assert labels(text)["stage"] == "healthy", text


@SETTINGS
@given(
    st.sampled_from(["Cannot exclude", "cannot rule out", "Can not exclude"]),
    st.sampled_from(["early MNV", "MNV", "active nAMD", "geographic atrophy"]),
    CASES,
)
def test_a_diagnosis_not_excluded_is_no_stage(hedge, term, case):
    """ "Medium drusen. Cannot exclude early MNV.": a diagnosis the writer cannot exclude is suspected, not stated
    (eval/README.md: a stage hedged by a query or a suspicion is not stated)."""
    text = cased(f"Medium drusen. {hedge} {term}.", case)
    assert labels(text)["stage"] is None, text
    # a finding not excluded stays a hedged finding
    assert labels(cased("Active nAMD. SRF present. PED cannot be excluded.", case))["biomarkers"]["ped"] == "uncertain"


# -- findings -------------------------------------------------------------------------------------------------------


@SETTINGS
@given(st.sampled_from(["RPE WNL", "RPE within normal limits", "RPE: WNL"]), CASES)
def test_an_rpe_within_normal_limits_denies_its_irregularity(phrase, case):
    """ "RPE WNL" denies RPE irregularity like "RPE regular", and states no healthy stage beside the drusen."""
    out = labels(cased(f"OCT OD: scattered small drusen, no fluid, {phrase}.", case))
    assert out["biomarkers"]["rpe_irregularity"] == "absent"
    assert out["stage"] is None


@SETTINGS
@given(
    named(NAMES),
    st.sampled_from(["I do not agree that there is", "I don't agree that there is", "I disagree that there is"]),
    CASES,
)
def test_a_reader_disagreeing_with_a_finding_denies_it(name, disagree, case):
    """ "I do not agree that there is subretinal fluid: the space is a drusenoid PED."""
    bid, term = name
    text = cased(f"{disagree} {term} on this scan.", case)
    assert labels(text)["biomarkers"][bid] == "absent", text


@SETTINGS
@given(
    st.lists(
        st.tuples(named(NAMES), st.sampled_from(["present", "absent", "uncertain"]), st.floats(0, 1)),
        min_size=1,
        max_size=4,
        unique_by=lambda item: item[0][0],
    ),
    st.booleans(),
    st.booleans(),
)
def test_a_score_explained_by_a_state_word_is_read_by_the_word(rows, brackets, percent):
    """ "- SRF: 0.02 absent", "srf: 0.05 (absent)", "Double-layer sign: 55% uncertain": the word is the value."""
    lines = []
    for (_, term), state, p in rows:
        score = f"{round(p * 100)}%" if percent else f"{p:.2f}"
        lines.append(f"- {term}: {score} " + (f"({state})" if brackets else state))
    text = "Checklist (probability):\n" + "\n".join(lines)
    out = labels(text)["biomarkers"]
    assert out == {bid: state for (bid, _), state, _ in rows}, text


@SETTINGS
@given(
    named(NAMES),
    named(NAMES),
    st.sampled_from(["fibrosis++", "fibrosis present", "fibrosis+"]),
    CASES,
)
def test_a_denial_of_the_findings_own_item_beats_an_affirmation_of_the_next(first, second, affirmed, case):
    """ "quiescent MNV, no SRF/IRF, fibrosis++": the "++" is the fibrosis's, the IRF stays denied."""
    (a, term_a), (b, term_b) = first, second
    assume(a != b)
    text = cased(f"no {term_a}/{term_b}, {affirmed}", case)
    out = labels(text)["biomarkers"]
    assert out[a] == "absent" and out[b] == "absent" and out["fibrosis"] == "present", text


# -- eyes -----------------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    named(NAMES), st.sampled_from(["L eye", "LE", "OS"]), st.sampled_from(["R eye", "RIGHT eye", "right eye"]), WRITTEN
)
def test_an_eye_named_in_a_bracketed_aside_is_not_the_reports_eye(name, other, this, case):
    """ "vPED with overlying SRF. (L eye: drusen only.) Urgent referral for the RIGHT eye.": the bracketed sentence
    is an aside about the fellow eye, so the referral for the right eye is this eye's."""
    bid, term = name
    text = cased(f"{term} under the fovea. ({other}: drusen only.) Urgent referral for the {this}.", case)
    out = labels(text)
    assert out["referral"] == "urgent" and out["biomarkers"] == {bid: "present"}, text


@SETTINGS
@given(
    named(NAMES),
    st.sampled_from(["RE OCT:-", "RE OCT:", "OD OCT -", "Right eye OCT:"]),
    st.sampled_from(["LE:-", "LE:", "OS:"]),
    st.sampled_from(sorted(DRY_STAGES.items())),
    WRITTEN,
)
def test_the_eye_of_a_heading_is_the_eye_of_its_sentence(name, heading, other, stage, case):
    """ "RE OCT:- Large drusenoid PED.\\nLE:- Inactive scar.\\nIMP: RE- iAMD": the right eye is named by the first
    heading, so the left eye's scar is the fellow eye's and the impression for the right eye counts."""
    bid, term = name
    sid, stage_name = stage
    text = cased(f"{heading} drusen, {term}.\n{other} Inactive scar.\nIMP: RE- {stage_name}.", case)
    out = labels(text)
    assert out["stage"] == sid and "fibrosis" not in out["biomarkers"], text


@SETTINGS
@given(
    st.lists(
        st.tuples(named(NAMES), st.sampled_from([("[x]", "present"), ("[ ]", "absent"), ("[?]", "uncertain")])),
        min_size=1,
        max_size=4,
        unique_by=lambda item: item[0][0],
    ),
    st.sampled_from(["\n- ", " "]),
)
def test_a_query_box_hedges_its_finding(rows, joiner):
    """ "- [?] hyperreflective foci" beside "[x]" and "[ ]": the query box is a hedge, as "[x]" affirms and "[ ]"
    denies."""
    text = joiner.join(f"{box} {term}" for (_, term), (box, _) in rows)
    assert labels(text)["biomarkers"] == {bid: state for (bid, _), (_, state) in rows}, text
