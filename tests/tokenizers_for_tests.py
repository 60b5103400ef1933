"""A tiny byte-level BPE tokenizer that wraps each sequence in <s> … </s>, trained in milliseconds.

It stands in for models whose post-processor adds special tokens (Llama-2 adds BOS), which the built-in
SmolLM2 tokenizer does not.
"""

from __future__ import annotations

from functools import lru_cache

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

TRAINING_TEXT = (
    "The quick brown fox jumps over the lazy dog. A context window holds a fixed number of tokens.\n\n"
    "Sliding windows overlap; blocks do not. Boundary-aware chunks end at sentences!\n"
) * 50


@lru_cache(maxsize=1)
def bos_eos_tokenizer() -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.BPE(unk_token=None))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    backend.train_from_iterator([TRAINING_TEXT], trainer=trainer)
    bos, eos = backend.token_to_id("<s>"), backend.token_to_id("</s>")
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
