"""After training: held-out perplexity and the loss map, base vs adapter generation, export."""

from __future__ import annotations

import itertools
import math
import zipfile

import pytest

from core.documents import Document
from core.training.config import TrainConfig
from core.training.evaluation import evaluate_run, read_evaluation
from core.training.export import build_zip
from core.training.generation import side_by_side
from core.training.launcher import create_run
from core.training.modeling import load_trained
from core.training.worker import main
from tests.train_fixtures import TEXT, tiny_model  # noqa: F401  (fixture)

DOCS = [Document("notes", TEXT * 3, "test"), Document("more", TEXT.upper() * 2, "test")]


@pytest.fixture(scope="module")
def trained_run(tiny_model, tmp_path_factory):  # noqa: F811
    config = TrainConfig(
        model=str(tiny_model),
        strategy="sliding",
        window=64,
        overlap=16,
        max_steps=8,
        learning_rate=0.01,
        eval_share=0.2,
        save_steps=0,
        eval_steps=0,
        lora_dropout=0.0,
    )
    run = create_run(config, DOCS, root=tmp_path_factory.mktemp("runs"))
    assert main(run.path) == 0
    return run


def test_evaluation_scores_held_out_text_and_maps_every_part_of_the_documents(trained_run):
    report = evaluate_run(trained_run)
    assert report["held_out_tokens"] > 0
    assert math.isclose(report["base_perplexity"], math.exp(report["base_loss"]), rel_tol=1e-9)
    assert report["adapter_perplexity"] < report["base_perplexity"]  # eight steps on the same kind of text
    assert read_evaluation(trained_run)["adapter_perplexity"] == report["adapter_perplexity"]
    for j, document in enumerate(DOCS):
        segments = [s for s in report["segments"] if s["doc"] == j]
        cut = report["documents"][j]["cut"]
        assert {s["part"] for s in segments} == {"train", "held out"}
        assert all(s["end"] <= cut for s in segments if s["part"] == "train")
        assert all(s["start"] >= cut for s in segments if s["part"] == "held out")
        # Segments do not overlap and cover the document up to a token's gap at each chunk start.
        spans = sorted((s["start"], s["end"]) for s in segments)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
        assert sum(e - s for s, e in spans) > 0.9 * len(document.text)
        assert all(math.isfinite(s["loss"]) and math.isfinite(s["base_loss"]) for s in segments)


def test_side_by_side_generation_differs_between_base_and_adapter(trained_run):
    model, tokenizer = load_trained(trained_run)
    answer = side_by_side(model, tokenizer, "Each strategy trades", max_new_tokens=12)
    assert answer.base != answer.adapter
    with pytest.raises(ValueError, match="prompt"):
        side_by_side(model, tokenizer, "   ")


def test_export_zip_holds_a_loadable_adapter_merged_model_and_the_exact_config(trained_run, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    archive = build_zip(trained_run, include_merged=True)
    with zipfile.ZipFile(archive) as opened:
        names = set(opened.namelist())
        opened.extractall(tmp_path)
    assert {
        "adapter/adapter_config.json",
        "adapter/adapter_model.safetensors",
        "config.json",
        "merged/config.json",
        "merged/model.safetensors",
        "metrics.jsonl",
        "README.txt",
    } <= names
    assert TrainConfig.load(tmp_path / "config.json") == trained_run.config()
    config = trained_run.config()
    ids = torch.tensor([[5, 17, 42, 99, 7]])
    with torch.no_grad():
        base = AutoModelForCausalLM.from_pretrained(config.model)
        with_adapter = PeftModel.from_pretrained(base, tmp_path / "adapter").eval()(ids).logits
        merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged").eval()(ids).logits
    assert torch.allclose(with_adapter, merged, atol=1e-4)
