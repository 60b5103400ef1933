"""Split: how the documents become training examples under each strategy, drawn over the text."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.chunk_map import overview, page_around, page_segments
from core.documents import DocumentError, load_documents, load_pasted, sample_document
from core.examples import export_bytes
from core.models import ModelLoadError, display_name
from core.strategies import STRATEGIES, STRATEGY_NAMES, SplitError, SplitParams, split, split_statistics
from ui import state
from ui.charts import comparison_frame, overview_strip, token_histogram
from ui.text_view import render_page

st.title("Split")
st.caption(
    "How a long document becomes training examples. Tokenized once; every control below re-splits instantly."
)


# --- documents and model (sidebar) ------------------------------------------------------------------------
def _load_uploads(files: list, text_column: str | None) -> None:
    progress = st.progress(0.0, text="Reading documents…")
    try:
        docs = load_documents(
            files,
            text_column=text_column or None,
            progress=lambda fraction, message: progress.progress(min(max(fraction, 0.0), 1.0), text=message),
        )
    except DocumentError as error:
        st.session_state["document_error"] = str(error)  # the previous documents stay as they were
    else:
        state.set_documents(docs)
        st.session_state.pop("document_error", None)
    finally:
        progress.empty()


with st.sidebar:
    st.subheader("Documents")
    uploads = st.file_uploader(
        "Upload documents",
        type=["txt", "md", "pdf", "docx", "html", "htm", "jsonl", "json", "csv", "tsv"],
        accept_multiple_files=True,
        help="Several files form a corpus: each stays a separate document.",
    )
    text_column = st.text_input("Text column (CSV/JSONL)", value="", placeholder="detected when empty")
    upload_key = (*((f.name, f.size) for f in uploads or []), text_column)
    if uploads and st.session_state.get("upload_key") != upload_key:
        st.session_state["upload_key"] = upload_key
        _load_uploads(uploads, text_column)
    with st.expander("Paste text"):
        pasted = st.text_area("Text", height=140, label_visibility="collapsed")
        if st.button("Use pasted text", disabled=not pasted.strip()):
            try:
                state.set_documents([load_pasted(pasted)])
                st.session_state.pop("document_error", None)
            except DocumentError as error:
                st.session_state["document_error"] = str(error)
    if st.button("Use the built-in guide", help="ChunkTune's own guide to context windows, ~15k tokens"):
        state.set_documents([sample_document()])
        st.session_state.pop("upload_key", None)

    st.subheader("Model")
    model_input = st.text_input(
        "Tokenizer / model",
        value=st.session_state.get("model_spec", "default"),
        help="'default' is the built-in SmolLM2-135M-Instruct. A local model folder or a Hugging Face id "
        "already in the local cache works too (nothing is downloaded).",
    )
    trust = st.checkbox(
        "Trust remote code",
        value=state.trust_remote_code(),
        help="Runs Python code shipped with the model. Leave off unless you trust its source.",
    )
    if model_input.strip() != state.model_spec() or trust != state.trust_remote_code():
        st.session_state["model_spec"] = model_input.strip() or "default"
        st.session_state["trust_remote_code"] = trust
        st.session_state.pop("split_params", None)

if error := st.session_state.get("document_error"):
    st.error(error, icon=":material/description:")

docs = state.documents()
try:
    with st.spinner(f"Loading {display_name(state.model_spec())}…"):
        tokenizer = state.cached_tokenizer(state.model_spec(), state.trust_remote_code())
        context_length = state.cached_context_length(state.model_spec())
    corpus = state.corpus(docs)
except ModelLoadError as error:
    st.error(str(error), icon=":material/error:")
    st.info("Type `default` in the sidebar's model box to go back to the built-in model.")
    st.stop()

names = ", ".join(d.name for d in docs[:3]) + (f" and {len(docs) - 3} more" if len(docs) > 3 else "")
st.markdown(
    f"**{names}** · {len(docs)} document{'s' if len(docs) != 1 else ''} · {len(corpus.text):,} characters · "
    f"**{corpus.num_tokens:,} tokens** with {display_name(state.model_spec())} "
    f"(context {context_length:,}, {len(corpus.text) / max(corpus.num_tokens, 1):.2f} characters per token)"
)
notes = sorted({note for d in docs for note in d.notes})
if notes:
    st.caption(" · ".join(notes[:6]))

# --- strategy and parameters ------------------------------------------------------------------------------
current = state.split_params()
titles = {name: STRATEGIES[name].title for name in STRATEGY_NAMES}
strategy = st.segmented_control(
    "Strategy",
    STRATEGY_NAMES,
    format_func=titles.get,
    default=current.strategy,
    key="strategy_choice",
)
strategy = strategy or current.strategy
st.caption(STRATEGIES[strategy].summary)

specials = corpus.special.count
columns = st.columns([1.2, 1.6, 1, 1])
window = columns[0].number_input(
    "Window W (tokens)",
    min_value=16,
    max_value=1_048_576,
    value=int(current.window),
    step=64,
    help="Tokens per example, special tokens included. Defaults to the model's context, capped at 2,048; "
    "set 2,048 to mimic Phi-2.",
)
if window > context_length:
    st.warning(
        f"W = {window:,} exceeds the model's context of {context_length:,} tokens: it could not train on that."
    )
overlap, keep_end, mask_overlap, remainder = 0, False, False, current.remainder
if strategy in ("sliding", "boundary"):
    room = max(1, int(window) - specials - 1)
    overlap = columns[1].slider(
        "Overlap (tokens)" if strategy == "sliding" else "Overlap budget (whole sentences)",
        0,
        room,
        min(int(current.overlap), room),
        help="Tokens each example shares with the previous one. The step between window starts is "
        "W − overlap. (HF tokenizers call the overlap 'stride'; the HF perplexity guide calls the step "
        "'stride'. ChunkTune says overlap and step.)",
    )
    if strategy == "sliding":
        columns[1].caption(f"step = W − overlap = {int(window) - specials - overlap:,} tokens")
        mask_overlap = columns[2].toggle(
            "Overlap as context", value=current.mask_overlap, help="Labels of the re-read tokens are -100."
        )
elif strategy == "truncation":
    keep_end = columns[1].toggle(
        "Keep the end", value=current.keep_end, help="Keep the last W tokens instead."
    )
elif strategy == "blocks":
    remainder = columns[1].radio(
        "Last partial block",
        ("keep", "pad", "drop"),
        index=("keep", "pad", "drop").index(current.remainder),
        horizontal=True,
    )
batch_size = columns[3].number_input(
    "Examples per step",
    min_value=1,
    max_value=4096,
    value=int(current.batch_size),
    help="Micro-batch × gradient accumulation × GPUs: sets steps per epoch.",
)

try:
    params = SplitParams(
        strategy=strategy,
        window=int(window),
        overlap=int(overlap),
        keep_end=keep_end,
        mask_overlap=mask_overlap,
        remainder=remainder,
        batch_size=int(batch_size),
    )
    result = split(corpus, params)
except SplitError as error:
    st.error(str(error))
    st.stop()
st.session_state["split_params"] = params
stats = split_statistics(result)
summary = state.summarize_split(corpus, params)
st.session_state["split_summary"] = summary

metrics = st.columns(7)
metrics[0].metric("Examples", f"{stats['examples']:,}")
metrics[1].metric(
    "Tokens trained", f"{stats['tokens_trained']:,}", help="Label positions trained, duplicates included"
)
metrics[2].metric(
    "Coverage", f"{stats['coverage']:.1%}", help="Share of the document's tokens in some example"
)
metrics[3].metric("Dropped tokens", f"{stats['dropped_tokens']:,}")
metrics[4].metric(
    "Duplication", f"×{stats['duplication']:.2f}", help="Tokens in examples ÷ distinct tokens covered"
)
metrics[5].metric(
    "Padding to W", f"{stats['padding_tokens']:,}", help="Pad tokens if every example is padded to W"
)
metrics[6].metric("Steps / epoch", f"{stats['steps_per_epoch']:,}")
for note in result.notes:
    st.caption(f":material/info: {note}")
if stats["examples"] == 0:
    st.warning("This split yields no examples. Change the remainder, the window or the documents.")
    st.stop()

# --- where the examples fall ------------------------------------------------------------------------------
count = len(result)
# The example shown is 1-based in the widget ("example_number"); clamp it when a re-split has fewer examples.
if st.session_state.get("example_number", 1) > count:
    st.session_state["example_number"] = count


def _step(delta: int) -> None:
    st.session_state["example_number"] = min(max(st.session_state.get("example_number", 1) + delta, 1), count)


nav = st.columns([1, 1, 5])
nav[0].button(
    "◀ Previous", on_click=_step, args=(-1,), disabled=st.session_state.get("example_number", 1) <= 1
)
nav[1].button(
    "Next ▶", on_click=_step, args=(1,), disabled=st.session_state.get("example_number", 1) >= count
)
if count > 1:
    nav[2].slider("Example", 1, count, key="example_number")
selected = int(st.session_state.get("example_number", 1)) - 1
st.plotly_chart(overview_strip(overview(result), selected), config={"displayModeBar": False}, key="overview")
st.caption("Blue and amber: alternate examples · violet: in two or more examples · grey: in no example.")
chunk = result.chunk(selected)

text_tab, token_tab, histogram_tab, compare_tab, export_tab = st.tabs(
    ["Text", f"Tokens of example #{selected + 1}", "Tokens per example", "Compare strategies", "Export"]
)
with text_tab:
    lo, hi = page_around(result, selected)
    st.html(render_page(result, page_segments(result, lo, hi), selected, lo, hi))
    st.caption(
        f"Example #{selected + 1} of {count:,}: tokens {chunk.token_start:,}–{chunk.token_end:,}, characters "
        f"{chunk.char_start:,}–{chunk.char_end:,} of {chunk.source}; {chunk.num_tokens:,} tokens"
        + (f" + {chunk.padding_tokens} padding" if chunk.padding_tokens else "")
        + (f", first {chunk.context_tokens} context only" if chunk.context_tokens else "")
        + ". Hover the text for details."
    )

with token_tab:
    ids = result.example_ids(selected)
    labels = result.example_labels(selected)
    special_ids = set(tokenizer.all_special_ids)
    pieces = tokenizer.convert_ids_to_tokens(ids.tolist())
    kinds = []
    for position, token in enumerate(ids.tolist()):
        if position >= len(ids) - chunk.padding_tokens:
            kinds.append("padding")
        elif token in special_ids:
            kinds.append("special")
        else:
            kinds.append("text")
    frame = pd.DataFrame(
        {
            "id": ids,
            "token": pieces,
            "text": [tokenizer.decode([t]) for t in ids.tolist()],
            "kind": kinds,
            "label": ["masked (-100)" if label == -100 else "trained" for label in labels.tolist()],
        }
    )
    st.caption(
        f"{len(frame):,} positions: {kinds.count('text'):,} text, {kinds.count('special')} special, "
        f"{kinds.count('padding')} padding; {int((labels != -100).sum()):,} labels trained."
    )
    st.dataframe(frame, height=380, width="stretch")

with histogram_tab:
    st.plotly_chart(token_histogram(result), config={"displayModeBar": False}, key="histogram")

with compare_tab:
    st.table(comparison_frame(summary))
    st.caption(f"All four strategies on the same {corpus.num_tokens:,} tokens at W = {params.window:,}.")

with export_tab:
    st.write(
        "Every example with `text`, `input_ids`, `labels` (-100 where masked or padded), `attention_mask`, "
        "`char_start`, `char_end` and `source`; loads with `datasets.load_dataset('json' | 'parquet', ...)`."
    )
    stem = f"chunktune-{params.strategy}-W{params.window}"
    left, right = st.columns(2)
    left.download_button(
        "Download JSONL",
        lambda: export_bytes(result, "jsonl", tokenizer),
        f"{stem}.jsonl",
        "application/jsonl",
    )
    right.download_button(
        "Download Parquet",
        lambda: export_bytes(result, "parquet", tokenizer),
        f"{stem}.parquet",
        "application/vnd.apache.parquet",
    )
