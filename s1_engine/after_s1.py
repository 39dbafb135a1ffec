"""The thinking controls published after s1, as states of the budget-forcing machine
(`BudgetForcer` inherits them): a scheduled intervention (thinking intervention, arXiv
2503.24370), a graceful budget cut (a wrap-up sentence and a grace to end the sentence in
progress: the inference side of Elastic Reasoning, arXiv 2505.05315), and suppressed words
(NoWait, arXiv 2506.08343). Each leaves an event with its cause ("policy").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from . import events as ev
from .interventions import separated

if TYPE_CHECKING:
    from .forcing import BudgetForcer

    _Base = BudgetForcer
else:
    _Base = object


class AfterS1(_Base):
    def _after_s1_init(self) -> None:
        self._scheduled = sorted(self.policy.interventions)  # (at thinking token, text)
        self.scheduled_done = 0
        self._banned = banned_sequences(self.policy.suppress, self._encode)  # last id -> prefixes
        self._single_banned = frozenset(t for t, ps in self._banned.items() if () in ps)
        self._ban_next: frozenset[int] = frozenset()

    def _apply_scheduled(self) -> bool:
        """Force the policy's interventions that are due (thinking holds their token
        count): each recorded as an `inject` caused by "policy". True: something went in."""
        applied = False
        while self.scheduled_done < len(self._scheduled):
            at, text = self._scheduled[self.scheduled_done]
            if at > self.thinking_tokens:
                break
            self.scheduled_done += 1
            before = self._decode(self.out[-4:]) if self.thinking_tokens else ""
            ids = self._encode(separated(text, before))[: self.budget_left]
            if not ids:
                continue
            self._event(ev.INJECT, "policy", self._decode(ids))
            self._append(ids, "think", True)
            self._after_wait = False
            applied = True
            if self.thinking_tokens >= self.budget and not self._in_grace():
                self._end_thinking("budget")
                break
        return applied

    def _completes_banned(self, token: int) -> bool:
        """Would `token` complete a suppressed word (after the thinking's last tokens)? Then
        it is recorded as suppressed, and the next request masks it for one token: the
        whole sequence is suppressed, not its ids one by one (as vLLM's `bad_words`)."""
        for prefix in self._banned[token]:
            if not prefix or tuple(self.out[-len(prefix) :]) == prefix:
                self._event(ev.SUPPRESS, "policy", self._decode([*prefix, token]))
                self._ban_next = frozenset({token})
                return True
        return False

    def _wrap_up_ids(self) -> list[int]:
        before = self._decode(self.out[-4:]) if self.thinking_tokens else ""
        return self._encode(separated(self.policy.wrap_up, before))

    def _in_grace(self) -> bool:
        """At or past the budget, may thinking go on to the end of its sentence? While
        `grace_tokens` are left and the last token did not end a sentence."""
        over = self.thinking_tokens - self.budget
        if self.policy.grace_tokens <= 0 or over < 0 or over >= self.policy.grace_tokens:
            return False
        last = self._decode(self.out[-1:]) if self.out else ""
        return not (("\n" in last) or last.rstrip(" ").endswith((".", "!", "?")))

    def _thinking_room(self) -> int:
        """Tokens thinking may still sample: to the budget, or in grace to its end."""
        if self.thinking_tokens >= self.budget and self._in_grace():
            return self.budget + self.policy.grace_tokens - self.thinking_tokens
        return self.budget_left


def banned_sequences(
    words: Sequence[str], encode: Callable[[str], list[int]], lower: bool = True
) -> dict[int, list[tuple[int, ...]]]:
    """The token sequences of each word as a model may write it (as is, lower case unless
    `lower` is False, after a space), by their last id: {last id: [the ids before it, ...]}."""
    out: dict[int, list[tuple[int, ...]]] = {}
    for w in words:
        cases = (w, w.lower()) if lower else (w,)
        for form in dict.fromkeys([*cases, *(" " + c for c in cases)]):
            ids = encode(form)
            if ids and tuple(ids[:-1]) not in out.setdefault(ids[-1], []):
                out[ids[-1]].append(tuple(ids[:-1]))
    return out
