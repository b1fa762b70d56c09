"""Rules for real clinical prose (issue 18), as properties: case folding, sign notation, negated
lists and elided coordination, eye scope and history, hedges, referral negation, undecided stages."""

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from retinavlm.evaluation.extract import FindingsExtractor
from retinavlm.evaluation.text import raw_tokens

# one unambiguous way of naming each biomarker (full phrase, abbreviation where it has one)
NAMES = {
    "drusen": ["drusen", "soft drusen"],
    "ped": ["PED", "pigment epithelial detachment"],
    "rpe_irregularity": ["SIRE", "RPE irregularity"],
    "double_layer_sign": ["double-layer sign", "DLS"],
    "srf": ["SRF", "subretinal fluid"],
    "irf": ["IRF", "intraretinal cysts"],
    "shrm": ["SHRM", "subretinal hyperreflective material"],
    "hyperreflective_foci": ["HRF", "hyperreflective foci"],
    "hypertransmission": ["hypertransmission", "hyperTD"],
    "rpe_atrophy": ["cRORA", "geographic atrophy"],
    "fibrosis": ["fibrosis", "disciform scar"],
}
SETTINGS = settings(max_examples=60, deadline=None)


@functools.lru_cache(maxsize=1)
def extractor() -> FindingsExtractor:
    return FindingsExtractor()


def labels(text: str) -> dict:
    return extractor().extract(text).labels()


def named():
    """(biomarker id, one of its names)."""
    return st.sampled_from(sorted(NAMES)).flatmap(lambda bid: st.tuples(st.just(bid), st.sampled_from(NAMES[bid])))


def cased(text: str, case: str) -> str:
    return {"as written": text, "lower": text.lower(), "upper": text.upper()}[case]


CASES = st.sampled_from(["as written", "lower", "upper"])


@SETTINGS
@given(named(), CASES, st.sampled_from(["{} is present.", "No {}.", "Possible {}.", "{}: absent", "{} +", "{} -"]))
def test_state_does_not_depend_on_case(name, case, template):
    bid, term = name
    text = template.format(term)
    assert labels(cased(text, case))["biomarkers"].get(bid) == labels(text)["biomarkers"].get(bid)


@SETTINGS
@given(named(), st.sampled_from(["+", "++", "+++", "+ve"]), st.sampled_from(["", " "]), st.sampled_from([".", ",", ""]))
def test_plus_signs_assert(name, sign, space, end):
    bid, term = name
    assert labels(f"{term}{space}{sign}{end}")["biomarkers"][bid] == "present"


@SETTINGS
@given(named(), st.sampled_from(["", " "]), st.sampled_from([".", ",", "", " (temporal)"]))
def test_minus_sign_denies_and_plus_minus_hedges(name, space, end):
    bid, term = name
    assert labels(f"{term}{space}-{end}")["biomarkers"][bid] == "absent"
    assert labels(f"{term}{space}+/-{end}")["biomarkers"][bid] == "uncertain"


def test_a_spaced_sign_is_not_a_label_separator():
    assert [s for _, _, s in raw_tokens("SRF -, PED - none")] == ["SRF", "-ve", ",", "PED", "-", "none"]
    assert [s for _, _, s in raw_tokens("drusen + PED")] == ["drusen", "+", "PED"]  # "and", not a sign


@SETTINGS
@given(
    st.lists(st.sampled_from(sorted(NAMES)), min_size=2, max_size=len(NAMES), unique=True),
    st.sampled_from(
        ["No", "No evidence of", "I do not see any signs of", "I do not observe", "There is no", "Without"]
    ),
    st.sampled_from([" or ", " and ", ", or ", " nor "]),
    st.data(),
)
def test_every_finding_of_a_negated_list_is_absent(bids, cue, last_join, data):
    terms = [data.draw(st.sampled_from(NAMES[b])) for b in bids]
    text = f"{cue} {', '.join(terms[:-1])}{last_join}{terms[-1]}."
    got = labels(text)["biomarkers"]
    assert {b: got.get(b) for b in bids} == {b: "absent" for b in bids}


@SETTINGS
@given(
    st.sampled_from([("sub", "intra", "srf", "irf"), ("intra", "sub", "irf", "srf")]),
    st.sampled_from(["No", "no", "NO", "There is no", "Neither"]),
    st.sampled_from(["or", "nor", "and"]),
    st.sampled_from(["-", ""]),
)
def test_elided_coordination_negates_both(prefixes, cue, join, hyphen):
    first, second, bid_first, bid_second = prefixes
    text = f"{cue} {first}{hyphen} {join} {second}retinal fluid."
    if not hyphen:
        text = f"{cue} {first}retinal {join} {second}retinal fluid."
    got = labels(text)["biomarkers"]
    assert got.get(bid_first) == "absent" and got.get(bid_second) == "absent"


@SETTINGS
@given(
    named(),
    st.sampled_from(
        [
            "The fellow eye has {}.",
            "The other eye shows {}.",
            "The left eye, not the subject of this referral, has {}.",
            "(Left eye has {}; not scanned today.)",
            "LE (not imaged today): {}.",
            "History of {}.",
            "Previously treated for {}.",
        ]
    ),
)
def test_fellow_eye_and_history_never_yield_a_present_finding(name, clause):
    bid, term = name
    text = "Right eye: normal macula. " + clause.format(term)
    assert labels(text)["biomarkers"].get(bid) != "present"


