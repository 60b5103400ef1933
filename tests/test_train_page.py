"""The Train page under AppTest, driven by run directories on disk (a fake worker's files) and one tiny run."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.documents import Document
from core.strategies import SplitParams
from core.training.config import TrainConfig
from core.training.launcher import create_run
from core.training.rundir import RunDir
from core.training.worker import main
from tests.conftest import REPO_ROOT
from tests.train_fixtures import TEXT, tiny_model, write_fake_run  # noqa: F401  (fixture)

PAGE = str(REPO_ROOT / "pages" / "3_Train.py")


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("CHUNKTUNE_RUNS", str(tmp_path))
    st.cache_resource.clear()
    st.cache_data.clear()
    return tmp_path


def page(tiny_model, run_id: str | None = None) -> AppTest:  # noqa: F811
    at = AppTest.from_file(PAGE, default_timeout=90)
    at.session_state["model_spec"] = str(tiny_model)
    at.session_state["documents"] = [Document("notes", TEXT * 3, "test")]
    at.session_state["split_params"] = SplitParams(strategy="sliding", window=64)
    if run_id:
        at.query_params["run"] = run_id
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return " ".join(
        str(e.value) for kind in ("markdown", "caption", "info", "success", "error") for e in at.get(kind)
    )


def test_without_runs_the_form_says_steps_and_expected_time(runs, tiny_model):  # noqa: F811
    at = page(tiny_model)
    assert "No runs yet" in texts(at)
    info = " ".join(str(e.value) for e in at.info)
    assert "30 steps" in info and "expected **about" in info
    at.number_input(key="train_max_steps").set_value(12).run()
    assert "12 steps" in " ".join(str(e.value) for e in at.info)
    at.number_input(key="train_rank").set_value(0).run()  # below its minimum: the widget refuses
    assert not at.exception


def test_a_running_run_shows_progress_chart_and_stops(runs, tiny_model):  # noqa: F811
    write_fake_run(runs, "a-done", state="completed", steps=30, max_steps=30, strategy="truncation")
    path = write_fake_run(runs, "b-live", state="running", steps=12, max_steps=30)
    worker = subprocess.Popen(["sleep", "60"])  # stands in for the training process (Stop sends it SIGTERM)
    RunDir(path).write_pid(worker.pid)
    at = page(tiny_model, run_id="b-live")
    assert at.selectbox(key="run_choice").value == "b-live"
    assert at.query_params["run"] in ("b-live", ["b-live"])
    progress = at.get("progress")[0]
    assert (
        "step 12 / 30" in progress.proto.text
        and "tokens/s" in progress.proto.text
        and "ETA" in progress.proto.text
    )
    assert progress.proto.value == 40
    assert len(at.get("plotly_chart")) >= 2  # the live chart and the overlay of runs
    assert "running" in texts(at)
    at.button(key="stop_b-live").click().run()
    assert RunDir(path).stop_requested()
    worker.wait(timeout=10)  # SIGTERM ended it (the page reaped it, so its exit code reads 0)
    assert "stop requested" in texts(at) or "failed" in texts(at)


def test_reattach_picks_the_run_from_the_url_and_a_killed_run_shows_failed(runs, tiny_model):  # noqa: F811
    write_fake_run(runs, "a-done", state="completed", steps=30, max_steps=30)
    path = write_fake_run(runs, "c-killed", state="running", steps=5, max_steps=30)
    RunDir(path).write_pid(2**22 + 12345)  # no such process
    at = page(tiny_model, run_id="c-killed")
    assert at.selectbox(key="run_choice").value == "c-killed"
    assert "failed" in texts(at) and "killed" in texts(at)
    assert any(b.label.startswith("Restart") or b.label.startswith("Resume") for b in at.button)
    at.selectbox(key="run_choice").set_value("a-done").run()
    assert not at.exception
    assert "completed" in texts(at)


def test_create_only_makes_a_run_the_page_then_selects(runs, tiny_model):  # noqa: F811
    at = page(tiny_model)
    at.button(key="create_only").click().run()
    assert not at.exception, at.exception
    created = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(created) == 1
    run = RunDir(created[0])
    assert run.status()["state"] == "created"
    assert run.config().window == 64 and run.config().max_steps == 30
    assert at.selectbox(key="run_choice").value == run.id


def test_start_training_launches_the_process(runs, tiny_model):  # noqa: F811
    at = page(tiny_model)
    at.button(key="start_training").click().run()
    assert not at.exception, at.exception
    (created,) = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    run = RunDir(created)
    pid = run.pid_record()["pid"]
    try:
        assert run.status()["state"] in ("queued", "running")
        assert run.process_alive()
    finally:
        os.killpg(pid, signal.SIGKILL)


def test_evaluation_try_it_and_export_on_a_trained_run(runs, tiny_model):  # noqa: F811
    config = TrainConfig(model=str(tiny_model), window=64, max_steps=3, eval_share=0.2, save_steps=0)
    run = create_run(config, [Document("notes", TEXT * 3, "test")], root=runs)
    assert main(run.path) == 0
    at = page(tiny_model, run_id=run.id)
    at.button(key=f"evaluate_{run.id}").click().run()
    assert not at.exception, at.exception
    labels = {m.label for m in at.metric}
    assert {"Held-out perplexity, base", "With the adapter"} <= labels
    assert any("ct-loss" in h.proto.body for h in at.get("html"))
    at.button(key=f"generate_{run.id}").click().run()
    assert not at.exception, at.exception
    assert {"**Base model**", "**With the adapter**"} <= {m.value for m in at.markdown}
    at.button(key=f"zip_{run.id}").click().run()
    assert not at.exception, at.exception
    assert len(at.get("download_button")) == 1
