"""`python -m core split DOC...`: the Split page's computation, from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.documents import DocumentError, load_documents
from core.examples import export_examples
from core.models import DEFAULT_MODEL, ModelLoadError, load_tokenizer, model_context_length
from core.strategies import REMAINDERS, STRATEGY_NAMES, SplitError, SplitParams, SplitResult, split
from core.strategies.statistics import split_statistics
from core.tokenization import TokenizedCorpus, tokenize_corpus


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("split", help="cut documents into training examples")
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="documents (.txt .md .pdf .docx .html .csv .jsonl)"
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="default, a model folder or a cached Hub id")
    parser.add_argument(
        "--trust-remote-code", action="store_true", help="allow the model's own tokenizer code"
    )
    parser.add_argument("--strategy", choices=STRATEGY_NAMES, default="sliding")
    parser.add_argument("--window", type=int, default=None, help="W in tokens (default: the model's context)")
    parser.add_argument("--overlap", type=int, default=0, help="tokens shared by consecutive windows")
    parser.add_argument("--keep-end", action="store_true", help="truncation: keep the last W tokens")
    parser.add_argument(
        "--mask-overlap", action="store_true", help="sliding: overlap is context (labels -100)"
    )
    parser.add_argument(
        "--remainder", choices=REMAINDERS, default="keep", help="blocks: the last partial block"
    )
    parser.add_argument("--batch-size", type=int, default=1, help="examples per optimizer step")
    parser.add_argument("--text-column", default=None, help="CSV/JSONL: the column holding the text")
    parser.add_argument(
        "--out", type=Path, default=None, help="write the examples to FILE.jsonl or FILE.parquet"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def corpus_for(
    paths: list[str], model: str, text_column: str | None, trust_remote_code: bool
) -> tuple[Any, TokenizedCorpus]:
    documents = load_documents(paths, text_column=text_column)
    tokenizer = load_tokenizer(model, trust_remote_code)
    return tokenizer, tokenize_corpus(tokenizer, documents)


def result_as_json(result: SplitResult) -> dict[str, Any]:
    """The shape the issue fixes: strategy, window, num_tokens, chunks, stats."""
    chunk_keys = ("token_start", "token_end", "char_start", "char_end", "num_tokens", "source")
    return {
        "strategy": result.params.strategy,
        "window": result.params.window,
        "num_tokens": result.corpus.num_tokens,
        "chunks": [{key: getattr(chunk, key) for key in chunk_keys} for chunk in result],
        "stats": split_statistics(result),
        "notes": result.notes,
    }


def run(args: argparse.Namespace) -> int:
    try:
        tokenizer, corpus = corpus_for(args.paths, args.model, args.text_column, args.trust_remote_code)
        window = args.window if args.window is not None else model_context_length(args.model)
        params = SplitParams(
            strategy=args.strategy,
            window=window,
            overlap=args.overlap,
            keep_end=args.keep_end,
            mask_overlap=args.mask_overlap,
            remainder=args.remainder,
            batch_size=args.batch_size,
        )
        result = split(corpus, params)
        if args.out:
            export_examples(result, args.out, tokenizer)
    except (DocumentError, ModelLoadError, SplitError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result_as_json(result)))
        return 0
    stats = split_statistics(result)
    print(
        f"{params.strategy}: {stats['examples']:,} examples of at most {params.window:,} tokens from {corpus.num_tokens:,} tokens"
    )
    print(
        f"  trained {stats['tokens_trained']:,} tokens, coverage {stats['coverage']:.1%}, dropped {stats['dropped_tokens']:,}, "
        f"duplication x{stats['duplication']:.2f}, padding to W {stats['padding_tokens']:,}, "
        f"cuts inside a sentence {stats['cuts_inside_sentence']:,}, steps/epoch {stats['steps_per_epoch']:,}"
    )
    for note in result.notes:
        print(f"  note: {note}")
    if args.out:
        print(f"  wrote {args.out}")
    return 0
