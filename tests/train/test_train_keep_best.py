"""checkpoint.keep_best: the stage's final model is its best validated step, chosen again after a resume."""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file
from train_testing import stage0, train_until_killed

from retinavlm.cli import main
from retinavlm.resources import curricula_dir
from retinavlm.train.config import ConfigError
from retinavlm.train.encoder_pretraining import head_scores
from retinavlm.train.records import ScanRecord
from retinavlm.train.resume_state import trainable_state
from retinavlm.train.stage_loading import load_stage
from retinavlm.train.trainer import StageTrainer, train_stage

# The score each step's validation reports; step 5 ties step 2, and the earlier step stays.
SCRIPT = {1: 0.2, 2: 0.9, 3: 0.5, 4: 0.6, 5: 0.9, 6: 0.3}
SETTINGS = (
    "ssl.method=supervised",
    "ssl.token_head=mil",
    "train.max_steps=6",
    "validation.every_steps=1",
    "checkpoint.every_steps=3",
    "checkpoint.keep_best.metric=heads_macro_f1",
)


def script_validation(monkeypatch, weights: dict[int, dict], scores: dict[int, dict], script=SCRIPT) -> None:
    """Each periodic validation reports the script's score; the encoder weights and the real scores are recorded."""
    original = StageTrainer.validate

    def validate(self, final):
        results = original(self, final)
        if not final:
            step = self.scheduler.last_epoch  # optimizer steps taken so far
            weights[step] = {
                k: v for k, v in trainable_state(self.objective.module).items() if k.startswith("encoder.")
            }
            scores[step] = dict(results)
            results["heads_macro_f1"] = script[step]
        return results

    monkeypatch.setattr(StageTrainer, "validate", validate)


def final_encoder(out: Path) -> dict[str, torch.Tensor]:
    return {f"encoder.{k}": v for k, v in load_file(str(out / "final" / "encoder.safetensors")).items()}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_keep_best_saves_the_best_validated_step(tmp_path, small_cohort, base_model, monkeypatch):
    weights, scores = {}, {}
    script_validation(monkeypatch, weights, scores)
    out = tmp_path / "stage"
    train_stage(stage0(small_cohort, base_model, out, *SETTINGS))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["keep_best"] == {
        "metric": "heads_macro_f1",
        "mode": "max",
        "window": 1,
        "step": 2,
        "value": 0.9,
        "last_step": 6,
    }
    assert sorted(weights) == [1, 2, 3, 4, 5, 6]
    assert same(final_encoder(out), weights[2]) and not same(final_encoder(out), weights[6])
    # The summary's validation describes the kept weights (the heads' scores step 2 really had) and the probe.
    assert {k: summary["validation"][k] for k in scores[2]} == scores[2]
    assert summary["probe"]["pretrained"].items() <= summary["validation"].items()


@pytest.mark.slow
def test_a_resumed_run_keeps_the_best_step_from_before_the_kill(tmp_path, small_cohort, base_model, monkeypatch):
    weights, scores = {}, {}
    script_validation(monkeypatch, weights, scores)
    out = tmp_path / "stage"
    cfg = stage0(small_cohort, base_model, out, *SETTINGS)
    train_until_killed(cfg, monkeypatch, 4)
    state = json.loads((out / "checkpoints" / "step-00000003" / "trainer_state.json").read_text())
    assert state["best"] == {"step": 2, "value": 0.9}
    before_kill = weights.pop(2)
    logs = []
    train_stage(cfg, log=logs.append)
    assert any("resuming stage0_ssl from" in line for line in logs)
    assert 2 not in weights  # step 2 was not trained again: its weights come from the checkpoint
    summary = json.loads((out / "summary.json").read_text())
    assert summary["keep_best"]["step"] == 2 and same(final_encoder(out), before_kill)


@pytest.mark.slow
def test_a_resumed_run_averages_over_validations_from_before_the_kill(tmp_path, small_cohort, base_model, monkeypatch):
    # Window 2: step 3 scores (0.9 + 0.5) / 2 = 0.7, step 4 (0.5 + 0.8) / 2 = 0.65. Had the resume lost the
    # validations before the kill, step 4 would score 0.8 alone and be kept.
    script = {1: 0.2, 2: 0.9, 3: 0.5, 4: 0.8, 5: 0.3, 6: 0.2}
    weights, scores = {}, {}
    script_validation(monkeypatch, weights, scores, script)
    out = tmp_path / "stage"
    cfg = stage0(small_cohort, base_model, out, *SETTINGS, "checkpoint.keep_best.window=2")
    train_until_killed(cfg, monkeypatch, 4)
    state = json.loads((out / "checkpoints" / "step-00000003" / "trainer_state.json").read_text())
    assert state["best"] == {"step": 3, "value": pytest.approx(0.7)} and state["recent_scores"] == [0.9, 0.5]
    train_stage(cfg)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["keep_best"]["step"] == 3 and summary["keep_best"]["window"] == 2
    assert summary["keep_best"]["value"] == pytest.approx(0.7)
    assert same(final_encoder(out), weights[3])


def bare_trainer(small_cohort, tmp_path, *overrides) -> StageTrainer:
    """A trainer with only what track_best reads: the config, the module and the best so far."""
    trainer = StageTrainer.__new__(StageTrainer)
    trainer.cfg = stage0(small_cohort, small_cohort, tmp_path, *SETTINGS, *overrides)
    trainer.objective, trainer.best, trainer.recent_scores = SimpleNamespace(module=torch.nn.Linear(2, 2)), None, []
    return trainer


