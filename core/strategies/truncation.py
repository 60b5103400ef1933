"""Truncation: each document becomes one example of its first (or last) W tokens; the rest is dropped."""

from __future__ import annotations

import numpy as np

from core.strategies.base import SplitParams, SplitResult, Strategy, capacity, per_document_result, register
from core.tokenization import TokenizedCorpus


@register
class Truncation(Strategy):
    name = "truncation"
    title = "Truncation"
    summary = (
        "One example per document: its first W tokens (or its last, with keep end). The rest is never seen."
    )

    def split(self, corpus: TokenizedCorpus, params: SplitParams) -> SplitResult:
        room = capacity(corpus, params)
        doc_start, doc_end = corpus.doc_token_starts[:-1], corpus.doc_token_starts[1:]
        keep = np.minimum(doc_end - doc_start, room)
        present = keep > 0
        if params.keep_end:
            starts, ends = doc_end - keep, doc_end
        else:
            starts, ends = doc_start, doc_start + keep
        docs = np.arange(corpus.num_docs)
        result = per_document_result(corpus, params, [starts[present]], [ends[present]], [docs[present]])
        dropped = int((doc_end - doc_start - keep).sum())
        if dropped:
            where = "beginning" if params.keep_end else "end"
            result.notes.append(
                f"{dropped:,} tokens at the {where} of documents are dropped and never trained on."
            )
        return result
