"""Try it: one prompt, continued by the base model and by the adapter, side by side (greedy decoding)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_NEW_TOKENS = 80
REPETITION_PENALTY = 1.15  # CTRL's penalty (Keskar et al. 2019); keeps a 135M model out of greedy loops


@dataclass(frozen=True)
class SideBySide:
    prompt: str
    base: str  # the base model's continuation (the prompt not repeated)
    adapter: str  # the adapter's continuation


def continue_text(model: Any, tokenizer: Any, prompt: str, max_new_tokens: int = MAX_NEW_TOKENS) -> str:
    import torch

    encoded = tokenizer(prompt, return_tensors="pt").to(model.device)
    with torch.inference_mode():
        output = model.generate(
            **encoded,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            repetition_penalty=REPETITION_PENALTY,
            pad_token_id=tokenizer.pad_token_id
            if tokenizer.pad_token_id is not None
            else tokenizer.eos_token_id,
        )
    return tokenizer.decode(output[0, encoded["input_ids"].shape[1] :], skip_special_tokens=True)


def side_by_side(model: Any, tokenizer: Any, prompt: str, max_new_tokens: int = MAX_NEW_TOKENS) -> SideBySide:
    """`model` is a PeftModel (modeling.load_trained): the base answers with the adapter switched off."""
    if not prompt.strip():
        raise ValueError("Type a prompt first: the start of a sentence from your document works well.")
    with model.disable_adapter():
        base = continue_text(model, tokenizer, prompt, max_new_tokens)
    return SideBySide(prompt, base, continue_text(model, tokenizer, prompt, max_new_tokens))
