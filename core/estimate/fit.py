"""Does it fit, and what would: verdicts and fixes computed by the same memory model.

The verdict compares what the GPU must hold (the nvidia-smi prediction: peak allocated + allocator cache +
CUDA context) with the GPU's memory. Every fix is a changed TrainingPlan run through estimate_memory, so
the fixes and the estimate never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.estimate.architecture import Architecture, EstimateError
from core.estimate.hardware import GIB, Gpu
from core.estimate.memory import MemoryEstimate, estimate_memory
from core.estimate.plan import TrainingPlan

TIGHT = 0.05  # under 5% headroom a run that fits on paper may still hit fragmentation spikes


@dataclass(frozen=True)
class Verdict:
    """The estimate against one GPU."""

    fits: bool
    needed_bytes: int  # what nvidia-smi would show per GPU
    capacity_bytes: int  # the GPU's memory
    text: str  # one sentence for the user

    @property
    def headroom_bytes(self) -> int:
        return self.capacity_bytes - self.needed_bytes


def verdict(estimate: MemoryEstimate, gpu: Gpu) -> Verdict:
    """Fits / tight / does not fit, with the numbers."""
    needed, capacity = estimate.reserved_bytes, gpu.memory_bytes
    per = (
        f" per GPU (x{estimate.plan.gpus}, {estimate.plan.sharding.upper()})"
        if estimate.plan.gpus > 1
        else ""
    )
    if needed > capacity:
        text = (
            f"Does not fit: needs {needed / GIB:.1f} GiB{per} but a {gpu.name} has {capacity / GIB:.1f} GiB "
            f"({(needed - capacity) / GIB:.1f} GiB short; peak at {estimate.peak.name})."
        )
        return Verdict(False, needed, capacity, text)
    headroom = capacity - needed
    if headroom < TIGHT * capacity:
        text = f"Fits, but tightly: {needed / GIB:.1f} of {capacity / GIB:.1f} GiB{per} ({headroom / GIB:.1f} GiB spare)."
    else:
        text = (
            f"Fits: {needed / GIB:.1f} of {capacity / GIB:.1f} GiB{per} ({headroom / GIB:.1f} GiB headroom)."
        )
    return Verdict(True, needed, capacity, text)


def _fits(arch: Architecture, plan: TrainingPlan, gpu: Gpu) -> bool:
    try:
        return estimate_memory(arch, plan).reserved_bytes <= gpu.memory_bytes
    except EstimateError:
        return False


def _largest(arch: Architecture, plan: TrainingPlan, gpu: Gpu, field: str, upper: int) -> int | None:
    """Largest value of an integer plan field in [1, upper] that fits (memory grows with it)."""
    if not _fits(arch, plan.with_(**{field: 1}), gpu):
        return None
    low, high = 1, upper
    while low < high:
        middle = (low + high + 1) // 2
        if _fits(arch, plan.with_(**{field: middle}), gpu):
            low = middle
        else:
            high = middle - 1
    return low


def largest_seq_len(arch: Architecture, plan: TrainingPlan, gpu: Gpu) -> int | None:
    """The longest sequence (window W) that fits with the plan's other settings, or None."""
    return _largest(arch, plan, gpu, "seq_len", arch.max_positions or 131072)


def largest_micro_batch(arch: Architecture, plan: TrainingPlan, gpu: Gpu) -> int | None:
    """The largest micro-batch that fits at the plan's sequence length, or None."""
    return _largest(arch, plan, gpu, "micro_batch", 1024)


@dataclass(frozen=True)
class Fix:
    """One change to the plan and what it does."""

    change: str  # what to change, in words
    plan: TrainingPlan
    needed_bytes: int  # nvidia-smi prediction per GPU after the change
    fits: bool
    cost: str  # what the change costs (speed, quality, hardware)


def _fix(arch: Architecture, gpu: Gpu, change: str, plan: TrainingPlan, cost: str) -> Fix:
    needed = estimate_memory(arch, plan).reserved_bytes
    return Fix(change, plan, needed, needed <= gpu.memory_bytes, cost)


