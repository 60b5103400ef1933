"""Plotly figures of the Split page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.chunk_map import DROPPED, EVEN, ODD, REPEATED, Overview
from core.strategies import SplitResult

# Discrete colours for the overview categories (z = 0..3).
_COLORS = {DROPPED: "#d1d5db", EVEN: "#60a5fa", ODD: "#fbbf24", REPEATED: "#7c3aed"}


def overview_strip(view: Overview, selected: int | None = None) -> go.Figure:
    """One row of bins across the whole corpus: where each example falls, overlaps darker, dropped grey."""
    z = view.category[None, :]
    scale = []
    for code in range(4):
        scale += [(code / 4, _COLORS[code]), ((code + 1) / 4, _COLORS[code])]
    hover = [
        f"characters {int(a):,}–{int(b):,}<br>"
        + (f"example #{int(c) + 1}" if c >= 0 else "in no example (dropped)")
        + f"<br>in {m:.2f} examples on average"
        for a, b, c, m in zip(
            view.char_edges[:-1], view.char_edges[1:], view.chunk_at_center, view.mean_coverage, strict=False
        )
    ]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=view.char_edges[:-1],
            zmin=0,
            zmax=4,
            colorscale=scale,
            showscale=False,
            hovertext=[hover],
            hoverinfo="text",
        )
    )
    if selected is not None:
        hits = np.flatnonzero(view.chunk_at_center == selected)
        if hits.size:
            figure.add_vrect(
                x0=view.char_edges[hits[0]],
                x1=view.char_edges[hits[-1] + 1],
                line_width=2,
                line_color="#111827",
            )
    figure.update_layout(
        height=100,
        margin=dict(l=0, r=0, t=0, b=30),
        yaxis=dict(visible=False),
        xaxis=dict(title=None, tickformat=",d", ticksuffix=" ch"),
    )
    return figure


def token_histogram(result: SplitResult) -> go.Figure:
    lengths = result.num_tokens + result.padding_tokens
    figure = go.Figure(go.Histogram(x=lengths, nbinsx=min(60, max(5, len(result))), marker_color="#60a5fa"))
    figure.add_vline(
        x=result.params.window,
        line_dash="dash",
        line_color="#dc2626",
        annotation_text=f"W = {result.params.window:,}",
    )
    figure.update_layout(
        height=260,
        margin=dict(l=0, r=0, t=10, b=0),
        xaxis_title="tokens per example",
        yaxis_title="examples",
        bargap=0.05,
    )
    return figure


def comparison_frame(summary: dict) -> pd.DataFrame:
    """The four strategies side by side, in the units a reader wants."""
    rows = []
    titles = {
        "truncation": "Truncation",
        "sliding": "Sliding window",
        "blocks": "Blocks",
        "boundary": "Boundary-aware",
    }
    for name, stats in summary["strategies"].items():
        rows.append(
            {
                "strategy": titles.get(name, name),
                "examples": stats["examples"],
                "tokens trained": stats["tokens_trained"],
                "coverage": f"{stats['coverage']:.1%}",
                "dropped tokens": stats["dropped_tokens"],
                "duplication": f"×{stats['duplication']:.2f}",
                "padding to W": stats["padding_tokens"],
                "cuts inside a sentence": stats["cuts_inside_sentence"],
                "steps / epoch": stats["steps_per_epoch"],
            }
        )
    return pd.DataFrame(rows).set_index("strategy")
