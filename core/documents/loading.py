"""Turn files, uploads and pasted text into Documents: pick the reader by extension (and content), check size."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from core.documents.decoding import decode_text
from core.documents.document import Document, DocumentError, normalise_newlines, require_text
from core.documents.html_text import html_to_text
from core.documents.pdf import read_pdf
from core.documents.tables import read_csv_rows, read_json_rows, read_jsonl_rows, rows_to_documents
from core.documents.word import read_docx

MIB = 1024 * 1024
DEFAULT_MAX_BYTES = 200 * MIB  # the same cap as Streamlit's default server.maxUploadSize (200 MB)
MAX_BYTES_ENV = "CHUNKTUNE_MAX_UPLOAD_MB"
GUIDE_PATH = Path(__file__).resolve().parents[2] / "docs" / "guide.md"  # the built-in sample

Progress = Callable[[float, str], None]  # (fraction done in [0, 1], what is being read)

_FORMATS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".doc": "doc",
}  # any other extension is read as plain text


class Upload(Protocol):
    """What Streamlit's UploadedFile offers (core never imports streamlit)."""

    name: str

    def getvalue(self) -> bytes: ...


Source = str | Path | bytes | tuple[bytes, str] | Upload  # a path, bytes, (bytes, name) or an upload


def max_upload_bytes() -> int:
    """The size cap: CHUNKTUNE_MAX_UPLOAD_MB (megabytes) when set, else DEFAULT_MAX_BYTES."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = -1.0
    if not megabytes > 0:
        raise DocumentError(
            f"{MAX_BYTES_ENV} must be a positive number of megabytes, got {raw!r}: fix or unset it."
        )
    return int(megabytes * MIB)


def _check_size(size: int, name: str, limit: int) -> None:
    if size > limit:
        raise DocumentError(
            f"{name} is {size / MIB:,.1f} MB, over the {limit / MIB:,.0f} MB limit: split it into smaller "
            f"files, or raise the limit with the environment variable {MAX_BYTES_ENV} (e.g. {MAX_BYTES_ENV}=500)."
        )


def _read_path(path: Path, limit: int) -> bytes:
    try:
        _check_size(path.stat().st_size, path.name, limit)
        return path.read_bytes()
    except FileNotFoundError as error:
        raise DocumentError(f"There is no file at {path}: check the path.") from error
    except IsADirectoryError as error:
        raise DocumentError(f"{path} is a folder: pass the files inside it instead.") from error
    except PermissionError as error:
        raise DocumentError(f"{path} cannot be read (permission denied): check its permissions.") from error


def _format_of(name: str, data: bytes) -> str:
    """The reader for a file: PDF and .docx content win over a wrong extension, else the extension decides."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            pass
    return _FORMATS.get(Path(name).suffix.lower(), "text")


def load_document(
    source: str | Path | bytes,
    name: str | None = None,
    *,
    text_column: str | None = None,
    max_bytes: int | None = None,
    progress: Progress | None = None,
) -> list[Document]:
    """Read one file (a path, or bytes with its file name) into documents: one, or one per CSV/JSONL row.

    `text_column` picks the column of a CSV/JSONL file (detected when None); `max_bytes` caps the file size
    (default: `max_upload_bytes()`); `progress(fraction, message)` is called while long files are read.
    """
    limit = max_upload_bytes() if max_bytes is None else max_bytes
    if isinstance(source, (str, Path)):
        path = Path(source)
        file_name = path.name
        data = _read_path(path, limit)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        file_name = name or "uploaded document"
        data = bytes(source)
        _check_size(len(data), file_name, limit)
    else:
        raise TypeError(f"load_document takes a path or bytes, not {type(source).__name__}")
    name = name or file_name
    if not data:  # said plainly here, before a PDF or Word reader reports it as a broken file
        raise DocumentError(
            f"{name} is empty (0 bytes): check that you picked the right file, or paste the text."
        )
    kind = _format_of(file_name, data)
    if kind in ("csv", "tsv", "jsonl", "json"):
        text, notes = decode_text(data, name)
        text = require_text(normalise_newlines(text), name)
        if kind in ("csv", "tsv"):
            rows = read_csv_rows(text, name, tab_separated=kind == "tsv")
        else:
            rows = (read_jsonl_rows if kind == "jsonl" else read_json_rows)(text, name)
        documents = rows_to_documents(rows, name, notes, text_column)
    else:
        text, notes = _read_single(kind, data, name, progress)
        documents = [Document(name=name, text=text, source=file_name, notes=notes)]
    if progress is not None:
        progress(1.0, f"{name}: read")
    return documents


def _read_single(kind: str, data: bytes, name: str, progress: Progress | None) -> tuple[str, tuple[str, ...]]:
    """The text and notes of a one-document format."""
    if kind == "doc":
        raise DocumentError(
            f"{name} is an old Word .doc file, which ChunkTune cannot read: save it as .docx or PDF "
            "(Word or LibreOffice: File > Save As), or paste the text."
        )
    if kind == "pdf":
        text, notes = read_pdf(data, name, progress)
        after = "after text extraction"
    elif kind == "docx":
        text, notes = read_docx(data, name)
        after = "after reading its paragraphs and tables"
    else:
        text, notes = decode_text(data, name)
        after = ""
        if kind == "html":
            text = html_to_text(text)
            after = "after removing tags, scripts and styles"
    return require_text(normalise_newlines(text), name, after=after), notes


def _unpack(source: Source) -> tuple[str | Path | bytes, str | None]:
    if isinstance(source, tuple):
        data, name = source
        return data, name
    if hasattr(source, "getvalue") and hasattr(source, "name"):
        return source.getvalue(), source.name
    return source, None  # type: ignore[return-value]


def load_documents(
    sources: Iterable[Source],
    *,
    text_column: str | None = None,
    max_bytes: int | None = None,
    progress: Progress | None = None,
) -> list[Document]:
    """Read several files into one corpus; documents stay separate, in the order given.

    Each source is a path, (bytes, file name), or an object with `.getvalue()` and `.name` (an upload).
    """
    items = [_unpack(source) for source in sources]
    documents: list[Document] = []
    for index, (data, name) in enumerate(items):

        def file_progress(fraction: float, message: str, index: int = index) -> None:
            if progress is not None:
                progress((index + fraction) / len(items), message)

        documents.extend(
            load_document(data, name, text_column=text_column, max_bytes=max_bytes, progress=file_progress)
        )
    return documents


def load_pasted(text: str, name: str = "pasted") -> Document:
    """Text pasted into the app, as one document."""
    text = require_text(normalise_newlines(text), "The pasted text")
    return Document(name=name, text=text, source="pasted")


def sample_document() -> Document:
    """The built-in sample: ChunkTune's own guide (docs/guide.md), so a first run has something to split."""
    try:
        text = GUIDE_PATH.read_text(encoding="utf-8")
    except OSError as error:
        raise DocumentError(
            f"The built-in sample {GUIDE_PATH} is missing: restore docs/guide.md from the repository, or "
            "upload a document instead."
        ) from error
    return Document(name="ChunkTune guide", text=normalise_newlines(text), source="sample")
