"""The tensors autograd keeps for backward, one by one, for a decoder layer of the transformers code.

Korthikanti et al. 2022 count a GPT block's stored activations as s*b*h*(34 + 5*a*s/h) bytes in 16 bits.
Their method is used here: walk the layer's forward, and for every op note which tensors its derivative
formula needs (PyTorch saves only those: e.g. a frozen linear layer keeps no input, `x * rsqrt(...)` keeps
both factors, softmax keeps its output). Unlike the GPT count, this follows what transformers actually runs
for each family (RMSNorm's fp32 upcast, gated MLPs, grouped-query attention, RoPE, SDPA vs eager, fused
projections, residual dropout) and what peft adds per LoRA target. `tests/test_estimate_activations.py`
checks every family against a trace of the tensors autograd really saves.

Sizes are per token of the micro-batch (multiply by b*s), plus a per-(query, key)-pair part (multiply by
b*s*s) for the attention scores that eager attention materializes.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.estimate.architecture import Architecture, LinearShape, resolve_targets
from core.estimate.plan import TrainingPlan


@dataclass(frozen=True)
class Stored:
    """A tensor kept for backward (or a working buffer), as bytes per token and per query-key pair."""

    what: str
    per_token: float  # bytes per token of the micro-batch
    per_pair: float = 0.0  # bytes per (query, key) pair: eager attention's b*a*s*s score tensors

    def bytes(self, batch: int, seq: int) -> int:
        return round(batch * seq * (self.per_token + seq * self.per_pair))


@dataclass(frozen=True)
class ActivationDtypes:
    """Bytes per element of the activations, which depend on the precision and the method."""

    residual: int  # residual stream and norm outputs
    matmul: int  # outputs of the linear layers
    adapter: int  # LoRA's A and B compute (peft keeps adapters in fp32)
    autocast: bool  # mixed precision: every linear casts an fp32 input to 16 bits, a copy per call
    params: int  # bytes of the (norm) weights, which set the dtype of a norm's output

    @property
    def lora_input(self) -> int:
        return 2 if self.autocast else self.adapter


def activation_dtypes(plan: TrainingPlan) -> ActivationDtypes:
    """The activation dtypes each precision produces in transformers + peft."""
    if plan.dtype == "fp32":
        return ActivationDtypes(4, 4, 4, False, 4)
    if plan.dtype == "mixed":
        # fp32 embeddings and norms keep the residual stream in fp32; autocast runs linears in 16 bits.
        return ActivationDtypes(4, 2, 4, True, 4)
    if plan.method == "qlora" and plan.kbit_prepare:
        # prepare_model_for_kbit_training makes embeddings and norms fp32, so the residual stream is fp32,
        # and bitsandbytes' Linear4bit returns its output in its input's dtype.
        return ActivationDtypes(4, 4, 4, False, 4)
    return ActivationDtypes(2, 2, 4, False, 2)


@dataclass(frozen=True)
class LayerActivations:
    """What one decoder layer costs in activation memory."""

    stored: tuple[Stored, ...]  # kept for backward, per layer
    mlp_side: (
        int  # how many of `stored` (the last ones) belong to the MLP half, freed before attention's backward
    )
    mlp_work: Stored  # MLP backward: gradients of its intermediates alive at once, beyond what it frees
    attention_work: Stored  # attention backward: the same for the attention half
    checkpoint: Stored  # what a checkpointed layer keeps instead (its input)

    def stored_bytes(self, batch: int, seq: int) -> int:
        return sum(item.bytes(batch, seq) for item in self.stored)

    def mlp_side_bytes(self, batch: int, seq: int) -> int:
        return sum(item.bytes(batch, seq) for item in self.stored[len(self.stored) - self.mlp_side :])


class _Layer:
    """Accumulates Stored items while walking a layer's forward."""

    def __init__(self, arch: Architecture, plan: TrainingPlan) -> None:
        self.arch = arch
        self.plan = plan
        self.dt = activation_dtypes(plan)
        self.full = plan.method == "full"
        self.targets = {t.name for t in resolve_targets(arch, plan.targets)} if plan.uses_lora else set()
        self.items: list[Stored] = []
        self.mlp_start = 0  # index of the first item of the MLP half

    def start_mlp(self) -> None:
        self.mlp_start = len(self.items)

    def mask_bytes(self, input_bytes: int) -> int:
        """Dropout's saved mask: bool on CUDA (fused native_dropout), the input's dtype on CPU (x * noise)."""
        return 1 if self.plan.device == "cuda" else input_bytes

    def add(self, what: str, per_token: float, per_pair: float = 0.0) -> None:
        self.items.append(Stored(what, per_token, per_pair))

    def linear(self, name: str) -> LinearShape:
        return next(linear for linear in self.arch.layer_linears if linear.name == name)

    def saves_input(self, name: str) -> bool:
        """Whether the module named `name` keeps its input (full fine-tune, or a LoRA target)."""
        return self.full or name in self.targets

    def linear_inputs(
        self, tensor: str, width: int, x_bytes: int, modules: list[str], already_saved: bool
    ) -> None:
        """What the linear modules reading one tensor keep of it (shared storage is counted once)."""
        dt, shared = self.dt, False
        cast = dt.autocast and x_bytes != 2
        for name in modules:
            if self.full:
                if cast:
                    self.add(f"{name}: its 16-bit input (autocast copy)", 2 * width)
                else:
                    shared = True
            if name in self.targets:
                rank = self.plan.rank
                # peft casts x to the adapter's dtype (fp32) before dropout and lora_A; under autocast
                # lora_A then casts it to 16 bits again, a copy per target.
                if self.plan.lora_dropout > 0:
                    self.add(f"{name}: LoRA dropout mask", self.mask_bytes(dt.adapter) * width)
                    self.add(f"{name}: LoRA dropout output", dt.lora_input * width)
                elif dt.autocast:
                    self.add(f"{name}: LoRA input, 16-bit (autocast copy)", 2 * width)
                elif x_bytes == dt.adapter:
                    shared = True
                else:
                    self.add(f"{name}: LoRA input cast to fp32", dt.adapter * width)
                self.add(f"{name}: LoRA A output (r values)", dt.lora_input * rank)
            if self.plan.method == "qlora" and self.plan.bnb_saves_input:
                self.add(f"{name}: 4-bit matmul input (bitsandbytes < 0.44)", 2 * width)
        if shared and not already_saved:
            self.items.append(Stored(tensor, x_bytes * width))

    # -- norms -----------------------------------------------------------------------------------------
    def rms_norm(self, name: str, in_bytes: int) -> int:
        """Llama RMSNorm: x.float() * rsqrt(mean(x^2) + eps), then weight * (that cast back)."""
        h = self.arch.hidden
        self.add(f"{name}: input in fp32", 4 * h)
        self.add(f"{name}: 1/rms", 4)
        if self.full:
            self.add(f"{name}: normalized input (for the weight's gradient)", in_bytes * h)
        return max(in_bytes, self.dt.params)

    def gemma_rms_norm(self, name: str, in_bytes: int) -> int:
        """Gemma RMSNorm: (x.float() * rsqrt(...)) * (1 + weight), cast back to x's dtype."""
        h = self.arch.hidden
        self.add(f"{name}: input in fp32", 4 * h)
        self.add(f"{name}: 1/rms", 4)
        if self.full:
            self.add(f"{name}: normalized input in fp32 (for the weight's gradient)", 4 * h)
        return in_bytes

    def layer_norm(self, name: str, in_bytes: int) -> int:
        """nn.LayerNorm (native_layer_norm keeps its input, mean and 1/std)."""
        self.add(f"{name}: input", in_bytes * self.arch.hidden)
        self.add(f"{name}: mean and 1/std", 8)
        return in_bytes

    # -- attention -------------------------------------------------------------------------------------
    def attention(self, qk_bytes: int, v_bytes: int, v_storage: int) -> tuple[int, bool]:
        """Scores, softmax and context; returns (bytes of the context output, whether it is already kept)."""
        arch, dt, plan = self.arch, self.dt, self.plan
        qw, kw, heads = arch.q_width, arch.kv_width, arch.heads
        repeat = heads // arch.kv_heads > 1
        low = 2 if dt.autocast else qk_bytes  # dtype the matmuls see (autocast casts to 16 bits)
        q_what = "query after RoPE" + (", 16-bit (autocast copy)" if dt.autocast else "")
        k_what = "key after RoPE" + (", 16-bit (autocast copy)" if dt.autocast else "")
        if plan.attention == "sdpa":
            # Flash / memory-efficient SDPA keeps q, k, v, its output and the log-sum-exp; no s*s tensor.
            self.add(q_what, low * qw)
            self.add(k_what, low * kw)
            self.add("value", v_storage)
            self.add("attention output (SDPA keeps it; it is also o_proj's input)", low * qw)
            self.add("softmax log-sum-exp (fp32)", 4 * heads)
            return low, True
        self.add(q_what, low * qw)
        self.add(k_what + (" repeated to all heads" if repeat else ""), low * (qw if repeat else kw))
        if arch.attn_softcap:
            self.add("attention scores after tanh soft-capping", 0, low * heads)
        self.add("attention probabilities (fp32 softmax output)", 0, 4 * heads)
        if low != 4:
            self.add("attention probabilities cast back to 16 bits", 0, low * heads)
        if arch.attention_dropout > 0:
            self.add("attention dropout mask", 0, self.mask_bytes(low) * heads)
            self.add("attention dropout output", 0, low * heads)
        self.add(
            "value" + (" repeated to all heads" if repeat else ""), v_bytes * qw if repeat else v_storage
        )
        return low, False

    def residual_dropout(self, where: str) -> None:
        if self.arch.resid_dropout > 0:
            self.add(f"{where} residual dropout mask", self.mask_bytes(self.dt.matmul) * self.arch.hidden)

    def gated_mlp(self, x_bytes: int, gate: str, up: str, down: str, fused: bool) -> None:
        """act(gate(x)) * up(x), then down: the activation keeps its input, the product keeps both factors."""
        i, mm = self.arch.intermediate, self.dt.matmul
        modules = [gate] if fused else [gate, up]
        self.linear_inputs(
            "post-attention norm output (MLP input)", self.arch.hidden, x_bytes, modules, False
        )
        if fused:
            self.add("gate_up_proj output (gate and up halves are views of it)", 2 * mm * i)
        else:
            self.add("gate_proj output (the activation's input)", mm * i)
            self.add("up_proj output", mm * i)
        self.add("activation output", mm * i)
        self.linear_inputs("gated product (down_proj's input)", i, mm, [down], False)

    def rope_bytes(self) -> int:
        """q * cos promotes to the wider dtype: cos and sin carry the residual stream's dtype."""
        return max(self.dt.matmul, self.dt.residual)


