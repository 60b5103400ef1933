"""Tokenize a corpus once, keeping every token's character span.

Everything downstream (the four strategies, the text view, the exports) is index arithmetic over the arrays
built here, so moving a slider never re-tokenizes.

Speed: one huge string is tokenized on one core, and the Rust tokenizer tracks alignments over the whole
string. Cutting the text into pieces where the pre-tokenizer splits anyway and encoding them as a batch uses
every core and gives the same ids; `encode_parallel` checks that claim for the tokenizer at hand on a probe
before relying on it, and falls back to one call when it does not hold.
"""

from __future__ import annotations

import itertools
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from core.byte_offsets import byte_lengths, offsets_from_ids
from core.documents import Document

DOC_SEPARATOR = "\n\n"  # between documents in `TokenizedCorpus.text`; no token covers it
PIECE_CHARS = 4_096  # target size of the pieces encoded in parallel (smaller pieces encode faster)
# A safe cut: a single newline between two non-space characters ("x\nY" -> "x\n" | "Y"). GPT-2 style
# byte-level pre-tokenizers split there either way. After "\n\n" it is not safe: at the end of a piece the
# whitespace rule takes both newlines as one pre-token ("ĊĊ"), inside the text it splits them ("Ċ", "Ċ").
_LINE_START = re.compile(r"(?<=\S\n)(?=\S)")

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class SpecialTokens:
    """What the tokenizer's post-processor adds around one sequence, and the ids the strategies need."""

    prefix: tuple[int, ...]  # e.g. (BOS,) for Llama-2, () for SmolLM2
    suffix: tuple[int, ...]  # e.g. (EOS,) for some models
    eos_id: int | None  # joins documents in the blocks strategy
    pad_id: int | None  # fills the last block when the remainder is padded

    @property
    def count(self) -> int:
        return len(self.prefix) + len(self.suffix)


@dataclass(frozen=True, eq=False)
class TokenizedCorpus:
    """Documents tokenized separately, laid end to end.

    Shapes: ids [n], offsets [n, 2] (char spans into `text`), doc_token_starts [d + 1], doc_char_starts [d + 1].
    Document j owns tokens doc_token_starts[j]:doc_token_starts[j+1] and characters
    doc_char_starts[j]:doc_char_starts[j] + len(document j); DOC_SEPARATOR lies between documents.
    """

    text: str
    ids: np.ndarray
    offsets: np.ndarray
    doc_token_starts: np.ndarray
    doc_char_starts: np.ndarray
    names: tuple[str, ...]
    special: SpecialTokens
    tokenizer_name: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def num_tokens(self) -> int:
        return int(self.ids.shape[0])

    @property
    def num_docs(self) -> int:
        return len(self.names)

    def doc_bounds(self, j: int) -> tuple[int, int]:
        return int(self.doc_token_starts[j]), int(self.doc_token_starts[j + 1])

    @cached_property
    def token_doc(self) -> np.ndarray:
        """[n] index of the document each token belongs to."""
        lengths = np.diff(self.doc_token_starts)
        return np.repeat(np.arange(self.num_docs, dtype=np.int32), lengths)

    def char_span(self, token_start: int, token_end: int) -> tuple[int, int]:
        """The exact characters of tokens [token_start, token_end): first token's start to last token's end."""
        if token_end <= token_start:
            return 0, 0
        return int(self.offsets[token_start, 0]), int(self.offsets[token_end - 1, 1])


def special_tokens_of(tokenizer: Any) -> SpecialTokens:
    # The post-processor's own output for a one-word text: special tokens are flagged in the mask.
    encoding = _plain_backend(tokenizer).encode("a", add_special_tokens=True)
    mask, ids = encoding.special_tokens_mask, encoding.ids
    first_content = mask.index(0) if 0 in mask else len(mask)
    last_content = len(mask) - 1 - mask[::-1].index(0) if 0 in mask else len(mask) - 1
    return SpecialTokens(
        prefix=tuple(ids[:first_content]),
        suffix=tuple(ids[last_content + 1 :]),
        eos_id=tokenizer.eos_token_id,
        pad_id=_pad_id(tokenizer),
    )


def _pad_id(tokenizer: Any) -> int | None:
    if tokenizer.pad_token_id is not None:
        return int(tokenizer.pad_token_id)
    return None if tokenizer.eos_token_id is None else int(tokenizer.eos_token_id)


_BACKENDS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _plain_backend(tokenizer: Any) -> Any:
    """A copy of the Rust tokenizer with no truncation or padding left over from earlier calls (cached:
    copying a 50k-vocabulary tokenizer takes about 0.1 s)."""
    from tokenizers import Tokenizer

    backend = _BACKENDS.get(tokenizer)
    if backend is None:
        backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        backend.no_truncation()
        backend.no_padding()
        _BACKENDS[tokenizer] = backend
    return backend


def cut_points(text: str, piece_chars: int = PIECE_CHARS) -> list[int]:
    """Cut positions (after a newline, before non-space) roughly every `piece_chars`; includes 0 and len."""
    cuts = [0]
    position = piece_chars
    while position < len(text):
        match = _LINE_START.search(text, position)
        if match is None:
            break
        cuts.append(match.start())
        position = match.start() + piece_chars
    cuts.append(len(text))
    return cuts


