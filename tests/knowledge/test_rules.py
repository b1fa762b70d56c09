"""Every stage and referral rule of DESIGN.md §3, and their precedence."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from retinavlm.knowledge import (
    KnowledgeError,
    decide,
    load_knowledge,
    normalize_findings,
    referral_from_findings,
    stage_from_findings,
)
from retinavlm.resources import default_knowledge_dir

KB = load_knowledge()


def test_interchange_ids_match_design():
    assert KB.biomarker_ids == (
        "drusen",
        "ped",
        "rpe_irregularity",
        "double_layer_sign",
        "srf",
        "irf",
        "shrm",
        "hyperreflective_foci",
        "hypertransmission",
        "rpe_atrophy",
        "fibrosis",
    )
    assert KB.stage_ids == ("healthy", "early", "intermediate", "late_dry", "late_wet_inactive", "late_wet_active")
    assert KB.referral_ids == ("none", "routine", "urgent")


@pytest.mark.parametrize(
    "findings, stage",
    [
        ({}, "healthy"),
        ({"drusen": "absent", "srf": "absent"}, "healthy"),
        ({"drusen": {"state": "present", "size": "small"}}, "early"),
        ({"drusen": {"state": "present", "size": "medium"}}, "early"),
        ({"drusen": "present"}, "early"),  # size unspecified reads as medium
        ({"drusen": {"state": "present", "size": "large"}}, "intermediate"),
        ({"ped": {"state": "present", "type": "drusenoid"}}, "intermediate"),
        ({"ped": {"state": "present", "type": "serous"}}, "intermediate"),
        ({"ped": "present"}, "intermediate"),  # type unspecified reads as drusenoid
        ({"rpe_irregularity": "present"}, "intermediate"),
        ({"hyperreflective_foci": "present"}, "intermediate"),
        ({"double_layer_sign": "present"}, "intermediate"),
        ({"hypertransmission": "present"}, "late_dry"),
        ({"rpe_atrophy": "present"}, "late_dry"),
        ({"shrm": "present"}, "late_wet_inactive"),
        ({"fibrosis": "present"}, "late_wet_inactive"),
        ({"ped": {"state": "present", "type": "fibrovascular"}}, "late_wet_inactive"),
        ({"srf": "present"}, "late_wet_active"),
        ({"irf": "present"}, "late_wet_active"),
    ],
)
def test_each_stage_rule(findings, stage):
    assert stage_from_findings(findings) == stage


@pytest.mark.parametrize(
    "findings, referral",
    [
        ({}, "none"),
        ({"drusen": {"state": "present", "size": "small"}}, "none"),
        ({"drusen": {"state": "present", "size": "medium"}}, "routine"),
        ({"drusen": {"state": "present", "size": "large"}}, "routine"),
        ({"ped": {"state": "present", "type": "serous"}}, "routine"),
        ({"rpe_irregularity": "present"}, "routine"),
        ({"double_layer_sign": "present"}, "routine"),
        ({"hyperreflective_foci": "present"}, "routine"),
        ({"hypertransmission": "present"}, "routine"),
        ({"rpe_atrophy": "present"}, "routine"),
        ({"shrm": "present"}, "routine"),
        ({"fibrosis": "present"}, "routine"),
        ({"srf": "present"}, "urgent"),
        ({"irf": "present"}, "urgent"),
    ],
)
def test_each_referral_rule(findings, referral):
    assert referral_from_findings(findings) == referral


def test_most_advanced_stage_wins():
    findings = {
        "drusen": {"state": "present", "size": "large"},
        "rpe_atrophy": "present",
        "fibrosis": "present",
    }
    assert stage_from_findings(findings) == "late_wet_inactive"
    assert stage_from_findings({**findings, "irf": "present"}) == "late_wet_active"
    assert referral_from_findings({**findings, "srf": "present"}) == "urgent"


def test_small_drusen_with_routine_finding_is_routine():
    findings = {"drusen": {"state": "present", "size": "small"}, "hyperreflective_foci": "present"}
    assert stage_from_findings(findings) == "intermediate"
    assert referral_from_findings(findings) == "routine"


@pytest.mark.parametrize("state", ["absent", "uncertain"])
def test_only_present_findings_count(state):
    assert stage_from_findings({"srf": state, "irf": state}) == "healthy"
    assert referral_from_findings({"srf": state}) == "none"


def test_decision_names_its_reasons():
    decision = decide(KB.stages, {"ped": {"state": "present", "type": "fibrovascular"}, "drusen": "present"})
    assert decision.id == "late_wet_inactive"
    assert [c.describe(KB) for c in decision.reasons] == ["fibrovascular pigment epithelial detachment"]
    assert decide(KB.stages, {}).reasons == ()


@pytest.mark.parametrize(
    "findings, message",
    [
        ({"drusn": "present"}, "unknown biomarker id 'drusn'"),
        ({"srf": "maybe"}, "unknown state 'maybe'"),
        ({"drusen": {"state": "present", "size": "huge"}}, "size='huge'"),
        ({"srf": {"state": "present", "size": "large"}}, "unknown attribute 'size'"),
        ({"srf": 3}, "expected a state string or a mapping"),
    ],
)
def test_bad_findings_raise_clear_errors(findings, message):
    with pytest.raises(KnowledgeError, match=message.replace("(", r"\(")):
        normalize_findings(findings)


STATES = st.sampled_from(["present", "absent", "uncertain"])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(KB.biomarker_ids), STATES))
def test_rules_are_monotone_in_present_findings(findings):
    """Adding SRF never lowers urgency; fluid always means active wet AMD and urgent referral."""
    stage = stage_from_findings(findings)
    referral = referral_from_findings(findings)
    with_fluid = {**findings, "srf": "present"}
    assert stage_from_findings(with_fluid) == "late_wet_active"
    assert referral_from_findings(with_fluid) == "urgent"
    assert KB.stage_ids.index(stage) <= KB.stage_ids.index("late_wet_active")
    assert referral in KB.referral_ids


def _copy_kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    shutil.copytree(default_knowledge_dir(), folder)
    return folder


def test_clinic_can_swap_the_referral_rule(tmp_path):
    """A clinic that refers all drusen routinely edits its own YAML, not code."""
    folder = _copy_kb(tmp_path)
    path = folder / "referral.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["referral"][1]["criteria"][0] = {"biomarker": "drusen"}
    path.write_text(yaml.safe_dump(doc))
    clinic = load_knowledge(folder)
    small = {"drusen": {"state": "present", "size": "small"}}
    assert referral_from_findings(small, clinic) == "routine"
    assert referral_from_findings(small) == "none"
    assert clinic.fingerprint != KB.fingerprint


@pytest.mark.parametrize(
    "filename, edit, message",
    [
        ("stages.yaml", lambda d: d["stages"][2]["criteria"].append({"biomarker": "cnv"}), "unknown biomarker 'cnv'"),
        (
            "stages.yaml",
            lambda d: d["stages"][1]["criteria"].__setitem__(0, {"biomarker": "drusen", "size": ["huge"]}),
            "not in",
        ),
        ("stages.yaml", lambda d: d["stages"].append(dict(d["stages"][1])), "duplicate stages id 'early'"),
        ("stages.yaml", lambda d: d["stages"][0].__setitem__("criteria", [{"biomarker": "srf"}]), "default"),
        ("biomarkers.yaml", lambda d: d["biomarkers"]["srf"].__setitem__("colour", "dark"), "unknown key"),
        ("referral.yaml", lambda d: d["referral"][2].__setitem__("criteria", []), "has no criteria"),
    ],
)
def test_broken_knowledge_files_name_the_problem(tmp_path, filename, edit, message):
    folder = _copy_kb(tmp_path)
    path = folder / filename
    doc = yaml.safe_load(path.read_text())
    edit(doc)
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(KnowledgeError, match=message) as info:
        load_knowledge(folder)
    assert filename in str(info.value)


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(KnowledgeError, match="knowledge file not found"):
        load_knowledge(tmp_path)
    folder = _copy_kb(tmp_path)
    (folder / "stages.yaml").write_text("stages: [unclosed")
    with pytest.raises(KnowledgeError, match="not valid YAML"):
        load_knowledge(folder)


def test_the_knowledge_base_names_conditions_beyond_amd(tmp_path):
    dme = KB.condition("dme")
    assert dme.name == "diabetic macular oedema" and "DME" in dme.abbreviations
    assert "diabetic macular edema" in dme.synonyms
    with pytest.raises(KnowledgeError, match="unknown condition 'rvo'; known: dme"):
        KB.condition("rvo")
    # A clinic's copy without conditions.yaml names none; a broken one is refused with the file named.
    folder = _copy_kb(tmp_path)
    index = yaml.safe_load((folder / "knowledge.yaml").read_text())
    del index["files"]["conditions"]
    (folder / "knowledge.yaml").write_text(yaml.safe_dump(index))
    assert load_knowledge(folder).conditions == {}
    other = _copy_kb(tmp_path / "other")
    (other / "conditions.yaml").write_text(yaml.safe_dump({"conditions": {"dme": {"colour": "red"}}}))
    with pytest.raises(KnowledgeError, match=r"conditions\.yaml: unknown key\(s\) colour in condition 'dme'"):
        load_knowledge(other)
