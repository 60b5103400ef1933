"""Training examples from a split: the exact ids and labels, and their export as JSONL or Parquet.

Each record: text (the example decoded), input_ids, labels (-100 where no loss is taken: masked overlap and
padding), attention_mask, char_start/char_end (the exact span in the corpus text), source. Both files load
with `datasets.load_dataset("json" | "parquet", data_files=...)`.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from core.atomic_files import replaced_on_success
from core.strategies import SplitResult

EXPORT_FORMATS = ("jsonl", "parquet")


def iter_examples(result: SplitResult, tokenizer: Any | None = None) -> Iterator[dict[str, Any]]:
    """One dict per example; `text` needs the tokenizer (decoded ids, special tokens shown)."""
    starts, ends = result.char_start, result.char_end
    for i in range(len(result)):
        ids = result.example_ids(i)
        labels = result.example_labels(i)
        padding = int(result.padding_tokens[i])
        attention = np.ones(len(ids), np.int8)
        if padding:
            attention[len(ids) - padding :] = 0
        record = {
            "input_ids": ids.tolist(),
            "labels": labels.tolist(),
            "attention_mask": attention.tolist(),
            "char_start": int(starts[i]),
            "char_end": int(ends[i]),
            "source": result.source_of(i),
        }
        unpadded = ids[: len(ids) - padding] if padding else ids
        record = {"text": tokenizer.decode(unpadded.tolist()) if tokenizer is not None else "", **record}
        yield record


def build_examples(result: SplitResult, tokenizer: Any | None = None) -> list[dict[str, Any]]:
    return list(iter_examples(result, tokenizer))


def write_jsonl(result: SplitResult, path: str | Path, tokenizer: Any | None = None) -> Path:
    """Write every example as one JSON line; the file appears whole or not at all."""
    path = Path(path)
    with replaced_on_success(path) as temporary, open(temporary, "w", encoding="utf-8") as out:
        for record in iter_examples(result, tokenizer):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def write_parquet(result: SplitResult, path: str | Path, tokenizer: Any | None = None) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    with replaced_on_success(path) as temporary:
        pq.write_table(pa.Table.from_pylist(build_examples(result, tokenizer)), temporary)
    return path


def export_examples(result: SplitResult, path: str | Path, tokenizer: Any | None = None) -> Path:
    """Write JSONL or Parquet by the file's extension."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix in ("jsonl", "json"):
        return write_jsonl(result, path, tokenizer)
    if suffix == "parquet":
        return write_parquet(result, path, tokenizer)
    raise ValueError(f"Cannot export to '{path}': use a .jsonl or .parquet file name.")


def export_bytes(result: SplitResult, fmt: str, tokenizer: Any | None = None) -> bytes:
    """The export as bytes, for a download button."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}.")
    with tempfile.TemporaryDirectory() as folder:
        target = export_examples(result, Path(folder) / f"examples.{fmt}", tokenizer)
        return target.read_bytes()
