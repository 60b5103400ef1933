"""The activation inventory against what autograd really saves, for every family of the catalog."""

from __future__ import annotations

import pytest
import torch

from core.estimate.activations import autocast_weight_copies, layer_activations
from core.estimate.architecture import ModelSource, inspect_architecture, lora_params, resolve_targets
from core.estimate.catalog import find_entry
from core.estimate.measure import build_training_model, saved_activation_bytes, tiny_config
from core.estimate.plan import TrainingPlan

FAMILIES = {
    "SmolLM2-135M": ("q_proj", "v_proj"),  # Llama, grouped-query attention, tied embeddings
    "Qwen2.5-0.5B": ("k_proj", "down_proj"),  # Llama-like with q/k/v biases
    "Phi-3-mini": ("qkv_proj", "gate_up_proj"),  # fused projections
    "phi-2": ("q_proj", "fc1"),  # parallel block, LayerNorm, GELU-tanh formula, residual dropout
    "gemma-2-2b": ("q_proj", "o_proj"),  # four norms, soft-capping (eager only in transformers)
}
PLANS = [
    dict(method="full", dtype="fp32", attention="sdpa"),
    dict(method="full", dtype="bf16", attention="eager"),
    dict(method="lora", dtype="bf16", attention="sdpa", lora_dropout=0.1, targets=("all-linear",)),
    dict(method="lora", dtype="mixed", attention="eager"),
    dict(method="lora", dtype="fp32", attention="sdpa", rank=4),
]


def _saved(config, plan, batch=2, seq=24):
    model, _ = build_training_model(config, plan)
    ids = torch.randint(0, config["vocab_size"], (batch, seq), generator=torch.Generator().manual_seed(0))
    return saved_activation_bytes(model, ids, autocast=plan.dtype == "mixed")


def _arch(config):
    return inspect_architecture(ModelSource("tiny", config, "test", ""))


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("overrides", PLANS, ids=lambda p: "-".join(str(v) for v in p.values()))
def test_one_layer_matches_autograd(name, overrides):
    overrides = dict(overrides)
    if name == "gemma-2-2b":
        overrides["attention"] = "eager"  # transformers refuses SDPA for Gemma-2
    if overrides["method"] == "lora" and "targets" not in overrides:
        overrides["targets"] = FAMILIES[name]
    plan = TrainingPlan(device="cpu", **overrides)
    one, two = (tiny_config(find_entry(name).config, layers=n) for n in (1, 2))
    # The second layer's cost: a two-layer model minus a one-layer model (embedding and head cancel).
    measured = _saved(two, plan) - _saved(one, plan)
    arch1, arch2 = _arch(one), _arch(two)
    predicted = layer_activations(arch2, plan).stored_bytes(2, 24)
    if plan.dtype == "mixed":  # autocast's weight copies are saved too; the estimate books them apart
        adapters = [lora_params(a, resolve_targets(a, plan.targets), plan.rank) for a in (arch1, arch2)]
        predicted += autocast_weight_copies(arch2, plan, adapters[1]) - autocast_weight_copies(
            arch1, plan, adapters[0]
        )
    assert predicted == pytest.approx(measured, rel=0.01)


def test_eager_scores_grow_with_the_square_of_the_sequence():
    arch = _arch(tiny_config(find_entry("SmolLM2-135M").config))
    eager = layer_activations(arch, TrainingPlan(attention="eager", device="cpu"))
    sdpa = layer_activations(arch, TrainingPlan(attention="sdpa", device="cpu"))
    assert sum(item.per_pair for item in sdpa.stored) == 0
    growth = eager.stored_bytes(1, 2048) / eager.stored_bytes(1, 1024)
    assert growth > 3  # dominated by b*a*s*s
    assert sdpa.stored_bytes(1, 2048) / sdpa.stored_bytes(1, 1024) == pytest.approx(2, rel=0.01)
