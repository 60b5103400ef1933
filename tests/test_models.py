"""Models load offline: the built-in GGUF is converted once, anything unavailable says what to do."""

from __future__ import annotations

import json

import pytest

from core import models
from core.models import ModelLoadError, model_context_length, resolve_model_dir


def test_default_model_context_and_tokenizer():
    assert model_context_length("default") == 8192
    tokenizer = models.load_tokenizer("default")
    assert tokenizer.is_fast and len(tokenizer) == 49152


def test_a_missing_folder_and_an_uncached_hub_id_say_what_to_do(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        resolve_model_dir(str(tmp_path / "nowhere" / "model"))
    with pytest.raises(ModelLoadError, match="not available offline"):
        resolve_model_dir("some-org/a-model-that-is-not-cached")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match=r"no config\.json"):
        resolve_model_dir(str(tmp_path / "empty"))


@pytest.mark.slow
def test_the_built_in_model_is_converted_once_with_progress(tmp_path, monkeypatch):
    monkeypatch.setenv("CHUNKTUNE_CACHE", str(tmp_path))
    messages: list[str] = []
    folder = models.prepare_default_model(progress=messages.append)
    assert folder == tmp_path / "models" / models.DEFAULT_MODEL_NAME
    assert any("Dequantizing" in message for message in messages) and messages[-1] == "Done"
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and config["model_type"] == "llama"
    assert (folder / "model.safetensors").stat().st_size > 100_000_000
    # The second call finds the folder: no conversion, no progress.
    again: list[str] = []
    assert models.prepare_default_model(progress=again.append) == folder and again == []
    model = models.load_causal_lm("default")
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    assert not list(tmp_path.glob("models/.converting-*"))  # nothing half-written is left behind
