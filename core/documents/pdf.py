"""PDF text with pypdf, page by page, with progress (a 117-page script takes a few seconds)."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pypdf import PdfReader

from core.documents.document import DocumentError

# Typographic ligatures (U+FB00..U+FB06) that LaTeX fonts emit; expanded so "Begriﬀ" reads "Begriff".
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})

PAGE_SEPARATOR = "\n\n"  # pages are joined like paragraphs, so boundary-aware chunking can split there


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Silence pypdf's recoverable-problem warnings (one line per font without fontTools) for a while."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def read_pdf(
    data: bytes, name: str, progress: Callable[[float, str], None] | None = None
) -> tuple[str, tuple[str, ...]]:
    """Extract the text of every page; raise DocumentError for corrupt, locked or scanned PDFs."""
    with _quiet_pypdf():
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise DocumentError(
                    f"{name} is password-protected: remove the password (e.g. `qpdf --decrypt`) or paste the text."
                )
            pages = list(reader.pages)
        except DocumentError:
            raise
        except Exception as error:  # pypdf raises many types on broken files; all mean the same to the user
            raise DocumentError(
                f"{name} could not be read as a PDF ({error}): the file may be damaged or incomplete; "
                "download or export it again, or paste the text."
            ) from error
        texts: list[str] = []
        failed: list[int] = []
        for number, page in enumerate(pages, start=1):
            try:
                texts.append(page.extract_text())
            except Exception:  # one bad page should not lose the other pages
                texts.append("")
                failed.append(number)
            if progress is not None:
                progress(number / len(pages), f"page {number}/{len(pages)}")
    if not pages:
        raise DocumentError(f"{name} has no pages: export the PDF again, or paste the text.")
    blank = sum(1 for text in texts if not text.strip())
    if blank == len(pages):
        raise DocumentError(
            f"{name} has no text layer (it looks scanned: {_count(len(pages), 'page')}, none with text): "
            "run OCR first (e.g. `ocrmypdf in.pdf out.pdf`), or paste the text."
        )
    text = PAGE_SEPARATOR.join(texts)
    ligatures = sum(text.count(ligature) for ligature in "ﬀﬁﬂﬃﬄﬅﬆ")
    notes = [
        f"PDF: {_count(len(pages), 'page')}" + (f", {_count(blank, 'page')} without text" if blank else "")
    ]
    if failed:
        notes.append(f"PDF: text extraction failed on pages {', '.join(map(str, failed))}")
    if ligatures:
        notes.append(f"PDF: {ligatures:,} ligature characters expanded (ﬁ → fi)")
    return text.translate(_LIGATURES), tuple(notes)
