"""Altair charts for the cohort page. Streamlit bundles Vega-Lite, so they render with no network."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd


def confusion_chart(counts: pd.DataFrame, labels: Sequence[str], title: str) -> alt.Chart:
    """Heat-map of reference (rows) against what the report states (columns), counts written in."""
    columns = [*labels, "not stated"]
    base = alt.Chart(counts, title=title).encode(
        x=alt.X("stated:N", sort=columns, title="stated in report", axis=alt.Axis(labelAngle=-40, labelOverlap=False)),
        y=alt.Y("reference:N", sort=list(labels), title="reference"),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color("count:Q", scale=alt.Scale(scheme="blues"), legend=None),
        tooltip=["reference", "stated", "count"],
    )
    text = base.mark_text(fontSize=13).encode(
        text=alt.condition(alt.datum.count > 0, "count:Q", alt.value("")),
        color=alt.condition(alt.datum.count > counts["count"].max() / 2, alt.value("white"), alt.value("#333")),
    )
    return (cells + text).properties(width=alt.Step(46), height=alt.Step(30))


def score_distribution_chart(scores: pd.DataFrame) -> alt.Chart:
    """Per-criterion score distribution, one box per system."""
    return (
        alt.Chart(scores)
        .mark_boxplot(extent="min-max", size=18)
        .encode(
            x=alt.X("score:Q", title="score"),
            y=alt.Y("system:N", title=None),
            color=alt.Color("system:N", legend=None),
            row=alt.Row("criterion:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
            tooltip=["system", "criterion", "score"],
        )
        .properties(height=24 * max(1, scores["system"].nunique()), width=420)
    )


def biomarker_accuracy_chart(accuracy: pd.DataFrame) -> alt.Chart:
    """Sensitivity and specificity per biomarker with 95% intervals, systems side by side."""
    data = accuracy.dropna(subset=["value"])
    base = alt.Chart().encode(
        y=alt.Y("biomarker:N", title=None),
        yOffset=alt.YOffset("system:N"),
        color=alt.Color("system:N", legend=alt.Legend(orient="bottom")),
    )
    bars = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("low:Q", scale=alt.Scale(domain=[0, 1]), title=None), x2="high:Q"
    )
    points = base.mark_point(filled=True, size=60).encode(
        x="value:Q",
        tooltip=[
            "system",
            "biomarker",
            "measure",
            alt.Tooltip("value:Q", format=".2f"),
            alt.Tooltip("low:Q", format=".2f"),
            alt.Tooltip("high:Q", format=".2f"),
            "support",
        ],
    )
    return (
        alt.layer(bars, points, data=data)
        .properties(width=300, height=alt.Step(10))
        .facet(column=alt.Column("measure:N", title=None))
    )
