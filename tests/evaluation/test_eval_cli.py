"""End to end through the CLI and the library: `retinavlm evaluate` (retinavlm.evaluation.evaluate_systems)
and `retinavlm label-reports`, the files they write, input problems counted and reported, missing reports
graded as misses, unknown reference labels left unscored, determinism; and the offline `evaluate` metric."""

import json

import pytest

from retinavlm.cli import main
from retinavlm.resources import eval_dir

REFERENCES = [
    {
        "id": "a1",
        "patient_id": "p1",
        "stage": "intermediate",
        "referral": "routine",
        "biomarkers": {"drusen": "present", "srf": "absent"},
    },
    {
        "id": "a2",
        "patient_id": "p1",
        "stage": "late_wet_active",
        "referral": "urgent",
        "biomarkers": {"srf": "present", "irf": "present"},
    },
    {"id": "b1", "patient_id": "p2", "stage": "healthy", "referral": "none", "biomarkers": {}},
    {
        "id": "c1",
        "stage": "late_dry",
        "referral": "routine",
        "biomarkers": {"rpe_atrophy": "present", "hypertransmission": "present"},
    },
]
GOOD = {
    "a1": "Large drusen. No subretinal fluid. Intermediate AMD. Routine referral.",
    "a2": "Subretinal and intraretinal fluid. Active neovascular AMD; refer urgently.",
    "b1": "Normal OCT, no drusen, no fluid. No referral needed.",
    "c1": "Geographic atrophy with hypertransmission. Late dry AMD. Routine referral.",
}
WEAK = {rid: "Large drusen. No fluid. Intermediate AMD. Routine referral." for rid in GOOD}


def write_jsonl(path, rows, extra_lines=()):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "".join(line + "\n" for line in extra_lines))
    return str(path)


@pytest.fixture
def inputs(tmp_path):
    refs = write_jsonl(tmp_path / "refs.jsonl", REFERENCES)
    good = write_jsonl(tmp_path / "good.jsonl", [{"id": k, "report": v, "model": "good"} for k, v in GOOD.items()])
    weak = write_jsonl(tmp_path / "weak.jsonl", [{"id": k, "report": v, "model": "weak"} for k, v in WEAK.items()])
    return tmp_path, refs, good, weak


def evaluate(out, refs, *preds, extra=()):
    return main(
        ["evaluate", "--predictions", *preds, "--references", refs, "--out", str(out), "--bootstrap", "200", *extra]
    )


