"""Create, start, stop, resume and list runs; the Train page and `python -m core train` both call these.

A run is started as its own process, `python -m core train RUN_DIR`, detached (start_new_session: it
survives the app's restart and a closed tab) with stdout and stderr going to RUN_DIR/train.log, never to a
pipe (a pipe nobody reads fills up and hangs training: LLaMA-Factory issues #8485, #8817).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.documents import Document
from core.locking import exclusive_lock as exclusive
from core.training.config import ConfigError, TrainConfig
from core.training.device import device_holder, qlora_unavailable_reason, resolve_device
from core.training.rundir import ACTIVE_STATES, RunDir

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNS_ENV = "CHUNKTUNE_RUNS"
LAUNCHED_ENV = "CHUNKTUNE_LAUNCHED"  # tells the worker that the launcher already cleared the stop file


class LaunchError(RuntimeError):
    """A run cannot be created, started or resumed; the message says why and what to do."""


def runs_root() -> Path:
    """Where runs live: $CHUNKTUNE_RUNS, else ./runs (gitignored)."""
    return Path(os.environ.get(RUNS_ENV) or "runs").expanduser().resolve()


def new_run_id(config: TrainConfig, root: Path) -> str:
    """e.g. 20250314-101500-sliding-w256, with -2, -3... when taken."""
    base = f"{time.strftime('%Y%m%d-%H%M%S')}-{config.strategy}-w{config.window}"
    candidate, n = base, 1
    while (root / candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def create_run(
    config: TrainConfig,
    documents: Sequence[Document],
    root: Path | None = None,
    run_id: str | None = None,
) -> RunDir:
    """A new run directory holding config.json, the documents' text and status `created`.
    Built under a hidden name and renamed into place, so no half-written run is ever listed."""
    if not documents:
        raise LaunchError("No documents to train on: add a document on the Split page (or --docs).")
    root = Path(root) if root is not None else runs_root()
    run_id = run_id or new_run_id(config, root)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", run_id):
        raise LaunchError(f"Run id {run_id!r} may hold only letters, digits, '.', '_' and '-'.")
    target = root / run_id
    if target.exists():
        raise LaunchError(f"{target} already exists: choose another run id.")
    staging = RunDir(root / f".creating-{run_id}-{os.getpid()}")
    staging.path.mkdir(parents=True)
    try:
        names = staging.write_documents(documents)
        replace(config, documents=names).save(staging.config_path)
        staging.write_status("created", "Created; not started yet.")
        staging.path.rename(target)
    except BaseException:
        _remove_tree(staging.path)
        raise
    return RunDir(target)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _launch_lock(root: Path) -> contextlib.AbstractContextManager[None]:
    """Serializes the check-then-start of launches under one runs root (an exclusive flock)."""
    return exclusive(root / ".locks" / "launch.lock")


def running_on(root: Path, device: str, exclude: str | None = None) -> str | None:
    """The id of a run training (or starting) on `device` under `root`, or None."""
    holder = device_holder(root, device)
    if holder and holder != exclude:
        return holder
    for run in list_runs(root):  # started but not yet holding the lock (the process is still importing)
        status = run.status()
        starting = run.id != exclude and status.get("state") == "queued" and status.get("device") == device
        if starting and refresh(run).get("state") == "queued":
            return run.id
    return None


def launch(run: RunDir, *, resume: bool = False, env: dict[str, str] | None = None) -> int:
    """Start the run's process in the background; returns its PID. Raises LaunchError with the reason."""
    status = refresh(run)
    state = status.get("state")
    if state in ACTIVE_STATES:
        raise LaunchError(f"Run '{run.id}' is already {state}.")
    if state == "completed":
        raise LaunchError(f"Run '{run.id}' has completed: create a new run to train again.")
    if state != "created" and not resume:
        raise LaunchError(f"Run '{run.id}' has already run ({state}): resume it instead.")
    try:
        config = run.config()
        device = resolve_device(config.device)
    except (ConfigError, RuntimeError) as error:
        raise LaunchError(str(error)) from error
    if config.qlora and (reason := qlora_unavailable_reason()):
        raise LaunchError(reason)
    root = run.path.parent
    with _launch_lock(root):
        holder = running_on(root, device, exclude=run.id)
        if holder:
            raise LaunchError(
                f"Run '{holder}' is training on {device}: one run at a time per device. Stop it or wait until "
                "it finishes, then start this one."
            )
        run.clear_stop()
        pid = _spawn(run, resume, env)
        run.write_pid(pid)
        newest = run.newest_checkpoint() if resume else None
        message = f"Resuming from checkpoint-{newest[0]}" if newest else "Starting the training process"
        run.write_status("queued", message, pid=pid, device=device, final=None)
    return pid


