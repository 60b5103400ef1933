"""TrainConfig: validation messages, JSON round-trip; the run directory's files: status, metrics, pid."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.training.config import ConfigError, TrainConfig, field_docs
from core.training.rundir import RunDir, process_alive, read_metrics


def test_config_round_trips_through_json(tmp_path):
    config = TrainConfig(
        model="/models/tiny",
        documents=("a", "b"),
        strategy="boundary",
        window=128,
        packing=True,
        lora_targets=("q_proj", "v_proj"),
        max_steps=7,
        micro_batch=2,
    )
    path = config.save(tmp_path / "config.json")
    assert TrainConfig.load(path) == config
    assert json.loads(path.read_text())["lora_targets"] == ["q_proj", "v_proj"]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"strategy": "words"}, "Unknown strategy"),
        ({"window": 8}, "at least 16"),
        ({"overlap": 300, "window": 256}, "smaller than the window"),
        ({"packing": True, "strategy": "sliding"}, "blocks and boundary"),
        ({"mask_overlap": True, "strategy": "blocks"}, "sliding window"),
        ({"eval_share": 0.9}, "between 0 and 0.5"),
        ({"lora_rank": 0}, "rank"),
        ({"lora_targets": ()}, "target"),
        ({"learning_rate": 0}, "learning rate"),
        ({"lr_schedule": "step"}, "schedule"),
        ({"max_steps": 0, "epochs": 0}, "epochs"),
        ({"micro_batch": 0}, "batch size must be at least 1"),
        ({"device": "tpu"}, "Unknown device"),
        ({"qlora": True, "device": "cpu"}, "NVIDIA GPU"),
        ({"qlora": True, "dtype": "fp32"}, "16 bits"),
    ],
)
def test_bad_settings_say_what_to_change(changes, words):
    with pytest.raises(ConfigError, match=words):
        TrainConfig(**changes)


def test_unknown_keys_in_a_config_file_are_named(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"windw": 256}))
    with pytest.raises(ConfigError, match="windw"):
        TrainConfig.load(tmp_path / "config.json")


def test_every_field_has_a_one_line_doc():
    docs = field_docs()
    assert set(docs) == set(TrainConfig.__dataclass_fields__)
    assert all(doc and "\n" not in doc for doc in docs.values())


def test_status_is_replaced_whole_and_keeps_earlier_fields(tmp_path):
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    run.write_status("queued", "starting", max_steps=30)
    run.write_status("running", "training")
    status = run.status()
    assert (status["state"], status["message"], status["max_steps"]) == ("running", "training", 30)
    assert not [p for p in run.path.iterdir() if p.name.startswith(".")]  # no temporary file left behind
    with pytest.raises(ValueError):
        run.write_status("exploded")


def test_reader_skips_a_torn_last_line_and_repair_truncates_it(tmp_path):
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    run.append_metrics({"step": 1, "loss": 2.0})
    run.append_metrics({"step": 2, "loss": 1.5})
    with open(run.metrics_path, "ab") as out:
        out.write(b'{"step": 3, "lo')  # the writer was killed mid-line
    assert [r["step"] for r in read_metrics(run.metrics_path)] == [1, 2]
    run.repair_metrics()
    run.append_metrics({"step": 3, "loss": 1.2})
    assert [r["step"] for r in run.metrics()] == [1, 2, 3]
    assert run.repair_metrics(max_step=2)[-1]["step"] == 2
    assert [r["step"] for r in run.metrics()] == [1, 2]


def test_a_garbled_middle_line_is_skipped_not_fatal(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b'{"step": 1}\n\xff\xfe not json\n{"step": 2}\n')
    assert [r["step"] for r in read_metrics(path)] == [1, 2]
    assert read_metrics(tmp_path / "absent.jsonl") == []


def test_a_dead_or_reused_pid_is_not_alive(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert process_alive(child.pid) is False
    assert process_alive(os.getpid()) is True
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    run.write_pid(os.getpid())
    assert run.process_alive() is True
    record = run.pid_record()
    if record["start_ticks"] is not None:  # Linux: a different start time means another process
        assert process_alive(os.getpid(), record["start_ticks"] + 1) is False
