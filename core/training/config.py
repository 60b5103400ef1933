"""What one training run does: the split, the LoRA adapter, the optimizer and the hardware, in one dataclass.

The run directory's config.json is exactly `TrainConfig.to_dict()`; `TrainConfig.from_dict` reads it back and
validates it again, so a hand-edited config fails with the same messages as a bad form.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import json
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.atomic_files import write_json_atomic
from core.models import DEFAULT_MODEL
from core.strategies import STRATEGY_NAMES, SplitError, SplitParams

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "fp32", "bf16", "fp16")
SCHEDULES = ("cosine", "linear", "constant", "constant_with_warmup")
PACKING_STRATEGIES = ("blocks", "boundary")
ATTENTION_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj")


class ConfigError(ValueError):
    """A setting that cannot train; the message says which one and what to change."""


@dataclass(frozen=True)
class TrainConfig:
    """One LoRA fine-tune of `model` on the run's documents, split as on the Split page."""

    model: str = DEFAULT_MODEL
    """model spec: "default" (SmolLM2-135M-Instruct), a local model folder or a Hugging Face id in the cache"""
    trust_remote_code: bool = False
    """allow the model's own Python code (off unless the user turns it on)"""
    documents: tuple[str, ...] = ()
    """names of the documents, in order; their text lies in RUN_DIR/documents/000.txt, 001.txt, ..."""
    strategy: str = "sliding"
    """how documents become examples: truncation, sliding, blocks or boundary"""
    window: int = 256
    """W: tokens per training example, special tokens included"""
    overlap: int = 0
    """sliding: tokens each window shares with the previous; boundary: overlap budget in tokens"""
    keep_end: bool = False
    """truncation: keep the last W tokens of each document instead of the first"""
    mask_overlap: bool = False
    """sliding: the overlap is context only (labels -100), not trained twice"""
    remainder: str = "keep"
    """blocks: the final partial block is kept short, padded, or dropped"""
    packing: bool = False
    """blocks/boundary: several whole examples share one micro-batch row (attention kept per example)"""
    eval_share: float = 0.1
    """share of each document's tail held out for evaluation, set aside before chunking (0 = no evaluation)"""
    lora_rank: int = 8
    """LoRA rank r"""
    lora_alpha: float = 16.0
    """LoRA alpha: the update is scaled by alpha / r"""
    lora_dropout: float = 0.05
    """dropout on the LoRA input"""
    lora_targets: tuple[str, ...] = ATTENTION_PROJECTIONS
    """module names that get an adapter, or ("all-linear",)"""
    learning_rate: float = 2e-3
    """peak learning rate of AdamW (2e-3 shows a falling loss within 30 LoRA steps on a 135M model)"""
    lr_schedule: str = "cosine"
    """learning-rate schedule after warmup: cosine, linear, constant or constant_with_warmup"""
    warmup_share: float = 0.1
    """share of the optimizer steps spent warming up linearly from 0"""
    epochs: float = 1.0
    """passes over the training examples (used when max_steps is 0)"""
    max_steps: int = 30
    """optimizer steps to run; 0 = run `epochs` epochs (30 steps: about a minute at W = 256 on a laptop CPU)"""
    micro_batch: int = 1
    """examples per forward/backward pass on one device (with packing: one row of micro_batch × W tokens)"""
    grad_accum: int = 1
    """micro-batches accumulated per optimizer step"""
    seed: int = 0
    """seed for the adapter's initialisation, dropout and the example order"""
    device: str = "auto"
    """auto (cuda, then mps, then cpu), cpu, cuda or mps"""
    dtype: str = "auto"
    """weights and compute precision: auto (bf16 on a GPU that has it, else fp32), fp32, bf16 or fp16"""
    gradient_checkpointing: bool = False
    """recompute each layer's activations in the backward pass: less memory, about a third more time"""
    qlora: bool = False
    """load the base model in 4-bit NF4 (bitsandbytes; CUDA only) and train the adapter on top"""
    weight_decay: float = 0.0
    """AdamW weight decay on the adapter"""
    max_grad_norm: float = 1.0
    """clip the gradient norm to this (0 = no clipping)"""
    logging_steps: int = 1
    """write a metrics line every this many optimizer steps"""
    eval_steps: int = 10
    """evaluate on the held-out text every this many steps and at the end (0 = only at the end)"""
    save_steps: int = 10
    """write a checkpoint (for resume) every this many steps; stopping writes one too"""
    save_total_limit: int = 2
    """checkpoints kept on disk (the newest ones)"""

    def __post_init__(self) -> None:
        for name in ("documents", "lora_targets"):  # JSON gives lists; keep the dataclass hashable
            object.__setattr__(self, name, tuple(getattr(self, name)))
        self._check_split()
        self._check_lora()
        self._check_optimizer()
        self._check_hardware()

    def _check_split(self) -> None:
        if self.strategy not in STRATEGY_NAMES:
            raise ConfigError(
                f"Unknown strategy {self.strategy!r}: choose one of {', '.join(STRATEGY_NAMES)}."
            )
        try:
            self.split_params()
        except SplitError as error:
            raise ConfigError(str(error)) from error
        if self.packing and self.strategy not in PACKING_STRATEGIES:
            raise ConfigError(
                f"Packing is for the blocks and boundary strategies (got {self.strategy}): turn packing off "
                "or choose one of them."
            )
        if self.mask_overlap and self.strategy != "sliding":
            raise ConfigError("Overlap as context (masked labels) is for the sliding window strategy only.")
        if not 0.0 <= self.eval_share <= 0.5:
            raise ConfigError(f"The evaluation share must be between 0 and 0.5 (got {self.eval_share}).")

    def _check_lora(self) -> None:
        if self.lora_rank < 1:
            raise ConfigError(f"The LoRA rank must be at least 1 (got {self.lora_rank}).")
        if self.lora_alpha <= 0:
            raise ConfigError(f"LoRA alpha must be positive (got {self.lora_alpha}).")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ConfigError(f"LoRA dropout must be in [0, 1) (got {self.lora_dropout}).")
        if not self.lora_targets or not all(isinstance(t, str) and t for t in self.lora_targets):
            raise ConfigError("Name at least one LoRA target module (e.g. q_proj, v_proj) or all-linear.")

    def _check_optimizer(self) -> None:
        if not 0.0 < self.learning_rate < 1.0:
            raise ConfigError(f"The learning rate must be in (0, 1) (got {self.learning_rate}).")
        if self.lr_schedule not in SCHEDULES:
            raise ConfigError(f"Unknown schedule {self.lr_schedule!r}: choose one of {', '.join(SCHEDULES)}.")
        if not 0.0 <= self.warmup_share < 1.0:
            raise ConfigError(f"The warmup share must be in [0, 1) (got {self.warmup_share}).")
        if self.max_steps < 0:
            raise ConfigError(f"Max steps cannot be negative (got {self.max_steps}); 0 means use epochs.")
        if self.max_steps == 0 and self.epochs <= 0:
            raise ConfigError("Set a positive number of epochs or of max steps.")
        for name in ("micro_batch", "grad_accum", "logging_steps", "save_total_limit"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', ' ')} must be at least 1 (got {getattr(self, name)}).")
        for name in ("eval_steps", "save_steps"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name.replace('_', ' ')} cannot be negative (got {getattr(self, name)}).")
        if self.weight_decay < 0 or self.max_grad_norm < 0:
            raise ConfigError("Weight decay and the gradient-norm clip cannot be negative.")

    def _check_hardware(self) -> None:
        if self.device not in DEVICES:
            raise ConfigError(f"Unknown device {self.device!r}: choose one of {', '.join(DEVICES)}.")
        if self.dtype not in DTYPES:
            raise ConfigError(f"Unknown dtype {self.dtype!r}: choose one of {', '.join(DTYPES)}.")
        if self.qlora and self.device in ("cpu", "mps"):
            raise ConfigError(
                f"QLoRA needs an NVIDIA GPU (bitsandbytes' 4-bit CUDA kernels), not {self.device}: turn QLoRA "
                "off to train a plain LoRA adapter."
            )
        if self.qlora and self.dtype == "fp32":
            raise ConfigError("QLoRA computes in 16 bits: choose bf16, fp16 or auto as the dtype.")

    def split_params(self) -> SplitParams:
        """The Split page's parameters for this run (batch = examples per optimizer step on one device)."""
        return SplitParams(
            strategy=self.strategy,
            window=self.window,
            overlap=self.overlap,
            keep_end=self.keep_end,
            mask_overlap=self.mask_overlap,
            remainder=self.remainder,
            batch_size=self.micro_batch * self.grad_accum,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {key: list(value) if isinstance(value, tuple) else value for key, value in data.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"Unknown setting(s) in the config: {', '.join(unknown)}.")
        try:
            return cls(**data)
        except TypeError as error:  # a wrong type that the checks compared against numbers
            raise ConfigError(f"A setting has the wrong type: {error}") from error

    def save(self, path: str | Path) -> Path:
        """Write config.json atomically (a reader never sees half a file)."""
        return write_json_atomic(Path(path), self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise ConfigError(
                f"{path} does not exist: create the run first (Train page or --new)."
            ) from error
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path} is not valid JSON ({error}).") from error
        if not isinstance(data, dict):
            raise ConfigError(f"{path} must hold a JSON object of settings.")
        return cls.from_dict(data)

    def with_(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return TrainConfig.from_dict({**self.to_dict(), **changes})


@lru_cache(maxsize=1)
def field_docs() -> dict[str, str]:
    """Each TrainConfig field's one-line doc (the string under it), for --help and the form's tooltips."""
    tree = ast.parse(inspect.getsource(TrainConfig))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for statement, following in itertools.pairwise(body):
        named = isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
        if named and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
            docs[statement.target.id] = str(following.value.value)
    return docs
