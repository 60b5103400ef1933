"""`python -m core estimate`: the Estimate page's numbers on the command line (same functions)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.estimate.architecture import Architecture, EstimateError, default_targets, load_architecture
from core.estimate.fit import cheapest_fit, largest_micro_batch, largest_seq_len, verdict
from core.estimate.hardware import GIB, custom_gpu
from core.estimate.memory import MemoryEstimate, estimate_memory
from core.estimate.plan import ATTENTIONS, DTYPES, METHODS, OPTIMIZERS, SHARDINGS, TrainingPlan
from core.estimate.throughput import flops_per_token


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "estimate",
        help="GPU memory (and what would fit) for fine-tuning a model",
        description="Peak GPU memory per device for one training configuration, broken down, with a verdict "
        "and fixes when --gpu-memory-gb is given.",
    )
    parser.add_argument(
        "--model",
        default="default",
        help="catalog name (e.g. phi-2), config.json path, cached HF id, or 'default'",
    )
    parser.add_argument("--method", choices=METHODS, default="lora")
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank r")
    parser.add_argument("--alpha", type=float, default=32.0, help="LoRA alpha")
    parser.add_argument(
        "--targets", default="q_proj,v_proj", help="comma-separated module names, or all-linear"
    )
    parser.add_argument(
        "--dtype", choices=DTYPES, default="bf16", help="mixed = fp32 master weights, 16-bit autocast"
    )
    parser.add_argument(
        "--seq-len",
        type=int,
        default=None,
        help="tokens per sequence (default: 2048, or less if the model is shorter)",
    )
    parser.add_argument("--batch", type=int, default=1, help="micro-batch per GPU")
    parser.add_argument("--grad-checkpointing", action="store_true")
    parser.add_argument("--attention", choices=ATTENTIONS, default="sdpa")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="adamw")
    parser.add_argument("--gpus", type=int, default=1)
    parser.add_argument("--sharding", choices=SHARDINGS, default="ddp")
    parser.add_argument("--gpu-memory-gb", type=float, default=None, help="GPU memory (a '24 GB' card: 24)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _plan(args: argparse.Namespace, arch: Architecture) -> TrainingPlan:
    seq_len = args.seq_len if args.seq_len is not None else min(2048, arch.max_positions or 2048)
    if args.targets is None:
        targets = default_targets(arch)
    else:
        targets = tuple(name.strip() for name in args.targets.split(",") if name.strip())
    return TrainingPlan(
        method=args.method,
        dtype=args.dtype,
        rank=args.rank,
        alpha=args.alpha,
        targets=targets,
        optimizer=args.optimizer,
        micro_batch=args.batch,
        seq_len=seq_len,
        grad_checkpointing=args.grad_checkpointing,
        attention=args.attention,
        gpus=args.gpus,
        sharding=args.sharding,
    )


def report(estimate: MemoryEstimate, gpu_memory_gb: float | None) -> dict[str, Any]:
    """Everything the CLI prints, as one JSON-ready dict."""
    arch, plan = estimate.arch, estimate.plan
    result: dict[str, Any] = {
        "model": arch.label,
        "model_type": arch.model_type,
        "params": estimate.params,
        "trainable_params": estimate.trainable_params,
        "lora_params": estimate.lora_params,
        "plan": {
            key: (list(value) if isinstance(value, tuple) else value) for key, value in vars(plan).items()
        },
        "total_bytes": estimate.total_bytes,
        "reserved_bytes": estimate.reserved_bytes,
        "predicts": "total_bytes: torch.cuda.max_memory_allocated per GPU; reserved_bytes: what nvidia-smi shows",
        "breakdown": estimate.breakdown,
        "peak_moment": estimate.peak.name,
        "moments": {moment.name: moment.total for moment in estimate.moments},
        "terms": [vars(term) for term in estimate.terms],
        "flops_per_token": flops_per_token(arch, plan).bytes,
        "notes": list(estimate.notes),
    }
    if gpu_memory_gb is not None:
        gpu = custom_gpu(gpu_memory_gb)
        judged = verdict(estimate, gpu)
        result |= {
            "gpu_memory_bytes": gpu.memory_bytes,
            "fits": judged.fits,
            "verdict": judged.text,
            "largest_seq_len": largest_seq_len(arch, plan, gpu),
            "largest_micro_batch": largest_micro_batch(arch, plan, gpu),
            "fixes": [
                {"change": fix.change, "reserved_bytes": fix.needed_bytes, "fits": fix.fits, "cost": fix.cost}
                for fix in cheapest_fit(arch, plan, gpu)
            ],
        }
    return result


def _text(result: dict[str, Any]) -> str:
    def gib(value: int) -> str:
        return f"{value / GIB:7.2f} GiB"

    plan = result["plan"]
    lines = [
        f"{result['model']} ({result['model_type']}): {result['params']:,} params, "
        f"{result['trainable_params']:,} trainable",
        f"{plan['method']} {plan['dtype']}, seq {plan['seq_len']:,} x batch {plan['micro_batch']}, "
        f"{plan['attention']}, {plan['optimizer']}"
        + (", gradient checkpointing" if plan["grad_checkpointing"] else "")
        + (f", {plan['gpus']} GPUs {plan['sharding']}" if plan["gpus"] > 1 else ""),
        "",
        f"Per GPU at the peak ({result['peak_moment']}):",
    ]
    lines += [f"  {name:20s} {gib(value)}" for name, value in result["breakdown"].items() if value]
    lines += [
        f"  {'allocated (peak)':20s} {gib(result['total_bytes'])}   <- torch.cuda.max_memory_allocated",
        f"  {'nvidia-smi':20s} {gib(result['reserved_bytes'])}   <- + allocator cache + CUDA context",
    ]
    if "verdict" in result:
        lines += ["", result["verdict"]]
        if result["largest_seq_len"]:
            lines.append(f"Longest sequence that fits: {result['largest_seq_len']:,} tokens.")
        if result["largest_micro_batch"]:
            lines.append(f"Largest micro-batch that fits: {result['largest_micro_batch']}.")
        if result["fixes"]:
            lines.append("Cheapest changes, applied in order:")
            lines += [
                f"  {'OK ' if fix['fits'] else '   '}{fix['change']}: {fix['reserved_bytes'] / GIB:.1f} GiB ({fix['cost']})"
                for fix in result["fixes"]
            ]
    lines += [f"Note: {note}" for note in result["notes"]]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        if args.gpu_memory_gb is not None and args.gpu_memory_gb <= 0:
            raise EstimateError(f"--gpu-memory-gb must be positive (got {args.gpu_memory_gb}).")
        arch = load_architecture(args.model)
        estimate = estimate_memory(arch, _plan(args, arch))
        result = report(estimate, args.gpu_memory_gb)
    except EstimateError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result) if args.json else _text(result))
    return 0
