"""The estimator against reality: measured CPU training steps and published GPU runs.

Shared by tests/test_estimate_memory.py (which asserts the CPU pairs) and bench/estimate_bench.py (which
prints every pair and the error on the published table).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.estimate.architecture import ModelSource, inspect_architecture, load_model_config
from core.estimate.memory import CUDA_CONTEXT_BYTES, estimate_memory
from core.estimate.plan import TrainingPlan

PUBLISHED_RUNS = Path(__file__).with_name("published_runs.json")

# A small Llama (grouped-query attention, tied embeddings) whose vocabulary dominates, like SmolLM2's ...
WIDE_VOCAB = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 128,
    "intermediate_size": 352,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 8192,
    "max_position_embeddings": 4096,
    "tie_word_embeddings": True,
    "hidden_act": "silu",
    "rms_norm_eps": 1e-5,
}
# ... and one whose layers dominate (small vocabulary, wide MLP), so other moments of the step peak.
DEEP_LAYERS = WIDE_VOCAB | {
    "hidden_size": 192,
    "intermediate_size": 768,
    "num_hidden_layers": 4,
    "num_attention_heads": 6,
    "vocab_size": 512,
}


@dataclass(frozen=True)
class CpuCase:
    """One configuration to train for real on the CPU and compare with the estimate."""

    name: str
    config: dict[str, Any] | None  # None: the built-in default model with its weights
    plan: TrainingPlan


def _cpu(**fields: Any) -> TrainingPlan:
    return TrainingPlan(device="cpu", **({"dtype": "fp32"} | fields))


CPU_CASES: tuple[CpuCase, ...] = (
    CpuCase("full, short sequence (optimizer step peaks)", DEEP_LAYERS, _cpu(method="full", seq_len=32)),
    CpuCase("full, SDPA, s=384 b=2", DEEP_LAYERS, _cpu(method="full", seq_len=384, micro_batch=2)),
    CpuCase(
        "full, eager, s=768 b=1 (attention backward peaks)",
        DEEP_LAYERS,
        _cpu(method="full", seq_len=768, attention="eager"),
    ),
    CpuCase(
        "full, gradient checkpointing",
        DEEP_LAYERS,
        _cpu(method="full", seq_len=384, micro_batch=2, grad_checkpointing=True),
    ),
    CpuCase(
        "LoRA q,v r16, eager, s=384 b=2", DEEP_LAYERS, _cpu(seq_len=384, micro_batch=2, attention="eager")
    ),
    CpuCase(
        "LoRA q,v, checkpointing, eager",
        DEEP_LAYERS,
        _cpu(seq_len=384, micro_batch=2, grad_checkpointing=True, attention="eager"),
    ),
    CpuCase(
        "LoRA all-linear r64, dropout 0.1",
        WIDE_VOCAB,
        _cpu(seq_len=384, micro_batch=2, targets=("all-linear",), rank=64, lora_dropout=0.1),
    ),
    CpuCase("LoRA q,v, bf16 weights", WIDE_VOCAB, _cpu(seq_len=256, micro_batch=2, dtype="bf16")),
    CpuCase(
        "full, mixed precision (autocast)",
        WIDE_VOCAB,
        _cpu(method="full", seq_len=256, micro_batch=2, dtype="mixed"),
    ),
    CpuCase(
        "full, SGD momentum, accumulation 2",
        WIDE_VOCAB,
        _cpu(method="full", seq_len=256, micro_batch=2, grad_accum=2, optimizer="sgd_momentum"),
    ),
)
DEFAULT_MODEL_CASES: tuple[CpuCase, ...] = (
    CpuCase("default model, LoRA q,v, s=128 b=2", None, _cpu(seq_len=128, micro_batch=2)),
    CpuCase("default model, full, s=128", None, _cpu(method="full", seq_len=128)),
)


@dataclass(frozen=True)
class Pair:
    """An estimate and the measurement it predicts."""

    name: str
    estimated: int
    measured: int
    peak_moment: str  # where the estimate puts the peak

    @property
    def error(self) -> float:
        return (self.estimated - self.measured) / self.measured


def measure_cpu_case(case: CpuCase, device: str = "cpu") -> Pair:
    """Train two steps for real (on the CPU, or the same case on CUDA), measure the allocator's peak
    (profiler events on CPU, torch.cuda.max_memory_allocated on CUDA), and estimate the same."""
    import torch

    case = CpuCase(case.name, case.config, case.plan.with_(device=device))

    from core.estimate.measure import build_training_model, measure_training_peak, prepare_for_training

    if case.config is None:
        from core import models

        source = load_model_config("default")
        model = models.load_causal_lm("default", attn_implementation=case.plan.attention)
        model, optimizer = prepare_for_training(model, case.plan)
    else:
        source = ModelSource(case.name, case.config, "test", "")
        model, optimizer = build_training_model(case.config, case.plan)
    arch = inspect_architecture(source)
    ids = torch.randint(
        0, arch.vocab, (case.plan.micro_batch, case.plan.seq_len), generator=torch.Generator().manual_seed(0)
    ).to(device)
    measured = measure_training_peak(model, optimizer, ids, ids.clone(), case.plan)
    estimate = estimate_memory(arch, case.plan)
    return Pair(case.name, estimate.total_bytes, measured.peak_bytes, estimate.peak.name)


def load_published() -> dict[str, Any]:
    """The published-runs table: {"sources": {...}, "runs": [...]}."""
    return json.loads(PUBLISHED_RUNS.read_text())


def published_plan(run: dict[str, Any]) -> TrainingPlan:
    """The TrainingPlan a published run describes."""
    return TrainingPlan(
        method=run["method"],
        dtype=run["dtype"],
        rank=run.get("rank") or 16,
        lora_dropout=run.get("lora_dropout", 0.0),
        targets=tuple(run["targets"]) if run.get("targets") else ("q_proj", "v_proj"),
        optimizer=run["optimizer"],
        micro_batch=run["micro_batch"],
        grad_accum=run["grad_accum"],
        seq_len=run["seq_len"],
        grad_checkpointing=run["grad_checkpointing"],
        attention=run["attention"],
        gpus=run["gpus"],
        sharding=run["sharding"],
        double_quant=run.get("double_quant", True),
    )


def predict_published(run: dict[str, Any]) -> Pair:
    """The estimate of the counter a published run reports."""
    source = load_model_config(run["model"])
    config = dict(source.config) | run.get("config_overrides", {})
    arch = inspect_architecture(ModelSource(source.label, config, source.origin, source.reference))
    estimate = estimate_memory(arch, published_plan(run))
    predicted = {
        "allocated": estimate.total_bytes,
        "reserved": estimate.reserved_bytes - CUDA_CONTEXT_BYTES,  # torch's cache excludes the context
        "nvidia-smi": estimate.reserved_bytes,
    }[run["reported"]]
    return Pair(run["id"], predicted, run["measured_bytes"], estimate.peak.name)


def median_absolute_error(pairs: list[Pair]) -> float:
    return statistics.median(abs(pair.error) for pair in pairs)
