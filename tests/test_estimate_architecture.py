"""Model configs, exact parameter counts from the meta device, and input validation."""

from __future__ import annotations

import json

import pytest

from core.estimate.architecture import (
    EstimateError,
    default_targets,
    inspect_architecture,
    load_architecture,
    load_model_config,
    lora_params,
    resolve_targets,
)
from core.estimate.catalog import CATALOG, find_entry
from core.estimate.memory import estimate_memory
from core.estimate.plan import TrainingPlan


@pytest.mark.parametrize("entry", CATALOG, ids=[entry.name for entry in CATALOG])
def test_catalog_builds_to_the_published_parameter_count(entry):
    arch = inspect_architecture(load_model_config(entry.name))
    assert arch.params == entry.published_params
    assert arch.max_positions and arch.max_positions >= 2048


def test_tied_embeddings_are_counted_once():
    tied = load_architecture("SmolLM2-135M")
    untied = load_architecture("TinyLlama-1.1B")
    assert tied.tied_embeddings and tied.lm_head_params == 0
    assert not untied.tied_embeddings and untied.lm_head_params == untied.embedding_params
    per_layer = tied.layer_params * tied.layers
    assert tied.params == per_layer + tied.embedding_params + tied.hidden  # + the final norm


def test_lookup_accepts_hub_ids_and_aliases():
    assert find_entry("microsoft/phi-2").name == "phi-2"
    assert find_entry("meta-llama/Llama-3.2-1B-Instruct").name == "Llama-3.2-1B"
    assert load_model_config("QWEN2.5-0.5B").origin == "catalog"


def test_lora_target_shapes_come_from_the_model():
    arch = load_architecture("Llama-3.1-8B")
    q, v = resolve_targets(arch, "q_proj,v_proj")
    assert (q.in_features, q.out_features) == (4096, 4096)
    assert (v.in_features, v.out_features) == (4096, 1024)  # 8 KV heads x 128
    # Hu et al.: r * (in + out) per target per layer
    assert lora_params(arch, (q, v), 16) == 32 * 16 * (4096 + 4096 + 4096 + 1024)
    assert len(resolve_targets(arch, "all-linear")) == 7


def test_config_json_path_and_folder(tmp_path):
    config = dict(find_entry("SmolLM2-360M").config)
    (tmp_path / "config.json").write_text(json.dumps(config))
    by_file = load_architecture(str(tmp_path / "config.json"))
    by_folder = load_architecture(str(tmp_path))
    assert by_file.params == by_folder.params == 361_821_120


def test_default_model_config():
    try:
        arch = load_architecture("default")
    except EstimateError as error:
        pytest.skip(f"default model not prepared: {error}")
    assert (arch.hidden, arch.intermediate, arch.layers, arch.heads, arch.kv_heads) == (576, 1536, 30, 9, 3)
    assert arch.vocab == 49152 and arch.tied_embeddings and arch.max_positions == 8192


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no-such-model-anywhere", "Unknown model"),
        ("/nonexistent/config.json", "does not exist"),
    ],
)
def test_unknown_models_are_explained(spec, message):
    with pytest.raises(EstimateError, match=message):
        load_model_config(spec)


def test_config_without_needed_fields(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "llama", "hidden_size": 64}))
    with pytest.raises(EstimateError, match="num_hidden_layers"):
        load_architecture(str(path))


def test_bad_targets_rank_and_length():
    arch = load_architecture("phi-2")
    with pytest.raises(EstimateError, match=r"gate_proj.*do not exist.*fc1"):
        resolve_targets(arch, "q_proj,gate_proj")
    with pytest.raises(EstimateError, match="rank must be at least 1"):
        TrainingPlan(method="lora", rank=0)
    with pytest.raises(EstimateError, match="above what phi-2 supports"):
        estimate_memory(arch, TrainingPlan(seq_len=4096))
    with pytest.raises(EstimateError, match="Unknown optimizer"):
        TrainingPlan(optimizer="adafactor")


def test_default_targets_follow_peft_and_exist():
    assert default_targets(load_architecture("Llama-2-7B")) == ("q_proj", "v_proj")
    assert default_targets(load_architecture("phi-2")) == ("q_proj", "v_proj", "fc1", "fc2")
    assert default_targets(load_architecture("Phi-3-mini")) == ("qkv_proj",)
