"""A model folder's (or hub id's) tokenizer and end-of-turn ids, for the engine and
for the logits processor in vLLM's worker."""

from __future__ import annotations

from typing import Any

from .errors import S1Error


def load_tokenizer(model: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise S1Error(
            f"cannot load the tokenizer of {model!r}: {first}",
            "check --model: a local model folder, or a hub id on a machine with the hub",
        ) from None


def generation_eos_ids(model: str) -> tuple[int, ...]:
    try:
        from transformers import GenerationConfig

        eos = GenerationConfig.from_pretrained(model).eos_token_id
    except Exception:
        return ()
    if eos is None:
        return ()
    return tuple(eos) if isinstance(eos, list | tuple) else (int(eos),)
