"""The one small protocol every inference backend implements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from ..policy import SamplingConfig


@dataclass(frozen=True)
class GenerateRequest:
    """Continue `prompt_ids` by at most `max_tokens`, stopping after any of `stop_ids`."""

    request_id: str
    prompt_ids: list[int]
    max_tokens: int
    sampling: SamplingConfig
    stop_ids: frozenset[int]
    cache_key: str | None = None  # continuations of one session share a key (prefix reuse)
    stream: bool = True  # False: the tokens may come in one chunk at the end (batch work)
    min_tokens: int = 0  # the stop ids are not sampled before this many tokens (vLLM's min_tokens)
    ban_ids: frozenset[int] = frozenset()  # never sampled in this request (logit -inf)
    extra_args: dict[str, Any] | None = None  # vLLM: per-request settings of its processors
    # token probabilities, only where asked (they cost a softmax per token): None = none;
    # 0 = each sampled token's log probability; k = and the k largest of each position
    logprobs: int | None = None


@dataclass
class Chunk:
    """Token ids produced since the last chunk; `finish_reason` is set on the last one.

    With `GenerateRequest.logprobs`: `logprobs[i]` is the log probability of `token_ids[i]`
    and `top_logprobs[i]` the k largest of its position (descending), under the model's raw
    distribution (before temperature, masks and biases: vLLM's "raw_logprobs"); NaN and
    () for a token the backend did not sample (vLLM's stop token it reports apart)."""

    token_ids: list[int]
    finish_reason: str | None = None  # "stop" | "length" | None
    logprobs: list[float] | None = None
    top_logprobs: list[tuple[float, ...]] | None = None


class Backend(Protocol):
    """Start a request from token ids, stream token deltas, abort by closing the stream.

    `generate` is an async generator running on the engine's event loop; closing it
    (`aclose()`, or cancelling the task that iterates it) aborts the request and frees
    its resources.
    """

    name: str
    tokenizer: Any
    max_model_len: int

    def generate(self, request: GenerateRequest) -> AsyncIterator[Chunk]: ...

    async def start(self) -> None: ...

    def num_unfinished(self) -> int:
        """Requests the backend still holds (0 once every stream is closed or done)."""
        ...

    async def shutdown(self) -> None: ...
