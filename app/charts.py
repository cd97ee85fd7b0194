"""Altair charts of the app: quality against speed, a model's verdict history, a similarity heatmap, class
probabilities."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

VERDICT_COLOURS = alt.Scale(domain=["reproduced", "not_reproduced", "inconclusive"],
                            range=["#2e7d32", "#c62828", "#9e9e9e"])


def quality_vs_speed(points: pd.DataFrame, quality: str, speed: str) -> alt.Chart:
    """One point per model: x = its measured speed benchmark (log scale), y = its measured quality benchmark.

    points has the columns model, seconds (the speed value), value (the quality value), verdict.
    """
    return (alt.Chart(points, title=f"{quality} against {speed}")
            .mark_circle(size=120)
            .encode(x=alt.X("seconds:Q", scale=alt.Scale(type="log"), title=speed),
                    y=alt.Y("value:Q", title=quality, scale=alt.Scale(zero=False)),
                    color=alt.Color("verdict:N", scale=VERDICT_COLOURS),
                    tooltip=["model", "seconds", "value", "verdict"])
            .properties(height=320))


def verdict_history(rows: pd.DataFrame) -> alt.Chart:
    """Measured value of each benchmark over time, coloured by verdict, with the claim as a dashed rule.

    rows has the columns at, benchmark, measured, claimed, verdict, version.
    """
    base = alt.Chart(rows).encode(x=alt.X("at:T", title="run at"))
    measured = base.mark_line(point=alt.OverlayMarkDef(size=80, filled=True), color="#607d8b").encode(
        y=alt.Y("measured:Q", title="measured", scale=alt.Scale(zero=False)))
    verdicts = base.mark_point(size=120, filled=True).encode(
        y="measured:Q", color=alt.Color("verdict:N", scale=VERDICT_COLOURS),
        tooltip=["benchmark", "version", "measured", "claimed", "verdict", "at"])
    claimed = base.mark_rule(strokeDash=[4, 4], color="#000000").encode(y="claimed:Q")
    return (alt.layer(measured, verdicts, claimed)
            .facet(row=alt.Row("benchmark:N", title=None))
            .resolve_scale(y="independent")
            .properties(title="verdict history"))


def similarity_heatmap(sentences: list[str], similarity: np.ndarray) -> alt.Chart:
    """Cosine similarity of every pair of sentences, labelled with the value."""
    labels = [f"{i + 1}. {s[:40]}" for i, s in enumerate(sentences)]
    frame = pd.DataFrame([{"a": labels[i], "b": labels[j], "cosine": float(similarity[i, j])}
                          for i in range(len(labels)) for j in range(len(labels))])
    base = alt.Chart(frame).encode(x=alt.X("b:N", sort=labels, title=None), y=alt.Y("a:N", sort=labels, title=None))
    cells = base.mark_rect().encode(color=alt.Color("cosine:Q", scale=alt.Scale(domain=[-1, 1], scheme="redblue",
                                                                               reverse=True)),
                                    tooltip=["a", "b", alt.Tooltip("cosine:Q", format=".3f")])
    text = base.mark_text(baseline="middle").encode(text=alt.Text("cosine:Q", format=".2f"))
    return (cells + text).properties(width=alt.Step(70), height=alt.Step(40), title="cosine similarity")


def class_probabilities(probabilities: np.ndarray, predicted: int) -> alt.Chart:
    """One bar per class (0..n-1) with its probability; the predicted class is highlighted."""
    frame = pd.DataFrame({"class": [str(c) for c in range(len(probabilities))],
                          "probability": [float(p) for p in probabilities],
                          "predicted": [c == predicted for c in range(len(probabilities))]})
    return (alt.Chart(frame, title="class probabilities")
            .mark_bar()
            .encode(x=alt.X("class:N", sort=None, title="digit", axis=alt.Axis(labelAngle=0)),
                    y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1])),
                    color=alt.condition("datum.predicted", alt.value("#2e7d32"), alt.value("#90a4ae")),
                    tooltip=["class", alt.Tooltip("probability:Q", format=".3f")])
            .properties(height=240))