def _llama_like(layer: _Layer, fused: bool) -> None:
    arch, dt = layer.arch, layer.dt
    h, mm = arch.hidden, dt.matmul
    normed = layer.rms_norm("input norm", dt.residual)
    projections = ["qkv_proj"] if fused else ["q_proj", "k_proj", "v_proj"]
    layer.linear_inputs("input norm output", h, normed, projections, False)
    # v is a view of the fused qkv output, but attention saves a contiguous copy of it.
    out_bytes, kept = layer.attention(layer.rope_bytes(), mm, mm * arch.kv_width)
    # Phi-3's RoPE ends in torch.cat, so the query (and SDPA's output, which follows its layout) is in
    # [b, heads, s, d] order and the reshape before o_proj copies it; Llama's elementwise RoPE keeps the
    # [b, s, heads, d] order of the projection and the reshape is free.
    layer.linear_inputs("attention output", arch.q_width, out_bytes, ["o_proj"], kept and not fused)
    layer.residual_dropout("attention")
    layer.start_mlp()
    normed = layer.rms_norm("post-attention norm", dt.residual)
    if fused:
        layer.gated_mlp(normed, "gate_up_proj", "gate_up_proj", "down_proj", fused=True)
    else:
        layer.gated_mlp(normed, "gate_proj", "up_proj", "down_proj", fused=False)
    layer.residual_dropout("MLP")


