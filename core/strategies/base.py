"""What every strategy takes and returns.

One registry, one shape (as peft does for its adapters): a strategy is a `Strategy` subclass registered
under a short name; `split(corpus, params)` returns a `SplitResult` whose chunks are parallel numpy arrays
(so a 100 MB corpus with a million chunks stays cheap), and whose `example_ids(i)` gives the exact token ids
the model is trained on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar, Literal

import numpy as np

from core.tokenization import TokenizedCorpus

MIN_WINDOW = 16
Remainder = Literal["keep", "pad", "drop"]
REMAINDERS: tuple[str, ...] = ("keep", "pad", "drop")


class SplitError(ValueError):
    """Parameters that cannot split this corpus; the message says what to change."""


@dataclass(frozen=True)
class SplitParams:
    """How to cut a corpus into training examples."""

    strategy: str = "sliding"
    """registry name: truncation, sliding, blocks or boundary"""
    window: int = 2048
    """W: tokens per example, special tokens included (the model's context length or less)"""
    overlap: int = 0
    """sliding: tokens each window shares with the previous; boundary: budget for whole overlapping sentences"""
    keep_end: bool = False
    """truncation: keep the last W tokens instead of the first"""
    mask_overlap: bool = False
    """sliding: the re-read overlap is context only (labels -100) instead of trained twice"""
    remainder: str = "keep"
    """blocks: the final partial block is kept short, padded to W, or dropped"""
    batch_size: int = 1
    """examples per optimizer step (micro-batch x accumulation x GPUs), for steps per epoch"""

    def __post_init__(self) -> None:
        if self.window < MIN_WINDOW:
            raise SplitError(f"The window must be at least {MIN_WINDOW} tokens (got {self.window}).")
        if self.overlap < 0:
            raise SplitError(f"The overlap cannot be negative (got {self.overlap}).")
        if self.overlap >= self.window:
            raise SplitError(
                f"The overlap ({self.overlap}) must be smaller than the window ({self.window}): each window "
                f"steps forward by window − overlap tokens. Lower the overlap or raise the window."
            )
        if self.remainder not in REMAINDERS:
            raise SplitError(f"remainder must be one of {', '.join(REMAINDERS)} (got {self.remainder!r}).")
        if self.batch_size < 1:
            raise SplitError(f"The batch size must be at least 1 (got {self.batch_size}).")


@dataclass(frozen=True)
class Chunk:
    """One training example, located in the corpus."""

    index: int
    token_start: int  # first content token (index into corpus.ids)
    token_end: int  # one past the last content token
    char_start: int  # exact span in corpus.text: first token's start ...
    char_end: int  # ... to last token's end
    num_tokens: int  # the example's length before padding: content + special/separator tokens
    source: str  # document name(s)
    context_tokens: int = 0  # leading tokens whose labels are masked (-100)
    padding_tokens: int = 0  # pad tokens appended to reach W
    extra_tokens: int = 0  # special and separator tokens (BOS/EOS) inside the example


@dataclass(eq=False)
class SplitResult:
    """Chunks as parallel arrays (shape [k] each) plus what the strategy wants the user to know."""

    corpus: TokenizedCorpus
    params: SplitParams
    token_start: np.ndarray
    token_end: np.ndarray
    extra_tokens: np.ndarray  # special + separator tokens per example
    context_tokens: np.ndarray  # masked leading tokens per example
    padding_tokens: np.ndarray  # pad tokens per example
    doc_first: np.ndarray  # document of the first content token
    doc_last: np.ndarray  # document of the last content token
    notes: list[str] = field(default_factory=list)
    cut_inside_sentence: int = 0  # boundary: chunks that had to end inside a sentence (one sentence > W)
    stream_start: np.ndarray | None = None  # blocks: the example is stream[stream_start:stream_end]

    def __len__(self) -> int:
        return int(self.token_start.shape[0])

    @property
    def content_tokens(self) -> np.ndarray:
        return self.token_end - self.token_start

    @property
    def num_tokens(self) -> np.ndarray:
        return self.content_tokens + self.extra_tokens

    @cached_property
    def char_start(self) -> np.ndarray:
        starts = self.corpus.offsets[np.minimum(self.token_start, max(self.corpus.num_tokens - 1, 0)), 0]
        return np.where(self.content_tokens > 0, starts, 0)

    @cached_property
    def char_end(self) -> np.ndarray:
        ends = self.corpus.offsets[np.maximum(self.token_end - 1, 0), 1]
        return np.where(self.content_tokens > 0, ends, 0)

    def source_of(self, i: int) -> str:
        first, last = int(self.doc_first[i]), int(self.doc_last[i])
        names = self.corpus.names
        return names[first] if first == last else "+".join(names[first : last + 1])

    def chunk(self, i: int) -> Chunk:
        start, end = int(self.token_start[i]), int(self.token_end[i])
        char_start, char_end = self.corpus.char_span(start, end)
        return Chunk(
            index=i,
            token_start=start,
            token_end=end,
            char_start=char_start,
            char_end=char_end,
            num_tokens=int(self.num_tokens[i]),
            source=self.source_of(i),
            context_tokens=int(self.context_tokens[i]),
            padding_tokens=int(self.padding_tokens[i]),
            extra_tokens=int(self.extra_tokens[i]),
        )

    @property
    def chunks(self) -> list[Chunk]:
        return [self.chunk(i) for i in range(len(self))]

    def __iter__(self) -> Iterator[Chunk]:
        return (self.chunk(i) for i in range(len(self)))

    def example_ids(self, i: int) -> np.ndarray:
        """[num_tokens + padding] the exact ids of example i, special and pad tokens included."""
        return STRATEGIES[self.params.strategy].example_ids(self, i)

    def example_labels(self, i: int) -> np.ndarray:
        """[same] causal-LM labels: the ids, with -100 where the loss is not taken (context, padding)."""
        labels = self.example_ids(i).astype(np.int64)
        context, padding = int(self.context_tokens[i]), int(self.padding_tokens[i])
        prefix = len(self.corpus.special.prefix) if self.stream_start is None else 0
        if context:
            labels[prefix : prefix + context] = -100
        if padding:
            labels[len(labels) - padding :] = -100
        return labels


class Strategy:
    """A way to cut a corpus into examples. Subclasses set the class attributes and implement `split`."""

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]  # one sentence for the UI

    def split(self, corpus: TokenizedCorpus, params: SplitParams) -> SplitResult:
        raise NotImplementedError

    def example_ids(self, result: SplitResult, i: int) -> np.ndarray:
        """Default: the post-processor's special tokens around a slice of one document."""
        corpus = result.corpus
        special = corpus.special
        body = corpus.ids[int(result.token_start[i]) : int(result.token_end[i])]
        padding = int(result.padding_tokens[i])
        pad = [special.pad_id if special.pad_id is not None else 0] * padding
        return np.concatenate(
            [
                np.asarray(special.prefix, np.int32),
                body,
                np.asarray(special.suffix, np.int32),
                np.asarray(pad, np.int32),
            ]
        )


