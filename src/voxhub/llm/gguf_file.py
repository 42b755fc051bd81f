"""Read a llama-architecture GGUF file (the format llama.cpp writes): hyper-parameters, weights
dequantized to float32 (once, at load), the BPE vocabulary and the chat template. Read with
`gguf`, the ggml project's own reader, so every quantisation it knows (Q4_0/1, Q8_0, K-quants...)
loads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LlamaConfig:
    layers: int
    dim: int
    heads: int
    kv_heads: int
    ffn_dim: int
    vocab: int
    context: int
    rope_base: float
    norm_eps: float

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads


@dataclass
class Vocabulary:
    tokens: list[str]
    merges: list[str]
    control: set[int]  # token ids that are markup (<|im_start|>...), never user text
    bos: int | None
    eos: int
    pre: str  # llama.cpp's name for the pre-tokenizer ("smollm", "llama-bpe", "gpt2"...)


class Tensors(Mapping[str, np.ndarray]):
    """The file's tensors by name, each dequantized to float32 when asked for: the caller copies
    it into its own layout, so at most one float32 copy of one tensor exists beside the model
    (all of them at once would be 540 MB more at load for SmolLM2-135M)."""

    def __init__(self, tensors: dict[str, Any]) -> None:
        self._tensors = tensors

    def __getitem__(self, name: str) -> np.ndarray:
        from gguf.quants import dequantize

        t = self._tensors[name]
        array = dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        # `dequantize` gives the row-major shape (GGUF lists dimensions innermost first).
        return array.reshape([int(d) for d in reversed(t.shape)])

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)


@dataclass
class GgufModel:
    name: str
    config: LlamaConfig
    vocab: Vocabulary
    chat_template: str
    tensors: Tensors = field(repr=False)


def read_gguf(path: Path) -> GgufModel:
    """Everything the embedded model needs from `path`; raises ValueError for what it cannot run."""
    from gguf import GGUFReader

    reader = GGUFReader(path)
    meta = {name: _value(f) for name, f in reader.fields.items()}
    arch = meta.get("general.architecture")
    if arch != "llama":
        raise ValueError(f"{path.name}: architecture {arch!r}, only llama is supported")
    if meta.get("tokenizer.ggml.model") != "gpt2":
        raise ValueError(f"{path.name}: tokenizer {meta.get('tokenizer.ggml.model')!r} (need gpt2)")

    def num(key: str) -> Any:
        return meta[f"llama.{key}"]

    tokens = list(meta["tokenizer.ggml.tokens"])
    config = LlamaConfig(
        layers=int(num("block_count")),
        dim=int(num("embedding_length")),
        heads=int(num("attention.head_count")),
        kv_heads=int(num("attention.head_count_kv")),
        ffn_dim=int(num("feed_forward_length")),
        vocab=len(tokens),
        context=int(num("context_length")),
        rope_base=float(meta.get("llama.rope.freq_base", 10000.0)),
        norm_eps=float(num("attention.layer_norm_rms_epsilon")),
    )
    types = list(meta.get("tokenizer.ggml.token_type", []))
    vocab = Vocabulary(
        tokens=tokens,
        merges=list(meta["tokenizer.ggml.merges"]),
        control={i for i, t in enumerate(types) if t == 3},  # 3: llama.cpp's CONTROL
        bos=meta.get("tokenizer.ggml.bos_token_id"),
        eos=int(meta["tokenizer.ggml.eos_token_id"]),
        pre=str(meta.get("tokenizer.ggml.pre", "gpt2")),
    )
    tensors = Tensors({t.name: t for t in reader.tensors})
    return GgufModel(
        name=str(meta.get("general.name") or path.stem),
        config=config,
        vocab=vocab,
        chat_template=str(meta.get("tokenizer.chat_template") or ""),
        tensors=tensors,
    )


def _value(field: Any) -> Any:
    try:
        return field.contents()
    except Exception:  # a field type this reader version cannot turn into Python
        return None
