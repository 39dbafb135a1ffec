"""Inference backends behind one protocol: vLLM (fast, batched) and transformers (fallback)."""

from __future__ import annotations

from typing import Any

from ..errors import S1Error
from .base import Backend, Chunk, GenerateRequest

BACKENDS = ("auto", "vllm", "hf")


def resolve_backend_name(name: str) -> str:
    """'auto' takes vLLM when it imports, else transformers."""
    if name not in BACKENDS:
        raise S1Error(f"unknown backend {name!r}", "use --backend auto, vllm or hf")
    if name == "auto":
        from .vllm import vllm_available

        return "vllm" if vllm_available() else "hf"
    return name


def make_backend(name: str, model: str, tokenizer: Any, **kwargs: Any) -> Backend:
    name = resolve_backend_name(name)
    if name == "vllm":
        from .vllm import VLLMBackend, vllm_available

        if not vllm_available():
            raise S1Error(
                "vLLM is not installed or does not import",
                "pip install 's1-console[cpu]' (CPU) or 's1-console[gpu]', or use --backend hf",
            )
        return VLLMBackend(model, tokenizer, **kwargs)
    from .hf import HFBackend

    return HFBackend(model, tokenizer, **kwargs)


__all__ = ["Backend", "Chunk", "GenerateRequest", "make_backend", "resolve_backend_name"]
