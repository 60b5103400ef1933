"""Documents -> held-out tails -> the chosen split -> rows the Trainer batches.

The evaluation text is the tail (`eval_share` of the characters) of each document, cut off *before* chunking,
so no training example contains a token of it. The heads are split with the run's strategy
(core.strategies); the tails are cut into plain consecutive W-token windows, the same for every strategy, so
runs that differ only in strategy are evaluated on identical text.

Packing (blocks and boundary): whole examples are laid end to end into rows of micro_batch × W tokens, with
position ids restarting at each example and no attention mask, which transformers turns into a block-diagonal
causal mask (masking_utils.find_packed_sequence_indices), as DataCollatorWithFlattening does: no padding, and
no example attends to another. The first label of each packed example is -100, so no token is trained to
predict the start of an unrelated example.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.documents import Document
from core.strategies import SplitParams, SplitResult, split
from core.strategies.blocks import document_stream
from core.tokenization import TokenizedCorpus, tokenize_corpus
from core.training.config import TrainConfig

IGNORE = -100  # the label value PyTorch's cross-entropy skips

Row = dict[str, Any]  # input_ids [L] int64, labels [L] int64, example(s); position_ids [L] when packed


def hold_out_cut(text: str, share: float) -> int:
    """Where the held-out tail starts: about `share` of the characters from the end, moved back to the start
    of a line (or a word) when one lies in the last half of the tail."""
    if share <= 0 or not text:
        return len(text)
    target = round(len(text) * (1.0 - share))
    slack = max(1, (len(text) - target) // 2)
    for separator in ("\n", " "):
        position = text.rfind(separator, max(0, target - slack), target)
        if position >= 0:
            return position + 1
    return target


def split_documents(
    documents: Sequence[Document], share: float
) -> tuple[list[Document], list[Document], list[int]]:
    """(heads for training, tails for evaluation, the cut of each document in characters)."""
    heads, tails, cuts = [], [], []
    for document in documents:
        cut = hold_out_cut(document.text, share)
        cuts.append(cut)
        heads.append(Document(name=document.name, text=document.text[:cut], source=document.source))
        if cut < len(document.text):
            tails.append(Document(name=document.name, text=document.text[cut:], source=document.source))
    return heads, tails, cuts


def example_token_index(result: SplitResult, i: int) -> np.ndarray:
    """[len(example_ids(i))] the corpus token each position of example i holds, -1 for special/pad tokens."""
    length = len(result.example_ids(i))
    index = np.full(length, -1, np.int64)
    if result.stream_start is not None:  # blocks: positions are a slice of the EOS-joined stream
        _, content_index = document_stream(result.corpus)
        start = int(result.stream_start[i])
        body = content_index[start : start + int(result.num_tokens[i])]
        index[: body.shape[0]] = body
        return index
    prefix = len(result.corpus.special.prefix)
    start, end = int(result.token_start[i]), int(result.token_end[i])
    index[prefix : prefix + end - start] = np.arange(start, end)
    return index


def example_rows(result: SplitResult) -> list[Row]:
    """One row per example, padding stripped (the collator pads per batch); rows with no label dropped."""
    rows = []
    for i in range(len(result)):
        ids = result.example_ids(i).astype(np.int64)
        labels = result.example_labels(i)
        length = len(ids) - int(result.padding_tokens[i])
        if not (labels[1:length] != IGNORE).any():  # labels[0] is never predicted (causal shift)
            continue
        rows.append({"input_ids": ids[:length], "labels": labels[:length], "example": i})
    return rows


def pack_rows(rows: Sequence[Row], capacity: int) -> list[Row]:
    """Lay whole examples end to end, in order, into rows of at most `capacity` tokens."""
    packed: list[Row] = []
    current: list[Row] = []
    used = 0
    for row in rows:
        length = len(row["input_ids"])
        if current and used + length > capacity:
            packed.append(_join(current))
            current, used = [], 0
        current.append(row)
        used += length
    if current:
        packed.append(_join(current))
    return packed


def _join(rows: Sequence[Row]) -> Row:
    labels = []
    for row in rows:
        first_masked = row["labels"].copy()
        first_masked[0] = IGNORE
        labels.append(first_masked)
    return {
        "input_ids": np.concatenate([r["input_ids"] for r in rows]),
        "labels": np.concatenate(labels),
        "position_ids": np.concatenate([np.arange(len(r["input_ids"]), dtype=np.int64) for r in rows]),
        "examples": [r["example"] for r in rows],
    }


@dataclass
class TrainingData:
    """What the worker trains and evaluates on, and where it came from."""

    train_rows: list[Row]
    eval_rows: list[Row]
    train_result: SplitResult
    eval_result: SplitResult | None
    cuts: list[int]  # per document: the character where its held-out tail starts
    stats: dict[str, Any] = field(default_factory=dict)

    def steps_per_epoch(self, config: TrainConfig, world_size: int = 1) -> int:
        """Optimizer steps in one pass, as the Trainer counts them (each rank gets ceil(rows / ranks) rows)."""
        per_device = 1 if config.packing else config.micro_batch
        rows_per_rank = math.ceil(len(self.train_rows) / world_size)
        batches = math.ceil(rows_per_rank / per_device)
        return max(1, math.ceil(batches / config.grad_accum))

    def total_steps(self, config: TrainConfig, world_size: int = 1) -> int:
        if config.max_steps > 0:
            return config.max_steps
        return max(1, math.ceil(config.epochs * self.steps_per_epoch(config, world_size)))

    def tokens_per_step(self, config: TrainConfig, world_size: int = 1) -> float:
        """Average real (non-padding) tokens per optimizer step over one epoch."""
        return self.stats["train_tokens"] / self.steps_per_epoch(config, world_size)


def build_training_data(config: TrainConfig, documents: Sequence[Document], tokenizer: Any) -> TrainingData:
    """Hold out the tails, split the heads with the run's strategy, and make rows (packed when asked)."""
    if not documents:
        raise ValueError("The run has no documents: add at least one on the Split page.")
    heads, tails, cuts = split_documents(documents, config.eval_share)
    train_corpus = tokenize_corpus(tokenizer, heads)
    if train_corpus.num_tokens == 0:
        raise ValueError("The documents hold no text to train on: add text or lower the evaluation share.")
    train_result = split(train_corpus, config.split_params())
    plain_rows = example_rows(train_result)
    if not plain_rows:
        raise ValueError("The split leaves no example with a trainable token: check the window and overlap.")
    capacity = config.micro_batch * config.window
    train_rows = pack_rows(plain_rows, capacity) if config.packing else plain_rows

    eval_result, eval_rows = None, []
    if tails:
        eval_corpus = tokenize_corpus(tokenizer, tails)
        if eval_corpus.num_tokens > 1:
            eval_result = split(eval_corpus, SplitParams(strategy="sliding", window=config.window, overlap=0))
            eval_rows = example_rows(eval_result)
    stats = _statistics(config, train_corpus, plain_rows, train_rows, eval_rows)
    return TrainingData(train_rows, eval_rows, train_result, eval_result, cuts, stats)


