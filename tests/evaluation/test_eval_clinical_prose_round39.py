"""Rules from the thirty-ninth writer's round (round 39: styles_dev39.jsonl) and the lead's conventions (k) and (l)
from round 38's open items: a stage ranked above a non-AMD reading ("more likely wet AMD than diabetic macular
oedema") and a stage beside a non-AMD condition that "cannot be excluded" are two readings set against each other,
so no stage."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)

STAGES = st.sampled_from(["wet AMD", "active nAMD", "neovascular AMD", "early MNV", "an active type 1 MNV"])
RIVALS = st.sampled_from(
    [
        "diabetic macular oedema",
        "DMO",
        "CSC",
        "central serous chorioretinopathy",
        "a vitelliform deposit",
        "vitelliform lesion",
        "pattern dystrophy",
    ]
)


@SETTINGS
@given(STAGES, RIVALS, CASES)
def test_a_stage_ranked_above_a_non_amd_reading_is_no_stage(stage, rival, case):
    """Convention (k): "more likely X than Y" with Y a non-AMD reading weighs the two, as "more likely ... than"
    between two stages does: no stage."""
    text = cased(f"Right eye: small PED with subretinal fluid. This is more likely {stage} than {rival}.", case)
    assert labels(text)["stage"] is None, text


@SETTINGS
@given(
    STAGES,
    st.sampled_from(["CSC", "central serous chorioretinopathy", "a vitelliform lesion", "DMO"]),
    st.sampled_from(["{r} cannot be excluded", "{r} cannot be ruled out", "{r} is not excluded"]),
    CASES,
)
def test_a_stage_beside_a_non_amd_condition_left_open_is_no_stage(stage, rival, open_form, case):
    """Convention (l): "possible wet AMD, but CSC cannot be excluded" leaves the stage undecided."""
    clause = open_form.format(r=rival)
    text = cased(f"Right eye. Small PED and slight SRF. It is possible to be {stage}, but {clause}.", case)
    assert labels(text)["stage"] is None, text


def test_a_rival_set_aside_or_elsewhere_keeps_the_stage():
    """Negative: a rival set aside ("rather than CSC"), excluded ("CSC excluded"), a finding ranked against a rival in
    another sentence, and polypoidal vasculopathy (a form of neovascular AMD) leave the stated stage."""
    assert (
        labels("Conclusion: type 1 macular neovascularisation with exudation (active), rather than CSC.")["stage"]
        == "late_wet_active"
    )
    assert labels("Wet AMD with subretinal fluid. CSC excluded.")["stage"] == "late_wet_active"
    assert (
        labels(
            "RE: the hyporeflective space is more likely subretinal fluid than a vitelliform lesion; small PED. "
            "Probable reactivation of nAMD."
        )["stage"]
        == "late_wet_active"
    )
    assert (
        labels(
            "Large serous PED with subretinal fluid. Although polypoidal choroidal vasculopathy cannot be excluded, "
            "the findings are most consistent with active neovascular AMD."
        )["stage"]
        == "late_wet_active"
    )


@SETTINGS
@given(st.sampled_from(["4/12", "16/52", "4 months", "in 6 months", "in 12 weeks"]), CASES)
def test_virtual_monitoring_at_an_interval_is_routine(interval, case):
    """The virtual clinic's monitoring at its interval ("continue virtual monitoring 4/12") is a routine review, as
    "virtual review 4/12" is."""
    text = cased(f"OCT: no SRF, no IRF. Outcome: continue virtual monitoring {interval}.", case)
    assert labels(text)["referral"] == "routine", text


def test_monitoring_without_an_interval_names_no_visit():
    """Negative: monitoring with no interval, or the patient's own monitoring, is no booked review."""
    assert labels("OCT: no SRF, no IRF. Continue virtual monitoring.")["referral"] is None
    assert labels("OCT: no SRF, no IRF. Home monitoring with the Amsler chart.")["referral"] is None
