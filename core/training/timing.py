"""How long a run will take, said before it starts.

First choice: the measured wall time per token of earlier runs of the same model on the same device (their
metrics.jsonl: elapsed / tokens_seen, evaluation and checkpoints included). Without one: on the CPU, the step
time measured for SmolLM2-135M on this project's machine, scaled by parameter count; on a GPU, training
FLOPs at an assumed sustained rate.
"""

from __future__ import annotations

import statistics

from core.models import model_config
from core.training.config import TrainConfig
from core.training.rundir import RunDir

# SmolLM2-135M, LoRA r=8 on the attention projections, W=256: about 1.4 s per step on 2 CPU cores (measured).
CPU_SECONDS_PER_TOKEN = 1.4 / 256
REFERENCE_PARAMS = 134.5e6
# LoRA: forward 2N FLOPs per token + backward through the frozen weights 2N (no weight gradients); the full
# fine-tune's 6N is Kaplan et al. 2020, "Scaling Laws for Neural Language Models", section 2.1.
LORA_FLOPS_PER_PARAM_TOKEN = 4
GPU_SUSTAINED_FLOPS = 40e12  # a conservative sustained 16-bit rate for a recent GPU


def approx_params(spec: str) -> float:
    """Parameters from config.json: embeddings + per layer 4 h² attention (GQA ignored) + 3 h·i MLP."""
    config = model_config(spec)
    config = config.get("text_config", config)
    hidden = config.get("hidden_size") or config.get("n_embd") or 768
    layers = config.get("num_hidden_layers") or config.get("n_layer") or 12
    inner = config.get("intermediate_size") or 4 * hidden
    vocab = config.get("vocab_size") or 32_000
    return float(vocab * hidden + layers * (4 * hidden * hidden + 3 * hidden * inner))


def measured_seconds_per_token(config: TrainConfig, device: str, runs: list[RunDir]) -> float | None:
    """The median wall seconds per token of earlier runs with this model and window on this device."""
    rates = []
    for run in runs:
        status = run.status()
        if status.get("device") != device:
            continue
        try:
            other = run.config()
        except ValueError:
            continue
        if other.model != config.model or other.window != config.window or other.qlora != config.qlora:
            continue
        trained = [r for r in run.metrics() if r.get("tokens_seen") and r.get("elapsed")]
        if trained and trained[-1]["step"] >= 3:
            rates.append(trained[-1]["elapsed"] / trained[-1]["tokens_seen"])
    return statistics.median(rates) if rates else None


def expected_seconds(
    config: TrainConfig, steps: int, tokens_per_step: float, device: str, runs: list[RunDir]
) -> tuple[float, str]:
    """(seconds, how it was obtained) for `steps` optimizer steps of `tokens_per_step` real tokens."""
    tokens = steps * tokens_per_step
    measured = measured_seconds_per_token(config, device, runs)
    if measured is not None:
        return tokens * measured, "measured on earlier runs of this model on this device"
    try:
        params = approx_params(config.model)
    except Exception:  # an unreadable config: assume the default model's size
        params = REFERENCE_PARAMS
    if device == "cpu":
        seconds = tokens * CPU_SECONDS_PER_TOKEN * params / REFERENCE_PARAMS
        return seconds, "from the step time measured for SmolLM2-135M on a 2-core CPU, scaled by model size"
    seconds = tokens * LORA_FLOPS_PER_PARAM_TOKEN * params / GPU_SUSTAINED_FLOPS
    return seconds, "rough: training FLOPs at 40 TFLOP/s (no run measured on this device yet)"


def describe_duration(seconds: float) -> str:
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"
