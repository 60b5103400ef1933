"""Where a cut between two tokens falls in the text: mid-word, between words, between sentences, between
paragraphs. Computed once per corpus with regular expressions and binary search, never per chunk.

`cut_levels(corpus)[i]` grades the cut just before token i (i == n is the end): WORD_CUT (0) splits a word,
WORD (1) falls between words, SENTENCE (2) after sentence-ending punctuation, PARAGRAPH (3) at a blank line or
a document edge.
"""

from __future__ import annotations

import re

import numpy as np

from core.tokenization import TokenizedCorpus

WORD_CUT, WORD, SENTENCE, PARAGRAPH = 0, 1, 2, 3
LEVEL_NAMES = {
    WORD_CUT: "inside a word",
    WORD: "between words",
    SENTENCE: "between sentences",
    PARAGRAPH: "between paragraphs",
}

_WORD_RUN = re.compile(r"\w+")
# Sentence end: terminal punctuation, closing quotes/brackets, then whitespace (or CJK full stops alone).
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|[。！？]+")
_WHITESPACE_RUN = re.compile(r"\s+")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")


def _in_zones(positions: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """positions inside any closed zone [starts[k], ends[k]] (zones sorted and disjoint)."""
    if starts.size == 0:
        return np.zeros(positions.shape, dtype=bool)
    k = np.searchsorted(starts, positions, side="right") - 1
    valid = k >= 0
    inside = np.zeros(positions.shape, dtype=bool)
    inside[valid] = positions[valid] <= ends[k[valid]]
    return inside


def _spans(pattern: re.Pattern[str], text: str) -> tuple[np.ndarray, np.ndarray]:
    found = [(m.start(), m.end()) for m in pattern.finditer(text)]
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    array = np.asarray(found, dtype=np.int64)
    return array[:, 0], array[:, 1]


def _runs_containing(points: np.ndarray, run_starts: np.ndarray, run_ends: np.ndarray) -> np.ndarray:
    """Index of the whitespace run that contains each point (points known to lie in one)."""
    return np.unique(np.searchsorted(run_starts, points, side="right") - 1)


def compute_cut_levels(corpus: TokenizedCorpus) -> np.ndarray:
    text = corpus.text
    n = corpus.num_tokens
    # The cut before token i sits at that token's first character (the end of the text for i == n).
    positions = np.empty(n + 1, dtype=np.int64)
    positions[:n] = corpus.offsets[:, 0]
    positions[n] = len(text)

    word_starts, word_ends = _spans(_WORD_RUN, text)
    # Mid-word: strictly inside a run of word characters, i.e. in the closed zone [start + 1, end - 1].
    mid_word = _in_zones(positions, word_starts + 1, word_ends - 1)
    levels = np.where(mid_word, WORD_CUT, WORD).astype(np.int8)

    sentence_ends = np.asarray([m.end() for m in _SENTENCE_END.finditer(text)], dtype=np.int64)
    # A sentence zone runs from the end of the punctuation through the whitespace after it.
    run_starts, run_ends = _spans(_WHITESPACE_RUN, text)
    zone_ends = sentence_ends.copy()
    if sentence_ends.size and run_starts.size:
        j = np.searchsorted(run_starts, sentence_ends, side="left")
        has_run = (j < run_starts.size) & (run_starts[np.minimum(j, run_starts.size - 1)] == sentence_ends)
        zone_ends[has_run] = run_ends[j[has_run]]
    levels[_in_zones(positions, sentence_ends, zone_ends)] = SENTENCE

    # A paragraph zone is a whole whitespace run that holds a blank line.
    blank_lines, _ = _spans(_BLANK_LINE, text)
    if blank_lines.size:
        runs = _runs_containing(blank_lines, run_starts, run_ends)
        levels[_in_zones(positions, run_starts[runs], run_ends[runs])] = PARAGRAPH
    levels[corpus.doc_token_starts] = PARAGRAPH  # document edges (includes i == n)
    return levels


def cut_levels(corpus: TokenizedCorpus) -> np.ndarray:
    """[n + 1] int8 grade of the cut before each token; cached on the corpus."""
    if "cut_levels" not in corpus._cache:
        corpus._cache["cut_levels"] = compute_cut_levels(corpus)
    return corpus._cache["cut_levels"]
