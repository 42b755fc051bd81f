"""A llama forward pass in torch for small models on CPU: RMSNorm, rotary positions, grouped-query
attention over a key/value cache, SiLU-gated MLP, output tied to the embedding when the file has
no output matrix. Weights come from `gguf_file` as llama.cpp lays them out."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from voxhub.llm.gguf_file import GgufModel, LlamaConfig


class _Linear:
    """`x @ weight.T`, in float32 or with int8 weights (fbgemm's dynamic quantisation).

    Decoding one token reads every weight once, so on CPU it is bound by memory bandwidth:
    int8 weights read a quarter of the bytes and decode about 3x faster. Per output channel,
    int8 keeps the Q4 file's precision."""

    def __init__(self, weight: torch.Tensor, int8: bool) -> None:
        self.weight: torch.Tensor | None = None
        self.packed: Any = None
        if not int8:
            self.weight = weight
            return
        scale = (weight.abs().amax(dim=1).clamp_min(1e-8) / 127).double()
        zero = torch.zeros(weight.shape[0], dtype=torch.long)
        with warnings.catch_warnings():
            # Quantized tensors are deprecated for a future torch; torch is pinned, and this
            # is only the load-time packing (the kernel call itself does not warn).
            warnings.simplefilter("ignore", UserWarning)
            q = torch.quantize_per_channel(weight.float(), scale, zero, 0, torch.qint8)
            self.packed = torch.ops.quantized.linear_prepack(q, None)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is not None:
            return torch.ops.quantized.linear_dynamic(x, self.packed, True)
        assert self.weight is not None
        return F.linear(x, self.weight)


@dataclass
class _Layer:
    attn_norm: torch.Tensor
    qkv: _Linear  # q, k and v stacked: one matmul instead of three
    out: _Linear
    ffn_norm: torch.Tensor
    gate_up: _Linear  # gate and up stacked
    down: _Linear


class Llama:
    """Weights, a key/value cache of `context` positions, and `forward` over new tokens."""

    def __init__(self, model: GgufModel, context: int, int8: bool = True) -> None:
        cfg = model.config
        self.config = cfg
        self.context = min(context, cfg.context)
        w = model.tensors
        dtype = torch.float32

        def t(name: str) -> torch.Tensor:
            return torch.tensor(w[name], dtype=dtype)  # a copy: the reader's arrays are read-only

        def lin(*names: str, exact: bool = False) -> _Linear:
            return _Linear(torch.cat([t(n) for n in names]), int8 and not exact)

        self.embed = t("token_embd.weight")
        self.head = lin("output.weight" if "output.weight" in w else "token_embd.weight")
        self.norm = t("output_norm.weight")
        self.layers = [
            _Layer(
                attn_norm=t(f"blk.{i}.attn_norm.weight"),
                qkv=lin(*(f"blk.{i}.attn_{x}.weight" for x in "qkv")),
                out=lin(f"blk.{i}.attn_output.weight"),
                ffn_norm=t(f"blk.{i}.ffn_norm.weight"),
                gate_up=lin(f"blk.{i}.ffn_gate.weight", f"blk.{i}.ffn_up.weight"),
                # The down projection's input (SiLU(gate) * up) has the outliers that int8
                # activations lose most on: kept in float32, it halves the divergence from
                # the float32 model (KL 0.25 -> 0.11 nats a token) for a fifth of the speed.
                down=lin(f"blk.{i}.ffn_down.weight", exact=True),
            )
            for i in range(cfg.layers)
        ]
        shape = (cfg.layers, 1, cfg.kv_heads, self.context, cfg.head_dim)
        # Uninitialised: attention reads only the positions written, and untouched pages of a
        # long window cost no memory until a conversation reaches them.
        self.k_cache = torch.empty(shape, dtype=dtype)
        self.v_cache = torch.empty(shape, dtype=dtype)
        self.cos, self.sin = _rotary_tables(cfg, self.context, dtype)
        self.dtype = dtype

    @torch.inference_mode()
    def forward(self, ids: list[int], start: int) -> torch.Tensor:
        """Logits (float32) of the token after `ids`, which sit at positions `start`...; the
        cache keeps positions before `start` from earlier calls."""
        cfg = self.config
        n = len(ids)
        end = start + n
        if end > self.context:
            raise ValueError(f"{end} positions exceed the context of {self.context}")
        x = self.embed[torch.tensor(ids)].unsqueeze(0)  # (1, n, dim)
        cos, sin = self.cos[start:end], self.sin[start:end]
        hd, q_dim, kv_dim = cfg.head_dim, cfg.dim, cfg.kv_heads * cfg.head_dim
        # A new block attends causally to itself and to everything cached before it.
        mask = None
        if n > 1:
            mask = torch.ones(n, end, dtype=torch.bool).tril(diagonal=start)
        for i, layer in enumerate(self.layers):
            h = F.rms_norm(x, (cfg.dim,), layer.attn_norm, cfg.norm_eps)
            q, k, v = layer.qkv(h).split([q_dim, kv_dim, kv_dim], dim=-1)
            q = _rotate(q.view(1, n, cfg.heads, hd), cos, sin).transpose(1, 2)
            k = _rotate(k.view(1, n, cfg.kv_heads, hd), cos, sin).transpose(1, 2)
            self.k_cache[i, :, :, start:end] = k
            self.v_cache[i, :, :, start:end] = v.view(1, n, cfg.kv_heads, hd).transpose(1, 2)
            attn = F.scaled_dot_product_attention(
                q,
                self.k_cache[i, :, :, :end],
                self.v_cache[i, :, :, :end],
                attn_mask=mask,
                enable_gqa=True,
            )
            x = x + layer.out(attn.transpose(1, 2).reshape(1, n, cfg.dim))
            h = F.rms_norm(x, (cfg.dim,), layer.ffn_norm, cfg.norm_eps)
            gate, up = layer.gate_up(h).chunk(2, dim=-1)
            x = x + layer.down(F.silu(gate) * up)
        last = F.rms_norm(x[0, -1], (cfg.dim,), self.norm, cfg.norm_eps)
        return self.head(last.unsqueeze(0))[0].float()


def _rotary_tables(cfg: LlamaConfig, context: int, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    half = cfg.head_dim // 2
    freqs = cfg.rope_base ** (-torch.arange(half, dtype=torch.float64) * 2 / cfg.head_dim)
    angles = torch.arange(context, dtype=torch.float64)[:, None] * freqs[None, :]
    # (positions, 1 head axis to broadcast, half)
    return angles.cos()[:, None, :].to(dtype), angles.sin()[:, None, :].to(dtype)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    # llama.cpp's GGUF files order q and k so that each rotated pair is adjacent (x0, x1).
    # The pairs come back as two halves, not interleaved: q and k get the same order, and a
    # dot product does not depend on the order of dimensions.
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.cat([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1)
