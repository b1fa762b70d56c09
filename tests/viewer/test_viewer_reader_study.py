import csv
import io
import sqlite3

import pytest
from conftest import APP
from streamlit.testing.v1 import AppTest

from retinavlm.resources import project_root
from retinavlm.viewer.run import load_run
from retinavlm.viewer.study import StudyError, load_study, report_order
from retinavlm.viewer.study_store import Rating, StudyStore
from retinavlm.viewer.study_summary import agreement, per_system

EXAMPLE = project_root() / "ui" / "studies" / "example_study.yaml"


@pytest.fixture
def study():
    return load_study(EXAMPLE)


def test_example_study_loads(study):
    assert [q.id for q in study.questions] == ["correctness", "completeness", "conciseness"]
    assert all(q.scores == (1, 2, 3, 4, 5) for q in study.questions)


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: x\nraters: []\nquestions: []\n", "raters"),
        ("name: ../x\nraters: [a]\nquestions: []\n", "plain name"),
        ("name: x\nraters: [a]\nquestions: [{id: q, text: T, scale: [one]}]\n", "at least two labels"),
        ("name: x\nraters: [a]\nquestions: [{id: q, text: T, scale: [a, b]}]\nextra: 1\n", "unknown key"),
        ("name: x\nraters: [a, a]\nquestions: [{id: q, text: T, scale: [a, b]}]\n", "distinct"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_study_files_are_refused_in_one_line(tmp_path, text, message):
    path = tmp_path / "study.yaml"
    path.write_text(text)
    with pytest.raises(StudyError, match=message) as info:
        load_study(path)
    assert str(path) in str(info.value)


def test_order_is_blinded_per_rater_and_case_but_stable(study):
    systems = ["a", "b", "c", "d"]
    orders = {tuple(report_order(study, r, c, systems)) for r in study.raters for c in ("x", "y", "z", "w")}
    assert all(sorted(o) == systems for o in orders)
    assert len(orders) > 1
    assert report_order(study, "rater_1", "x", systems) == report_order(study, "rater_1", "x", list(reversed(systems)))


def test_store_saves_replaces_exports_and_summarises(tmp_path, study):
    store = StudyStore(tmp_path / "study.sqlite", study)
    scores = {"correctness": 5, "completeness": 4, "conciseness": 3}
    store.save(
        "rater_1", "c1", [Rating("sys_a", 0, scores, "=HYPERLINK(evil)"), Rating("sys_b", 1, {k: 1 for k in scores})]
    )
    store.save("rater_2", "c1", [Rating("sys_a", 1, scores), Rating("sys_b", 0, {k: 2 for k in scores})])
    store.save("rater_1", "c1", [Rating("sys_a", 0, {**scores, "correctness": 4}, "revised")])  # re-rating replaces
    assert store.rated_cases("rater_1") == {"c1"} and store.rated_cases("rater_3") == set()

    with sqlite3.connect(tmp_path / "study.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 4
        assert db.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 12
    table = store.table()
    row = table[(table.rater == "rater_1") & (table.system == "sys_a")].iloc[0]
    assert (row.correctness, row.comment) == (4, "revised")

    exported = list(csv.DictReader(io.StringIO(store.csv_text())))
    assert len(exported) == len(table) == 4
    for got, want in zip(exported, table.to_dict("records"), strict=True):
        assert {k: got[k] for k in ("rater", "case_id", "system", "correctness")} == {
            "rater": want["rater"],
            "case_id": want["case_id"],
            "system": want["system"],
            "correctness": str(want["correctness"]),
        }
    store.export_csv(tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == store.csv_text()

    summary = per_system(table, study).set_index(["system", "question"])
    assert summary.loc[("sys_a", "correctness"), "mean"] == 4.5
    assert summary.loc[("sys_b", "completeness"), "ratings"] == 2


def test_store_refuses_unknown_raters_and_out_of_scale_scores(tmp_path, study):
    store = StudyStore(tmp_path / "s.sqlite", study)
    scores = {"correctness": 5, "completeness": 4, "conciseness": 3}
    with pytest.raises(ValueError, match="unknown rater"):
        store.save("mallory", "c1", [Rating("a", 0, scores)])
    with pytest.raises(ValueError, match="not one of"):
        store.save("rater_1", "c1", [Rating("a", 0, {**scores, "conciseness": 6})])
    with pytest.raises(ValueError, match="a score for each"):
        store.save("rater_1", "c1", [Rating("a", 0, {"correctness": 5})])
    assert store.table().empty


def test_weighted_kappa_matches_hand_computation(tmp_path, study):
    store = StudyStore(tmp_path / "k.sqlite", study)
    # rater_1 and rater_2 agree exactly; rater_3 is always one point lower (ties broken at 1)
    pairs = [("c1", 5), ("c2", 4), ("c3", 2), ("c4", 1)]
    for case, score in pairs:
        for rater, value in (("rater_1", score), ("rater_2", score), ("rater_3", max(1, score - 1))):
            store.save(rater, case, [Rating("s", 0, {q.id: value for q in study.questions})])
    kappas = agreement(store.table(), study)
    by_pair = kappas[kappas.question == "correctness"].set_index(["rater_a", "rater_b"])["kappa"]
    assert by_pair[("rater_1", "rater_2")] == pytest.approx(1.0)
    # quadratic kappa for x=[5,4,2,1], y=[4,3,1,1] on labels 1..5, worked by hand: 1 - sum(w*O)/sum(w*E)
    assert by_pair[("rater_1", "rater_3")] == pytest.approx(16 / 19)


def test_reader_study_flow_in_the_app(own_run, view_args):
    view_args(own_run)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["rater"] = "rater_2"
    at.run()
    at.switch_page("page_study.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Report A" in "".join(m.value for m in at.markdown) and "Report B" in "".join(m.value for m in at.markdown)
    shown = "".join(m.value for m in at.markdown) + "".join(m.value for m in at.caption)
    assert "always_healthy" not in shown and "reference_reports" not in shown  # blinded
    case_id = at.selectbox[0].value

    submit = next(b for b in at.button if b.label == "Submit ratings")
    submit.click().run()
    assert any("Please answer every question" in e.value for e in at.error)

    for radio in at.radio:
        radio.set_value(4 if radio.key.endswith("correctness") else 3)
    for area in at.text_area:
        area.input("clear and short")
    next(b for b in at.button if b.label == "Submit ratings").click().run()
    assert not at.exception

    study = load_study(EXAMPLE)
    store = StudyStore(own_run / "reader_study" / f"{study.name}.sqlite", study)
    table = store.table()
    assert len(table) == 2 and set(table.rater) == {"rater_2"} and set(table.case_id) == {case_id}
    assert (
        set(table.correctness) == {4} and set(table.completeness) == {3} and set(table.comment) == {"clear and short"}
    )
    run = load_run(own_run)
    assert set(table.system) == {s for s in run.systems if run.report(s, case_id)}
    assert "1 of" in at.get("progress")[0].proto.text  # resumable: the page counts what is stored

    at.switch_page("page_study_results.py").run()
    assert not at.exception
    assert len(at.get("download_button")) == 1
    shown_ratings = at.dataframe[2].value
    assert shown_ratings[["rater", "case_id", "system", "correctness"]].equals(
        table[["rater", "case_id", "system", "correctness"]]
    )
    exported = list(csv.DictReader(io.StringIO(store.csv_text())))
    assert [(r["system"], r["correctness"], r["comment"]) for r in exported] == [
        (s, "4", "clear and short") for s in table.system
    ]
