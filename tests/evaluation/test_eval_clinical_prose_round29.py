"""Rules from the twenty-seventh writer's general set (round 29: styles_dev27.jsonl), as properties: a follow-up
interval written before its visit word, a dose held or deferred, and the community sight test called a check-up."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)

FINDINGS = st.sampled_from(["Large drusen, no fluid.", "OCT: drusen and RPE elevation. No SRF.", "medium drusen only."])
# (visit word, how a hospital writes it): a review or follow-up, with or without the clinic
VISITS = st.sampled_from(["review", "MR review", "follow-up", "f/u", "visit", "appointment"])
LONG = st.sampled_from(["{n}-month", "{n} month", "{n}/12"]).flatmap(
    lambda form: st.integers(min_value=2, max_value=12).map(lambda n: form.format(n=n))
)
SHORT = st.sampled_from(["1-week", "1 week", "1/52", "2/52", "2-week"])


@SETTINGS
@given(FINDINGS, LONG, VISITS, CASES)
def test_an_interval_before_its_visit_word_is_a_routine_review(findings, interval, visit, case):
    """Class: a time frame in any notation. The interval may stand before its visit word as an adjective or a
    fraction ("6-month review", "6/12 MR review", "12-month follow-up"): a review at months' length is routine, as
    "review in 6 months" is."""
    text = cased(f"{findings} {interval} {visit}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(FINDINGS, SHORT, st.sampled_from(["review", "follow-up", "visit"]), CASES)
def test_a_short_interval_before_its_visit_word_is_urgent(findings, interval, visit, case):
    """Class: a time frame in any notation. Read by its length like the interval after the visit word: two weeks or
    less is urgent."""
    text = cased(f"{findings} {interval} {visit}.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(FINDINGS, st.sampled_from(["6/12", "12/12", "6-month", "12 month", "1 year"]), st.sampled_from(["", " with me"]))
def test_a_recall_before_its_interval_or_after_it_is_the_optometrists(findings, interval, who):
    """Class: who acts. A recall is the optometrist's sight-test recall (eval/README.md, round 16), written before or
    after its interval ("6/12 recall with me"): none."""
    text = f"{findings} {interval} recall{who}, sooner if symptoms."
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "hold injection",
            "hold the injection",
            "defer injection",
            "defer the injection",
            "pause injections",
            "withhold injection",
            "suspend injections",
        ]
    ),
    st.sampled_from(["review in 6 weeks", "review in 3 months", "review 8 weeks"]),
    CASES,
)
def test_a_dose_held_is_no_treatment_given(hold, review, case):
    """Class: treatment withheld in any words. A dose held, deferred or paused is none given, so the review is a
    referral again (routine), not the treatment's own review (no referral, round 7)."""
    text = cased(f"OCT: no fluid, stable. Plan: {hold}; {review}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["Inject today", "Injection given", "Eylea today"]), CASES)
def test_a_treatment_given_still_keeps_its_own_review(treated, case):
    """The held-dose words leave a treatment given alone: "Inject today, review 4 weeks" states no referral."""
    text = cased(f"Active nAMD with new SRF. {treated}, review 4 weeks.", case)
    assert labels(text)["referral"] is None, text


@SETTINGS
@given(
    st.sampled_from(["yearly", "annual"]),
    st.sampled_from(["eye check-up", "eye checkup", "eye check", "eye test"]),
    st.sampled_from(["", " at vision centre", " at the vision center"]),
    CASES,
)
def test_an_eye_check_up_is_community_care(rhythm, check, place, case):
    """Class: community sight test in plain words. A yearly eye check-up, at a vision centre or not, is the
    optometrist's (primary eye care): none, like an annual eye examination."""
    text = cased(f"Impression: early ARMD, hard drusen few.\nAdvice: {rhythm} {check}{place}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(["bring injection forward", "bring the next injection forward", "bring her injection forward"]),
    st.sampled_from(["", " to next week", " by 2 weeks"]),
    CASES,
)
def test_a_dose_brought_forward_states_active_wet_amd(bring, when, case):
    """Class: treatment brought forward in any word order (eval/README.md round 18: a treatment needed now states
    active wet AMD when no stage is named), the object between the verb and "forward"."""
    text = cased(f"Virtual clinic. OCT: new IRF, SRF nil.\nOutcome: {bring}{when}.", case)
    assert labels(text)["stage"] == "late_wet_active", text


@SETTINGS
@given(CASES)
def test_looking_forward_to_an_injection_states_no_stage(case):
    """A letter's courtesy ("We look forward to seeing her at her next injection") brings nothing forward."""
    text = cased("Medium drusen. We look forward to seeing her at her next injection.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    st.sampled_from(["Tx today", "Tx given", "Tx given today", "Tx done"]),
    st.sampled_from(["RTC 5 wk", "RTC 4/52", "review 6 weeks"]),
    CASES,
)
def test_tx_shorthand_is_the_treatment_with_its_own_review(tx, review, case):
    """Class: treatment-clinic shorthand. "Tx" with its verb is the treatment given ("Dx: active MNV. Tx today; RTC 5
    wk"), so the review at its interval is the treatment's own: no referral (round 7), and the stage active."""
    text = cased(f"OCT L: trace SRF, no IRF. Dx: active MNV. {tx}; {review}.", case)
    got = labels(text)
    assert got["referral"] is None, text
    assert got["stage"] == "late_wet_active", text


STAGE_WORDS = st.sampled_from(
    [("early", "early"), ("intermediate", "intermediate"), ("late dry", "late_dry"), ("inactive", "late_wet_inactive")]
)


@SETTINGS
@given(
    STAGE_WORDS,
    st.sampled_from(
        [
            "The AMD stage is {w}.",
            "The AMD stage is probably {w}.",
            "Stage at visit: {w}",
            "AMD stage at presentation: {w}.",
            "Stage today: {w}",
        ]
    ),
    CASES,
)
def test_a_stage_named_as_the_subject_states_it(word_id, form, case):
    """Class: a stage named as the subject. The stage word after "stage" and its copula or a field's qualifier states
    that stage; a lean ("probably") keeps it (eval/README.md)."""
    word, stage_id = word_id
    text = cased(f"Drusen: Y\n{form.format(w=word)}\nReferral outcome: routine 6 months", case)
    assert labels(text)["stage"] == stage_id, text


@SETTINGS
@given(
    st.sampled_from(["The stage is", "I would say", "The AMD stage is probably"]),
    st.sampled_from(["or", "vs", "versus"]),
    CASES,
)
def test_a_verdict_set_against_another_stage_is_left_open(marker, joiner, case):
    """Two stages set against each other after a verdict marker ("The stage is intermediate or late dry") leave the
    stage undecided, as they do anywhere else."""
    text = cased(f"Drusen and RPE change. {marker} intermediate {joiner} late dry.", case)
    assert labels(text)["stage"] is None, text
