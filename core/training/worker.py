"""The training process: `python -m core train RUN_DIR` -> main -> setup -> fit.

One process per run (or one per rank under `torchrun` / `accelerate launch`; rank 0 alone writes status,
metrics and the log lines). transformers' Trainer runs the loop on a peft LoRA model; two callbacks do the
rest: `MetricsCallback` appends a line to metrics.jsonl at each logging step and evaluation, `StopCallback`
ends training after the current step when SIGTERM/SIGINT arrived or RUN_DIR/stop exists (the flag is
all-reduced, so every rank stops at the same step), asking the Trainer for a checkpoint first.

Test hook: CHUNKTUNE_SIMULATE_OOM_AT_STEP=N makes step N raise torch.OutOfMemoryError, as a GPU would, so the
out-of-memory path (status `failed` with the estimator's advice) is tested on any machine.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from core.models import ModelLoadError, load_tokenizer
from core.strategies import SplitError
from core.training.advice import out_of_memory_advice
from core.training.config import ConfigError, TrainConfig
from core.training.data import Collator, TrainingData, build_training_data, pad_id_of
from core.training.device import (
    DeviceLock,
    peak_memory_mb,
    process_rank,
    resolve_device,
    resolve_dtype,
)
from core.training.launcher import LAUNCHED_ENV
from core.training.modeling import add_lora, load_base
from core.training.rundir import RunDir

SIMULATE_OOM_ENV = "CHUNKTUNE_SIMULATE_OOM_AT_STEP"
RATE_WINDOW = 20  # logging steps averaged for tokens/s and the ETA


class RunRefused(RuntimeError):
    """The device is taken by another run."""


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed run picks up its counters: the checkpoint's step and the metrics written up to it."""

    step: int = 0
    checkpoint: Path | None = None
    tokens_seen: int = 0
    elapsed: float = 0.0


class StopSignal:
    """SIGTERM/SIGINT or RUN_DIR/stop -> `requested`. A second signal interrupts at once."""

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self.signalled = False

    def install(self) -> None:
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._handle)

    def _handle(self, number: int, frame: Any) -> None:
        if self.signalled:
            raise KeyboardInterrupt
        self.signalled = True
        print(f"Received {signal.Signals(number).name}: stopping after the current step.", flush=True)

    @property
    def requested(self) -> bool:
        return self.signalled or self.run.stop_requested()


class TokenCounter:
    """Counts the real (non-padding) tokens of every training forward pass, through a forward pre-hook on
    the model (exact under gradient accumulation and data-loader prefetching, which a collator count is not)."""

    def __init__(self, model: Any) -> None:
        self.tokens = 0
        model.register_forward_pre_hook(self._count, with_kwargs=True)

    def _count(self, module: Any, args: tuple, kwargs: dict) -> None:
        if not module.training:
            return
        mask = kwargs.get("attention_mask")
        ids = kwargs.get("input_ids", args[0] if args else None)
        if mask is not None:
            self.tokens += int(mask.sum())
        elif ids is not None:
            self.tokens += int(ids.numel())


