"""`python -m core model [SPEC]`: make a model available offline (converts the built-in one once)."""

from __future__ import annotations

import argparse
import sys

from core.models import DEFAULT_MODEL, ModelLoadError, display_name, model_context_length, resolve_model_dir


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("model", help="prepare a model (the built-in one is converted once)")
    parser.add_argument(
        "spec", nargs="?", default=DEFAULT_MODEL, help="default, a model folder or a cached Hub id"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        folder = resolve_model_dir(args.spec, progress=lambda message: print(f"… {message}", file=sys.stderr))
        print(f"{display_name(args.spec)}: {folder} (context {model_context_length(args.spec):,} tokens)")
    except ModelLoadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
