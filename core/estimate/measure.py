"""Measure what training really allocates, to check the estimator against.

On CUDA the harness reads `torch.cuda.max_memory_allocated` (and `max_memory_reserved`). On CPU there is no
such counter, so it records every allocation and free of PyTorch's CPU allocator with the profiler's memory
events (`profile_memory=True`), sorts them by time and takes the running maximum: the exact peak of live
tensor bytes, the CPU analogue of `max_memory_allocated` (process RSS would add the Python heap, the
allocator's cache and the shared libraries). Bytes alive before the measured steps (weights, buffers,
optimizer state, the batch) are counted from their storages.

It also traces what autograd saves for backward (`saved_tensors_hooks`), which
tests/test_estimate_activations.py compares with core.estimate.activations tensor by tensor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from core.estimate.architecture import EstimateError
from core.estimate.plan import TrainingPlan


@dataclass(frozen=True)
class MeasuredPeak:
    """The measured peak of one training configuration."""

    device: str  # "cpu" or "cuda"
    peak_bytes: int  # peak of allocated tensor memory over the measured steps
    baseline_bytes: int  # allocated before the first measured step (weights, buffers, batch)
    reserved_bytes: int | None  # CUDA only: peak held by the caching allocator (max_memory_reserved)
    how: str  # how it was measured


def _storages(tensors: Iterable[Any]) -> dict[int, int]:
    """data_ptr -> nbytes of the distinct storages behind `tensors` (views and tied weights counted once)."""
    seen: dict[int, int] = {}
    for tensor in tensors:
        if tensor is None or tensor.device.type == "meta":
            continue
        storage = tensor.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
    return seen


def _optimizer_tensors(optimizer: Any) -> Iterator[Any]:
    import torch

    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, torch.Tensor):
                yield value


def live_bytes(model: Any, optimizer: Any = None, extra: Iterable[Any] = ()) -> int:
    """Bytes of the distinct storages of a model's parameters, gradients, buffers, an optimizer's state."""
    tensors: list[Any] = list(model.parameters()) + list(model.buffers())
    tensors += [p.grad for p in model.parameters() if p.grad is not None]
    if optimizer is not None:
        tensors += list(_optimizer_tensors(optimizer))
    tensors += list(extra)
    return sum(_storages(tensors).values())


class AllocationTimeline:
    """Context manager: the running sum of CPU allocator events while it is active."""

    def __init__(self) -> None:
        self.peak_delta = 0  # highest (allocated - freed) reached since entering
        self.final_delta = 0  # (allocated - freed) at exit
        self._profiler: Any = None

    def __enter__(self) -> AllocationTimeline:
        from torch.profiler import ProfilerActivity, profile

        self._profiler = profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=False)
        self._profiler.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._profiler.__exit__(*exc)
        events = [
            (event.start_ns(), event.nbytes())
            for event in self._profiler.profiler.kineto_results.events()
            if event.name() == "[memory]" and event.device_type().name == "CPU"
        ]
        events.sort(key=lambda item: item[0])
        running = peak = 0
        for _, nbytes in events:
            running += nbytes
            peak = max(peak, running)
        self.peak_delta, self.final_delta = peak, running


def training_step(model: Any, optimizer: Any, input_ids: Any, labels: Any, plan: TrainingPlan) -> float:
    """One optimizer step over `plan.grad_accum` micro-batches, as HF Trainer runs it.

    The model output (and with it the logits) is dropped before backward; gradients are set to None after
    the step (`zero_grad(set_to_none=True)`, the default).
    """
    import torch

    autocast = (
        torch.autocast(input_ids.device.type, dtype=torch.bfloat16)
        if plan.dtype == "mixed"
        else contextlib.nullcontext()
    )
    total = 0.0
    for _ in range(plan.grad_accum):
        with autocast:
            loss = model(input_ids=input_ids, labels=labels).loss / plan.grad_accum
        loss.backward()
        total += float(loss.detach())
        del loss
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total


def measure_training_peak(
    model: Any, optimizer: Any, input_ids: Any, labels: Any, plan: TrainingPlan, steps: int = 2
) -> MeasuredPeak:
    """Peak allocated memory over `steps` optimizer steps (2 by default: the second step runs with the
    optimizer state that the first one created, which is the steady state a real run sees)."""
    import torch

    device = input_ids.device.type
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        baseline = torch.cuda.memory_allocated()
        for _ in range(steps):
            training_step(model, optimizer, input_ids, labels, plan)
        torch.cuda.synchronize()
        return MeasuredPeak(
            "cuda",
            torch.cuda.max_memory_allocated(),
            baseline,
            torch.cuda.max_memory_reserved(),
            "torch.cuda.max_memory_allocated",
        )
    baseline = live_bytes(model, optimizer, (input_ids, labels))
    with AllocationTimeline() as timeline:
        for _ in range(steps):
            training_step(model, optimizer, input_ids, labels, plan)
    return MeasuredPeak("cpu", baseline + timeline.peak_delta, baseline, None, "profiler memory events")


def build_training_model(config: dict[str, Any], plan: TrainingPlan, seed: int = 0) -> tuple[Any, Any]:
    """A randomly initialized model from `config`, set up for `plan` (LoRA, checkpointing, attention),
    and its optimizer: what core.training would build, without reading weights."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    fields = {
        k: v for k, v in config.items() if k not in ("model_type", "architectures", "transformers_version")
    }
    model_config = AutoConfig.for_model(config["model_type"], **fields)
    torch.manual_seed(seed)
    dtype = (
        torch.bfloat16
        if plan.dtype in ("bf16",)
        else torch.float16
        if plan.dtype == "fp16"
        else torch.float32
    )
    model = AutoModelForCausalLM.from_config(model_config, dtype=dtype, attn_implementation=plan.attention)
    return prepare_for_training(model, plan)


