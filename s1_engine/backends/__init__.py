"""Inference backends behind one protocol: vLLM (fast, batched) and transformers (fallback)."""

from __future__ import annotations

import importlib.util
from typing import Any, Literal

from ..errors import S1Error
from .base import Backend, Chunk, GenerateRequest

BACKENDS = ("auto", "vllm", "hf")
Concurrency = Literal["one", "many"]  # requests at once: picks the backend under "auto"
AUTO_HELP = (
    "auto = vLLM on a GPU; on a CPU-only machine, transformers for live work (generate, "
    "tui: one request at a time, answers in seconds where vLLM takes ~50 s to start) and "
    "vLLM for batch work (eval, curate: thousands of requests batched) and whenever vLLM "
    "engine arguments are given"
)


def _vllm_installed() -> bool:
    return importlib.util.find_spec("vllm") is not None


def _has_gpu() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


def resolve_backend_name(
    name: str, concurrency: Concurrency = "one", vllm_args: bool = False
) -> str:
    """Which backend `name` means here (see AUTO_HELP for 'auto'; vLLM engine arguments
    given under 'auto' ask for vLLM)."""
    if name not in BACKENDS:
        raise S1Error(f"unknown backend {name!r}", "use --backend auto, vllm or hf")
    if name != "auto":
        return name
    if not _vllm_installed():
        return "hf"
    if _has_gpu() or concurrency == "many" or vllm_args:
        return "vllm"
    return "hf"


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


__all__ = [
    "AUTO_HELP",
    "Backend",
    "Chunk",
    "GenerateRequest",
    "Concurrency",
    "make_backend",
    "resolve_backend_name",
]