def _encode_pieces(
    backend: Any, text: str, cuts: Sequence[int], lengths: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Encode text[cuts[0]:cuts[-1]] as a batch of pieces. With `lengths` (byte-level BPE), ids only are asked
    for and the offsets are derived from them (see core.byte_offsets), which is faster."""
    pieces = [text[a:b] for a, b in itertools.pairwise(cuts)]
    flatten = itertools.chain.from_iterable
    if lengths is not None:
        encodings = backend.encode_batch_fast(pieces, add_special_tokens=False)
        ids = np.fromiter(flatten(e.ids for e in encodings), dtype=np.int32)
        offsets = offsets_from_ids(text[cuts[0] : cuts[-1]], ids, lengths)
        if offsets is not None:
            return ids, offsets + np.int32(cuts[0])
    encodings = backend.encode_batch(pieces, add_special_tokens=False)
    ids = np.fromiter(flatten(e.ids for e in encodings), dtype=np.int32)
    offsets = np.fromiter(flatten(flatten(e.offsets for e in encodings)), dtype=np.int32).reshape(-1, 2)
    shifts = np.repeat(np.asarray(cuts[:-1], dtype=np.int32), [len(e.ids) for e in encodings])
    return ids, offsets + shifts[:, None]


def _encode_whole(backend: Any, text: str) -> tuple[np.ndarray, np.ndarray]:
    encoding = backend.encode(text, add_special_tokens=False)
    return (
        np.asarray(encoding.ids, dtype=np.int32),
        np.asarray(encoding.offsets, dtype=np.int32).reshape(-1, 2),
    )


def pieces_are_exact(backend: Any, probe: str, lengths: np.ndarray | None = None) -> bool:
    """Whether cutting at line starts (and deriving offsets from `lengths`, if given) leaves this
    tokenizer's ids and offsets unchanged, checked on `probe`."""
    cuts = cut_points(probe, piece_chars=256)
    whole_ids, whole_offsets = _encode_whole(backend, probe)
    ids, offsets = _encode_pieces(backend, probe, cuts, lengths)
    return np.array_equal(ids, whole_ids) and np.array_equal(offsets, whole_offsets)


_PROBE = (
    "Chapter 1\nThe quick brown fox, it's said, jumps over 1,234 lazy dogs.\n\nNext paragraph.\n\n  Indented line.\n"
    "Ünïcödé — “quotes” and emoji 🙂 here.\n\tTabbed\nLast line with trailing spaces   \nEnd.\n" * 8
)


PIECES_PER_BATCH = 256  # about 1 MB of text per encode_batch call: bounds the Encoding objects alive at once


_METHODS: weakref.WeakKeyDictionary[Any, tuple[bool, np.ndarray | None]] = weakref.WeakKeyDictionary()


def _method(backend: Any) -> tuple[bool, np.ndarray | None]:
    """(pieces are safe, byte lengths for derived offsets or None), checked once per tokenizer on the probe."""
    if backend not in _METHODS:
        safe = pieces_are_exact(backend, _PROBE)
        lengths = byte_lengths(backend) if safe else None
        if lengths is not None and not pieces_are_exact(backend, _PROBE, lengths):
            lengths = None
        _METHODS[backend] = (safe, lengths)
    return _METHODS[backend]


def encode_parallel(
    tokenizer: Any, text: str, progress: Callable[[float], None] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(ids [n], offsets [n, 2]) for `text`, without special tokens; identical to one `tokenizer(text)` call.
    `progress(fraction)` is called after each batch of pieces (a 100 MB corpus takes a while)."""
    backend = _plain_backend(tokenizer)
    safe, lengths = _method(backend)
    # The document's own opening is checked too: its text may hold what the probe does not.
    if len(text) <= 2 * PIECE_CHARS or not safe or not pieces_are_exact(backend, text[:8_000], lengths):
        return _encode_whole(backend, text)
    cuts = cut_points(text)
    ids_parts, offset_parts = [], []
    for first in range(0, len(cuts) - 1, PIECES_PER_BATCH):
        batch = cuts[first : first + PIECES_PER_BATCH + 1]
        ids, offsets = _encode_pieces(backend, text, batch, lengths)
        ids_parts.append(ids)
        offset_parts.append(offsets)
        if progress:
            progress(batch[-1] / len(text))
    return np.concatenate(ids_parts), np.concatenate(offset_parts)


def tokenize_corpus(
    tokenizer: Any, documents: Sequence[Document], progress: Progress | None = None
) -> TokenizedCorpus:
    """Tokenize each document separately (they stay separate) and lay them end to end."""
    if not documents:
        raise ValueError("No documents to tokenize: add a file, paste text, or use the sample.")
    ids_parts, offset_parts, token_starts, char_starts = [], [], [0], []
    char_base = 0
    total_chars = sum(len(d.text) for d in documents)
    for index, document in enumerate(documents):
        if progress:
            progress(char_base / max(1, total_chars), f"Tokenizing {document.name}")
        base, share = char_base / max(1, total_chars), len(document.text) / max(1, total_chars)
        report = (
            (lambda f, b=base, w=share, name=document.name: progress(b + w * f, f"Tokenizing {name}"))
            if progress
            else None
        )
        ids, offsets = encode_parallel(tokenizer, document.text, report)
        ids_parts.append(ids)
        offset_parts.append(offsets + char_base)
        token_starts.append(token_starts[-1] + len(ids))
        char_starts.append(char_base)
        char_base += len(document.text) + (len(DOC_SEPARATOR) if index < len(documents) - 1 else 0)
    char_starts.append(char_base)
    if progress:
        progress(1.0, "Tokenized")
    return TokenizedCorpus(
        text=DOC_SEPARATOR.join(d.text for d in documents),
        ids=np.concatenate(ids_parts) if ids_parts else np.zeros(0, np.int32),
        offsets=np.concatenate(offset_parts) if offset_parts else np.zeros((0, 2), np.int32),
        doc_token_starts=np.asarray(token_starts, dtype=np.int64),
        doc_char_starts=np.asarray(char_starts, dtype=np.int64),
        names=tuple(d.name for d in documents),
        special=special_tokens_of(tokenizer),
        tokenizer_name=str(getattr(tokenizer, "name_or_path", "")),
    )
