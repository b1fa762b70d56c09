"""Cohort-scale `retinavlm report`: rows streamed batch by batch, a killed run resumed without losing or
repeating a scan, and torchrun's processes splitting the scans into one file identical to a single process's;
the demo's report step resuming the same way."""

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from model_testing import kermany_scans, tiny_config

from retinavlm.cli import main
from retinavlm.model.answer_check import CHECK_RULE
from retinavlm.model.config import EncoderConfig
from retinavlm.model.report_run import (
    ReportRunError,
    drop_torn_line,
    list_scans,
    merge_shards,
    pseudonym,
    read_written,
    readable_images,
    shard_path,
    shard_paths,
    stream_reports,
)
from retinavlm.model.vlm import RetinaVLM
from retinavlm.resources import project_root

GOOD_SCANS = 6
OPTIONS = ["--max-new-tokens", "6", "--batch-size", "2"]


def row(scan_id, model="m"):
    return {"id": scan_id, "report": f"report of {scan_id}", "model": model}


def jsonl(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


# ---------------------------------------------------------------- streaming


class FileWatchingModel:
    """Answers each batch, first recording how many rows the output file already holds."""

    def __init__(self, out: Path):
        self.out, self.rows_seen = out, []

    def generate(self, pixels, prompts, max_new_tokens):
        self.rows_seen.append(len(self.out.read_text().splitlines()) if self.out.exists() else 0)
        return [f"answer {len(self.rows_seen)}.{i}" for i in range(len(prompts))]


def test_each_batch_is_on_disk_before_the_next_is_generated(tmp_path):
    out = tmp_path / "p.jsonl"
    model = FileWatchingModel(out)
    items = [(f"s{i}", torch.zeros(1, 4, 4)) for i in range(5)]
    assert stream_reports(model, items, "<image>", 2, 3, out, "m") == 5
    assert model.rows_seen == [0, 2, 4]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["s0", "s1", "s2", "s3", "s4"]
    assert rows[4] == {"id": "s4", "report": "answer 3.0", "model": "m"}


# ---------------------------------------------------------------- resuming a file


def test_a_torn_last_line_is_left_out_and_cut_off(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(jsonl([row("a"), row("b")]) + '{"id": "c", "rep')
    assert [r["id"] for r in read_written(path, "m")] == ["a", "b"]
    assert path.read_text().endswith('"rep')  # reading never changes the file
    assert drop_torn_line(path) and path.read_text() == jsonl([row("a"), row("b")])
    assert not drop_torn_line(path) and not drop_torn_line(tmp_path / "absent.jsonl")
    assert read_written(tmp_path / "absent.jsonl", "m") == []


@pytest.mark.parametrize(
    "content, message",
    [
        (jsonl([row("a")]) + "not json\n" + jsonl([row("b")]), "p.jsonl:2: malformed JSON"),
        (jsonl([row("a"), row("b", model="other")]), "p.jsonl:2: a report by model 'other', not 'm'"),
        (jsonl([{"report": "no id", "model": "m"}]), "p.jsonl:1: a row without a string `id`"),
    ],
)
def test_a_file_this_run_did_not_write_is_refused_in_one_line(tmp_path, content, message):
    path = tmp_path / "p.jsonl"
    path.write_text(content)
    with pytest.raises(ReportRunError, match=message) as error:
        read_written(path, "m")
    assert "--out" in str(error.value) and "\n" not in str(error.value)


def test_merge_puts_shard_rows_in_the_scan_order_once_and_removes_the_shards(tmp_path):
    out = tmp_path / "p.jsonl"
    out.write_text(jsonl([row("d")]) + '{"torn')
    shard_path(out, 0, 2).write_text(jsonl([row("a"), row("c")]))
    shard_path(out, 1, 2).write_text(jsonl([row("b"), row("d")]) + '{"id": "e"')  # d already in out
    shard_path(out, 0, 3).write_text(jsonl([row("c")]))  # an earlier run with three processes
    (tmp_path / "p.part-x-of-2.jsonl").write_text("not a shard")
    assert shard_paths(out) == [shard_path(out, 0, 2), shard_path(out, 1, 2), shard_path(out, 0, 3)]
    assert merge_shards(out, ["a", "b", "c", "d", "e"], "m") == 3
    assert out.read_text() == jsonl([row("d"), row("a"), row("b"), row("c")])
    assert shard_paths(out) == [] and (tmp_path / "p.part-x-of-2.jsonl").exists()


# ---------------------------------------------------------------- the scan list and its ids


def test_scan_list_ids_order_and_left_out_inputs(tmp_path):
    (tmp_path / "scans").mkdir()
    first = tmp_path / "scans" / "CNV-1016042-1.png"
    first.write_bytes(b"\x89PNG first")
    (tmp_path / "scans" / "DME-11053-2.png").write_bytes(b"\x89PNG second")
    copy = tmp_path / "copy.png"
    copy.write_bytes(first.read_bytes())
    names = [tmp_path / "scans", tmp_path / "absent.png", copy]
    entries, skipped = list_scans(names, {})
    assert [(e.position, e.path.name, e.id) for e in entries] == [
        (0, "CNV-1016042-1.png", pseudonym(first)),
        (1, "DME-11053-2.png", pseudonym(tmp_path / "scans" / "DME-11053-2.png")),
    ]
    assert all(e.id.startswith("scan-") and len(e.id) == 21 and "1016042" not in e.id for e in entries)
    assert skipped == [
        (2, f"{tmp_path / 'absent.png'}: no such file or folder"),
        (3, f"{copy}: duplicate id {pseudonym(first)!r} (also {first}); name them with --references"),
    ]
    entries, skipped = list_scans(names, {"copy.png": "case-7"}, keep_source_names=True)
    assert [e.id for e in entries] == ["CNV-1016042-1", "DME-11053-2", "case-7"] and len(skipped) == 1


def test_a_pseudonym_follows_the_content_not_the_name(tmp_path):
    a, b, c = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    a.write_bytes(b"same bytes")
    b.write_bytes(b"same bytes")
    c.write_bytes(b"other bytes")
    assert pseudonym(a) == pseudonym(b) != pseudonym(c)


# ---------------------------------------------------------------- end to end on real scans


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """A folder of real scans plus a cut JPEG and a text file, a tiny checkpoint, and one process's output."""
    root = tmp_path_factory.mktemp("cohort")
    scans = root / "scans"
    scans.mkdir()
    real = [Path(shutil.copy(p, scans / p.name)) for p in kermany_scans(GOOD_SCANS)]
    (scans / "cut.jpeg").write_bytes(real[0].read_bytes()[:300])
    (scans / "notes.png").write_text("this is not an image")
    checkpoint = root / "tiny-ckpt"
    torch.manual_seed(0)
    RetinaVLM.from_config(tiny_config(encoder=EncoderConfig(image_size=64)), device="cpu").save_pretrained(checkpoint)
    single = root / "single.jsonl"
    assert main(["report", str(scans), "--checkpoint", str(checkpoint), "--out", str(single), *OPTIONS]) == 1
    assert len(single.read_text().splitlines()) == GOOD_SCANS
    return scans, checkpoint, single


def report_args(cohort, out):
    scans, checkpoint, _ = cohort
    return ["report", str(scans), "--checkpoint", str(checkpoint), "--out", str(out), *OPTIONS]


def subprocess_env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}


KILLED_AFTER_FIRST_BATCH = textwrap.dedent(
    """
    import os, signal, sys
    import retinavlm.model.report_run as report_run
    from retinavlm.cli import main

    flushed = []
    append = report_run.append_jsonl

    def append_then_die(path, rows):
        if flushed:  # the second batch: half its first line reaches the disk, then the process is killed
            with open(path, "a") as handle:
                handle.write('{"id": "' + rows[0]["id"][:5])
            os.kill(os.getpid(), signal.SIGKILL)
        append(path, rows)
        flushed.append(len(rows))

    report_run.append_jsonl = append_then_die
    main(sys.argv[1:])
    """
)


def test_a_run_killed_mid_way_resumes_with_every_scan_once(cohort, tmp_path, capsys):
    out = tmp_path / "p.jsonl"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_FIRST_BATCH, *report_args(cohort, out)],
        cwd=project_root(), env=subprocess_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert len(out.read_text().splitlines()) == 3 and not out.read_text().endswith("\n")  # 2 rows + a torn one

    assert main(report_args(cohort, out)) == 1  # the two bad files are still skipped
    captured = capsys.readouterr()
    assert out.read_bytes() == cohort[2].read_bytes()  # every good scan once, in order, the torn row rewritten
    assert f"wrote {GOOD_SCANS - 2} report(s) to {out}; resumed 2 already there; skipped 2" in captured.out
    assert "dropped an incomplete last line" in captured.err
    assert "cut.jpeg: corrupt or unreadable JPEG" in captured.err and "notes.png: is a text file" in captured.err
    assert "Traceback" not in captured.err

    assert main(report_args(cohort, out)) == 1  # nothing left to do
    assert out.read_bytes() == cohort[2].read_bytes()
    assert f"wrote 0 report(s) to {out}; resumed {GOOD_SCANS} already there" in capsys.readouterr().out


