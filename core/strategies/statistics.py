"""The same statistics for every strategy, from the chunk arrays alone (no re-tokenizing).

`coverage_counts` [n]: how many examples contain each content token (0 = never seen, 2+ = duplicated).
"""

from __future__ import annotations

import math

import numpy as np

from core.strategies.base import SplitResult
from core.text_boundaries import SENTENCE, WORD, cut_levels


def _count_per_token(n: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """[n] number of ranges [starts[k], ends[k]) covering each index (difference array + cumsum)."""
    delta = np.zeros(n + 1, np.int64)
    np.add.at(delta, starts, 1)
    np.add.at(delta, ends, -1)
    return np.cumsum(delta[:-1])


def coverage_counts(result: SplitResult) -> np.ndarray:
    return _count_per_token(result.corpus.num_tokens, result.token_start, result.token_end)


def trained_counts(result: SplitResult) -> np.ndarray:
    """[n] how many times each content token's label is trained (masked context excluded)."""
    starts = np.minimum(result.token_start + result.context_tokens, result.token_end)
    return _count_per_token(result.corpus.num_tokens, starts, result.token_end)


def inner_cuts(result: SplitResult) -> np.ndarray:
    """Token positions where an example ends but its document goes on (the cuts a reader would notice)."""
    ends = result.token_end
    doc_of_end = result.doc_last
    doc_end = result.corpus.doc_token_starts[np.asarray(doc_of_end, np.int64) + 1]
    return ends[ends < doc_end]


def split_statistics(result: SplitResult) -> dict[str, float | int]:
    """examples, tokens trained (duplicates included), coverage, dropped, duplication, padding, cuts, steps."""
    corpus, params = result.corpus, result.params
    n = corpus.num_tokens
    seen = coverage_counts(result)
    covered = int(np.count_nonzero(seen))
    content_in_examples = int(result.content_tokens.sum())
    lengths = result.num_tokens + result.padding_tokens
    examples = len(result)
    # Padding if every example is padded to W (static shapes): the usual batching of raw-text fine-tunes.
    padding_to_window = int(np.maximum(params.window - lengths, 0).sum() + result.padding_tokens.sum())
    levels = cut_levels(corpus)
    cuts = inner_cuts(result)
    cut_levels_at = levels[cuts] if cuts.size else np.zeros(0, np.int8)
    tokens_processed = int(lengths.sum())
    trained = int(
        (result.num_tokens - result.context_tokens).sum()
    )  # labels taken: content + special tokens, less masked context (padding is never in num_tokens)
    return {
        "examples": examples,
        "num_tokens": n,
        "tokens_trained": trained,
        "tokens_processed": tokens_processed,
        "coverage": covered / n if n else 0.0,
        "dropped_tokens": n - covered,
        "duplication": content_in_examples / covered if covered else 0.0,
        "duplicated_tokens": content_in_examples - covered,
        "padding_tokens": padding_to_window,
        "padding_share": padding_to_window / (examples * params.window) if examples else 0.0,
        "explicit_padding_tokens": int(result.padding_tokens.sum()),
        "cuts_inside_sentence": int(np.count_nonzero(cut_levels_at < SENTENCE)),
        "cuts_inside_word": int(np.count_nonzero(cut_levels_at < WORD)),
        "max_tokens": int(lengths.max()) if examples else 0,
        "mean_tokens": float(lengths.mean()) if examples else 0.0,
        "batch_size": params.batch_size,
        "steps_per_epoch": math.ceil(examples / params.batch_size),
    }
