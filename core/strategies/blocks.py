"""Large tokenization ("blocks"): tokenize every document, join them with EOS into one stream, and cut the
stream into consecutive W-token blocks (HF run_clm.py's group_texts, without its silent drop of the
remainder: here the final partial block is kept short, padded to W, or dropped, and the choice is reported).
Blocks ignore sentence and document boundaries; the post-processor's special tokens are added per document.
"""

from __future__ import annotations

import numpy as np

from core.strategies.base import SplitParams, SplitResult, Strategy, register
from core.tokenization import TokenizedCorpus


def document_stream(corpus: TokenizedCorpus) -> tuple[np.ndarray, np.ndarray]:
    """(stream ids [m], content index [m]): each document wrapped in its special tokens and followed by EOS
    (unless its suffix already ends with EOS). Content index is -1 for special/separator tokens."""
    key = "blocks_stream"
    if key in corpus._cache:
        return corpus._cache[key]
    special = corpus.special
    separator = (
        (special.eos_id,) if special.eos_id is not None and special.suffix[-1:] != (special.eos_id,) else ()
    )
    before, after = np.asarray(special.prefix, np.int64), np.asarray(special.suffix + separator, np.int64)
    ids_parts, index_parts = [], []
    for j in range(corpus.num_docs):
        first, last = corpus.doc_bounds(j)
        ids_parts += [before, corpus.ids[first:last].astype(np.int64), after]
        index_parts += [
            np.full(before.size, -1),
            np.arange(first, last, dtype=np.int64),
            np.full(after.size, -1),
        ]
    stream = (
        (np.concatenate(ids_parts), np.concatenate(index_parts))
        if ids_parts
        else (np.zeros(0, np.int64),) * 2
    )
    corpus._cache[key] = stream
    return stream


@register
class Blocks(Strategy):
    name = "blocks"
    title = "Large tokenization (blocks)"
    summary = "All documents tokenized and joined with EOS, cut into consecutive W-token blocks."

    def split(self, corpus: TokenizedCorpus, params: SplitParams) -> SplitResult:
        stream, content_index = document_stream(corpus)
        width = params.window
        total = stream.shape[0]
        block_starts = np.arange(0, total, width, dtype=np.int64)
        block_ends = np.minimum(block_starts + width, total)
        notes: list[str] = []
        short = total % width
        if short and params.remainder == "drop":
            block_starts, block_ends = block_starts[:-1], block_ends[:-1]
            notes.append(
                f"The last {short} tokens (a partial block) are dropped."
                if total > width
                else f"The whole stream ({total} tokens) is shorter than one block of {width}: with remainder "
                "'drop' nothing is trained. Choose keep or pad, or a smaller window."
            )
        elif short and params.remainder == "pad":
            notes.append(
                f"The last block holds {short} tokens and is padded with {width - short} pad tokens."
            )
        elif short:
            notes.append(f"The last block is shorter: {short} tokens.")
        # Content tokens of each block: the content positions that fall inside [block_start, block_end).
        is_content = content_index >= 0
        content_before = np.concatenate([[0], np.cumsum(is_content)])  # [total + 1]
        token_start = content_before[block_starts]
        token_end = content_before[block_ends]
        lengths = block_ends - block_starts
        padding = np.zeros_like(lengths)
        if short and params.remainder == "pad":
            padding[-1] = width - short
        doc_of = corpus.token_doc
        nonempty = token_end > token_start
        last_doc = max(corpus.num_docs - 1, 0)
        doc_first = np.where(
            nonempty, doc_of[np.minimum(token_start, max(corpus.num_tokens - 1, 0))], last_doc
        )
        doc_last = np.where(nonempty, doc_of[np.maximum(token_end - 1, 0)], last_doc)
        return SplitResult(
            corpus=corpus,
            params=params,
            token_start=token_start,
            token_end=token_end,
            extra_tokens=lengths - (token_end - token_start),
            context_tokens=np.zeros_like(lengths),
            padding_tokens=padding,
            doc_first=doc_first.astype(np.int32),
            doc_last=doc_last.astype(np.int32),
            notes=notes,
            stream_start=block_starts,
        )

    def example_ids(self, result: SplitResult, i: int) -> np.ndarray:
        stream, _ = document_stream(result.corpus)
        assert result.stream_start is not None
        start = int(result.stream_start[i])
        body = stream[start : start + int(result.num_tokens[i])]
        pad_id = result.corpus.special.pad_id if result.corpus.special.pad_id is not None else 0
        return np.concatenate([body, np.full(int(result.padding_tokens[i]), pad_id, np.int64)]).astype(
            np.int32
        )