def prepare_for_training(model: Any, plan: TrainingPlan) -> tuple[Any, Any]:
    """Apply the plan's LoRA, gradient checkpointing and optimizer to a loaded model."""
    import torch

    if plan.method == "qlora":
        raise EstimateError("QLoRA runs only on CUDA with bitsandbytes; it cannot be measured here.")
    if plan.grad_checkpointing:
        # transformers 5 renamed it; non-reentrant checkpointing needs no input gradients for LoRA.
        enable = getattr(model, "activation_checkpointing_enable", None)
        if enable is not None:
            enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if plan.method == "lora":
        import peft

        targets = "all-linear" if tuple(plan.targets) == ("all-linear",) else list(plan.targets)
        lora = peft.LoraConfig(
            r=plan.rank, lora_alpha=plan.alpha, lora_dropout=plan.lora_dropout, target_modules=targets
        )
        model = peft.get_peft_model(model, lora)
    model.to(plan.device)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    if plan.optimizer == "adamw":
        optimizer = torch.optim.AdamW(trainable, lr=1e-4, foreach=plan.optimizer_foreach)
    elif plan.optimizer in ("sgd", "sgd_momentum"):
        momentum = 0.9 if plan.optimizer == "sgd_momentum" else 0.0
        optimizer = torch.optim.SGD(trainable, lr=1e-4, momentum=momentum)
    else:
        raise EstimateError(
            f"The {plan.optimizer} optimizer needs bitsandbytes on CUDA; it cannot be measured here."
        )
    return model, optimizer


def saved_activation_bytes(model: Any, input_ids: Any, autocast: bool = False) -> int:
    """Bytes of the distinct non-parameter storages autograd saves during one forward (with the loss)."""
    import torch

    seen: dict[int, int] = {}

    def pack(tensor: Any) -> Any:
        storage = tensor.untyped_storage()
        seen.setdefault(storage.data_ptr(), storage.nbytes())
        return tensor

    params = _storages(list(model.parameters()) + list(model.buffers()))
    context = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), context:
        model(input_ids=input_ids)
    return sum(nbytes for pointer, nbytes in seen.items() if pointer not in params)


def tiny_config(config: dict[str, Any], layers: int = 2, vocab: int = 1000) -> dict[str, Any]:
    """The same architecture shrunk to test size: every family trait (norms, MLP kind, fused projections,
    grouped-query attention, dropout, soft-capping, tying) kept, the sizes made small."""
    tiny = dict(config)
    heads = 4
    grouped = (
        int(config.get("num_key_value_heads") or config["num_attention_heads"])
        < config["num_attention_heads"]
    )
    tiny.update(
        hidden_size=64,
        intermediate_size=176,
        num_attention_heads=heads,
        num_key_value_heads=2 if grouped else heads,
        num_hidden_layers=layers,
        vocab_size=vocab,
        max_position_embeddings=4096,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    if "head_dim" in config:
        tiny["head_dim"] = 16
    if "query_pre_attn_scalar" in config:
        tiny["query_pre_attn_scalar"] = 16
    for key in ("sliding_window", "max_window_layers", "original_max_position_embeddings"):
        tiny.pop(key, None)
    return tiny