STRATEGIES: dict[str, Strategy] = {}


def register(cls: type[Strategy]) -> type[Strategy]:
    STRATEGIES[cls.name] = cls()
    return cls


def capacity(corpus: TokenizedCorpus, params: SplitParams) -> int:
    """Content tokens per example: W less the special tokens the post-processor adds to each."""
    room = params.window - corpus.special.count
    if room < 1:
        raise SplitError(
            f"A window of {params.window} leaves no room beside {corpus.special.count} special tokens."
        )
    return room


def per_document_result(
    corpus: TokenizedCorpus,
    params: SplitParams,
    starts: list[np.ndarray],
    ends: list[np.ndarray],
    docs: list[np.ndarray],
    context: list[np.ndarray] | None = None,
) -> SplitResult:
    """Assemble a result whose examples each lie inside one document, with its special tokens around them."""
    token_start = np.concatenate(starts).astype(np.int64) if starts else np.zeros(0, np.int64)
    token_end = np.concatenate(ends).astype(np.int64) if ends else np.zeros(0, np.int64)
    doc = np.concatenate(docs).astype(np.int32) if docs else np.zeros(0, np.int32)
    count = token_start.shape[0]
    return SplitResult(
        corpus=corpus,
        params=params,
        token_start=token_start,
        token_end=token_end,
        extra_tokens=np.full(count, corpus.special.count, np.int64),
        context_tokens=np.concatenate(context).astype(np.int64) if context else np.zeros(count, np.int64),
        padding_tokens=np.zeros(count, np.int64),
        doc_first=doc,
        doc_last=doc,
    )
