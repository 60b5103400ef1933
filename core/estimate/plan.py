"""What the user wants to train: method, precision, LoRA, optimizer, batch, sequence, hardware layout."""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.estimate.architecture import EstimateError

METHODS = ("full", "lora", "qlora")
DTYPES = ("fp32", "bf16", "fp16", "mixed")
OPTIMIZERS = ("adamw", "adamw8bit", "paged_adamw", "sgd", "sgd_momentum")
ATTENTIONS = ("eager", "sdpa")
SHARDINGS = ("ddp", "fsdp")
DEVICES = ("cuda", "cpu")


@dataclass(frozen=True)
class TrainingPlan:
    """One training configuration; every estimate is a function of (Architecture, TrainingPlan)."""

    method: str = "lora"  # full fine-tune, LoRA, or QLoRA (4-bit NF4 base)
    dtype: str = "bf16"  # fp32, bf16/fp16 weights, or mixed (fp32 master weights, 16-bit autocast compute)
    rank: int = 16  # LoRA rank r
    alpha: float = 32.0  # LoRA alpha (scales the update; no memory effect)
    lora_dropout: float = 0.0  # LoRA dropout p (peft's default 0); p > 0 stores a mask and a copy per target
    targets: tuple[str, ...] = ("q_proj", "v_proj")  # LoRA target module names, or ("all-linear",)
    optimizer: str = "adamw"  # adamw, adamw8bit, paged_adamw, sgd (no momentum), sgd_momentum
    micro_batch: int = 1  # sequences per forward/backward on one GPU
    grad_accum: int = 1  # micro-batches per optimizer step
    seq_len: int = 2048  # tokens per sequence (the split's window W)
    grad_checkpointing: bool = False  # recompute each layer in backward instead of storing its activations
    attention: str = "sdpa"  # eager materializes the b*a*s*s scores; sdpa (flash / memory-efficient) does not
    device: str = "cuda"  # cuda (the GPU prediction) or cpu (for validation on this machine)
    gpus: int = 1  # number of GPUs
    sharding: str = "ddp"  # ddp: a full replica per GPU; fsdp: weights, gradients, optimizer states sharded
    double_quant: bool = True  # QLoRA: quantize the quantization constants too (Dettmers et al. 2023)
    kbit_prepare: bool = True  # QLoRA: peft.prepare_model_for_kbit_training casts non-4-bit params to fp32
    bnb_saves_input: bool = False  # QLoRA: bitsandbytes before 0.44 (PR #1270) kept each 4-bit matmul's input
    optimizer_foreach: bool | None = None  # torch AdamW multi-tensor path; None = torch's default per device

    def __post_init__(self) -> None:
        def one_of(value: str, allowed: tuple[str, ...], what: str) -> None:
            if value not in allowed:
                raise EstimateError(f"Unknown {what} '{value}': choose one of {', '.join(allowed)}.")

        one_of(self.method, METHODS, "method")
        one_of(self.dtype, DTYPES, "dtype")
        one_of(self.optimizer, OPTIMIZERS, "optimizer")
        one_of(self.attention, ATTENTIONS, "attention implementation")
        one_of(self.sharding, SHARDINGS, "sharding")
        one_of(self.device, DEVICES, "device")
        if self.method != "full" and self.rank < 1:
            raise EstimateError(f"LoRA rank must be at least 1 (got {self.rank}).")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise EstimateError(f"LoRA dropout must be in [0, 1) (got {self.lora_dropout}).")
        for name, value in (("micro-batch", self.micro_batch), ("gradient accumulation", self.grad_accum)):
            if value < 1:
                raise EstimateError(f"{name} must be at least 1 (got {value}).")
        if self.seq_len < 1:
            raise EstimateError(f"Sequence length must be at least 1 (got {self.seq_len}).")
        if self.gpus < 1:
            raise EstimateError(f"Number of GPUs must be at least 1 (got {self.gpus}).")
        if self.method == "qlora" and self.device == "cpu":
            raise EstimateError("QLoRA needs bitsandbytes' CUDA kernels: estimate it for a GPU, not the CPU.")
        if self.method == "qlora" and self.dtype == "fp32":
            raise EstimateError("QLoRA computes in 16 bits: choose bf16 or fp16 as its compute dtype.")

    @property
    def uses_lora(self) -> bool:
        return self.method in ("lora", "qlora")

    @property
    def sharded(self) -> bool:
        return self.sharding == "fsdp" and self.gpus > 1

    def with_(self, **changes: object) -> TrainingPlan:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)
