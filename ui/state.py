"""What the pages share: the chosen documents, model and split, and the expensive objects cached once.

Session keys (all optional; these accessors fill the defaults):
- "documents": list[core.documents.Document]  (the built-in guide until the user gives files)
- "model_spec": str ("default", a model folder or a cached Hub id); "trust_remote_code": bool
- "split_params": core.strategies.SplitParams (the Split page's current choice)
- "split_summary": dict for the Estimate page (see `summarize_split`)
"""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from core.documents import Document, sample_document
from core.models import (
    DEFAULT_MODEL,
    default_model_dir,
    is_converted,
    is_default,
    load_tokenizer,
    model_context_length,
    prepare_default_model,
)
from core.strategies import STRATEGY_NAMES, SplitParams, split, split_statistics
from core.tokenization import TokenizedCorpus, tokenize_corpus


def documents() -> list[Document]:
    if not st.session_state.get("documents"):
        st.session_state["documents"] = [sample_document()]
    return st.session_state["documents"]


def set_documents(new: list[Document]) -> None:
    st.session_state["documents"] = new
    st.session_state.pop("example_number", None)


def documents_key(docs: list[Document]) -> str:
    """A content hash: the corpus cache key (hashing once here beats Streamlit hashing megabytes per rerun)."""
    digest = hashlib.blake2b(digest_size=16)
    for document in docs:
        digest.update(document.name.encode())
        digest.update(b"\0")
        digest.update(document.text.encode("utf-8", "surrogatepass"))
        digest.update(b"\1")
    return digest.hexdigest()


def model_spec() -> str:
    return st.session_state.get("model_spec") or DEFAULT_MODEL


def trust_remote_code() -> bool:
    return bool(st.session_state.get("trust_remote_code", False))


def ensure_default_model(spec: str) -> None:
    """The one-time GGUF -> safetensors conversion of the built-in model, with its progress shown."""
    if not is_default(spec) or is_converted(default_model_dir()):
        return
    with st.status("Preparing the built-in model once (about 20 s)…", expanded=True) as status:
        prepare_default_model(progress=status.write)
        status.update(label="Built-in model ready", state="complete", expanded=False)


@st.cache_resource(show_spinner=False)
def _tokenizer(spec: str, trust: bool) -> Any:
    return load_tokenizer(spec, trust)


def cached_tokenizer(spec: str, trust: bool) -> Any:
    """The tokenizer, loaded once per process; the built-in model is converted first if it never was."""
    ensure_default_model(spec)
    return _tokenizer(spec, trust)


@st.cache_resource(show_spinner=False)
def cached_context_length(spec: str) -> int:
    return model_context_length(spec)


@st.cache_resource(show_spinner=False, max_entries=4)
def _corpus_store() -> dict[tuple[str, str, bool], TokenizedCorpus]:
    return {}


def corpus(docs: list[Document] | None = None, spec: str | None = None) -> TokenizedCorpus:
    """The tokenized corpus for the current documents and model, tokenized once (cached across reruns)."""
    docs = docs if docs is not None else documents()
    spec = spec or model_spec()
    trust = trust_remote_code()
    key = (documents_key(docs), spec, trust)
    store = _corpus_store()
    if key not in store:
        tokenizer = cached_tokenizer(spec, trust)
        bar = st.progress(0.0, text="Tokenizing…") if sum(len(d.text) for d in docs) > 200_000 else None
        progress = (lambda fraction, message: bar.progress(min(fraction, 1.0), text=message)) if bar else None
        while len(store) >= 4:  # keep a few corpora, drop the oldest
            store.pop(next(iter(store)))
        store[key] = tokenize_corpus(tokenizer, docs, progress)
        if bar:
            bar.empty()
    return store[key]


def split_params() -> SplitParams:
    params = st.session_state.get("split_params")
    if params is None:
        params = SplitParams(
            strategy="sliding", window=min(2048, cached_context_length(model_spec())), overlap=0
        )
        st.session_state["split_params"] = params
    return params


def summarize_split(corpus_: TokenizedCorpus, params: SplitParams) -> dict[str, Any]:
    """Every strategy's statistics at the current window, for the Estimate and Guide pages."""
    per_strategy = {}
    memo = corpus_._cache.setdefault("strategy_statistics", {})  # a slider move recomputes only what changed
    for name in STRATEGY_NAMES:
        variant = SplitParams(**{**params.__dict__, "strategy": name})
        if variant not in memo:
            if len(memo) > 64:
                memo.clear()
            memo[variant] = split_statistics(split(corpus_, variant))
        per_strategy[name] = memo[variant]
    return {
        "model": model_spec(),
        "window": params.window,
        "num_chars": len(corpus_.text),
        "num_tokens": corpus_.num_tokens,
        "strategy": params.strategy,
        "strategies": per_strategy,
    }
