"""A compact decoder for Llama-family models (Llama, SmolLM, Mistral, Qwen2) with an engine-owned KV cache.

Weights come from the transformers model; the forward pass is rewritten for serving: q/k/v and gate/up
projections fused into one matmul each, rotary tables precomputed, and the KV cache preallocated: values
as ``[layers, slots, kv_heads, capacity, head_dim]`` and keys transposed, ``[layers, slots, kv_heads,
head_dim, capacity]``, both in the model's dtype. Running sequences occupy slots ``0..B-1``, so a decode
step attends over views of the cache, never a copy; with keys transposed, the scores product reads each
key row in place (a bf16 batched product over a strided ``K.T`` view copied the keys first, measured 3x
slower).

Each matmul runs one of four kernels (``linear.py``, one class each; the maths in ``quant.py``): the
model's dtype; for a few rows, int8 weight-only, or int4 weight-only where the weights are exactly 4-bit (a
model converted from a Q4 GGUF); dynamic int8 (W8A8) for many rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from llmaas.providers.huggingface.management.details import COMPACT_ARCHITECTURES as SUPPORTED
from llmaas.providers.huggingface.model.linear import (
    DYNAMIC8,
    FLOAT,
    WEIGHT4,
    WEIGHT8,
    LoraTerm,
    Projection,
)
from llmaas.providers.huggingface.model.protocol import StepInterrupted
from llmaas.providers.huggingface.model.quant import DynamicInt8, Int4, exact_int4, quantize_int8

if TYPE_CHECKING:
    from llmaas.providers.huggingface.model.adapters import Adapter
    from llmaas.providers.huggingface.model.native import NativeKernels

__all__ = ["DYNAMIC8", "FLOAT", "SUPPORTED", "WEIGHT4", "WEIGHT8", "CompactLM", "Layer"]

PROJECTIONS = ("w_qkv", "w_o", "w_gate_up", "w_down")
EXACT_MARGIN = 6.0  # logits within this many nats of a row's largest are computed in float32 (``_exact_top``)
EXACT_MOST = 64
Observer = Callable[["Layer", str, torch.Tensor], None]  # sees the input of a layer's norm-fed projections
Attend = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (q, k, v) -> attention output
Sink = Callable[[int, torch.Tensor, torch.Tensor], None]  # (layer, keys, values) of a full forward pass
DecodeAttention = Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (layer, q, k, v)


@dataclass(eq=False)
class Layer:
    index: int
    ln_in: torch.Tensor  # the RMSNorm weights before attention and before the MLP, float32
    ln_post: torch.Tensor
    projections: dict[str, Projection]  # by name, PROJECTIONS
    int4_found: dict[str, Int4] = field(default_factory=dict[str, Int4])  # float weights on a 4-bit grid


# per layer and projection the batch's adapters' (A stacked, B side by side); which columns are whose
_Stacked = tuple[list[dict[str, tuple[torch.Tensor, torch.Tensor]]], dict[str, list[tuple["Adapter", int, int]]]]
Lora = bool | list[dict[str, LoraTerm]]  # the engine's batch adapters (True), none (False), or these terms


class CompactLM:
    """The forward pass. ``prefill`` runs one prompt into a slot; ``decode`` one token for slots 0..B-1."""

    chunked_prefill = True

    engine_name = "compact"

    # hf_model: a transformers Llama-family model; its attributes are untyped (config fields, submodules)
    def __init__(self, hf_model: Any, dtype: torch.dtype, max_len: int, int4: bool = False) -> None:
        """``int4``: look for weights on a 4-bit grid (for ``enable_int8_decode``); only the float weights
        show it, so it is done here, and only when asked (about 0.7 s for the built-in model)."""
        cfg = hf_model.config
        if cfg.model_type not in SUPPORTED:
            raise ValueError(f"the llmaas engine runs {sorted(SUPPORTED)} models, not {cfg.model_type!r}")
        if getattr(cfg, "sliding_window", None) and cfg.model_type == "mistral" and cfg.sliding_window < max_len:
            max_len = cfg.sliding_window
        self.dtype = dtype
        self.cache_dtype: torch.dtype = dtype
        self.n_layers: int = cfg.num_hidden_layers
        self.n_heads: int = cfg.num_attention_heads
        self.n_kv: int = cfg.num_key_value_heads
        self.head_dim: int = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        self.eps: float = cfg.rms_norm_eps
        self.vocab: int = cfg.vocab_size
        self.max_len = max_len
        self.scale: float = 1.0 / math.sqrt(self.head_dim)

        inner = hf_model.model
        with torch.no_grad():
            self.embed: torch.Tensor = inner.embed_tokens.weight.detach().to(dtype).contiguous()
            self.layers: list[Layer] = [self._layer(block, dtype, i, int4) for i, block in enumerate(inner.layers)]
            self.norm: torch.Tensor = inner.norm.weight.detach().float()
            self.lm_head: torch.Tensor = hf_model.lm_head.weight.detach().to(dtype).contiguous()
            self.head = Projection("lm_head", -1, self.lm_head, norm=self.norm)
            positions = torch.arange(max_len).unsqueeze(0)
            probe = torch.zeros(1, 1, self.head_dim, dtype=torch.float32)
            cos, sin = inner.rotary_emb(probe, positions)
        self.cos: torch.Tensor = cos[0].to(dtype).contiguous()  # [max_len, head_dim]
        self.sin: torch.Tensor = sin[0].to(dtype).contiguous()
        self._cos32: torch.Tensor = cos[0].float().contiguous()  # the native decode kernel's tables
        self._sin32: torch.Tensor = sin[0].float().contiguous()
        self.native: NativeKernels | None = None  # native.py's kernels, for a bf16 model
        self.interrupt: Callable[[], bool] | None = None  # asked between a decode step's layers: give up now?
        self.k_cache: torch.Tensor = torch.empty(0)
        self.v_cache: torch.Tensor = torch.empty(0)
        self.int8_max_batch: int = 0  # decode steps with at most this many sequences use weight-only kernels
        self.int4 = False  # ... with exact int4 weights
        self.dynamic_int8 = False  # larger batches and prefill use dynamic W8A8
        self._lora: list[dict[str, LoraTerm]] | None = None  # per layer, by projection: the batch's adapters
        self._stacks: dict[tuple[int, ...], _Stacked] = {}  # stacked adapters by the set of adapters in a batch

    def use_adapters(self, adapters: list[Adapter | None]) -> None:
        """The adapter (or None: the base model) of each row of the next forward pass: prompts in order for
        ``prefill``, slots for ``decode``.

        The adapters in the batch are stacked per projection (their A's in one matrix, their B's side by
        side), so each projection adds one low-rank product for the whole batch, however many adapters it
        mixes: ``((x @ A_all.T) * mask) @ B_all.T``, the mask keeping each row's own adapter's columns."""
        active: list[Adapter] = list({id(a): a for a in adapters if a is not None}.values())
        if not active:
            self._lora = None
            return
        key = tuple(id(a) for a in active)
        stacked = self._stacks.get(key)
        if stacked is None:
            stacked = self._stack(active)
            if len(self._stacks) >= 8:
                self._stacks.pop(next(iter(self._stacks)))
            self._stacks[key] = stacked
        layers, segments = stacked
        masks: dict[str, torch.Tensor | None] = {}
        for name, spans in segments.items():
            if len(active) == 1 and all(a is active[0] for a in adapters):
                masks[name] = None  # every row on the one adapter: nothing to mask
                continue
            width = spans[-1][2]
            mask = torch.zeros(len(adapters), width, dtype=self.dtype)
            where = {id(a): (lo, hi) for a, lo, hi in spans}
            for row, adapter in enumerate(adapters):
                if adapter is not None and id(adapter) in where:
                    lo, hi = where[id(adapter)]
                    mask[row, lo:hi] = 1
            masks[name] = mask
        self._lora = [{name: LoraTerm(a, b, masks[name]) for name, (a, b) in per.items()} for per in layers]

    def _terms_of(self, adapter: Adapter) -> list[dict[str, LoraTerm]]:
        """One adapter's terms, for a forward pass of its own (the engine's batch state is not touched)."""
        stacked = self._stacks.get((id(adapter),)) or self._stack([adapter])
        return [{name: LoraTerm(a, b, None) for name, (a, b) in per.items()} for per in stacked[0]]

    def _stack(self, active: list[Adapter]) -> _Stacked:
        """Per layer and projection, the active adapters' A's stacked and B's side by side (zeros where an
        adapter has no term in a layer), and which columns are whose."""
        names = sorted({name for a in active for layer in a.layers for name in layer})
        segments: dict[str, list[tuple[Adapter, int, int]]] = {}
        ranks: dict[str, list[tuple[Adapter, int]]] = {}
        for name in names:
            col = 0
            spans: list[tuple[Adapter, int, int]] = []
            rs: list[tuple[Adapter, int]] = []
            for a in active:
                r = next((layer[name][0].shape[0] for layer in a.layers if name in layer), 0)
                if r:
                    spans.append((a, col, col + r))
                    rs.append((a, r))
                    col += r
            segments[name], ranks[name] = spans, rs
        layers: list[dict[str, tuple[torch.Tensor, torch.Tensor]]] = []
        for i, base in enumerate(self.layers):
            per: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
            for name in names:
                w = base.projections[name].weight
                a_parts: list[torch.Tensor] = []
                b_parts: list[torch.Tensor] = []
                for a, r in ranks[name]:
                    pair = a.layers[i].get(name)
                    a_parts.append(pair[0] if pair is not None else torch.zeros(r, w.shape[1], dtype=self.dtype))
                    b_parts.append(pair[1] if pair is not None else torch.zeros(w.shape[0], r, dtype=self.dtype))
                per[name] = (torch.cat(a_parts).contiguous(), torch.cat(b_parts, dim=1).contiguous())
            layers.append(per)
        return layers, segments

    def enable_int8_decode(self, max_batch: int, int4: bool = True, int8: bool = False) -> None:
        """For small decode batches, an exact int4 copy of every matmul weight that lies on a 4-bit grid
        (found when the model was built with ``int4``; ``int4=False`` drops them), an int8 copy of the
        others with ``int8``, and an int8 copy of the vocabulary head (its likely logits are recomputed
        exactly, ``_exact_top``).

        A decode step at batch 1 reads every weight once and does little else, so it is bound by memory
        bandwidth: int8 weights halve the bytes (measured 2.5x faster per matmul at batch 1 here, slower
        than bf16 from batch 8 up) and int4 halves them again. Exact int4 loses nothing; int8 with per-row
        scales misses the fidelity gate in the layers (same top-1 as float32 at 96%), so it is opt-in
        (``LLMAAS_INT8_WEIGHTS=on``) and the others stay bf16. Prefill and larger batches use the other
        kernels.
        """
        if self.dtype != torch.bfloat16 or max_batch <= 0:
            for layer in self.layers:
                layer.int4_found = {}
            return
        for layer in self.layers:
            if not int4:
                layer.int4_found = {}
            for name, proj in layer.projections.items():
                exact = layer.int4_found.get(name)
                proj.use_weight_only(quantize_int8(proj.weight) if exact is None and int8 else None, exact)
        self.head.use_weight_only(quantize_int8(self.lm_head), None)
        self.int8_max_batch = max_batch
        self.int4 = any(layer.int4_found for layer in self.layers)

    def enable_dynamic_int8(self, calibration: torch.Tensor | None) -> bool:
        """Dynamic W8A8 (``quant.py``) for decode batches above the weight-only limit and for prefill,
        smoothed with activation ranges seen on ``calibration`` (token ids). bf16 models only; False where
        this build's ``_int_mm`` does not take the model's shapes."""
        first = self.layers[0].projections
        if self.dtype != torch.bfloat16 or not all(DynamicInt8.supported(w) for w in (
                *(first[name].weight for name in PROJECTIONS), self.lm_head)):
            return False
        ranges = self._activation_ranges(calibration) if calibration is not None and len(calibration) > 1 else None
        for layer in self.layers:
            seen = ranges[layer.index] if ranges is not None else {}
            for proj in layer.projections.values():  # norm-fed ones smoothed, the RMSNorm fused in
                fed = proj.norm is not None
                proj.use_dynamic_int8(DynamicInt8.make(proj.weight, proj.norm, seen.get(proj.name) if fed else None),
                                      self.eps if fed else None)
        self.head.use_dynamic_int8(DynamicInt8.make(self.lm_head, self.norm), self.eps)
        self.dynamic_int8 = True
        return True

    def enable_native(self, mode: str) -> bool:
        """The native kernels (``native.py``) for a bf16 model where they build. A float32 model keeps torch
        ops: it is the mode that gives transformers' answers bit for bit."""
        from llmaas.providers.huggingface.model.native import native_kernels

        self.native = native_kernels(mode) if self.dtype == torch.bfloat16 else None
        return self.native is not None

    @torch.inference_mode()
    def _activation_ranges(self, tokens: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """Per layer, the largest ``|x / rms(x)|`` of each channel entering the q/k/v and gate/up
        projections, over a forward pass of ``tokens`` in the model's dtype."""
        ranges: list[dict[str, torch.Tensor]] = [{} for _ in self.layers]

        def observe(layer: Layer, name: str, x: torch.Tensor) -> None:
            xf = x.reshape(-1, x.shape[-1]).float()
            ranges[layer.index][name] = (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).abs().amax(0)

        self._forward_full(tokens.unsqueeze(0), FLOAT, lora=False, observe=observe)
        return ranges

    @staticmethod
    def _layer(block: Any, dtype: torch.dtype, index: int, int4: bool) -> Layer:
        """A layer's weights, fused, from a transformers decoder block (untyped: its submodules)."""
        att, mlp = block.self_attn, block.mlp
        fused: dict[str, torch.Tensor] = {
            "w_qkv": torch.cat([att.q_proj.weight, att.k_proj.weight, att.v_proj.weight]),
            "w_o": att.o_proj.weight, "w_gate_up": torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]),
            "w_down": mlp.down_proj.weight}
        found: dict[str, Int4] = {}
        if int4 and dtype == torch.bfloat16:  # found on the float weights: rounding them to bf16 leaves the grid
            for name, w in fused.items():
                packed = exact_int4(w.detach())
                if packed is not None:
                    found[name] = packed
        b_qkv = None
        if att.q_proj.bias is not None:
            b_qkv = torch.cat([att.q_proj.bias, att.k_proj.bias, att.v_proj.bias]).to(dtype).detach()
        ln_in = block.input_layernorm.weight.detach().float()
        ln_post = block.post_attention_layernorm.weight.detach().float()
        norms = {"w_qkv": ln_in, "w_gate_up": ln_post}
        projections = {name: Projection(name, index, w.detach().to(dtype).contiguous(),
                                        b_qkv if name == "w_qkv" else None, norms.get(name))
                       for name, w in fused.items()}
        return Layer(index, ln_in, ln_post, projections, found)

    # -- cache --------------------------------------------------------------------------------------

    @property
    def slots(self) -> int:
        return self.k_cache.shape[1] if self.k_cache.dim() == 5 else 0

    @property
    def capacity(self) -> int:
        return self.v_cache.shape[3] if self.v_cache.dim() == 5 else 0

    def bytes_per_token(self) -> int:
        return 2 * self.n_layers * self.n_kv * self.head_dim * torch.finfo(self.cache_dtype).bits // 8

    def allocate(self, slots: int, capacity: int, keep: int = 0) -> None:
        """(Re)allocate the cache, keeping the first ``keep`` slots' contents."""
        k = torch.zeros((self.n_layers, slots, self.n_kv, self.head_dim, capacity), dtype=self.cache_dtype)
        v = torch.zeros((self.n_layers, slots, self.n_kv, capacity, self.head_dim), dtype=self.cache_dtype)
        if keep and self.k_cache.dim() == 5:
            t = min(capacity, self.capacity)
            k[:, :keep, :, :, :t] = self.k_cache[:, :keep, :, :, :t]
            v[:, :keep, :, :t] = self.v_cache[:, :keep, :, :t]
        self.k_cache, self.v_cache = k, v

    def memory_bytes(self) -> int:
        """The weights (with their int8 copies), rotary tables and KV cache held now."""
        from llmaas.providers.huggingface.management.details import tensor_bytes

        return tensor_bytes([self.embed, self.layers, self.norm, self.lm_head, self.head,
                             self.cos, self.sin, self._cos32, self._sin32, self.k_cache, self.v_cache])

    def move_slot(self, src: int, dst: int, length: int) -> None:
        self.k_cache[:, dst, :, :, :length] = self.k_cache[:, src, :, :, :length]
        self.v_cache[:, dst, :, :length] = self.v_cache[:, src, :, :length]

    # -- forward ------------------------------------------------------------------------------------

    def kernel_for(self, rows: int) -> str:
        """The matmul kernel for a forward pass over ``rows`` token positions."""
        if rows <= self.int8_max_batch:
            return WEIGHT4 if self.int4 else WEIGHT8  # a few rows are bound by the bytes of weights read
        return DYNAMIC8 if self.dynamic_int8 else FLOAT

    def _rms(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.native is not None:
            flat = self.native.rms_norm(x.reshape(-1, x.shape[-1]), w, self.eps, self.dtype == torch.bfloat16)
            return flat.view(*x.shape[:-1], -1)
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (w * xf).to(self.dtype)

    @staticmethod
    def _rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
        return x * cos + rotated * sin

    def _linear(self, x: torch.Tensor, proj: Projection, kernel: str, lora: Lora) -> torch.Tensor:
        """``x @ W.T (+ bias)`` for one projection with the kernel of that kind; a norm-fed projection takes
        the raw residual stream and RMSNorm with its weight comes first (inside the kernel, for W8A8)."""
        matmul = proj.matmul(kernel)
        normed = None
        if matmul.residual_in:
            out = matmul.forward(x, self.native)
        else:
            normed = self._rms(x, proj.norm) if proj.norm is not None else x
            out = matmul.forward(normed, self.native)
        terms = lora if isinstance(lora, list) else (self._lora if lora else None)
        if terms is not None and proj.layer >= 0:
            term = terms[proj.layer].get(proj.name)
            if term is not None:
                if normed is None:
                    normed = self._rms(x, proj.norm) if proj.norm is not None else x
                out = term.add(out, normed)
        return out

    def _block(self, x: torch.Tensor, layer: Layer, kernel: str, lora: Lora, attend: Attend,
               observe: Observer | None = None) -> torch.Tensor:
        """One decoder layer: ``attend(q, k, v)`` (each ``[..., heads * head_dim]``, before rotary) is the
        only part that differs between prefill, scoring and decode."""
        p = layer.projections
        if observe is not None:
            observe(layer, "w_qkv", x)
        qkv = self._linear(x, p["w_qkv"], kernel, lora)
        nq, nk = self.n_heads * self.head_dim, self.n_kv * self.head_dim
        out = attend(qkv[..., :nq], qkv[..., nq:nq + nk], qkv[..., nq + nk:])
        x = x + self._linear(out, p["w_o"], kernel, lora)
        if observe is not None:
            observe(layer, "w_gate_up", x)
        gate_up = self._linear(x, p["w_gate_up"], kernel, lora)
        if self.native is not None:
            act = self.native.silu_mul(gate_up.reshape(-1, gate_up.shape[-1])).view(*gate_up.shape[:-1], -1)
        else:
            gate, up = gate_up.chunk(2, dim=-1)
            act = F.silu(gate) * up
        return x + self._linear(act, p["w_down"], kernel, lora)

    def _logits(self, x: torch.Tensor, kernel: str, also: torch.Tensor | None = None) -> torch.Tensor:
        """float32 logits; in a bf16 model the likely tokens' (and ``also``'s, one id per row) exact."""
        logits = self._linear(x, self.head, kernel, lora=False).float()
        if self.dtype != torch.bfloat16:
            return logits
        return self._exact_top(x, logits, also)

    def _exact_top(self, x: torch.Tensor, logits: torch.Tensor, also: torch.Tensor | None) -> torch.Tensor:
        """Recompute in float32, from the float32 hidden state and the bf16 head, every logit within
        ``EXACT_MARGIN`` of its row's largest (and the ids in ``also``): the head's output rounded to bf16
        (steps of 0.125 at a logit of 20), or its int8 weights, cost 2% top-1 agreement with float32 and
        half the log-probability error; a float32 head is 5x slower at 64 rows. The native kernel scans each
        row once and recomputes every candidate (a few dozen a row); the torch ops, which gather candidate
        lists, keep a row's ``EXACT_MOST`` largest where it has more."""
        flat = logits.view(-1, logits.shape[-1])
        xf = x.reshape(-1, x.shape[-1]).float()
        if self.native is not None:  # one pass per row, no candidate lists: 8.4 ms -> 1.9 at 64 rows
            picks = also.reshape(-1).contiguous() if also is not None else torch.empty(0, dtype=torch.long)
            self.native.exact_top(xf.contiguous(), self.norm, self.eps, self.lm_head, flat, EXACT_MARGIN, picks)
            return logits
        normed = self.norm * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps))
        near = flat >= flat.amax(-1, keepdim=True) - EXACT_MARGIN
        if int(near.sum(-1).max()) > EXACT_MOST:
            top = flat.topk(EXACT_MOST, dim=-1).indices
            near = torch.zeros_like(near).scatter_(1, top, True)
        if also is not None:
            near[torch.arange(flat.shape[0]), also.reshape(-1)] = True
        rows, cols = near.nonzero(as_tuple=True)
        exact = (self.lm_head[cols].float() * normed[rows]).sum(-1)
        flat[rows, cols] = exact
        return logits

    def _causal_attention(self, n: int, p: int,
                          sink: Callable[[torch.Tensor, torch.Tensor], None] | None = None) -> Attend:
        """Attention for ``n`` sequences of ``p`` new positions from 0 (causal, no cache read); ``sink(k, v)``
        sees each layer's keys and values ``[n, kv_heads, P, d]`` on the way."""
        d, hq, hk = self.head_dim, self.n_heads, self.n_kv
        group = hq // hk
        cos, sin = self.cos[:p], self.sin[:p]

        def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            q = self._rope(q.view(n, p, hq, d).transpose(1, 2), cos, sin)  # [n, hq, P, d]
            k = self._rope(k.view(n, p, hk, d).transpose(1, 2), cos, sin)  # [n, hk, P, d]
            v = v.view(n, p, hk, d).transpose(1, 2)
            if sink is not None:
                sink(k, v)
            out = F.scaled_dot_product_attention(q, k.repeat_interleave(group, 1), v.repeat_interleave(group, 1),
                                                 is_causal=True, scale=self.scale)
            return out.transpose(1, 2).reshape(n, p, hq * d)

        return attend

    def _forward_full(self, tokens: torch.Tensor, kernel: str, lora: Lora, sink: Sink | None = None,
                      observe: Observer | None = None, interrupt: Callable[[], bool] | None = None) -> torch.Tensor:
        """Hidden states ``[n, P, hidden]`` of whole sequences from position 0 (``interrupt``: asked within
        each layer, StepInterrupted when it says so)."""
        n, p = tokens.shape
        x = self.embed[tokens]
        x = x.float()  # the residual stream stays float32 (bf16 rounding of it cost 0.7% top-1 agreement)
        if interrupt is not None:  # asked at each layer's start and again before its MLP, most of its work
            observed = observe

            def asking(layer: Layer, name: str, x: torch.Tensor) -> None:
                if interrupt():
                    raise StepInterrupted
                if observed is not None:
                    observed(layer, name, x)

            observe = asking

        for layer in self.layers:
            attend = self._causal_attention(n, p, None if sink is None else (lambda k, v, i=layer.index: sink(i, k, v)))
            x = self._block(x, layer, kernel, lora, attend, observe)
        return x

    @torch.inference_mode()
    def prefill(self, prompts: list[torch.Tensor], slots: list[int]) -> torch.Tensor:
        """Run prompts into their slots (positions 0..P-1) in one forward pass; last-position logits ``[n, V]``.

        Prompts are right-padded to the longest: under the causal mask a real token never sees the padding
        after it, and only real positions are written to the cache or read for logits.
        """
        n = len(prompts)
        lengths = [int(t.shape[0]) for t in prompts]
        p = max(lengths)
        kernel = self.kernel_for(n * p)  # a few tokens are as memory-bound as a decode step
        tokens = torch.zeros(n, p, dtype=torch.long)
        for j, t in enumerate(prompts):
            tokens[j, : lengths[j]] = t

        def sink(i: int, k: torch.Tensor, v: torch.Tensor) -> None:
            for j, slot in enumerate(slots):
                self.k_cache[i, slot, :, :, : lengths[j]] = k[j, :, : lengths[j]].transpose(-1, -2)
                self.v_cache[i, slot, :, : lengths[j]] = v[j, :, : lengths[j]]

        x = self._forward_full(tokens, kernel, lora=True, sink=sink, interrupt=self.interrupt)
        last = x[torch.arange(n), torch.tensor(lengths) - 1]  # [n, hidden]
        return self._logits(last, kernel)

    @torch.inference_mode()
    def extend(self, tokens: torch.Tensor, slot: int, start: int, every: bool = False) -> torch.Tensor:
        """A chunk of one prompt, at positions ``start..start+C-1`` of ``slot`` whose earlier positions are
        in the cache already (chunked prefill); the last position's logits ``[1, V]`` (``every``: each
        position's, ``[C, V]``)."""
        c = int(tokens.shape[0])
        end = start + c
        kernel = self.kernel_for(c)
        d, hq, hk = self.head_dim, self.n_heads, self.n_kv
        group = hq // hk
        cos, sin = self.cos[start:end], self.sin[start:end]
        allowed = torch.arange(end).unsqueeze(0) <= torch.arange(start, end).unsqueeze(1)  # [C, end]
        bias = torch.zeros(c, end, dtype=self.cache_dtype).masked_fill_(~allowed, float("-inf"))
        x = self.embed[tokens.unsqueeze(0)]
        x = x.float()  # the residual stream stays float32 (bf16 rounding of it cost 0.7% top-1 agreement)
        for i, layer in enumerate(self.layers):
            def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, i: int = i) -> torch.Tensor:
                q = self._rope(q.view(1, c, hq, d).transpose(1, 2), cos, sin).to(self.cache_dtype)  # [1, hq, C, d]
                k = self._rope(k.view(c, hk, d).transpose(0, 1), cos, sin)  # [hk, C, d]
                self.k_cache[i, slot, :, :, start:end] = k.transpose(-1, -2)
                self.v_cache[i, slot, :, start:end] = v.view(c, hk, d).transpose(0, 1)
                keys = self.k_cache[i, slot, :, :, :end].transpose(-1, -2).unsqueeze(0)  # [1, hk, end, d]
                values = self.v_cache[i, slot, :, :end].unsqueeze(0)
                out = F.scaled_dot_product_attention(q, keys.repeat_interleave(group, 1),
                                                     values.repeat_interleave(group, 1), attn_mask=bias,
                                                     scale=self.scale)
                return out.transpose(1, 2).reshape(1, c, hq * d)

            x = self._block(x, layer, kernel, True, attend)
        return self._logits(x[0] if every else x[:, -1], kernel)

    @torch.inference_mode()
    def score(self, tokens: torch.Tensor, top: int = 0, kernel: str | None = None,
              chunk: int = 512, adapter: Adapter | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Log-probabilities of a prompt's own tokens: for each position after the first, the logprob of the
        token there given the ones before, and the ``top`` most likely tokens with theirs. A forward pass of
        its own (no cache, none of the engine's per-step state: ``adapter``'s terms are its own too), so it
        may run beside the engine; ``kernel`` (default: the one a prefill of this length uses) picks the
        matmuls."""
        return self.score_many([tokens], top, kernel, chunk, adapter)[0]

    @torch.inference_mode()
    def score_many(self, prompts: list[torch.Tensor], top: int = 0, kernel: str | None = None, chunk: int = 512,
                   adapter: Adapter | None = None) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """``score`` of several prompts, in one forward pass where each alone would use the same matmul kernel
        (right-padded: under the causal mask a real token never sees the padding after it), so the scores are
        those each prompt gets alone; prompts whose kernels differ are scored one at a time."""
        lengths = [int(t.shape[0]) for t in prompts]
        kernels = {kernel or self.kernel_for(n) for n in lengths}
        if len(kernels) > 1:
            return [self.score_many([t], top, kernel, chunk, adapter)[0] for t in prompts]
        chosen = kernels.pop()
        p = max(lengths)
        tokens = torch.zeros(len(prompts), p, dtype=torch.long)
        for j, t in enumerate(prompts):
            tokens[j, : lengths[j]] = t
        x = self._forward_full(tokens, chosen, lora=self._terms_of(adapter) if adapter else False)
        out: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        for j, n in enumerate(lengths):
            hidden = x[j, : n - 1]  # position i predicts token i + 1
            targets = tokens[j, 1:n]
            token_lp = torch.empty(n - 1)
            top_v = torch.empty(n - 1, top)
            top_i = torch.empty(n - 1, top, dtype=torch.long)
            for start in range(0, n - 1, chunk):  # the vocabulary projection a chunk at a time: [chunk, V] floats
                end = min(start + chunk, n - 1)
                logp = torch.log_softmax(self._logits(hidden[start:end], chosen, targets[start:end]), dim=-1)
                token_lp[start:end] = logp.gather(1, targets[start:end].unsqueeze(1)).squeeze(1)
                if top:
                    values, ids = logp.topk(top, dim=-1)
                    top_v[start:end], top_i[start:end] = values, ids
            out.append((token_lp, top_v, top_i))
        return out

    def _native_decode(self, positions: torch.Tensor) -> DecodeAttention:
        """Rotary, cache write and attention for layer ``i`` in one call of the native kernel."""
        assert self.native is not None
        kernel, hq, scale = self.native.decode_attention, self.n_heads, self.scale

        def attention(i: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            return kernel(q, k, v, self.k_cache[i], self.v_cache[i], positions, self._cos32, self._sin32, hq, scale)

        return attention

    def _torch_decode(self, positions: torch.Tensor) -> DecodeAttention:
        """The same in torch ops: over views of the cache, masked past each sequence's length."""
        b, d, hq, hk = positions.shape[0], self.head_dim, self.n_heads, self.n_kv
        group = hq // hk
        t = int(positions.max()) + 1
        cos = self.cos[positions].unsqueeze(1)  # [B, 1, d]
        sin = self.sin[positions].unsqueeze(1)
        mask = torch.arange(t).unsqueeze(0) > positions.unsqueeze(1)  # [B, T], True = not yet written
        bias = torch.zeros(b, t).masked_fill_(mask, float("-inf")).view(b, 1, 1, t)
        rows = torch.arange(b)

        def attention(i: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            q = self._rope(q.view(b, hq, d), cos, sin)
            self.k_cache[i, rows, :, :, positions] = self._rope(k.view(b, hk, d), cos, sin).to(self.cache_dtype)
            self.v_cache[i, rows, :, positions] = v.view(b, hk, d).to(self.cache_dtype)
            keys_t = self.k_cache[i, :b, :, :, :t]  # [B, hk, d, T], a view
            values = self.v_cache[i, :b, :, :t]  # [B, hk, T, d], a view
            scores = torch.matmul(q.view(b, hk, group, d).to(self.cache_dtype), keys_t)
            probs = torch.softmax(scores.float() * self.scale + bias, dim=-1).to(self.cache_dtype)
            return torch.matmul(probs, values).reshape(b, hq * d)  # [B, hk, group, d]

        return attention

    @torch.inference_mode()
    def decode(self, tokens: torch.Tensor, positions: torch.Tensor, kernel: str | None = None) -> torch.Tensor:
        """One token for each of the sequences in slots ``0..B-1``; their next-token logits ``[B, V]``."""
        b = tokens.shape[0]
        kernel = kernel or self.kernel_for(b)
        x = self.embed[tokens]
        x = x.float()  # the residual stream stays float32 (bf16 rounding of it cost 0.7% top-1 agreement)
        attention = self._native_decode(positions) if self.native is not None else self._torch_decode(positions)
        interrupt = self.interrupt
        for i, layer in enumerate(self.layers):
            if interrupt is not None and interrupt():
                raise StepInterrupted
            x = self._block(x, layer, kernel, True, partial(attention, i))
        return self._logits(x, kernel)
