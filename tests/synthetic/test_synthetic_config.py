"""The cohort YAML: built by the schema layer, every problem named as FILE: dotted.key: problem."""

import copy

import pytest
import yaml

from retinavlm.data.synthetic import CohortConfigError, load_cohort_config
from retinavlm.data.synthetic.config import default_cohort_config_path

DEFAULT = yaml.safe_load(default_cohort_config_path().read_text())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["stage_prevalence"].update(late_dryy=0.1), "stage_prevalence.late_dryy: unknown id 'late_dryy'"),
        (lambda d: d["stage_prevalence"].update(early=-1), "stage_prevalence.early: weight must be a non-negative"),
        (lambda d: d["findings"].pop("early"), "findings: no recipe for stage 'early'"),
        (lambda d: d["findings"]["early"]["biomarkers"]["drusen"].update(p=2), "drusen.p: needs a probability in"),
        (lambda d: d["findings"]["early"]["biomarkers"]["drusen"].pop("p"), "drusen.p: required key is missing"),
        (lambda d: d["findings"]["early"]["biomarkers"]["drusen"].update(colour=1), "drusen.colour: unknown key"),
        (lambda d: d["findings"]["early"]["biomarkers"]["drusen"]["size"].update(huge=1), "drusen.size.huge: unknown"),
        (lambda d: d["findings"]["early"].update(at_least_one_of=["srf"]), "early.at_least_one_of[0]: unknown id"),
        (lambda d: d["visits"]["progression"].update(early=["nope"]), "visits.progression.early[0]: unknown id"),
        (lambda d: d["visits"].update(count={}), "visits.count: must be a non-empty mapping"),
        (
            lambda d: d["domains"]["cirrus_like"].update(gain="x"),
            "domains.cirrus_like.gain: expected a number, got 'x'",
        ),
        (lambda d: d["domains"]["cirrus_like"].update(blur=-1), "domains.cirrus_like.blur: must not be negative"),
        (lambda d: d["domains"]["cirrus_like"].update(vendor="z"), "domains.cirrus_like.vendor: unknown key"),
        (lambda d: d["image"].update(rows=0), "image.rows: must be positive, got 0"),
        (lambda d: d["image"].update(rows=1.5), "image.rows: expected an integer, got 1.5"),
        (lambda d: d.update(watermark_disease_correlation=2), "watermark_disease_correlation: must be within [0, 1]"),
        (lambda d: d["patients"].pop("female_fraction"), "patients.female_fraction: required key is missing"),
        (lambda d: d["acquisition"].update(retina_depth_min=0.1), "acquisition.retina_depth_min: must be within [0.2"),
        (lambda d: d["acquisition"].update(retina_depth_max=0.9), "acquisition.retina_depth_max: must be within [0.2"),
        (lambda d: d["acquisition"].update(retina_depth_min=0.7), "acquisition.retina_depth_min: must not exceed"),
        (lambda d: d["acquisition"].update(registration_p=1.5), "acquisition.registration_p: must be within [0, 1]"),
        (lambda d: d["acquisition"].update(registration_degrees=45), "acquisition.registration_degrees: must be"),
    ],
)
def test_a_bad_cohort_file_names_the_file_and_the_key(tmp_path, edit, message):
    doc = copy.deepcopy(DEFAULT)
    edit(doc)
    path = tmp_path / "cohort.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(CohortConfigError) as caught:
        load_cohort_config(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text, text


def test_the_default_file_builds_the_runtime_config():
    config = load_cohort_config()
    assert config.grid.rows == DEFAULT["image"]["rows"] and config.visit_counts == {1: 0.5, 2: 0.3, 3: 0.2}
    assert {name: d.name for name, d in config.domains.items()} == {name: name for name in DEFAULT["domains"]}
    assert config.progression["late_wet_active"] == () and config.source == DEFAULT
    assert config.findings["early"].biomarkers["drusen"].attributes == {"size": {"small": 0.5, "medium": 0.5}}
    assert set(config.findings["intermediate"].biomarkers["drusen"].attributes) == {"size"}
