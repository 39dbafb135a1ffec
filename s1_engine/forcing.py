"""The budget-forcing state machine: pure, no backend, no clock, no I/O.

A driver asks `next_step()` what to generate, feeds every sampled token to `feed()`,
and cuts the backend request when `feed()` says so. Interventions (`force_wait`,
`end_thinking`, `inject`, `set_budget`, `stop`) are applied between two tokens.
Every transition is recorded as an `Event` with its cause, and every token carries
its segment and whether it was sampled or forced, so a run can be replayed exactly.

Counting is in token ids, never text. Thinking tokens are every id between the
thinking start and the delimiter, sampled or inserted; the budget caps that count
and is never exceeded, because each backend request asks for at most the tokens left.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from . import events as ev
from .after_s1 import AfterS1
from .alphaone import AlphaOne
from .budget import closing_reserve, thinking_budget
from .confidence import ConfidenceRule
from .deer import Deer
from .errors import S1Error
from .events import Cause, Event, Segment
from .formats import BoundFormat
from .interventions import Interventions, separated
from .policy import CONF_TOP_K, BudgetPolicy
from .steps import PRE_MAX_TOKENS, STOP_STRING_WINDOW, Phase, Step, Tokens

__all__ = ["BudgetForcer", "Phase", "Step", "Tokens"]


class BudgetForcer(Interventions, AfterS1, AlphaOne, Deer, ConfidenceRule):
    """Drives one request through PRE -> THINKING -> ANSWER -> DONE."""

    def __init__(
        self,
        prompt_ids: Sequence[int],
        fmt: BoundFormat,
        policy: BudgetPolicy,
        context_len: int,
        encode: Callable[[str], list[int]],
        decode: Callable[[Sequence[int]], str],
    ) -> None:
        self.prompt = list(prompt_ids)
        self.fmt = fmt
        self.policy = policy
        self.context_len = context_len
        self._encode = encode
        self._decode = decode
        if len(self.prompt) >= context_len:
            raise S1Error(
                f"the prompt has {len(self.prompt)} tokens but the context holds {context_len}",
                "shorten the prompt or raise --max-model-len",
            )
        self.out: list[int] = []
        self.segments: list[Segment] = []
        self.forced: list[bool] = []
        self.events: list[Event] = []
        self._outbox: list[Tokens | Event] = []
        self.thinking_tokens = 0
        self.answer_tokens = 0
        self.answer_sampled = 0
        self.ignores_used = 0
        self.user_ignores = 0  # "Wait at the model's next attempt to stop"
        self.waits_inserted = 0  # rotates the ignore strings
        self.think_end_at: int | None = None  # index in `out` where the delimiter starts
        self._after_wait = False  # a Wait was inserted and nothing sampled since
        self.finish_reason: str | None = None
        self._steps = 0
        self._after_s1_init()
        self._alpha_init()
        self._conf_init()
        self.budget = self._effective_budget(policy.max_thinking_tokens)
        self._deer_init()
        self.phase: Phase = "think" if self._thinking_open_in_prompt() else "pre"
        if self.phase == "think":
            self._event(ev.THINK_START, "model")

    # ----- budget ---------------------------------------------------------------
    def _effective_budget(self, budget: int | str) -> int:
        return thinking_budget(
            budget, self.context_len, len(self.prompt), self.fmt, self.policy.answer_max_tokens
        )

    # ----- bookkeeping ----------------------------------------------------------
    def _thinking_open_in_prompt(self) -> bool:
        text = self._decode(self.prompt[-4096:])
        start = text.rfind(self.fmt.fmt.think_start)
        if start < 0:
            return False
        after = text[start:]
        return self.fmt.fmt.think_end not in after and not any(
            s in after for s in self.fmt.fmt.end_of_turn
        )

    def _event(self, kind: str, cause: Cause, text: str = "") -> None:
        e = Event(kind, cause, len(self.out), text, self.thinking_tokens)
        self.events.append(e)
        self._outbox.append(e)

    def _append(self, ids: Sequence[int], segment: Segment, forced: bool) -> None:
        if not ids:
            return
        start = len(self.out)
        self.out.extend(ids)
        self.segments.extend([segment] * len(ids))
        self.forced.extend([forced] * len(ids))
        if segment == "think":
            self.thinking_tokens += len(ids)
        elif segment == "answer":
            self.answer_tokens += len(ids)
        self._outbox.append(Tokens(segment, tuple(ids), forced, start))

    def drain(self) -> list[Tokens | Event]:
        """Everything appended or recorded since the last drain, in order."""
        items, self._outbox = self._outbox, []
        return items

    @property
    def done(self) -> bool:
        return self.phase == "done"

    @property
    def budget_left(self) -> int:
        return max(0, self.budget - self.thinking_tokens)

    # ----- what to generate next ------------------------------------------------
    def next_step(self) -> Step | None:
        """The next backend request, or None when the request is finished."""
        while True:
            if self.phase == "done":
                return None
            ctx_left = self.context_len - len(self.prompt) - len(self.out)
            if self.phase == "think":
                if self._probe is not None:  # DEER: a trial answer first (a side request)
                    if (probe := self._probe_step()) is not None:
                        return probe
                    continue
                if self._apply_scheduled():
                    continue
                n = min(self._thinking_room(), ctx_left - closing_reserve(self.fmt))
                if n <= 0:
                    self._end_thinking("budget")
                    continue
                if self.scheduled_done < len(self._scheduled):  # cut where the next goes in
                    n = min(n, self._scheduled[self.scheduled_done][0] - self.thinking_tokens)
                stop = self.fmt.think_stop_ids | self._single_banned | self._deer_stops
                sampling = self.policy.thinking
                if self._ban_next:  # one token with the suppressed id masked, then as before
                    n = 1
                # As the reference: a request after a forced "Wait" samples at least one
                # token before it may stop (vLLM min_tokens=1), and so does every thinking
                # request of a policy that forces Waits.
                min_tokens = 1 if self._after_wait or self.policy.num_ignore > 0 else 0
            elif self.phase == "answer":
                n = min(self.policy.answer_max_tokens - self.answer_sampled, ctx_left)
                if n <= 0:
                    self._finish("length", "budget")
                    continue
                stop, sampling = self.fmt.answer_stop_ids, self.policy.answer
            else:  # pre
                n = min(PRE_MAX_TOKENS - len(self.out), ctx_left)
                if n <= 0:
                    self._finish("length", "budget")
                    continue
                stop, sampling = self.fmt.answer_stop_ids, self.policy.thinking
            if self.phase != "think":
                min_tokens = 0
            seed = None if sampling.seed is None else sampling.seed + 7919 * self._steps
            step = Step(
                self.prompt + self.out,
                n,
                stop,
                sampling.with_seed(seed),
                self.phase,
                self._steps,
                min(min_tokens, n),
                self._ban_next if self.phase == "think" else frozenset(),
                CONF_TOP_K if self.phase == "think" and self.policy.conf_stop is not None else None,
            )
            self._steps += 1
            return step

    # ----- tokens from the model --------------------------------------------------
    def feed(self, token: int, top: Sequence[float] | None = None) -> bool:
        """Take one sampled token (`top`: its position's k largest log probabilities, if
        the step asked for them). True means: cut the current backend request now."""
        if self.phase == "think":
            self._ban_next = frozenset()
            if token in self.fmt.think_stop_ids:
                self._end_attempt(token)
                return True
            if token in self._banned and self._completes_banned(token):
                return True  # not written: the next request samples again without it
            if token in self._alpha_words and self._alpha_ends_at(token):
                return True
            if token in self._deer_words and self._deer_word(token):
                return True  # held back: a probe first
            self._append([token], "think", False)
            self._after_wait = False
            if self.fmt.think_stop_strings and self._found_stop_string():
                self._end_attempt(None)
                return True
            if top is not None and self._confidence_stops(top):
                return True
            if self.thinking_tokens >= self.budget and not self._in_grace():
                self._end_thinking("budget")
                return True
            if self.policy.alpha and self._alpha_wait():
                return True
            return token in self._deer_stops  # a request stopped on it: go on in a new one
        if self.phase == "answer":
            self.answer_sampled += 1
            if token in self.fmt.answer_stop_ids:
                self._append([token], "delimiter", False)
                self._finish("stop", "model")
                return True
            self._append([token], "answer", False)
            if self.answer_sampled >= self.policy.answer_max_tokens:
                self._finish("length", "budget")
                return True
            return False
        if self.phase == "pre":
            if token in self.fmt.answer_stop_ids:
                self._append([token], "delimiter", False)
                self._finish("stop", "model")
                return True
            self._append([token], "pre", False)
            tail = self._decode(self.out[-STOP_STRING_WINDOW:])
            if self.fmt.fmt.think_end in tail:
                self.phase = "answer"
                return True
            if self.fmt.fmt.think_start in tail:
                self.phase = "think"
                self._event(ev.THINK_START, "model")
                return True
            return False
        return True

    def feed_many(
        self, tokens: Sequence[int], tops: Sequence[Sequence[float]] | None = None
    ) -> bool:
        """`feed` for a batch of tokens (a final-only backend request): the same result,
        with a run of plain thinking tokens appended in one go. True: cut the request."""
        room = self.budget - self.thinking_tokens
        if tops is not None:  # each token's confidence is noted (and may stop thinking)
            return any(self.feed(t, top) for t, top in zip(tokens, tops))
        if (
            self.phase == "think"
            and not self.fmt.think_stop_strings
            and room > 0
            and not self._banned
            and not self.policy.alpha
            and not self._deer_words
        ):
            stops = self.fmt.think_stop_ids
            n = next((i for i, t in enumerate(tokens) if t in stops), len(tokens))
            run = list(tokens[: min(n, room)])
            if run:
                self._append(run, "think", False)
                self._after_wait = False
            if len(run) == room:
                if not self._in_grace():
                    self._end_thinking("budget")
                    return True
                return any(self.feed(t) for t in tokens[room:])  # one at a time in grace
            if n < len(tokens):
                self._end_attempt(tokens[n])
                return True
            return False
        return any(self.feed(t) for t in tokens)

    def on_request_end(self, reason: str) -> None:
        """The backend ended a request by itself, without a token `feed()` cut on.

        "length" needs nothing here: `next_step()` ends thinking or the answer when the
        budget or the context is used up, or continues after a budget change. "stop"
        means the backend stopped on an end token we do not know (e.g. a second EOS
        id from the generation config): while thinking that is an end attempt.
        """
        if reason != "stop":
            return
        if self.phase == "think":
            self._end_attempt(None)
        elif self.phase in ("answer", "pre"):
            self._finish("stop", "model")

    def _found_stop_string(self) -> bool:
        window = self.out[-STOP_STRING_WINDOW:]
        text = self._decode(window)
        hits = [text.find(s) for s in self.fmt.think_stop_strings if s in text]
        if not hits:
            return False
        at = min(hits)
        keep = 0  # the longest prefix of the window that ends before the stop string
        for k in range(len(window), -1, -1):
            if len(self._decode(window[:k])) <= at:
                keep = k
                break
        self.thinking_tokens -= self._take_back(len(self.out) - len(window) + keep)
        return True

    def _take_back(self, at: int) -> int:
        """Drop the output from index `at` on (written, then not to be kept); how many."""
        n = len(self.out) - at
        del self.out[at:], self.segments[at:], self.forced[at:]
        return n

    # ----- transitions --------------------------------------------------------------
    def _end_decision(self) -> Cause | None:
        """Who suppresses an end attempt now (a Wait follows), or None: it is accepted."""
        if self.user_ignores > 0:
            return "user"
        if self._alpha_past():  # AlphaOne: past the alpha moment the policy ends it
            return None
        if self.ignores_used < self.policy.num_ignore:
            return "budget"
        if self.thinking_tokens < self.policy.min_thinking_tokens:
            return "budget"
        return None

    def end_attempt_preview(self) -> int | None:
        """The first id an end attempt now would put in the output, without making one
        (None: nothing; the end is suppressed and sampling goes on). In-engine forcing
        forces this id at the step where its draw says the model tried to end."""
        if self._end_decision() is None:
            return self.fmt.think_end_ids[0] if self.fmt.think_end_ids else None
        strings = self.policy.ignore_strings
        text = strings[self.waits_inserted % len(strings)] if strings else ""
        ids = self._encode(text) if text else []
        if self.thinking_tokens + len(ids) > self.budget:  # no room: the budget ends it
            wrap = self._wrap_up_ids() if self.policy.wrap_up else []
            closing = wrap or (
                ([] if self._ends_in_newline() else list(self.fmt.newline_ids))
                + list(self.fmt.think_end_ids)
            )
            return closing[0] if closing else None
        return ids[0] if ids else None

    def _end_attempt(self, token: int | None) -> None:
        """The model tried to end thinking: suppress it with a "Wait", or accept it."""
        who = self._end_decision()
        if who == "budget" and self._deer_probe_end():
            return  # DEER: the probe decides between the Wait and the end
        if who == "user":
            self.user_ignores -= 1
            self._insert_wait("user")
        elif who == "budget":
            if self.ignores_used < self.policy.num_ignore:
                self.ignores_used += 1
            self._insert_wait("budget")
        elif self._alpha_past():
            self._end_thinking("policy")
        else:
            self._event(ev.END_THINKING, "model")
            self.think_end_at = len(self.out)
            end = list(self.fmt.think_end_ids)
            if token is not None and end and end[0] == token:
                self._append(end[:1], "delimiter", False)
                self._append(end[1:], "delimiter", True)
            else:
                self._append(end, "delimiter", True)
            self.phase = "answer"

    def _insert_wait(self, cause: Cause, text: str | None = None, mid: bool = False) -> bool:
        """The ignore string (or `text`) into the thinking; `mid`: forced by a user in the
        middle of the thinking, where it must not glue onto the word before it."""
        strings = self.policy.ignore_strings
        if text is None:  # no strings: the end is suppressed and nothing is appended
            text = strings[self.waits_inserted % len(strings)] if strings else ""
        if mid and text:
            text = separated(text, self._decode(self.out[-4:]) if self.thinking_tokens else "")
        ids = self._encode(text) if text else []
        if self.thinking_tokens + len(ids) > self.budget:
            self._end_thinking("budget")  # no room left for the whole ignore string
            return False
        self._event(ev.WAIT, cause, text)
        self.waits_inserted += 1
        self._append(ids, "think", True)
        self._after_wait = True
        if self.thinking_tokens >= self.budget:
            self._end_thinking("budget")
        return True

    def _ends_in_newline(self) -> bool:
        tail = (self.prompt + self.out)[-4:]
        return self._decode(tail).endswith("\n")

    def _end_thinking(self, cause: Cause, why: str = "") -> None:
        """A forced end (budget, user or policy; `why`: the event's text): as the reference,
        a newline first unless the thinking already ends in one, then the delimiter (and
        the answer lead-in). At a budget cut the policy's wrap-up sentence goes first (an
        `inject` by "policy")."""
        over = self.thinking_tokens - self.budget
        grace = f"grace {over}" if cause == "budget" and over > 0 else ""
        if cause == "budget" and self.policy.wrap_up:
            ids = self._wrap_up_ids()
            self._event(ev.INJECT, "policy", self._decode(ids))
            self._append(ids, "think", True)
        self._event(ev.END_THINKING, cause, grace or why)
        self.think_end_at = len(self.out)
        if not self._ends_in_newline():
            self._append(self.fmt.newline_ids, "delimiter", True)
        self._append(self.fmt.think_end_ids, "delimiter", True)
        if cause in ("budget", "policy") or (cause == "user" and self.policy.lead_in_on_user_end):
            self._append(self.fmt.lead_in_ids, "answer", True)
        self.phase = "answer"

    def _finish(self, reason: str, cause: Cause) -> None:
        self.finish_reason = reason
        self._event(ev.FINISH, cause, reason)
        self.phase = "done"

    # ----- results ----------------------------------------------------------------------
    def segment_ids(self, segment: Segment) -> list[int]:
        return [t for t, s in zip(self.out, self.segments) if s == segment]
