"""What happens during one request, as a typed record that can be replayed.

Two kinds of event travel on a session's stream: `TokenDelta` (text the model wrote
or that was inserted, tagged by segment) and `Event` (a budget-forcing transition,
with who caused it). `Result` is the finished request.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Cause = Literal["model", "budget", "user", "policy"]  # policy: a rule of the request's policy
Segment = Literal["pre", "think", "delimiter", "answer"]

# Event kinds
THINK_START = "think_start"  # thinking began (tag in the prompt or in the output)
WAIT = "wait"  # an ignore string was inserted (an end attempt suppressed, or forced)
END_THINKING = "end_thinking"  # the thinking delimiter was appended
INJECT = "inject"  # user text inserted
SUPPRESS = "suppress"  # the model began a word the policy suppresses: its last token undone
PROBE = "probe"  # DEER: a trial answer at a Wait point (text: its confidence and its tokens)
BUDGET_CHANGED = "budget_changed"
STOP = "stop"  # generation stopped by the user
FINISH = "finish"  # the request ended (text = finish reason)
ERROR = "error"


@dataclass(frozen=True)
class Event:
    """One transition of the budget-forcing machine."""

    kind: str
    cause: Cause
    token_index: int  # number of generated tokens (all segments) before this event
    text: str = ""  # text inserted, if any
    thinking_tokens: int = 0  # thinking tokens at the moment of the event

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TokenDelta:
    """New tokens of one segment, with their decoded text."""

    segment: Segment
    token_ids: tuple[int, ...]
    text: str
    forced: bool  # inserted by the engine or the user, not sampled
    thinking_tokens: int
    answer_tokens: int


StreamItem = TokenDelta | Event


@dataclass
class Result:
    """A finished request: what the model saw and wrote, and how it was steered."""

    prompt_ids: list[int]
    output_ids: list[int]
    thinking: str
    answer: str
    thinking_tokens: int
    answer_tokens: int
    events: list[Event] = field(default_factory=list)
    finish_reason: str = ""
    seconds: float = 0.0
    forced_mask: list[bool] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)  # each output id's segment
    # DEER's trial answers (side requests): how many, and the tokens they generated; not
    # thinking tokens (they never enter the output), counted apart as their own compute
    probes: int = 0
    probe_tokens: int = 0
    # DeepConf: each sampled thinking token's confidence, where the policy measured it
    token_confidences: list[float] = field(default_factory=list)

    def text_ids(self, *segments: str) -> list[int]:
        """The output ids of these segments ("pre", "think", "delimiter", "answer")."""
        return [t for t, s in zip(self.output_ids, self.segments) if s in segments]

    def count(self, kind: str, cause: Cause | None = None) -> int:
        return sum(1 for e in self.events if e.kind == kind and (cause is None or e.cause == cause))

    def to_dict(self) -> dict:
        return {
            "thinking": self.thinking,
            "answer": self.answer,
            "thinking_tokens": self.thinking_tokens,
            "answer_tokens": self.answer_tokens,
            "events": [
                {"kind": e.kind, "cause": e.cause, "token_index": e.token_index, "text": e.text}
                for e in self.events
            ],
            "finish_reason": self.finish_reason,
            "seconds": round(self.seconds, 4),
            **({"probes": self.probes, "probe_tokens": self.probe_tokens} if self.probes else {}),
        }
