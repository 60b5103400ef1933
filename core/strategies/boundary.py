"""Boundary-aware chunking: fill each example with whole paragraphs; a paragraph that does not fit is cut
between sentences, a sentence that does not fit between words, and only a word longer than W is cut inside.
With an overlap, the next chunk starts at the first sentence boundary within `overlap` tokens of the end.

The grades of every possible cut come from `core.text_boundaries` (computed once per corpus); each chunk is
then a binary search for the last boundary of the best grade inside the window.
"""

from __future__ import annotations

import numpy as np

from core.strategies.base import SplitParams, SplitResult, Strategy, capacity, per_document_result, register
from core.text_boundaries import PARAGRAPH, SENTENCE, WORD, cut_levels
from core.tokenization import TokenizedCorpus


def _last_at_or_before(positions: np.ndarray, limit: int) -> int:
    k = int(np.searchsorted(positions, limit, side="right")) - 1
    return int(positions[k]) if k >= 0 else -1


@register
class BoundaryAware(Strategy):
    name = "boundary"
    title = "Boundary-aware"
    summary = "Whole paragraphs per example; cut between sentences, then words, only where one does not fit."

    def split(self, corpus: TokenizedCorpus, params: SplitParams) -> SplitResult:
        room = capacity(corpus, params)
        levels = cut_levels(corpus)
        # Candidate cut positions per grade, sorted: shape [k_grade] each.
        at_least = {grade: np.flatnonzero(levels >= grade) for grade in (PARAGRAPH, SENTENCE, WORD)}
        starts, ends, docs = [], [], []
        inside_sentence = inside_word = 0
        for j in range(corpus.num_docs):
            first, last = corpus.doc_bounds(j)
            start, previous_end = first, first
            while start < last:
                end, grade = self._end_of_chunk(start, min(start + room, last), last, at_least)
                if end <= previous_end:  # the overlap would repeat a chunk inside the previous one
                    start = previous_end
                    end, grade = self._end_of_chunk(start, min(start + room, last), last, at_least)
                previous_end = end
                if grade < SENTENCE:
                    inside_sentence += 1
                    inside_word += grade < WORD
                starts.append(start)
                ends.append(end)
                docs.append(j)
                start = (
                    self._next_start(start, end, params.overlap, at_least[SENTENCE]) if end < last else last
                )
        result = per_document_result(
            corpus, params, [np.asarray(starts)], [np.asarray(ends)], [np.asarray(docs)]
        )
        result.cut_inside_sentence = inside_sentence
        if inside_sentence:
            result.notes.append(
                f"{inside_sentence} chunk(s) end inside a sentence because one sentence alone exceeds the window"
                + (f" ({inside_word} inside a word)." if inside_word else ".")
            )
        return result

    @staticmethod
    def _end_of_chunk(
        start: int, limit: int, doc_end: int, at_least: dict[int, np.ndarray]
    ) -> tuple[int, int]:
        """(end, grade of the cut): the last boundary of the best grade in (start, limit]."""
        if limit >= doc_end:
            return doc_end, PARAGRAPH
        for grade in (PARAGRAPH, SENTENCE, WORD):
            end = _last_at_or_before(at_least[grade], limit)
            if end > start:
                return end, grade
        return limit, WORD - 1

    @staticmethod
    def _next_start(start: int, end: int, overlap: int, sentence_cuts: np.ndarray) -> int:
        """Back up to the first sentence start within `overlap` tokens before `end`; never behind `start`."""
        if overlap <= 0:
            return end
        k = int(np.searchsorted(sentence_cuts, end - overlap, side="left"))
        if k < sentence_cuts.shape[0]:
            candidate = int(sentence_cuts[k])
            if start < candidate < end:
                return candidate
        return end
