"""The budget-forcing machine inside ONE engine request: each `Step` becomes a stretch
of that request instead of a backend request of its own.

A `StepCursor` walks a machine along the token positions of one engine request. At
position `p` it says what the engine must do (`plan`): force a token the machine
already appended (a Wait, the delimiter, the answer lead-in, injected text), draw
whether the model tries to end thinking (`DRAW`: the end ids compete as sampled;
`end_token` is what an end attempt puts at `p`), sample with the end ids masked
(`MASK`: vLLM's `min_tokens=1` after a Wait), sample freely (`SAMPLE`), or end the
request (`DONE`). What the engine did is fed back: the sampled tokens (lazily, in bulk,
when the cursor next needs them), an end attempt at `p` (`end_attempt`), an
intervention at `p` (`control`).

The same class runs on both sides of the engine: in vLLM's step loop (the logits
processor, `s1_engine.vllm_plugin`), which decides, and in the session, which replays
the request's tokens with the processor's hints and so rebuilds the very same events,
segments and forced mask. Both drive the one machine of `s1_engine.forcing`: the rules
are written once. Under greedy decoding the tokens equal the continuation path's, token
for token: the cursor cuts and continues exactly where that path starts a new request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .forcing import BudgetForcer
from .steps import Step

FORCE, DRAW, MASK, SAMPLE, DONE = "force", "draw", "mask", "sample", "done"


@dataclass(frozen=True)
class Plan:
    """What the engine does at positions [at, until): one kind, one token (FORCE: the
    token at `at`; DRAW: what an end attempt forces, None = nothing, mask and sample)."""

    kind: str
    token: int | None
    at: int
    until: int


class StepCursor:
    def __init__(self, machine: BudgetForcer, eager: bool = False) -> None:
        self.m = machine
        self.eager = eager  # feed every token at once (the replay side: it has them all)
        self.step: Step | None = None
        self.step_at = 0  # the position where the current step's sampled tokens begin
        self._next()

    def _next(self) -> None:
        self.step = self.m.next_step()
        self.step_at = len(self.m.out)

    @property
    def done(self) -> bool:
        return self.step is None

    # ----- feeding what the engine did ------------------------------------------------
    def feed_to(self, tokens: Sequence[int], p: int) -> None:
        """Feed the machine the engine's tokens before position `p` it has not seen."""
        m = self.m
        while self.step is not None and len(m.out) < p:
            left = self.step.max_tokens - (len(m.out) - self.step_at)
            if left <= 0:
                self.m.on_request_end("length")
                self._next()
                continue
            run = tokens[len(m.out) : min(p, len(m.out) + left)]
            if self.step.phase == "think":
                cut = m.feed_many(run)
            else:
                cut = any(m.feed(t) for t in run)
            if cut:
                self._next()

    def end_attempt(self, tokens: Sequence[int], p: int, stop_id: int) -> None:
        """The model tried to end thinking at position `p` with `stop_id`."""
        self.feed_to(tokens, p)
        if self.step is not None and self.step.phase == "think" and len(self.m.out) == p:
            if self.m.feed(stop_id):
                self._next()

    def control(self, tokens: Sequence[int], p: int, apply: Callable[[BudgetForcer], bool]) -> None:
        """An intervention at position `p`: `apply(machine)` says whether it changed the
        context (then the step is cut, as the continuation path starts a new request)."""
        self.feed_to(tokens, p)
        if self.step is not None and apply(self.m):
            self._next()
        elif self.step is not None and self.m.done:
            self.step = None

    def finish(self, tokens: Sequence[int], reason: str) -> None:
        """The engine request ended (`reason`: vLLM's) after `tokens`."""
        self.feed_to(tokens, len(tokens))
        if self.step is not None and len(self.m.out) >= len(tokens):
            left = self.step.max_tokens - (len(self.m.out) - self.step_at)
            self.m.on_request_end("length" if left <= 0 else reason)
            if not self.m.done:
                self._next()
                if self.step is not None:  # ended early (an abort): nothing follows
                    self.m.fail("the engine request ended early")
                    self.step = None

    # ----- what the engine does next --------------------------------------------------
    def plan(self, tokens: Sequence[int], p: int) -> Plan:
        """What to do at position `p` (tokens before `p` are the engine's output)."""
        m = self.m
        while True:
            if self.step is None:
                return Plan(DONE, None, p, 1 << 62)
            if p < len(m.out):
                return Plan(FORCE, m.out[p], p, p + 1)
            if len(m.out) < p:
                self.feed_to(tokens, p)
                continue
            step = self.step
            j = p - self.step_at
            if j >= step.max_tokens:
                self.m.on_request_end("length")
                self._next()
                continue
            end = self.step_at + step.max_tokens
            if step.phase == "pre":  # text decides when thinking starts: one at a time
                return Plan(SAMPLE, None, p, p + 1)
            if step.phase != "think":
                return Plan(SAMPLE, None, p, p + 1 if self.eager else end)
            if j < step.min_tokens:
                return Plan(MASK, None, p, self.step_at + step.min_tokens)
            return Plan(DRAW, m.end_attempt_preview(), p, min(end, p + self._preview_horizon()))

    def _preview_horizon(self) -> int:
        """How many positions from now the machine's answer to an end attempt stays the
        same: until thinking reaches the minimum, or comes so near the budget that the
        ignore string no longer fits (then the answer depends on each token)."""
        m = self.m
        horizon = 1 << 62
        if m.thinking_tokens < m.policy.min_thinking_tokens:
            horizon = m.policy.min_thinking_tokens - m.thinking_tokens
        strings = m.policy.ignore_strings
        longest = max((len(m._encode(s)) for s in strings), default=0)
        room = m.budget - m.thinking_tokens - longest
        return max(1, min(horizon, room + 1 if room >= 0 else 1))
