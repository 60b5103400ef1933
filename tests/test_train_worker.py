"""The training worker on a tiny model: in this process (fast) and as the launcher's detached process."""

from __future__ import annotations

import math

import pytest

from core.documents import Document
from core.training.config import TrainConfig
from core.training.launcher import create_run
from core.training.worker import SIMULATE_OOM_ENV, main
from tests.train_fixtures import TEXT, tiny_model  # noqa: F401  (fixture)

DOCS = [Document("notes", TEXT * 3, "test"), Document("more notes", TEXT.upper() * 2, "test")]
KEYS = {
    "step",
    "epoch",
    "loss",
    "eval_loss",
    "lr",
    "grad_norm",
    "tokens_seen",
    "tokens_per_second",
    "elapsed",
    "eta",
    "peak_memory_mb",
}


def tiny_config(model, **changes) -> TrainConfig:
    settings = {
        "model": str(model),
        "window": 64,
        "max_steps": 6,
        "eval_steps": 3,
        "save_steps": 3,
        "learning_rate": 0.05,
        "lora_dropout": 0.0,
    }
    return TrainConfig(**{**settings, **changes})


def test_worker_completes_writes_metrics_and_an_adapter_that_changes_the_output(tiny_model, tmp_path):  # noqa: F811
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    run = create_run(tiny_config(tiny_model), DOCS, root=tmp_path)
    assert main(run.path) == 0
    status = run.status()
    assert status["state"] == "completed", status["message"]
    assert status["final"]["step"] == 6
    records = run.metrics()
    training = [r for r in records if r["loss"] is not None]
    evaluations = [r for r in records if r["eval_loss"] is not None]
    assert [r["step"] for r in training] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in evaluations] == [0, 3, 6]  # step 0: the base model
    assert all(set(r) >= KEYS for r in records)
    assert all(math.isfinite(r["loss"]) for r in training)
    tokens = [r["tokens_seen"] for r in training]
    assert tokens == sorted(tokens) and tokens[0] > 0
    assert (run.adapter_dir / "adapter_config.json").is_file()
    assert (run.adapter_dir / "adapter_model.safetensors").is_file()

    ids = torch.tensor([[5, 17, 42, 99, 7, 3]])
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    with torch.no_grad():
        before = base(ids).logits
        tuned = PeftModel.from_pretrained(base, run.adapter_dir).eval()
        after = tuned(ids).logits
    assert not torch.allclose(before, after, atol=1e-4)


def test_a_simulated_out_of_memory_error_ends_failed_with_advice(tiny_model, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv(SIMULATE_OOM_ENV, "2")
    run = create_run(tiny_config(tiny_model, micro_batch=2), DOCS, root=tmp_path)
    assert main(run.path) == 1
    status = run.status()
    assert status["state"] == "failed"
    assert status["message"].startswith("Out of memory")
    assert "Try:" in status["message"] and "gradient checkpointing" in status["message"]
    assert "micro-batch 1, accumulate 2" in status["message"]  # the estimator's fix for micro-batch 2
    assert [r["step"] for r in run.metrics() if r["loss"] is not None] == [1]  # step 2 never finished


def test_bad_settings_end_failed_with_a_message(tiny_model, tmp_path):  # noqa: F811
    run = create_run(tiny_config(tiny_model, lora_targets=("attn_c",)), DOCS, root=tmp_path)
    assert main(run.path) == 1
    status = run.status()
    assert status["state"] == "failed"
    assert "None of the LoRA targets attn_c" in status["message"] and "q_proj" in status["message"]


def test_the_cli_creates_and_trains_a_run(tiny_model, tmp_path):  # noqa: F811
    from core.cli import main as cli_main

    document = tmp_path / "notes.md"
    document.write_text(TEXT * 3)
    target = tmp_path / "runs" / "from-cli"
    code = cli_main(
        [
            "train",
            "--new",
            str(target),
            "--docs",
            str(document),
            "--model",
            str(tiny_model),
            "--window",
            "64",
            "--max-steps",
            "2",
            "--strategy",
            "boundary",
            "--packing",
            "--eval-share",
            "0.2",
        ]
    )
    assert code == 0
    config = TrainConfig.load(target / "config.json")
    assert (config.strategy, config.packing, config.documents) == ("boundary", True, ("notes.md",))
    assert (target / "documents" / "000.txt").read_text() == TEXT * 3
    assert '"completed"' in (target / "status.json").read_text()
    assert cli_main(["train", str(target)]) == 2  # completed: refused with a message, not retrained


@pytest.mark.slow
def test_the_default_model_trains_a_few_steps(tmp_path):
    from peft import PeftModel

    from core.models import load_causal_lm

    config = TrainConfig(window=128, max_steps=3, eval_steps=3, save_steps=0)
    run = create_run(config, [Document("guide", TEXT * 12, "test")], root=tmp_path)
    assert main(run.path) == 0
    assert run.status()["state"] == "completed"
    losses = [r["loss"] for r in run.metrics() if r["loss"] is not None]
    assert len(losses) == 3 and all(math.isfinite(x) and 0 < x < 20 for x in losses)
    PeftModel.from_pretrained(load_causal_lm("default"), run.adapter_dir)


@pytest.mark.gpu
def test_qlora_trains_on_a_cuda_gpu(tmp_path):
    import importlib.util

    import torch

    if not torch.cuda.is_available() or importlib.util.find_spec("bitsandbytes") is None:
        pytest.skip("QLoRA needs CUDA and bitsandbytes")
    config = TrainConfig(window=128, max_steps=3, qlora=True, device="cuda", gradient_checkpointing=True)
    run = create_run(config, [Document("guide", TEXT * 12, "test")], root=tmp_path)
    assert main(run.path) == 0, run.status()["message"]
    assert run.status()["dtype"] in ("bf16", "fp16")
    assert (run.adapter_dir / "adapter_model.safetensors").is_file()
