"""Attention for padding-free training without the flash-attn package: `s1_varlen`.

TRL's padding-free collator concatenates a micro-batch's sequences into one row and
passes their boundaries (`cu_seq_lens_q`); the `flash_attention_*` implementations use
them, but need a package the GPU machine may not have. `s1_varlen` attends within each
sequence only, with one causal SDPA call per sequence (PyTorch's own flash kernel, no
mask; a few calls per layer). The boundaries are read to the host once per micro-batch, not
once per layer: `cu_seq_lens_q` is one tensor object for the whole forward (and for the
recomputation of checkpointed layers), and each `.tolist()` of a device tensor waits for
the device to drain; per layer that was 56 waits per micro-batch of a 28-layer model, the
largest share of the idle GPU time in bench/train/gpu_train.md's profile. Every other batch (padded, cached, or inference) goes to
transformers' own SDPA unchanged, so a model trained with it saves and loads like any other.

    from s1_train.attention import register
    register()  # then AutoModelForCausalLM.from_pretrained(..., attn_implementation="s1_varlen")
"""

from __future__ import annotations

import weakref
from typing import Any

NAME = "s1_varlen"
# the last boundaries read, with a weak reference to the tensor they were read from: a hit
# only for that very tensor object (a new micro-batch's tensor may reuse its memory)
_last: tuple[weakref.ref, list[int]] | None = None


def _read(cu: Any) -> list[int]:
    """The boundaries on the host (for a device tensor: a wait for the device)."""
    return [int(x) for x in cu.tolist()]


def _boundaries(kwargs: dict[str, Any]) -> list[int] | None:
    global _last
    cu = kwargs.get("cu_seq_lens_q")
    if cu is None:
        return None
    if _last is not None and _last[0]() is cu:
        return _last[1]
    bounds = _read(cu)
    try:
        _last = (weakref.ref(cu), bounds)
    except TypeError:  # not weak-referenceable (a list): nothing to wait for anyway
        _last = None
    return bounds


def varlen_attention_forward(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[Any, None]:
    """(batch, heads, seq, dim) in, (batch, seq, heads, dim) out, as transformers expects."""
    import torch
    import torch.nn.functional as F
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    packed = attention_mask is None and query.shape[0] == 1 and query.shape[2] == key.shape[2]
    bounds = _boundaries(kwargs) if packed else None
    if not bounds or len(bounds) < 2 or bounds[-1] != query.shape[2]:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    gqa = query.shape[1] != key.shape[1]
    parts = [
        F.scaled_dot_product_attention(
            query[:, :, a:b],
            key[:, :, a:b],
            value[:, :, a:b],
            dropout_p=dropout if module.training else 0.0,
            scale=scaling,
            is_causal=True,
            enable_gqa=gqa,
        )
        for a, b in zip(bounds[:-1], bounds[1:])
        if b > a
    ]
    out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=2)
    return out.transpose(1, 2).contiguous(), None


def _mask(*args: Any, **kwargs: Any) -> Any:
    """No mask for a padding-free batch (the boundaries come with it); SDPA's otherwise."""
    from transformers.masking_utils import sdpa_mask

    q_length, kv_length = kwargs.get("q_length"), kwargs.get("kv_length")
    if kwargs.get("attention_mask") is None and q_length is not None and q_length == kv_length:
        return None
    return sdpa_mask(*args, **kwargs)


def register() -> str:
    """Make `attn_implementation="s1_varlen"` known to transformers; returns the name."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(NAME, varlen_attention_forward)
    AttentionMaskInterface.register(NAME, _mask)
    return NAME
