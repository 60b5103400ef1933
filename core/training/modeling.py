"""The base model with a LoRA adapter: fresh for training (LoRA or 4-bit QLoRA), or trained, for evaluation,
generation and export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.models import load_causal_lm, load_tokenizer
from core.training.config import ConfigError, TrainConfig
from core.training.device import qlora_unavailable_reason, torch_dtype
from core.training.rundir import RunDir


def load_base(config: TrainConfig, device: str, dtype: str, *, local_rank: int = 0) -> Any:
    """The base model in `dtype`; with QLoRA its linear layers in 4-bit NF4 on this rank's GPU (Dettmers et
    al. 2023, "QLoRA": NF4 weights, double quantization, 16-bit compute)."""
    if not config.qlora:
        return load_causal_lm(
            config.model, dtype=torch_dtype(dtype), trust_remote_code=config.trust_remote_code
        )
    reason = qlora_unavailable_reason()
    if reason or device != "cuda":
        raise ConfigError(reason or f"QLoRA needs a CUDA device (got {device}).")
    from peft import prepare_model_for_kbit_training
    from transformers import BitsAndBytesConfig

    quantization = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch_dtype(dtype),
    )
    model = load_causal_lm(
        config.model,
        dtype=torch_dtype(dtype),
        trust_remote_code=config.trust_remote_code,
        quantization_config=quantization,
        device_map={"": local_rank},
    )
    # Casts norms and the head to fp32 and makes the inputs require grad (for checkpointed layers).
    return prepare_model_for_kbit_training(
        model,
        use_gradient_checkpointing=config.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False},
    )


def add_lora(model: Any, config: TrainConfig) -> Any:
    """Wrap `model` in a fresh LoRA adapter (B = 0, so the output is unchanged until the first step)."""
    from peft import LoraConfig, get_peft_model

    targets: str | list[str] = (
        "all-linear" if config.lora_targets == ("all-linear",) else list(config.lora_targets)
    )
    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )
    try:
        return get_peft_model(model, lora)
    except ValueError as error:
        if "not found" not in str(error) and "Target modules" not in str(error):
            raise
        names = sorted(
            {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if _is_linear(module)}
        )
        raise ConfigError(
            f"None of the LoRA targets {', '.join(config.lora_targets)} is a layer of this model. Its linear "
            f"layers are: {', '.join(names[:20])} (or use all-linear)."
        ) from error


def _is_linear(module: Any) -> bool:
    import torch

    return isinstance(module, torch.nn.Linear)


def adapter_folder(run: RunDir) -> Path:
    """The final adapter, or the newest checkpoint's for a run stopped before saving one."""
    if (run.adapter_dir / "adapter_config.json").is_file():
        return run.adapter_dir
    newest = run.newest_checkpoint()
    if newest and (newest[1] / "adapter_config.json").is_file():
        return newest[1]
    raise FileNotFoundError(
        f"Run {run.id} has no adapter yet: train it (or let it reach a checkpoint) first."
    )


def load_trained(run: RunDir, device: str = "cpu") -> tuple[Any, Any]:
    """(PeftModel in eval mode on `device`, tokenizer): the base in fp32 with the run's adapter on top.
    `with model.disable_adapter():` gives the base model's outputs from the same object."""
    from peft import PeftModel

    config = run.config()
    tokenizer = load_tokenizer(config.model, config.trust_remote_code)
    base = load_causal_lm(config.model, trust_remote_code=config.trust_remote_code)
    model = PeftModel.from_pretrained(base, adapter_folder(run))
    return model.to(device).eval(), tokenizer