def _gemma2(layer: _Layer) -> None:
    arch, dt = layer.arch, layer.dt
    h, mm = arch.hidden, dt.matmul
    normed = layer.gemma_rms_norm("input norm", dt.residual)
    layer.linear_inputs("input norm output", h, normed, ["q_proj", "k_proj", "v_proj"], False)
    out_bytes, kept = layer.attention(layer.rope_bytes(), mm, mm * arch.kv_width)
    layer.linear_inputs("attention output", arch.q_width, out_bytes, ["o_proj"], kept)
    layer.gemma_rms_norm("post-attention norm", mm)
    layer.start_mlp()
    normed = layer.gemma_rms_norm("pre-feedforward norm", dt.residual)
    layer.gated_mlp(normed, "gate_proj", "up_proj", "down_proj", fused=False)
    layer.gemma_rms_norm("post-feedforward norm", mm)


def _phi(layer: _Layer) -> None:
    """Phi-1.5 / Phi-2: one LayerNorm feeds attention and MLP in parallel; GELU (tanh formula) MLP."""
    arch, dt = layer.arch, layer.dt
    h, i, mm = arch.hidden, arch.intermediate, dt.matmul
    normed = layer.layer_norm("input norm", dt.residual)
    layer.linear_inputs("input norm output", h, normed, ["q_proj", "k_proj", "v_proj", "fc1"], False)
    out_bytes, _ = layer.attention(layer.rope_bytes(), mm, mm * arch.kv_width)
    # RoPE on part of each head ends in torch.cat, so, as for Phi-3, the reshape before dense copies.
    layer.linear_inputs("attention output", arch.q_width, out_bytes, ["dense"], False)
    layer.residual_dropout("attention")
    layer.start_mlp()
    # gelu_new = 0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x^3))): pow keeps x, tanh its output, the last
    # product both factors.
    layer.add("fc1 output (GELU input)", mm * i)
    layer.add("GELU: tanh output", mm * i)
    layer.add("GELU: 0.5 * x", mm * i)
    layer.add("GELU: 1 + tanh", mm * i)
    layer.linear_inputs("GELU output (fc2's input)", i, mm, ["fc2"], False)
    layer.residual_dropout("MLP")


