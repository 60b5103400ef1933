"""The Split page, run headless with Streamlit's AppTest on the built-in guide."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "1_Split.py")


@pytest.fixture
def app() -> AppTest:
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(PAGE, default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_first_start_splits_the_built_in_guide(app):
    assert any("ChunkTune guide" in m.value and "tokens" in m.value for m in app.markdown)
    assert int(metric(app, "Examples").replace(",", "")) > 1
    assert metric(app, "Coverage") == "100.0%"
    assert len(app.get("plotly_chart")) >= 1
    # The text view sends only a page of text, with example markers and hover titles.
    page_html = app.get("html")[0].proto.body
    assert 'class="ct-mark"' in page_html and "example #1" in page_html
    assert len(page_html) < 60_000


def test_switching_strategy_changes_the_split_without_errors(app):
    counts = {}
    for name in ("truncation", "sliding", "blocks", "boundary"):
        app.segmented_control(key="strategy_choice").set_value(name).run()
        assert not app.exception, app.exception
        counts[name] = int(metric(app, "Examples").replace(",", ""))
        assert app.session_state["split_params"].strategy == name
    assert counts["truncation"] == 1 and counts["blocks"] > 1
    app.segmented_control(key="strategy_choice").set_value("truncation").run()
    assert float(metric(app, "Coverage").rstrip("%")) < 100
    assert int(metric(app, "Dropped tokens").replace(",", "")) > 0


def test_overlap_and_window_controls_resplit_and_feed_the_estimate_page(app):
    app.segmented_control(key="strategy_choice").set_value("sliding").run()
    app.number_input[0].set_value(256).run()
    before = int(metric(app, "Examples").replace(",", ""))
    app.slider[0].set_value(128).run()
    assert not app.exception
    after = int(metric(app, "Examples").replace(",", ""))
    assert after > before  # half the step, about twice the windows
    summary = app.session_state["split_summary"]
    assert summary["window"] == 256 and set(summary["strategies"]) == {
        "truncation",
        "sliding",
        "blocks",
        "boundary",
    }


def test_example_navigation_and_token_inspector(app):
    next_button = next(b for b in app.button if b.label == "Next ▶")
    next_button.click().run()
    assert app.session_state["example_number"] == 2
    tokens = app.dataframe[0].value
    assert {"id", "token", "text", "kind", "label"} <= set(tokens.columns)
    assert (tokens["label"] == "trained").any()


def test_bad_model_says_what_to_do(app):
    app.sidebar.text_input[1].set_value("/no/such/model-folder").run()
    assert any("does not exist" in e.value or "not available offline" in e.value for e in app.error)


def test_pasted_text_replaces_the_documents(app):
    app.sidebar.text_area[0].set_value("One short pasted paragraph. " * 50).run()
    next(b for b in app.sidebar.button if b.label == "Use pasted text").click().run()
    assert not app.exception
    assert any("pasted" in m.value for m in app.markdown)
