"""ChunkTune core: pure Python (no streamlit). See `python -m core --help`."""

import os

# Nothing may download weights or data at run time: the Hub libraries stay offline unless the user says otherwise.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
