"""Train: a LoRA adapter on the current split, trained in its own process, watched live, compared, evaluated,
tried and exported. Runs live on disk (the runs root), so the page re-attaches after a reload or a restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.models import ModelLoadError, display_name
from core.training.config import ATTENTION_PROJECTIONS, SCHEDULES, ConfigError, TrainConfig, field_docs
from core.training.data import build_training_data, hold_out_cut
from core.training.device import qlora_unavailable_reason, resolve_device
from core.training.distributed import FSDP_CONFIG, launch_commands
from core.training.evaluation import evaluate_run, read_evaluation
from core.training.launcher import (
    LaunchError,
    create_run,
    find_run,
    launch,
    list_runs,
    refresh,
    resume,
    run_summary,
    runs_root,
    stop,
)
from core.training.rundir import ACTIVE_STATES, RunDir
from core.training.timing import describe_duration, expected_seconds
from ui import state
from ui.train_charts import compare_figure, loss_figure, loss_map_html

POLL_SECONDS = 1.0
HELP = field_docs()
DEFAULTS = TrainConfig()  # the form starts from the same defaults as `python -m core train --new`
STATE_ICONS = {
    "created": ":material/radio_button_unchecked:",
    "queued": ":material/hourglass_top:",
    "running": ":material/play_circle:",
    "completed": ":material/check_circle:",
    "stopped": ":material/stop_circle:",
    "failed": ":material/error:",
}

st.title("Train")
st.caption(
    "A LoRA adapter trained on the examples of the Split page, in a background process: the chart follows it "
    "live; stop, resume, compare strategies, evaluate, try and export."
)

root = runs_root()


@st.cache_resource(show_spinner=False)
def machine_device() -> str:
    return resolve_device("auto")


@st.cache_resource(show_spinner=False)
def qlora_note() -> str | None:
    return qlora_unavailable_reason()


@st.cache_data(show_spinner=False, max_entries=8)
def plan(config_json: str, docs_key: str, _docs: list) -> dict[str, Any]:
    """Examples, steps and tokens of a config on the current documents (tokenize + split, no model)."""
    config = TrainConfig.from_dict(json.loads(config_json))
    tokenizer = state.cached_tokenizer(config.model, config.trust_remote_code)
    data = build_training_data(config, _docs, tokenizer)
    return {
        "stats": data.stats,
        "steps": data.total_steps(config),
        "steps_per_epoch": data.steps_per_epoch(config),
        "tokens_per_step": data.tokens_per_step(config),
    }


# --- the new run ------------------------------------------------------------------------------------------
def settings_form(device: str) -> TrainConfig | None:
    """The launch form, prefilled from the Split page; returns a valid config or None (with the error shown)."""
    docs = state.documents()
    chosen_on_split_page = "split_params" in st.session_state
    split = state.split_params()
    # Untouched Split page on a CPU: W = 256 trains in about a minute; the model's full context would not.
    window = split.window if chosen_on_split_page or device != "cpu" else min(split.window, 256)
    names = ", ".join(d.name for d in docs[:3]) + (f" and {len(docs) - 3} more" if len(docs) > 3 else "")
    st.markdown(
        f"**{names}** · {display_name(state.model_spec())} · strategy **{split.strategy}**"
        + (f", overlap {split.overlap}" if split.overlap else "")
        + " (change them on the Split page)"
    )
    c = st.columns(4)
    window = c[0].number_input(
        "Window W", 16, 131_072, int(window), 64, key="train_window", help=HELP["window"]
    )
    eval_share = c[1].slider(
        "Held-out share", 0.0, 0.5, DEFAULTS.eval_share, 0.05, key="train_eval_share", help=HELP["eval_share"]
    )
    packing = c[2].toggle(
        "Packing",
        value=split.strategy in ("blocks", "boundary"),
        key="train_packing",
        disabled=split.strategy not in ("blocks", "boundary"),
        help=HELP["packing"],
    )
    mask_overlap = c[3].toggle(
        "Overlap as context",
        value=split.mask_overlap,
        key="train_mask_overlap",
        disabled=split.strategy != "sliding" or not split.overlap,
        help=HELP["mask_overlap"],
    )
    st.markdown("**LoRA**")
    c = st.columns(4)
    rank = c[0].number_input("Rank r", 1, 1024, DEFAULTS.lora_rank, key="train_rank", help=HELP["lora_rank"])
    alpha = c[1].number_input(
        "Alpha", 1.0, 4096.0, DEFAULTS.lora_alpha, key="train_alpha", help=HELP["lora_alpha"]
    )
    dropout = c[2].number_input(
        "Dropout", 0.0, 0.9, DEFAULTS.lora_dropout, 0.05, key="train_dropout", help=HELP["lora_dropout"]
    )
    targets = c[3].multiselect(
        "Targets",
        [*ATTENTION_PROJECTIONS, "gate_proj", "up_proj", "down_proj", "all-linear"],
        default=list(DEFAULTS.lora_targets),
        key="train_targets",
        help=HELP["lora_targets"],
    )
    st.markdown("**Optimization**")
    c = st.columns(4)
    learning_rate = c[0].number_input(
        "Learning rate",
        1e-6,
        0.5,
        DEFAULTS.learning_rate,
        1e-4,
        format="%.0e",
        key="train_lr",
        help=HELP["learning_rate"],
    )
    schedule = c[1].selectbox("Schedule", SCHEDULES, key="train_schedule", help=HELP["lr_schedule"])
    length_unit = c[2].radio("Length in", ["steps", "epochs"], horizontal=True, key="train_length_unit")
    if length_unit == "steps":
        max_steps = c[3].number_input(
            "Max steps", 1, 10_000_000, DEFAULTS.max_steps, key="train_max_steps", help=HELP["max_steps"]
        )
        epochs = 1.0
    else:
        epochs = c[3].number_input(
            "Epochs", 0.1, 1000.0, DEFAULTS.epochs, 0.5, key="train_epochs", help=HELP["epochs"]
        )
        max_steps = 0
    c = st.columns(4)
    micro_batch = c[0].number_input(
        "Micro-batch", 1, 1024, DEFAULTS.micro_batch, key="train_micro_batch", help=HELP["micro_batch"]
    )
    grad_accum = c[1].number_input(
        "Grad. accumulation", 1, 4096, DEFAULTS.grad_accum, key="train_grad_accum", help=HELP["grad_accum"]
    )
    seed = c[2].number_input("Seed", 0, 2**31 - 1, DEFAULTS.seed, key="train_seed", help=HELP["seed"])
    eval_steps = c[3].number_input(
        "Evaluate every (steps)",
        0,
        1_000_000,
        DEFAULTS.eval_steps,
        key="train_eval_steps",
        help=HELP["eval_steps"],
    )
    st.markdown("**Hardware**")
    c = st.columns(4)
    device_choice = c[0].selectbox(
        "Device", ["auto", "cpu", "cuda", "mps"], key="train_device", help=HELP["device"]
    )
    dtype = c[1].selectbox(
        "Precision", ["auto", "fp32", "bf16", "fp16"], key="train_dtype", help=HELP["dtype"]
    )
    checkpointing = c[2].toggle(
        "Gradient checkpointing", key="train_checkpointing", help=HELP["gradient_checkpointing"]
    )
    no_qlora = qlora_note()
    qlora = c[3].toggle(
        "QLoRA (4-bit)", key="train_qlora", disabled=no_qlora is not None, help=no_qlora or HELP["qlora"]
    )
    try:
        return TrainConfig(
            model=state.model_spec(),
            trust_remote_code=state.trust_remote_code(),
            documents=tuple(d.name for d in docs),
            strategy=split.strategy,
            window=int(window),
            overlap=min(split.overlap, int(window) - 2),
            keep_end=split.keep_end,
            mask_overlap=bool(mask_overlap and split.strategy == "sliding" and split.overlap),
            remainder=split.remainder,
            packing=bool(packing and split.strategy in ("blocks", "boundary")),
            eval_share=float(eval_share),
            lora_rank=int(rank),
            lora_alpha=float(alpha),
            lora_dropout=float(dropout),
            lora_targets=tuple(targets),
            learning_rate=float(learning_rate),
            lr_schedule=schedule,
            epochs=float(epochs),
            max_steps=int(max_steps),
            micro_batch=int(micro_batch),
            grad_accum=int(grad_accum),
            seed=int(seed),
            device=device_choice,
            dtype=dtype,
            gradient_checkpointing=bool(checkpointing),
            qlora=bool(qlora),
            eval_steps=int(eval_steps),
        )
    except ConfigError as error:
        st.error(str(error), icon=":material/tune:")
        return None


def new_run_section() -> None:
    device = machine_device()
    config = settings_form(device)
    if config is None:
        return
    docs = state.documents()
    try:
        summary = plan(json.dumps(config.to_dict()), state.documents_key(docs), docs)
    except (ValueError, ModelLoadError) as error:
        st.error(str(error), icon=":material/description:")
        return
    run_device = device if config.device == "auto" else config.device
    seconds, source = expected_seconds(
        config, summary["steps"], summary["tokens_per_step"], run_device, list_runs(root)
    )
    stats = summary["stats"]
    st.info(
        f"**{summary['steps']:,} steps** ({summary['steps_per_epoch']:,} per epoch) over {stats['examples']:,} "
        f"examples · {stats['train_tokens']:,} training tokens · {stats['eval_tokens']:,} held-out tokens · "
        f"expected **{describe_duration(seconds)}** on {run_device} ({source}).",
        icon=":material/timer:",
    )
    left, right = st.columns(2)
    start = left.button("Start training", type="primary", key="start_training")
    create_only = right.button("Create only (to launch it with torchrun or accelerate)", key="create_only")
    if start or create_only:
        try:
            run = create_run(config, docs, root)
            if start:
                launch(run)
        except LaunchError as error:
            st.error(str(error), icon=":material/block:")
            return
        st.query_params["run"] = run.id
        st.rerun()


# --- one run: live status, chart and controls -------------------------------------------------------------
def clock(seconds: float) -> str:
    """h:mm:ss, or m:ss under an hour."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def log_tail(path: Path, size: int = 4000) -> str:
    """The last `size` bytes of train.log (the file can grow to megabytes on a long run)."""
    try:
        with open(path, "rb") as log:
            log.seek(max(0, path.stat().st_size - size))
            return log.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def progress_line(status: dict[str, Any], last: dict[str, Any] | None) -> tuple[float, str]:
    max_steps = status.get("max_steps") or (last or {}).get("max_steps") or 0
    step = (last or {}).get("step", 0)
    share = min(1.0, step / max_steps) if max_steps else 0.0
    parts = [f"step {step:,} / {max_steps:,}" if max_steps else "preparing"]
    if last:
        if last.get("eta") is not None and status.get("state") in ACTIVE_STATES:
            parts.append(f"ETA {clock(last['eta'])}")
        if last.get("tokens_per_second"):
            parts.append(f"{last['tokens_per_second']:,.0f} tokens/s")
        if last.get("peak_memory_mb"):
            parts.append(f"{last['peak_memory_mb']:,.0f} MB peak")
        parts.append(f"{last.get('elapsed', 0):,.0f} s elapsed")
    return share, " · ".join(parts)


