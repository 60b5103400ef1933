"""FLOPs per token, epoch cost, and the CPU calibration step."""

from __future__ import annotations

import json

import pytest

from core.estimate.architecture import EstimateError, load_architecture
from core.estimate.hardware import find_gpu
from core.estimate.plan import TrainingPlan
from core.estimate.throughput import calibrate_cpu, epoch_cost, flops_per_token, matmul_params
from core.estimate.validation import WIDE_VOCAB


def test_full_is_six_n_plus_attention_and_lora_skips_frozen_weight_gradients():
    arch = load_architecture("Llama-2-7B")
    plan = TrainingPlan(method="full", seq_len=2048)
    n = matmul_params(arch)
    attention = 12 * arch.layers * arch.heads * arch.head_dim * 2048
    assert flops_per_token(arch, plan).bytes == 6 * n + attention
    lora = flops_per_token(arch, plan.with_(method="lora")).bytes
    assert 4 * n + attention < lora < 4.01 * n + attention
    checkpointed = flops_per_token(arch, plan.with_(method="lora", grad_checkpointing=True)).bytes
    assert checkpointed - lora == 2 * n + attention // 3


def test_epoch_cost_counts_steps_tokens_and_gpu_time():
    arch = load_architecture("phi-2")
    plan = TrainingPlan(method="lora", seq_len=2048, micro_batch=4, grad_accum=2, gpus=2)
    stats = {"examples": 221, "tokens_trained": 450_000, "tokens_processed": 450_000, "padding_tokens": 2_608}
    cost = epoch_cost(arch, plan, stats, find_gpu("A100 80"), utilization=0.5)
    assert cost.steps == 14  # ceil(221 / (4 * 2 * 2))
    assert cost.tokens_processed == 452_608
    expected = flops_per_token(arch, plan).bytes * 452_608 / (2 * 312e12 * 0.5)
    assert cost.gpu_seconds == pytest.approx(expected)
    with pytest.raises(EstimateError):
        epoch_cost(arch, plan, stats, None, utilization=0)


def test_cpu_calibration_times_a_real_step(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(WIDE_VOCAB))
    arch = load_architecture(str(path))
    calibration = calibrate_cpu(str(path), arch, TrainingPlan(method="lora"), seq_len=32)
    assert calibration.seconds_per_step > 0 and calibration.flops_per_second > 1e6
    stats = {"examples": 10, "tokens_trained": 320, "tokens_processed": 320, "padding_tokens": 0}
    cost = epoch_cost(
        arch,
        TrainingPlan(method="lora", seq_len=32),
        stats,
        None,
        cpu_flops_per_second=calibration.flops_per_second,
    )
    assert cost.cpu_seconds == pytest.approx(10 * calibration.seconds_per_step, rel=0.01)


def test_calibration_refuses_models_too_large_for_this_cpu():
    arch = load_architecture("Llama-3.1-8B")
    with pytest.raises(EstimateError, match="too large"):
        calibrate_cpu("Llama-3.1-8B", arch, TrainingPlan())
