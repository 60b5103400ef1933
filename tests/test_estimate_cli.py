"""`python -m core estimate`: flags, JSON, text, and clear errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from core.estimate.cli import add_parser, run
from tests.conftest import REPO_ROOT


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["estimate", *argv])


def test_json_has_the_promised_fields(capsys):
    code = run(
        _args(
            "--model",
            "phi-2",
            "--method",
            "lora",
            "--rank",
            "8",
            "--targets",
            "q_proj,v_proj,dense",
            "--dtype",
            "bf16",
            "--seq-len",
            "2048",
            "--batch",
            "2",
            "--grad-checkpointing",
            "--gpu-memory-gb",
            "24",
            "--json",
        )
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["params"] == 2_779_683_840
    assert result["trainable_params"] == 32 * 8 * 3 * (2560 + 2560)
    assert result["total_bytes"] == sum(
        v for k, v in result["breakdown"].items() if k not in ("allocator overhead", "CUDA context")
    )
    assert result["reserved_bytes"] > result["total_bytes"]
    assert result["fits"] is True and "Fits" in result["verdict"]
    assert result["largest_seq_len"] >= 2048


def test_text_output_names_both_counters(capsys):
    assert (
        run(
            _args(
                "--model",
                "phi-2",
                "--method",
                "full",
                "--dtype",
                "fp32",
                "--batch",
                "8",
                "--gpus",
                "2",
                "--gpu-memory-gb",
                "24",
            )
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "max_memory_allocated" in out and "nvidia-smi" in out and "Does not fit" in out
    assert "Cheapest changes" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "not-a-model-anywhere"], "Unknown model"),
        (["--model", "phi-2", "--targets", "gate_proj"], "do not exist in phi-2"),
        (["--model", "phi-2", "--rank", "0"], "rank must be at least 1"),
        (["--model", "phi-2", "--seq-len", "4096"], "above what phi-2 supports"),
        (["--model", "phi-2", "--gpu-memory-gb", "0"], "must be positive"),
    ],
)
def test_bad_input_is_one_line_on_stderr_with_code_2(capsys, argv, message):
    assert run(_args(*argv)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and captured.err.count("\n") == 1


def test_end_to_end_through_python_dash_m_core():
    done = subprocess.run(
        [sys.executable, "-m", "core", "estimate", "--model", "SmolLM2-135M", "--seq-len", "512", "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["params"] == 134_515_008 and "fits" not in result
    bad = subprocess.run(
        [sys.executable, "-m", "core", "estimate", "--model", "nope/nothing"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
