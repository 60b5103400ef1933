"""The four ways a long document becomes training examples, behind one registry.

result = split(corpus, SplitParams(strategy="sliding", window=2048, overlap=256))
result.chunks, result.stats
"""

from __future__ import annotations

from core.strategies import blocks, boundary, sliding, truncation  # noqa: F401  (registers the strategies)
from core.strategies.base import (
    MIN_WINDOW,
    REMAINDERS,
    STRATEGIES,
    Chunk,
    SplitError,
    SplitParams,
    SplitResult,
    Strategy,
)
from core.strategies.statistics import coverage_counts, split_statistics, trained_counts
from core.tokenization import TokenizedCorpus

STRATEGY_NAMES: tuple[str, ...] = ("truncation", "sliding", "blocks", "boundary")


def split(corpus: TokenizedCorpus, params: SplitParams) -> SplitResult:
    """Cut `corpus` into examples with the strategy `params.strategy`; index arithmetic only."""
    if params.strategy not in STRATEGIES:
        raise SplitError(f"Unknown strategy {params.strategy!r}: choose one of {', '.join(STRATEGY_NAMES)}.")
    if corpus.num_tokens == 0:
        raise SplitError("The documents hold no tokens: add text first.")
    return STRATEGIES[params.strategy].split(corpus, params)


__all__ = [
    "MIN_WINDOW",
    "REMAINDERS",
    "STRATEGIES",
    "STRATEGY_NAMES",
    "Chunk",
    "SplitError",
    "SplitParams",
    "SplitResult",
    "Strategy",
    "coverage_counts",
    "split",
    "split_statistics",
    "trained_counts",
]
