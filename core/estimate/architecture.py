"""A model's architecture, read from its config: exact parameter counts and module shapes.

The model is built on the `meta` device (no memory, no weights) with `AutoModelForCausalLM.from_config`, the
way HF Accelerate's `estimate-memory` does, so the counts are the ones transformers would load: tied
embeddings are counted once (`Module.parameters()` skips shared tensors), biases and norms included.
The shapes of the decoder layer's linear modules give the LoRA target names and sizes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.estimate.catalog import find_entry

# Config fields without which no estimate is possible (after the aliases below are applied).
REQUIRED_FIELDS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size")

# Decoder families whose activation inventory core.estimate.activations spells out op by op.
KNOWN_FAMILIES = {
    "llama": "llama",
    "mistral": "llama",
    "qwen2": "llama",
    "smollm3": "llama",
    "phi3": "phi3",
    "phi": "phi",
    "gemma2": "gemma2",
}


class EstimateError(ValueError):
    """Bad estimator input; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model's config came from."""

    label: str  # what the UI shows
    config: dict[str, Any]  # the config.json fields
    origin: str  # "catalog", "config.json", "hub cache" or "default model"
    reference: str  # URL or path of the config


@dataclass(frozen=True)
class LinearShape:
    """One linear module of a decoder layer (or the LM head)."""

    name: str  # module name, the last part of its path (what peft's target_modules matches)
    in_features: int
    out_features: int
    bias: bool

    @property
    def params(self) -> int:
        return self.in_features * self.out_features + (self.out_features if self.bias else 0)


