"""Word .docx text with python-docx: body paragraphs and tables, in document order."""

from __future__ import annotations

import io

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from core.documents.document import DocumentError

BLOCK_SEPARATOR = "\n\n"  # Word paragraphs become Markdown-like paragraphs (blank line between)


def _table_text(table: Table) -> str:
    """One line per row, cells separated by tabs; a merged cell is written once."""
    lines = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # python-docx repeats a merged cell once per grid column it spans
                continue
            seen.add(id(cell._tc))
            cells.append(cell.text)
        lines.append("\t".join(cells))
    return "\n".join(lines)


def read_docx(data: bytes, name: str) -> tuple[str, tuple[str, ...]]:
    """Extract paragraphs and tables; raise DocumentError when the file is not a readable .docx."""
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except Exception as error:  # python-docx raises zip, XML and KeyError types on broken files
        raise DocumentError(
            f"{name} could not be opened as a Word document ({type(error).__name__}: {error}): it may be "
            "damaged, or an old .doc renamed; open it in Word or LibreOffice and save it as .docx."
        ) from error
    texts: list[str] = []
    paragraphs = tables = 0
    for block in blocks:
        if isinstance(block, Paragraph):
            paragraphs += 1
            texts.append(block.text)
        elif isinstance(block, Table):
            tables += 1
            texts.append(_table_text(block))
    text = BLOCK_SEPARATOR.join(t for t in texts if t.strip())
    return text, (f"Word: {paragraphs} paragraphs, {tables} tables",)
