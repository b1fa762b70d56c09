import json
import shutil

import pytest
from viewer_testing import SYSTEMS, reference_ids

from retinavlm.viewer.run import RunError, load_run


def test_demo_run_loads_completely(demo_run):
    run = load_run(demo_run)
    ids = reference_ids(demo_run)
    assert run.name == "viewer-test-run"
    assert run.case_ids == ids
    assert run.systems == list(SYSTEMS)
    assert all(case.image is not None and not case.problems for case in run.cases.values())
    assert {s: len(rows) for s, rows in run.predictions.items()} == {s: len(ids) for s in SYSTEMS}
    assert run.report("reference_reports", ids[0]) == run.cases[ids[0]].reference["report"]


def test_broken_entries_become_messages(own_run, tmp_path):
    refs = [json.loads(line) for line in (own_run / "references.jsonl").read_text().splitlines()]
    refs[0]["image"] = "../../outside.png"
    refs[1]["image"] = "images/missing.png"
    refs[2]["image"] = 7
    del refs[3]["id"]
    lines = [json.dumps(r) for r in refs] + ["{broken", json.dumps(refs[4])]  # a duplicate id too
    (own_run / "references.jsonl").write_text("\n".join(lines) + "\n")
    meta = json.loads((own_run / "run.json").read_text())
    meta["systems"] = ["reference_reports", "../../etc/passwd", "never_ran"]
    (own_run / "run.json").write_text(json.dumps(meta))

    run = load_run(own_run)
    problems = "\n".join(run.problems)
    assert "references.jsonl:" in problems and "malformed JSON" in problems
    assert "has no string `id`" in problems
    assert f"duplicate id {refs[4]['id']!r}" in problems
    assert "'../../etc/passwd' is not a plain name" in problems
    assert "system never_ran: predictions/never_ran.jsonl: no such file" in problems
    assert run.systems == ["reference_reports", "never_ran"]
    assert "outside the run folder" in run.cases[refs[0]["id"]].problems[0]
    assert "no such file" in run.cases[refs[1]["id"]].problems[0]
    assert "must be a path string" in run.cases[refs[2]["id"]].problems[0]
    assert run.cases[refs[4]["id"]].image is not None


def test_a_run_without_evaluation_or_run_json_still_opens(own_run):
    (own_run / "run.json").unlink()
    shutil.rmtree(own_run / "evaluation")
    run = load_run(own_run)
    assert run.results is None and all(not samples for samples in run.samples.values())
    assert run.name == "run"
    assert sorted(run.systems) == sorted(SYSTEMS)  # found from predictions/
    assert any("run.json: missing" in p for p in run.problems)
    assert any(p.startswith("evaluation:") for p in run.problems)


def test_a_missing_folder_or_a_bad_run_json_is_a_run_error(tmp_path):
    with pytest.raises(RunError, match="run folder not found"):
        load_run(tmp_path / "nowhere")
    (tmp_path / "run.json").write_text("[1, 2]")
    with pytest.raises(RunError, match="expected a JSON object"):
        load_run(tmp_path)


def test_checkpoint_paths_are_kept_inside_the_run(own_run):
    meta = json.loads((own_run / "run.json").read_text())
    meta["checkpoint"] = "../../../somewhere"
    (own_run / "run.json").write_text(json.dumps(meta))
    run = load_run(own_run)
    assert run.checkpoint is None
    assert any(p.startswith("checkpoint ") and "outside the run folder" in p for p in run.problems)
