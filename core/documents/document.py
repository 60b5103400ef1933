"""What a loaded document is, the error bad input raises, and the text clean-up every format shares."""

from __future__ import annotations

from dataclasses import dataclass


class DocumentError(ValueError):
    """A document cannot be used; the message says what is wrong and what to do about it."""


@dataclass(frozen=True)
class Document:
    """One document's text, exactly as it will be tokenized (character offsets point into `text`)."""

    name: str  # shown to the user: a file name, "file.csv [row 3]", "pasted", ...
    text: str  # newlines normalised to "\n", no BOM; otherwise kept as read
    source: str  # the file it came from, or "pasted" / "sample"
    notes: tuple[str, ...] = ()  # remarks for the user, e.g. "encoding detected as cp1252 (assumed)"

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise TypeError(f"Document.text must be str, got {type(self.text).__name__}")
        # Accept a list for convenience but store a tuple, so the dataclass stays hashable.
        object.__setattr__(self, "notes", tuple(self.notes))


def normalise_newlines(text: str) -> str:
    """Drop a leading BOM and turn "\\r\\n" and lone "\\r" into "\\n"; nothing else changes."""
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def require_text(text: str, name: str, *, after: str = "") -> str:
    """Return `text`, or raise DocumentError when it holds nothing but whitespace.

    `after` says what was done to the file first (e.g. "after removing tags"), for the message.
    """
    if not text.strip():
        what = "is empty" if not text else "holds only whitespace"
        when = f" {after}" if after else ""
        raise DocumentError(
            f"{name} {what}{when}: there is no text to train on. Check that you picked the right file, "
            "or paste the text instead."
        )
    return text
