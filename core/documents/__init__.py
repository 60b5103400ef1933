"""Reading the user's documents: text, Markdown, PDF, Word, HTML, CSV, JSON Lines; pasted text; the sample.

    from core.documents import load_document, DocumentError
    docs = load_document("notes.pdf", progress=lambda f, msg: print(f"{f:.0%} {msg}"))

Every problem with the input raises DocumentError, whose message says what is wrong and what to do.
"""

from core.documents.document import Document, DocumentError
from core.documents.loading import (
    DEFAULT_MAX_BYTES,
    MAX_BYTES_ENV,
    load_document,
    load_documents,
    load_pasted,
    max_upload_bytes,
    sample_document,
)
from core.documents.tables import detect_text_column

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_BYTES_ENV",
    "Document",
    "DocumentError",
    "detect_text_column",
    "load_document",
    "load_documents",
    "load_pasted",
    "max_upload_bytes",
    "sample_document",
]
