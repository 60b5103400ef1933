"""Sliding window: windows of W tokens stepping by W − overlap, so every token is seen.

The last window ends at the document's end and is shorter rather than shifted back: a window never lies
wholly inside the previous one (text-generation-webui's trailing windows did), and every overlap is exactly
the chosen one. With `mask_overlap` the re-read tokens are context only (labels -100), not trained twice.
"""

from __future__ import annotations

import numpy as np

from core.strategies.base import (
    SplitError,
    SplitParams,
    SplitResult,
    Strategy,
    capacity,
    per_document_result,
    register,
)
from core.tokenization import TokenizedCorpus


@register
class SlidingWindow(Strategy):
    name = "sliding"
    title = "Sliding window"
    summary = "Windows of W tokens, each starting W − overlap tokens after the previous; overlap is re-read."

    def split(self, corpus: TokenizedCorpus, params: SplitParams) -> SplitResult:
        room = capacity(corpus, params)
        if params.overlap >= room:
            raise SplitError(
                f"The overlap ({params.overlap}) must be smaller than the {room} content tokens a window holds "
                f"(W = {params.window} less {corpus.special.count} special tokens)."
            )
        step = room - params.overlap
        starts, ends, docs, context = [], [], [], []
        for j in range(corpus.num_docs):
            first, last = corpus.doc_bounds(j)
            length = last - first
            if length == 0:
                continue
            # Windows after the first start every `step` tokens until one reaches the end: shape [count].
            count = 1 + max(0, -(-(length - room) // step))
            window_starts = first + step * np.arange(count, dtype=np.int64)
            window_ends = np.minimum(window_starts + room, last)
            starts.append(window_starts)
            ends.append(window_ends)
            docs.append(np.full(count, j))
            shared = np.zeros(count, np.int64)
            if params.mask_overlap and count > 1:
                shared[1:] = np.minimum(params.overlap, window_ends[1:] - window_starts[1:])
            context.append(shared)
        result = per_document_result(corpus, params, starts, ends, docs, context)
        if params.overlap:
            how = "read as context (labels masked)" if params.mask_overlap else "trained twice"
            result.notes.append(f"Step {step} tokens; each window re-reads {params.overlap} tokens, {how}.")
        return result
