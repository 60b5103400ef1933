"""Training compute and time: FLOPs per token from the architecture, time on a GPU or this CPU.

Full fine-tuning costs 6 FLOPs per parameter and token (Kaplan et al. 2020: forward 2N, backward 4N: 2N
for the input gradients, 2N for the weight gradients) plus attention's 12*L*H*Q*T (PaLM, appendix B).
LoRA, derived the same way: the forward still costs 2N and backward still needs the input gradients (2N)
through every frozen matrix to reach the adapters below, but no weight gradient of a frozen matrix (the 2N
that full fine-tuning spends on them), so 4N + 6 * adapter params + attention. Gradient checkpointing runs
the forward once more (+2N and a third of attention's 12). N counts the matrices that multiply activations:
every decoder-layer linear and the LM head (the input embedding is a lookup).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from core.estimate import terms as src
from core.estimate.architecture import Architecture, EstimateError, lora_params, resolve_targets
from core.estimate.hardware import Gpu
from core.estimate.plan import TrainingPlan
from core.estimate.terms import Term

DEFAULT_UTILIZATION = 0.35  # model FLOPs utilization assumed on a GPU; editable on the page and in the API


def matmul_params(arch: Architecture) -> int:
    """N: parameters that multiply activations (decoder linears and the LM head)."""
    return arch.layers * arch.linear_params_per_layer + arch.vocab * arch.hidden


def flops_per_token(arch: Architecture, plan: TrainingPlan) -> Term:
    """Training FLOPs per token of a sequence of plan.seq_len tokens (the Term's `bytes` holds FLOPs)."""
    n = matmul_params(arch)
    attention = 12 * arch.layers * arch.heads * arch.head_dim * plan.seq_len  # PaLM's 12*L*H*Q*T
    if plan.method == "full":
        flops, formula = 6 * n + attention, f"6 x N ({n:,}) + 12*L*H*Q*T"
        source = src.KAPLAN_FLOPS + "; " + src.PALM_FLOPS
    else:
        adapters = lora_params(arch, resolve_targets(arch, plan.targets), plan.rank)
        flops = 4 * n + 6 * adapters + attention
        formula = f"4 x N ({n:,}) + 6 x LoRA params ({adapters:,}) + 12*L*H*Q*T"
        source = (
            "derived from "
            + src.KAPLAN_FLOPS
            + " (no weight gradients of frozen matrices); "
            + src.PALM_FLOPS
        )
    if plan.grad_checkpointing:
        flops += 2 * n + attention // 3
        formula += " + recomputed forward 2N + 4*L*H*Q*T"
    return Term("training FLOPs per token", int(flops), formula, source)


@dataclass(frozen=True)
class EpochCost:
    """Tokens, steps and time of one epoch over one strategy's examples."""

    examples: int  # training examples (sequences)
    tokens_processed: int  # positions run through the model, padding included
    tokens_trained: int  # positions that carry a loss
    steps: int  # optimizer steps per epoch
    flops: float  # training FLOPs per epoch
    gpu_seconds: float | None  # on the chosen GPU(s) at the assumed utilization
    cpu_seconds: float | None  # on this CPU, from the calibration step (None until calibrated)


def epoch_cost(
    arch: Architecture,
    plan: TrainingPlan,
    stats: dict[str, Any],
    gpu: Gpu | None,
    utilization: float = DEFAULT_UTILIZATION,
    cpu_flops_per_second: float | None = None,
) -> EpochCost:
    """One epoch over a split strategy's examples (`stats` as core.strategies reports them)."""
    if not 0 < utilization <= 1:
        raise EstimateError(f"Utilization must be in (0, 1] (got {utilization}).")
    examples = int(stats.get("examples") or 0)
    trained = int(stats.get("tokens_trained") or 0)
    padding = int(stats.get("padding_tokens") or 0)  # padding up to W: static-shape batches
    content = int(stats.get("tokens_processed") or trained)
    processed = content + padding if content else examples * plan.seq_len
    per_step = plan.micro_batch * plan.grad_accum * plan.gpus
    steps = math.ceil(examples / per_step) if examples else 0
    flops = float(flops_per_token(arch, plan).bytes) * processed
    gpu_seconds = None
    if gpu is not None:
        peak = gpu.tflops_fp32 if plan.dtype == "fp32" else gpu.tflops_16bit
        gpu_seconds = flops / (plan.gpus * peak * 1e12 * utilization)
    cpu_seconds = flops / cpu_flops_per_second if cpu_flops_per_second else None
    return EpochCost(examples, processed, trained, steps, flops, gpu_seconds, cpu_seconds)


@dataclass(frozen=True)
class CpuCalibration:
    """One measured training step on this CPU."""

    seconds_per_step: float  # wall time of one timed step (after a warm-up step)
    seq_len: int  # tokens per sequence of the timed step
    micro_batch: int
    flops_per_second: float  # achieved training FLOPs per second, by the same FLOPs formula
    model: str  # what was timed


MAX_CPU_CALIBRATION_PARAMS = 600_000_000  # fp32 weights + AdamW state of larger models strain a laptop's RAM


def calibrate_cpu(
    spec: str, arch: Architecture, plan: TrainingPlan, seq_len: int = 64, micro_batch: int = 1, steps: int = 1
) -> CpuCalibration:
    """Time real training steps of the model on this CPU (fp32) and express the speed as FLOPs/s.

    "default" and local models load their weights; catalog models are built from their config with random
    weights (the speed does not depend on the values). A warm-up step runs first and is not timed.
    """
    import torch

    from core.estimate.measure import build_training_model, prepare_for_training, training_step

    if arch.params > MAX_CPU_CALIBRATION_PARAMS:
        raise EstimateError(
            f"{arch.label} has {arch.params / 1e9:.1f}B parameters: too large to time on this CPU "
            f"(limit {MAX_CPU_CALIBRATION_PARAMS / 1e6:.0f}M). Use the GPU estimate."
        )
    cpu_plan = plan.with_(
        device="cpu",
        dtype="fp32",
        method="lora" if plan.method == "qlora" else plan.method,
        seq_len=seq_len,
        micro_batch=micro_batch,
        grad_accum=1,
        gpus=1,
        optimizer="adamw" if plan.optimizer in ("adamw8bit", "paged_adamw") else plan.optimizer,
    )
    from core import models

    if models.is_default(spec):
        model = models.load_causal_lm(spec, attn_implementation=cpu_plan.attention)
        model, optimizer = prepare_for_training(model, cpu_plan)
    else:
        from core.estimate.architecture import load_model_config

        model, optimizer = build_training_model(load_model_config(spec).config, cpu_plan)
    ids = torch.randint(0, arch.vocab, (micro_batch, seq_len), generator=torch.Generator().manual_seed(0))
    training_step(model, optimizer, ids, ids, cpu_plan)  # warm-up: allocates optimizer state, caches kernels
    start = time.perf_counter()
    for _ in range(steps):
        training_step(model, optimizer, ids, ids, cpu_plan)
    seconds = (time.perf_counter() - start) / steps
    flops = flops_per_token(arch, cpu_plan).bytes * seq_len * micro_batch
    return CpuCalibration(seconds, seq_len, micro_batch, flops / seconds, arch.label)