@pytest.mark.parametrize("mode", ["max", "min"])
def test_only_a_validation_with_the_score_is_a_candidate(small_cohort, tmp_path, mode):
    trainer = bare_trainer(small_cohort, tmp_path, f"checkpoint.keep_best.mode={mode}")
    sign = 1 if mode == "max" else -1
    trainer.track_best(1, {"heads_referral_macro_f1": sign * 0.9})  # no heads_macro_f1 (no stage or referral known)
    trainer.track_best(2, {"heads_macro_f1": math.nan})
    assert trainer.best is None
    for step, value in [(3, 0.4), (4, 0.4), (5, 0.2)]:
        trainer.track_best(step, {"heads_macro_f1": sign * value})
    assert (trainer.best.step, trainer.best.value) == (3, sign * 0.4)  # a tie keeps the earlier step
    trainer.track_best(6, {"heads_macro_f1": sign * 0.5})
    assert trainer.best.step == 6 and set(trainer.best.tensors) == {"weight", "bias"}


@pytest.mark.parametrize(("window", "kept"), [(1, 80), (3, 120), (20, 120)])
def test_a_window_prefers_a_steady_stretch_to_one_lucky_validation(small_cohort, tmp_path, window, kept):
    trainer = bare_trainer(small_cohort, tmp_path, f"checkpoint.keep_best.window={window}")
    curve = {64: 0.79, 72: 0.93, 80: 1.00, 88: 0.83, 96: 0.97, 104: math.nan, 112: 0.98, 120: 0.99}
    for step, value in curve.items():
        trainer.track_best(step, {"heads_macro_f1": value})
    assert trainer.best.step == kept
    # The NaN validation is no candidate and does not enter the window: step 120's score is over the last
    # `window` real scores (all seven when the window is wider than the stage).
    real = [v for v in curve.values() if not math.isnan(v)]
    assert trainer.recent_scores == real[-window:]
    if window > 1:
        assert trainer.best.value == pytest.approx(sum(real[-window:]) / len(real[-window:]))


def test_head_scores_read_known_labels_only(kb):
    records = [
        ScanRecord("a", "p1", Path("a.png"), "healthy", "none", {}),
        ScanRecord("b", "p2", Path("b.png"), "late_wet_active", "urgent", {}),
        ScanRecord("c", "p3", Path("c.png"), None, "urgent", {}),  # stage unknown: not scored for stage
        ScanRecord("d", "p4", Path("d.png"), None, None, {}),
    ]
    nb, ns = len(kb.biomarker_ids), len(kb.stage_ids)
    logits = torch.zeros(4, nb + ns + len(kb.referral_ids))
    for row, (stage, referral) in enumerate([("healthy", "none"), ("healthy", "urgent"), ("healthy", "none")]):
        logits[row, nb + kb.stage_ids.index(stage)] = 5.0
        logits[row, nb + ns + kb.referral_ids.index(referral)] = 5.0
    scores = head_scores(logits, records, kb)
    # stage (a, b): late wet called healthy -> F1 healthy 2/3, late wet 0; referral (a, b, c): c's urgent
    # called none -> F1 none 2/3, urgent 2/3. Scan d, all unknown, counts nowhere.
    assert scores["heads_stage_macro_f1"] == pytest.approx(1 / 3)
    assert scores["heads_referral_macro_f1"] == pytest.approx(2 / 3)
    assert scores["heads_macro_f1"] == pytest.approx(1 / 2)
    assert "heads_biomarker_mean_f1" not in scores  # no biomarker is known


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["ssl.method=supervised", "checkpoint.keep_best.metric=biomarker_mean_f1"],
            r"checkpoint\.keep_best\.metric: 'biomarker_mean_f1' is not a validation score of a ssl stage; "
            r"use one of heads_macro_f1, ",
        ),
        (
            ["ssl.method=simclr", "checkpoint.keep_best.metric=heads_macro_f1"],
            r"checkpoint\.keep_best\.metric: 'heads_macro_f1' needs ssl\.method=supervised",
        ),
        (["checkpoint.keep_best.mode=max"], r"checkpoint\.keep_best\.metric: required key is missing"),
        (
            ["ssl.method=supervised", "checkpoint.keep_best={metric: heads_macro_f1, window: 0}"],
            r"checkpoint\.keep_best\.window: 0 must be at least 1",
        ),
        (
            ["ssl.method=supervised", "checkpoint.keep_best={metric: heads_macro_f1, mode: best}"],
            r"checkpoint\.keep_best\.mode: 'best' is not one of",
        ),
    ],
)
def test_bad_keep_best_settings_name_the_key(small_cohort, overrides, message):
    with pytest.raises(ConfigError, match=message) as error:
        load_stage(curricula_dir() / "stage0_ssl.yaml", [f"data.cohort={small_cohort}", *overrides])
    assert "\n" not in str(error.value)


def test_keep_best_of_a_language_stage_needs_its_scores(small_cohort, capsys):
    stage1 = str(curricula_dir() / "stage1_introduction.yaml")
    base = [f"data.cohort={small_cohort}", "validation.closed_ended=false"]
    assert main(["train", stage1, *base, "checkpoint.keep_best.metric=stage_macro_f1"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.count("\n") == 0
        and "checkpoint.keep_best.metric: 'stage_macro_f1' needs validation.closed_ended=true" in err
    )
    load_stage(stage1, [*base, "checkpoint.keep_best={metric: loss, mode: min}"])  # the loss needs no closed answers
