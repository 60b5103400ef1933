"""What to change after an out-of-memory failure, with the estimator's numbers for each change.

Adapter over core.estimate (owned by the estimate engineer): `load_architecture(spec)`, `TrainingPlan`,
`estimate_memory(arch, plan).total_bytes`. When the estimator cannot answer (a model it does not know, an
API change), the same fixes are listed without numbers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.training.config import TrainConfig

GIB = 2**30


def _size(count: int) -> str:
    return f"{count / GIB:.1f} GiB" if count >= GIB else f"{count / 2**20:.0f} MiB"


def _plan(config: TrainConfig, gpus: int) -> Any:
    from core.estimate.plan import TrainingPlan

    dtype = "bf16" if config.dtype == "auto" else config.dtype
    return TrainingPlan(
        method="qlora" if config.qlora else "lora",
        dtype=dtype,
        rank=config.lora_rank,
        alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        targets=tuple(config.lora_targets),
        micro_batch=config.micro_batch,
        grad_accum=config.grad_accum,
        seq_len=config.window,
        grad_checkpointing=config.gradient_checkpointing,
        device="cuda",
        gpus=gpus,
    )


def estimated_peak_bytes(config: TrainConfig, gpus: int = 1) -> int | None:
    """The estimator's peak GPU memory per device for this config, or None when it cannot tell."""
    try:
        from core.estimate.architecture import load_architecture
        from core.estimate.memory import estimate_memory

        return int(estimate_memory(load_architecture(config.model), _plan(config, gpus)).total_bytes)
    except Exception:  # the estimator is optional here: any failure means "no number"
        return None


def memory_fixes(config: TrainConfig) -> list[tuple[str, TrainConfig]]:
    """Changes that lower peak memory, most effective first in the usual case, each as (description, config)."""
    fixes: list[tuple[str, TrainConfig]] = []
    if config.micro_batch > 1:
        half = max(1, config.micro_batch // 2)
        fixes.append(
            (
                f"micro-batch {half} with gradient accumulation {config.grad_accum * 2} (same effective batch)",
                replace(config, micro_batch=half, grad_accum=config.grad_accum * 2),
            )
        )
    if not config.gradient_checkpointing:
        fixes.append(("gradient checkpointing on", replace(config, gradient_checkpointing=True)))
    if not config.qlora:
        dtype = "bf16" if config.dtype == "fp32" else config.dtype  # QLoRA computes in 16 bits
        fixes.append(("QLoRA (4-bit base weights)", replace(config, qlora=True, device="cuda", dtype=dtype)))
    if config.window >= 256:
        fixes.append(
            (
                f"a window of {config.window // 2} tokens",
                replace(config, window=config.window // 2, overlap=0),
            )
        )
    return fixes


def out_of_memory_advice(config: TrainConfig, gpus: int = 1) -> str:
    """One paragraph: the estimate for this config and the fixes, with their estimates when known."""
    current = estimated_peak_bytes(config, gpus)
    parts = []
    for description, variant in memory_fixes(config):
        estimate = estimated_peak_bytes(variant, gpus)
        if current is not None and estimate is not None:
            if estimate < current:
                parts.append((estimate, f"{description} (≈ {_size(estimate)})"))
        else:
            parts.append((0, description))
    if current is not None:
        parts.sort(key=lambda item: item[0])
    head = (
        f"The estimator puts this configuration at about {_size(current)} per GPU."
        if current is not None
        else "The estimator could not size this configuration."
    )
    if not parts:
        return head + " Choose a smaller model or a GPU with more memory."
    return head + " Try: " + "; ".join(text for _, text in parts) + "."
