"""HTML to plain text with the standard library: no scripts or styles, blocks on their own lines."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_DROPPED = {"script", "style", "noscript", "template", "svg", "head"}  # content never shown as text
_PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "table", "ul", "ol", "dl",
               "figure", "section", "article", "header", "footer", "main", "nav", "aside", "hr"}  # fmt: skip
_LINES = {"br", "div", "li", "tr", "dt", "dd", "caption", "figcaption", "address", "form"}
_CELLS = {"td", "th"}
_SPACES = re.compile(r"[ \t\n\r\f]+")  # HTML whitespace; a no-break space (U+00A0) stays


class _TextExtractor(HTMLParser):
    """Collects visible text; block elements request line breaks, inline whitespace collapses as browsers do."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities (&amp; &eacute; &#8217;) arrive unescaped
        self.parts: list[str] = []
        self.pending_newlines = 0  # the largest break requested since the last text
        self.dropped_depth = 0
        self.pre_depth = 0
        self.first_cell = True

    def _request_break(self, newlines: int) -> None:
        self.pending_newlines = max(self.pending_newlines, newlines)

    def _emit(self, text: str) -> None:
        if self.pending_newlines and self.parts:
            self.parts[-1] = self.parts[-1].rstrip(" ")
            self.parts.append("\n" * self.pending_newlines)
        self.pending_newlines = 0
        self.parts.append(text)

    def _after_break_or_space(self) -> bool:
        return not self.parts or self.pending_newlines > 0 or self.parts[-1].endswith(("\n", " ", "\t"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self.dropped_depth += 1
            return
        if tag == "pre":
            self.pre_depth += 1
        if tag in _PARAGRAPHS:
            self._request_break(2)
        elif tag in _LINES:
            self._request_break(1)
        if tag == "tr":
            self.first_cell = True
        elif tag in _CELLS:
            if not self.first_cell and self.dropped_depth == 0:
                self._emit("\t")
            self.first_cell = False

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self.dropped_depth = max(0, self.dropped_depth - 1)
            return
        if tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
        if tag in _PARAGRAPHS:
            self._request_break(2)
        elif tag in _LINES and tag != "br":
            self._request_break(1)

    def handle_data(self, data: str) -> None:
        if self.dropped_depth:
            return
        if self.pre_depth:  # preformatted text keeps its whitespace
            self._emit(data)
            return
        text = _SPACES.sub(" ", data)
        if self._after_break_or_space():
            text = text.lstrip(" ")
        if text:
            self._emit(text)


def html_to_text(html: str) -> str:
    """The visible text of an HTML page, paragraphs separated by a blank line."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return "".join(extractor.parts).strip()
