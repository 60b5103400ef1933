"""The run directory: the only channel between a training process and whoever watches it.

RUN_DIR/
  config.json      TrainConfig, exactly (written once, atomically)
  status.json      {"state": created|queued|running|completed|stopped|failed, "message", ...} (atomic writes)
  metrics.jsonl    one JSON object per line, append-only; training lines carry `loss`, evaluation lines
                   `eval_loss` (see worker.MetricsCallback); a reader skips a torn last line
  train.log        the process's stdout and stderr (a file, never a pipe: a full pipe would hang training)
  pid              {"pid", "start_ticks", "host"} of the training process, to tell a live run from a killed one
  stop             present = please stop after the current step (every rank polls it)
  documents/       000.txt, 001.txt, ... the documents' text, so a restarted worker finds them
  checkpoints/     checkpoint-N/ folders written by the Trainer (resume starts from the newest)
  adapter/         the final LoRA adapter (adapter_model.safetensors + adapter_config.json)
  evaluation.json  perplexities and the per-chunk loss map (evaluation.py)
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.atomic_files import write_json_atomic, write_text_atomic
from core.documents import Document
from core.training.config import TrainConfig

STATES = ("created", "queued", "running", "completed", "stopped", "failed")
ACTIVE_STATES = ("queued", "running")
FINISHED_STATES = ("completed", "stopped", "failed")


@dataclass(frozen=True)
class RunDir:
    """Paths and file operations of one run directory."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path).expanduser().resolve())

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def log_path(self) -> Path:
        return self.path / "train.log"

    @property
    def pid_path(self) -> Path:
        return self.path / "pid"

    @property
    def stop_path(self) -> Path:
        return self.path / "stop"

    @property
    def documents_dir(self) -> Path:
        return self.path / "documents"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def adapter_dir(self) -> Path:
        return self.path / "adapter"

    @property
    def evaluation_path(self) -> Path:
        return self.path / "evaluation.json"

    @property
    def export_dir(self) -> Path:
        return self.path / "export"

    def exists(self) -> bool:
        return self.config_path.is_file()

    # -- config and documents ------------------------------------------------------------------------------

    def config(self) -> TrainConfig:
        return TrainConfig.load(self.config_path)

    def write_documents(self, documents: Iterable[Document]) -> tuple[str, ...]:
        """Copy the documents' text into documents/NNN.txt; return their names in order."""
        self.documents_dir.mkdir(parents=True, exist_ok=True)
        names = []
        for index, document in enumerate(documents):
            (self.documents_dir / f"{index:03d}.txt").write_text(document.text, encoding="utf-8")
            names.append(document.name)
        return tuple(names)

    def documents(self, names: Iterable[str]) -> list[Document]:
        """The documents written by `write_documents`, named as in the config."""
        found = []
        for index, name in enumerate(names):
            path = self.documents_dir / f"{index:03d}.txt"
            if not path.is_file():
                raise FileNotFoundError(
                    f"{path} is missing: the run directory is incomplete; create a new run."
                )
            found.append(Document(name=name, text=path.read_text(encoding="utf-8"), source=str(path)))
        return found

    # -- status --------------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The last status written, or {} when there is none (or it cannot be read)."""
        try:
            data = json.loads(self.status_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_status(self, state: str, message: str = "", **fields: Any) -> dict[str, Any]:
        """Replace status.json atomically; keeps the earlier fields (created_at, max_steps...) unless given."""
        if state not in STATES:
            raise ValueError(f"Unknown run state {state!r}")
        data = {**self.status(), **fields, "state": state, "message": message, "updated_at": time.time()}
        data.setdefault("created_at", data["updated_at"])
        write_json_atomic(self.status_path, data)
        return data

    # -- metrics -------------------------------------------------------------------------------------------

    def append_metrics(self, record: dict[str, Any]) -> None:
        """One line per call, written with a single write() in append mode."""
        line = (json.dumps(record, allow_nan=True) + "\n").encode("utf-8")
        with open(self.metrics_path, "ab") as out:
            out.write(line)

    def metrics(self) -> list[dict[str, Any]]:
        return read_metrics(self.metrics_path)

    def repair_metrics(self, max_step: int | None = None) -> list[dict[str, Any]]:
        """Drop a torn last line and, when resuming, every line after `max_step`; rewrite atomically."""
        records = self.metrics()
        if max_step is not None:
            records = [r for r in records if int(r.get("step", 0)) <= max_step]
        if not self.metrics_path.exists() and not records:
            return records
        text = "".join(json.dumps(r, allow_nan=True) + "\n" for r in records)
        write_text_atomic(self.metrics_path, text)
        return records

    # -- stop flag and process id --------------------------------------------------------------------------

    def request_stop(self) -> None:
        self.stop_path.write_text(f"{time.time()}\n")

    def stop_requested(self) -> bool:
        return self.stop_path.exists()

    def clear_stop(self) -> None:
        self.stop_path.unlink(missing_ok=True)

    def write_pid(self, pid: int) -> None:
        write_json_atomic(
            self.pid_path, {"pid": pid, "start_ticks": process_start_ticks(pid), "host": socket.gethostname()}
        )

    def pid_record(self) -> dict[str, Any]:
        try:
            data = json.loads(self.pid_path.read_text())
        except (OSError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def process_alive(self) -> bool | None:
        """True/False for the recorded process; None when it cannot be told (no pid file, another host)."""
        record = self.pid_record()
        if not record.get("pid"):
            return None
        if record.get("host") not in (None, socket.gethostname()):
            return None
        return process_alive(int(record["pid"]), record.get("start_ticks"))

    # -- checkpoints ---------------------------------------------------------------------------------------

    def checkpoints(self) -> list[tuple[int, Path]]:
        """Complete checkpoints (trainer_state.json is written last), oldest first: [(step, folder)]."""
        found = []
        if self.checkpoints_dir.is_dir():
            for folder in self.checkpoints_dir.glob("checkpoint-*"):
                step = folder.name.rsplit("-", 1)[-1]
                if step.isdigit() and (folder / "trainer_state.json").is_file():
                    found.append((int(step), folder))
        return sorted(found)

    def newest_checkpoint(self) -> tuple[int, Path] | None:
        found = self.checkpoints()
        return found[-1] if found else None


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Every complete JSON line of a metrics file; a torn or garbled line (a killed writer) is skipped."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    lines = raw.split(b"\n")
    if lines and lines[-1]:  # no newline at the end: the last line is torn (or still being written)
        lines = lines[:-1]
    records = []
    for line in lines:
        if not line.strip():
            continue
        with contextlib.suppress(ValueError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            record = json.loads(line)
            if isinstance(record, dict):
                records.append(record)
    return records


def process_start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux /proc), to tell a reused PID apart."""
    stat = _proc_stat(pid)
    return int(stat[19]) if stat else None


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state first), or None off Linux / for no process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def process_alive(pid: int, start_ticks: int | None = None) -> bool:
    """Whether `pid` still runs (a zombie, a dead PID or a PID reused by another process count as dead)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap our own finished child, or it lingers as a zombie
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    stat = _proc_stat(pid)
    if stat is None:
        return not Path("/proc").is_dir()  # off Linux, kill(0) succeeding is all we can know
    if stat[0] in ("Z", "X"):
        return False
    return start_ticks is None or int(stat[19]) == int(start_ticks)
