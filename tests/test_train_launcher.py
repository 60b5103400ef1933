"""Runs as detached processes: stop and resume, SIGKILL detected and resumed, one run per device, torchrun."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.documents import Document
from core.training.config import TrainConfig
from core.training.launcher import LaunchError, create_run, launch, refresh, resume, stop
from core.training.rundir import RunDir
from tests.train_fixtures import TEXT, tiny_model  # noqa: F401  (fixture)

DOCS = [Document("notes", TEXT * 3, "test")]
ENV = {"OMP_NUM_THREADS": "1"}


def wait_for(condition, timeout: float = 90.0, what: str = "the run"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def last_step(run: RunDir) -> int:
    steps = [r["step"] for r in run.metrics() if r.get("loss") is not None]
    return steps[-1] if steps else 0


def state(run: RunDir) -> str:
    return refresh(run).get("state", "")


def endless(model, **changes) -> TrainConfig:
    """Far more steps than the test waits for: the test stops it."""
    settings = {
        "model": str(model),
        "window": 64,
        "max_steps": 100_000,
        "eval_share": 0.0,
        "save_steps": 100_000,
    }
    return TrainConfig(**{**settings, **changes})


def assert_steps_continue(run: RunDir, checkpoint_step: int) -> None:
    steps = [r["step"] for r in run.metrics() if r.get("loss") is not None]
    assert steps == list(range(1, len(steps) + 1)), "metrics.jsonl holds each step once, in order"
    assert len(steps) > checkpoint_step + 1


def test_stop_then_resume_continues_from_the_checkpoint_step_and_one_run_per_device(tiny_model, tmp_path):  # noqa: F811
    run = create_run(endless(tiny_model), DOCS, root=tmp_path)
    launch(run, env=ENV)
    second = create_run(endless(tiny_model), DOCS, root=tmp_path)
    with pytest.raises(LaunchError, match=f"Run '{run.id}' is training on cpu"):
        launch(second, env=ENV)  # refused while the first is still starting (queued)...
    wait_for(lambda: last_step(run) >= 3, what="three steps")
    with pytest.raises(LaunchError, match=f"Run '{run.id}' is training on cpu"):
        launch(second, env=ENV)  # ...and while it trains
    assert stop(run)
    wait_for(lambda: state(run) == "stopped", what="the stop")
    stopped_at = run.status()["final"]["step"]
    assert run.newest_checkpoint()[0] == stopped_at
    assert last_step(run) == stopped_at
    assert (run.adapter_dir / "adapter_model.safetensors").is_file()

    resume(run, env=ENV)
    wait_for(lambda: last_step(run) >= stopped_at + 3, what="steps after the resume")
    stop(run)
    wait_for(lambda: state(run) == "stopped", what="the second stop")
    assert_steps_continue(run, stopped_at)
    log = run.log_path.read_text()
    assert log.count("=== ") == 2 and "Stopping at step" in log


def test_a_sigkilled_run_is_detected_as_failed_and_resumes(tiny_model, tmp_path):  # noqa: F811
    run = create_run(endless(tiny_model, save_steps=5), DOCS, root=tmp_path)
    pid = launch(run, env=ENV)
    wait_for(
        lambda: run.newest_checkpoint() and last_step(run) > run.newest_checkpoint()[0], what="a checkpoint"
    )
    os.killpg(pid, signal.SIGKILL)  # no handler runs: status.json still says running
    status = wait_for(lambda: (s := refresh(run))["state"] != "running" and s, what="the kill to be noticed")
    assert status["state"] == "failed"
    assert f"PID {pid}" in status["message"] and "killed" in status["message"]
    checkpoint = run.newest_checkpoint()[0]
    assert checkpoint % 5 == 0

    resume(run, env=ENV)
    resumed = f"resumed from step {checkpoint}"  # said once the metrics after the checkpoint are dropped
    wait_for(
        lambda: resumed in refresh(run)["message"] and last_step(run) >= checkpoint + 2, what="the resume"
    )
    stop(run)
    wait_for(lambda: state(run) == "stopped", what="the stop")
    assert_steps_continue(run, checkpoint)


def test_launch_refuses_finished_and_unstartable_runs(tmp_path):
    run = create_run(TrainConfig(model="default"), DOCS, root=tmp_path)
    run.write_status("completed", "done")
    with pytest.raises(LaunchError, match="has completed"):
        launch(run)
    run.write_status("stopped", "stopped")
    with pytest.raises(LaunchError, match="resume it instead"):
        launch(run)
    with pytest.raises(LaunchError, match="No documents"):
        create_run(TrainConfig(), [], root=tmp_path)
    with pytest.raises(LaunchError, match="already exists"):
        create_run(TrainConfig(), DOCS, root=tmp_path, run_id=run.id)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".creating")]


def test_torchrun_with_two_cpu_processes_writes_one_coherent_metrics_file(tiny_model, tmp_path):  # noqa: F811
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        torchrun = shutil.which("torchrun")
    if not torchrun:
        pytest.skip("torchrun is not installed")
    config = TrainConfig(model=str(tiny_model), window=64, max_steps=4, eval_steps=2, save_steps=0)
    run = create_run(config, DOCS, root=tmp_path)
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "core", "train", str(run.path)],
        cwd=repo,
        env={**os.environ, **ENV, "PYTHONPATH": str(repo)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    status = run.status()
    assert (status["state"], status["world_size"]) == ("completed", 2)
    records = run.metrics()
    assert [r["step"] for r in records if r["loss"] is not None] == [1, 2, 3, 4]  # rank 0 alone writes
    assert [r["step"] for r in records if r["eval_loss"] is not None] == [0, 2, 4]
    # Tokens are summed over both ranks: each step sees two micro-batches.
    first = next(r for r in records if r["loss"] is not None)
    assert first["tokens_seen"] > 64
    assert (run.adapter_dir / "adapter_model.safetensors").is_file()