def _all_reduce(value: float, device: Any, op: str) -> float:
    """Sum or max of `value` over ranks (the value itself in a single process)."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return value
    tensor = torch.tensor([float(value)], dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM if op == "sum" else dist.ReduceOp.MAX)
    return float(tensor.item())


class MetricsCallback(TrainerCallback):
    """One metrics.jsonl line per logging step (loss) and per evaluation (eval_loss), from rank 0."""

    def __init__(self, run: RunDir, counter: TokenCounter, device: str, start: ResumePoint, is_main: bool):
        self.run, self.counter, self.device, self.start, self.is_main = run, counter, device, start, is_main
        self.history: deque[tuple[float, int, int]] = deque(
            maxlen=RATE_WINDOW
        )  # (train seconds, step, tokens)
        self.train_seconds = 0.0  # inside optimizer steps: forward, backward, update (no eval, no saving)
        self.overhead_seconds = 0.0  # spent in this callback: the cost of metrics logging
        self.began = self.step_began = time.perf_counter()
        self.last: dict[str, Any] = {}

    def on_train_begin(self, args, state, control, **kwargs):
        self.began = time.perf_counter()
        self.history.append((0.0, state.global_step, self.start.tokens_seen))

    def on_step_begin(self, args, state, control, **kwargs):
        self.step_began = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.train_seconds += time.perf_counter() - self.step_began

    def on_log(self, args, state, control, logs=None, **kwargs):
        entered = time.perf_counter()
        logs = logs or {}
        if "loss" not in logs and "eval_loss" not in logs:
            return
        # The all-reduce runs on every rank (training logs happen on all of them at the same step).
        tokens = self.start.tokens_seen + int(_all_reduce(self.counter.tokens, args.device, "sum"))
        if not self.is_main:
            return
        if "loss" in logs:
            self.history.append((self.train_seconds, state.global_step, tokens))
        record = self._record(state, logs, tokens, entered)
        self.run.append_metrics(record)
        self.last = record
        self._print(record)
        self.overhead_seconds += time.perf_counter() - entered

    def _record(self, state: Any, logs: dict[str, Any], tokens: int, now: float) -> dict[str, Any]:
        (seconds_a, _, tokens_a), (seconds_b, _, tokens_b) = self.history[0], self.history[-1]
        rate = (tokens_b - tokens_a) / (seconds_b - seconds_a) if seconds_b > seconds_a else None
        wall = now - self.began
        steps_done = state.global_step - self.start.step
        seconds_per_step = wall / steps_done if steps_done > 0 else None
        remaining = max(0, state.max_steps - state.global_step)
        return {
            "step": state.global_step,
            "epoch": _finite(state.epoch),
            "loss": _finite(logs.get("loss")),
            "eval_loss": _finite(logs.get("eval_loss")),
            "lr": _finite(logs.get("learning_rate")),
            "grad_norm": _finite(logs.get("grad_norm")),
            "tokens_seen": tokens,
            "tokens_per_second": _finite(rate),
            "elapsed": round(self.start.elapsed + wall, 3),
            "eta": round(remaining * seconds_per_step, 1) if seconds_per_step is not None else None,
            "peak_memory_mb": round(peak_memory_mb(self.device), 1),
            "max_steps": state.max_steps,
            "time": time.time(),
        }

    @staticmethod
    def _print(record: dict[str, Any]) -> None:
        if record["loss"] is not None:
            rate = f"{record['tokens_per_second']:.0f} tok/s" if record["tokens_per_second"] else "—"
            eta = f"eta {record['eta']:.0f}s" if record["eta"] is not None else ""
            print(
                f"step {record['step']}/{record['max_steps']}  loss {record['loss']:.4f}  "
                f"lr {record['lr'] or 0:.2e}  {rate}  {eta}",
                flush=True,
            )
        else:
            print(f"step {record['step']}  eval_loss {record['eval_loss']:.4f}", flush=True)


class StopCallback(TrainerCallback):
    """Ends training after the current step when a stop is requested, with a checkpoint for resume."""

    def __init__(self, stop: StopSignal, run: RunDir, is_main: bool) -> None:
        self.stop, self.run, self.is_main = stop, run, is_main
        self.stopped_at: int | None = None
        oom_step = os.environ.get(SIMULATE_OOM_ENV, "")
        self.simulate_oom_at = int(oom_step) if oom_step.isdigit() else None

    def on_step_begin(self, args, state, control, **kwargs):
        if self.simulate_oom_at is not None and state.global_step + 1 == self.simulate_oom_at:
            import torch

            raise torch.OutOfMemoryError(
                f"CUDA out of memory. Tried to allocate 2.00 GiB (simulated by {SIMULATE_OOM_ENV})"
            )

    def on_step_end(self, args, state, control, **kwargs):
        if _all_reduce(float(self.stop.requested), args.device, "max") > 0:
            control.should_training_stop = True
            control.should_save = True
            self.stopped_at = state.global_step
            if self.is_main:
                print(
                    f"Stopping at step {state.global_step}: saving a checkpoint and the adapter.", flush=True
                )
        return control


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def resume_point(run: RunDir, resume: bool) -> ResumePoint:
    """The newest checkpoint and the counters at its step; metrics written after it are dropped (rank 0)."""
    newest = run.newest_checkpoint() if resume else None
    if newest is None:
        return ResumePoint()
    step, folder = newest
    records = [r for r in run.metrics() if int(r.get("step", 0)) <= step]
    trained = [r for r in records if r.get("tokens_seen") is not None]
    return ResumePoint(
        step=step,
        checkpoint=folder,
        tokens_seen=int(trained[-1]["tokens_seen"]) if trained else 0,
        elapsed=float(trained[-1]["elapsed"]) if trained else 0.0,
    )


def training_arguments(
    config: TrainConfig,
    run: RunDir,
    device: str,
    dtype: str,
    data: TrainingData,
    world_size: int,
    resuming: bool,
) -> Any:
    from transformers import TrainingArguments

    has_eval = bool(data.eval_rows)
    total = data.total_steps(config, world_size)
    return TrainingArguments(
        output_dir=str(run.checkpoints_dir),
        per_device_train_batch_size=1 if config.packing else config.micro_batch,
        per_device_eval_batch_size=config.micro_batch,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_schedule,
        warmup_steps=config.warmup_share,  # a float in [0, 1) is a share of the steps (TrainingArguments)
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        eval_strategy="steps" if has_eval else "no",
        eval_on_start=has_eval
        and not resuming,  # the base model's eval loss at step 0: where the curve starts
        eval_steps=(config.eval_steps or total) if has_eval else None,
        save_strategy="steps" if config.save_steps else "no",
        save_steps=config.save_steps or 500,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        data_seed=config.seed,
        use_cpu=device == "cpu",
        bf16=dtype == "bf16",
        fp16=dtype == "fp16",
        activation_checkpointing=config.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False},
        label_names=["labels"],
        remove_unused_columns=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=device == "cuda",
        ddp_find_unused_parameters=False,
        ddp_backend="gloo" if device == "cpu" and world_size > 1 else None,
        report_to="none",
        disable_tqdm=True,  # train.log gets one line per step from MetricsCallback instead of \r bars
    )


@dataclass
class Session:
    """Everything `fit` needs, built by `setup`."""

    trainer: Any
    metrics: MetricsCallback
    stopper: StopCallback
    data: TrainingData
    tokenizer: Any
    start: ResumePoint


def setup(config: TrainConfig, run: RunDir, stop: StopSignal, resume: bool) -> Session:
    """Tokenize and split, load the model, add LoRA, build the Trainer."""
    import torch
    from transformers import PrinterCallback, Trainer, set_seed

    rank, world_size = process_rank()
    is_main = rank == 0
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype, device)
    tokenizer = load_tokenizer(config.model, config.trust_remote_code)
    data = build_training_data(config, run.documents(config.documents), tokenizer)
    start = resume_point(run, resume)
    if is_main:
        run.repair_metrics(max_step=start.step)  # a torn line, and lines after the checkpoint on resume
    set_seed(config.seed)  # the adapter's initialisation happens before the Trainer seeds anything
    model = add_lora(
        load_base(config, device, dtype, local_rank=int(os.environ.get("LOCAL_RANK", 0))), config
    )
    if device == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world_size))
    counter = TokenCounter(model.get_base_model())
    metrics = MetricsCallback(run, counter, device, start, is_main)
    stopper = StopCallback(stop, run, is_main)
    trainer = Trainer(
        model=model,
        args=training_arguments(config, run, device, dtype, data, world_size, start.checkpoint is not None),
        train_dataset=data.train_rows,
        eval_dataset=data.eval_rows or None,
        data_collator=Collator(pad_id_of(tokenizer)),
        callbacks=[metrics, stopper],
    )
    trainer.remove_callback(PrinterCallback)  # MetricsCallback prints one readable line per step
    if is_main:
        total = data.total_steps(config, world_size)
        print(
            f"{data.stats['examples']} examples ({data.stats['train_rows']} rows, {data.stats['train_tokens']:,} "
            f"tokens), {data.stats['eval_examples']} held-out windows; {total} steps on {device} ({dtype}).",
            flush=True,
        )
        run.write_status(
            "running",
            f"Training on {device}" + (f", resumed from step {start.step}" if start.step else ""),
            device=device,
            dtype=dtype,
            max_steps=total,
            world_size=world_size,
            examples=data.stats["examples"],
            started_at=time.time(),
        )
    return Session(trainer, metrics, stopper, data, tokenizer, start)


def fit(session: Session, run: RunDir) -> dict[str, Any]:
    """Train (from the checkpoint when resuming), then save the adapter; returns the final numbers."""
    checkpoint = str(session.start.checkpoint) if session.start.checkpoint else None
    session.trainer.train(resume_from_checkpoint=checkpoint)
    session.trainer.save_model(str(run.adapter_dir))  # every rank calls it; the main process writes
    if process_rank()[0] == 0:
        session.tokenizer.save_pretrained(str(run.adapter_dir))
    records = run.metrics()
    losses = [r for r in records if r.get("loss") is not None]
    evals = [r for r in records if r.get("eval_loss") is not None]
    return {
        "step": session.trainer.state.global_step,
        "loss": losses[-1]["loss"] if losses else None,
        "eval_loss": evals[-1]["eval_loss"] if evals else None,
        "tokens_seen": session.metrics.last.get("tokens_seen"),
        "elapsed": session.metrics.last.get("elapsed"),
        "train_seconds": round(session.metrics.train_seconds, 3),
        "logging_seconds": round(session.metrics.overhead_seconds, 4),
        "stopped_at": session.stopper.stopped_at,
    }


def is_out_of_memory(error: BaseException) -> bool:
    import torch

    return isinstance(error, torch.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower()
    )


def main(run_dir: str | Path, *, resume: bool = False) -> int:
    """Run the training in this process; exit code 0 for completed or stopped, 1 for failed."""
    run = RunDir(Path(run_dir))
    rank, _ = process_rank()
    is_main = rank == 0
    stop = StopSignal(run)
    stop.install()
    lock: DeviceLock | None = None
    config: TrainConfig | None = None

    def fail(message: str) -> int:
        print(f"error: {message}", file=sys.stderr, flush=True)
        if is_main and run.path.is_dir():
            run.write_status("failed", message, pid=os.getpid())
        return 1

    try:
        config = run.config()
        device = resolve_device(config.device)
        if is_main:
            if not os.environ.get(LAUNCHED_ENV):
                run.clear_stop()  # started by hand: a stop file left from an earlier stop is stale
            lock = DeviceLock(run.path.parent, device)
            if not lock.acquire(run.id):
                raise RunRefused(
                    f"Run '{lock_holder(run, device)}' is training on {device}: one run at a time per device. "
                    "Stop it or wait until it finishes, then start this one."
                )
            run.write_pid(os.getpid())
            run.write_status("running", "Loading the model and preparing the examples", pid=os.getpid())
        session = setup(config, run, stop, resume)
        if (
            _all_reduce(float(stop.requested), session.trainer.args.device, "max") > 0
        ):  # same answer on all ranks
            if is_main:
                run.write_status("stopped", "Stopped before the first step.")
            return 0
        final = fit(session, run)
        if is_main:
            stopped = final["stopped_at"] is not None
            message = (
                f"Stopped at step {final['step']}; resume continues from its checkpoint."
                if stopped
                else f"Completed {final['step']} steps."
            )
            run.write_status("stopped" if stopped else "completed", message, final=final)
        return 0
    except KeyboardInterrupt:
        if is_main:
            newest = run.newest_checkpoint()
            where = f"checkpoint-{newest[0]}" if newest else "the start (no checkpoint yet)"
            run.write_status(
                "stopped", f"Interrupted before the adapter was saved; resume continues from {where}."
            )
        return 0
    except BaseException as error:  # every failure ends as status `failed` with a sentence for the user
        if is_out_of_memory(error):
            return fail(out_of_memory_message(config, error))
        if isinstance(error, RunRefused | ConfigError | ModelLoadError | SplitError | FileNotFoundError):
            return fail(str(error))
        if isinstance(error, ValueError | RuntimeError) and config is None:
            return fail(f"Bad settings: {error}")
        traceback.print_exc()
        return fail(f"Training failed: {type(error).__name__}: {error} (the traceback is in train.log).")
    finally:
        if lock is not None:
            lock.release()


def lock_holder(run: RunDir, device: str) -> str:
    from core.training.device import device_holder

    return device_holder(run.path.parent, device) or "another run"


def out_of_memory_message(config: TrainConfig | None, error: BaseException) -> str:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    message = f"Out of memory: {first_line}."
    if config is not None:
        message += " " + out_of_memory_advice(config)
    return message
