"""Findings extraction: negation and its scope, hedging, generic terms, synonyms, history, other
eye, spelling, sections, typos, spans, and robustness to any input string."""

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retinavlm.evaluation.extract import FindingsExtractor


@functools.lru_cache(maxsize=1)
def extractor() -> FindingsExtractor:
    return FindingsExtractor()


def labels(text: str) -> dict:
    return extractor().extract(text).labels()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("No IRF but a small pocket of SRF.", {"srf": "present", "irf": "absent"}),
        ("No fluid, SHRM or atrophy.", {"srf": "absent", "irf": "absent", "shrm": "absent", "rpe_atrophy": "absent"}),
        ("Neither SRF nor IRF.", {"srf": "absent", "irf": "absent"}),
        (
            "There is no evidence of subretinal fluid, intraretinal fluid or fibrosis.",
            {"srf": "absent", "irf": "absent", "fibrosis": "absent"},
        ),
        ("No SRF or IRF is present.", {"srf": "absent", "irf": "absent"}),
        ("Dry macula.", {"srf": "absent", "irf": "absent"}),
        ("Possible SRF; cannot exclude intraretinal cysts.", {"srf": "uncertain", "irf": "uncertain"}),
        ("Subretinal fluid cannot be excluded.", {"srf": "uncertain"}),
        ("?SRF, IRF-, drusen+", {"srf": "uncertain", "irf": "absent", "drusen": "present"}),
        ("SRF+ IRF- PED+", {"srf": "present", "irf": "absent", "ped": "present"}),
        ("GA with hyperTD, cRORA temporally.", {"rpe_atrophy": "present", "hypertransmission": "present"}),
        ("Previously treated SRF, now resolved.", {"srf": "absent"}),
        ("History of SRF.", {}),
        ("The fellow eye has a disciform scar. This eye shows soft drusen.", {"drusen": "present"}),
        ("Cystoid macular oedema.", {"irf": "present"}),
        ("Cystoid macular edema.", {"irf": "present"}),
        ("Subretnal fliud and drusne.", {"srf": "present", "drusen": "present"}),
        ("There is no sign of subretinal or intraretinal fluid.", {"srf": "absent", "irf": "absent"}),
        ("Is there IRF? No. Is there SRF? Yes.", {"srf": "present", "irf": "absent"}),
        ("If fluid develops, refer urgently.", {}),
        ("No large drusen.", {}),
        ("No change in the SRF.", {"srf": "present"}),
    ],
)
def test_biomarker_states(text, expected):
    assert labels(text)["biomarkers"] == expected


def test_template_sections_and_label_value_lines():
    report = "Findings:\nSRF: absent\nIRF: present\nPED - none\n\nImpression: active nAMD\nPlan: refer urgently"
    got = labels(report)
    assert got == {
        "stage": "late_wet_active",
        "referral": "urgent",
        "biomarkers": {"ped": "absent", "srf": "absent", "irf": "present"},
    }


def test_an_absent_section_rules_its_findings_out():
    report = "Present:\n- large drusen\nAbsent:\n- subretinal fluid\n- intraretinal fluid\n- PED\nImpression: intermediate AMD"
    got = labels(report)
    assert got["biomarkers"] == {"drusen": "present", "ped": "absent", "srf": "absent", "irf": "absent"}
    assert got["stage"] == "intermediate"
    # its own sentence still decides: a hedge inside the section stays a hedge
    assert labels("Negative findings:\nNo SRF. Possible IRF.")["biomarkers"] == {"srf": "absent", "irf": "uncertain"}


def test_history_section_is_not_current_but_today_is():
    report = "History: wet AMD with SRF, treated.\nToday: no SRF, no IRF. Fibrotic scar.\nImpression: inactive nAMD."
    got = labels(report)
    assert got["stage"] == "late_wet_inactive"
    assert got["biomarkers"] == {"srf": "absent", "irf": "absent", "fibrosis": "present"}


@pytest.mark.parametrize(
    "text, stage, referral",
    [
        ("Large drusen, no fluid. Intermediate AMD; routine referral.", "intermediate", "routine"),
        ("No fluid, consistent with inactive nAMD. Routine follow-up; not urgent.", "late_wet_inactive", "routine"),
        ("Wet AMD with subretinal fluid. Refer within 2 weeks.", "late_wet_active", "urgent"),
        ("Risk of progression to late AMD. Stage: intermediate AMD", "intermediate", None),
        ("Normal foveal contour. Small drusen. Early AMD, no referral needed.", "early", "none"),
        ("Stage: healthy\nReferral: none", "healthy", "none"),
        ("No evidence of wet AMD.", None, None),
        ("Drusen present.", None, None),
    ],
)
def test_stage_and_referral(text, stage, referral):
    got = labels(text)
    assert (got["stage"], got["referral"]) == (stage, referral)


def test_every_extraction_carries_its_span():
    text = "OCT: large soft drusen and a drusenoid PED.\nImpression: intermediate AMD. Plan: routine referral."
    extraction = extractor().extract(text)
    assert extraction.stage.span.text == "intermediate AMD"
    assert extraction.referral.span.text == "routine referral"
    assert extraction.biomarkers["ped"].attributes == {"type": "drusenoid"}
    assert extraction.biomarkers["drusen"].attributes == {"size": "large"}
    for mention in extraction.mentions:
        assert text[mention.span.start : mention.span.end] == mention.span.text


def test_negation_cue_is_reported():
    mention = extractor().extract("No subretinal fluid.").biomarkers["srf"]
    assert mention.cues == ("negated: No",)


def test_long_report_is_read_up_to_the_limit_and_flagged():
    text = "No SRF, possible IRF; large drusen. " * 30_000  # about 1 MB
    extraction = extractor().extract(text)
    assert extraction.truncated and extraction.read_chars == extractor().max_chars
    assert extraction.labels()["biomarkers"] == {"drusen": "present", "srf": "absent", "irf": "uncertain"}


def test_rejects_non_strings_clearly():
    with pytest.raises(TypeError, match="must be a string"):
        extractor().extract(None)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec=None), max_size=400))
def test_never_crashes_on_arbitrary_unicode(text):
    extraction = extractor().extract(text)
    out = extraction.to_json()
    assert set(out["biomarkers"].values()) <= {"present", "absent", "uncertain"}
    for mention in extraction.mentions:
        assert 0 <= mention.span.start <= mention.span.end <= len(text)


CLINICAL_WORDS = [
    "no",
    "SRF",
    "IRF",
    "?",
    ":",
    "-",
    "drusen",
    "not",
    "possible",
    "fluid",
    "\n",
    ",",
    ".",
    "previously",
    "fellow eye",
    "wet AMD",
    "urgent",
    "routine",
    "if",
    "but",
    "Impression:",
    "History:",
    "none",
    "+",
    "-ve",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(CLINICAL_WORDS) | st.text(max_size=3), max_size=60))
def test_never_crashes_on_clinical_word_salad(words):
    text = " ".join(words)
    got = extractor().extract(text).labels()
    assert got["stage"] is None or got["stage"] in extractor().kb.stage_ids
    assert got["referral"] is None or got["referral"] in extractor().kb.referral_ids


@pytest.mark.parametrize(
    "text", ["", " ", "\n\n\t", "\x00\x01\x1f\x7f", "\ud800 lone surrogate", "?" * 1000, "-" * 5000]
)
def test_degenerate_inputs(text):
    extraction = extractor().extract(text)
    assert extraction.labels()["biomarkers"] == {}
