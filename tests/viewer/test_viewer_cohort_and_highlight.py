import html
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retinavlm.evaluation.extract import FindingsExtractor
from retinavlm.evaluation.text import clean_text
from retinavlm.knowledge import load_knowledge
from retinavlm.viewer import evaluation_results
from retinavlm.viewer.cohort import CaseFilter, case_table, criterion_scores, extract_reports
from retinavlm.viewer.highlight import marked_mentions, report_html
from retinavlm.viewer.run import load_run
from retinavlm.viewer.scan_view import adjust, blend_heatmap, zoom
from retinavlm.viewer.upload import UploadError, read_upload

KB = load_knowledge()
EXTRACTOR = FindingsExtractor(KB)


@pytest.fixture(scope="module")
def loaded(demo_run):
    run = load_run(demo_run)
    return run, extract_reports(run, EXTRACTOR)


def test_case_table_and_filters(loaded):
    run, extractions = loaded
    table = case_table(run, extractions)
    assert len(table) == len(run.cases) * len(run.systems)
    wrong = CaseFilter(disagreement_only=True).apply(table)
    assert set(wrong["system"]) == {"always_healthy"}
    assert (wrong["reference stage"] != "healthy").all()
    late = CaseFilter(stages=("late_dry",)).apply(table)
    assert set(late["reference stage"]) <= {"late_dry"}


def test_plots_read_the_graders_figures(loaded):
    run, _ = loaded
    ids = list(run.cases)
    counts = evaluation_results.confusion(run.results, "always_healthy", "stage")
    assert counts["count"].sum() == len(ids)
    assert counts[counts["stated"] != "healthy"]["count"].sum() == 0
    truth = pd.Series([run.cases[i].reference["stage"] for i in ids]).value_counts()
    assert counts.groupby("reference")["count"].sum()[truth.index].tolist() == truth.tolist()

    names = {bid: m.name for bid, m in KB.biomarkers.items()}
    accuracy = (
        evaluation_results.biomarkers(run.results, run.systems, names).set_index(["system", "measure"]).sort_index()
    )
    assert (accuracy.loc[("always_healthy", "sensitivity"), "value"] == 0).all()
    assert (accuracy.loc[("reference_reports", "sensitivity"), "value"] == 1).all()
    assert ((accuracy["low"] <= accuracy["value"]) & (accuracy["value"] <= accuracy["high"])).all()
    table = evaluation_results.headline(run.results, run.systems).set_index("system")
    assert table.loc["reference_reports", "stage accuracy"].startswith("1.00")
    assert evaluation_results.headline(None, run.systems).empty


def test_scores_come_from_the_evaluation_samples(loaded):
    run, extractions = loaded
    table = case_table(run, extractions)
    assert table["score"].notna().all()
    own = table[table.system == "reference_reports"]["score"].mean()
    assert own > table[table.system == "always_healthy"]["score"].max()
    scores = criterion_scores(run)
    assert set(scores["case"]) == set(run.cases) and scores["score"].between(0, 1).all()


def test_highlighting_marks_states_and_escapes_html():
    report = "No <b>SRF</b>. Large drusen present. Possible geographic atrophy?\nPlan: routine referral."
    extraction = EXTRACTOR.extract(report)
    page = report_html(report, marked_mentions(extraction, KB, "t"))
    assert "<b>" not in page and "&lt;b&gt;" in page
    states = re.findall(r'class="finding finding-(\w+)"', page)
    assert {"present", "absent"} <= set(states)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(list("abc <>&\"'\n.;:") + ["no ", "SRF", "drusen", "GA", "urgent", "\x00", "é", "e\u0301"]),
        max_size=40,
    ).map("".join)
)
def test_highlighted_report_always_reads_as_the_report(text):
    page = report_html(text, marked_mentions(EXTRACTOR.extract(text), KB, "p"))
    visible = html.unescape(re.sub(r"<[^>]+>", "", page.replace("<br>", "\n")))
    assert visible == clean_text(text)


def test_scan_adjust_zoom_and_blend():
    pixels = np.linspace(0, 1, 100 * 80, dtype=np.float32).reshape(100, 80)
    assert adjust(pixels, 0.25, 0.75).min() == 0.0 and adjust(pixels, 0.25, 0.75).max() == 1.0
    assert zoom(pixels, 2.0).shape == (50, 40)
    assert zoom(pixels, 2.0, (0.0, 1.0))[0, -1] == pixels[0, -1]
    heat = np.zeros((6, 6), np.float32)
    heat[0, 0] = 1.0
    rgb = blend_heatmap(pixels, heat)
    assert rgb.shape == (100, 80, 3) and rgb.dtype == np.uint8
    assert np.all(rgb[-1, -1] == rgb[-1, -1, 0])  # cold corner stays grey
    with pytest.raises(ValueError):
        adjust(pixels, 0.6, 0.4)


def test_uploads_are_capped_and_validated(demo_run):
    good = next((demo_run / "images").glob("*.png")).read_bytes()
    assert read_upload("x/../scan.png", good, 10_000_000).source == "scan.png"
    with pytest.raises(UploadError, match="above the upload limit"):
        read_upload("scan.png", good, 100)
    with pytest.raises(UploadError, match=r"\.exe files are not accepted"):
        read_upload("scan.exe", good, 10_000_000)
    with pytest.raises(UploadError, match="empty"):
        read_upload("scan.png", b"", 10_000_000)
    with pytest.raises(UploadError, match="^scan.tif: "):
        read_upload("scan.tif", b"not an image at all", 10_000_000)
