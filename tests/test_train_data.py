"""Held-out tails set aside before chunking, rows for every strategy, packing without padding."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.documents import Document
from core.models import load_tokenizer
from core.training.config import TrainConfig
from core.training.data import IGNORE, Collator, build_training_data, hold_out_cut, pack_rows
from tests.train_fixtures import TEXT, tiny_model  # noqa: F401  (fixture)

DOCS = [Document("first", TEXT * 3, "test"), Document("second", TEXT.upper() * 2, "test")]


def test_the_cut_lands_at_a_line_start_near_the_share():
    text = "line one\nline two\nline three\nline four\n" * 10
    cut = hold_out_cut(text, 0.2)
    assert text[cut - 1] == "\n"
    assert 0.7 < cut / len(text) < 0.85
    assert hold_out_cut(text, 0.0) == len(text)


@pytest.mark.parametrize("strategy", ["truncation", "sliding", "blocks", "boundary"])
def test_no_training_example_contains_held_out_text(tiny_model, strategy):  # noqa: F811
    tokenizer = load_tokenizer(str(tiny_model))
    config = TrainConfig(model=str(tiny_model), strategy=strategy, window=48, eval_share=0.25)
    data = build_training_data(config, DOCS, tokenizer)
    assert data.train_rows and data.eval_rows
    for document, cut in zip(DOCS, data.cuts, strict=True):
        assert 0 < cut < len(document.text)
    # Every training token comes from a document's head: the examples' spans end before the cut.
    result = data.train_result
    for i in range(len(result)):
        j = int(result.doc_last[i])
        end_in_doc = int(result.char_end[i]) - int(result.corpus.doc_char_starts[j])
        assert end_in_doc <= data.cuts[j]
    # And the held-out windows hold exactly the tails, token for token.
    tails = "".join(d.text[c:] for d, c in zip(DOCS, data.cuts, strict=True))
    decoded = "".join(tokenizer.decode(r["input_ids"].tolist()) for r in data.eval_rows)
    assert decoded.replace("<|endoftext|>", "") == tails


def test_packing_fills_rows_without_padding_and_keeps_examples_apart(tiny_model):  # noqa: F811
    tokenizer = load_tokenizer(str(tiny_model))
    plain = TrainConfig(model=str(tiny_model), strategy="boundary", window=48, micro_batch=2)
    packed = plain.with_(packing=True)
    rows = build_training_data(plain, DOCS, tokenizer).train_rows
    packed_rows = build_training_data(packed, DOCS, tokenizer).train_rows
    assert len(packed_rows) < len(rows)
    assert all(len(r["input_ids"]) <= 2 * 48 for r in packed_rows)
    assert np.array_equal(
        np.concatenate([r["input_ids"] for r in packed_rows]), np.concatenate([r["input_ids"] for r in rows])
    )
    for row in packed_rows:
        starts = np.flatnonzero(row["position_ids"] == 0)
        assert len(starts) == len(row["examples"])
        assert (
            row["labels"][starts] == IGNORE
        ).all()  # no example is trained to predict the next one's start
    batch = Collator(pad_id=0)([packed_rows[0]])
    assert set(batch) == {"input_ids", "labels", "position_ids"}  # no mask: transformers makes it per example
    assert batch["input_ids"].shape == (1, len(packed_rows[0]["input_ids"]))


def test_pack_rows_never_splits_an_example():
    rows = [
        {"input_ids": np.arange(n), "labels": np.arange(n), "example": k}
        for k, n in enumerate([5, 4, 3, 6, 1])
    ]
    packed = pack_rows(rows, capacity=8)
    assert [r["examples"] for r in packed] == [[0], [1, 2], [3, 4]]


def test_collator_pads_labels_with_ignore_and_masks_attention():
    rows = [
        {"input_ids": np.array([5, 6, 7]), "labels": np.array([5, 6, 7])},
        {"input_ids": np.array([8]), "labels": np.array([8])},
    ]
    batch = Collator(pad_id=0)(rows)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[5, 6, 7], [8, IGNORE, IGNORE]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_steps_follow_the_trainer_count(tiny_model):  # noqa: F811
    tokenizer = load_tokenizer(str(tiny_model))
    config = TrainConfig(
        model=str(tiny_model), window=48, micro_batch=2, grad_accum=2, epochs=2.0, max_steps=0
    )
    data = build_training_data(config, DOCS, tokenizer)
    rows = len(data.train_rows)
    per_epoch = math.ceil(math.ceil(rows / 2) / 2)
    assert data.steps_per_epoch(config) == per_epoch
    assert data.total_steps(config) == 2 * per_epoch
    assert data.total_steps(config.with_(max_steps=5)) == 5
