"""Which device and precision a run uses, whether QLoRA can run here, peak memory, and the per-device lock.

One run at a time per device: the training process holds an exclusive flock on RUNS_ROOT/.locks/DEVICE.lock
for its whole life (the kernel drops it when the process dies, even by SIGKILL) and writes its run id into
the file, so a second launch can name the run that holds the device.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import resource
import sys
from pathlib import Path
from typing import IO


def resolve_device(choice: str) -> str:
    """auto -> cuda, then mps, then cpu; an explicit choice is checked against what this machine has."""
    import torch

    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if choice == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if choice == "cuda" and not cuda:
        raise RuntimeError("No CUDA GPU is visible to PyTorch here: choose device auto or cpu.")
    if choice == "mps" and not mps:
        raise RuntimeError("Apple's MPS backend is not available here: choose device auto or cpu.")
    return choice


def resolve_dtype(choice: str, device: str) -> str:
    """auto -> bf16 on a CUDA GPU that supports it, fp16 on an older one, fp32 on mps and cpu."""
    if choice != "auto":
        return choice
    if device == "cuda":
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def torch_dtype(name: str):  # -> torch.dtype
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


def qlora_unavailable_reason() -> str | None:
    """None when 4-bit QLoRA can run here, else a sentence saying why not."""
    import torch

    if not torch.cuda.is_available():
        return "QLoRA needs an NVIDIA GPU with CUDA (bitsandbytes' 4-bit kernels); none is visible here."
    if importlib.util.find_spec("bitsandbytes") is None:
        return "QLoRA needs the bitsandbytes package: `pip install bitsandbytes` on this CUDA machine."
    return None


def peak_memory_mb(device: str) -> float:
    """Peak memory so far: CUDA: the allocator's peak on this GPU; MPS: memory held by the driver now;
    CPU: the process's peak resident set (getrusage ru_maxrss: KiB on Linux, bytes on macOS)."""
    import torch

    if device == "cuda" and torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    if device == "mps":
        return torch.mps.driver_allocated_memory() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def lock_path(runs_root: Path, device: str) -> Path:
    return Path(runs_root) / ".locks" / f"{device}.lock"


class DeviceLock:
    """An exclusive, non-blocking flock on the device's lock file, held until `release` or process exit."""

    def __init__(self, runs_root: Path, device: str) -> None:
        self.path = lock_path(runs_root, device)
        self.device = device
        self._handle: IO[str] | None = None

    def acquire(self, run_id: str) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115  (held open for the life of the run)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(run_id)
        handle.flush()
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def device_holder(runs_root: Path, device: str) -> str | None:
    """The id of the run holding `device` under `runs_root`, or None when it is free."""
    path = lock_path(runs_root, device)
    if not path.exists():
        return None
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "another run"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def process_rank() -> tuple[int, int]:
    """(rank, world size) under torchrun / accelerate launch; (0, 1) for a plain process."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
