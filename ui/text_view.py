"""The text of one page with the examples drawn over it: alternating colours per example, a darker band
where examples overlap, hatching where the overlap is context only, grey strike-through where text is in no
example. Hovering a span names its example(s) and their token counts."""

from __future__ import annotations

import html

from core.chunk_map import Segment
from core.strategies import SplitResult

PALETTE = ("#dbeafe", "#fef3c7")  # even / odd example
SELECTED = ("#93c5fd", "#fcd34d")  # the example being inspected, stronger
OVERLAP = "#c4b5fd"
CONTEXT = "repeating-linear-gradient(45deg,#e9d5ff,#e9d5ff 4px,#f5f3ff 4px,#f5f3ff 8px)"

STYLE = """
<style>
.ct-text{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:0.82rem;line-height:1.55;
white-space:pre-wrap;word-break:break-word;max-height:520px;overflow-y:auto;padding:0.6rem;
border:1px solid #e5e7eb;border-radius:0.4rem;background:#fff;color:#111827}
.ct-drop{color:#9ca3af;text-decoration:line-through;background:#f3f4f6}
.ct-mark{display:inline-block;font-size:0.68rem;font-weight:700;color:#fff;background:#2563eb;
border-radius:0.25rem;padding:0 0.25rem;margin:0 0.15rem;user-select:none}
.ct-more{color:#6b7280;font-style:italic}
</style>
"""


def _describe(result: SplitResult, segment: Segment) -> str:
    if not segment.chunks:
        return "in no example: dropped, never trained on"
    parts = []
    for i in segment.chunks:
        role = "context only (labels masked)" if i in segment.context_of else "trained"
        parts.append(f"example #{i + 1} · {int(result.num_tokens[i]):,} tokens · {role}")
    prefix = "overlap: " if len(segment.chunks) > 1 else ""
    return prefix + " | ".join(parts)


def _style(segment: Segment, selected: int) -> str:
    if not segment.chunks:
        return ""
    if segment.context_of:
        background = CONTEXT
    elif len(segment.chunks) > 1:
        background = OVERLAP
    else:
        index = segment.chunks[0]
        background = (SELECTED if index == selected else PALETTE)[index % 2]
    return f"background:{background}"


def render_page(result: SplitResult, segments: list[Segment], selected: int, lo: int, hi: int) -> str:
    """HTML for text[lo:hi]; only this slice of the corpus is sent to the browser."""
    text = result.corpus.text
    starts = {int(result.char_start[i]): i for s in segments for i in s.chunks}
    out = [STYLE, '<div class="ct-text">']
    if lo > 0:
        out.append(f'<span class="ct-more">… {lo:,} characters before …\n</span>')
    for segment in segments:
        if segment.char_start in starts:
            i = starts[segment.char_start]
            out.append(f'<span class="ct-mark" title="example #{i + 1} starts">#{i + 1}</span>')
        classes = "" if segment.chunks else "ct-drop"
        body = html.escape(text[segment.char_start : segment.char_end])
        title = html.escape(_describe(result, segment), quote=True)
        out.append(
            f'<span class="{classes}" style="{_style(segment, selected)}" title="{title}">{body}</span>'
        )
    if hi < len(text):
        out.append(f'<span class="ct-more">\n… {len(text) - hi:,} characters after …</span>')
    out.append("</div>")
    return "".join(out)
