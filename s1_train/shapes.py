"""A model's sizes from its config.json alone (no weights): what its memory depends on.

A local model folder, a hub id whose config is in the local cache (never downloaded),
or a known shape by name: the released Qwen2.5 models ('1.5b', 'qwen2.5-32b',
'Qwen/Qwen2.5-32B-Instruct'; s1-32B and s1.1-32B are Qwen2.5-32B-Instruct).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s1_engine.errors import S1Error


@dataclass(frozen=True)
class Shape:
    """A dense decoder (Qwen2, Llama and their kind): what the memory depends on."""

    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int
    tied: bool
    head_dim: int = 0  # 0: hidden / heads
    qkv_bias: bool = True  # Qwen2 has biases on q, k, v
    name: str = ""

    @property
    def q_dim(self) -> int:
        return self.heads * (self.head_dim or self.hidden // self.heads)

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * (self.head_dim or self.hidden // self.heads)

    @property
    def layer_params(self) -> int:
        h, q, kv = self.hidden, self.q_dim, self.kv_dim
        bias = (q + 2 * kv) if self.qkv_bias else 0
        return h * q + 2 * h * kv + bias + q * h + 3 * h * self.intermediate + 2 * h

    @property
    def root_params(self) -> int:
        """Embeddings, the head when untied, the final norm (FSDP's root unit)."""
        return self.vocab * self.hidden * (1 if self.tied else 2) + self.hidden

    @property
    def params(self) -> int:
        return self.layers * self.layer_params + self.root_params

    def describe(self) -> str:
        return (
            f"{self.layers} layers, hidden {self.hidden:,}, MLP {self.intermediate:,}, "
            f"{self.heads}/{self.kv_heads} heads, vocab {self.vocab:,}, "
            f"{'tied' if self.tied else 'untied'}: {self.params / 1e9:.4g}e9 parameters"
        )


def _qwen(layers: int, h: int, i: int, heads: int, kv: int, vocab: int, tied: bool, name: str):
    return Shape(layers, h, i, heads, kv, vocab, tied, name=name)


# The released Qwen2.5 models' config.json (s1-32B and s1.1-32B are Qwen2.5-32B-Instruct).
KNOWN = {
    "qwen2.5-0.5b": _qwen(24, 896, 4864, 14, 2, 151936, True, "Qwen2.5-0.5B"),
    "qwen2.5-1.5b": _qwen(28, 1536, 8960, 12, 2, 151936, True, "Qwen2.5-1.5B"),
    "qwen2.5-3b": _qwen(36, 2048, 11008, 16, 2, 151936, True, "Qwen2.5-3B"),
    "qwen2.5-7b": _qwen(28, 3584, 18944, 28, 4, 152064, False, "Qwen2.5-7B"),
    "qwen2.5-14b": _qwen(48, 5120, 13824, 40, 8, 152064, False, "Qwen2.5-14B"),
    "qwen2.5-32b": _qwen(64, 5120, 27648, 40, 8, 152064, False, "Qwen2.5-32B"),
    "qwen2.5-72b": _qwen(80, 8192, 29568, 64, 8, 152064, False, "Qwen2.5-72B"),
}
_ALIASES = {"s1-32b": "qwen2.5-32b", "s1.1-32b": "qwen2.5-32b"}


def known_shape(name: str) -> Shape | None:
    """'1.5b', 'qwen2.5-32b', 'Qwen/Qwen2.5-32B-Instruct', 'simplescaling/s1.1-32B', ..."""
    key = name.lower().rsplit("/", 1)[-1].removesuffix("-instruct")
    key = _ALIASES.get(key, key)
    if key in KNOWN:
        return KNOWN[key]
    return KNOWN.get(f"qwen2.5-{key}")


def shape_from_config(cfg: Any, name: str = "") -> Shape:
    """A Shape from a transformers config (or its text part), without any weight."""
    cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    if getattr(cfg, "num_experts", 0) or getattr(cfg, "num_local_experts", 0):
        raise S1Error(
            f"{name or 'this model'} is a mixture of experts: the plan knows dense models only",
            "plan a dense model (Qwen2.5, Llama) or measure a short run",
        )
    try:
        heads = int(cfg.num_attention_heads)
        return Shape(
            layers=int(cfg.num_hidden_layers),
            hidden=int(cfg.hidden_size),
            intermediate=int(cfg.intermediate_size),
            heads=heads,
            kv_heads=int(getattr(cfg, "num_key_value_heads", None) or heads),
            vocab=int(cfg.vocab_size),
            tied=bool(getattr(cfg, "tie_word_embeddings", False)),
            head_dim=int(getattr(cfg, "head_dim", None) or 0),
            qkv_bias=getattr(cfg, "model_type", "") == "qwen2"
            or bool(getattr(cfg, "attention_bias", False)),
            name=name,
        )
    except (AttributeError, TypeError, ValueError) as e:
        raise S1Error(
            f"the config of {name or 'this model'} lacks a decoder's sizes ({e})",
            "plan a decoder model (Qwen2.5, Llama), or a known shape such as 1.5b, 7b, 32b",
        ) from None


def shape_of(model: str | None) -> Shape:
    """The model's shape from its config.json alone: a local folder, a hub id whose config
    is in the local cache (never downloaded), or a known shape by name ('32b')."""
    if model is None:
        from s1_engine.engine import default_model

        model = default_model()
    path = Path(model)
    if path.is_dir() and not (path / "config.json").is_file():
        raise S1Error(f"{model!r} holds no config.json", "give a model folder or a hub id")
    if path.is_dir() or "/" in model:
        from transformers import AutoConfig

        try:
            cfg = AutoConfig.from_pretrained(model, local_files_only=True)
        except (OSError, ValueError):
            known = known_shape(model)
            if known is not None:
                return known
            raise S1Error(
                f"no config.json for {model!r} on this machine (the plan downloads nothing)",
                "give a local model folder, a hub id already downloaded, or a known shape: "
                + ", ".join(sorted(KNOWN)),
            ) from None
        return shape_from_config(cfg, name=model)
    known = known_shape(model)
    if known is None:
        raise S1Error(
            f"no model folder or known shape {model!r}",
            "give a local model folder, a hub id, or a known shape: " + ", ".join(sorted(KNOWN)),
        )
    return known
