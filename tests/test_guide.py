"""The Guide: sections of docs/guide.md with live figures from the current documents."""

from __future__ import annotations

import streamlit as st
from streamlit.testing.v1 import AppTest

from core.documents import Document, sample_document
from core.guide_figures import guide_figures, sections
from core.models import load_tokenizer
from core.strategies import SplitParams
from core.tokenization import tokenize_corpus
from tests.conftest import REPO_ROOT


def test_sections_keep_every_character_and_the_stable_headings():
    text = sample_document().text
    parts = sections(text)
    assert "".join(body for _, body in parts) == text
    headings = [heading for heading, _ in parts]
    for needed in (
        "What is a context window?",
        "Truncation",
        "Sliding window",
        "Large tokenization (blocks)",
        "Boundary-aware chunking",
        "Memory: why training runs out",
        "The hackathon story",
        "Glossary",
    ):
        assert needed in headings


def test_figures_follow_the_users_document():
    tokenizer = load_tokenizer("default")
    short = tokenize_corpus(tokenizer, [Document("a.txt", "One sentence. " * 400, "a.txt")])
    long = tokenize_corpus(tokenizer, [Document("b.txt", "Another sentence here. " * 2000, "b.txt")])
    params = SplitParams(strategy="sliding", window=256, overlap=32)
    small, big = guide_figures(short, params, 8192, "M"), guide_figures(long, params, 8192, "M")
    assert f"**{short.num_tokens:,} tokens**" in small.by_heading["What is a token?"]
    assert small.by_heading["Truncation"] != big.by_heading["Truncation"]
    assert "overlap of 32 tokens" in big.by_heading["Sliding window"]


def test_guide_page_renders_with_live_figures_and_the_hackathon_button():
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/4_Guide.py").run()
    assert not at.exception, at.exception
    boxes = [info.value for info in at.info]
    assert any("tokens" in box and "characters per token" in box for box in boxes)
    assert any("LoRA bf16" in box and "GiB" in box for box in boxes)  # memory from the estimator
    assert any(button.label.startswith("Open the hackathon preset") for button in at.button)
    assert any("stride" in m.value.lower() for m in at.markdown)