def _backward_work(arch: Architecture, plan: TrainingPlan, layer: _Layer) -> tuple[Stored, Stored]:
    """Working memory of a layer's backward beyond its stored tensors: (MLP half, attention half).

    MLP: the gradients of the product and of both of its factors (3 x i per token) exist at once; when
    down_proj kept its input, that tensor is freed just before, so 2 x i. Eager attention: the gradients
    of the probabilities and of the scores, b*a*s*s each in fp32 (the softmax runs in fp32), plus the
    tanh's gradient with soft-capping. SDPA: the gradients of q, k and v.
    """
    mm, i = layer.dt.matmul, arch.intermediate
    down = "fc2" if arch.family == "phi" else "down_proj"
    mlp = Stored(
        "MLP backward: gradients of its intermediates", (3 - (1 if layer.saves_input(down) else 0)) * mm * i
    )
    if plan.attention == "eager":
        pair = 8 * arch.heads + (layer.dt.matmul * arch.heads if arch.attn_softcap else 0)
        attention = Stored("attention backward: gradients of the probabilities and scores (fp32)", 0, pair)
    else:
        attention = Stored(
            "attention backward: gradients of q, k, v", mm * (arch.q_width + 2 * arch.kv_width)
        )
    return mlp, attention


def layer_activations(arch: Architecture, plan: TrainingPlan) -> LayerActivations:
    """The stored tensors of one decoder layer (a layer past the first: its input requires grad)."""
    layer = _Layer(arch, plan)
    if arch.family == "gemma2":
        _gemma2(layer)
    elif arch.family == "phi":
        _phi(layer)
    else:
        _llama_like(layer, fused=arch.family == "phi3")
    checkpoint = Stored("layer input (kept by activation checkpointing)", layer.dt.residual * arch.hidden)
    mlp_work, attention_work = _backward_work(arch, plan, layer)
    mlp_side = len(layer.items) - layer.mlp_start
    return LayerActivations(tuple(layer.items), mlp_side, mlp_work, attention_work, checkpoint)


