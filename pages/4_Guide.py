"""Guide: the built-in guide (docs/guide.md), with figures computed live from the user's own documents."""

from __future__ import annotations

import streamlit as st

from core.documents import sample_document
from core.guide_figures import GuideFigures, guide_figures, memory_paragraph, sections
from core.models import ModelLoadError, display_name
from core.strategies import SplitError
from ui import state

st.title("Guide")
st.caption(
    "Context windows and the four strategies, explained with your own document: the boxes hold figures "
    "computed live from the documents and model chosen on the Split page."
)

try:
    corpus = state.corpus()
    params = state.split_params()
    context = state.cached_context_length(state.model_spec())
    figures: GuideFigures | None = guide_figures(corpus, params, context, display_name(state.model_spec()))
except (ModelLoadError, SplitError) as error:
    st.warning(f"Live figures are unavailable: {error}")
    figures = None


@st.cache_data(show_spinner="Estimating memory…")
def cached_memory_paragraph(spec: str, window: int, model: str) -> str | None:
    try:
        return memory_paragraph(spec, window, model)
    except Exception as error:  # the estimator explains unknown architectures; the guide just goes without
        return f"No memory estimate for this model: {error}"


LINKS = {
    "Truncation": ("pages/1_Split.py", "See it on the Split page"),
    "Sliding window": ("pages/1_Split.py", "See it on the Split page"),
    "Large tokenization (blocks)": ("pages/1_Split.py", "See it on the Split page"),
    "Boundary-aware chunking": ("pages/1_Split.py", "See it on the Split page"),
    "How the choice changes tokens, steps and time": ("pages/2_Estimate.py", "Estimate time and memory"),
    "Memory: why training runs out": ("pages/2_Estimate.py", "Estimate memory for your GPU"),
    "Reading a loss curve": ("pages/3_Train.py", "Train and watch the loss"),
}

guide = sample_document().text
for heading, body in sections(guide):
    st.markdown(body)
    if figures and heading in figures.by_heading:
        st.info(figures.by_heading[heading], icon=":material/insights:")
    if figures and heading == "Memory: why training runs out":
        spec = state.model_spec()
        st.info(cached_memory_paragraph(spec, params.window, display_name(spec)), icon=":material/memory:")
    if heading == "The hackathon story" and st.button(
        "Open the hackathon preset on the Estimate page", type="primary", key="hackathon"
    ):
        st.switch_page("pages/2_Estimate.py", query_params={"preset": "hackathon"})
    if heading in LINKS:
        page, label = LINKS[heading]
        st.page_link(page, label=label, icon=":material/arrow_forward:")