def live_panel(run_id: str, was_active: bool) -> None:
    run = find_run(run_id, root)
    if run is None:
        st.warning(f"Run {run_id} is gone from {root}.")
        return
    status = refresh(run)
    current = status.get("state", "unknown")
    if was_active and current not in ACTIVE_STATES:
        st.rerun(scope="app")  # finished: redraw the page once without polling, with evaluation and export
    records = run.metrics()
    training = [r for r in records if r.get("loss") is not None]
    last = training[-1] if training else None
    message = f"{STATE_ICONS.get(current, '')} **{current}** · {status.get('message', '')}"
    if current in ACTIVE_STATES and run.stop_requested():
        message += " · stop requested: ending after the current step"
    {"failed": st.error, "completed": st.success}.get(current, st.markdown)(message)
    share, text = progress_line(status, last)
    st.progress(share, text=text)
    c = st.columns(5)
    c[0].metric("Loss", f"{last['loss']:.3f}" if last else "—")
    evals = [r for r in records if r.get("eval_loss") is not None]
    c[1].metric("Eval loss", f"{evals[-1]['eval_loss']:.3f}" if evals else "—")
    c[2].metric("Tokens seen", f"{last['tokens_seen']:,}" if last else "—")
    c[3].metric(
        "Tokens/s", f"{last['tokens_per_second']:,.0f}" if last and last.get("tokens_per_second") else "—"
    )
    c[4].metric("Peak memory", f"{last['peak_memory_mb']:,.0f} MB" if last else "—")
    if records:
        st.plotly_chart(loss_figure(records, st.session_state.get("log_scale", False)), key=f"loss_{run_id}")
    else:
        st.caption("No step yet: the process is loading the model and preparing the examples.")
    if current in ACTIVE_STATES:  # on_click runs before the rerun, so the status drawn then says so
        st.button(
            "Stop",
            key=f"stop_{run_id}",
            on_click=stop,
            args=(run,),
            help="Ends after this step, saves the adapter",
        )
    with st.expander("train.log (last lines)"):
        st.code(log_tail(run.log_path) or "(empty)", language=None)


