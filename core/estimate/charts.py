"""Plotly figures of the Estimate page (pure functions of estimates; no Streamlit)."""

from __future__ import annotations

import plotly.graph_objects as go

from core.estimate.architecture import Architecture, EstimateError
from core.estimate.fit import Fix
from core.estimate.hardware import GIB, Gpu
from core.estimate.memory import COMPONENTS, MemoryEstimate, estimate_memory
from core.estimate.plan import TrainingPlan

COLORS = {
    "weights": "#1d4ed8",
    "adapter weights": "#60a5fa",
    "gradients": "#f59e0b",
    "optimizer states": "#b45309",
    "activations": "#16a34a",
    "logits and loss": "#86efac",
    "temporary buffers": "#a855f7",
    "allocator overhead": "#d1d5db",
    "CUDA context": "#6b7280",
}


def breakdown_bars(labeled: list[tuple[str, MemoryEstimate]], gpu: Gpu | None, title: str) -> go.Figure:
    """Stacked bars, one per estimate: each component at that estimate's peak moment, in GiB."""
    figure = go.Figure()
    labels = [label for label, _ in labeled]
    for component in (*COMPONENTS, "allocator overhead", "CUDA context"):
        values = [estimate.breakdown.get(component, 0) / GIB for _, estimate in labeled]
        if any(values):
            figure.add_bar(name=component, x=labels, y=values, marker_color=COLORS[component])
    if gpu is not None:
        figure.add_hline(
            y=gpu.memory_gib,
            line_dash="dash",
            line_color="#dc2626",
            annotation_text=f"{gpu.name}: {gpu.memory_gib:.1f} GiB",
        )
    figure.update_layout(
        barmode="stack",
        title=title,
        yaxis_title="GiB per GPU (nvidia-smi)",
        legend_title="component",
        margin={"t": 50, "b": 40},
        height=420,
    )
    return figure


def fix_bars(current: MemoryEstimate, fixes: list[Fix], arch: Architecture, gpu: Gpu) -> go.Figure:
    """The current plan and each single change, stacked the same way."""
    labeled = [("current", current)] + [(fix.change, estimate_memory(arch, fix.plan)) for fix in fixes]
    return breakdown_bars(labeled, gpu, "What each change does")


def sequence_points(arch: Architecture, plan: TrainingPlan, upper: int) -> list[int]:
    """Sequence lengths to draw: powers of two and their midpoints up to `upper`, plus the plan's own."""
    points, length = set(), 128
    while length <= upper:
        points.add(length)
        if length * 3 // 2 <= upper:
            points.add(length * 3 // 2)
        length *= 2
    points.add(min(plan.seq_len, upper))
    points.add(upper)
    return sorted(points)


def memory_curve(
    arch: Architecture, plan: TrainingPlan, gpu: Gpu | None, upper: int | None = None
) -> go.Figure:
    """Peak allocated and nvidia-smi memory against sequence length, the GPU's limit drawn across."""
    upper = upper or min(arch.max_positions or 32768, max(4 * plan.seq_len, 4096))
    xs, allocated, shown = [], [], []
    for seq_len in sequence_points(arch, plan, upper):
        try:
            estimate = estimate_memory(arch, plan.with_(seq_len=seq_len))
        except EstimateError:
            continue
        xs.append(seq_len)
        allocated.append(estimate.total_bytes / GIB)
        shown.append(estimate.reserved_bytes / GIB)
    figure = go.Figure()
    figure.add_scatter(x=xs, y=shown, mode="lines+markers", name="nvidia-smi (reserved + context)")
    figure.add_scatter(
        x=xs, y=allocated, mode="lines+markers", name="allocated (max_memory_allocated)", line_dash="dot"
    )
    if gpu is not None:
        figure.add_hline(
            y=gpu.memory_gib, line_dash="dash", line_color="#dc2626", annotation_text=f"{gpu.name} limit"
        )
    figure.add_vline(
        x=plan.seq_len, line_dash="dot", line_color="#6b7280", annotation_text=f"W = {plan.seq_len:,}"
    )
    figure.update_layout(
        title="Memory per GPU against sequence length",
        xaxis_title="sequence length (tokens)",
        yaxis_title="GiB",
        xaxis_type="log",
        height=420,
        margin={"t": 50, "b": 40},
    )
    return figure
