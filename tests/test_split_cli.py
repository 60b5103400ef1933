"""`python -m core split`: the JSON shape, the exports, and clear errors, through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.documents import Document
from core.examples import export_examples
from core.models import load_tokenizer
from core.strategies import SplitParams, split
from core.tokenization import tokenize_corpus
from tests.conftest import REPO_ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def document(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\n" + "A sentence about context windows. " * 300 + "\n\nThe end.\n")
    return path


def test_split_json_has_the_documented_shape(document):
    done = run_cli(
        "split", str(document), "--strategy", "sliding", "--window", "128", "--overlap", "32", "--json"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["strategy"] == "sliding" and report["window"] == 128
    assert {"token_start", "token_end", "char_start", "char_end", "num_tokens", "source"} <= set(
        report["chunks"][0]
    )
    stats = report["stats"]
    for key in ("examples", "tokens_trained", "coverage", "dropped_tokens", "duplication", "padding_tokens"):
        assert key in stats
    assert stats["examples"] == len(report["chunks"]) > 1
    assert stats["coverage"] == 1.0
    steps = [
        b["token_start"] - a["token_start"]
        for a, b in zip(report["chunks"], report["chunks"][1:], strict=False)
    ]
    assert set(steps) == {96}


def test_split_errors_say_what_to_do(document, tmp_path):
    done = run_cli("split", str(document), "--window", "64", "--overlap", "64")
    assert (
        done.returncode == 2 and "smaller than the window" in done.stderr and "Traceback" not in done.stderr
    )
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n")
    done = run_cli("split", str(empty), "--window", "64")
    assert done.returncode == 2 and "empty" in done.stderr.lower() and "Traceback" not in done.stderr
    done = run_cli("split", str(document), "--model", str(tmp_path / "missing-model"), "--window", "64")
    assert done.returncode == 2 and "Traceback" not in done.stderr


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_exports_load_with_datasets_and_match_the_split(tmp_path, suffix):
    datasets = pytest.importorskip("datasets")
    tokenizer = load_tokenizer("default")
    text = "First paragraph here. " * 80 + "\n\n" + "Second paragraph there. " * 80
    corpus = tokenize_corpus(tokenizer, [Document("a.txt", text, "a.txt")])
    result = split(corpus, SplitParams(strategy="sliding", window=64, overlap=16, mask_overlap=True))
    path = export_examples(result, tmp_path / f"examples.{suffix}", tokenizer)
    loaded = datasets.load_dataset("json" if suffix == "jsonl" else "parquet", data_files=str(path))["train"]
    assert len(loaded) == len(result)
    second = loaded[1]
    assert second["input_ids"] == result.example_ids(1).tolist()
    assert second["labels"][:16] == [-100] * 16 and second["labels"][16:] == second["input_ids"][16:]
    assert text[second["char_start"] : second["char_end"]] == second["text"]
    assert second["source"] == "a.txt"