@SETTINGS
@given(named(), st.sampled_from(["previously treated for {}, now resolved.", "{} has resolved.", "{} excluded."]))
def test_resolved_or_excluded_is_absent(name, clause):
    bid, term = name
    assert labels(clause.format(term))["biomarkers"].get(bid) == "absent"


@SETTINGS
@given(
    named(),
    st.sampled_from(["?{}", "Query {}.", "Equivocal {}.", "Cannot exclude {}.", "{} equivocal.", "{}: equivocal"]),
)
def test_hedges_make_the_finding_uncertain(name, template):
    bid, term = name
    assert labels(template.format(term))["biomarkers"][bid] == "uncertain"


@SETTINGS
@given(st.lists(st.sampled_from(sorted(NAMES)), min_size=2, max_size=2, unique=True), st.sampled_from(["vs", "versus"]))
def test_findings_set_against_each_other_are_both_uncertain(bids, join):
    a, b = (NAMES[bid][0] for bid in bids)
    got = labels(f"{a} {join} {b}.")["biomarkers"]
    assert got == {bids[0]: "uncertain", bids[1]: "uncertain"}


@SETTINGS
@given(named(), st.sampled_from(["The RPE is not without some irregularity.", "A not insignificant amount of {}."]))
def test_double_negation_asserts(name, text):
    bid, term = name
    got = labels(text.format(term))["biomarkers"]
    expected_bid = "rpe_irregularity" if "RPE" in text else bid
    assert got[expected_bid] == "present"


STAGES = {
    "early": ["early AMD", "early ARMD"],
    "intermediate": ["intermediate AMD", "iAMD"],
    "late_dry": ["late dry AMD", "GA"],
    "late_wet_inactive": ["inactive nAMD", "quiescent nAMD"],
    "late_wet_active": ["active nAMD", "reactivated disease"],
}


@SETTINGS
@given(st.lists(st.sampled_from(sorted(STAGES)), min_size=2, max_size=2, unique=True), st.data())
def test_two_stages_set_against_each_other_leave_the_stage_open(ids, data):
    a, b = (data.draw(st.sampled_from(STAGES[i])) for i in ids)
    join = data.draw(st.sampled_from(["vs", "versus", "or", "VS"]))
    lead = data.draw(st.sampled_from(["", "Could be ", "?"]))
    assert labels(f"{lead}{a} {join} {b} – OCTA advised.")["stage"] is None


@SETTINGS
@given(st.sampled_from(sorted(STAGES)), st.data(), CASES)
def test_a_stage_name_and_a_mild_hedge_keep_the_stage(stage, data, case):
    term = data.draw(st.sampled_from(STAGES[stage]))
    lead = data.draw(st.sampled_from(["", "Probably ", "Appearances of "]))
    assert labels(cased(f"{lead}{term}.", case))["stage"] == stage


@SETTINGS
@given(st.sampled_from(["activity uncertain", "activity unclear", "stage uncertain"]), CASES)
def test_an_open_activity_leaves_a_wet_stage_undecided(phrase, case):
    assert labels(cased(f"Known nAMD with SRF, {phrase}.", case))["stage"] is None


@SETTINGS
@given(
    st.sampled_from(["urgent referral", "HES referral", "referral", "routine review by MR", "hospital referral"]),
    st.sampled_from(["No {} needed", "{} not needed", "{} not required", "Not for {}", "No {}"]),
    st.sampled_from(
        ["routine MR clinic", "routine referral", "discharge to optometrist", "optom review", "no referral"]
    ),
)
def test_a_negated_referral_gives_way_to_the_one_stated(referral, negation, stated):
    text = f"{negation.format(referral)}; {stated}."
    expected = "routine" if "routine" in stated else "none"
    assert labels(text)["referral"] == expected


@SETTINGS
@given(
    st.sampled_from(["within 1–2 weeks", "within 1-2 weeks", "fast track", "2ww", "within two weeks"]),
    st.sampled_from(["Refer {}.", "Please see {}.", "Referral: {}", "{}"]),
    CASES,
)
def test_urgent_time_frames(phrase, template, case):
    assert labels(cased(template.format(phrase), case))["referral"] == "urgent"


def test_rpe_anchored_states():
    assert labels("RPE – irregular, with pigment migration")["biomarkers"]["rpe_irregularity"] == "present"
    assert labels("rpe irreg +")["biomarkers"]["rpe_irregularity"] == "present"
    assert labels("The RPE is regular.")["biomarkers"]["rpe_irregularity"] == "absent"
    assert labels("RPE: intact")["biomarkers"]["rpe_irregularity"] == "absent"
    assert "rpe_irregularity" not in labels("PED: shallow, irregular")["biomarkers"]  # no RPE named


def test_stage_heading_values_and_lower_case_abbreviations():
    assert labels("Drusen: small\nStage: early\nReferral: none")["stage"] == "early"
    got = labels("ga temporal to fovea, no fluid. routine ref.")
    assert got["stage"] == "late_dry" and got["referral"] == "routine"
    assert got["biomarkers"]["rpe_atrophy"] == "present"


def test_a_transposed_letter_is_read():
    assert labels("Hyperreflective fcoi. Geographic atrpohy.")["biomarkers"] == {
        "hyperreflective_foci": "present",
        "rpe_atrophy": "present",
    }