def test_evaluate_writes_results_and_compares_systems(inputs, capsys):
    tmp, refs, good, weak = inputs
    assert evaluate(tmp / "out", refs, good, weak) == 0
    printed = capsys.readouterr().out
    assert "good" in printed and "weak" in printed and "rubric score" in printed
    results = json.loads((tmp / "out" / "results.json").read_text())
    good_stats = results["summary"]["systems"]["good"]
    assert good_stats["stage"]["f1_micro_positive"]["value"] == 1.0
    assert good_stats["referral"]["accuracy"]["value"] == 1.0
    assert good_stats["patients"] == 3
    assert (
        results["summary"]["systems"]["good"]["score"]["value"]
        > results["summary"]["systems"]["weak"]["score"]["value"]
    )
    comparison = results["comparisons"][0]
    assert (comparison["a"], comparison["b"], comparison["n"]) == ("good", "weak", 4)
    assert set(comparison["mcnemar"]) == {"stage", "referral"}
    assert comparison["mcnemar"]["stage"]["patients"] == 3
    assert {"stage_f1_micro_positive", "stage_f1_macro", "referral_f1_macro"} <= set(comparison["paired_bootstrap"])
    assert comparison["paired_bootstrap"]["stage_f1_macro"]["difference"]["value"] > 0
    assert results["metadata"]["knowledge_base"].startswith("amd-oct@")
    assert len(results["metadata"]["rubric"]["sha256"]) == 64
    samples = [json.loads(line) for line in (tmp / "out" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 8
    first = samples[0]
    assert first["id"] == "a1" and first["extracted"] == {
        "stage": "intermediate",
        "referral": "routine",
        "biomarkers": {"drusen": "present", "srf": "absent"},
    }
    assert first["evidence"]["stage"]["span"]["text"] == "Intermediate AMD"
    assert all(s["explanation"] for s in first["scores"].values())
    assert (tmp / "out" / "results.csv").read_text().startswith("system,metric,value,ci95_low,ci95_high")
    assert "| good | 4 |" in (tmp / "out" / "summary.md").read_text()


def test_results_are_byte_identical_apart_from_the_run_block(inputs):
    tmp, refs, good, weak = inputs
    evaluate(tmp / "r1", refs, good, weak)
    evaluate(tmp / "r2", refs, good, weak)
    docs = []
    for name in ("r1", "r2"):
        doc = json.loads((tmp / name / "results.json").read_text())
        assert "created" in doc.pop("run")
        docs.append(json.dumps(doc))
    assert docs[0] == docs[1]
    assert (tmp / "r1" / "samples.jsonl").read_bytes() == (tmp / "r2" / "samples.jsonl").read_bytes()


def test_input_problems_are_counted_and_reported(tmp_path, capsys):
    refs = write_jsonl(
        tmp_path / "refs.jsonl", REFERENCES + [REFERENCES[0], {"id": "bad", "stage": "stage9", "referral": "none"}]
    )
    rows = [
        {"id": "a1", "report": GOOD["a1"]},
        {"id": "a1", "report": "dup"},
        {"id": "zz", "report": "x"},
        {"id": "b1", "report": 5},
        {"id": "c1", "report": GOOD["c1"]},
    ]
    preds = write_jsonl(tmp_path / "p.jsonl", rows, extra_lines=["{not json", "[1, 2]"])
    assert evaluate(tmp_path / "out", refs, preds) == 1
    printed = capsys.readouterr()
    err = printed.err
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    counts = results["inputs"]["predictions"][0]
    assert (counts["graded"], counts["missing"], counts["unmatched"], counts["duplicates"]) == (2, 2, 1, 1)
    # the references without a report are graded as misses, not dropped, and the summaries say so
    stats = results["summary"]["systems"]["p"]
    assert (stats["n"], stats["missing_reports"], stats["stage"]["n"]) == (4, 2, 4)
    assert stats["criteria"]["stage"]["n_applicable"] == 4
    samples = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert [s["id"] for s in samples if s.get("missing")] == ["a2", "b1"]
    assert all(s["scores"]["stage"]["score"] == 0.0 for s in samples if s.get("missing"))
    assert "graded as misses" in (tmp_path / "out" / "summary.md").read_text() and "p 2 of 4" in printed.out
    problems = "\n".join(results["inputs"]["problems"])
    assert "p.jsonl:6: malformed JSON" in problems and "p.jsonl:7: expected a JSON object" in problems
    assert "refs.jsonl:5: duplicate id a1" in problems and "stage 'stage9'" in problems
    assert "no prediction for reference id a2" in problems and "id zz has no reference" in problems
    assert "'report' must be a string" in problems
    assert "input problem(s)" in err


@pytest.mark.parametrize(
    "references, rubric, message",
    [
        ("/nonexistent/refs.jsonl", None, "no such file"),
        (None, "/nonexistent/rubric.yaml", "rubric file not found"),
    ],
)
def test_fatal_input_errors_exit_2_with_one_line(inputs, capsys, references, rubric, message):
    tmp, refs, good, _ = inputs
    argv = ["evaluate", "--predictions", good, "--references", references or refs, "--out", str(tmp / "o")]
    if rubric:
        argv += ["--rubric", rubric]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]
    assert not (tmp / "o").exists()


def test_unknown_reference_labels_are_not_scored(tmp_path):
    """Kermany-like references (a diagnosis, nothing else): the always-healthy template's negations of
    unlabelled findings earn nothing; an unknown stage is left out of the stage F1."""
    refs = write_jsonl(
        tmp_path / "refs.jsonl",
        [
            {"id": "1", "patient_id": "p1", "stage": "late_wet_active", "condition": "amd"},
            {"id": "2", "patient_id": "p2", "referral": "urgent", "condition": "dme"},
            {"id": "3", "patient_id": "p3", "stage": "healthy", "referral": "none", "biomarkers": {"srf": "absent"}},
        ],
    )
    template = "No drusen, no subretinal or intraretinal fluid and no atrophy. Healthy macula. No referral needed."
    healthy = write_jsonl(tmp_path / "h.jsonl", [{"id": i, "report": template, "model": "healthy"} for i in "123"])
    assert evaluate(tmp_path / "out", refs, healthy) == 0
    stats = json.loads((tmp_path / "out" / "results.json").read_text())["summary"]["systems"]["healthy"]
    assert (stats["stage"]["n"], stats["referral"]["n"]) == (2, 2)
    assert stats["biomarkers"]["srf"]["n"] == 1 and stats["biomarkers"]["drusen"]["n"] == 0
    assert stats["biomarkers"]["drusen"]["specificity"]["value"] is None
    assert stats["criteria"]["accuracy"]["n_applicable"] == 1 and stats["criteria"]["stage"]["n_applicable"] == 2
    samples = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert samples[1]["reference"] == {"stage": None, "referral": "urgent", "biomarkers": {}, "condition": "dme"}
    assert samples[1]["scores"]["stage"]["score"] is None


def test_library_call_writes_what_the_cli_writes(inputs, capsys):
    from retinavlm.evaluation import evaluate_systems

    tmp, refs, good, weak = inputs
    assert evaluate(tmp / "cli", refs, good, weak) == 0
    result = evaluate_systems([good, weak], refs, tmp / "lib", bootstrap=200)
    assert result.exit_code == 0 and not result.problems and capsys.readouterr().out.count("rubric score") == 1
    for name in ("samples.jsonl", "results.csv", "summary.md"):
        assert (tmp / "cli" / name).read_bytes() == (tmp / "lib" / name).read_bytes()
    written = json.loads((tmp / "lib" / "results.json").read_text())
    assert written == {**result.results, "run": result.run}
    in_memory = evaluate_systems([good], refs, None, bootstrap=0)
    assert in_memory.out is None and in_memory.results["summary"]["systems"]["good"]["n"] == 4


def test_label_reports_turns_reports_into_references(tmp_path, capsys):
    reports = write_jsonl(
        tmp_path / "r.jsonl",
        [
            {
                "id": "1",
                "patient_id": "p",
                "report": "Subretinal fluid and a fibrovascular PED. Active nAMD, urgent referral.",
            },
            {"id": "2", "report": "Large drusen, possible double-layer sign, no fluid."},
        ],
        extra_lines=["{oops"],
    )
    out = tmp_path / "labels.jsonl"
    assert main(["label-reports", "--reports", reports, "--out", str(out)]) == 1  # the malformed line
    assert "r.jsonl:3: malformed JSON" in capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["stage"] == "late_wet_active" and rows[0]["referral"] == "urgent" and rows[0]["patient_id"] == "p"
    assert rows[0]["biomarkers"]["srf"] == "present" and rows[0]["biomarkers"]["ped"] == "present"
    assert rows[0]["biomarkers"]["irf"] == "absent"
    # nothing stated: stage and referral come from the findings, and the notes say so
    assert rows[1]["stage"] == "intermediate" and rows[1]["referral"] == "routine"
    assert rows[1]["biomarkers"]["double_layer_sign"] == "absent"
    assert any("hedged" in note for note in rows[1]["label_notes"])
    # the labels grade: a labelled file is a valid references file
    preds = write_jsonl(
        tmp_path / "p.jsonl",
        [{"id": "1", "report": "Active wet AMD with SRF. Urgent."}, {"id": "2", "report": "Normal."}],
    )
    assert (
        main(
            [
                "evaluate",
                "--predictions",
                preds,
                "--references",
                str(out),
                "--out",
                str(tmp_path / "e"),
                "--bootstrap",
                "0",
            ]
        )
        == 0
    )


def test_metric_module_loads_offline(monkeypatch, tmp_path):
    evaluate_lib = pytest.importorskip("evaluate")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    metric = evaluate_lib.load(str(eval_dir() / "metric" / "retinavlm_report"))
    reference = json.dumps(REFERENCES[0])
    out = metric.compute(
        predictions=[GOOD["a1"], WEAK["a2"]],
        references=[reference, "Active wet AMD with subretinal fluid; urgent referral."],
    )
    assert out["stage_f1_micro"] == 0.5
    assert 0.0 < out["score"] < 1.0
    assert set(out) >= {"criterion/stage", "criterion/referral", "referral_f1_macro"}