def _spawn(run: RunDir, resume: bool, env: dict[str, str] | None) -> int:
    command = [sys.executable, "-m", "core", "train", str(run.path)] + (["--resume"] if resume else [])
    environment = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1", LAUNCHED_ENV: "1"}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")]))
    with open(run.log_path, "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            env=environment,
            start_new_session=True,  # its own session: no signal from the app's terminal reaches it
        )
    return process.pid


def resume(run: RunDir, env: dict[str, str] | None = None) -> int:
    """Continue a stopped or failed run from its newest checkpoint (from the start when it has none)."""
    return launch(run, resume=True, env=env)


def stop(run: RunDir) -> bool:
    """Ask the run to end after its current step (it saves a checkpoint and the adapter). False if not active."""
    status = refresh(run)
    if status.get("state") not in ACTIVE_STATES:
        return False
    run.request_stop()  # every rank polls this file
    pid = run.pid_record().get("pid")
    if status.get("state") == "running" and pid:  # its handlers are installed once it says running
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(int(pid), signal.SIGTERM)
    return True


def refresh(run: RunDir) -> dict[str, Any]:
    """The run's status, with a vanished process detected: queued/running but the PID is gone -> failed."""
    status = run.status()
    if status.get("state") not in ACTIVE_STATES or run.process_alive() is not False:
        return status
    status = run.status()  # it may have written its final status just before exiting
    if status.get("state") not in ACTIVE_STATES:
        return status
    newest = run.newest_checkpoint()
    resume_from = f"checkpoint-{newest[0]}" if newest else "the start (no checkpoint was written)"
    pid = run.pid_record().get("pid")
    return run.write_status(
        "failed",
        f"The training process (PID {pid}) ended without finishing: it was killed (SIGKILL, the system's "
        f"out-of-memory killer, or a restart). The end of train.log may say more. Resume continues from "
        f"{resume_from}.",
    )


def list_runs(root: Path | None = None) -> list[RunDir]:
    """Every run under `root`, newest first."""
    root = Path(root) if root is not None else runs_root()
    if not root.is_dir():
        return []
    runs = [RunDir(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    runs = [r for r in runs if r.exists()]
    return sorted(runs, key=lambda r: (r.status().get("created_at") or 0, r.id), reverse=True)


def run_summary(run: RunDir) -> dict[str, Any]:
    """One row of the runs list: state, the settings that tell runs apart, and the final numbers."""
    status = refresh(run)
    try:
        config = run.config()
        settings = {
            "strategy": config.strategy,
            "window": config.window,
            "model": config.model,
            "lora_rank": config.lora_rank,
            "learning_rate": config.learning_rate,
            "packing": config.packing,
        }
    except ConfigError as error:
        settings = {"strategy": f"(bad config: {error})"}
    records = run.metrics()
    losses = [r for r in records if r.get("loss") is not None]
    evals = [r for r in records if r.get("eval_loss") is not None]
    return {
        "run": run.id,
        "state": status.get("state", "unknown"),
        **settings,
        "step": losses[-1]["step"] if losses else 0,
        "max_steps": status.get("max_steps"),
        "loss": losses[-1]["loss"] if losses else None,
        "eval_loss": evals[-1]["eval_loss"] if evals else None,
        "tokens_per_second": losses[-1].get("tokens_per_second") if losses else None,
        "elapsed": losses[-1].get("elapsed") if losses else None,
        "created_at": status.get("created_at"),
        "message": status.get("message", ""),
    }


def find_run(run_id: str, root: Path | None = None) -> RunDir | None:
    """The run called `run_id` under `root` (None if it does not exist or the id is not a plain name)."""
    root = Path(root) if root is not None else runs_root()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", run_id or ""):
        return None
    run = RunDir(root / run_id)
    return run if run.exists() else None
