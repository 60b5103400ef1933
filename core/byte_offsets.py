"""Character offsets without asking the tokenizer for them, for byte-level BPE tokenizers (GPT-2, SmolLM2,
Llama-3, Qwen, Phi-2 ...).

Asking the Rust tokenizer for offsets costs it alignment tracking and us one Python tuple per token. A
byte-level BPE vocabulary spells every token with one character per byte, and its tokens cover the input's
UTF-8 bytes end to end, so the offsets follow from the ids alone: cumulative byte lengths give byte spans,
and a byte -> character map turns them into character spans (a token holding part of a character gets that
whole character, as the tokenizer's own offsets do). `byte_lengths` returns None for any tokenizer where this
does not hold, and the caller checks the result against the tokenizer's own offsets on a probe first.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def byte_lengths(backend: Any) -> np.ndarray | None:
    """[vocab] UTF-8 length in bytes of each token id, or None if the tokenizer is not plain byte-level BPE."""
    if backend.normalizer is not None or "ByteLevel" not in str(backend.pre_tokenizer):
        return None
    if type(backend.model).__name__ != "BPE":
        return None
    vocab = backend.get_vocab(with_added_tokens=False)
    added = backend.get_added_tokens_decoder()
    size = max([*vocab.values(), *added.keys()]) + 1
    lengths = np.zeros(size, dtype=np.int64)
    for token, index in vocab.items():
        lengths[index] = len(token)  # one character of the byte-level alphabet per byte
    for index, token in added.items():
        lengths[index] = len(token.content.encode("utf-8"))  # added tokens match their text literally
    return lengths


def offsets_from_ids(text: str, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray | None:
    """[n, 2] character spans of the tokens `ids` that spell `text` end to end; None if the bytes disagree."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    token_bytes = lengths[ids]
    ends = np.cumsum(token_bytes)
    if ids.size and (ends[-1] != data.size or token_bytes.min() <= 0):
        return None
    starts = ends - token_bytes
    # char_of_byte[b]: the character that byte b belongs to (lead bytes start a character).
    char_of_byte = np.cumsum((data & 0xC0) != 0x80) - 1
    offsets = np.empty((ids.size, 2), dtype=np.int32)
    offsets[:, 0] = char_of_byte[starts] if ids.size else 0
    offsets[:, 1] = char_of_byte[ends - 1] + 1 if ids.size else 0
    return offsets