def head_activations(arch: Architecture, plan: TrainingPlan) -> tuple[Stored, ...]:
    """Final norm and the LM head's input (the LM head keeps it only when it is trained)."""
    layer = _Layer(arch, plan)
    dt = layer.dt
    if arch.family == "phi":
        out = layer.layer_norm("final norm", dt.residual)
    elif arch.family == "gemma2":
        out = layer.gemma_rms_norm("final norm", dt.residual)
    else:
        out = layer.rms_norm("final norm", dt.residual)
    if layer.full:
        if dt.autocast and out != 2:
            layer.add("LM head: its 16-bit input (autocast copy)", 2 * arch.hidden)
        else:
            layer.add("final norm output (LM head input)", out * arch.hidden)
    return tuple(layer.items)


def logits_bytes(plan: TrainingPlan) -> int:
    """Bytes per logit out of the LM head: its input's dtype, or 16 bits under autocast."""
    dt = activation_dtypes(plan)
    return 2 if dt.autocast else max(dt.residual, dt.params)


@dataclass(frozen=True)
class LossBuffers:
    """The [b, s, V] tensors of the loss, per token (multiply by b*s)."""

    forward_peak: Stored  # alive at once while cross_entropy runs
    backward_peak: Stored  # alive at once in log_softmax's backward
    kept: Stored  # kept from the end of forward to the start of backward
    gradient: Stored  # the logits' gradient entering the LM head's backward


def loss_buffers(arch: Architecture, plan: TrainingPlan) -> LossBuffers:
    """transformers' loss: logits.float(), log_softmax (keeps its fp32 output), nll_loss.

    Forward: the logits, their fp32 copy (when not fp32 already) and the log-softmax output coexist.
    Backward: the kept log-softmax output, the gradient nll_loss writes and the gradient log_softmax
    returns: three fp32 [b, s, V] tensors. Gemma-2's final soft-capping adds logits/cap, tanh (kept) and
    tanh*cap in the logits' dtype. The training loop is assumed to drop the model output (the logits)
    before backward, as HF Trainer does.
    """
    vocab, c = arch.vocab, logits_bytes(plan)
    upcast = 4 if c != 4 else 0
    softcap = 3 * c if arch.final_softcap else 0
    kept_softcap = c if arch.final_softcap else 0
    return LossBuffers(
        forward_peak=Stored(
            "logits, their fp32 copy and the log-softmax", (c + upcast + 4) * vocab + softcap * vocab
        ),
        backward_peak=Stored("log-softmax output and two fp32 gradients", (12 + kept_softcap) * vocab),
        kept=Stored("log-softmax output (fp32)", (4 + kept_softcap) * vocab),
        gradient=Stored("gradient of the logits", c * vocab),
    )


def autocast_weight_copies(arch: Architecture, plan: TrainingPlan, lora_params: int) -> int:
    """Mixed precision: autocast's 16-bit copies of the linear weights, alive from forward to backward.

    Copies of trainable weights stay in autocast's cache until the autocast region ends; copies of frozen
    weights are kept by each matmul for the input gradient. Either way every linear weight (LM head and
    LoRA adapters included) has a 2-byte copy at the start of backward. (torch.autocast docs: weight cast
    cache; the trace in tests/test_estimate_activations.py shows them.)
    """
    if not activation_dtypes(plan).autocast:
        return 0
    head = arch.vocab * arch.hidden
    return 2 * (arch.layers * arch.linear_params_per_layer + head + lora_params)
