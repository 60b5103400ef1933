"""core.documents: every format read from files generated here, and every kind of bad input refused clearly."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import docx
import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from core.documents import (
    DEFAULT_MAX_BYTES,
    MAX_BYTES_ENV,
    Document,
    DocumentError,
    detect_text_column,
    load_document,
    load_documents,
    load_pasted,
    max_upload_bytes,
    sample_document,
)
from core.documents.loading import GUIDE_PATH

PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


def make_pdf(page_texts: list[str | None]) -> bytes:
    """A PDF with one page per entry: a line of Helvetica text, or a blank page (no text layer) for None."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    for text in page_texts:
        page = writer.add_blank_page(612, 792)
        if text is None:
            continue
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode("latin-1"))
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        page.replace_contents(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def only(documents: list[Document]) -> Document:
    assert len(documents) == 1
    return documents[0]


def error_of(*args, **kwargs) -> str:
    with pytest.raises(DocumentError) as caught:
        load_document(*args, **kwargs)
    return str(caught.value)


# --- plain text -------------------------------------------------------------------------------------------


def test_text_keeps_everything_but_newline_style_and_bom(tmp_path: Path) -> None:
    body = "Title\t \n\n\n  indented — ünïcödé e\u0301 🙂\n"
    path = tmp_path / "notes.txt"
    path.write_bytes(("\ufeff" + body.replace("\n", "\r\n") + "old mac\rline").encode("utf-8"))
    document = only(load_document(path))
    assert document.text == body + "old mac\nline"
    assert (document.name, document.source, document.notes) == ("notes.txt", "notes.txt", ())
    assert load_document(path.read_bytes(), "notes.txt") == [document]


@pytest.mark.parametrize("file_name", ["readme.md", "paper.tex", "no_extension"])
def test_markdown_and_unknown_extensions_read_as_text(file_name: str) -> None:
    document = only(load_document(b"# Heading\n\nSome *text*.", file_name))
    assert document.text == "# Heading\n\nSome *text*."
    assert document.name == file_name


def test_name_overrides_display_name_but_not_source(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("hello")
    document = only(load_document(path, "My notes"))
    assert (document.name, document.source) == ("My notes", "a.txt")


@pytest.mark.parametrize("file_name", ["empty.txt", "empty.pdf", "empty.docx", "empty.csv"])
def test_empty_file_is_refused_for_every_format(file_name: str) -> None:
    message = error_of(b"", file_name)
    assert file_name in message and "empty" in message


@pytest.mark.parametrize("file_name", ["blank.txt", "blank.csv", "blank.jsonl"])
def test_whitespace_only_is_refused(file_name: str) -> None:
    message = error_of(b" \r\n\t\n  ", file_name)
    assert "only whitespace" in message and "no text to train on" in message


def test_png_named_txt_is_refused_as_an_image() -> None:
    message = error_of(PNG_HEADER, "photo.txt")
    assert "PNG image" in message and "OCR" in message


def test_nul_bytes_mark_a_binary_file() -> None:
    message = error_of(b"abc\x00\x01\x02" * 10, "data.txt")
    assert "binary" in message and "NUL" in message


def test_legacy_encoding_is_detected_and_noted() -> None:
    text = (
        "Die Gruppe traf sich in Köln. Über das Wochenende übten sie für die Prüfung, "
        "aßen Brötchen und tranken Kaffee. Schöne Grüße an alle, die mitgemacht haben.\n"
    ) * 20
    document = only(load_document(text.encode("cp1252"), "brief.txt"))
    assert "Grüße" in document.text and "Prüfung" in document.text
    assert len(document.text) == len(text)
    assert any("encoding detected as" in note and "assumed" in note for note in document.notes)


def test_utf16_with_bom_is_decoded() -> None:
    document = only(load_document("Zeile eins\r\nZeile zwei".encode("utf-16"), "utf16.txt"))
    assert document.text == "Zeile eins\nZeile zwei"
    assert any("byte-order mark" in note for note in document.notes)


def test_bytes_that_fit_no_encoding_are_refused() -> None:
    message = error_of(bytes(range(1, 256)) * 4, "mystery.txt")
    assert "not UTF-8" in message and "save it as UTF-8" in message


def test_missing_path_is_refused(tmp_path: Path) -> None:
    assert "no file" in error_of(tmp_path / "nope.txt")
    assert "folder" in error_of(tmp_path)


# --- size cap ---------------------------------------------------------------------------------------------


def test_size_cap_is_enforced_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("x" * 3000)
    for source in (path, path.read_bytes()):
        message = error_of(source, "big.txt", max_bytes=2048)
        assert "over the" in message and MAX_BYTES_ENV in message
    assert only(load_document(path, max_bytes=3000)).text == "x" * 3000


def test_size_cap_comes_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAX_BYTES_ENV, raising=False)
    assert max_upload_bytes() == DEFAULT_MAX_BYTES == 200 * 1024 * 1024
    monkeypatch.setenv(MAX_BYTES_ENV, "0.001")  # about 1 KB
    assert max_upload_bytes() == int(0.001 * 1024 * 1024)
    assert "over the" in error_of(b"y" * 2000, "a.txt")
    monkeypatch.setenv(MAX_BYTES_ENV, "lots")
    with pytest.raises(DocumentError, match=MAX_BYTES_ENV):
        max_upload_bytes()


# --- PDF --------------------------------------------------------------------------------------------------


def test_pdf_text_pages_progress_and_notes() -> None:
    calls: list[tuple[float, str]] = []
    data = make_pdf(["First page (intro)", None, "Third page"])
    document = only(load_document(data, "report.pdf", progress=lambda f, m: calls.append((f, m))))
    assert document.text == "First page (intro)\n\n\n\nThird page"
    assert document.notes == ("PDF: 3 pages, 1 page without text",)
    page_calls = [call for call in calls if call[1].startswith("page")]
    assert page_calls == [(1 / 3, "page 1/3"), (2 / 3, "page 2/3"), (1.0, "page 3/3")]
    assert calls[-1][0] == 1.0


def test_pdf_content_wins_over_a_wrong_extension() -> None:
    assert only(load_document(make_pdf(["Hello"]), "report.txt")).text == "Hello"


def test_scanned_pdf_without_text_layer_is_refused() -> None:
    message = error_of(make_pdf([None, None]), "scan.pdf")
    assert "no text layer" in message and "OCR" in message and "2 pages" in message


def test_corrupt_pdf_is_refused() -> None:
    data = make_pdf(["Some text"])
    message = error_of(data[: len(data) // 3], "broken.pdf")
    assert "could not be read as a PDF" in message and "again" in message


def test_password_protected_pdf_is_refused() -> None:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert "password" in error_of(buffer.getvalue(), "locked.pdf")


# --- Word -------------------------------------------------------------------------------------------------


def test_docx_paragraphs_and_tables_in_order(tmp_path: Path) -> None:
    word = docx.Document()
    word.add_heading("Discharge summary", level=1)
    word.add_paragraph("The patient was admitted on Monday.")
    word.add_paragraph("")  # spacing paragraphs carry no text and are left out
    table = word.add_table(rows=2, cols=3)
    for row, values in zip(
        table.rows, [("Drug", "Dose", "Notes"), ("Aspirin", "100 mg", "daily")], strict=True
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    merged = word.add_table(rows=1, cols=2)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "Merged"
    word.add_paragraph("Follow-up in two weeks.")
    path = tmp_path / "summary.docx"
    word.save(str(path))
    document = only(load_document(path))
    assert document.text == (
        "Discharge summary\n\nThe patient was admitted on Monday.\n\n"
        "Drug\tDose\tNotes\nAspirin\t100 mg\tdaily\n\nMerged\n\nFollow-up in two weeks."
    )
    assert document.notes == ("Word: 4 paragraphs, 2 tables",)


def test_corrupt_docx_and_old_doc_are_refused() -> None:
    assert "Word document" in error_of(b"PK\x03\x04 not really a zip", "report.docx")
    assert "save it as .docx" in error_of(b"plain text", "report.docx")
    assert ".doc" in error_of(b"\xd0\xcf\x11\xe0 old office", "report.doc")


# --- HTML -------------------------------------------------------------------------------------------------

HTML_PAGE = """<!doctype html><html><head><title>Ignored title</title>
<style>body { color: red }</style><script>var x = "<p>not text</p>";</script></head>
<body><h1>Caf&eacute; &amp; Bar</h1>
<p>First   paragraph
spread over <b>two</b> lines.</p><p>Second&nbsp;one &lt;tag&gt; &#8217;quoted&#8217;</p>
<ul><li>one</li><li>two</li></ul>
<table><tr><th>Name</th><th>Age</th></tr><tr><td>Ann</td><td>31</td></tr></table>
<pre>  code
    indented</pre>
<div>line<br>break</div><noscript>enable JS</noscript></body></html>"""


def test_html_visible_text_with_block_breaks() -> None:
    document = only(load_document(HTML_PAGE.encode(), "page.html"))
    assert document.text == (
        "Café & Bar\n\nFirst paragraph spread over two lines.\n\nSecond\xa0one <tag> \u2019quoted\u2019\n\n"
        "one\ntwo\n\nName\tAge\nAnn\t31\n\n  code\n    indented\n\nline\nbreak"
    )


def test_html_without_visible_text_is_refused() -> None:
    message = error_of(b"<html><script>alert(1)</script></html>", "app.htm")
    assert "after removing tags" in message


# --- CSV, JSON Lines, JSON --------------------------------------------------------------------------------


def test_csv_one_document_per_row_with_detected_column(tmp_path: Path) -> None:
    long_field = "word " * 40_000  # 200 KB: over the csv module's default 128 KiB field limit
    path = tmp_path / "notes.csv"
    path.write_text(
        'id,title,body\n1,Intro,"Line one\r\nline two, with a comma"\n2,Empty,\n3,Long,' + long_field + "\n",
        encoding="utf-8",
    )
    documents = load_document(path)
    assert [d.name for d in documents] == ["notes.csv [row 1]", "notes.csv [row 3]"]
    assert documents[0].text == "Line one\nline two, with a comma"
    assert documents[1].text == long_field
    assert {d.source for d in documents} == {"notes.csv"}
    assert documents[0].notes == ("3 records, text from column 'body' (detected), 1 with empty text skipped",)


def test_csv_semicolons_are_sniffed_and_longest_column_wins() -> None:
    data = "code;summary;year\nA1;A rather long summary of the first case;2020\nB2;Another summary;2021\n"
    documents = load_document(data.encode(), "cases.csv")
    assert [d.text for d in documents] == ["A rather long summary of the first case", "Another summary"]


def test_tsv_and_explicit_column() -> None:
    documents = load_document(b"question\tanswer\nWhy?\tBecause.\n", "qa.tsv", text_column="question")
    assert [d.text for d in documents] == ["Why?"]
    assert "(chosen)" in documents[0].notes[0]


def test_missing_named_column_lists_the_columns() -> None:
    message = error_of(b"a,b\n1,2\n", "t.csv", text_column="text")
    assert "no column 'text'" in message and "'a', 'b'" in message


def test_jsonl_rows_blank_and_empty_lines() -> None:
    data = '{"id": 1, "content": "alpha"}\n\n{"id": 2, "content": "beta\\r\\nend"}\n{"id": 3}\n'
    documents = load_document(data.encode(), "set.jsonl")
    assert [(d.name, d.text) for d in documents] == [
        ("set.jsonl [line 1]", "alpha"),
        ("set.jsonl [line 3]", "beta\nend"),
    ]
    assert documents[0].notes == (
        "3 records, text from column 'content' (detected), 1 with empty text skipped",
    )


def test_malformed_jsonl_line_is_named() -> None:
    message = error_of(b'{"text": "ok"}\n{"text": "ok"}\n{"text": broken}\n', "bad.jsonl")
    assert "line 3" in message and "not valid JSON" in message


def test_jsonl_line_that_is_not_an_object_is_refused() -> None:
    assert "line 2 is a JSON list" in error_of(b'{"text": "ok"}\n[1, 2]\n', "bad.jsonl")


def test_json_array_in_json_or_jsonl_file() -> None:
    array = json.dumps([{"text": "one"}, {"text": "two"}, "three"]).encode()
    for file_name in ("data.json", "data.jsonl"):
        assert [d.text for d in load_document(array, file_name)] == ["one", "two", "three"]
    assert "not valid JSON" in error_of(b'[{"text": "one"},', "data.json")


def test_table_without_text_column_lists_the_columns() -> None:
    message = error_of(b'{"id": 1, "score": 0.5, "tags": ["a"]}\n', "numbers.jsonl")
    assert "no column holds text" in message and "'id', 'score', 'tags'" in message


def test_text_column_holding_non_text_is_refused() -> None:
    assert "holds a list" in error_of(
        b'{"messages": [{"role": "user"}]}\n', "chat.jsonl", text_column="messages"
    )


def test_detect_text_column() -> None:
    assert detect_text_column([{"id": "1", "Content": "x"}]) == "Content"  # by name, any case
    assert detect_text_column([{"text": 3, "note": "short", "abstract": "much longer text"}]) == "abstract"
    assert detect_text_column([{"a": "xx", "b": "x"}, {"b": "yyyyyy"}]) == "b"  # averaged over all rows
    with pytest.raises(DocumentError, match="'n', 'm'"):
        detect_text_column([{"n": 1, "m": ""}])


# --- several documents, pasted text, the sample --------------------------------------------------------------


class FakeUpload:
    """What Streamlit's UploadedFile offers."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def test_load_documents_keeps_order_and_reports_progress(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("alpha")
    calls: list[float] = []
    documents = load_documents(
        [path, (b"text\nbeta\ngamma\n", "b.csv"), FakeUpload("c.pdf", make_pdf(["delta"]))],
        progress=lambda fraction, message: calls.append(fraction),
    )
    assert [(d.name, d.text) for d in documents] == [
        ("a.md", "alpha"),
        ("b.csv [row 1]", "beta"),
        ("b.csv [row 2]", "gamma"),
        ("c.pdf", "delta"),
    ]
    assert calls == sorted(calls) and calls[-1] == 1.0


def test_load_documents_names_the_bad_file() -> None:
    with pytest.raises(DocumentError, match=r"second\.txt"):
        load_documents([(b"fine", "first.txt"), (PNG_HEADER, "second.txt")])


def test_pasted_text() -> None:
    document = load_pasted("\ufeffone\r\ntwo  \r\n")
    assert (document.name, document.text, document.source) == ("pasted", "one\ntwo  \n", "pasted")
    with pytest.raises(DocumentError, match="pasted text"):
        load_pasted("   \n")


def test_sample_is_the_guide() -> None:
    document = sample_document()
    assert document.source == "sample"
    assert document.text == GUIDE_PATH.read_text(encoding="utf-8").replace("\r\n", "\n")
    for heading in ("## What is a context window?", "## Sliding window", "## Glossary"):
        assert heading in document.text
    assert len(document.text.split()) > 8000  # spans several 2,048-token windows


def test_document_is_frozen_and_stores_notes_as_tuple() -> None:
    document = Document(name="n", text="t", source="s", notes=["a"])  # type: ignore[arg-type]
    assert document.notes == ("a",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        document.text = "changed"  # type: ignore[misc]


# --- the real documents in ../shared/corpora --------------------------------------------------------------


@pytest.fixture(scope="module")
def lecture_notes(shared_corpora: Path) -> tuple[Document, list[tuple[float, str]]]:
    """The 117-page German lecture script, read once (about 3 s), with the progress calls it made."""
    calls: list[tuple[float, str]] = []
    document = only(
        load_document(
            shared_corpora / "geotopo-lecture-notes.pdf", progress=lambda f, m: calls.append((f, m))
        )
    )
    return document, calls


def test_long_pdf_reads_every_page(lecture_notes: tuple[Document, list[tuple[float, str]]]) -> None:
    document, calls = lecture_notes
    assert document.notes[0] == "PDF: 117 pages"
    assert 130_000 < len(document.text) < 145_000
    assert [m for _, m in calls if m.startswith("page")] == [f"page {i}/117" for i in range(1, 118)]


def test_long_pdf_ligatures_are_expanded(lecture_notes: tuple[Document, list[tuple[float, str]]]) -> None:
    document, _ = lecture_notes
    for word in ("Begriff", "Definition", "Topologische", "Fläche"):  # "Begriﬀ", "Deﬁnition" in the PDF
        assert word in document.text
    assert not any(ligature in document.text for ligature in "ﬀﬁﬂﬃﬄ")
    assert any("ligature" in note for note in document.notes)


def test_multicolumn_pdf(shared_corpora: Path) -> None:
    document = only(load_document(shared_corpora / "multicolumn.pdf"))
    assert document.notes[0] == "PDF: 3 pages"
    assert document.text.startswith("Two-Column Document with Lorem Ipsum")
    assert "filled" in document.text


def test_tinyshakespeare_is_read_exactly(shared_corpora: Path) -> None:
    path = shared_corpora / "tinyshakespeare.txt"
    document = only(load_document(path))
    assert len(document.text) == 1_115_394
    assert document.text == path.read_text(encoding="utf-8")
    assert document.text.startswith("First Citizen:\n")
