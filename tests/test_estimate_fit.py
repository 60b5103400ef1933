"""Verdicts, limits and fixes, all computed by the same memory model."""

from __future__ import annotations

import pytest

from core.estimate.architecture import load_architecture
from core.estimate.fit import cheapest_fit, largest_micro_batch, largest_seq_len, single_fixes, verdict
from core.estimate.hardware import GIB, custom_gpu, find_gpu
from core.estimate.memory import estimate_memory
from core.estimate.presets import HACKATHON, corpus_tokens, preset_summary


def test_largest_sequence_is_the_boundary():
    arch = load_architecture("Llama-3.2-1B")
    plan = HACKATHON.plan.with_(method="lora", dtype="bf16", gpus=1, micro_batch=1)
    gpu = find_gpu("L4 24 GB")
    longest = largest_seq_len(arch, plan, gpu)
    assert longest is not None and 1 < longest < arch.max_positions
    assert estimate_memory(arch, plan.with_(seq_len=longest)).reserved_bytes <= gpu.memory_bytes
    assert estimate_memory(arch, plan.with_(seq_len=longest + 1)).reserved_bytes > gpu.memory_bytes
    widest = largest_micro_batch(arch, plan.with_(seq_len=1024), gpu)
    assert (
        estimate_memory(arch, plan.with_(seq_len=1024, micro_batch=widest)).reserved_bytes <= gpu.memory_bytes
    )
    assert (
        estimate_memory(arch, plan.with_(seq_len=1024, micro_batch=widest + 1)).reserved_bytes
        > gpu.memory_bytes
    )


def test_hackathon_runs_out_of_memory_and_the_cheapest_fix_fits():
    arch = load_architecture(HACKATHON.model)
    gpu = find_gpu(HACKATHON.gpu)
    estimate = estimate_memory(arch, HACKATHON.plan)
    judged = verdict(estimate, gpu)
    assert not judged.fits and "Does not fit" in judged.text
    # fp32 weights + gradients + AdamW already exceed 24 GB on each GPU, since DDP replicates them.
    states = sum(t.bytes for t in estimate.terms if t.name in ("weights", "gradients", "optimizer states"))
    assert states > gpu.memory_bytes
    path = cheapest_fit(arch, HACKATHON.plan, gpu)
    assert path and path[-1].fits and not any(fix.fits for fix in path[:-1])
    assert estimate_memory(arch, path[-1].plan).reserved_bytes <= gpu.memory_bytes


def test_single_fixes_each_change_one_thing():
    arch = load_architecture(HACKATHON.model)
    gpu = find_gpu(HACKATHON.gpu)
    fixes = {fix.change: fix for fix in single_fixes(arch, HACKATHON.plan, gpu)}
    current = estimate_memory(arch, HACKATHON.plan).reserved_bytes
    for change in (
        "bf16 weights",
        "gradient checkpointing",
        "LoRA instead of full fine-tuning",
        "QLoRA (4-bit base)",
    ):
        assert fixes[change].needed_bytes < current, change
    fsdp = next(fix for name, fix in fixes.items() if name.startswith("FSDP"))
    assert fsdp.plan.sharding == "fsdp" and fsdp.needed_bytes < current
    assert not any(name.startswith("window") for name in fixes)  # no window fits full fp32 with DDP


def test_a_shorter_window_is_offered_when_one_fits():
    arch = load_architecture(HACKATHON.model)
    gpu = find_gpu(HACKATHON.gpu)
    plan = HACKATHON.plan.with_(method="lora", dtype="bf16")
    window = next(fix for fix in single_fixes(arch, plan, gpu) if fix.change.startswith("window"))
    assert window.fits and window.plan.seq_len < plan.seq_len and window.plan.seq_len % 64 == 0


def test_verdict_headroom_and_custom_gpu():
    estimate = estimate_memory(
        load_architecture("SmolLM2-135M"), HACKATHON.plan.with_(method="lora", gpus=1, micro_batch=1)
    )
    roomy = verdict(estimate, custom_gpu(80))
    assert roomy.fits and roomy.headroom_bytes > 70 * GIB
    assert not verdict(estimate, custom_gpu(0.5)).fits


def test_hackathon_corpus_tokens():
    assert corpus_tokens(1_800_000, 4.0) == 450_000
    summary = preset_summary(HACKATHON)
    blocks = summary["strategies"]["blocks"]
    assert blocks["examples"] == -(-450_000 // 2048)
    assert blocks["padding_tokens"] == blocks["examples"] * 2048 - 450_000
    with pytest.raises(ValueError):
        corpus_tokens(100, 0)
