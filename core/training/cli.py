"""`python -m core train ...`: the Train page's actions from the shell (the same functions underneath).

python -m core train RUN_DIR                      train in this process (what the Train page starts detached)
python -m core train RUN_DIR --resume             continue from the newest checkpoint
python -m core train --new [RUN_DIR] --docs a.md --strategy sliding --window 256 --max-steps 30 [--detach]
python -m core train RUN_DIR --detach             start in the background, output to RUN_DIR/train.log
python -m core train RUN_DIR --stop | --status | --evaluate | --prompt TEXT | --export out.zip [--merged]
python -m core train --list
torchrun --nproc_per_node N -m core train RUN_DIR    (or accelerate launch -m core train RUN_DIR): DDP;
    rank 0 writes status and metrics. FSDP: `accelerate launch --config_file fsdp.yaml -m core train RUN_DIR`
    with an accelerate config of distributed_type FSDP (see core/training/__init__.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from core.training.config import ConfigError, TrainConfig, field_docs
from core.training.device import process_rank
from core.training.launcher import (
    LaunchError,
    create_run,
    launch,
    list_runs,
    refresh,
    run_summary,
    runs_root,
    stop,
)
from core.training.rundir import ACTIVE_STATES, RunDir

CONFIG_FLAGS = [f for f in fields(TrainConfig) if f.name != "documents"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train",
        help="train a LoRA adapter on the split (a run directory)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", nargs="?", type=Path, metavar="RUN_DIR", help="the run directory")
    actions = parser.add_argument_group("actions")
    actions.add_argument(
        "--new", action="store_true", help="create RUN_DIR (or a new run under the runs root)"
    )
    actions.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    actions.add_argument(
        "--detach", action="store_true", help="start in the background (like the Train page)"
    )
    actions.add_argument("--stop", action="store_true", help="ask a running run to stop after this step")
    actions.add_argument("--status", action="store_true", help="print the status and the last metrics")
    actions.add_argument("--list", action="store_true", help="list the runs under the runs root")
    actions.add_argument("--evaluate", action="store_true", help="perplexity base vs adapter, loss map")
    actions.add_argument("--prompt", default=None, help="continue PROMPT with the base model and the adapter")
    actions.add_argument("--export", type=Path, default=None, metavar="ZIP", help="write the adapter zip")
    actions.add_argument("--merged", action="store_true", help="--export: include the merged model")
    actions.add_argument("--json", action="store_true", help="--status/--list/--evaluate: print JSON")
    new = parser.add_argument_group("settings for --new (defaults: the Train page's)")
    new.add_argument("--docs", nargs="+", default=None, metavar="PATH", help="documents (default: the guide)")
    docs = field_docs()
    for field in CONFIG_FLAGS:
        flag = "--" + field.name.replace("_", "-")
        default = field.default if field.default is not MISSING else None
        help_text = f"{docs.get(field.name, '')} (default: {default})"
        if field.type in ("bool", bool):
            new.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif isinstance(default, tuple):
            new.add_argument(flag, nargs="+", default=None, help=help_text)
        else:
            new.add_argument(flag, type=type(default), default=None, help=help_text)
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    given = {f.name: getattr(args, f.name) for f in CONFIG_FLAGS if getattr(args, f.name) is not None}
    return TrainConfig(**given)


def _new_run(args: argparse.Namespace) -> RunDir:
    from core.documents import load_documents, sample_document

    documents = load_documents(args.docs) if args.docs else [sample_document()]
    config = config_from_args(args)
    if args.run_dir is not None:
        return create_run(config, documents, root=args.run_dir.parent, run_id=args.run_dir.name)
    return create_run(config, documents)


def _print(data: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, indent=2, default=str))
    elif isinstance(data, dict):
        for key, value in data.items():
            print(f"{key}: {value}")
    else:
        print(data)


def _foreground(run: RunDir, resume: bool) -> int:
    if process_rank()[0] == 0:  # other ranks start with rank 0's status already rewritten: skip the check
        state = refresh(run).get("state")
        other = run.pid_record().get("pid") != os.getpid()  # the launcher records the PID of this process
        if state in ACTIVE_STATES and other and run.process_alive():
            raise LaunchError(f"Run '{run.id}' is already {state} in another process.")
        if state == "completed" and not resume:
            raise LaunchError(f"Run '{run.id}' has completed: create a new run to train again.")
    from core.training.worker import main

    return main(run.path, resume=resume)


def run(args: argparse.Namespace) -> int:
    try:
        return _dispatch(args)
    except (ConfigError, LaunchError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.list:
        rows = [run_summary(r) for r in list_runs(args.run_dir or runs_root())]
        if args.json:
            _print(rows, True)
        for row in rows if not args.json else []:
            loss = f"{row['loss']:.3f}" if row["loss"] is not None else "—"
            print(
                f"{row['run']:<40} {row['state']:<10} {row['strategy']:<10} step {row['step']}  loss {loss}"
            )
        return 0
    if args.new:
        run_dir = _new_run(args)
        print(f"Created {run_dir.path}", file=sys.stderr)
    elif args.run_dir is None:
        raise LaunchError("Give a run directory (RUN_DIR), or --new to create one, or --list.")
    else:
        run_dir = RunDir(args.run_dir)
        if not run_dir.exists():
            raise LaunchError(
                f"{run_dir.path} is not a run directory (no config.json): create it with --new."
            )
    if args.stop:
        print("Stop requested." if stop(run_dir) else f"Run '{run_dir.id}' is not running.")
        return 0
    if args.status:
        status = refresh(run_dir)
        metrics = run_dir.metrics()
        _print({**status, "last_metrics": metrics[-1] if metrics else None}, args.json)
        return 0
    if args.evaluate:
        from core.training.evaluation import evaluate_run

        report = evaluate_run(run_dir, progress=lambda f, m: print(f"{f:4.0%} {m}", file=sys.stderr))
        summary = {k: v for k, v in report.items() if k not in ("segments", "documents")}
        _print(report if args.json else summary, args.json)
        return 0
    if args.prompt is not None:
        from core.training.generation import side_by_side
        from core.training.modeling import load_trained

        answer = side_by_side(*load_trained(run_dir), args.prompt)
        print(f"--- base model ---\n{answer.base}\n--- with the adapter ---\n{answer.adapter}")
        return 0
    if args.export is not None:
        from core.training.export import build_zip

        built = build_zip(run_dir, include_merged=args.merged)
        shutil.copyfile(built, args.export)
        print(f"Wrote {args.export}")
        return 0
    if args.detach:
        pid = launch(run_dir, resume=args.resume)
        print(f"Started run {run_dir.id} (PID {pid}); output in {run_dir.log_path}")
        return 0
    return _foreground(run_dir, args.resume)