def run_controls(run: RunDir, status: dict[str, Any]) -> None:
    current = status.get("state")
    if current in ("stopped", "failed"):
        newest = run.newest_checkpoint()
        label = f"Resume from checkpoint-{newest[0]}" if newest else "Restart (no checkpoint yet)"
        if st.button(label, key=f"resume_{run.id}"):
            try:
                resume(run)
            except LaunchError as error:
                st.error(str(error), icon=":material/block:")
            else:
                st.rerun()
    if current == "created" and st.button("Start", key=f"launch_{run.id}", type="primary"):
        try:
            launch(run)
        except LaunchError as error:
            st.error(str(error), icon=":material/block:")
        else:
            st.rerun()
    with st.expander("Run it on several GPUs"):
        gpus = st.number_input("GPUs on this machine", 1, 64, max(1, gpu_count()), key=f"gpus_{run.id}")
        for title, command in launch_commands(run.path, int(gpus)).items():
            st.caption(title)
            st.code(command, language="bash")
        if gpus > 1:
            st.code(FSDP_CONFIG.format(gpus=int(gpus)), language="yaml")
        st.caption(
            "Every rank runs the same entry; rank 0 alone writes status and metrics, so this page follows it."
        )
    with st.expander("Configuration"):
        st.json(json.loads(run.config_path.read_text()))


