"""What a user (a key, an API call) may do to a running request, between two tokens:
the interventions of the budget-forcing machine (`BudgetForcer` inherits them). Each is
recorded as an event caused by "user"; each returns whether the context changed (a
driver then cuts the backend request and continues from the new context).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import events as ev
from .events import Segment

if TYPE_CHECKING:
    from .forcing import BudgetForcer

    _Base = BudgetForcer
else:
    _Base = object


class Interventions(_Base):
    def force_wait(self, text: str | None = None, now: bool = True) -> bool:
        """Think longer: insert `text` now, or suppress the model's next end attempt.

        In the answer phase, or once the request finished with an answer, this reopens
        thinking: the answer is dropped and the ignore string follows the thinking, as
        if the model had tried to stop there (the s1 demo: "the model answered too
        early: make it Wait").
        """
        if self.phase == "think":
            if now:
                return self._insert_wait("user", text, mid=True)
            self.user_ignores += 1
            return True
        if self.phase in ("answer", "done") and self.can_reopen():
            if self.phase == "done":
                self.finish_reason = None
            self._take_back(self.think_end_at)
            self.answer_tokens = 0
            self.answer_sampled = 0
            self.think_end_at = None
            self.phase = "think"
            self._event(ev.THINK_START, "user", "reopened")
            return self._insert_wait("user", text)
        return False

    def can_reopen(self) -> bool:
        """Thinking can go on after an answer (or a finished request) with budget left."""
        return (
            self.think_end_at is not None
            and self.thinking_tokens < self.budget
            and (self.phase == "answer" or self.finish_reason in ("stop", "length"))
        )

    def end_thinking(self) -> bool:
        if self.phase in ("think", "pre"):
            self._end_thinking("user")
            return True
        return False

    def inject(self, text: str) -> bool:
        """Insert user text into the current segment (cut to the budget while thinking)."""
        ids = self._encode(text)
        if not ids or self.phase == "done":
            return False
        if self.phase == "think":
            ids = ids[: self.budget_left]
            self._event(ev.INJECT, "user", self._decode(ids))
            self._append(ids, "think", True)
            if self.thinking_tokens >= self.budget:
                self._end_thinking("budget")
            return True
        segment: Segment = "answer" if self.phase == "answer" else "pre"
        self._event(ev.INJECT, "user", text)
        self._append(ids, segment, True)
        return True

    def set_budget(self, budget: int | str) -> None:
        """Change the thinking budget while the request runs. A budget below the tokens
        already thought is raised to them (a key pressed at token n lands a token or two
        later): thinking ends now, and never reads as over its budget."""
        if isinstance(budget, int) and self.phase == "think":
            budget = max(budget, self.thinking_tokens)
        floor = self.policy.min_thinking_tokens
        if isinstance(budget, int):
            floor = min(floor, budget)  # a budget below the minimum lowers the minimum
        self.policy = self.policy.with_(max_thinking_tokens=budget, min_thinking_tokens=floor)
        self.budget = self._effective_budget(budget)
        self._event(ev.BUDGET_CHANGED, "user", str(budget))
        if self.phase == "think" and self.thinking_tokens >= self.budget:
            self._end_thinking("budget")

    def set_ignore_str(self, ignore_str: str | tuple[str, ...]) -> None:
        self.policy = self.policy.with_(ignore_str=ignore_str)

    def fail(self, message: str) -> None:
        """The backend failed: record the error and finish the request (reason 'error')."""
        if self.phase == "done":
            return
        self._event(ev.ERROR, "model", message)
        self._finish("error", "model")

    def stop(self) -> bool:
        if self.phase == "done":
            return False
        self._event(ev.STOP, "user")
        self._finish("stopped", "user")
        return True


def separated(text: str, before: str) -> str:
    """`text` set off from `before` by a space where it would glue onto a word: the rule
    for text a user forces into the thinking (`13-3=1` + `Wait` is `13-3=1 Wait`, never
    `13-3=1Wait`). The machine applies it at the token boundary where the text goes in."""
    if before and not before[-1].isspace() and text and not text[0].isspace():
        return " " + text
    return text


# ----- the one table of interventions: name -> how it acts on the machine ----------------
def _ignore_arg(v: object) -> str | tuple[str, ...]:
    return v if isinstance(v, str) else tuple(v)  # type: ignore[arg-type]


CONTROLS: dict[str, object] = {
    # name: (machine, args) -> whether the context changed (then the request is cut)
    "force_wait": lambda m, a: m.force_wait(a.get("text"), True),
    "wait_at_end": lambda m, a: m.force_wait(a.get("text"), False) and False,
    "end_thinking": lambda m, a: m.end_thinking(),
    "inject": lambda m, a: m.inject(a["text"]),
    "stop": lambda m, a: m.stop(),
    "set_budget": lambda m, a: m.set_budget(a["budget"]) or True,
    "set_ignore_str": lambda m, a: m.set_ignore_str(_ignore_arg(a["ignore_str"])) or False,
}


def control_call(action: str, args: dict) -> object:
    """`machine -> changed` for one intervention by name (see `CONTROLS`)."""
    act = CONTROLS[action]
    return lambda m: bool(act(m, args))  # type: ignore[operator]
