"""Peak memory of a training step, per GPU, as the maximum over the moments of the step.

What is alive changes during a step, so the peak is not the sum of every component (HF Accelerate's
`estimate-memory` takes the largest component; gpu_poor sums everything). The step is followed through its
moments: end of forward, the loss gradient, the LM head, the top and bottom decoder layers in backward,
the embedding gradient, the optimizer step. At each moment the live bytes are weights + optimizer states +
gradients produced so far + activations not yet consumed + that moment's working buffers. The estimate is
the largest moment, and its breakdown is shown.

Persistent terms follow EleutherAI's Transformer Math 101 (bytes per parameter by precision and optimizer);
activations come from core.estimate.activations; QLoRA's 4-bit storage from the QLoRA paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.estimate import terms as src
from core.estimate.activations import (
    activation_dtypes,
    autocast_weight_copies,
    head_activations,
    layer_activations,
    loss_buffers,
)
from core.estimate.architecture import (
    KNOWN_FAMILIES,
    Architecture,
    EstimateError,
    lora_params,
    resolve_targets,
)
from core.estimate.plan import TrainingPlan
from core.estimate.terms import Term

CUDA_CONTEXT_BYTES = 500 * 1024**2  # assumption within the cited range (see terms.CUDA_CONTEXT)
# nvidia-smi / max_memory_allocated - 1 besides the context: median 0.13 (range 0.05-0.21) over the eight
# single-GPU rows of fms-acceleration's two A100 tables that report both (docs/published_memory.md).
ALLOCATOR_FRAGMENTATION = 0.13
NF4_BLOCK = 64  # QLoRA: one absmax per 64 weights
DOUBLE_QUANT_BLOCK = 256  # QLoRA: one fp32 constant per 256 8-bit absmax values

COMPONENTS = (
    "weights",
    "adapter weights",
    "gradients",
    "optimizer states",
    "activations",
    "logits and loss",
    "temporary buffers",
)
GPU_ONLY = ("CUDA context", "allocator overhead")


@dataclass(frozen=True)
class Moment:
    """Live bytes at one moment of the training step, by component."""

    name: str
    parts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.parts.values())


@dataclass(frozen=True)
class MemoryEstimate:
    """The estimate for one (architecture, plan)."""

    arch: Architecture
    plan: TrainingPlan
    params: int  # all parameters of the base model (tied once)
    trainable_params: int  # parameters the optimizer updates
    lora_params: int  # adapter parameters (0 for full fine-tuning)
    moments: tuple[Moment, ...]  # every moment followed, in step order
    peak: Moment  # the largest
    terms: tuple[Term, ...]  # how each component was computed
    reserved_bytes: int  # what nvidia-smi would show on a GPU (peak + allocator cache + CUDA context)
    notes: tuple[str, ...] = field(default=())  # assumptions worth telling the user

    @property
    def total_bytes(self) -> int:
        """Peak allocated memory per device: what torch.cuda.max_memory_allocated reports."""
        return self.peak.total

    @property
    def breakdown(self) -> dict[str, int]:
        """Bytes per component at the peak moment, plus (on a GPU) what only nvidia-smi sees."""
        parts = {name: self.peak.parts.get(name, 0) for name in COMPONENTS}
        if self.plan.device == "cuda":
            overhead = self.reserved_bytes - self.total_bytes - CUDA_CONTEXT_BYTES
            parts["allocator overhead"] = overhead
            parts["CUDA context"] = CUDA_CONTEXT_BYTES
        return parts


def _param_bytes(plan: TrainingPlan) -> int:
    """Bytes per weight of the (unquantized) model: fp32 4, bf16/fp16 2, mixed keeps fp32 master weights."""
    return 2 if plan.dtype in ("bf16", "fp16") else 4


def _qlora_weight_bytes(arch: Architecture, plan: TrainingPlan) -> tuple[int, str]:
    """4-bit NF4 linear weights plus their constants; the rest (embeddings, norms, biases) unquantized."""
    quantized = arch.layers * sum(linear.in_features * linear.out_features for linear in arch.layer_linears)
    if plan.double_quant:
        constants = (
            quantized / NF4_BLOCK * (1 + 4 / DOUBLE_QUANT_BLOCK)
        )  # 8-bit absmax + fp32 per 256 of them
        bits = "4.127"
    else:
        constants = quantized / NF4_BLOCK * 4  # one fp32 absmax per block of 64
        bits = "4.5"
    other = arch.params - quantized
    other_bytes = 4 if plan.kbit_prepare else 2
    total = int(quantized * 0.5 + constants + other * other_bytes)
    formula = f"{quantized:,} linear weights x {bits} bits + {other:,} other params x {other_bytes} B"
    return total, formula


def _optimizer_state_bytes(plan: TrainingPlan, state_dtype_bytes: int) -> tuple[float, str]:
    """Bytes of optimizer state per trainable parameter (Transformer Math 101)."""
    if plan.optimizer == "adamw" or plan.optimizer == "paged_adamw":
        return 2 * state_dtype_bytes, f"2 moments x {state_dtype_bytes} B"
    if plan.optimizer == "adamw8bit":
        return 2 + 2 * 4 / 256, "2 moments x 1 B + fp32 block constants per 256"
    if plan.optimizer == "sgd_momentum":
        return state_dtype_bytes, f"momentum x {state_dtype_bytes} B"
    return 0, "plain SGD keeps no state"


def _optimizer_step_buffers(
    arch: Architecture, plan: TrainingPlan, trainable: int, largest: int, state: int
) -> int:
    """Temporaries of optimizer.step(): torch AdamW's foreach path allocates sqrt(exp_avg_sq) for all
    parameters at once; its single-tensor path (torch's default on CPU) sqrt and a division per
    parameter, so twice the largest parameter; fused and 8-bit kernels work in place."""
    if plan.optimizer not in ("adamw", "paged_adamw"):
        return 0
    foreach = plan.optimizer_foreach if plan.optimizer_foreach is not None else plan.device == "cuda"
    if plan.optimizer == "paged_adamw":  # bitsandbytes' paged AdamW updates in place
        return 0
    return trainable * state if foreach else 2 * largest * state


def estimate_memory(arch: Architecture, plan: TrainingPlan) -> MemoryEstimate:
    """Peak memory per device for training `arch` under `plan`."""
    if arch.max_positions and plan.seq_len > arch.max_positions:
        raise EstimateError(
            f"Sequence length {plan.seq_len:,} is above what {arch.label} supports "
            f"({arch.max_positions:,} positions): use a window of at most {arch.max_positions:,} tokens."
        )
    dt = activation_dtypes(plan)
    b, s = plan.micro_batch, plan.seq_len
    tokens = b * s
    n = plan.gpus if plan.sharded else 1  # FSDP / ZeRO-3 divide the persistent states by the GPU count
    notes: list[str] = []
    terms: list[Term] = []

    # -- persistent: weights, adapters, gradients, optimizer states -----------------------------------
    targets = resolve_targets(arch, plan.targets) if plan.uses_lora else ()
    adapters = lora_params(arch, targets, plan.rank) if plan.uses_lora else 0
    if plan.method == "qlora":
        weights, weight_formula = _qlora_weight_bytes(arch, plan)
        weight_source = src.QLORA + "; " + src.PEFT_KBIT
    else:
        weights = arch.params * _param_bytes(plan)
        weight_formula = f"{arch.params:,} params x {_param_bytes(plan)} B"
        weight_source = src.MATH101
    weights //= n
    adapter_bytes = adapters * 4 // n  # fp32 adapters
    trainable = arch.params if plan.method == "full" else adapters
    grad_dtype = _param_bytes(plan) if plan.method == "full" else 4
    grads_all = trainable * grad_dtype // n
    state_bytes, state_formula = _optimizer_state_bytes(plan, grad_dtype)
    optimizer = int(trainable * state_bytes) // n
    terms += [
        Term("weights", weights, weight_formula + (f" / {n} GPUs" if n > 1 else ""), weight_source),
        Term(
            "adapter weights",
            adapter_bytes,
            f"{adapters:,} LoRA params x 4 B (fp32)",
            src.LORA + "; " + src.PEFT_DTYPE,
        ),
        Term("gradients", grads_all, f"{trainable:,} trainable x {grad_dtype} B", src.MATH101),
        Term("optimizer states", optimizer, f"{trainable:,} trainable x {state_formula}", src.MATH101),
    ]
    if plan.optimizer == "paged_adamw":
        notes.append("Paged AdamW keeps its states in unified memory: under pressure they move to CPU RAM.")

    # -- per micro-batch: activations, loss buffers, working buffers ----------------------------------
    layer = layer_activations(arch, plan)
    per_layer = layer.stored_bytes(b, s)
    head = sum(item.bytes(b, s) for item in head_activations(arch, plan))
    stored_all = arch.layers * (layer.checkpoint.bytes(b, s) if plan.grad_checkpointing else per_layer) + head
    loss = loss_buffers(arch, plan)
    work = max(layer.mlp_work.bytes(b, s), layer.attention_work.bytes(b, s))
    residual_grad = tokens * arch.hidden * dt.residual  # the gradient flowing down the residual stream
    copies = autocast_weight_copies(arch, plan, adapters) // n
    gather = 2 * arch.layer_params * _param_bytes(plan) if plan.sharded else 0  # FSDP: unit + prefetch
    buckets = trainable * grad_dtype if plan.gpus > 1 and not plan.sharded else 0  # DDP all-reduce buckets
    largest = (
        arch.largest_param
        if plan.method == "full"
        else max((t.in_features * plan.rank for t in targets), default=0)
    )
    step_buffers = _optimizer_step_buffers(arch, plan, trainable // n, largest, grad_dtype)
    # QLoRA: bitsandbytes dequantizes a 4-bit weight to 16 bits for each matmul, forward and backward.
    dequantized = (
        2 * max(t.in_features * t.out_features for t in arch.layer_linears) if plan.method == "qlora" else 0
    )
    layer_formula = (
        f"L x b*s*{layer.checkpoint.per_token:g} (checkpointed inputs)"
        if plan.grad_checkpointing
        else f"L x b*s*({sum(i.per_token for i in layer.stored):g} + s*{sum(i.per_pair for i in layer.stored):g})"
    )
    terms += [
        Term(
            "activations",
            stored_all,
            f"{layer_formula} + final norm {head:,} B",
            src.KORTHIKANTI + "; " + src.AUTOGRAD,
        ),
        Term(
            "logits and loss",
            loss.backward_peak.bytes(b, s),
            f"b*s*V*{loss.backward_peak.per_token / arch.vocab:g} B",
            src.HF_LOSS,
        ),
    ]

    # grads per stage of backward (full fine-tune: LM head first, embedding last; LoRA: per layer)
    head_grad = arch.vocab * arch.hidden * grad_dtype // n if plan.method == "full" else 0
    layer_grad = (
        arch.layer_params * grad_dtype if plan.method == "full" else adapters // arch.layers * 4
    ) // n
    accumulated = grads_all if plan.grad_accum > 1 else 0  # earlier micro-batches' gradients stay

    def moment(name: str, activations: int, logits: int, grads: int, temporary: int) -> Moment:
        return Moment(
            name,
            {
                "weights": weights,
                "adapter weights": adapter_bytes,
                "gradients": max(grads, accumulated),
                "optimizer states": optimizer,
                "activations": activations,
                "logits and loss": logits,
                "temporary buffers": temporary + buckets + gather,
            },
        )

    # Backward through a layer: first its MLP half (all of the layer's tensors still stored), then its
    # attention half (the MLP half already freed). With checkpointing the layer is recomputed first.
    recompute = per_layer if plan.grad_checkpointing else 0
    mlp_side = layer.mlp_side_bytes(b, s)
    mlp_work, attention_work = layer.mlp_work.bytes(b, s), layer.attention_work.bytes(b, s)
    bottom_stored = layer.checkpoint.bytes(b, s) if plan.grad_checkpointing else per_layer
    top_grads, bottom_grads = head_grad + layer_grad, head_grad + arch.layers * layer_grad
    moments = (
        moment("end of forward (computing the loss)", stored_all, loss.forward_peak.bytes(b, s), 0, copies),
        moment("start of backward (loss gradient)", stored_all, loss.backward_peak.bytes(b, s), 0, copies),
        moment(
            "backward through the LM head",
            stored_all,
            loss.gradient.bytes(b, s),
            head_grad,
            copies + residual_grad,
        ),
        moment(
            "backward through the last layer's MLP",
            stored_all + recompute,
            0,
            top_grads,
            copies + mlp_work + residual_grad + dequantized,
        ),
        moment(
            "backward through the last layer's attention",
            stored_all + recompute - mlp_side,
            0,
            top_grads,
            copies + attention_work + residual_grad + dequantized,
        ),
        moment(
            "backward through the first layer's MLP",
            bottom_stored + recompute,
            0,
            bottom_grads,
            copies + mlp_work + residual_grad + dequantized,
        ),
        moment(
            "backward through the first layer's attention",
            bottom_stored + recompute - mlp_side,
            0,
            bottom_grads,
            copies + attention_work + residual_grad + dequantized,
        ),
        moment(
            "end of backward (embedding gradient)",
            0,
            0,
            grads_all,
            arch.vocab * arch.hidden * grad_dtype // n
            if plan.method == "full" and arch.tied_embeddings
            else 0,
        ),
        moment("optimizer step", 0, 0, grads_all, step_buffers),
    )
    peak = max(moments, key=lambda m: m.total)
    terms.append(
        Term(
            "temporary buffers",
            max(m.parts["temporary buffers"] for m in moments),
            _temp_formula(work + dequantized, copies, gather, buckets, step_buffers),
            src.AUTOGRAD,
        )
    )
    reserved = peak.total
    if plan.device == "cuda":
        reserved = int(peak.total * (1 + ALLOCATOR_FRAGMENTATION)) + CUDA_CONTEXT_BYTES
        terms += [
            Term(
                "allocator overhead",
                int(peak.total * ALLOCATOR_FRAGMENTATION),
                f"{ALLOCATOR_FRAGMENTATION:.0%} of the peak",
                src.ALLOCATOR,
            ),
            Term("CUDA context", CUDA_CONTEXT_BYTES, "500 MiB", src.CUDA_CONTEXT),
        ]
    if plan.method == "qlora" and plan.bnb_saves_input:
        notes.append("bitsandbytes < 0.44 kept a copy of every 4-bit matmul input (fixed by PR #1270).")
    if arch.model_type not in KNOWN_FAMILIES:
        notes.append(
            f"model_type '{arch.model_type}' has no activation inventory of its own: its layers are counted "
            "as Llama blocks of the same sizes (parameters, weights and optimizer states are exact)."
        )
    if arch.family == "gemma2" and plan.attention == "sdpa":
        notes.append(
            "transformers runs Gemma-2 with flash_attention_2 or eager; 'sdpa' is estimated as flash."
        )
    return MemoryEstimate(
        arch=arch,
        plan=plan,
        params=arch.params,
        trainable_params=trainable,
        lora_params=adapters,
        moments=moments,
        peak=peak,
        terms=tuple(terms),
        reserved_bytes=reserved,
        notes=tuple(notes),
    )


def _temp_formula(work: int, copies: int, gather: int, buckets: int, step: int) -> str:
    parts = [f"layer backward {work:,} B"]
    if copies:
        parts.append(f"autocast 16-bit weight copies {copies:,} B")
    if gather:
        parts.append(f"FSDP gathered layer x2 {gather:,} B")
    if buckets:
        parts.append(f"DDP gradient buckets {buckets:,} B")
    if step:
        parts.append(f"optimizer step {step:,} B")
    return "max over moments of: " + ", ".join(parts)
