"""What to change after an out-of-memory failure: the estimator's numbers and fixes for this config.

Adapter over core.estimate (owned by the estimate engineer): the run's TrainConfig becomes a TrainingPlan;
`estimate_memory` sizes it and `fit.cheapest_fit` lists the changes, cheapest first, that make it fit this
GPU (`fit.single_fixes` when none is visible, e.g. a simulated failure on a CPU). When the estimator cannot
answer (a model it cannot read), the usual fixes are listed without numbers.
"""

from __future__ import annotations

from typing import Any

from core.training.config import TrainConfig

GIB = 2**30
GENERIC_FIXES = (
    "a smaller micro-batch with more gradient accumulation (same effective batch)",
    "gradient checkpointing",
    "QLoRA (4-bit base weights) on a CUDA GPU",
    "a shorter window W",
)


def _size(count: int) -> str:
    return f"{count / GIB:.1f} GiB" if count >= GIB else f"{count / 2**20:.0f} MiB"


def training_plan(config: TrainConfig, gpus: int = 1) -> Any:
    """The estimator's TrainingPlan for this config on CUDA GPUs."""
    from core.estimate.plan import TrainingPlan

    return TrainingPlan(
        method="qlora" if config.qlora else "lora",
        dtype="bf16" if config.dtype == "auto" else config.dtype,
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


def this_gpu() -> Any | None:
    """The estimator's Gpu for the visible CUDA device (its real memory size), or None without CUDA."""
    import torch

    from core.estimate.hardware import custom_gpu

    if not torch.cuda.is_available():
        return None
    properties = torch.cuda.get_device_properties(torch.cuda.current_device())
    gpu = custom_gpu(properties.total_memory / GIB)
    return type(gpu)(
        properties.name,
        gpu.memory_mib,
        gpu.tflops_16bit,
        gpu.tflops_fp32,
        torch.cuda.is_bf16_supported(),
        "this machine",
    )


def out_of_memory_advice(config: TrainConfig, gpus: int = 1) -> str:
    """One paragraph: the estimate for this config and the changes that would make it fit, with numbers."""
    try:
        from core.estimate.architecture import load_architecture
        from core.estimate.fit import cheapest_fit, single_fixes
        from core.estimate.hardware import custom_gpu
        from core.estimate.memory import estimate_memory

        arch = load_architecture(config.model)
        plan = training_plan(config, gpus)
        needed = estimate_memory(arch, plan).reserved_bytes
        gpu = this_gpu()
        if gpu is not None:
            fixes = cheapest_fit(arch, plan, gpu)
            head = f"The estimator puts this run at {_size(needed)} per GPU; the {gpu.name} holds {_size(gpu.memory_bytes)}."
            if fixes:
                steps = "; then ".join(
                    f"{fix.change} (≈ {_size(fix.needed_bytes)}, {fix.cost})" for fix in fixes
                )
                return f"{head} Changes that make it fit, cheapest first: {steps}."
        else:
            head = f"The estimator puts this run at {_size(needed)} per GPU."
        candidates = sorted(single_fixes(arch, plan, gpu or custom_gpu(80)), key=lambda fix: fix.needed_bytes)
        smaller = [fix for fix in candidates if fix.needed_bytes < needed][:4]
        if smaller:
            return (
                head
                + " Try: "
                + "; ".join(f"{fix.change} (≈ {_size(fix.needed_bytes)}, {fix.cost})" for fix in smaller)
                + "."
            )
        return head + " Choose a smaller model or a GPU with more memory."
    except Exception:  # the estimator is optional here: without it, the usual fixes without numbers
        return "Try: " + "; ".join(GENERIC_FIXES) + "."