@st.cache_resource(show_spinner=False)
def gpu_count() -> int:
    import torch

    return torch.cuda.device_count()


# --- after training: evaluation, try it, export -----------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=1)
def trained_model(run_id: str, adapter_stamp: float) -> tuple[Any, Any]:
    from core.training.modeling import load_trained

    return load_trained(RunDir(root / run_id))


def adapter_stamp(run: RunDir) -> float | None:
    from core.training.modeling import adapter_folder

    try:
        return (adapter_folder(run) / "adapter_model.safetensors").stat().st_mtime
    except FileNotFoundError:
        return None


def evaluation_tab(run: RunDir) -> None:
    report = read_evaluation(run)
    if st.button("Evaluate" if report is None else "Evaluate again", key=f"evaluate_{run.id}"):
        bar = st.progress(0.0, text="Evaluating…")
        report = evaluate_run(run, progress=lambda f, m: bar.progress(min(1.0, f), text=m))
        bar.empty()
    if report is None:
        st.caption(
            "Perplexity of the held-out text with and without the adapter, and a loss map of the document."
        )
        return
    c = st.columns(3)
    base, tuned = report.get("base_perplexity"), report.get("adapter_perplexity")
    c[0].metric("Held-out perplexity, base", f"{base:.2f}" if base else "—")
    c[1].metric(
        "With the adapter",
        f"{tuned:.2f}" if tuned else "—",
        delta=f"{tuned - base:+.2f}" if base and tuned else None,
        delta_color="inverse",
    )
    c[2].metric("Held-out tokens", f"{report['held_out_tokens']:,}")
    documents = report["documents"]
    index = (
        st.selectbox(
            "Document",
            range(len(documents)),
            format_func=lambda j: documents[j]["name"],
            key=f"map_doc_{run.id}",
        )
        if len(documents) > 1
        else 0
    )
    config = run.config()
    text = run.documents(config.documents)[index].text
    segments = [s for s in report["segments"] if s["doc"] == index]
    st.caption(
        "Each chunk coloured by its loss with the adapter: green = easy, red = hard. Hover for numbers; the held-out tail is outlined."
    )
    st.html(loss_map_html(text, segments, documents[index]["cut"]))
    for note in report.get("notes", []):
        st.caption(note)


