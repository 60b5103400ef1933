"""Estimate: GPU memory per strategy, the verdict for a GPU, what would fit, tokens, steps and time."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.estimate.activations import head_activations, layer_activations, loss_buffers
from core.estimate.architecture import Architecture, EstimateError, default_targets, load_architecture
from core.estimate.catalog import catalog_names
from core.estimate.charts import breakdown_bars, fix_bars, memory_curve
from core.estimate.fit import cheapest_fit, largest_micro_batch, largest_seq_len, single_fixes, verdict
from core.estimate.hardware import GIB, GPUS, custom_gpu, find_gpu
from core.estimate.memory import estimate_memory
from core.estimate.plan import ATTENTIONS, DTYPES, METHODS, OPTIMIZERS, SHARDINGS, TrainingPlan
from core.estimate.presets import (
    DEFAULT_CHARS_PER_TOKEN,
    DEFAULT_SUMMARY_NOTE,
    HACKATHON,
    blocks_summary,
    corpus_tokens,
    default_summary,
)
from core.estimate.throughput import DEFAULT_UTILIZATION, calibrate_cpu, epoch_cost, flops_per_token

st.title("Estimate")
st.caption(
    "Will it train on your GPU, and how long will it take? Every number below comes from the model's real "
    "config (built on the meta device) and cites its formula; the estimator's error is measured in "
    "docs/published_memory.md."
)

DEFAULT_MODEL_LABEL = "default (built-in SmolLM2-135M-Instruct)"
CUSTOM_MODEL_LABEL = "other: config.json path or cached HF id"
MODEL_CHOICES = [DEFAULT_MODEL_LABEL, *catalog_names(), CUSTOM_MODEL_LABEL]
GPU_CHOICES = [gpu.name for gpu in GPUS] + ["custom"]


@st.cache_resource(show_spinner="Building the model on the meta device…")
def architecture(spec: str) -> Architecture:
    return load_architecture(spec)


@st.cache_data(show_spinner="Timing one training step on this CPU…")
def cpu_calibration(spec: str, plan: TrainingPlan) -> dict:
    arch = architecture(spec)
    return vars(calibrate_cpu(spec, arch, plan))


def duration(seconds: float | None) -> str:
    if not seconds:
        return "–"
    if seconds >= 3600:
        return f"{seconds / 3600:.2f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


# Widget defaults, set once; presets and the Split page overwrite these keys.
for _key, _value in {
    "est_method": "lora",
    "est_dtype": "bf16",
    "est_optimizer": "adamw",
    "est_batch": 1,
    "est_accum": 1,
    "est_gc": False,
    "est_attention": "sdpa",
    "est_gpu": "RTX 4090 24 GB",
    "est_gpus": 1,
    "est_sharding": "ddp",
}.items():
    st.session_state.setdefault(_key, _value)


def apply_hackathon() -> None:
    """Fill every input with the hackathon preset (the widgets read these keys)."""
    plan = HACKATHON.plan
    st.session_state.update(
        est_model=HACKATHON.model,
        est_method=plan.method,
        est_dtype=plan.dtype,
        est_seq_len=plan.seq_len,
        est_batch=plan.micro_batch,
        est_accum=plan.grad_accum,
        est_gc=plan.grad_checkpointing,
        est_attention=plan.attention,
        est_optimizer=plan.optimizer,
        est_gpu=HACKATHON.gpu,
        est_gpus=plan.gpus,
        est_sharding=plan.sharding,
        est_preset=HACKATHON.name,
    )


# --- where the inputs come from ------------------------------------------------------------------------
if st.query_params.get("preset") == HACKATHON.name and st.session_state.get("est_preset_from_url") is None:
    st.session_state["est_preset_from_url"] = True
    apply_hackathon()

summary = st.session_state.get("split_summary")
preset_active = st.session_state.get("est_preset") == HACKATHON.name
if preset_active:
    measured = summary and summary.get("num_tokens")
    ratio = st.number_input(
        "Characters per token",
        min_value=0.5,
        max_value=20.0,
        step=0.1,
        value=float(summary["num_chars"] / summary["num_tokens"]) if measured else DEFAULT_CHARS_PER_TOKEN,
        help="From the document loaded on the Split page when there is one; edit to enter your own.",
    )
    st.info(
        f"**Hackathon preset.** {HACKATHON.story} Token count: {HACKATHON.text_chars:,} characters at "
        f"{ratio:.2f} characters per token = {corpus_tokens(HACKATHON.text_chars, ratio):,} tokens "
        + (
            "(the loaded document's ratio)."
            if measured
            else "(typical for English with a GPT-2-style BPE; load a document for its own ratio)."
        )
    )
    summary = blocks_summary(
        HACKATHON.model,
        HACKATHON.plan.seq_len,
        HACKATHON.text_chars,
        corpus_tokens(HACKATHON.text_chars, ratio),
    )
elif summary is None:
    st.info(DEFAULT_SUMMARY_NOTE + " Split a document on the Split page to estimate your own corpus.")
    summary = default_summary()
else:
    st.caption(
        f"From the Split page: {summary['num_chars']:,} characters, {summary['num_tokens']:,} tokens, "
        f"window W = {summary['window']:,}."
    )

top = st.columns([1, 1, 3])
if top[0].button("Hackathon preset", help=HACKATHON.story):
    apply_hackathon()
    st.rerun()
if preset_active and top[1].button("Leave the preset"):
    st.session_state.pop("est_preset", None)
    st.rerun()

# Prefill once per split window (a new split on the Split page updates the sequence length).
if st.session_state.get("est_window_seen") != summary["window"]:
    st.session_state["est_window_seen"] = summary["window"]
    st.session_state["est_seq_len"] = int(summary["window"])
# The Split page's model, once per model chosen there (the user may pick another one here afterwards).
spec_from_split = summary.get("model") or "default"
if not preset_active and st.session_state.get("est_model_seen") != spec_from_split:
    st.session_state["est_model_seen"] = spec_from_split
    st.session_state["est_model"] = spec_from_split
st.session_state.setdefault("est_model", spec_from_split)

# --- inputs --------------------------------------------------------------------------------------------
with st.sidebar:
    st.subheader("Model")
    current = st.session_state["est_model"]
    if current in ("default", "", None):
        index = 0
    elif current in MODEL_CHOICES:
        index = MODEL_CHOICES.index(current)
    else:
        index = MODEL_CHOICES.index(CUSTOM_MODEL_LABEL)
    choice = st.selectbox("Model", MODEL_CHOICES, index=index)
    if choice == CUSTOM_MODEL_LABEL:
        spec = st.text_input(
            "config.json path or HF id", value="" if current in MODEL_CHOICES else str(current)
        )
    else:
        spec = "default" if choice == DEFAULT_MODEL_LABEL else choice
    st.session_state["est_model"] = spec or current

    st.subheader("Method")
    method = st.radio("Method", METHODS, key="est_method", horizontal=True, format_func=str.upper)
    dtype = st.selectbox(
        "Precision", DTYPES, key="est_dtype", help="mixed = fp32 master weights with 16-bit autocast compute"
    )

try:
    arch = architecture(st.session_state["est_model"] or "default")
except EstimateError as error:
    st.error(str(error))
    st.stop()

with st.sidebar:
    if method != "full":
        rank = st.number_input("LoRA rank r", min_value=1, max_value=1024, value=16, step=1)
        alpha = st.number_input("LoRA alpha", min_value=1.0, value=32.0, step=1.0)
        dropout = st.number_input("LoRA dropout", min_value=0.0, max_value=0.9, value=0.0, step=0.05)
        all_linear = st.toggle("all-linear", value=False, help="Every linear module except the LM head.")
        names = list(arch.linear_names)
        chosen = (
            names
            if all_linear
            else st.multiselect("Target modules", names, default=list(default_targets(arch)))
        )
        targets = ("all-linear",) if all_linear else tuple(chosen)
    else:
        rank, alpha, dropout, targets = 16, 32.0, 0.0, default_targets(arch)
    double_quant = st.toggle("Double quantization", value=True) if method == "qlora" else True
    optimizer = st.selectbox("Optimizer", OPTIMIZERS, key="est_optimizer")

    st.subheader("Batch and sequence")
    max_seq = arch.max_positions or 131072
    if st.session_state.get("est_seq_len", 0) > max_seq:
        st.session_state["est_seq_len"] = max_seq
    seq_len = st.number_input(
        "Sequence length (W)", min_value=1, max_value=max_seq, step=64, key="est_seq_len"
    )
    micro_batch = st.number_input("Micro-batch", min_value=1, max_value=4096, key="est_batch")
    grad_accum = st.number_input("Gradient accumulation", min_value=1, max_value=4096, key="est_accum")
    grad_checkpointing = st.toggle("Gradient checkpointing", key="est_gc")
    attention = st.radio(
        "Attention", ATTENTIONS, key="est_attention", horizontal=True, help="eager stores the b*a*s*s scores"
    )

    st.subheader("Hardware")
    gpu_name = st.selectbox("GPU", GPU_CHOICES, key="est_gpu")
    if gpu_name == "custom":
        gpu = custom_gpu(st.number_input("GPU memory (GB as sold, = GiB)", min_value=1.0, value=24.0))
    else:
        gpu = find_gpu(gpu_name)
    gpus = st.number_input("Number of GPUs", min_value=1, max_value=1024, key="est_gpus")
    sharding = st.radio(
        "Multi-GPU",
        SHARDINGS,
        key="est_sharding",
        horizontal=True,
        help="ddp: full replica per GPU; fsdp: sharded",
    )
    utilization = st.slider("GPU utilization (MFU)", 0.05, 0.8, DEFAULT_UTILIZATION, 0.05)

try:
    plan = TrainingPlan(
        method=method,
        dtype=dtype,
        rank=int(rank),
        alpha=float(alpha),
        lora_dropout=float(dropout),
        targets=targets or default_targets(arch),
        optimizer=optimizer,
        micro_batch=int(micro_batch),
        grad_accum=int(grad_accum),
        seq_len=int(seq_len),
        grad_checkpointing=grad_checkpointing,
        attention=attention,
        gpus=int(gpus),
        sharding=sharding,
        double_quant=double_quant,
    )
    if method != "full" and not targets:
        raise EstimateError("Choose at least one LoRA target module.")
    estimate = estimate_memory(arch, plan)
except EstimateError as error:
    st.error(str(error))
    st.stop()

# --- verdict -------------------------------------------------------------------------------------------
judged = verdict(estimate, gpu)
metrics = st.columns(5)
metrics[0].metric(
    "Parameters", f"{estimate.params / 1e6:,.0f} M", help="Exact, from the meta-device build; tied once"
)
metrics[1].metric("Trainable", f"{estimate.trainable_params:,}")
metrics[2].metric(
    "Peak allocated", f"{estimate.total_bytes / GIB:.2f} GiB", help="torch.cuda.max_memory_allocated"
)
metrics[3].metric(
    "nvidia-smi", f"{estimate.reserved_bytes / GIB:.2f} GiB", help="+ allocator cache + CUDA context"
)
metrics[4].metric(gpu.name, f"{gpu.memory_gib:.1f} GiB", delta=f"{judged.headroom_bytes / GIB:+.1f} GiB")
(st.success if judged.fits else st.error)(judged.text)
if preset_active and not judged.fits:
    term = {t.name: t.bytes for t in estimate.terms}
    states = term["weights"] + term["gradients"] + term["optimizer states"]
    st.markdown(
        f"**Why the hackathon run died:** {plan.dtype} weights ({term['weights'] / GIB:.1f} GiB) + gradients "
        f"({term['gradients'] / GIB:.1f} GiB) + AdamW states ({term['optimizer states'] / GIB:.1f} GiB) are "
        f"{states / GIB:.1f} GiB on *each* GPU before a single activation: DDP gives every GPU a full replica, "
        f"so the second 24 GB card does not help. The activations of {plan.micro_batch} x {plan.seq_len:,} "
        f"tokens add {term['activations'] / GIB:.1f} GiB more."
    )
st.caption(f"Peak moment: **{estimate.peak.name}**. " + " ".join(estimate.notes))

limits = st.columns(2)
longest = largest_seq_len(arch, plan, gpu)
widest = largest_micro_batch(arch, plan, gpu)
limits[0].markdown(f"**Longest sequence that fits:** {f'{longest:,} tokens' if longest else 'none'}")
limits[1].markdown(f"**Largest micro-batch at W = {plan.seq_len:,}:** {widest or 'none'}")

path = cheapest_fit(arch, plan, gpu)
if path:
    st.markdown("**Cheapest settings that fit** (each change applied on top of the previous):")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "change": fix.change,
                    "nvidia-smi GiB": round(fix.needed_bytes / GIB, 2),
                    "fits": fix.fits,
                    "cost": fix.cost,
                }
                for fix in path
            ]
        ),
        hide_index=True,
        width="stretch",
    )

fixes = single_fixes(arch, plan, gpu)
st.markdown("**The effect of each change on its own:**")
st.dataframe(
    pd.DataFrame(
        [
            {
                "change": fix.change,
                "nvidia-smi GiB": round(fix.needed_bytes / GIB, 2),
                "saves GiB": round((estimate.reserved_bytes - fix.needed_bytes) / GIB, 2),
                "fits": fix.fits,
                "cost": fix.cost,
            }
            for fix in fixes
        ]
    ),
    hide_index=True,
    width="stretch",
)
st.plotly_chart(fix_bars(estimate, fixes, arch, gpu), width="stretch")

# --- per strategy ------------------------------------------------------------------------------------------
st.subheader("Per strategy of the split")
strategies = summary["strategies"]
per_strategy = []
for name, stats in strategies.items():
    longest_example = int(stats.get("max_tokens") or summary["window"])
    per_strategy.append((name, estimate_memory(arch, plan.with_(seq_len=min(longest_example, plan.seq_len)))))
st.plotly_chart(
    breakdown_bars(per_strategy, gpu, "Memory per GPU at each strategy's longest example"), width="stretch"
)

calibration = st.session_state.get("est_cpu_calibration")
if arch.params <= 600_000_000 and st.button(
    "Time one training step on this CPU", help="A few seconds; real model, short sequence"
):
    try:
        calibration = cpu_calibration(st.session_state["est_model"] or "default", plan)
        st.session_state["est_cpu_calibration"] = calibration
    except EstimateError as error:
        st.error(str(error))
rows = []
for name, stats in strategies.items():
    cost = epoch_cost(
        arch, plan, stats, gpu, utilization, calibration["flops_per_second"] if calibration else None
    )
    rows.append(
        {
            "strategy": name,
            "examples": cost.examples,
            "tokens trained": cost.tokens_trained,
            "tokens processed": cost.tokens_processed,
            "steps / epoch": cost.steps,
            "PFLOPs / epoch": round(cost.flops / 1e15, 3),
            f"GPU time ({gpu.name} x{plan.gpus})": duration(cost.gpu_seconds),
            "CPU time (this machine)": duration(cost.cpu_seconds)
            if cost.cpu_seconds
            else "time a step first",
        }
    )
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
flops = flops_per_token(arch, plan)
st.caption(
    f"Training FLOPs per token: {flops.bytes / 1e9:.2f} GFLOP = {flops.formula} ({flops.source}). GPU time = FLOPs / "
    f"(GPUs x peak {gpu.tflops_16bit if plan.dtype != 'fp32' else gpu.tflops_fp32:g} TFLOPS x utilization {utilization:.0%})."
    + (
        f" CPU: one step of {calibration['micro_batch']} x {calibration['seq_len']} tokens took "
        f"{calibration['seconds_per_step']:.2f} s = {calibration['flops_per_second'] / 1e9:.1f} GFLOP/s, scaled by FLOPs."
        if calibration
        else ""
    )
)

st.plotly_chart(memory_curve(arch, plan, gpu), width="stretch")

# --- how each term is computed -------------------------------------------------------------------------
with st.expander("How each term is computed (formula and source)", expanded=False):
    st.markdown(
        "Symbols: b micro-batch, s sequence length, h hidden size, i MLP size, a heads, L layers, V vocabulary. "
        "The peak is the largest of the moments of a step (table below), not the sum of all components."
    )
    st.dataframe(
        pd.DataFrame(
            [
                {"term": t.name, "GiB": round(t.bytes / GIB, 3), "formula": t.formula, "source": t.source}
                for t in estimate.terms
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.markdown("**Moments of one step** (live bytes at each):")
    st.dataframe(
        pd.DataFrame(
            [
                {"moment": m.name, "GiB": round(m.total / GIB, 3)}
                | {k: round(v / GIB, 3) for k, v in m.parts.items()}
                for m in estimate.moments
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    layer = layer_activations(arch, plan)
    b, s = plan.micro_batch, plan.seq_len
    st.markdown(
        f"**One decoder layer keeps for backward** ({arch.family} family, x{arch.layers} layers"
        + (", checkpointing keeps only the layer input" if plan.grad_checkpointing else "")
        + "). Bytes per token, per query-key pair, and for this b x s:"
    )
    inventory = [*layer.stored, *head_activations(arch, plan)]
    loss = loss_buffers(arch, plan)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "tensor": item.what,
                    "bytes/token": item.per_token,
                    "bytes/pair": item.per_pair,
                    "MiB": round(item.bytes(b, s) / 2**20, 2),
                }
                for item in [*inventory, loss.backward_peak, layer.mlp_work, layer.attention_work]
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        "Checked tensor by tensor against what autograd saves (tests/test_estimate_activations.py); the whole "
        "peak against measured CPU training steps and published GPU runs (bench/estimate_bench.py)."
    )
st.caption(
    f"Steps per epoch: examples / (micro-batch x accumulation x GPUs = "
    f"{plan.micro_batch * plan.grad_accum * plan.gpus} sequences per optimizer step)."
)
