"""ChunkTune: `streamlit run app.py` (or `make run`). Builds the navigation over pages/."""

from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent
# A local favicon: a Material icon here would be fetched from a font CDN, and this app runs offline.
st.set_page_config(page_title="ChunkTune", page_icon=str(HERE / "ui" / "icon.png"), layout="wide")

PAGES = [
    ("pages/1_Split.py", "Split", ":material/content_cut:", "split"),
    ("pages/2_Estimate.py", "Estimate", ":material/calculate:", "estimate"),
    ("pages/3_Train.py", "Train", ":material/show_chart:", "train"),
    ("pages/4_Guide.py", "Guide", ":material/menu_book:", "guide"),
]

st.navigation(
    [
        st.Page(path, title=title, icon=icon, url_path=url, default=url == "split")
        for path, title, icon, url in PAGES
        if (HERE / path).is_file()
    ]
).run()