def single_fixes(arch: Architecture, plan: TrainingPlan, gpu: Gpu) -> list[Fix]:
    """The effect of each change on its own."""
    fixes: list[Fix] = []
    if plan.dtype in ("fp32", "mixed"):
        dtype = "bf16" if gpu.bf16 else "fp16"
        fixes.append(_fix(arch, gpu, f"{dtype} weights", plan.with_(dtype=dtype), "none on Ampere or newer"))
    if not plan.grad_checkpointing:
        fixes.append(
            _fix(arch, gpu, "gradient checkpointing", plan.with_(grad_checkpointing=True), "~30% slower")
        )
    if plan.attention == "eager":
        fixes.append(_fix(arch, gpu, "SDPA / flash attention", plan.with_(attention="sdpa"), "none"))
    if plan.micro_batch > 1:
        accum = plan.grad_accum * plan.micro_batch
        fixes.append(
            _fix(
                arch,
                gpu,
                f"micro-batch 1, accumulate {accum}",
                plan.with_(micro_batch=1, grad_accum=accum),
                "slower steps",
            )
        )
    if plan.method == "full":
        dtype = plan.dtype if plan.dtype in ("bf16", "fp16") else ("bf16" if gpu.bf16 else "fp16")
        fixes.append(
            _fix(
                arch,
                gpu,
                "LoRA instead of full fine-tuning",
                plan.with_(method="lora", dtype=dtype),
                "adapter only",
            )
        )
    if plan.method != "qlora":
        dtype = "bf16" if gpu.bf16 else "fp16"
        fixes.append(
            _fix(
                arch, gpu, "QLoRA (4-bit base)", plan.with_(method="qlora", dtype=dtype), "slower, 4-bit base"
            )
        )
    if plan.optimizer in ("adamw", "paged_adamw") and plan.method == "full":
        fixes.append(
            _fix(arch, gpu, "8-bit AdamW", plan.with_(optimizer="adamw8bit"), "bitsandbytes optimizer")
        )
    gpus = plan.gpus if plan.gpus > 1 else 2
    if not plan.sharded:
        fixes.append(
            _fix(
                arch,
                gpu,
                f"FSDP / ZeRO-3 across {gpus} GPUs",
                plan.with_(gpus=gpus, sharding="fsdp"),
                f"{gpus} GPUs",
            )
        )
    shorter = largest_seq_len(arch, plan, gpu)
    if shorter and shorter < plan.seq_len:
        window = max(64, shorter // 64 * 64) if shorter >= 64 else shorter
        fixes.append(
            _fix(
                arch,
                gpu,
                f"window W = {window:,} with a sliding-window split",
                plan.with_(seq_len=window),
                "shorter context",
            )
        )
    return fixes


# Cheapest first: free precision changes, then compute for memory, then the user's own GPUs, then changes
# to what is trained (adapter, 4-bit base), last a shorter context.
CHEAPEST_ORDER = (
    "precision",
    "attention",
    "checkpointing",
    "sharding",
    "micro_batch",
    "lora",
    "qlora",
)  # then, if still too big, the longest window that fits


def cheapest_fit(arch: Architecture, plan: TrainingPlan, gpu: Gpu) -> list[Fix]:
    """Changes applied one after another, cheapest first, until the run fits (empty if it fits already)."""
    if _fits(arch, plan, gpu):
        return []
    steps: list[Fix] = []
    current = plan
    for kind in CHEAPEST_ORDER:
        change = _next_change(kind, current, gpu)
        if change is None:
            continue
        words, candidate, cost = change
        current = candidate
        fix = _fix(arch, gpu, words, current, cost)
        steps.append(fix)
        if fix.fits:
            return steps
    shorter = largest_seq_len(arch, current, gpu)
    if shorter:
        window = max(64, shorter // 64 * 64) if shorter >= 64 else shorter
        steps.append(
            _fix(
                arch,
                gpu,
                f"window W = {window:,} (sliding-window split)",
                current.with_(seq_len=window),
                "shorter context",
            )
        )
    return steps


def _next_change(kind: str, plan: TrainingPlan, gpu: Gpu) -> tuple[str, TrainingPlan, str] | None:
    low = "bf16" if gpu.bf16 else "fp16"
    if kind == "precision" and plan.dtype in ("fp32", "mixed"):
        return f"{low} weights", plan.with_(dtype=low), "none on Ampere or newer"
    if kind == "attention" and plan.attention == "eager":
        return "SDPA / flash attention", plan.with_(attention="sdpa"), "none"
    if kind == "checkpointing" and not plan.grad_checkpointing:
        return "gradient checkpointing", plan.with_(grad_checkpointing=True), "~30% slower"
    if kind == "sharding" and plan.gpus > 1 and not plan.sharded:
        return (
            f"FSDP across the {plan.gpus} GPUs",
            plan.with_(sharding="fsdp"),
            "same GPUs, more communication",
        )
    if kind == "micro_batch" and plan.micro_batch > 1:
        accum = plan.grad_accum * plan.micro_batch
        return (
            f"micro-batch 1, accumulate {accum}",
            plan.with_(micro_batch=1, grad_accum=accum),
            "slower steps",
        )
    if kind == "lora" and plan.method == "full":
        return "LoRA instead of full fine-tuning", plan.with_(method="lora"), "adapter only"
    if kind == "qlora" and plan.method == "lora":
        return "QLoRA (4-bit base)", plan.with_(method="qlora", dtype=low), "slower, 4-bit base"
    return None
