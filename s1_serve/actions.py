"""The control actions, listed once: what each takes, how it is checked and applied.

The server's control route and a request's `interventions` check and apply through this
table; a client builds its control bodies with `body()`; a console names its keys after
`ACTIONS` (each entry says which session method it calls). Nothing else lists them.

The rule for user-forced text (`force_wait` while thinking) is the engine's
(`s1_engine.interventions.separated`, applied by the machine at the token boundary where
the text goes in, so no token can slip in between): it starts a new word ("13-3=1" +
"Wait" reads "13-3=1 Wait", never "13-3=1Wait"). `inject` is verbatim: its text is
exactly what the caller chose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from s1_engine.errors import S1Error
from s1_engine.policy import parse_budget, parse_ignore_str, parse_interventions, parse_suppress

from .errors import RequestError
from .schema import Control

if TYPE_CHECKING:
    from s1_engine.protocols import Steerable


@dataclass(frozen=True)
class Action:
    name: str
    method: str  # the session method it calls
    takes: frozenset[str]  # the fields it may carry
    needs: str | None  # the field it must carry
    help: str
    apply: Callable[[Any, Control], None]  # (session, control)


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "force_wait",
            "force_wait",
            frozenset({"text"}),
            None,
            '"Wait" now (or `text`)',
            lambda s, c: s.force_wait(c.text, now=True),
        ),
        Action(
            "wait_at_end",
            "force_wait",
            frozenset(),
            None,
            "Wait at the model's next attempt to stop",
            lambda s, c: s.force_wait(None, now=False),
        ),
        Action(
            "end_thinking",
            "end_thinking",
            frozenset(),
            None,
            "end thinking now",
            lambda s, c: s.end_thinking(),
        ),
        Action(
            "inject",
            "inject",
            frozenset({"text"}),
            "text",
            "insert `text` as if the model wrote it",
            lambda s, c: s.inject(c.text),
        ),
        Action("stop", "stop", frozenset(), None, "stop generating", lambda s, c: s.stop()),
        Action(
            "set_budget",
            "set_budget",
            frozenset({"budget"}),
            "budget",
            "the thinking budget: tokens or 'auto'",
            lambda s, c: s.set_budget(budget_value(c.budget, "budget")),
        ),
        Action(
            "set_ignore_str",
            "set_ignore_str",
            frozenset({"ignore_str"}),
            "ignore_str",
            "the text of the next Waits (a list rotates)",
            lambda s, c: s.set_ignore_str(ignore_str_value(c.ignore_str, "ignore_str")),
        ),
    )
}
FIELDS = ("text", "budget", "ignore_str")


def body(action: str, **fields: Any) -> dict[str, Any]:
    """A control body for `action` (what a client POSTs), checked against the table."""
    check(Control(action=action, **{k: v for k, v in fields.items() if v is not None}))
    return {"action": action, **{k: v for k, v in fields.items() if v is not None}}


# ----- values, through the engine's own parsers ------------------------------------------
def budget_value(value: Any, name: str) -> int | str:
    """A thinking budget given in a request: a whole number >= 0, 'auto' or 'fit'."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        value = repr(value)
    try:
        return parse_budget(value)
    except S1Error:
        raise RequestError(
            f"{name} must be a whole number >= 0 or 'auto', got {value!r}", param=name
        ) from None


def intervene_value(value: Any) -> tuple[tuple[int, str], ...]:
    """`intervene`: "TEXT@N" or [[N, "TEXT"], ...] (the engine's own reader)."""
    try:
        return parse_interventions(value if isinstance(value, str) else list(value))
    except S1Error as e:
        raise RequestError(e.line(), param="intervene") from None


def suppress_value(value: Any) -> tuple[str, ...]:
    """`suppress`: "Wait|Hmm", a list of words, or "nowait" (the engine's own reader)."""
    try:
        return parse_suppress(value if isinstance(value, str) else "|".join(map(str, value)))
    except S1Error as e:
        raise RequestError(e.line(), param="suppress") from None


def ignore_str_value(value: Any, name: str) -> str | tuple[str, ...]:
    """An ignore string: a string ('Wait', or 'Wait|Hmm' to rotate) or a list to rotate."""
    if isinstance(value, str):
        if not value:
            raise RequestError(f'{name} is empty (e.g. "Wait")', param=name)
        try:
            return parse_ignore_str(value)
        except S1Error as e:
            raise RequestError(f'{name}: {e.problem} (e.g. "Wait|Hmm")', param=name) from None
    if not value or any(not isinstance(s, str) or not s for s in value):
        raise RequestError(
            f'{name} must be a non-empty string or a list of them (e.g. ["Wait", "Hmm"])',
            param=name,
        )
    return value[0] if len(value) == 1 else tuple(value)


# ----- checking and applying -------------------------------------------------------------
def check(c: Control) -> Action:
    """The action of `c`, its fields checked against the table (a 400 otherwise)."""
    action = ACTIONS.get(c.action)
    if action is None:
        raise RequestError(
            f"unknown action {c.action!r} (use one of: {', '.join(ACTIONS)})", param="action"
        )
    given = {k for k in FIELDS if getattr(c, k) is not None}
    if extra := sorted(given - action.takes):
        raise RequestError(f"action {c.action!r} takes no {extra[0]!r}", param=extra[0])
    if action.needs == "text" and not c.text:
        raise RequestError(f"action {c.action!r} needs a non-empty 'text'", param="text")
    if action.needs and getattr(c, action.needs) is None:
        what = {"budget": "'budget' (tokens or 'auto')"}.get(action.needs, repr(action.needs))
        raise RequestError(f"action {c.action!r} needs {what}", param=action.needs)
    if c.action == "force_wait" and c.text == "":
        raise RequestError(
            "action 'force_wait': 'text' is empty (leave it out for the ignore string)",
            param="text",
        )
    if c.budget is not None:
        budget_value(c.budget, "budget")
    if c.ignore_str is not None:
        ignore_str_value(c.ignore_str, "ignore_str")
    return action


def apply(session: Steerable, c: Control) -> None:
    """Queue one checked intervention on a live session."""
    check(c).apply(session, c)