def _statistics(
    config: TrainConfig,
    corpus: TokenizedCorpus,
    plain_rows: list[Row],
    train_rows: list[Row],
    eval_rows: list[Row],
) -> dict[str, Any]:
    real = sum(len(r["input_ids"]) for r in plain_rows)
    padded_to_window = len(plain_rows) * config.window  # what padding every example to W would process
    return {
        "examples": len(plain_rows),
        "train_rows": len(train_rows),
        "train_tokens": real,
        "label_tokens": int(sum(int((r["labels"][1:] != IGNORE).sum()) for r in plain_rows)),
        "corpus_tokens": corpus.num_tokens,
        "padding_share_if_padded_to_window": 1.0 - real / padded_to_window if padded_to_window else 0.0,
        "eval_examples": len(eval_rows),
        "eval_tokens": sum(len(r["input_ids"]) for r in eval_rows),
    }


class Collator:
    """Rows -> tensors. Unpacked rows are padded to the longest in the batch (labels -100, attention 0);
    a packed row goes alone, unpadded, with its position ids and no attention mask."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, rows: list[Row]) -> dict[str, Any]:
        import torch

        lengths = [len(r["input_ids"]) for r in rows]
        if "position_ids" in rows[0]:
            if len(rows) != 1:
                raise ValueError("Packed rows are batched one at a time (per-device batch size 1).")
            row = rows[0]
            return {key: torch.as_tensor(row[key])[None] for key in ("input_ids", "labels", "position_ids")}
        width = max(lengths)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for k, (row, length) in enumerate(zip(rows, lengths, strict=True)):
            input_ids[k, :length] = torch.as_tensor(row["input_ids"])
            labels[k, :length] = torch.as_tensor(row["labels"])
            attention[k, :length] = 1
        return {"input_ids": input_ids, "labels": labels, "attention_mask": attention}


def pad_id_of(tokenizer: Any) -> int:
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if candidate is not None:
            return int(candidate)
    return 0