def try_it_tab(run: RunDir, stamp: float) -> None:
    from core.training.generation import side_by_side

    config = run.config()
    first = run.documents(config.documents[:1])[0].text if config.documents else ""
    cut = hold_out_cut(first, config.eval_share)  # start with the held-out text: unseen in training
    default = " ".join(first[cut:].split()[:12]) or "The"
    prompt = st.text_area("Prompt", value=default, height=80, key=f"prompt_{run.id}")
    tokens = st.slider("New tokens", 8, 256, 60, key=f"new_tokens_{run.id}")
    if st.button("Generate", key=f"generate_{run.id}"):
        with st.spinner("Generating with the base model and with the adapter…"):
            model, tokenizer = trained_model(run.id, stamp)
            try:
                answer = side_by_side(model, tokenizer, prompt, tokens)
            except ValueError as error:
                st.warning(str(error))
                return
        left, right = st.columns(2)
        left.markdown("**Base model**")
        left.text(prompt + answer.base)
        right.markdown("**With the adapter**")
        right.text(prompt + answer.adapter)


def export_tab(run: RunDir) -> None:
    from core.training.export import build_zip

    st.caption(
        f"Adapter folder: `{run.adapter_dir}` · load it with `PeftModel.from_pretrained(base, folder)`."
    )
    merged = st.toggle(
        "Include the merged model (base weights + adapter, loads with AutoModelForCausalLM)",
        key=f"merged_{run.id}",
    )
    if st.button("Prepare the zip", key=f"zip_{run.id}"):
        with st.spinner("Merging and zipping…" if merged else "Zipping…"):
            st.session_state[f"zip_{run.id}_path"] = str(build_zip(run, include_merged=merged))
    path = st.session_state.get(f"zip_{run.id}_path")
    if path and Path(path).is_file():
        size = Path(path).stat().st_size / 2**20
        with open(path, "rb") as archive:
            st.download_button(
                f"Download {Path(path).name} ({size:,.1f} MB)",
                archive,
                file_name=Path(path).name,
                mime="application/zip",
                key=f"download_{run.id}",
            )


# --- the page ---------------------------------------------------------------------------------------------
runs = list_runs(root)
with st.expander("New run", expanded=not runs):
    try:
        new_run_section()
    except ModelLoadError as error:
        st.error(str(error), icon=":material/error:")

if not runs:
    st.info(
        f"No runs yet under `{root}`. Start one above: the defaults train in about a minute on a laptop CPU."
    )
    st.stop()

summaries = [run_summary(r) for r in runs]
ids = [s["run"] for s in summaries]
wanted = st.query_params.get("run")
chosen = st.selectbox(
    "Run",
    ids,
    index=ids.index(wanted) if wanted in ids else 0,
    format_func=lambda i: f"{i} · {next(s['state'] for s in summaries if s['run'] == i)}",
    key="run_choice",
)
if st.query_params.get("run") != chosen:
    st.query_params["run"] = chosen  # a reload, another tab or a restarted app comes back to this run

run = RunDir(root / chosen)
status = refresh(run)
active = status.get("state") in ACTIVE_STATES
st.toggle("Log-scale loss", key="log_scale")
st.fragment(run_every=POLL_SECONDS if active else None)(live_panel)(chosen, active)
run_controls(run, status)

stamp = adapter_stamp(run)
if stamp is not None and not active:
    evaluate, try_it, export = st.tabs(["Evaluation", "Try it", "Export"])
    with evaluate:
        evaluation_tab(run)
    with try_it:
        try_it_tab(run, stamp)
    with export:
        export_tab(run)

st.subheader("All runs")
table = pd.DataFrame(summaries).drop(columns=["created_at"])
st.dataframe(table, hide_index=True, key="runs_table")
compare = st.multiselect(
    "Overlay loss curves",
    ids,
    default=[i for i in ids[:3]],
    help="e.g. truncation vs sliding window vs blocks on the same document",
    key="compare_runs",
)
if compare:
    curves = {i: RunDir(root / i).metrics() for i in compare}
    st.plotly_chart(compare_figure(curves, st.session_state.get("log_scale", False)), key="compare_chart")