def torchrun(cohort, out):
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "retinavlm.cli"]
    return subprocess.run(
        [*command, *report_args(cohort, out)],
        cwd=project_root(), env=subprocess_env(), capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def generated_per_process(stdout):
    lines = [line for line in stdout.splitlines() if line.startswith("process ")]
    assert sorted(line.split(":")[0] for line in lines) == ["process 0 of 2", "process 1 of 2"], stdout
    return [int(line.split("generated ")[1].split()[0]) for line in lines]


@pytest.mark.slow
def test_two_processes_under_torchrun_write_the_single_process_file(cohort, tmp_path):
    out = tmp_path / "p.jsonl"
    done = torchrun(cohort, out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert out.read_bytes() == cohort[2].read_bytes()
    assert sum(generated_per_process(done.stdout)) == GOOD_SCANS
    assert done.stdout.count("wrote ") == 1 and f"wrote {GOOD_SCANS} report(s)" in done.stdout
    assert done.stderr.count("cut.jpeg") == 1 and done.stderr.count("notes.png") == 1  # listed once, by rank 0
    assert "Traceback" not in done.stderr and shard_paths(out) == []


@pytest.mark.slow
def test_two_processes_resume_a_killed_run(cohort, tmp_path):
    out = tmp_path / "p.jsonl"
    single = cohort[2].read_text().splitlines(keepends=True)
    out.write_text(single[0] + single[1][:20])  # one row and a torn one from a killed single process
    shard_path(out, 1, 2).write_text(single[3] + single[4][:10])  # a killed two-process run's shard
    done = torchrun(cohort, out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert out.read_bytes() == cohort[2].read_bytes()
    assert sum(generated_per_process(done.stdout)) == GOOD_SCANS - 2
    assert "resumed 2 already there" in done.stdout and shard_paths(out) == []


def test_the_demo_report_step_resumes_a_killed_system_and_writes_the_others(cohort, tmp_path):
    from retinavlm.demo import DemoState, Generation, ScoredSet, load_demo_config, predictions_step, systems
    from retinavlm.knowledge import load_knowledge

    checkpoint = cohort[1]
    records = [SimpleNamespace(id=f"case-{i}", image=path) for i, path in enumerate(kermany_scans(GOOD_SCANS))]
    config = load_demo_config()
    preset = dataclasses.replace(config.presets["fast"], generation=Generation(max_new_tokens=4, batch_size=2))
    state, log = DemoState(tmp_path, "fast", {}), []

    def report_step():
        scored, names = ScoredSet(tmp_path, tmp_path), systems(preset)
        predictions_step(scored, records, names, {}, checkpoint, config, preset, state, log.append, load_knowledge())

    report_step()
    predictions = tmp_path / "predictions"
    written = {path.name: path.read_text() for path in sorted(predictions.glob("*.jsonl"))}
    assert sorted(written) == ["always_healthy.jsonl", "retinavlm.jsonl", "shuffled_images.jsonl"]
    assert all(len(text.splitlines()) == GOOD_SCANS for text in written.values())

    first, second = written["retinavlm.jsonl"].splitlines(keepends=True)[:2]
    kept = json.dumps({**json.loads(first), "report": "kept from the killed run"}) + "\n"
    (predictions / "retinavlm.jsonl").write_text(kept + second[:15])  # one row, then a torn one
    (predictions / "shuffled_images.jsonl").unlink()
    state.forget("predictions:retinavlm")
    report_step()
    assert (predictions / "retinavlm.jsonl").read_text() == kept + written["retinavlm.jsonl"][len(first) :]
    assert (predictions / "shuffled_images.jsonl").read_text() == written["shuffled_images.jsonl"]

    # Regression: rows written by another writer (here another answer-check rule, as after a code change between
    # the kill and the rerun) were continued as if this run had written them.
    record = predictions / "retinavlm.run.json"
    assert json.loads(record.read_text())["checkpoint_files_sha256"]
    record.write_text(json.dumps({**json.loads(record.read_text()), "check_rule": "an older rule"}))
    (predictions / "retinavlm.jsonl").write_text(kept)
    state.forget("predictions:retinavlm")
    report_step()
    assert (predictions / "retinavlm.jsonl").read_text() == written["retinavlm.jsonl"]
    assert any("written by another checkpoint or report rule" in line for line in log)

    record.write_text("{not json")  # a torn run record: its writer is unknown, so the rows are written again
    (predictions / "retinavlm.jsonl").write_text(kept)
    state.forget("predictions:retinavlm")
    report_step()
    assert (predictions / "retinavlm.jsonl").read_text() == written["retinavlm.jsonl"]
    assert json.loads(record.read_text())["model"] == "retinavlm"


def test_a_rerun_with_another_checkpoint_or_length_limit_is_refused_but_batch_size_may_change(cohort, tmp_path, capsys):
    scans, checkpoint, single = cohort
    out = tmp_path / "p.jsonl"
    shutil.copy(single, out)
    shutil.copy(single.with_name("single.run.json"), tmp_path / "p.run.json")
    longer = ["report", str(scans), "--checkpoint", str(checkpoint), "--out", str(out), "--max-new-tokens", "7"]
    assert main(longer) == 2
    assert "written by another run (different max new tokens)" in capsys.readouterr().err
    retrained = tmp_path / "retrained"
    model = RetinaVLM.from_pretrained(checkpoint, device="cpu")
    with torch.no_grad():
        next(model.adapter.parameters()).add_(0.01)  # one more training step, as far as the files can tell
    model.save_pretrained(retrained)
    assert main(["report", str(scans), "--checkpoint", str(retrained), "--out", str(out), *OPTIONS,
                 "--model-name", checkpoint.name]) == 2  # fmt: skip
    assert "different checkpoint files" in capsys.readouterr().err
    assert out.read_bytes() == single.read_bytes()  # nothing written by a refused run
    other_batches = ["report", str(scans), "--checkpoint", str(checkpoint), "--out", str(out),
                     "--max-new-tokens", "6", "--batch-size", "3"]  # fmt: skip
    assert main(other_batches) == 1  # the bad files are still listed
    assert f"resumed {GOOD_SCANS} already there" in capsys.readouterr().out


def test_checked_reports_are_recorded_independent_of_the_batch_and_never_mixed_with_greedy_ones(
    cohort, tmp_path, capsys
):
    scans, checkpoint, single = cohort
    checked = tmp_path / "checked.jsonl"
    assert main([*report_args(cohort, checked), "--check-answers", "2"]) == 1  # the two bad files are listed
    rows = [json.loads(line) for line in checked.read_text().splitlines()]
    assert [r["id"] for r in rows] == [json.loads(line)["id"] for line in single.read_text().splitlines()]
    recorded = json.loads((tmp_path / "checked.run.json").read_text())
    assert recorded["check_answers"] == 2 and recorded["check_rule"] == CHECK_RULE
    assert "check_answers" not in json.loads(single.with_name("single.run.json").read_text())
    other_batches = tmp_path / "other.jsonl"
    assert main([*report_args(cohort, other_batches), "--check-answers", "2", "--batch-size", "3"]) == 1
    assert other_batches.read_bytes() == checked.read_bytes()
    capsys.readouterr()
    assert main(report_args(cohort, checked)) == 2  # greedy reports are not appended to checked ones
    assert "different check answers" in capsys.readouterr().err
    record = tmp_path / "checked.run.json"
    earlier_rule = {k: v for k, v in json.loads(record.read_text()).items() if k != "check_rule"}
    record.write_text(json.dumps(earlier_rule))  # checked before the rule was recorded
    assert main([*report_args(cohort, checked), "--check-answers", "2"]) == 2
    assert "different check rule" in capsys.readouterr().err
    assert main([*report_args(cohort, tmp_path / "bad.jsonl"), "--check-answers", "-1"]) == 2
    assert "--check-answers must be 0 (greedy) or a number of candidate reports, got -1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("record", "message"),
    [("{not json", "unreadable run record"), ('["a", "list"]', "a run record is a JSON object, got list")],
)
def test_a_broken_run_record_is_refused_in_one_line(cohort, tmp_path, capsys, record, message):
    out = tmp_path / "p.jsonl"
    (tmp_path / "p.run.json").write_text(record)
    assert main(report_args(cohort, out)) == 2
    err = capsys.readouterr().err
    assert message in err and "p.run.json" in err and "Traceback" not in err
    assert not out.exists()


def test_a_scan_too_dark_to_read_is_listed_as_low_quality(tmp_path):
    from PIL import Image

    source = kermany_scans(1)[0]
    dark = tmp_path / "dark.png"
    Image.fromarray((np.asarray(Image.open(source).convert("L"), np.float32) * 0.02).astype(np.uint8)).save(dark)
    entries, _ = list_scans([dark], {})
    refused = []
    assert list(readable_images(entries, model=None, refused=refused)) == []
    assert refused == [(0, refused[0][1])] and "refused by the quality gate as low quality (" in refused[0][1]
