"""The four strategies: unit cases plus property-based invariants over random texts and parameters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.documents import Document
from core.models import load_tokenizer
from core.strategies import STRATEGY_NAMES, SplitError, SplitParams, split, split_statistics
from core.strategies.statistics import coverage_counts, inner_cuts
from core.text_boundaries import SENTENCE, WORD, cut_levels
from core.tokenization import DOC_SEPARATOR, tokenize_corpus
from tests.tokenizers_for_tests import bos_eos_tokenizer

PROSE = (
    "A context window is the number of tokens a model reads at once. Long documents do not fit. "
    "So they are cut into pieces!\n\nEach piece becomes a training example. Some strategies drop text; "
    "others repeat it. Which one is right depends on the document?\n\n"
)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("default")


def corpus_of(tokenizer, *texts: str):
    documents = [Document(f"doc{i}.txt", text, f"doc{i}.txt") for i, text in enumerate(texts)]
    return tokenize_corpus(tokenizer, documents)


# --- unit cases -------------------------------------------------------------------------------------------


def test_truncation_keeps_the_first_or_last_window_of_each_document(tokenizer):
    corpus = corpus_of(tokenizer, PROSE * 20, "Short one.")
    head = split(corpus, SplitParams(strategy="truncation", window=64))
    assert len(head) == 2
    assert head.chunk(0).token_start == 0 and head.chunk(0).num_tokens == 64
    assert head.chunk(1).num_tokens == corpus.doc_bounds(1)[1] - corpus.doc_bounds(1)[0]
    tail = split(corpus, SplitParams(strategy="truncation", window=64, keep_end=True))
    assert tail.chunk(0).token_end == corpus.doc_bounds(0)[1]
    stats = split_statistics(head)
    assert stats["dropped_tokens"] == corpus.num_tokens - 64 - head.chunk(1).num_tokens
    assert any("dropped" in note for note in head.notes)


def test_sliding_windows_step_by_window_minus_overlap_and_end_at_the_document_end(tokenizer):
    corpus = corpus_of(tokenizer, PROSE * 20)
    result = split(corpus, SplitParams(strategy="sliding", window=100, overlap=30))
    starts, ends = result.token_start, result.token_end
    assert np.all(np.diff(starts) == 70)
    assert ends[-1] == corpus.num_tokens
    assert np.all(ends[:-1] - starts[:-1] == 100)
    assert split_statistics(result)["coverage"] == 1.0


def test_sliding_overlap_as_context_masks_exactly_the_reread_labels(tokenizer):
    corpus = corpus_of(tokenizer, PROSE * 10)
    result = split(corpus, SplitParams(strategy="sliding", window=80, overlap=20, mask_overlap=True))
    assert result.context_tokens[0] == 0
    labels = result.example_labels(1)
    assert np.all(labels[:20] == -100) and np.all(labels[20:] != -100)
    trained = split_statistics(result)["tokens_trained"]
    assert trained == corpus.num_tokens  # each token's label is taken exactly once


def test_blocks_join_documents_with_eos_and_handle_the_remainder(tokenizer):
    corpus = corpus_of(tokenizer, PROSE * 5, PROSE * 3)
    eos = tokenizer.eos_token_id
    stream_length = corpus.num_tokens + 2  # one EOS after each document
    keep = split(corpus, SplitParams(strategy="blocks", window=50, remainder="keep"))
    assert int(keep.num_tokens.sum()) == stream_length
    joined = np.concatenate([keep.example_ids(i) for i in range(len(keep))])
    assert int(np.count_nonzero(joined == eos)) >= 2
    short = stream_length % 50
    pad = split(corpus, SplitParams(strategy="blocks", window=50, remainder="pad"))
    assert len(pad.example_ids(len(pad) - 1)) == 50
    assert np.all(pad.example_labels(len(pad) - 1)[short:] == -100)
    drop = split(corpus, SplitParams(strategy="blocks", window=50, remainder="drop"))
    assert len(drop) == len(keep) - 1 and split_statistics(drop)["dropped_tokens"] > 0


def test_boundary_aware_prefers_paragraphs_then_sentences(tokenizer):
    corpus = corpus_of(tokenizer, PROSE * 10)
    result = split(corpus, SplitParams(strategy="boundary", window=120))
    levels = cut_levels(corpus)
    for cut in inner_cuts(result):
        assert levels[cut] >= SENTENCE
        assert corpus.text[corpus.offsets[cut - 1, 1] - 1] in ".!?\n"
    assert result.cut_inside_sentence == 0


def test_boundary_aware_cuts_a_sentence_longer_than_the_window_and_says_so(tokenizer):
    run_on = "word " * 400 + "end."
    corpus = corpus_of(tokenizer, run_on)
    result = split(corpus, SplitParams(strategy="boundary", window=64))
    assert result.cut_inside_sentence > 0
    assert split_statistics(result)["cuts_inside_sentence"] == result.cut_inside_sentence
    assert any("exceeds the window" in note for note in result.notes)


def test_boundary_overlap_repeats_whole_sentences(tokenizer):
    corpus = corpus_of(tokenizer, PROSE * 10)
    result = split(corpus, SplitParams(strategy="boundary", window=120, overlap=40))
    levels = cut_levels(corpus)
    assert np.all(np.diff(result.token_start) > 0)
    overlapped = result.token_start[1:] < result.token_end[:-1]
    assert overlapped.any()
    assert np.all(levels[result.token_start[1:][overlapped]] >= SENTENCE)


def test_special_tokens_count_toward_the_window():
    tokenizer = bos_eos_tokenizer()
    corpus = corpus_of(tokenizer, PROSE * 10)
    assert corpus.special.count == 2
    for name in ("truncation", "sliding", "boundary"):
        result = split(
            corpus, SplitParams(strategy=name, window=40, overlap=8 if name != "truncation" else 0)
        )
        for i in range(len(result)):
            ids = result.example_ids(i)
            assert len(ids) <= 40
            assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (dict(window=8), "at least 16"),
        (dict(window=64, overlap=64), "smaller than the window"),
        (dict(window=64, overlap=-1), "negative"),
        (dict(window=64, remainder="wrap"), "remainder"),
    ],
)
def test_bad_parameters_say_what_to_change(params, message):
    with pytest.raises(SplitError, match=message):
        SplitParams(**params)


# --- properties -------------------------------------------------------------------------------------------

ALPHABET = st.sampled_from(list("abcdefghij ABC.,;!?\n\n 0123456789'\"-—éü"))
texts = st.lists(st.text(ALPHABET, min_size=1, max_size=600), min_size=1, max_size=3)
params = st.fixed_dictionaries(
    {
        "strategy": st.sampled_from(STRATEGY_NAMES),
        "window": st.integers(16, 120),
        "overlap_share": st.floats(0, 0.9),
        "keep_end": st.booleans(),
        "mask_overlap": st.booleans(),
        "remainder": st.sampled_from(["keep", "pad", "drop"]),
    }
)


def _split(tokenizer, docs, p):
    corpus = corpus_of(tokenizer, *docs)
    overlap = int(p["overlap_share"] * (p["window"] - 1)) if p["strategy"] in ("sliding", "boundary") else 0
    settings_ = SplitParams(
        strategy=p["strategy"],
        window=p["window"],
        overlap=overlap,
        keep_end=p["keep_end"],
        mask_overlap=p["mask_overlap"],
        remainder=p["remainder"],
    )
    return corpus, split(corpus, settings_)


PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY_SETTINGS
@given(docs=texts, p=params)
def test_no_example_exceeds_the_window_and_spans_are_exact(tokenizer, docs, p):
    if not any(d.strip() for d in docs):
        return
    corpus, result = _split(tokenizer, docs, p)
    if corpus.num_tokens == 0:
        return
    for i in range(len(result)):
        ids = result.example_ids(i)
        assert len(ids) <= p["window"]
        assert len(ids) == result.num_tokens[i] + result.padding_tokens[i]
        chunk = result.chunk(i)
        if chunk.token_end > chunk.token_start:
            spans = corpus.offsets[chunk.token_start : chunk.token_end]
            assert chunk.char_start == spans[0, 0] and chunk.char_end == spans[-1, 1]
            assert spans.min() >= chunk.char_start and spans.max() <= chunk.char_end
            # Decode document by document: a block that spans two documents also spans the separator.
            pieces = []
            for j in range(int(result.doc_first[i]), int(result.doc_last[i]) + 1):
                first, last = corpus.doc_bounds(j)
                lo, hi = max(first, chunk.token_start), min(last, chunk.token_end)
                pieces.append(tokenizer.decode(corpus.ids[lo:hi].tolist()))
            body = DOC_SEPARATOR.join(pieces)
            if "\ufffd" not in body:  # a byte-level token can hold half of a character
                assert body == corpus.text[chunk.char_start : chunk.char_end]


@PROPERTY_SETTINGS
@given(docs=texts, p=params)
def test_strategy_invariants(tokenizer, docs, p):
    if not any(d.strip() for d in docs):
        return
    corpus, result = _split(tokenizer, docs, p)
    n = corpus.num_tokens
    seen = coverage_counts(result)
    stats = split_statistics(result)
    strategy = p["strategy"]
    if strategy == "truncation":
        for j in range(corpus.num_docs):
            first, last = corpus.doc_bounds(j)
            kept = seen[first:last].sum()
            assert kept == min(p["window"] - corpus.special.count, last - first)
    if strategy in ("sliding", "boundary"):
        assert np.all(seen >= 1)  # every token is in some example
        assert np.all(np.diff(result.token_start) > 0) or len(result) <= 1
    if strategy == "sliding":
        # no window lies wholly inside the previous one
        assert np.all(result.token_end[1:] > result.token_end[:-1]) or len(result) <= 1
    if strategy == "blocks" and len(result) == 0:
        assert p["remainder"] == "drop" and any("nothing is trained" in note for note in result.notes)
    elif strategy == "blocks":
        # consecutive content ranges partition the token stream (the last one may be dropped)
        assert result.token_start[0] == 0
        assert np.array_equal(result.token_start[1:], result.token_end[:-1])
        if p["remainder"] != "drop":
            assert result.token_end[-1] == n and np.all(seen == 1)
        lengths = result.num_tokens + result.padding_tokens
        assert np.all(lengths[:-1] == p["window"])
    if strategy == "boundary":
        levels = cut_levels(corpus)
        cuts = inner_cuts(result)
        assert int(np.count_nonzero(levels[cuts] < SENTENCE)) == result.cut_inside_sentence
        assert int(np.count_nonzero(levels[cuts] < WORD)) == stats["cuts_inside_word"]
    assert stats["examples"] == len(result)
    assert stats["dropped_tokens"] == int(np.count_nonzero(seen == 0))
