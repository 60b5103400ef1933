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


def _classifier(codes: np.ndarray):
    """classify(predicate) -> [len(codes)] bool, evaluating predicate once per distinct code point."""
    present = np.flatnonzero(np.bincount(codes)) if codes.size else np.zeros(0, np.int64)
    size = int(present[-1]) + 1 if present.size else 1
    characters = [chr(c) for c in present.tolist()]

    def classify(predicate) -> np.ndarray:
        table = np.zeros(size, dtype=bool)
        table[present] = np.fromiter(map(predicate, characters), dtype=bool, count=present.size)
        return table[codes]

    return classify


def compute_cut_levels(corpus: TokenizedCorpus) -> np.ndarray:
    text = corpus.text
    length = len(text)
    n = corpus.num_tokens
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # [length] one code point per char
    classify = _classifier(codes)
    is_word = classify(lambda ch: ch.isalnum() or ch == "_")
    is_space = classify(str.isspace)
    # eff_terminal[i]: char i ends a sentence if whitespace follows (terminal, or closers right after one).
    terminal, closer = classify(TERMINALS.__contains__), classify(CLOSERS.__contains__)
    eff_terminal = terminal
    for _ in range(3):  # up to three closers in a row
        eff_terminal[1:] |= closer[1:] & eff_terminal[:-1]
    cjk_terminal = classify(CJK_TERMINALS.__contains__)

    # The cut before token i sits at that token's first character (the end of the text for i == n).
    c = np.empty(n + 1, dtype=np.int64)
    c[:n] = corpus.offsets[:, 0]
    c[n] = length
    pad = np.concatenate([[False], is_word, [False]])  # pad[k + 1] == is_word[k], False off either end
    mid_word = pad[c] & pad[c + 1]  # chars c-1 and c are both word characters
    levels = np.where(mid_word, WORD_CUT, WORD).astype(np.int8)

    # Only the cut positions need the neighbouring non-space characters: binary search, not full scans.
    solid = np.flatnonzero(~is_space)  # [s] positions of non-space characters
    k = np.searchsorted(solid, c, side="left")  # first solid char at or after each cut
    before = np.where(k > 0, solid[np.maximum(k - 1, 0)], -1)  # last non-space char before the cut
    run_end = np.where(k < solid.size, solid[np.minimum(k, max(solid.size - 1, 0))], length)
    space_before = np.concatenate([[False], is_space])[c]  # char c-1 is whitespace
    space_at = np.concatenate([is_space, [True]])[c]  # char c is whitespace (or the end)
    in_gap = space_before | space_at  # the cut touches a whitespace run
    solid_before = before >= 0
    after_terminal = solid_before & eff_terminal[np.maximum(before, 0)]
    sentence = after_terminal & in_gap & (((before == c - 1) & space_at) | space_before)
    sentence |= np.concatenate([[False], cjk_terminal])[c]
    levels[sentence] = SENTENCE

    # Paragraph: the whitespace run around the cut, (before, run_end), holds two or more newlines.
    newlines = np.flatnonzero(codes == 10)
    count = np.searchsorted(newlines, run_end) - np.searchsorted(newlines, before + 1)
    levels[in_gap & (count >= 2)] = PARAGRAPH
    levels[corpus.doc_token_starts] = PARAGRAPH  # document edges (includes i == n)
    return levels


def cut_levels(corpus: TokenizedCorpus) -> np.ndarray:
    """[n + 1] int8 grade of the cut before each token; cached on the corpus."""
    if "cut_levels" not in corpus._cache:
        corpus._cache["cut_levels"] = compute_cut_levels(corpus)
    return corpus._cache["cut_levels"]
