"""Bytes to text: byte-order marks, binary files caught early, UTF-8 first, then charset-normalizer."""

from __future__ import annotations

import charset_normalizer

from core.documents.document import DocumentError

# Byte-order marks, longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)

# File signatures (magic numbers) of formats people upload by mistake, and the advice for each.
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "ChunkTune needs text: run OCR on the image or paste its text."),
    (b"\xff\xd8\xff", "a JPEG image", "ChunkTune needs text: run OCR on the image or paste its text."),
    (b"GIF8", "a GIF image", "ChunkTune needs text: run OCR on the image or paste its text."),
    (b"%PDF-", "a PDF", "rename it so that its name ends in .pdf."),
    (
        b"PK\x03\x04",
        "a ZIP archive (perhaps .docx, .xlsx or .epub)",
        "give it its real extension (.docx is read), or unzip it.",
    ),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office file (.doc, .xls)", "save it as .docx or PDF first."),
    (b"\x1f\x8b", "a gzip archive", "decompress it first."),
    (b"\x7fELF", "a program (ELF binary)", "upload the document itself."),
)

_SNIFF_BYTES = 8192  # NUL bytes in the first 8 KiB mark a binary file (the rule `file` and git use)


def decode_text(data: bytes, name: str) -> tuple[str, tuple[str, ...]]:
    """Decode `data`, returning the text and notes on any encoding that had to be assumed."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as error:
                raise DocumentError(
                    f"{name} starts with a {encoding} byte-order mark but is not valid {encoding} "
                    f"({error.reason} at byte {error.start}): save it again as UTF-8."
                ) from error
            note = () if encoding == "utf-8" else (f"encoding: {encoding} (from its byte-order mark)",)
            return text, note
    refuse_binary(data, name)
    try:
        return data.decode("utf-8"), ()
    except UnicodeDecodeError:
        pass
    match = charset_normalizer.from_bytes(data).best()
    if match is None:
        raise DocumentError(
            f"{name} is not UTF-8 and no other text encoding fits it: open it in an editor and save it "
            "as UTF-8, or paste the text."
        )
    return str(match), (
        f"encoding detected as {match.encoding} (assumed): not UTF-8; if letters look wrong, save the file as UTF-8",
    )


def refuse_binary(data: bytes, name: str) -> None:
    """Raise DocumentError when `data` is a known binary format or holds NUL bytes."""
    for magic, what, advice in _MAGIC:
        if data.startswith(magic):
            raise DocumentError(f"{name} looks like {what}, not text: {advice}")
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise DocumentError(
            f"{name} looks like a binary file, not text (it contains NUL bytes): upload a text, "
            "Markdown, PDF, Word, HTML, CSV or JSONL file."
        )
