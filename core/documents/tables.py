"""CSV, JSON Lines and JSON arrays: one document per row, its text taken from one column."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Mapping, Sequence

from core.documents.document import Document, DocumentError, normalise_newlines

PREFERRED_COLUMNS = ("text", "content", "body", "document")  # picked by name before any measuring
_CSV_FIELD_LIMIT = 2**31 - 1  # the csv module's default cap (128 KiB a field) is too small for documents
_SNIFF_CHARS = 65536

Row = Mapping[str, object]
LabelledRow = tuple[str, Row]  # ("row 3", {...}): the label names the row in messages and document names


def _columns(rows: Sequence[Row]) -> list[str]:
    """Every column name in order of first appearance (JSON rows need not share their keys)."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update((key, None) for key in row if isinstance(key, str))
    return list(seen)


def _column_list(columns: Sequence[str]) -> str:
    return ", ".join(repr(column) for column in columns) or "none"


def detect_text_column(rows: Sequence[Row]) -> str:
    """A column named text/content/body/document, else the string column with the longest average value."""
    columns = _columns(rows)
    by_lower: dict[str, str] = {}
    for column in columns:
        by_lower.setdefault(column.lower(), column)
    for preferred in PREFERRED_COLUMNS:
        column = by_lower.get(preferred)
        if column is not None and any(isinstance(row.get(column), str) for row in rows):
            return column
    averages: dict[str, float] = {}
    for column in columns:
        values = [row.get(column) for row in rows]
        if all(value is None or isinstance(value, str) for value in values):
            averages[column] = sum(len(value) for value in values if isinstance(value, str)) / len(rows)
    best = max(averages, key=averages.__getitem__, default=None)
    if best is None or averages[best] == 0:
        raise DocumentError(
            f"no column holds text (columns found: {_column_list(columns)}): choose the column that "
            "holds the text, or name it 'text'."
        )
    return best


def read_csv_rows(text: str, name: str, *, tab_separated: bool = False) -> list[LabelledRow]:
    """Rows of a CSV (dialect sniffed) or TSV file with a header line."""
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    dialect: type[csv.Dialect] = csv.excel_tab if tab_separated else csv.excel
    if not tab_separated:
        # With too little structure to sniff, the standard comma dialect is the best guess.
        with contextlib.suppress(csv.Error):
            dialect = csv.Sniffer().sniff(text[:_SNIFF_CHARS], delimiters=",;\t|")
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    rows: list[LabelledRow] = []
    try:
        for number, row in enumerate(reader, start=1):
            rows.append((f"row {number}", {k: v for k, v in row.items() if k is not None}))
    except csv.Error as error:
        raise DocumentError(
            f"{name} is not valid CSV near line {reader.line_num} ({error}): fix that line, or export the "
            "file again."
        ) from error
    return rows


def read_jsonl_rows(text: str, name: str) -> list[LabelledRow]:
    """One JSON object per non-blank line; a file that is one JSON array is accepted too."""
    if text.lstrip().startswith("["):
        return read_json_rows(text, name)
    rows: list[LabelledRow] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise DocumentError(
                f"{name} line {number} is not valid JSON ({error.msg} at column {error.colno}): fix or "
                "delete that line (JSON Lines needs one complete object per line)."
            ) from error
        rows.append((f"line {number}", _as_row(value, name, f"line {number}")))
    return rows


def read_json_rows(text: str, name: str) -> list[LabelledRow]:
    """A JSON array of objects (or of strings), or a single object."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise DocumentError(
            f"{name} is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}): fix "
            "the file, or save it as JSON Lines (one object per line)."
        ) from error
    if not isinstance(value, list):
        return [("item 1", _as_row(value, name, "the top level"))]
    return [(f"item {n}", _as_row(item, name, f"item {n}")) for n, item in enumerate(value, start=1)]


def _as_row(value: object, name: str, where: str) -> Row:
    """An object is a row; a bare string is a row whose only column is 'text'."""
    if isinstance(value, str):
        return {"text": value}
    if isinstance(value, dict):
        return value
    raise DocumentError(
        f"{name}: {where} is a JSON {type(value).__name__}, not an object: each record must look like "
        '{"text": "..."}.'
    )


def rows_to_documents(
    rows: Sequence[LabelledRow], name: str, notes: tuple[str, ...], text_column: str | None
) -> list[Document]:
    """One Document per row with text in the chosen (or detected) column; empty rows are skipped."""
    if not rows:
        raise DocumentError(f"{name} has no rows: check that it is the right file and has a header line.")
    plain_rows = [row for _, row in rows]
    if text_column is None:
        try:
            column = detect_text_column(plain_rows)
        except DocumentError as error:
            raise DocumentError(f"{name}: {error}") from error
        how = "detected"
    else:
        if text_column not in _columns(plain_rows):
            raise DocumentError(
                f"{name} has no column {text_column!r} (columns found: {_column_list(_columns(plain_rows))}): "
                "choose one of those."
            )
        column, how = text_column, "chosen"
    texts: list[tuple[str, str]] = []
    for label, row in rows:
        value = row.get(column)
        if value is not None and not isinstance(value, str):
            raise DocumentError(
                f"{name}: column {column!r} holds a {type(value).__name__} at {label}, not text: choose a "
                "column of text."
            )
        if value and value.strip():
            texts.append((label, normalise_newlines(value)))
    if not texts:
        raise DocumentError(
            f"{name}: column {column!r} is empty in every row: choose the column that holds the text."
        )
    skipped = len(rows) - len(texts)
    summary = f"{len(rows)} records, text from column {column!r} ({how})"
    if skipped:
        summary += f", {skipped} with empty text skipped"
    all_notes = (*notes, summary)
    return [
        Document(name=f"{name} [{label}]", text=text, source=name, notes=all_notes) for label, text in texts
    ]
