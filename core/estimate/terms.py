"""A named quantity of the estimate, with the formula that produced it and where the formula comes from."""

from __future__ import annotations

from dataclasses import dataclass

# Sources cited by the formulas (one place, so the page and docs can list them).
KORTHIKANTI = "Korthikanti et al. 2022, Reducing Activation Recomputation in Large Transformer Models (arXiv 2205.05198), sec. 4"
MATH101 = "EleutherAI, Transformer Math 101 (blog.eleuther.ai/transformer-math), Training section"
QLORA = "Dettmers et al. 2023, QLoRA (arXiv 2305.14314), sec. 3 (NF4, Double Quantization) and sec. 4"
LORA = "Hu et al. 2021, LoRA (arXiv 2106.09685), sec. 4.1: A is r x k, B is d x r"
PEFT_DTYPE = "peft get_peft_model(autocast_adapter_dtype=True) keeps adapter weights in fp32"
PEFT_KBIT = "peft prepare_model_for_kbit_training casts non-4-bit parameters to fp32 (peft issue #832)"
BNB_1270 = "bitsandbytes PR #1270 (v0.44, 2024): 4-bit matmul no longer saves its input for backward"
AUTOGRAD = "PyTorch autograd saves, per op, only the tensors its derivative formula needs (tools/autograd/derivatives.yaml)"
HF_LOSS = "transformers ForCausalLMLoss: logits.float() then cross_entropy (log_softmax + nll_loss)"
TORCH_ADAMW = (
    "torch.optim.AdamW: exp_avg and exp_avg_sq in the parameter's dtype; foreach path allocates a sqrt buffer"
)
BNB_8BIT = "Dettmers et al. 2022, 8-bit Optimizers via Block-wise Quantization (arXiv 2110.02861): 2 bytes per parameter"
DDP_BUCKETS = "PyTorch DistributedDataParallel(gradient_as_bucket_view=False, the default): all-reduce buckets copy the gradients"
FSDP = "Rajbhandari et al. 2020, ZeRO (arXiv 1910.02054), stage 3; PyTorch FSDP full_shard: states / N, one unit gathered at a time"
CUDA_CONTEXT = "CUDA context and kernels, outside PyTorch's allocator: several hundred MB (pytorch/pytorch#34323 shows 781 MB)"
ALLOCATOR = (
    "PyTorch caching allocator: blocks rounded to 2 MiB segments and cached (docs: CUDA memory management)"
)
PALM_FLOPS = "Chowdhery et al. 2022, PaLM (arXiv 2204.02311), appendix B: 6N + 12*L*H*Q*T FLOPs per token"
KAPLAN_FLOPS = (
    "Kaplan et al. 2020, Scaling Laws (arXiv 2001.08361), sec. 2.1: forward 2N, backward 4N FLOPs per token"
)


@dataclass(frozen=True)
class Term:
    """One line of a breakdown."""

    name: str  # what it is
    bytes: int  # its size (or FLOPs, seconds, ... where the caller says so)
    formula: str  # how it was computed, in the symbols the page explains
    source: str  # citation for the formula
