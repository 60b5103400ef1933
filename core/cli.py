"""The command line: the same code path as the app's pages.

python -m core split DOC... --strategy sliding --window 2048 --overlap 256 --json
python -m core estimate --model microsoft/phi-2 --method lora --seq-len 2048 --batch 1 --json
python -m core train RUN_DIR
python -m core model            # convert the built-in model once (make run does this)
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Subcommand name -> module with add_parser(subparsers) and run(args) -> exit code. Imported lazily so that
# `split` does not pay for torch and `train` does not pay for pandas.
COMMANDS = {
    "split": "core.split_command",
    "estimate": "core.estimate.cli",
    "train": "core.training.cli",
    "model": "core.model_command",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that subcommand's module is imported (the others stay cheap)."""
    parser = argparse.ArgumentParser(prog="python -m core", description="ChunkTune: split, estimate, train.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}")
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(module_name)
        module.add_parser(subparsers).set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    args = build_parser(chosen).parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
