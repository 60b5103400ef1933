"""Preset scenarios, and the split summary the Estimate page starts from.

The hackathon preset is the story of DEVELOPERS.md: a team fine-tuned microsoft/phi-2 (2,048-token
context) on 1.8 MB of text with two 24 GB GPUs and ran out of memory. Their run is taken to be what HF
Trainer does when nobody changes its defaults: full fine-tuning, fp32 weights (no --bf16), AdamW,
per_device_train_batch_size 8, DDP (one full replica per GPU).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core.estimate.plan import TrainingPlan

# English prose with a GPT-2-style BPE (phi-2's tokenizer) averages about 4 characters per token; the page
# uses the loaded document's own ratio when the Split page has measured one.
DEFAULT_CHARS_PER_TOKEN = 4.0


@dataclass(frozen=True)
class Preset:
    """A named scenario for the Estimate page and the CLI."""

    name: str
    model: str  # catalog name
    plan: TrainingPlan
    gpu: str  # hardware.GPUS name
    text_chars: int  # size of the training text in characters
    story: str  # why it is there


HACKATHON = Preset(
    name="hackathon",
    model="phi-2",
    plan=TrainingPlan(
        method="full",
        dtype="fp32",
        optimizer="adamw",
        micro_batch=8,
        seq_len=2048,
        attention="sdpa",
        gpus=2,
        sharding="ddp",
    ),
    gpu="RTX 4090 24 GB",
    text_chars=1_800_000,
    story=(
        "Health hackathon: microsoft/phi-2 (2,048-token context), 1.8 MB of text, two 24 GB GPUs, "
        "HF Trainer defaults (full fine-tuning in fp32, AdamW, batch 8, DDP). It ran out of GPU memory."
    ),
)

PRESETS = {HACKATHON.name: HACKATHON}


def corpus_tokens(text_chars: int, chars_per_token: float = DEFAULT_CHARS_PER_TOKEN) -> int:
    """Tokens of a text of `text_chars` characters at a given characters-per-token ratio."""
    if chars_per_token <= 0:
        raise ValueError(f"Characters per token must be positive (got {chars_per_token}).")
    return round(text_chars / chars_per_token)


def blocks_summary(model: str, window: int, num_chars: int, num_tokens: int) -> dict[str, Any]:
    """A split summary for a corpus not split yet: the "blocks" strategy needs only the token count
    (tokenize everything, cut into W-token blocks; the last block is padded)."""
    examples = math.ceil(num_tokens / window) if num_tokens else 0
    return {
        "model": model,
        "window": window,
        "num_chars": num_chars,
        "num_tokens": num_tokens,
        "strategies": {
            "blocks": {
                "examples": examples,
                "tokens_trained": num_tokens,
                "coverage": 1.0,
                "dropped_tokens": 0,
                "duplication": 1.0,
                "padding_tokens": examples * window - num_tokens,
            }
        },
    }


def preset_summary(preset: Preset, chars_per_token: float = DEFAULT_CHARS_PER_TOKEN) -> dict[str, Any]:
    """The preset's corpus as a split summary (blocks of the preset's window)."""
    tokens = corpus_tokens(preset.text_chars, chars_per_token)
    return blocks_summary(preset.model, preset.plan.seq_len, preset.text_chars, tokens)


# When the Split page has not run: the built-in model, a 1,024-token window, tinyshakespeare's size.
DEFAULT_SUMMARY_NOTE = (
    "No split yet: showing a 1,024-token window over 1.1 MB of text at 4 characters per token."
)


def default_summary() -> dict[str, Any]:
    chars = 1_115_394  # tinyshakespeare.txt, the shared test corpus
    return blocks_summary("default", 1024, chars, corpus_tokens(chars))
