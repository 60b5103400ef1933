"""The Train page's pictures: the live loss chart, the overlay of several runs, the loss map over the text."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

RAW = "rgba(37, 99, 235, 0.35)"
SMOOTH = "#1d4ed8"
EVAL = "#dc2626"
LR = "#9ca3af"
RUN_COLOURS = ("#1d4ed8", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d", "#4b5563")


def smooth(values: Sequence[float], weight: float = 0.8) -> list[float]:
    """Exponential moving average with the start-up bias removed (TensorBoard's scalar smoothing; Adam's bias
    correction, Kingma & Ba 2015): point i = sum_k w^(i-k) (1-w) x_k / (1 - w^(i+1))."""
    smoothed, average = [], 0.0
    for i, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        smoothed.append(average / (1 - weight ** (i + 1)))
    return smoothed


def _series(records: Sequence[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    points = [(r["step"], r[key]) for r in records if r.get(key) is not None]
    return [p[0] for p in points], [p[1] for p in points]


def loss_figure(records: Sequence[dict[str, Any]], log_scale: bool = False, weight: float = 0.8) -> go.Figure:
    """Training loss (raw and smoothed) and evaluation loss by step; learning rate on a second y axis."""
    figure = go.Figure()
    steps, losses = _series(records, "loss")
    figure.add_scatter(x=steps, y=losses, name="loss", mode="lines", line={"color": RAW, "width": 1})
    figure.add_scatter(
        x=steps, y=smooth(losses, weight), name="loss (smoothed)", line={"color": SMOOTH, "width": 2.5}
    )
    eval_steps, eval_losses = _series(records, "eval_loss")
    figure.add_scatter(
        x=eval_steps, y=eval_losses, name="eval loss", mode="lines+markers", line={"color": EVAL, "width": 2}
    )
    lr_steps, rates = _series(records, "lr")
    figure.add_scatter(
        x=lr_steps, y=rates, name="learning rate", yaxis="y2", line={"color": LR, "width": 1, "dash": "dot"}
    )
    few = len(steps) < 12  # whole-number ticks while there are only a few steps
    figure.update_layout(
        height=360,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"title": "step", "dtick": 1 if few else None},
        yaxis={"title": "loss (nats per token)", "type": "log" if log_scale else "linear"},
        yaxis2={
            "title": "learning rate",
            "tickformat": ".1e",
            "rangemode": "tozero",
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
        },
        legend={"orientation": "h", "y": 1.12},
        hovermode="x unified",
    )
    return figure


def compare_figure(curves: dict[str, Sequence[dict[str, Any]]], log_scale: bool = False) -> go.Figure:
    """Several runs: smoothed training loss (solid) and evaluation loss (dashed, markers), one colour each."""
    figure = go.Figure()
    for k, (name, records) in enumerate(curves.items()):
        colour = RUN_COLOURS[k % len(RUN_COLOURS)]
        steps, losses = _series(records, "loss")
        figure.add_scatter(
            x=steps, y=smooth(losses), name=f"{name} · loss", line={"color": colour, "width": 2}
        )
        eval_steps, eval_losses = _series(records, "eval_loss")
        figure.add_scatter(
            x=eval_steps,
            y=eval_losses,
            name=f"{name} · eval",
            mode="lines+markers",
            line={"color": colour, "width": 1.5, "dash": "dash"},
        )
    figure.update_layout(
        height=380,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"title": "step"},
        yaxis={"title": "loss (smoothed)", "type": "log" if log_scale else "linear"},
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def _colour(loss: float, low: float, high: float) -> str:
    """Green (easy) to red (hard), linear in loss between the map's lowest and highest chunk."""
    share = 0.5 if high <= low else min(1.0, max(0.0, (loss - low) / (high - low)))
    hue = 120 * (1 - share)
    return f"hsl({hue:.0f}, 75%, 82%)"


LOSS_MAP_STYLE = """
<style>
.ct-loss{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:0.8rem;line-height:1.55;
white-space:pre-wrap;word-break:break-word;max-height:520px;overflow-y:auto;padding:0.6rem;
border:1px solid #e5e7eb;border-radius:0.4rem;background:#fff;color:#111827}
.ct-held{outline:1px dashed #6b7280;outline-offset:-1px}
.ct-cut{display:inline-block;font-size:0.68rem;font-weight:700;color:#fff;background:#6b7280;
border-radius:0.25rem;padding:0 0.25rem;margin:0 0.15rem}
</style>
"""


def loss_map_html(text: str, segments: Sequence[dict[str, Any]], cut: int, max_chars: int = 60_000) -> str:
    """The document with each chunk's span coloured by its loss under the adapter; held-out text outlined.
    Each span runs to the next span's start, so the one-token gaps at chunk starts take the chunk's colour."""
    shown = sorted((s for s in segments if s["start"] < max_chars), key=lambda s: s["start"])
    if not shown:
        return LOSS_MAP_STYLE + f'<div class="ct-loss">{html.escape(text[:max_chars])}</div>'
    losses = [s["loss"] for s in shown if math.isfinite(s["loss"])]
    low, high = min(losses), max(losses)
    parts = [html.escape(text[: shown[0]["start"]])]
    for k, segment in enumerate(shown):
        start = segment["start"]
        end = shown[k + 1]["start"] if k + 1 < len(shown) else min(len(text), max_chars)
        if start == cut and segment["part"] == "held out":
            parts.append('<span class="ct-cut">held out ↓</span>')
        title = (
            f"{segment['part']} chunk · loss {segment['loss']:.3f} with the adapter, {segment['base_loss']:.3f} "
            f"base · {segment['tokens']} tokens"
        )
        css = ' class="ct-held"' if segment["part"] == "held out" else ""
        parts.append(
            f'<span{css} style="background:{_colour(segment["loss"], low, high)}" title="{html.escape(title)}">'
            f"{html.escape(text[start:end])}</span>"
        )
    if len(text) > max_chars:
        parts.append(f"\n… ({len(text) - max_chars:,} more characters not shown)")
    return LOSS_MAP_STYLE + f'<div class="ct-loss">{"".join(parts)}</div>'
