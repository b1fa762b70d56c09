"""Stage and curriculum configs fail before training, with a message naming the key or the file."""

from pathlib import Path

import pytest
import yaml

from retinavlm.cli import main
from retinavlm.model.config import RetinaVLMConfig
from retinavlm.resources import curricula_dir
from retinavlm.train.config import ConfigError, apply_overrides
from retinavlm.train.curriculum import load_curriculum
from retinavlm.train.stage_loading import load_stage

STAGE1 = curricula_dir() / "stage1_introduction.yaml"


def write(tmp_path: Path, doc: dict, name: str = "stage.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def stage_doc(cohort: Path) -> dict:
    doc = yaml.safe_load(STAGE1.read_text())
    doc["data"]["cohort"] = str(cohort)
    doc["qa"]["templates"] = str(curricula_dir() / "templates" / "qa_findings.yaml")
    return doc


def test_shipped_stage_configs_are_valid(small_cohort):
    for name in ("stage0_ssl.yaml", "stage1_introduction.yaml"):
        cfg = load_stage(curricula_dir() / name, [f"data.cohort={small_cohort}"])
        assert cfg.data.cohort == str(small_cohort)
    cur, stages = load_curriculum(curricula_dir() / "curriculum.yaml", cohort=str(small_cohort), output_dir="/tmp/x")
    assert [s.name for s in stages] == ["stage0_ssl", "stage1_introduction", "stage2_specialism"]
    # each stage starts from the previous stage's final checkpoint
    assert stages[1].init_from == str(Path(stages[0].output_dir) / "final")
    assert stages[2].init_from == str(Path(stages[1].output_dir) / "final")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.learning_rate=0.1", r"train\.learning_rate: unknown key"),
        ("train.batch_size=big", r"train\.batch_size: expected an integer, got 'big'"),
        ("train.parts.encoder=maybe", r"train\.parts\.encoder: expected true or false"),
        ("train.schedule.name=exponential", r"train\.schedule\.name: 'exponential' is not one of"),
        ("qa.builders.staging=1", r"qa\.builders\.staging: unknown builder"),
        ("data.augment.rotate=5", r"data\.augment\.rotate: unknown augmentation option"),
        ("data.augment.mask_above_retina=true", r"data\.augment\.mask_above_retina: not available in model stages"),
        ("model.encoder.depth=3", r"stage\.yaml: model\.encoder\.depth: unknown key; allowed here: name, "),
        ("model.encoder.crop_fraction=2", r"stage\.yaml: model\.encoder\.crop_fraction: must be in \(0, 1\], got 2"),
        ("train.optimizer.lr=abc", r"stage\.yaml: train\.optimizer\.lr: expected a number, got 'abc'"),
        ("train.max_steps=10", r"train: give exactly one of max_steps or epochs"),
        ("checkpoint.keep_last=0", r"checkpoint\.keep_last: must be at least 1"),
        ("data.folds=1", r"data\.folds: must be 0 \(no folds\) or at least 2, got 1"),
        ("data.fold=3", r"data\.fold: must be in \[0, 1\) for 0 folds, got 3"),
        ("init_from=/nowhere/final", r"init_from: checkpoint folder /nowhere/final not found"),
    ],
)
def test_bad_stage_configs_name_the_key(small_cohort, tmp_path, override, message):
    path = write(tmp_path, stage_doc(small_cohort))
    extra = ["model=null"] if override.startswith("init_from") else []
    with pytest.raises(ConfigError, match=message):
        load_stage(path, [override, *extra])


def test_the_stage_model_is_a_typed_model_config(small_cohort):
    cfg = load_stage(STAGE1, [f"data.cohort={small_cohort}", "model.llm.hidden_size=64"])
    assert isinstance(cfg.model, RetinaVLMConfig)
    assert cfg.model.encoder.name == "resnet_tiny_s16" and cfg.model.llm.hidden_size == 64
    assert cfg.to_dict()["model"] == cfg.model.to_dict()


def test_missing_files_are_named(tmp_path, small_cohort):
    with pytest.raises(ConfigError, match=r"missing\.yaml: config file not found"):
        load_stage(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"data\.cohort: cohort /no/cohort not found"):
        load_stage(STAGE1, ["data.cohort=/no/cohort"])
    with pytest.raises(ConfigError, match=r"data\.cohort: no cohort folder given"):
        load_stage(STAGE1)
    with pytest.raises(ConfigError, match=r"qa\.templates: .*nothere\.yaml not found"):
        load_stage(STAGE1, [f"data.cohort={small_cohort}", "qa.templates=nothere.yaml"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML"):
        load_stage(bad)


def test_a_curriculum_fails_on_its_last_stage_before_the_first_trains(tmp_path, small_cohort):
    cur = {
        "name": "c",
        "stages": [
            {"config": str(STAGE1)},
            {"config": str(curricula_dir() / "stage2_specialism.yaml"), "overrides": ["train.optimiser.lr=1"]},
        ],
    }
    path = write(tmp_path, cur, "curriculum.yaml")
    with pytest.raises(ConfigError, match=r"stage2_specialism\.yaml: train\.optimiser: unknown key"):
        load_curriculum(path, cohort=str(small_cohort), output_dir=str(tmp_path / "runs"))
    assert not (tmp_path / "runs").exists()


def test_stage_without_its_previous_checkpoint_is_refused(small_cohort):
    with pytest.raises(ConfigError, match=r"init_from: checkpoint folder runs/stage1_introduction/final not found"):
        load_stage(curricula_dir() / "stage2_specialism.yaml", [f"data.cohort={small_cohort}"])


def test_overrides_parse_values_as_yaml():
    doc = apply_overrides({"train": {"batch_size": 4}}, ["train.batch_size=8", "train.seed=3", "qa.builders.stage=1.5"])
    assert doc == {"train": {"batch_size": 8, "seed": 3}, "qa": {"builders": {"stage": 1.5}}}
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        apply_overrides({}, ["train.batch_size"])


def test_cli_train_reports_a_bad_config_in_one_line(tmp_path, small_cohort, capsys):
    path = write(tmp_path, stage_doc(small_cohort))
    assert main(["train", str(path), "train.optimizer.lr=fast"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "train.optimizer.lr: expected a number, got 'fast'" in err
