"""DEER, dynamic early exit in reasoning (arXiv 2504.15895), as a state of the
budget-forcing machine (`BudgetForcer` inherits it).

At a Wait point the machine asks for a probe (`Step.probe`): a side request whose context
is the prompt, the thinking so far, the closing of a forced end (a newline, the delimiter,
the answer lead-in) and nothing after; greedy, at most `deer_probe_tokens` tokens, stopping
at the answer's end ids, with each sampled token's probability. The driver hands its tokens
to `feed_probe`. The confidence is the mean probability of the trial answer's tokens (its
end id left out). At or above `deer_threshold` thinking ends there (an `end_thinking`
caused by "policy", with the confidence), else it goes on as without DEER.

Wait points (the paper's "reasoning transition points"): an end attempt the policy would
suppress with the ignore string (ignores left, the minimum reached: the probe comes before
the Wait goes in), and each ignore string the model writes itself (as the reference, which
stops its thinking request at "Wait": the probe's context ends before the word, the word is
held back and written only if thinking goes on; an exit drops it).

Probes never enter the output: their tokens are not thinking tokens. They are counted apart
(`probes`, `probe_tokens`: requests and generated tokens), as their own compute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import events as ev
from .after_s1 import banned_sequences
from .events import Event
from .policy import SamplingConfig
from .steps import Step

if TYPE_CHECKING:
    from .forcing import BudgetForcer

    _Base = BudgetForcer
else:
    _Base = object


class Deer(_Base):
    def _deer_init(self) -> None:
        self.probes = 0  # trial answers asked for (side requests)
        self.probe_tokens = 0  # tokens they generated (never thinking tokens)
        self._probe: tuple[str, int, int | None] | None = None  # (trigger, at, held id)
        on = self.policy.deer_threshold is not None
        words = self.policy.ignore_strings if on else ()
        self._deer_words = banned_sequences(words, self._encode)  # last id -> its prefixes
        # the one-token forms stop a thinking request (as the reference stops at "Wait"),
        # so a batch request does not run on past a probe point
        self._deer_stops = frozenset(t for t, ps in self._deer_words.items() if () in ps)

    # ----- where probes happen -----------------------------------------------------------
    def _deer_may_exit(self, thinking: int) -> bool:
        return self.policy.deer_threshold is not None and thinking >= (
            self.policy.min_thinking_tokens
        )

    def _deer_probe_end(self) -> bool:
        """At an end attempt the policy suppresses (ignores left): probe first. True: the
        probe is due (the Wait waits for its answer)."""
        if self.user_ignores > 0 or self.ignores_used >= self.policy.num_ignore:
            return False
        if not self._deer_may_exit(self.thinking_tokens):
            return False
        strings = self.policy.ignore_strings
        text = strings[self.waits_inserted % len(strings)] if strings else ""
        if text and self.thinking_tokens + len(self._encode(text)) > self.budget:
            return False  # no room for the Wait: the budget ends thinking anyway
        self._probe = ("end", len(self.out), None)
        return True

    def _deer_word(self, token: int) -> bool:
        """Does `token` complete an ignore string the model writes itself? Then it is held
        back and a probe is due at the word's start. True: cut the request."""
        for prefix in self._deer_words.get(token, ()):
            if prefix and tuple(self.out[-len(prefix) :]) != prefix:
                continue
            at = len(self.out) - len(prefix)
            if not self._deer_may_exit(self.thinking_tokens - len(prefix)):
                return False
            self._probe = ("word", at, token)
            return True
        return False

    def _closing_ids(self, at: int) -> list[int]:
        """What a forced end after out[:at] appends: a newline unless the thinking ends in
        one, the delimiter, the answer lead-in."""
        tail = self._decode((self.prompt + self.out[:at])[-4:])
        nl = [] if tail.endswith("\n") else list(self.fmt.newline_ids)
        return nl + list(self.fmt.think_end_ids) + list(self.fmt.lead_in_ids)

    def _probe_step(self) -> Step | None:
        """The pending probe as a side request, or None when the context has no room for
        one (it is then dropped: thinking goes on)."""
        assert self._probe is not None
        _, at, _ = self._probe
        context = self.prompt + self.out[:at] + self._closing_ids(at)
        n = min(self.policy.deer_probe_tokens, self.context_len - len(context))
        if n <= 0:
            self._resolve_probe(exit_=False)
            return None
        step = Step(
            context,
            n,
            self.fmt.answer_stop_ids,
            SamplingConfig(),  # greedy, as the reference's trial answers
            "think",
            self.probes,  # its own count: the thinking requests' seeds stay as without DEER
            logprobs=0,
            probe=True,
        )
        self.probes += 1
        return step

    # ----- the probe's answer --------------------------------------------------------------
    def feed_probe(self, tokens: Sequence[int], logprobs: Sequence[float] | None) -> None:
        """The probe's tokens and their log probabilities: record it (a `probe` event by
        "policy"), count its cost, and end thinking or go on."""
        if self._probe is None or self.phase != "think":
            return
        _, at, _ = self._probe
        self.probe_tokens += len(tokens)
        lps = list(logprobs or [])
        answer = [
            lp
            for t, lp in zip(tokens, lps)
            if t not in self.fmt.answer_stop_ids and not math.isnan(lp)
        ]
        confidence = sum(math.exp(lp) for lp in answer) / len(answer) if answer else 0.0
        text = self._decode([t for t in tokens if t not in self.fmt.answer_stop_ids]).strip()
        thinking = self.thinking_tokens - (len(self.out) - at)
        e = Event(ev.PROBE, "policy", at, f"confidence {confidence:.3f} · {text!r}", thinking)
        self.events.append(e)
        self._outbox.append(e)
        threshold = self.policy.deer_threshold
        self._resolve_probe(threshold is not None and confidence >= threshold, confidence)

    def _resolve_probe(self, exit_: bool, confidence: float = 0.0) -> None:
        assert self._probe is not None
        trigger, at, held = self._probe
        self._probe = None
        if exit_:
            # the start of an ignore string the model wrote
            self.thinking_tokens -= self._take_back(at)
            self._end_thinking("policy", f"confidence {confidence:.3f}")
        elif trigger == "end":  # as without DEER: the Wait goes in
            self.ignores_used += 1
            self._insert_wait("budget")
        elif held is not None:  # the model's own word, as it wrote it
            self._append([held], "think", False)
            if self.thinking_tokens >= self.budget and not self._in_grace():
                self._end_thinking("budget")
