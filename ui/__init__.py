"""Streamlit-side helpers shared by the pages (state and cached loaders). `core/` never imports this."""