@dataclass(frozen=True)
class Architecture:
    """Everything the estimator needs to know about a model, from its config and its meta-device build."""

    label: str  # display name
    model_type: str  # config.model_type
    family: str  # activation inventory used: llama, phi3, phi, gemma2 (others are treated as llama)
    hidden: int  # h: hidden size
    intermediate: int  # i: MLP intermediate size
    layers: int  # L: decoder layers
    heads: int  # a: attention heads
    kv_heads: int  # query groups (a for multi-head attention)
    head_dim: int  # d: size of one head
    vocab: int  # V: vocabulary rows of the embedding and LM head
    tied_embeddings: bool  # LM head shares the embedding matrix
    max_positions: int | None  # max_position_embeddings, when the config says
    hidden_act: str  # MLP activation name (transformers ACT2FN key)
    resid_dropout: float  # dropout on the residual branches (phi, phi3)
    attention_dropout: float  # dropout on the attention probabilities
    attn_softcap: float | None  # gemma2: tanh soft-capping of attention scores (eager only)
    final_softcap: float | None  # gemma2: tanh soft-capping of the logits
    params: int  # all parameters, tied ones once
    embedding_params: int  # the input embedding matrix
    lm_head_params: int  # the output layer when not tied (0 when tied)
    layer_params: int  # one decoder layer
    layer_linears: tuple[LinearShape, ...]  # the linear modules of one decoder layer, in module order
    largest_param: int  # elements of the largest single parameter tensor
    layer_norm_params: int  # norm weights and biases of one layer (not in layer_linears)

    @property
    def linear_names(self) -> tuple[str, ...]:
        return tuple(linear.name for linear in self.layer_linears)

    @property
    def linear_params_per_layer(self) -> int:
        return sum(linear.params for linear in self.layer_linears)

    @property
    def q_width(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_width(self) -> int:
        return self.kv_heads * self.head_dim


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise EstimateError(f"Could not read {path}: {error}. Give a valid config.json.") from error
    if not isinstance(data, dict):
        raise EstimateError(f"{path} is not a JSON object: give a model's config.json.")
    return data


def load_model_config(spec: str) -> ModelSource:
    """Resolve a model spec: "default", a catalog name or HF id, a config.json (or folder), a cached Hub id."""
    spec = (spec or "").strip()
    if not spec:
        raise EstimateError(
            "No model given: pass a catalog name (e.g. phi-2), a config.json path or 'default'."
        )
    from core import models

    if models.is_default(spec):
        try:
            config = models.model_config(models.DEFAULT_MODEL)
        except models.ModelLoadError as error:
            raise EstimateError(str(error)) from error
        return ModelSource(models.display_name(spec), config, "default model", models.DEFAULT_MODEL_NAME)
    entry = find_entry(spec)
    if entry is not None:
        return ModelSource(entry.name, dict(entry.config), "catalog", entry.source_url)
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        path = path / "config.json"
    if path.is_file():
        return ModelSource(
            path.parent.name if path.name == "config.json" else path.stem,
            _read_json(path),
            "config.json",
            str(path),
        )
    if path.suffix == ".json":
        raise EstimateError(f"{spec} does not exist: give the path of a model's config.json.")
    try:
        config = models.model_config(spec)
    except models.ModelLoadError as error:
        from core.estimate.catalog import catalog_names

        raise EstimateError(
            f"Unknown model '{spec}': it is not in the catalog ({', '.join(catalog_names())}), not a "
            "config.json path, and not in the local Hugging Face cache."
        ) from error
    return ModelSource(spec, config, "hub cache", spec)


def _normalized(config: dict[str, Any]) -> dict[str, Any]:
    """The text config with the usual aliases of GPT-2-style configs mapped to the Llama names."""
    config = dict(config.get("text_config", config))
    aliases = {"n_embd": "hidden_size", "n_layer": "num_hidden_layers", "n_head": "num_attention_heads"}
    for old, new in aliases.items():
        if new not in config and old in config:
            config[new] = config[old]
    missing = [name for name in REQUIRED_FIELDS if not isinstance(config.get(name), int)]
    if "model_type" not in config:
        missing.append("model_type")
    if missing:
        raise EstimateError(
            f"The config lacks {', '.join(missing)}: a causal LM's config.json needs them to estimate memory."
        )
    return config


@lru_cache(maxsize=32)
def _meta_model(config_json: str) -> Any:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    fields = json.loads(config_json)
    model_type = fields.pop("model_type")
    fields.pop("architectures", None)
    fields.pop("transformers_version", None)
    try:
        config = AutoConfig.for_model(model_type, **fields)
    except (KeyError, ValueError) as error:
        raise EstimateError(
            f"transformers does not know the model type '{model_type}' ({error}); only architectures "
            "transformers ships can be estimated (trust_remote_code is off)."
        ) from error
    try:
        with torch.device("meta"):
            return AutoModelForCausalLM.from_config(config)
    except Exception as error:  # transformers raises many types for inconsistent configs
        raise EstimateError(f"Could not build '{model_type}' from its config: {error}") from error


def build_meta_model(config: dict[str, Any]) -> Any:
    """The causal LM on the meta device (cached per config): shapes and counts, no memory."""
    return _meta_model(json.dumps(_normalized(config), sort_keys=True))


def _decoder_layers(model: Any) -> Any:
    for module in model.modules():
        if type(module).__name__ == "ModuleList" and len(module) > 0 and "Layer" in type(module[0]).__name__:
            return module
    raise EstimateError(f"Could not find the decoder layers of {type(model).__name__}.")


def _layer_linears(layer: Any) -> tuple[LinearShape, ...]:
    from torch import nn

    return tuple(
        LinearShape(name.rsplit(".", 1)[-1], module.in_features, module.out_features, module.bias is not None)
        for name, module in layer.named_modules()
        if isinstance(module, nn.Linear)
    )


def inspect_architecture(source: ModelSource) -> Architecture:
    """Build the model on the meta device and read its counts and shapes."""
    config = _normalized(source.config)
    model = build_meta_model(config)
    layers = _decoder_layers(model)
    layer = layers[0]
    linears = _layer_linears(layer)
    layer_params = sum(p.numel() for p in layer.parameters())
    embedding = model.get_input_embeddings().weight
    output = model.get_output_embeddings()
    tied = output is not None and output.weight is embedding
    lm_head_params = 0 if output is None or tied else sum(p.numel() for p in output.parameters())
    params = sum(p.numel() for p in model.parameters())
    heads = int(config["num_attention_heads"])
    hidden = int(config["hidden_size"])
    model_type = str(config["model_type"])
    return Architecture(
        label=source.label,
        model_type=model_type,
        family=KNOWN_FAMILIES.get(model_type, "llama"),
        hidden=hidden,
        intermediate=int(config.get("intermediate_size") or 4 * hidden),
        layers=len(layers),
        heads=heads,
        kv_heads=int(config.get("num_key_value_heads") or heads),
        head_dim=int(config.get("head_dim") or hidden // heads),
        vocab=int(embedding.shape[0]),
        tied_embeddings=tied,
        max_positions=config.get("max_position_embeddings"),
        hidden_act=str(config.get("hidden_activation") or config.get("hidden_act") or "silu"),
        resid_dropout=float(config.get("resid_pdrop") or 0.0),
        attention_dropout=float(config.get("attention_dropout") or 0.0),
        attn_softcap=config.get("attn_logit_softcapping"),
        final_softcap=config.get("final_logit_softcapping"),
        params=params,
        embedding_params=embedding.numel(),
        lm_head_params=lm_head_params,
        layer_params=layer_params,
        layer_linears=linears,
        largest_param=max(p.numel() for p in model.parameters()),
        layer_norm_params=layer_params - sum(linear.params for linear in linears),
    )


def load_architecture(spec: str) -> Architecture:
    """`inspect_architecture(load_model_config(spec))`."""
    return inspect_architecture(load_model_config(spec))


def resolve_targets(
    arch: Architecture, targets: str | list[str] | tuple[str, ...]
) -> tuple[LinearShape, ...]:
    """The decoder-layer linears LoRA wraps for `targets` ("all-linear" or module names), checked.

    peft's "all-linear" wraps every linear module except the output layer; names match the last part of a
    module's path, as peft's `target_modules` list does.
    """
    if isinstance(targets, str):
        names = [name.strip() for name in targets.split(",") if name.strip()]
    else:
        names = [name.strip() for name in targets if name.strip()]
    if not names:
        raise EstimateError("No LoRA target modules given: name some (e.g. q_proj,v_proj) or use all-linear.")
    if names in (["all-linear"], ["all_linear"]):
        return arch.layer_linears
    valid = arch.linear_names
    unknown = [name for name in names if name.rsplit(".", 1)[-1] not in valid]
    if unknown:
        raise EstimateError(
            f"LoRA target(s) {', '.join(unknown)} do not exist in {arch.label} ({arch.model_type}); "
            f"its linear modules are {', '.join(valid)} (or use all-linear)."
        )
    chosen = {name.rsplit(".", 1)[-1] for name in names}
    return tuple(linear for linear in arch.layer_linears if linear.name in chosen)


def default_targets(arch: Architecture) -> tuple[str, ...]:
    """What peft targets when none are given (its per-model_type table), else q_proj and v_proj when the
    model has them, else its first linear module (Phi-3's fused qkv_proj)."""
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as PEFT_DEFAULTS

    names = arch.linear_names
    chosen = [name for name in PEFT_DEFAULTS.get(arch.model_type) or () if name in names]
    if not chosen:
        chosen = [name for name in ("q_proj", "v_proj") if name in names]
        chosen = chosen or [name for name in names if "qkv" in name] or [names[0]]
    return tuple(chosen)


def lora_params(arch: Architecture, targets: tuple[LinearShape, ...], rank: int) -> int:
    """Adapter parameters: A is r x in and B is out x r for every target in every layer (Hu et al. 2021)."""
    return arch.layers * sum(rank * (t.in_features + t.out_features) for t in targets)
