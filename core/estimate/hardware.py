"""GPUs the estimator knows: memory and peak dense throughput, from NVIDIA's datasheets."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024**2
GIB = 1024**3


@dataclass(frozen=True)
class Gpu:
    """One GPU model."""

    name: str  # what the UI shows
    memory_mib: int  # total memory as `nvidia-smi` reports it (MiB)
    tflops_16bit: float  # peak dense fp16/bf16 tensor-core TFLOPS with fp32 accumulation
    tflops_fp32: float  # peak fp32 TFLOPS without TF32 (PyTorch's default for matmuls since 1.12)
    bf16: bool  # supports bfloat16 (Ampere and newer)
    source: str  # datasheet

    @property
    def memory_bytes(self) -> int:
        return self.memory_mib * MIB

    @property
    def memory_gib(self) -> float:
        return self.memory_mib / 1024


GPUS: tuple[Gpu, ...] = (
    Gpu("T4 16 GB", 15360, 65.0, 8.1, False, "https://www.nvidia.com/en-us/data-center/tesla-t4/"),
    Gpu(
        "RTX 3090 24 GB",
        24576,
        71.0,
        35.6,
        True,
        "https://www.nvidia.com/content/PDF/nvidia-ampere-ga-102-gpu-architecture-whitepaper-v2.pdf",
    ),
    Gpu(
        "RTX 4090 24 GB",
        24564,
        165.2,
        82.6,
        True,
        "https://images.nvidia.com/aem-dam/Solutions/geforce/ada/nvidia-ada-gpu-architecture.pdf",
    ),
    Gpu("L4 24 GB", 23034, 121.0, 30.3, True, "https://www.nvidia.com/en-us/data-center/l4/"),
    # AWS's A10G has no NVIDIA datasheet; the A10's figures are used (the A10G is clocked a little lower).
    Gpu("A10G 24 GB", 23028, 125.0, 31.2, True, "https://www.nvidia.com/en-us/data-center/products/a10-gpu/"),
    Gpu("L40S 48 GB", 46068, 362.0, 91.6, True, "https://www.nvidia.com/en-us/data-center/l40s/"),
    Gpu("A100 40 GB", 40960, 312.0, 19.5, True, "https://www.nvidia.com/en-us/data-center/a100/"),
    Gpu("A100 80 GB", 81920, 312.0, 19.5, True, "https://www.nvidia.com/en-us/data-center/a100/"),
    Gpu("H100 80 GB", 81559, 989.0, 67.0, True, "https://www.nvidia.com/en-us/data-center/h100/"),
    Gpu("H200 141 GB", 143771, 989.0, 67.0, True, "https://www.nvidia.com/en-us/data-center/h200/"),
)

_BY_NAME = {gpu.name.lower(): gpu for gpu in GPUS}


def find_gpu(name: str) -> Gpu | None:
    """A GPU by its UI name (case-insensitive) or by a prefix such as "a100 80" or "4090"."""
    key = name.strip().lower()
    if key in _BY_NAME:
        return _BY_NAME[key]
    matches = [gpu for gpu in GPUS if key and key in gpu.name.lower()]
    return matches[0] if len(matches) == 1 else None


def custom_gpu(memory_gb: float, tflops_16bit: float = 100.0, tflops_fp32: float = 20.0) -> Gpu:
    """A GPU of a given memory size; a card sold as "24 GB" shows 24 GiB (24,576 MiB) in nvidia-smi."""
    return Gpu(
        f"custom {memory_gb:g} GB",
        int(memory_gb * 1024),
        tflops_16bit,
        tflops_fp32,
        True,
        "entered by the user",
    )
