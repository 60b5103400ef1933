"""The overview strip and the paged text segments agree with the split."""

from __future__ import annotations

import itertools

import numpy as np

from core.chunk_map import DROPPED, EVEN, ODD, REPEATED, overview, page_around, page_segments
from core.documents import Document
from core.models import load_tokenizer
from core.strategies import SplitParams, split
from core.tokenization import tokenize_corpus

TEXT = "Sentence number one is here. " * 400


def corpus():
    return tokenize_corpus(load_tokenizer("default"), [Document("a.txt", TEXT, "a.txt")])


def test_overview_marks_dropped_text_grey_and_overlap_darker():
    c = corpus()
    truncated = overview(split(c, SplitParams(strategy="truncation", window=256)), bins=100)
    assert truncated.category[0] == EVEN and truncated.category[-1] == DROPPED
    overlapping = overview(split(c, SplitParams(strategy="sliding", window=64, overlap=48)), bins=100)
    assert (overlapping.category[1:] == REPEATED).all()  # only the very start is read once
    assert overlapping.mean_coverage.max() > 2


def test_overview_alternates_colours_only_for_few_wide_examples():
    c = corpus()
    few = overview(split(c, SplitParams(strategy="blocks", window=1024)), bins=200)
    assert {EVEN, ODD} <= set(few.category.tolist())
    many = overview(split(c, SplitParams(strategy="blocks", window=16)), bins=200)
    assert ODD not in set(many.category.tolist())


def test_page_segments_tile_the_page_and_name_the_examples_holding_each_character():
    c = corpus()
    result = split(c, SplitParams(strategy="sliding", window=64, overlap=16, mask_overlap=True))
    lo, hi = page_around(result, 3)
    segments = page_segments(result, lo, hi)
    assert segments[0].char_start == lo and segments[-1].char_end == hi
    assert all(a.char_end == b.char_start for a, b in itertools.pairwise(segments))
    starts, ends = result.char_start, result.char_end
    for segment in segments:
        middle = (segment.char_start + segment.char_end) // 2
        holders = tuple(
            int(i) for i in np.flatnonzero((starts <= segment.char_start) & (ends >= segment.char_end))
        )
        assert segment.chunks == holders, middle
        for i in segment.context_of:  # context is the start of a later window that the previous one holds too
            assert i - 1 in segment.chunks
