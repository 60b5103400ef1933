"""Split speed on a real document, every figure a ratio to a baseline measured in the same run.

    python bench/split_bench.py [--doc PATH] [--window 2048] [--overlap 256] [--repeats 5]

1. Tokenize + all four strategies (with statistics) vs the single HF call that yields only sliding windows:
   tokenizer(doc, max_length=W, stride=overlap, truncation=True, return_overflowing_tokens=True,
   return_offsets_mapping=True). Target: at least 3x faster.
2. Re-splitting after a parameter change with the tokens cached. Target: under 20 ms.
3. Boundary-aware (tokenize + split) vs semantic-text-splitter and LangChain's RecursiveCharacterTextSplitter,
   both sized by the same HF tokenizer. Targets: at least 10x and 5x faster, no chunk over W.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.documents import load_document
from core.models import load_tokenizer
from core.strategies import STRATEGY_NAMES, SplitParams, split, split_statistics
from core.tokenization import tokenize_corpus

DEFAULT_DOC = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "tinyshakespeare.txt"


def timed(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time of `repeats` calls, and the last call's result."""
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    parser.add_argument("--window", type=int, default=2048)
    parser.add_argument("--overlap", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peer-repeats", type=int, default=2, help="repeats for the slow peer splitters")
    args = parser.parse_args()
    if not args.doc.is_file():
        print(f"{args.doc} not found: pass --doc PATH (the shared corpora live in ../shared/corpora).")
        return 2
    (document,) = load_document(args.doc)
    tokenizer = load_tokenizer("default")
    text, window, overlap = document.text, args.window, args.overlap
    print(
        f"{args.doc.name}: {len(text):,} characters; W = {window}, overlap = {overlap}; medians of {args.repeats}"
    )

    def hf_call():
        return tokenizer(
            text,
            max_length=window,
            stride=overlap,
            truncation=True,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )

    def chunktune_all_four():
        corpus = tokenize_corpus(tokenizer, [document])
        return {
            name: split_statistics(
                split(
                    corpus,
                    SplitParams(
                        strategy=name,
                        window=window,
                        overlap=overlap if name != "truncation" and name != "blocks" else 0,
                    ),
                )
            )
            for name in STRATEGY_NAMES
        }

    baseline, hf_windows = timed(hf_call, args.repeats)
    ours, stats = timed(chunktune_all_four, args.repeats)
    print("\n1. tokenize + all four strategies vs the single HF overflow call")
    print(f"   HF call (sliding windows only): {baseline:.3f} s, {len(hf_windows['input_ids'])} windows")
    print(
        f"   ChunkTune, four strategies:     {ours:.3f} s, sliding = {stats['sliding']['examples']} windows"
    )
    print(f"   ratio: {baseline / ours:.2f}x faster (target >= 3x)")

    corpus = tokenize_corpus(tokenizer, [document])
    split(corpus, SplitParams(strategy="boundary", window=window))  # warm the per-corpus boundary grades
    overlaps = iter(range(1, 10_000))

    def resplit():
        params = SplitParams(strategy="sliding", window=window, overlap=next(overlaps) % (window - 1))
        return split_statistics(split(corpus, params))

    resplit_time, _ = timed(resplit, max(20, args.repeats))
    print("\n2. re-split after a parameter change (tokens cached)")
    print(f"   {resplit_time * 1000:.2f} ms (target < 20 ms); {resplit_time / baseline:.4f} of the HF call")

    def ours_boundary():
        fresh = tokenize_corpus(tokenizer, [document])
        return split(fresh, SplitParams(strategy="boundary", window=window))

    boundary_time, boundary = timed(ours_boundary, args.repeats)
    print("\n3. boundary-aware chunking, raw text in, chunks out")
    print(
        f"   ChunkTune boundary: {boundary_time:.3f} s, {len(boundary)} chunks, largest {int(boundary.num_tokens.max())} tokens"
    )
    for label, make in (
        ("semantic-text-splitter", _semantic_splitter),
        ("LangChain recursive", _langchain_splitter),
    ):
        try:
            chunker = make(tokenizer, window)
        except ImportError as error:
            print(f"   {label}: not installed ({error}); pip install -r requirements-dev.txt")
            continue
        peer_time, chunks = timed(lambda chunker=chunker: chunker(text), args.peer_repeats)
        sizes = [len(ids) for ids in tokenizer(chunks, add_special_tokens=False)["input_ids"]]
        over = sum(size > window for size in sizes)
        print(
            f"   {label}: {peer_time:.3f} s, {len(chunks)} chunks, largest {max(sizes)} tokens, {over} over W; "
            f"ChunkTune is {peer_time / boundary_time:.1f}x faster"
        )
    return 0


def _semantic_splitter(tokenizer, window: int):
    from semantic_text_splitter import TextSplitter

    from core.tokenization import _plain_backend

    # A copy without the truncation the HF call above left on the shared backend (it would cap every count).
    splitter = TextSplitter.from_huggingface_tokenizer(_plain_backend(tokenizer), window)
    return splitter.chunks


def _langchain_splitter(tokenizer, window: int):
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
        tokenizer, chunk_size=window, chunk_overlap=0
    )
    return splitter.split_text


if __name__ == "__main__":
    sys.exit(main())
