"""Live figures for the Guide: the guide's general points, measured on the user's own documents and model.

`sections(markdown)` cuts the guide at its `## ` headings; `guide_figures(...)` returns one short paragraph
per heading it has something to say about, computed with the same strategies the Split page uses.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from core.strategies import STRATEGY_NAMES, SplitParams, split
from core.strategies.blocks import document_stream
from core.strategies.statistics import split_statistics
from core.tokenization import TokenizedCorpus

_H2 = re.compile(r"^## (.+)$", re.MULTILINE)


def sections(markdown: str) -> list[tuple[str, str]]:
    """[(heading, markdown of the section including its heading line)]; the preamble has heading ""."""
    found = list(_H2.finditer(markdown))
    if not found:
        return [("", markdown)]
    parts = [("", markdown[: found[0].start()])] if found[0].start() > 0 else []
    for match, following in zip(found, [*found[1:], None], strict=False):
        end = following.start() if following else len(markdown)
        parts.append((match.group(1).strip(), markdown[match.start() : end]))
    return parts


@dataclass(frozen=True)
class GuideFigures:
    """One paragraph of live figures per guide heading."""

    by_heading: dict[str, str] = field(default_factory=dict)


def guide_figures(corpus: TokenizedCorpus, params: SplitParams, context: int, model: str) -> GuideFigures:
    window = params.window
    n = corpus.num_tokens
    # The guide explains overlap with the user's own overlap, or W/8 when none is set.
    overlap = params.overlap if params.overlap else max(1, window // 8)
    stats, results = {}, {}
    for name in STRATEGY_NAMES:
        chosen = overlap if name in ("sliding", "boundary") else 0
        variant = SplitParams(
            strategy=name,
            window=window,
            overlap=min(chosen, window - corpus.special.count - 1),
            remainder=params.remainder,
            keep_end=params.keep_end,
            batch_size=params.batch_size,
        )
        results[name] = split(corpus, variant)
        stats[name] = split_statistics(results[name])
    chars = len(corpus.text)
    special = corpus.special
    trunc, slide, blocks, boundary = (stats[name] for name in STRATEGY_NAMES)
    last_block = document_stream(corpus)[0].shape[0] % window or window  # tokens in the final block
    lines = {
        "What is a token?": (
            f"Your documents: {chars:,} characters became **{n:,} tokens** with {model}, "
            f"{chars / max(n, 1):.2f} characters per token."
        ),
        "What is a context window?": (
            f"{model} was trained for **{context:,} tokens** of context. The Split page uses W = **{window:,}**."
        ),
        "Why a long document does not fit": (
            f"Your {n:,} tokens are **{n / window:.1f}×** the window of {window:,}: seeing all of it takes at least "
            f"**{math.ceil(n / window):,}** examples."
        ),
        "Truncation": (
            f"On your documents, truncation at W = {window:,} keeps **{n - trunc['dropped_tokens']:,} tokens "
            f"({trunc['coverage']:.1%})** and drops **{trunc['dropped_tokens']:,}** that the model never sees."
        ),
        "Sliding window": (
            f"With an overlap of {overlap:,} tokens (a step of {window - special.count - overlap:,}) your documents "
            f"become **{slide['examples']:,} windows**; {slide['duplicated_tokens']:,} tokens are read twice "
            f"(duplication ×{slide['duplication']:.2f}). As context (labels masked) they would cost compute but "
            "not be trained twice."
        ),
        "Large tokenization (blocks)": (
            f"Joined with EOS and cut every {window:,} tokens, your documents make **{blocks['examples']:,} blocks**; "
            f"the last one holds {last_block:,} tokens and is "
            f"{ {'keep': 'kept short', 'pad': 'padded to W', 'drop': 'dropped'}[params.remainder] }. "
            f"{blocks['cuts_inside_sentence']:,} block boundaries fall inside a sentence."
        ),
        "Boundary-aware chunking": (
            f"Boundary-aware chunking makes **{boundary['examples']:,} chunks** with "
            f"{boundary['cuts_inside_sentence']:,} cuts inside a sentence (the sliding window has "
            f"{slide['cuts_inside_sentence']:,}); the price is {boundary['padding_tokens']:,} padding tokens if "
            f"every chunk is padded to W ({boundary['padding_share']:.1%})."
        ),
        "Special tokens: BOS, EOS and PAD": (
            f"{model}'s post-processor adds {special.count} special token(s) to each sequence"
            + (
                f" (prefix ids {list(special.prefix)}, suffix ids {list(special.suffix)})"
                if special.count
                else ""
            )
            + f"; its EOS id is {special.eos_id} and padding uses id {special.pad_id}."
        ),
        "Padding and packing": (
            "Padding every example to W would add: "
            + ", ".join(
                f"{name} {stats[name]['padding_tokens']:,} ({stats[name]['padding_share']:.1%})"
                for name in STRATEGY_NAMES
            )
            + "."
        ),
        "How the choice changes tokens, steps and time": (
            f"Tokens trained per epoch at W = {window:,}: "
            + ", ".join(f"{name} {stats[name]['tokens_trained']:,}" for name in STRATEGY_NAMES)
            + f". At {params.batch_size} example(s) per step that is "
            + ", ".join(f"{stats[name]['steps_per_epoch']:,}" for name in STRATEGY_NAMES)
            + " steps."
        ),
    }
    return GuideFigures(by_heading=lines)


def memory_paragraph(spec: str, window: int, model: str) -> str:
    """GPU memory for full fine-tuning, LoRA and QLoRA of the user's model at the user's window, from the
    same estimator as the Estimate page (one sequence per step, no gradient checkpointing)."""
    from core.estimate.architecture import load_architecture
    from core.estimate.memory import estimate_memory
    from core.estimate.plan import TrainingPlan

    architecture = load_architecture(spec)
    gib = 2**30
    totals = {}
    for label, method, dtype in (
        ("full fp32", "full", "fp32"),
        ("LoRA bf16", "lora", "bf16"),
        ("QLoRA", "qlora", "bf16"),
    ):
        estimate = estimate_memory(architecture, TrainingPlan(method=method, dtype=dtype, seq_len=window))
        totals[label] = estimate.reserved_bytes / gib
    text = (
        f"For {model} at W = {window:,}, one sequence per step, AdamW: "
        + ", ".join(f"{label} **{value:.1f} GiB**" for label, value in totals.items())
        + " on the GPU (what nvidia-smi would show)."
    )
    if totals["QLoRA"] >= totals["LoRA bf16"]:
        text += (
            " QLoRA does not save memory here: on a small model the 4-bit weights save little, peft's k-bit "
            "preparation keeps embeddings, norms and the output layer in fp32, and the activations and logits, "
            "which QLoRA does not shrink, dominate."
        )
    return text
