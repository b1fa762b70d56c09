"""`retinavlm demo` end to end through the CLI on a test-sized preset: the run folder of
docs/RUN_FOLDER.md that the viewer loads, all three systems graded, a second run that reuses every
finished step, and a run killed mid-curriculum that resumes and completes.

Learning quality is asserted in the training tests and measured by the real presets (README).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from retinavlm.cli import main
from retinavlm.demo import load_demo_config
from retinavlm.jsonl import read_jsonl
from retinavlm.knowledge import load_knowledge
from retinavlm.resources import curricula_dir, project_root, shared_data_dir
from retinavlm.viewer.run import load_run

SYSTEMS = ("retinavlm", "shuffled_images", "always_healthy")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo")]

TINY_MODEL = [
    "model.encoder.image_size=64",
    "model.llm.hidden_size=32",
    "model.llm.intermediate_size=64",
    "model.llm.num_hidden_layers=1",
    "model.llm.num_attention_heads=2",
    "model.llm.num_key_value_heads=1",
]
SHORT = ["train.epochs=null", "train.batch_size=4", "checkpoint.every_steps=2", "data.cached_views=1"]
QUIET_VALIDATION = ["validation.max_scans=2", "validation.closed_ended=false", "validation.batch_size=8"]


def tiny_presets(path: Path) -> Path:
    """The real presets file plus `tiny`: 24 scans, a 1-layer LLM, a few steps per stage."""
    doc = yaml.safe_load((curricula_dir() / "demo.yaml").read_text())
    for preset in doc["presets"].values():  # the copy lives elsewhere: name the curriculum by full path
        preset["curriculum"] = str(curricula_dir() / preset["curriculum"])
    doc["presets"]["tiny"] = {
        "cohort": {"n": 24, "seed": 3, "heldout_domain": "topcon_like"},
        "curriculum": str(curricula_dir() / "curriculum.yaml"),
        "stage_overrides": {
            "stage0_ssl": [*TINY_MODEL, *SHORT, "train.max_steps=2"],
            "stage1_introduction": [*SHORT, *QUIET_VALIDATION, "train.max_steps=16", "qa.per_scan=1"],
            "stage2_specialism": [*SHORT, *QUIET_VALIDATION, "train.max_steps=2", "qa.per_scan=1"],
        },
        # checked against its own answers, as the default is: the untrained model contradicts them everywhere
        "generation": {"max_new_tokens": 8, "batch_size": 8, "check_answers": 2},
        "evaluation": {"bootstrap": 10, "seed": 0},
    }
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A tiny demo killed during stage 1 (after its first checkpoint), then resumed to the end."""
    tmp = tmp_path_factory.mktemp("demo")
    presets, run = tiny_presets(tmp / "demo.yaml"), tmp / "run"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
    command = [
        sys.executable,
        "-m",
        "retinavlm.cli",
        "demo",
        "--config",
        str(presets),
        "--preset",
        "tiny",
        "--out",
        str(run),
    ]
    stage1 = run / "curriculum" / "stage1_introduction"
    with open(tmp / "killed.log", "w") as log:
        process = subprocess.Popen(command, cwd=project_root(), env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 240
        while (
            not list((stage1 / "checkpoints").glob("step-*")) and process.poll() is None and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
    killed_log = (tmp / "killed.log").read_text()
    assert process.returncode == -signal.SIGKILL, killed_log  # it was killed, not finished or failed
    assert not (stage1 / "summary.json").exists() and not (run / "run.json").exists()

    resumed = subprocess.run(command, cwd=project_root(), env=env, capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return run, presets, resumed


def test_killed_demo_resumes_the_curriculum_mid_stage(finished_run):
    run, _, resumed = finished_run
    assert "cohort: done earlier" in resumed.stderr
    assert "stage stage0_ssl already complete; skipping" in resumed.stderr
    assert "resuming stage1_introduction from" in resumed.stderr
    summary = json.loads((run / "curriculum" / "stage1_introduction" / "summary.json").read_text())
    assert summary["steps"] == 16
    assert "next: retinavlm view" in resumed.stdout and "always_healthy" in resumed.stdout


def test_run_folder_follows_the_contract_and_loads_in_the_viewer(finished_run):
    run, _, _ = finished_run
    meta = json.loads((run / "run.json").read_text())
    assert meta["systems"] == list(SYSTEMS)
    assert meta["references"] == "references.jsonl" and meta["evaluation"] == "evaluation"
    assert (run / meta["checkpoint"] / "config.json").is_file()  # a save_pretrained folder inside RUN
    assert not Path(meta["checkpoint"]).is_absolute()

    references, problems = read_jsonl(run / "references.jsonl")
    assert not problems and references
    test_ids = [r["id"] for r in references]
    for row in references:
        assert not Path(row["image"]).is_absolute() and (run / row["image"]).is_file()
    for system in SYSTEMS:
        rows, problems = read_jsonl(run / "predictions" / f"{system}.jsonl")
        assert not problems and [r["id"] for r in rows] == test_ids and {r["model"] for r in rows} == {system}
    healthy = {r["report"] for r in read_jsonl(run / "predictions" / "always_healthy.jsonl")[0]}
    assert healthy == {" ".join(load_demo_config().always_healthy_report.split())}

    results = json.loads((run / "evaluation" / "results.json").read_text())
    assert set(results["summary"]["systems"]) == set(SYSTEMS)
    assert all(results["summary"]["systems"][s]["n"] == len(test_ids) for s in SYSTEMS)

    loaded = load_run(run)
    assert loaded.problems == []
    assert loaded.systems == list(SYSTEMS) and loaded.case_ids == test_ids
    assert loaded.checkpoint is not None and loaded.results is not None
    assert all(case.image is not None for case in loaded.cases.values())
    assert all(loaded.report(s, test_ids[0]) is not None for s in SYSTEMS)

    summary = json.loads((run / "demo_summary.json").read_text())
    assert [row["system"] for row in summary["systems"]] == list(SYSTEMS)
    assert summary["machine"]["logical_cpus"] and summary["versions"]["torch"]
    assert summary["split"] == "test" and summary["closed_ended"]["split"] == "test"

    # the same test scans rendered on the scanner no training scan came from, graded with the same controls
    cohort = [r["domain"] for r in read_jsonl(run / "cohort" / "references.jsonl")[0]]
    assert "topcon_like" not in cohort
    heldout = load_run(run / "heldout_domain", data_roots=[run])
    assert heldout.problems == [] and heldout.case_ids == test_ids and heldout.systems == list(SYSTEMS)
    assert {case.reference["domain"] for case in heldout.cases.values()} == {"topcon_like"}
    assert summary["heldout_domain"] == "topcon_like"
    assert [row["system"] for row in summary["systems_heldout_domain"]] == list(SYSTEMS)


def test_second_run_reuses_every_finished_step(finished_run, capsys):
    run, presets, _ = finished_run
    watched = [
        run / "curriculum" / "stage1_introduction" / "summary.json",
        run / "predictions" / "retinavlm.jsonl",
        run / "evaluation" / "results.json",
        run / "cohort" / "manifest.json",
    ]
    before = {p: p.stat().st_mtime_ns for p in watched}
    assert main(["demo", "--config", str(presets), "--preset", "tiny", "--out", str(run)]) == 0
    err = capsys.readouterr().err
    for step in ("cohort", "curriculum", "evaluation"):
        assert f"{step}: done earlier" in err
    assert "predictions: reusing every model system's reports" in err
    assert "== stage" not in err  # no stage was even started
    assert {p: p.stat().st_mtime_ns for p in watched} == before


def test_validation_split_reuses_the_training_and_grades_other_patients(finished_run, capsys):
    """Choose settings on validation, score test once: a second split trains nothing and writes its own folder."""
    run, presets, _ = finished_run
    trained = [p for p in (run / "curriculum").glob("stage*/**/*") if p.is_file()] + [run / "demo_summary.json"]
    before = {p: p.stat().st_mtime_ns for p in trained}
    argv = ["demo", "--config", str(presets), "--preset", "tiny", "--out", str(run), "--split", "validation"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "curriculum: done earlier" in err and "== stage" not in err
    assert {p: p.stat().st_mtime_ns for p in trained} == before  # training and the test split untouched
    assert f"retinavlm view {run / 'validation'} --data-root {run}" in " ".join(out.split())  # rich wraps lines

    summaries = {
        split: json.loads((run / folder / "demo_summary.json").read_text())
        for split, folder in (("test", "."), ("validation", "validation"))
    }
    assert {split: s["split"] for split, s in summaries.items()} == {"test": "test", "validation": "validation"}
    assert summaries["validation"]["closed_ended"]["split"] == "validation"
    patients = {
        split: {r["patient_id"] for r in read_jsonl(run / folder / "references.jsonl")[0]}
        for split, folder in (("test", "."), ("validation", "validation"))
    }
    assert patients["test"] and patients["validation"] and not patients["test"] & patients["validation"]
    loaded = load_run(run / "validation", data_roots=[run])
    assert loaded.problems == [] and loaded.checkpoint is not None
    assert {r["patient_id"] for r in read_jsonl(run / "validation" / "heldout_domain" / "references.jsonl")[0]} == (
        patients["validation"]
    )


def test_folds_hold_out_every_patient_outside_the_test_split_once_and_pool_them(finished_run, tmp_path, capsys):
    """`--folds 2`: two trainings, each scoring the patients the other trained on; the plain run's test patients are
    in neither; the pooled grades cover each fold's held-out scans once; a second run trains nothing."""
    plain, presets, _ = finished_run
    run = tmp_path / "cv"
    argv = ["demo", "--config", str(presets), "--preset", "tiny", "--out", str(run), "--folds", "2"]
    assert main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Pooled over 2 folds" in out and "fold 1: retinavlm" in out and "fold 2: retinavlm" in out

    everyone = {r["id"] for r in read_jsonl(plain / "cohort" / "references.jsonl")[0]}
    test_ids = {r["id"] for r in read_jsonl(plain / "references.jsonl")[0]}
    held_out = [{r["id"] for r in read_jsonl(run / f"fold-{k}" / "references.jsonl")[0]} for k in (0, 1)]
    assert held_out[0] and held_out[1] and not held_out[0] & held_out[1]
    assert held_out[0] | held_out[1] == everyone - test_ids
    for k in (0, 1):
        stages = yaml.safe_load((run / f"fold-{k}" / "curriculum.yaml").read_text())["stages"]
        assert all({"data.folds=2", f"data.fold={k}"} <= set(stage["overrides"]) for stage in stages)
        assert json.loads((run / f"fold-{k}" / "demo_summary.json").read_text())["fold"] == {"index": k, "count": 2}

    summary = json.loads((run / "folds_summary.json").read_text())
    pooled = {r["id"] for r in read_jsonl(run / "pooled" / "references.jsonl")[0]}
    assert pooled == {f"fold-{k}:{i}" for k in (0, 1) for i in held_out[k]}
    assert [row["system"] for row in summary["systems"]] == list(SYSTEMS)
    assert all(row["n"] == len(pooled) for row in summary["systems"])
    assert [row["fold"] for row in summary["per_fold"]] == [0, 1]
    results = json.loads((run / "pooled" / "evaluation" / "results.json").read_text())
    assert results["inputs"]["problems"] == []
    loaded = load_run(run / "pooled", data_roots=[run])
    assert loaded.problems == [] and loaded.checkpoint is None and set(loaded.case_ids) == pooled
    # rich wraps long lines, inside a path too
    assert f"retinavlmview{run / 'pooled'}--data-root{run}" in "".join(out.split())

    before = {p: p.stat().st_mtime_ns for p in run.glob("fold-*/curriculum/stage*/final/*")}
    assert before and main(argv) == 0
    assert "curriculum: done earlier" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in before} == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--folds", "1"], "--folds 1: cross-validation needs at least 2 folds")],
)
def test_bad_fold_settings_get_one_line_errors(finished_run, tmp_path, capsys, extra, message):
    _, presets, _ = finished_run
    assert main(["demo", "--config", str(presets), "--preset", "tiny", "--out", str(tmp_path / "cv"), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_a_folder_with_other_files_is_not_taken_for_folds(finished_run, tmp_path, capsys):
    _, presets, _ = finished_run
    (tmp_path / "cv").mkdir()
    (tmp_path / "cv" / "notes.txt").write_text("mine")
    assert (
        main(["demo", "--config", str(presets), "--preset", "tiny", "--out", str(tmp_path / "cv"), "--folds", "2"]) == 2
    )
    assert "holds 'notes.txt', which is not a fold of 2" in capsys.readouterr().err
    assert (tmp_path / "cv" / "notes.txt").read_text() == "mine"


def test_bad_settings_get_one_line_errors(finished_run, tmp_path, capsys):
    run, presets, _ = finished_run
    cases = [
        (
            ["--config", str(presets), "--preset", "nonexistent", "--out", str(tmp_path / "a")],
            "no preset 'nonexistent'",
        ),
        (["--config", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "b")], "not found"),
        # the run folder was made with `tiny`: another preset must not reuse its stages
        (["--config", str(presets), "--fast", "--out", str(run)], "made with other settings"),
    ]
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "notes.txt").write_text("mine")
    cases.append(
        (["--config", str(presets), "--preset", "tiny", "--out", str(tmp_path / "c")], "not a demo run folder")
    )
    broken = yaml.safe_load(presets.read_text())
    broken["presets"]["tiny"]["stage_overrides"]["stage9"] = ["train.max_steps=1"]
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    cases.append(
        (
            ["--config", str(tmp_path / "broken.yaml"), "--preset", "tiny", "--out", str(tmp_path / "d")],
            "stage_overrides.stage9: no such stage",
        )
    )
    unknown = yaml.safe_load(presets.read_text())
    unknown["presets"]["tiny"]["cohort"]["heldout_domain"] = "nowhere_like"
    (tmp_path / "unknown.yaml").write_text(yaml.safe_dump(unknown))
    cases.append(
        (
            ["--config", str(tmp_path / "unknown.yaml"), "--preset", "tiny", "--out", str(tmp_path / "e")],
            "presets.tiny.cohort.heldout_domain: unknown scanner domain 'nowhere_like'",
        )
    )
    negative = yaml.safe_load(presets.read_text())
    negative["presets"]["tiny"]["generation"]["check_answers"] = -1
    (tmp_path / "negative.yaml").write_text(yaml.safe_dump(negative))
    cases.append(
        (
            ["--config", str(tmp_path / "negative.yaml"), "--preset", "tiny", "--out", str(tmp_path / "f")],
            "presets.tiny.generation.check_answers: must be 0 (greedy) or a number of candidate reports",
        )
    )
    framing = yaml.safe_load(presets.read_text())
    framing["presets"]["tiny"]["cohort"]["acquisition"] = {"registration_p": 1.5}
    (tmp_path / "framing.yaml").write_text(yaml.safe_dump(framing))
    cases.append(
        (
            ["--config", str(tmp_path / "framing.yaml"), "--preset", "tiny", "--out", str(tmp_path / "g")],
            "presets.tiny.cohort.acquisition.registration_p: must be within [0, 1], got 1.5",
        )
    )
    for argv, message in cases:
        capsys.readouterr()
        assert main(["demo", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
    assert (tmp_path / "c" / "notes.txt").read_text() == "mine"


def test_every_shipped_preset_derives_a_curriculum_whose_stages_load(tmp_path):
    """A typo in a preset's stage overrides (the ablations too) fails here, not minutes into a run."""
    from retinavlm.demo import derive_curriculum
    from retinavlm.train.curriculum import load_curriculum

    config = load_demo_config()
    assert {"fast", "default", "full", "real"} <= set(config.presets)
    for name, preset in config.presets.items():
        if preset.real is not None and shared_data_dir() is None:
            continue  # the real sample is not beside this checkout
        run = tmp_path / name
        (run / "cohort").mkdir(parents=True)
        manifest = {"lesion_masks": {"bits": list(load_knowledge().biomarker_ids)}}
        (run / "cohort" / "manifest.json").write_text(json.dumps(manifest))  # what the demo's cohort records
        doc, _ = derive_curriculum(run, config, preset)
        (run / "curriculum.yaml").write_text(yaml.safe_dump(doc))
        _, stages = load_curriculum(run / "curriculum.yaml")
        expected = REAL_STAGES if preset.real else ["stage0_ssl", "stage1_introduction", "stage2_specialism"]
        assert [s.name for s in stages] == expected, name


REAL_STAGES = [
    "stage0_synthetic_encoder",
    "stage1_synthetic_introduction",
    "stage2_synthetic_specialism",
    "stage3_real_encoder",
    "stage4_real_specialism",
]
REAL_SYSTEMS = [*SYSTEMS, "synthetic_only", "cnn_from_scratch", "cnn_from_synthetic_encoder"]


def test_real_preset_without_the_real_sample_says_so_in_one_line(tmp_path, capsys):
    doc = yaml.safe_load((curricula_dir() / "demo.yaml").read_text())
    real = {**doc["presets"]["real"], "curriculum": str(curricula_dir() / "curriculum_real.yaml")}
    real["real"] = {"folder": "no-such-cohort"}
    presets = tmp_path / "demo.yaml"
    presets.write_text(
        yaml.safe_dump({"always_healthy_report": doc["always_healthy_report"], "presets": {"real": real}})
    )
    assert main(["demo", "--config", str(presets), "--real", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert "real OCT sample not found" in err and "no-such-cohort" in err and len(err.splitlines()) == 1, err


@pytest.mark.skipif(
    shared_data_dir() is None, reason="the real OCT sample (../shared/data) is not beside this checkout"
)
def test_tiny_real_preset_grades_held_out_real_patients_with_every_control(tmp_path):
    """Synthetic, then the Kermany sample, on a test-sized model: the real run folder, unknowns left unscored."""
    doc = yaml.safe_load((curricula_dir() / "demo.yaml").read_text())
    real = doc["presets"]["real"]
    stage = [*SHORT, "train.max_steps=2"]
    language = [*SHORT, *QUIET_VALIDATION, "train.max_steps=2", "qa.per_scan=1"]
    real.update(
        cohort={**real["cohort"], "n": 24, "seed": 3},
        curriculum=str(curricula_dir() / real["curriculum"]),
        stage_overrides={
            "stage0_synthetic_encoder": [*TINY_MODEL, *stage],
            "stage1_synthetic_introduction": language,
            "stage2_synthetic_specialism": language,
            "stage3_real_encoder": stage,
            "stage4_real_specialism": language,
        },
        generation={"max_new_tokens": 8, "batch_size": 16},
        evaluation={"bootstrap": 10, "seed": 0},
    )
    real["controls"]["classifiers"].update(epochs=1, patience=1)
    presets = tmp_path / "demo.yaml"
    presets.write_text(
        yaml.safe_dump({"always_healthy_report": doc["always_healthy_report"], "presets": {"real": real}})
    )
    run = tmp_path / "run"
    assert main(["demo", "--config", str(presets), "--real", "--out", str(run)]) == 0

    summary = json.loads((run / "demo_summary.json").read_text())
    assert [s["name"] for s in summary["curriculum"]["stages"]] == REAL_STAGES
    assert summary["curriculum"]["final_model"].endswith("stage4_real_specialism/final")
    assert sorted(row["system"] for row in summary["systems"]) == sorted(REAL_SYSTEMS)
    assert set(summary["classifiers"]) == {"cnn_from_scratch", "cnn_from_synthetic_encoder"}
    # the synthetic scans are framed as the preset says (curricula/synthetic/cohort.yaml `acquisition`)
    rendered = json.loads((run / "cohort" / "manifest.json").read_text())["config"]["acquisition"]
    assert rendered == real["cohort"]["acquisition"]
    meta = json.loads((run / "run.json").read_text())
    assert meta["systems"] == REAL_SYSTEMS and meta["knowledge_version"] == load_knowledge().version_tag

    references, problems = read_jsonl(run / "references.jsonl")
    assert not problems and references
    sources = {p.read_bytes(): p for p in (shared_data_dir() / "kermany-oct2017").rglob("*.jpeg")}
    answers = list((run / "curriculum").glob("answers-*.jsonl"))
    assert answers  # the closed-ended answers name their scans too
    outputs = [
        run / "references.jsonl",
        *answers,
        *(run / "predictions").glob("*.jsonl"),
        *(run / "evaluation").iterdir(),
    ]
    written = "\n".join([p.read_text() for p in outputs] + [p.name for p in (run / "images").rglob("*")])
    label_of = {}
    for row in references:
        assert row["image"].startswith("images/") and (run / row["image"]).is_file()  # copied into the run
        source = sources[(run / row["image"]).read_bytes()]  # byte for byte
        label = label_of[row["image"]] = source.parent.name
        assert source.stem not in written  # file names carry patient numbers: pseudonyms only
        assert row["id"].startswith("scan-") and row["patient_id"].startswith("patient-")
        if label == "CNV":  # a diagnosis, not a list of findings: every biomarker unknown, so none is listed
            assert row["biomarkers"] == {} and row["stage"] == "late_wet_active" and row["referral"] == "urgent"
        if label == "DME":
            assert "stage" not in row and row["condition"] == "dme" and row["biomarkers"] == {"irf": "present"}
    results = json.loads((run / "evaluation" / "results.json").read_text())
    healthy = results["summary"]["systems"]["always_healthy"]
    cnv = sum(label_of[r["image"]] == "CNV" for r in references)
    # SRF is never known on these references, so the template's "no SRF" is never scored
    assert healthy["biomarkers"]["srf"]["n"] < len(references) - cnv + 1
    assert set(summary["stage_agreement"]["retinavlm"]) <= {"healthy", "late_wet_active"}
    dme = sum(label_of[r["image"]] == "DME" for r in references)
    # Every system is counted on every DME reference; the template never names DME.
    assert {system: counts["dme"]["n"] for system, counts in summary["condition_agreement"].items()} == dict.fromkeys(
        REAL_SYSTEMS, dme
    )
    assert summary["condition_agreement"]["always_healthy"]["dme"]["agreement"] == 0.0
    assert load_run(run).systems == REAL_SYSTEMS

    # The validation split of the same run folder reuses the classifiers instead of training them again.
    saved = {p.name: (p / "model.safetensors").stat().st_mtime_ns for p in (run / "classifiers").iterdir()}
    assert set(saved) == {"cnn_from_scratch", "cnn_from_synthetic_encoder"}
    assert main(["demo", "--config", str(presets), "--real", "--out", str(run), "--split", "validation"]) == 0
    validation = json.loads((run / "validation" / "demo_summary.json").read_text())
    assert {p.name: (p / "model.safetensors").stat().st_mtime_ns for p in (run / "classifiers").iterdir()} == saved
    for system, info in summary["classifiers"].items():
        assert validation["classifiers"][system]["best_epoch"] == info["best_epoch"]
        assert validation["classifiers"][system]["scored_on_the_patients_it_chose_on"]
