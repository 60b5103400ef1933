"""After training: perplexity of the held-out text for the base model and for the adapter, and a per-chunk loss
map of the whole document (which parts the model found hardest).

Perplexity = exp(mean negative log-likelihood per predicted token) over the held-out windows (Jelinek et al.
1977; the token-weighted form of the Hugging Face "Perplexity of fixed-length models" guide, without stride).
The map scores every token of the document once: the training chunks of the run's own split, then the
held-out windows; a token covered by two chunks (an overlap) is scored by the first, where it has more
context. Each chunk's span on the document is coloured by its mean loss.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from core.atomic_files import write_json_atomic
from core.strategies import SplitResult
from core.training.data import build_training_data, example_token_index
from core.training.modeling import adapter_folder, load_trained
from core.training.rundir import RunDir

MAX_MAP_TOKENS = 200_000  # the map stops after this many training tokens (each costs two forward passes)

Progress = Callable[[float, str], None]


def token_losses(model: Any, ids: np.ndarray) -> np.ndarray:
    """[len(ids) - 1] the loss of predicting ids[p] from ids[:p], for p = 1 .. len - 1."""
    import torch

    with torch.inference_mode():
        tensor = torch.as_tensor(ids, dtype=torch.long, device=model.device)[None]
        logits = model(input_ids=tensor).logits[0, :-1].float()
        return torch.nn.functional.cross_entropy(logits, tensor[0, 1:], reduction="none").cpu().numpy()


def both_losses(model: Any, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(base, adapter) per-token losses from one PeftModel: the adapter switched off, then on."""
    with model.disable_adapter():
        base = token_losses(model, ids)
    return base, token_losses(model, ids)


class _Scores:
    """Per-token losses over one corpus, each token scored once (by the first example that predicts it)."""

    def __init__(self, result: SplitResult) -> None:
        n = result.corpus.num_tokens
        self.result = result
        self.owner = np.full(n, -1, np.int64)
        self.base = np.full(n, np.nan)
        self.adapter = np.full(n, np.nan)

    def add(self, i: int, base: np.ndarray, adapter: np.ndarray) -> None:
        index = example_token_index(self.result, i)[1:]  # the tokens predicted at positions 1..L-1
        length = base.shape[0]
        index = index[:length]
        fresh = (index >= 0) & (self.owner[np.maximum(index, 0)] == -1)
        tokens = index[fresh]
        self.owner[tokens] = i
        self.base[tokens] = base[fresh]
        self.adapter[tokens] = adapter[fresh]

    def segments(self, part: str, doc_of: list[int], shift: list[int]) -> list[dict[str, Any]]:
        """Runs of tokens scored by the same example within one document, as character spans of the
        original document (`doc_of` maps this corpus's documents to it, `shift` adds the cut)."""
        corpus = self.result.corpus
        scored = np.flatnonzero(self.owner >= 0)
        if scored.size == 0:
            return []
        token_doc = corpus.token_doc[scored]
        # A new segment starts where the owner or the document changes: shape [k] of run starts.
        breaks = np.flatnonzero((np.diff(self.owner[scored]) != 0) | (np.diff(token_doc) != 0)) + 1
        found = []
        for run in np.split(scored, breaks):
            j = int(corpus.token_doc[run[0]])
            base_char = int(corpus.doc_char_starts[j])
            found.append(
                {
                    "doc": doc_of[j],
                    "start": int(corpus.offsets[run[0], 0]) - base_char + shift[j],
                    "end": int(corpus.offsets[run[-1], 1]) - base_char + shift[j],
                    "example": int(self.owner[run[0]]),
                    "part": part,
                    "tokens": int(run.size),
                    "loss": float(np.mean(self.adapter[run])),
                    "base_loss": float(np.mean(self.base[run])),
                }
            )
        return found


def evaluate_run(
    run: RunDir, device: str = "cpu", max_map_tokens: int = MAX_MAP_TOKENS, progress: Progress | None = None
) -> dict[str, Any]:
    """Score the held-out text and the document with and without the adapter; writes evaluation.json."""
    say = progress or (lambda fraction, message: None)
    say(0.0, "Loading the model and the adapter")
    model, tokenizer = load_trained(run, device)
    config = run.config()
    documents = run.documents(config.documents)
    data = build_training_data(config, documents, tokenizer)
    train_scores = _Scores(data.train_result)
    train_scored, map_note = 0, ""
    total = len(data.train_result) + (len(data.eval_result) if data.eval_result is not None else 0)
    done = 0
    for i in range(len(data.train_result)):
        if train_scored >= max_map_tokens:
            map_note = f"The map covers the first {train_scored:,} training tokens (of {data.stats['train_tokens']:,})."
            break
        ids = data.train_result.example_ids(i)
        ids = ids[: len(ids) - int(data.train_result.padding_tokens[i])]
        if len(ids) < 2:
            continue
        train_scores.add(i, *both_losses(model, ids))
        train_scored += len(ids)
        done += 1
        say(done / max(total, 1), f"Scoring training chunk {i + 1} of {len(data.train_result)}")
    # Held-out windows: perplexity (every predicted token, token-weighted) and their part of the map.
    base_sum = adapter_sum = 0.0
    held_out_tokens = 0
    segments = train_scores.segments("train", list(range(len(documents))), [0] * len(documents))
    if data.eval_result is not None:
        eval_scores = _Scores(data.eval_result)
        for i in range(len(data.eval_result)):
            ids = data.eval_result.example_ids(i)
            base, adapter = both_losses(model, ids)
            eval_scores.add(i, base, adapter)
            base_sum, adapter_sum = base_sum + float(base.sum()), adapter_sum + float(adapter.sum())
            held_out_tokens += base.shape[0]
            done += 1
            say(done / max(total, 1), f"Scoring held-out window {i + 1} of {len(data.eval_result)}")
        with_tail = [j for j, d in enumerate(documents) if data.cuts[j] < len(d.text)]
        segments += eval_scores.segments("held out", with_tail, [data.cuts[j] for j in with_tail])
    report = {
        "run": run.id,
        "adapter": adapter_folder(run).name,
        "created_at": time.time(),
        "held_out_tokens": held_out_tokens,
        "base_loss": base_sum / held_out_tokens if held_out_tokens else None,
        "adapter_loss": adapter_sum / held_out_tokens if held_out_tokens else None,
        "base_perplexity": math.exp(base_sum / held_out_tokens) if held_out_tokens else None,
        "adapter_perplexity": math.exp(adapter_sum / held_out_tokens) if held_out_tokens else None,
        "documents": [
            {"name": d.name, "length": len(d.text), "cut": data.cuts[j]} for j, d in enumerate(documents)
        ],
        "segments": sorted(segments, key=lambda s: (s["doc"], s["start"])),
        "notes": [map_note] if map_note else [],
    }
    write_json_atomic(run.evaluation_path, report)
    say(1.0, "Done")
    return report


def read_evaluation(run: RunDir) -> dict[str, Any] | None:
    import json

    try:
        return json.loads(run.evaluation_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
