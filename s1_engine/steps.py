"""What the budget-forcing machine asks of a backend (`Step`) and what it appends
(`Tokens`): the small records between the machine and the session that drives it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .events import Segment
from .policy import SamplingConfig

Phase = Literal["pre", "think", "answer", "done"]
PRE_MAX_TOKENS = 256  # tokens a model may write before it opens thinking by itself
STOP_STRING_WINDOW = 24  # tokens decoded to look for a multi-token stop string


@dataclass(frozen=True)
class Step:
    """One backend request: continue `context_ids` by at most `max_tokens`."""

    context_ids: list[int]
    max_tokens: int
    stop_ids: frozenset[int]
    sampling: SamplingConfig
    phase: Phase
    number: int  # 0, 1, 2, ... per machine; seeds and request ids derive from it
    min_tokens: int = 0  # the stop ids may not be sampled before this many tokens
    ban_ids: frozenset[int] = frozenset()  # ids never sampled in this request (NoWait)
    logprobs: int | None = None  # the sampled tokens' probabilities (and the top k) are asked
    probe: bool = False  # a side request (DEER's trial answer): its tokens go to `feed_probe`


@dataclass(frozen=True)
class Tokens:
    """Raw ids appended to the output (the session turns them into a TokenDelta)."""

    segment: Segment
    ids: tuple[int, ...]
    forced: bool
    start: int  # index in the output where these ids begin
