"""Where a cut between two tokens falls in the text: mid-word, between words, between sentences, between
paragraphs. Computed once per corpus over a code-point array with numpy (no per-word Python objects), so it
takes milliseconds for a megabyte of text.

`cut_levels(corpus)[i]` grades the cut just before token i (i == n is the end): WORD_CUT (0) splits a word,
WORD (1) falls between words, SENTENCE (2) after sentence-ending punctuation, PARAGRAPH (3) inside a
whitespace run that holds a blank line, or at a document edge.
"""

from __future__ import annotations

import numpy as np

from core.tokenization import TokenizedCorpus

WORD_CUT, WORD, SENTENCE, PARAGRAPH = 0, 1, 2, 3
LEVEL_NAMES = {
    WORD_CUT: "inside a word",
    WORD: "between words",
    SENTENCE: "between sentences",
    PARAGRAPH: "between paragraphs",
}

TERMINALS = ".!?…"  # end a sentence when whitespace follows
CLOSERS = "\"'”’»)]"  # may stand between the terminal and the whitespace: 'He left.” Then'
CJK_TERMINALS = "。！？"  # end a sentence with no whitespace after them


def _classify(codes: np.ndarray, predicate) -> np.ndarray:
    """[len(codes)] predicate(chr(code)) for every code point, evaluated once per distinct code point."""
    if codes.size == 0:
        return np.zeros(0, dtype=bool)
    present = np.flatnonzero(np.bincount(codes))  # distinct code points, without sorting the text
    table = np.zeros(int(present[-1]) + 1, dtype=bool)
    table[present] = np.fromiter(
        (predicate(chr(c)) for c in present.tolist()), dtype=bool, count=present.size
    )
    return table[codes]


def _member(codes: np.ndarray, characters: str) -> np.ndarray:
    return _classify(codes, characters.__contains__)


def compute_cut_levels(corpus: TokenizedCorpus) -> np.ndarray:
    text = corpus.text
    length = len(text)
    n = corpus.num_tokens
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # [length] one code point per char
    is_word = _classify(codes, lambda ch: ch.isalnum() or ch == "_")
    is_space = _classify(codes, str.isspace)
    # eff_terminal[i]: char i ends a sentence if whitespace follows (terminal, or closers right after one).
    terminal, closer = _member(codes, TERMINALS), _member(codes, CLOSERS)
    eff_terminal = terminal.copy()
    for _ in range(3):  # up to three closers in a row
        eff_terminal[1:] |= closer[1:] & eff_terminal[:-1]
    cjk_terminal = _member(codes, CJK_TERMINALS)

    # The cut before token i sits at that token's first character (the end of the text for i == n).
    c = np.empty(n + 1, dtype=np.int64)
    c[:n] = corpus.offsets[:, 0]
    c[n] = length
    pad = np.concatenate([[False], is_word, [False]])  # pad[k + 1] == is_word[k], False off either end
    mid_word = pad[c] & pad[c + 1]  # chars c-1 and c are both word characters
    levels = np.where(mid_word, WORD_CUT, WORD).astype(np.int8)

    # last_solid[k]: index of the last non-space char before position k (-1 if none): shape [length + 1].
    indices = np.where(~is_space, np.arange(length), -1)
    last_solid = np.concatenate([[-1], np.maximum.accumulate(indices)]) if length else np.array([-1])
    before = last_solid[c]  # the last non-space char before each cut
    space_before = np.concatenate([[False], is_space])[c]  # char c-1 is whitespace
    space_at = np.concatenate([is_space, [True]])[c]  # char c is whitespace (or the end)
    in_gap = space_before | space_at  # the cut touches a whitespace run
    solid = before >= 0
    after_terminal = solid & np.where(solid, eff_terminal[np.maximum(before, 0)], False)
    sentence = after_terminal & in_gap & ((before == c - 1) & space_at | space_before)
    sentence |= np.concatenate([[False], cjk_terminal])[c]
    levels[sentence] = SENTENCE

    # Paragraph: the whitespace run around the cut holds two or more newlines.
    newlines = np.concatenate([[0], np.cumsum(codes == 10)])  # [length + 1]
    next_solid_idx = np.where(~is_space, np.arange(length), length)
    next_solid = np.concatenate([np.minimum.accumulate(next_solid_idx[::-1])[::-1], [length]])  # [length + 1]
    run_start = before + 1
    run_end = next_solid[c]
    paragraph = in_gap & (newlines[run_end] - newlines[run_start] >= 2)
    levels[paragraph] = PARAGRAPH
    levels[corpus.doc_token_starts] = PARAGRAPH  # document edges (includes i == n)
    return levels


def cut_levels(corpus: TokenizedCorpus) -> np.ndarray:
    """[n + 1] int8 grade of the cut before each token; cached on the corpus."""
    if "cut_levels" not in corpus._cache:
        corpus._cache["cut_levels"] = compute_cut_levels(corpus)
    return corpus._cache["cut_levels"]
