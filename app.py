"""ChunkTune: `streamlit run app.py` (or `make run`). Builds the navigation over pages/."""

import streamlit as st

st.set_page_config(page_title="ChunkTune", page_icon="✂️", layout="wide")

PAGES = [
    st.Page("pages/1_Split.py", title="Split", icon="✂️", url_path="split", default=True),
    st.Page("pages/2_Estimate.py", title="Estimate", icon="🧮", url_path="estimate"),
    st.Page("pages/3_Train.py", title="Train", icon="📉", url_path="train"),
    st.Page("pages/4_Guide.py", title="Guide", icon="📖", url_path="guide"),
]

st.navigation(PAGES).run()
