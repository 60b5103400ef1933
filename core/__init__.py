"""ChunkTune core: pure Python (no streamlit). See `python -m core --help`."""
