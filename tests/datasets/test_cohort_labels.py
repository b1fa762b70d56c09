"""Labels of partially labelled scans, and the Kermany label map, against the knowledge-base rules."""

from __future__ import annotations

import itertools

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from retinavlm.data.cohorts import LabelMapError, load_label_map
from retinavlm.data.cohorts.labels import derived_level, level_range
from retinavlm.knowledge import load_knowledge, referral_from_findings, stage_from_findings

KB = load_knowledge()
LADDERS = {"stage": KB.stages, "referral": KB.referrals}
RULES = {"stage": stage_from_findings, "referral": referral_from_findings}


def present_options(bid):
    """Every fully specified present finding of a biomarker."""
    attrs = KB.biomarkers[bid].attributes
    return [
        {"state": "present", **dict(zip(attrs, combo))}
        for combo in itertools.product(*(attrs[name].values for name in attrs))
    ]


@st.composite
def partial_labels(draw, max_unknown=3, drop_attributes=True):
    """(states, attributes) with at most `max_unknown` unknown biomarkers and, optionally, unknown attributes."""
    states, attributes = {}, {}
    unknown = set(draw(st.lists(st.sampled_from(KB.biomarker_ids), max_size=max_unknown, unique=True)))
    for bid in KB.biomarker_ids:
        if bid in unknown:
            states[bid] = draw(st.sampled_from([None, "uncertain"]))
            continue
        states[bid] = draw(st.sampled_from(["present", "absent", "absent"]))
        if states[bid] == "present":
            spec = draw(st.sampled_from(present_options(bid)))
            kept = {k: v for k, v in spec.items() if k != "state" and not (drop_attributes and draw(st.booleans()))}
            if kept:
                attributes[bid] = kept
    return states, attributes


def completions(states, attributes):
    """Every fully specified findings dict consistent with the partial labels."""
    options = []
    for bid, state in states.items():
        present = [o for o in present_options(bid) if all(o[k] == v for k, v in attributes.get(bid, {}).items())]
        absent = [{"state": "absent"}]
        options.append(
            [(bid, o) for o in (present if state == "present" else absent if state == "absent" else absent + present)]
        )
    for combo in itertools.product(*options):
        yield dict(combo)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(partial_labels(), st.sampled_from(["stage", "referral"]))
def test_range_is_exactly_the_rules_over_every_completion(labels, ladder):
    states, attributes = labels
    ids = [level.id for level in LADDERS[ladder]]
    reached = {ids.index(RULES[ladder](findings, KB)) for findings in completions(states, attributes)}
    assert level_range(LADDERS[ladder], states, attributes, KB) == (min(reached), max(reached))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(partial_labels(max_unknown=0, drop_attributes=False), st.sampled_from(["stage", "referral"]))
def test_fully_specified_labels_derive_what_the_knowledge_base_says(labels, ladder):
    states, attributes = labels
    complete = {bid: {"state": state, **attributes.get(bid, {})} for bid, state in states.items()}
    assert derived_level(LADDERS[ladder], states, attributes, KB) == RULES[ladder](complete, KB)


def test_unknown_drusen_size_leaves_the_stage_open_but_fluid_settles_it():
    states = dict.fromkeys(KB.biomarker_ids, "absent") | {"drusen": "present"}
    assert derived_level(KB.stages, states, {}, KB) is None  # small/medium: early, large: intermediate
    assert derived_level(KB.stages, states, {"drusen": {"size": "large"}}, KB) == "intermediate"
    only_fluid = dict.fromkeys(KB.biomarker_ids) | {"srf": "present"}
    assert derived_level(KB.stages, only_fluid, {}, KB) == "late_wet_active"
    assert derived_level(KB.referrals, only_fluid, {}, KB) == "urgent"


def test_kermany_map_labels_each_class_honestly():
    classes = load_label_map().classes
    assert set(classes) == {"CNV", "DME", "DRUSEN", "NORMAL"}
    cnv, dme, drusen, normal = (classes[name] for name in ("CNV", "DME", "DRUSEN", "NORMAL"))

    assert (cnv.stage, cnv.referral, cnv.condition) == ("late_wet_active", "urgent", None)
    assert set(cnv.biomarkers.values()) == {None}  # which fluid is not labelled

    assert (dme.stage, dme.referral, dme.condition) == (None, "urgent", "dme")
    assert dme.biomarkers["irf"] == "present"
    assert {v for k, v in dme.biomarkers.items() if k != "irf"} == {None}

    assert (drusen.stage, drusen.referral) == (None, "routine")
    assert drusen.biomarkers["drusen"] == "present" and drusen.attributes == {}
    assert {v for k, v in drusen.biomarkers.items() if k != "drusen"} == {None}

    assert (normal.stage, normal.referral) == ("healthy", "none")
    assert set(normal.biomarkers.values()) == {"absent"}


def _write_map(tmp_path, classes, **top):
    doc = {"name": "test", "file_pattern": r"^(?P<label>[A-Z]+)-(?P<patient>\d+)-\d+\.png$", "classes": classes, **top}
    path = tmp_path / "map.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize(
    ("classes", "top", "message"),
    [
        (
            {"NORMAL": {"unlisted": "absent", "stage": "late_wet_active"}},
            {},
            r"class 'NORMAL': stage 'late_wet_active' contradicts",
        ),
        ({"X": {"findings": {"drusn": "present"}}}, {}, r"class 'X': unknown biomarker id\(s\) 'drusn'"),
        ({"X": {"findings": {"srf": "maybe"}}}, {}, r"class 'X': biomarker 'srf': state 'maybe'"),
        ({"X": {"stage": "wet"}}, {}, r"class 'X': unknown stage 'wet'"),
        ({"X": {"condition": "dme", "stage": "early"}}, {}, r"class 'X': stage 'early' given with condition 'dme'"),
        ({"X": {"condition": "diabetes"}}, {}, r"class 'X': unknown condition 'diabetes'; known: dme"),
        ({"X": {"findings": {"drusen": {"state": "present", "size": "huge"}}}}, {}, r"class 'X': .*size='huge'"),
        ({"X": {"colour": "red"}}, {}, r"unknown key\(s\) colour in class 'X'"),
        ({"X": {}}, {"file_pattern": r"^(?P<label>\w+)\.png$"}, r"lacks named group\(s\) patient"),
        ({}, {}, r"'classes' must be a non-empty mapping"),
    ],
)
def test_bad_label_maps_fail_on_load_naming_the_class(tmp_path, classes, top, message):
    path = _write_map(tmp_path, classes, **top)
    with pytest.raises(LabelMapError, match=message) as info:
        load_label_map(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
