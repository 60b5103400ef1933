"""Training speed of the worker against a plain Trainer + peft script, measured in the same run.

    python bench/train_bench.py [--steps 6] [--window 256] [--micro-batch 2] [--doc PATH]

Both train the default model (SmolLM2-135M) with the same LoRA (r=8, q/k/v/o), optimizer, seed, number of
steps and the same examples (the guide's heads, the held-out tails set aside). The reference pads every
example to W, as scripts built on `padding="max_length"` do; the worker batches its own way. Measured from
the end of the first step (warm-up) to the end of the last, on the CPU:

1. Boundary-aware split with packing: real (non-padding) tokens/s of the worker / the reference. Target >= 1.0x.
   Padding share of the worker's batches (target < 2%) and of the reference's.
2. Sliding window (full windows, nothing to pack): the same ratio, the worker's overhead alone (about 1.0x).
3. Metrics logging: time inside the worker's metrics callback / time inside its optimizer steps. Target < 2%.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from core.documents import load_document, sample_document
from core.models import load_causal_lm, load_tokenizer
from core.training.config import TrainConfig
from core.training.data import IGNORE, build_training_data
from core.training.launcher import create_run
from core.training.worker import main as worker_main


class StepClock:
    """A TrainerCallback noting (time, real tokens) at each step end; real tokens from a forward pre-hook."""

    def __init__(self, model) -> None:
        self.tokens, self.marks = 0, []
        model.register_forward_pre_hook(self._count, with_kwargs=True)

    def _count(self, module, args, kwargs) -> None:
        if module.training:
            self.tokens += int(kwargs["attention_mask"].sum())

    def callback(self):
        from transformers import TrainerCallback

        clock = self

        class Marks(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                clock.marks.append((time.perf_counter(), clock.tokens))

        return Marks()


def reference_run(config: TrainConfig, documents, steps: int) -> dict[str, float]:
    """Plain Trainer + peft, every example padded to W (input_ids, attention_mask, labels)."""
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainingArguments, default_data_collator, set_seed

    tokenizer = load_tokenizer(config.model)
    rows = build_training_data(config.with_(packing=False), documents, tokenizer).train_rows
    pad = tokenizer.pad_token_id
    padded = []
    for row in rows:
        length, fill = len(row["input_ids"]), config.window - len(row["input_ids"])
        padded.append(
            {
                "input_ids": torch.tensor(list(row["input_ids"]) + [pad] * fill),
                "attention_mask": torch.tensor([1] * length + [0] * fill),
                "labels": torch.tensor(list(row["labels"]) + [IGNORE] * fill),
            }
        )
    set_seed(config.seed)
    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.lora_targets),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(load_causal_lm(config.model), lora)
    clock = StepClock(model.get_base_model())
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="reference-"),
        per_device_train_batch_size=config.micro_batch,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_schedule,
        warmup_steps=config.warmup_share,
        max_steps=steps,
        logging_steps=1,
        save_strategy="no",
        seed=config.seed,
        use_cpu=True,
        report_to="none",
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=padded,
        data_collator=default_data_collator,
        callbacks=[clock.callback()],
    )
    with contextlib.redirect_stdout(io.StringIO()):
        trainer.train()
    (t0, k0), (t1, k1) = clock.marks[0], clock.marks[-1]
    positions = (steps - 1) * config.micro_batch * config.window
    return {"tokens_per_second": (k1 - k0) / (t1 - t0), "padding_share": 1 - (k1 - k0) / positions}


def worker_run(config: TrainConfig, documents, root: Path) -> dict[str, float | None]:
    """The worker in this process, exactly as `python -m core train RUN_DIR` runs it."""
    run = create_run(config, documents, root=root)
    with contextlib.redirect_stdout(io.StringIO()):
        code = worker_main(run.path)
    status = run.status()
    if code != 0:
        raise SystemExit(f"worker failed: {status.get('message')}")
    records = [r for r in run.metrics() if r.get("loss") is not None]
    first, last = records[0], records[-1]
    tokens = last["tokens_seen"] - first["tokens_seen"]
    seconds = last["elapsed"] - first["elapsed"]
    # Packed rows go one per batch and are never padded; unpacked batches pad to their longest row (not counted).
    padding = 0.0 if config.packing else None
    final = status["final"]
    return {
        "tokens_per_second": tokens / seconds,
        "padding_share": padding,
        "logging_share": final["logging_seconds"] / final["train_seconds"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=6, help="optimizer steps per run (the first is warm-up)")
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--micro-batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="pairs per case (medians are reported)")
    parser.add_argument("--doc", type=Path, default=None, help="default: the built-in guide")
    args = parser.parse_args()
    documents = load_document(args.doc) if args.doc else [sample_document()]
    base = TrainConfig(
        window=args.window,
        micro_batch=args.micro_batch,
        max_steps=args.steps,
        eval_steps=0,
        save_steps=0,
        lora_dropout=0.0,
        logging_steps=1,
    )
    print(
        f"{documents[0].name}: {sum(len(d.text) for d in documents):,} characters; SmolLM2-135M, W = {args.window}, "
        f"micro-batch {args.micro_batch}, {args.steps} steps (first excluded), {torch.get_num_threads()} threads"
    )
    root = Path(tempfile.mkdtemp(prefix="train-bench-"))
    cases = {
        "boundary + packing": base.with_(strategy="boundary", packing=True),
        "sliding (full windows)": base.with_(strategy="sliding"),
    }
    logging_shares = []
    for name, config in cases.items():
        pairs = []
        for _ in range(args.repeats):  # alternate, so a busy machine slows both sides alike
            reference = reference_run(config, documents, args.steps)
            worker = worker_run(config, documents, root)
            pairs.append((worker, reference))
            logging_shares.append(worker["logging_share"])
        ratios = [w["tokens_per_second"] / r["tokens_per_second"] for w, r in pairs]
        worker_speed = statistics.median(w["tokens_per_second"] for w, _ in pairs)
        reference_speed = statistics.median(r["tokens_per_second"] for _, r in pairs)
        worker, reference = pairs[-1]
        padding = f" (padding {worker['padding_share']:.1%})" if worker["padding_share"] is not None else ""
        print(
            f"{name:<24} worker {worker_speed:7.1f} real tok/s{padding}"
            f" | reference {reference_speed:7.1f} real tok/s (padding {reference['padding_share']:.1%})"
            f" | ratio of medians {worker_speed / reference_speed:.2f}x; per pair "
            + ", ".join(f"{r:.2f}x" for r in ratios)
        )
    print(f"metrics logging: {statistics.median(logging_shares):.3%} of step time (target < 2%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
