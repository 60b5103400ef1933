"""Where the examples fall in the text: an aggregate strip for the whole corpus and exact segments for one
page of it. Both are computed from the chunk arrays, so they stay light for a 100 MB corpus: the strip has a
fixed number of bins and a page has a bounded number of characters.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from core.strategies import SplitResult
from core.strategies.statistics import coverage_counts

DROPPED, EVEN, ODD, REPEATED = 0, 1, 2, 3  # overview categories
CATEGORY_NAMES = {
    DROPPED: "in no example",
    EVEN: "one example",
    ODD: "one example",
    REPEATED: "in 2+ examples",
}


@dataclass(frozen=True)
class Overview:
    """The corpus in `bins` equal character ranges: shapes [bins + 1] for edges, [bins] for the rest."""

    char_edges: np.ndarray
    mean_coverage: np.ndarray  # average number of examples holding each token of the bin
    chunk_at_center: np.ndarray  # example covering the bin's middle character, -1 if none
    category: np.ndarray  # DROPPED / EVEN / ODD / REPEATED, for a discrete colour scale


def overview(result: SplitResult, bins: int = 600) -> Overview:
    corpus = result.corpus
    length = max(len(corpus.text), 1)
    bins = max(1, min(bins, length))
    edges = np.linspace(0, length, bins + 1).round().astype(np.int64)
    counts = coverage_counts(result).astype(np.float64)
    # Tokens whose first character falls in each bin: [bins + 1] boundaries into the token array.
    token_edges = np.searchsorted(corpus.offsets[:, 0], edges, side="left")
    sums = np.concatenate([[0.0], np.cumsum(counts)])
    tokens_in_bin = np.diff(token_edges)
    mean = np.divide(
        sums[token_edges[1:]] - sums[token_edges[:-1]],
        tokens_in_bin,
        out=np.zeros(bins),
        where=tokens_in_bin > 0,
    )
    centers = (edges[:-1] + edges[1:]) // 2
    chunk = chunk_at(result, centers)
    # A bin with no token start (inside one long token) takes its covering chunk's coverage.
    empty = tokens_in_bin == 0
    mean[empty & (chunk >= 0)] = 1.0
    # Alternate colours only while examples are wider than a few bins; past that they would alias into noise.
    alternate = len(result) <= bins // 4
    category = np.where(chunk < 0, DROPPED, np.where((chunk % 2 == 1) & alternate, ODD, EVEN))
    category = np.where((mean >= 1.5) & (chunk >= 0), REPEATED, category)
    return Overview(char_edges=edges, mean_coverage=mean, chunk_at_center=chunk, category=category)


def chunk_at(result: SplitResult, chars: np.ndarray) -> np.ndarray:
    """[len(chars)] the last example whose span holds each character, -1 where none does."""
    starts, ends = result.char_start, result.char_end
    if len(result) == 0:
        return np.full(np.shape(chars), -1)
    k = np.searchsorted(starts, chars, side="right") - 1
    at = np.maximum(k, 0)
    return np.where((k >= 0) & (chars < ends[at]), k, -1)


@dataclass(frozen=True)
class Segment:
    """Characters [char_start, char_end) and the examples that contain them (empty: dropped)."""

    char_start: int
    char_end: int
    chunks: tuple[int, ...]
    context_of: tuple[int, ...] = ()  # examples in which these characters are context only (labels masked)


def page_segments(result: SplitResult, lo: int, hi: int) -> list[Segment]:
    """Exact segments of text[lo:hi], split wherever the set of examples containing the text changes."""
    starts, ends = result.char_start, result.char_end
    first = int(np.searchsorted(ends, lo, side="right"))
    last = int(np.searchsorted(starts, hi, side="left"))
    # Chunk spans are sorted by start, and also by end for every strategy here; scan a little wider to be safe.
    candidates = [
        i for i in range(max(0, first - 2), min(len(result), last + 2)) if starts[i] < hi and ends[i] > lo
    ]
    context_end = {}
    for i in candidates:
        context = int(result.context_tokens[i])
        if context:
            token = int(result.token_start[i]) + context
            context_end[i] = (
                int(result.corpus.offsets[token, 0]) if token < result.corpus.num_tokens else int(ends[i])
            )
    points = {lo, hi}
    for i in candidates:
        points.update(p for p in (int(starts[i]), int(ends[i]), context_end.get(i, lo)) if lo < p < hi)
    cuts = sorted(points)
    segments = []
    for a, b in itertools.pairwise(cuts):
        holders = tuple(i for i in candidates if starts[i] <= a and ends[i] >= b)
        context_of = tuple(i for i in holders if i in context_end and b <= context_end[i])
        segments.append(Segment(a, b, holders, context_of))
    return segments


def page_around(
    result: SplitResult, chunk: int, margin: int = 600, max_chars: int = 24_000
) -> tuple[int, int]:
    """The character window shown around one example: the example plus a margin, never over `max_chars`."""
    text_length = len(result.corpus.text)
    if len(result) == 0:
        return 0, min(text_length, max_chars)
    start, end = int(result.char_start[chunk]), int(result.char_end[chunk])
    lo = max(0, start - margin)
    hi = min(text_length, end + margin, lo + max_chars)
    return lo, hi
