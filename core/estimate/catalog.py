"""Built-in catalog: the architecture fields of popular causal LMs' public `config.json` files.

Only the fields that decide shapes and memory are stored (no tokenizer ids, no rope scaling details).
Each entry names the Hugging Face repository whose `config.json` it copies, and the parameter count that
repository publishes; `tests/test_estimate_architecture.py` builds every entry on the meta device and checks
that the exact count matches, which also checks that the copied shapes are right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CatalogEntry:
    """One model of the catalog."""

    name: str  # short name shown in the UI and accepted by the CLI
    hf_id: str  # the Hugging Face repository whose config.json the fields come from
    config: dict[str, Any]  # architecture fields of that config.json
    published_params: int  # parameter count reported by the model's safetensors metadata on the Hub
    aliases: tuple[str, ...] = field(default=())  # other accepted spellings

    @property
    def source_url(self) -> str:
        return f"https://huggingface.co/{self.hf_id}/blob/main/config.json"


def _llama(**fields: Any) -> dict[str, Any]:
    base = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "attention_dropout": 0.0,
        "rms_norm_eps": 1e-5,
    }
    return base | fields


def _qwen2(**fields: Any) -> dict[str, Any]:
    base = {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_act": "silu",
        "attention_dropout": 0.0,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
        "use_sliding_window": False,
    }
    return base | fields


def _phi(**fields: Any) -> dict[str, Any]:
    base = {
        "architectures": ["PhiForCausalLM"],
        "model_type": "phi",
        "hidden_act": "gelu_new",
        "layer_norm_eps": 1e-5,
        "attention_dropout": 0.0,
        "embd_pdrop": 0.0,
        "qk_layernorm": False,
        "tie_word_embeddings": False,
        "max_position_embeddings": 2048,
        "vocab_size": 51200,
    }
    return base | fields


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "SmolLM2-135M",
        "HuggingFaceTB/SmolLM2-135M",
        _llama(
            hidden_size=576,
            intermediate_size=1536,
            num_hidden_layers=30,
            num_attention_heads=9,
            num_key_value_heads=3,
            head_dim=64,
            vocab_size=49152,
            max_position_embeddings=8192,
            tie_word_embeddings=True,
            rope_theta=100000.0,
        ),
        134_515_008,
        aliases=("SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-135M-Instruct"),
    ),
    CatalogEntry(
        "SmolLM2-360M",
        "HuggingFaceTB/SmolLM2-360M",
        _llama(
            hidden_size=960,
            intermediate_size=2560,
            num_hidden_layers=32,
            num_attention_heads=15,
            num_key_value_heads=5,
            head_dim=64,
            vocab_size=49152,
            max_position_embeddings=8192,
            tie_word_embeddings=True,
            rope_theta=100000.0,
        ),
        361_821_120,
        aliases=("SmolLM2-360M-Instruct", "HuggingFaceTB/SmolLM2-360M-Instruct"),
    ),
    CatalogEntry(
        "SmolLM2-1.7B",
        "HuggingFaceTB/SmolLM2-1.7B",
        _llama(
            hidden_size=2048,
            intermediate_size=8192,
            num_hidden_layers=24,
            num_attention_heads=32,
            num_key_value_heads=32,
            head_dim=64,
            vocab_size=49152,
            max_position_embeddings=8192,
            tie_word_embeddings=True,
            rope_theta=130000.0,
        ),
        1_711_376_384,
        aliases=("SmolLM2-1.7B-Instruct", "HuggingFaceTB/SmolLM2-1.7B-Instruct"),
    ),
    CatalogEntry(
        "phi-1.5",
        "microsoft/phi-1_5",
        _phi(
            hidden_size=2048,
            intermediate_size=8192,
            num_hidden_layers=24,
            num_attention_heads=32,
            num_key_value_heads=32,
            partial_rotary_factor=0.5,
            resid_pdrop=0.0,
        ),
        1_418_270_720,
        aliases=("phi-1_5",),
    ),
    CatalogEntry(
        "phi-2",
        "microsoft/phi-2",
        _phi(
            hidden_size=2560,
            intermediate_size=10240,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=32,
            partial_rotary_factor=0.4,
            resid_pdrop=0.1,
        ),
        2_779_683_840,
    ),
    CatalogEntry(
        "Phi-3-mini",
        "microsoft/Phi-3-mini-4k-instruct",
        {
            "architectures": ["Phi3ForCausalLM"],
            "model_type": "phi3",
            "hidden_act": "silu",
            "hidden_size": 3072,
            "intermediate_size": 8192,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 32,
            "vocab_size": 32064,
            "max_position_embeddings": 4096,
            "original_max_position_embeddings": 4096,
            "rms_norm_eps": 1e-5,
            "resid_pdrop": 0.0,
            "embd_pdrop": 0.0,
            "attention_dropout": 0.0,
            "sliding_window": 2047,
            "tie_word_embeddings": False,
        },
        3_821_079_552,
        aliases=("Phi-3-mini-4k-instruct",),
    ),
    CatalogEntry(
        "TinyLlama-1.1B",
        "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        _llama(
            hidden_size=2048,
            intermediate_size=5632,
            num_hidden_layers=22,
            num_attention_heads=32,
            num_key_value_heads=4,
            vocab_size=32000,
            max_position_embeddings=2048,
            tie_word_embeddings=False,
        ),
        1_100_048_384,
        aliases=("TinyLlama-1.1B-Chat-v1.0",),
    ),
    CatalogEntry(
        "Llama-3.2-1B",
        "meta-llama/Llama-3.2-1B",
        _llama(
            hidden_size=2048,
            intermediate_size=8192,
            num_hidden_layers=16,
            num_attention_heads=32,
            num_key_value_heads=8,
            head_dim=64,
            vocab_size=128256,
            max_position_embeddings=131072,
            tie_word_embeddings=True,
            rope_theta=500000.0,
        ),
        1_235_814_400,
        aliases=("Llama-3.2-1B-Instruct", "meta-llama/Llama-3.2-1B-Instruct"),
    ),
    CatalogEntry(
        "Llama-3.2-3B",
        "meta-llama/Llama-3.2-3B",
        _llama(
            hidden_size=3072,
            intermediate_size=8192,
            num_hidden_layers=28,
            num_attention_heads=24,
            num_key_value_heads=8,
            head_dim=128,
            vocab_size=128256,
            max_position_embeddings=131072,
            tie_word_embeddings=True,
            rope_theta=500000.0,
        ),
        3_212_749_824,
        aliases=("Llama-3.2-3B-Instruct", "meta-llama/Llama-3.2-3B-Instruct"),
    ),
    CatalogEntry(
        "Llama-3.1-8B",
        "meta-llama/Llama-3.1-8B",
        _llama(
            hidden_size=4096,
            intermediate_size=14336,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=8,
            head_dim=128,
            vocab_size=128256,
            max_position_embeddings=131072,
            tie_word_embeddings=False,
            rope_theta=500000.0,
        ),
        8_030_261_248,
        aliases=("Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B-Instruct", "Meta-Llama-3.1-8B"),
    ),
    CatalogEntry(
        "Llama-2-7B",
        "meta-llama/Llama-2-7b-hf",
        _llama(
            hidden_size=4096,
            intermediate_size=11008,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=32,
            vocab_size=32000,
            max_position_embeddings=4096,
            tie_word_embeddings=False,
        ),
        6_738_415_616,
        aliases=("Llama-2-7b-hf", "meta-llama/Llama-2-7b-chat-hf", "Llama-2-7b"),
    ),
    CatalogEntry(
        "Llama-2-13B",
        "meta-llama/Llama-2-13b-hf",
        _llama(
            hidden_size=5120,
            intermediate_size=13824,
            num_hidden_layers=40,
            num_attention_heads=40,
            num_key_value_heads=40,
            vocab_size=32000,
            max_position_embeddings=4096,
            tie_word_embeddings=False,
        ),
        13_015_864_320,
        aliases=("Llama-2-13b-hf", "meta-llama/Llama-2-13b-chat-hf", "Llama-2-13b"),
    ),
    CatalogEntry(
        "Mistral-7B",
        "mistralai/Mistral-7B-v0.1",
        {
            "architectures": ["MistralForCausalLM"],
            "model_type": "mistral",
            "hidden_act": "silu",
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "vocab_size": 32000,
            "max_position_embeddings": 32768,
            "sliding_window": 4096,
            "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0,
            "attention_dropout": 0.0,
            "tie_word_embeddings": False,
        },
        7_241_732_096,
        aliases=("Mistral-7B-v0.1", "mistralai/Mistral-7B-Instruct-v0.1"),
    ),
    CatalogEntry(
        "Qwen2.5-0.5B",
        "Qwen/Qwen2.5-0.5B",
        _qwen2(
            hidden_size=896,
            intermediate_size=4864,
            num_hidden_layers=24,
            num_attention_heads=14,
            num_key_value_heads=2,
            vocab_size=151936,
            max_position_embeddings=32768,
            sliding_window=32768,
            max_window_layers=24,
            tie_word_embeddings=True,
        ),
        494_032_768,
        aliases=("Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct"),
    ),
    CatalogEntry(
        "Qwen2.5-1.5B",
        "Qwen/Qwen2.5-1.5B",
        _qwen2(
            hidden_size=1536,
            intermediate_size=8960,
            num_hidden_layers=28,
            num_attention_heads=12,
            num_key_value_heads=2,
            vocab_size=151936,
            max_position_embeddings=131072,
            sliding_window=131072,
            max_window_layers=21,
            tie_word_embeddings=True,
        ),
        1_543_714_304,
        aliases=("Qwen2.5-1.5B-Instruct", "Qwen/Qwen2.5-1.5B-Instruct"),
    ),
    CatalogEntry(
        "Qwen2.5-7B",
        "Qwen/Qwen2.5-7B",
        _qwen2(
            hidden_size=3584,
            intermediate_size=18944,
            num_hidden_layers=28,
            num_attention_heads=28,
            num_key_value_heads=4,
            vocab_size=152064,
            max_position_embeddings=131072,
            sliding_window=131072,
            max_window_layers=28,
            tie_word_embeddings=False,
        ),
        7_615_616_512,
        aliases=("Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct"),
    ),
    CatalogEntry(
        "gemma-2-2b",
        "google/gemma-2-2b",
        {
            "architectures": ["Gemma2ForCausalLM"],
            "model_type": "gemma2",
            "hidden_act": "gelu_pytorch_tanh",
            "hidden_activation": "gelu_pytorch_tanh",
            "hidden_size": 2304,
            "intermediate_size": 9216,
            "num_hidden_layers": 26,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "head_dim": 256,
            "vocab_size": 256000,
            "max_position_embeddings": 8192,
            "sliding_window": 4096,
            "attn_logit_softcapping": 50.0,
            "final_logit_softcapping": 30.0,
            "query_pre_attn_scalar": 256,
            "rms_norm_eps": 1e-6,
            "attention_dropout": 0.0,
            "tie_word_embeddings": True,
        },
        2_614_341_888,
        aliases=("gemma-2-2b-it", "google/gemma-2-2b-it"),
    ),
)


def _key(name: str) -> str:
    return name.strip().lower()


_BY_NAME: dict[str, CatalogEntry] = {}
for _entry in CATALOG:
    for _spelling in (_entry.name, _entry.hf_id, *_entry.aliases):
        _BY_NAME[_key(_spelling)] = _entry


def find_entry(name: str) -> CatalogEntry | None:
    """The catalog entry for a short name, a Hugging Face id or an alias (case-insensitive), else None."""
    return _BY_NAME.get(_key(name))


def catalog_names() -> list[str]:
    """Short names of every catalog model, in catalog order."""
    return [entry.name for entry in CATALOG]
