"""A tiny causal LM and tokenizer saved to a folder (a valid `model` spec), and a fake worker for UI tests."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

TEXT = (
    "Long documents do not fit in a model's context window. ChunkTune shows how a document becomes "
    "training examples: truncation keeps the start, a sliding window re-reads an overlap, large "
    "tokenization cuts one stream into blocks, and boundary-aware chunking keeps whole paragraphs.\n\n"
    "Each strategy trades lost text against duplicated text and padding. The held-out tail of each "
    "document is set aside before chunking, so no example contains evaluation text.\n\n"
)


def build_tiny_model(folder: Path, corpus: str = TEXT * 4) -> Path:
    """A byte-level BPE tokenizer trained on `corpus` (about 300 tokens) and a 2-layer Llama of width 32."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    backend.train_from_iterator([corpus], trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )
    tokenizer.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=backend.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    import torch

    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    return folder


def write_fake_run(
    root: Path, run_id: str, *, state: str, steps: int, max_steps: int, strategy: str = "sliding"
) -> Path:
    """A run directory as a worker leaves it after `steps` steps: config, status, metrics (no model)."""
    from core.documents import Document
    from core.training.config import TrainConfig
    from core.training.rundir import RunDir

    run = RunDir(root / run_id)
    run.path.mkdir(parents=True)
    names = run.write_documents([Document(name="notes", text=TEXT, source="test")])
    TrainConfig(documents=names, strategy=strategy, window=64, max_steps=max_steps).save(run.config_path)
    now = time.time()
    for step in range(1, steps + 1):
        loss = 4.0 * 0.93**step
        run.append_metrics(
            {
                "step": step,
                "epoch": step / max_steps,
                "loss": loss,
                "eval_loss": None,
                "lr": 1e-3 * (1 - step / max_steps),
                "grad_norm": 1.0,
                "tokens_seen": 64 * step,
                "tokens_per_second": 180.0,
                "elapsed": 1.4 * step,
                "eta": 1.4 * (max_steps - step),
                "peak_memory_mb": 812.0,
                "max_steps": max_steps,
                "time": now,
            }
        )
        if step % 5 == 0:
            run.append_metrics(
                {"step": step, "loss": None, "eval_loss": loss + 0.2, "tokens_seen": 64 * step}
            )
    run.write_status(state, f"fake {state}", device="cpu", max_steps=max_steps)
    (run.path / "pid").write_text(json.dumps({"pid": 0}))
    return run.path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """The folder of a tiny model and tokenizer: pass it as TrainConfig(model=str(tiny_model))."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))
