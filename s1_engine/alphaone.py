"""AlphaOne (arXiv 2505.24863: reasoning models thinking slow, then fast) as a state of the
budget-forcing machine (`BudgetForcer` inherits it).

The alpha moment is at `round(alpha * budget)` thinking tokens, `budget` the request's
thinking budget in tokens (the effective one: "auto" and "fit" resolved, moved by a live
`set_budget`). The paper puts it at alpha times the model's average thinking length N on
the benchmark (alpha = 1.4, N measured per model and task, 8192 tokens the cap); with a
budget B ours is alpha_paper * N / B, which for the paper's 15 settings comes to 0.31-0.79
of its cap (the median 0.53; the `alphaone` preset takes 0.5).

Before the moment ("slow"): after each paragraph break the model writes while thinking (a
sampled thinking token whose text holds "\\n\\n") the ignore string goes in with chance
p_t = alpha_p * (1 - t / T), t the thinking tokens so far (the break's included), T the
moment: the paper's linear annealing, as its reference code (`NewlineWait`, which forces
"Wait" as the next token with p = (T - t) / T, so alpha_p = 1). Each is a `wait` event
caused by "policy"; its tokens are thinking tokens inside the budget (one that would not
fit is left out). The draw is `alpha_draw(seed, n)`: a hash of the request's thinking
seed (0 when it has none) and n, the output tokens so far (the `wait` event's token
index), so every backend and every rerun draws the same.

After the moment ("fast"): the model's next "Wait" (the ignore strings, as written or after
a space, capitalised as given: the whole token sequence it writes itself) or its next
attempt to end thinking becomes the end of thinking: the newline, the delimiter and the
answer lead-in, an `end_thinking` caused by "policy" (its text: the word it replaced, ""
for an end attempt). The reference's second pass does the same: it stops on "Wait" and
replaces it with "</think>". A user's Wait at the end (`force_wait(now=False)`) still wins.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from .after_s1 import banned_sequences

if TYPE_CHECKING:
    from .forcing import BudgetForcer

    _Base = BudgetForcer
else:
    _Base = object

PARAGRAPH = "\n\n"


def alpha_draw(seed: int, index: int) -> float:
    """A uniform draw in [0, 1) from (seed, index) alone: no generator state, so the
    draw at a break is the same whatever happened before it and on whichever backend."""
    digest = hashlib.blake2b(f"alphaone:{seed}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def wait_chance(alpha_p: float, t: int, moment: int) -> float:
    """p_t of the linear schedule: alpha_p at 0 thinking tokens, 0 at the moment and after."""
    return alpha_p * (1 - t / moment) if 0 <= t < moment else 0.0


class AlphaOne(_Base):
    def _alpha_init(self) -> None:
        p = self.policy
        words = (p.ignore_strings or ("Wait",)) if p.alpha else ()
        self._alpha_words = banned_sequences(words, self._encode, lower=False)  # Waits past it

    @property
    def alpha_moment(self) -> int | None:
        """The thinking token count where slow thinking ends (None: AlphaOne is off)."""
        return round(self.policy.alpha * self.budget) if self.policy.alpha > 0 else None

    def _alpha_past(self) -> bool:
        at = self.alpha_moment
        return at is not None and self.thinking_tokens >= at

    def _alpha_wait(self) -> bool:
        """After a sampled token: if it is a paragraph break before the moment and the
        draw says so, the ignore string goes in. True: it did (cut the request)."""
        at, t, strings = self.alpha_moment, self.thinking_tokens, self.policy.ignore_strings
        if at is None or t >= at or not strings or PARAGRAPH not in self._decode(self.out[-1:]):
            return False
        seed = self.policy.thinking.seed or 0
        if alpha_draw(seed, len(self.out)) >= wait_chance(self.policy.alpha_p, t, at):
            return False
        text = strings[self.waits_inserted % len(strings)]
        if t + len(self._encode(text)) > self.budget:
            return False  # no room for the whole string: the budget ends thinking soon
        return self._insert_wait("policy", text)

    def _alpha_ends_at(self, token: int) -> bool:
        """Past the moment, does `token` complete a Wait the model writes itself? Then the
        word is taken back (its earlier tokens too) and thinking ends in its place."""
        if not self._alpha_past():
            return False
        for prefix in self._alpha_words[token]:
            n = len(prefix)
            start = len(self.out) - n
            if n > self.thinking_tokens or tuple(self.out[start:]) != prefix:
                continue
            if any(self.forced[start:]) or any(s != "think" for s in self.segments[start:]):
                continue  # an inserted Wait, or not thinking: not the model's word
            text = self._decode([*prefix, token])
            self.thinking_tokens -= self._take_back(start)
            self._end_thinking("policy", text)
            return True
        return False
