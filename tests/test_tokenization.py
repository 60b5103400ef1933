"""Tokenize once, exactly: the parallel path gives the ids and offsets of one plain tokenizer call."""

from __future__ import annotations

import numpy as np
import pytest

from core.documents import Document, load_document
from core.models import load_tokenizer
from core.tokenization import DOC_SEPARATOR, cut_points, encode_parallel, tokenize_corpus


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("default")


def _single_call(tokenizer, text: str) -> tuple[np.ndarray, np.ndarray]:
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return np.asarray(encoding["input_ids"]), np.asarray(encoding["offset_mapping"]).reshape(-1, 2)


def test_cut_points_fall_after_a_newline_before_text():
    text = "line one\nline two\n\nparagraph\n\n  indented\nlast\n" * 200
    cuts = cut_points(text, piece_chars=100)
    assert cuts[0] == 0 and cuts[-1] == len(text)
    assert len(cuts) > 10
    for cut in cuts[1:-1]:
        assert text[cut - 1] == "\n" and not text[cut - 2].isspace() and not text[cut].isspace()


def test_the_fast_paths_are_taken_for_the_default_tokenizer(tokenizer):
    from core.tokenization import _method, _plain_backend

    safe, lengths = _method(_plain_backend(tokenizer))
    assert safe  # pieces encoded in parallel
    assert lengths is not None  # offsets derived from byte lengths (byte-level BPE)


def test_tokenizers_that_are_not_byte_level_keep_their_own_offsets():
    from tokenizers import Tokenizer, models, pre_tokenizers

    from core.byte_offsets import byte_lengths

    word_level = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    word_level.pre_tokenizer = pre_tokenizers.Whitespace()
    assert byte_lengths(word_level) is None


def test_parallel_equals_single_call_on_mixed_text(tokenizer):
    text = (
        "Café — “quoted” text, emoji 🙂👩‍👩‍👧, numbers 12345.\n\n\tTabs\n  spaces  \nZeile mit Ümlauten.\n"
        "中文句子。日本語のテキスト。\nA literal special token <|im_end|> inside the text.\n"
    ) * 1500
    ids, offsets = encode_parallel(tokenizer, text)
    single_ids, single_offsets = _single_call(tokenizer, text)
    assert np.array_equal(ids, single_ids)
    assert np.array_equal(offsets, single_offsets)


@pytest.mark.parametrize("name", ["tinyshakespeare.txt", "geotopo-lecture-notes.pdf"])
def test_parallel_equals_single_call_on_shared_corpora(tokenizer, shared_corpora, name):
    (document,) = load_document(shared_corpora / name)
    ids, offsets = encode_parallel(tokenizer, document.text)
    single_ids, single_offsets = _single_call(tokenizer, document.text)
    assert len(ids) > 10_000
    assert np.array_equal(ids, single_ids)
    assert np.array_equal(offsets, single_offsets)


def test_corpus_keeps_documents_apart_and_offsets_point_into_the_joined_text(tokenizer):
    documents = [
        Document("a.txt", "Alpha beta gamma.", "a.txt"),
        Document("b.txt", "Delta epsilon.", "b.txt"),
    ]
    corpus = tokenize_corpus(tokenizer, documents)
    assert corpus.text == "Alpha beta gamma." + DOC_SEPARATOR + "Delta epsilon."
    assert corpus.num_docs == 2
    first, last = corpus.doc_bounds(1)
    start, end = corpus.char_span(first, last)
    assert corpus.text[start:end] == "Delta epsilon."
    assert corpus.token_doc.tolist() == [0] * corpus.doc_bounds(0)[1] + [1] * (last - first)


def test_empty_corpus_is_refused_with_advice(tokenizer):
    with pytest.raises(ValueError, match="No documents"):
        tokenize_corpus(tokenizer, [])
