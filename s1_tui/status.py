"""The status line and the demo columns' figure lines, as pure functions of a snapshot
(and the prompt's placeholder).

No Textual here: the main screen takes a `StatusSnapshot` (the engine, every run's
figures, the clock) and shows `status_line(snapshot)`; each demo column shows
`column_line(figures)`. So the text is made in one place and tested without an app.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from s1_engine.engine import DEFAULT_MODEL_DIR, DEFAULT_MODEL_EXAMPLE

EngineStatus = Literal["loading", "ready", "failed"]


@dataclass(frozen=True)
class RunFigures:
    """What the status shows of one run (taken from its trace and its bookkeeping)."""

    thinking_tokens: int = 0
    answer_tokens: int = 0
    budget: int | str = "auto"
    waits: Mapping[str, int] = field(default_factory=dict)  # cause -> count
    ends: Mapping[str, int] = field(default_factory=dict)
    armed_waits: int = 0
    correct: bool | None = None  # graded against --reference; None: not graded
    extracted: str = ""  # the graded answer as read
    finish_reason: str = ""
    error: str = ""
    done: bool = False  # the run ended (its finish event, or its stream ran out)
    thinking_now: bool = True
    active_s: float = 0.0  # seconds it streamed (pauses and the time between runs left out)

    @property
    def tokens(self) -> int:
        return self.thinking_tokens + self.answer_tokens


@dataclass(frozen=True)
class StatusSnapshot:
    model: str
    backend: str
    engine: EngineStatus = "ready"
    runs: Sequence[RunFigures] = ()
    columns: int = 0  # side-by-side demo columns; 0: one run
    idle_budget: int | str = "auto"  # the budget shown before the first run
    pace: float = 0.0  # tokens a second the runs are held to (0: full speed)
    paused: bool = False  # held while the user types text to inject
    controls: str = ""  # the thinking controls after s1 in the policy (see `controls_label`)


def controls_label(
    interventions: Sequence[tuple[int, str]],
    wrap_up: str,
    grace: int,
    suppress: str = "",
    alpha: float = 0.0,
    alpha_p: float = 1.0,
    deer: float | None = None,
    conf_stop: float | None = None,
    conf_window: int = 64,
) -> str:
    """What of the policy goes beyond s1's budget and Waits, in a few words: the footer's
    way of saying which method runs ("nowait · intervene@0 · wrap-up · grace 32",
    "alphaone 0.5")."""
    parts = (
        [suppress if suppress.lower() == "nowait" else f"suppress {suppress}"] if suppress else []
    )
    if alpha:
        parts.append(f"alphaone {alpha:g}" + (f" p {alpha_p:g}" if alpha_p != 1 else ""))
    parts += [f"intervene@{at}" for at, _ in interventions]
    parts += ["wrap-up"] if wrap_up else []
    parts += [f"grace {grace}"] if grace else []
    parts += [f"deer {deer:g}"] if deer is not None else []
    parts += [f"deepconf {conf_stop:g}@{conf_window}"] if conf_stop else []
    return " · ".join(parts)


def bar(used: int, budget: int | str | None, width: int = 16) -> str:
    """A budget bar, `▕███░░▏ used/budget`; just `used/budget` when the budget is no
    number (or `width` is 0)."""
    if not isinstance(budget, int) or budget <= 0 or width <= 0:
        return f"{used}/{'auto' if budget is None or budget == '' else budget}"
    filled = min(width, round(width * used / budget))
    return f"▕{'█' * filled}{'░' * (width - filled)}▏ {used}/{budget}"


def model_name(model: object | None) -> str:
    """The last part of a model's folder or hub id."""
    return str(model or "default model").rstrip("/").split("/")[-1]


def prompt_hint(model: object | None) -> str:
    """The prompt's placeholder: with the embedded model, a question it knows."""
    hint = "Ask a question… (Enter)"
    if model is None or Path(str(model)).resolve() == DEFAULT_MODEL_DIR.resolve():
        hint += f"  e.g. {DEFAULT_MODEL_EXAMPLE}"
    return hint


def rate(runs: Sequence[RunFigures]) -> str:
    """Tokens per second while streaming, summed over the runs (they stream side by
    side); the time a run was paused or waited for a Wait after its answer is left out."""
    rates = [r.tokens / r.active_s for r in runs if r.active_s > 0 and r.tokens >= 2]
    return f"{sum(rates):.1f} tok/s" if rates else "– tok/s"


def state(s: StatusSnapshot) -> str:
    """The last field: the engine while it is not ready, else what the runs do."""
    if s.engine != "ready":
        return {"loading": "loading model…", "failed": "model failed"}[s.engine]
    if not s.runs:
        return "ready"
    if any(r.error for r in s.runs):
        return "error"
    if all(r.done for r in s.runs):
        reasons = sorted({r.finish_reason or "?" for r in s.runs})
        return "done: " + ",".join(reasons)
    if s.paused:
        return "paused"
    if any(r.thinking_now for r in s.runs if not r.done):
        return "thinking"
    return "answering"


@dataclass
class Part:
    """A field of the status line: kept by priority when the line is too long."""

    text: str
    keep: int  # the lowest is shortened (if it can be), then dropped, first
    short: str | None = None


def status_line(s: StatusSnapshot, width: int | None = None) -> str:
    """The whole status line: model · backend │ budget │ answer │ rate │ steering │ state,
    fitted to `width`: less important fields are shortened, then left out; the state
    (what the runs do) always stays."""
    parts = [Part(f"{s.model} · {s.backend}", 75, s.model)]
    if not s.columns:
        run = s.runs[0] if s.runs else None
        r = run or RunFigures(budget=s.idle_budget)
        plain = f"think {bar(r.thinking_tokens, r.budget, 0)}"
        parts.append(Part(f"think {bar(r.thinking_tokens, r.budget, 12)}", 90, plain))
        parts.append(Part(f"answer {r.answer_tokens}", 45))
        parts.append(Part(rate(s.runs), 20))
        who = ",".join(f"{k} {v}" for k, v in sorted(r.waits.items()))
        n = sum(r.waits.values())
        parts.append(Part(f"Wait {n}" + (f" ({who})" if who else ""), 70, f"Wait {n}"))
        ends = ",".join(sorted(r.ends))
        n = sum(r.ends.values())
        parts.append(Part(f"end {n}" + (f" ({ends})" if ends else ""), 65, f"end {n}"))
        if run is not None and run.armed_waits:
            parts.append(Part(f"armed {run.armed_waits}", 40))
        if run is not None and run.correct is not None:
            parts.append(Part("✔ correct" if run.correct else "✘ wrong", 85))
    else:
        parts.append(Part(f"{s.columns} columns", 60))
        parts.append(Part(rate(s.runs), 20))
    if s.pace:
        parts.append(Part(f"pace {s.pace:g}/s", 50))
    if s.controls:
        parts.append(Part(s.controls, 55))
    parts.append(Part(state(s), 1000))
    return fit(parts, width)


def fit(parts: list[Part], width: int | None) -> str:
    """The parts joined, fitted to `width`: first shortened, then dropped, the lowest
    `keep` first."""
    parts = list(parts)

    def text() -> str:
        return " │ ".join(p.text for p in parts)

    while width is not None and len(text()) > width:
        movable = [p for p in parts if p.keep < 1000]
        shorter = [p for p in movable if p.short is not None and p.short != p.text]
        if shorter:
            low = min(shorter, key=lambda p: p.keep)
            low.text, low.short = low.short or "", None
        elif movable:
            parts.remove(min(movable, key=lambda p: p.keep))
        else:
            break
    return text()


def column_line(r: RunFigures) -> str:
    """A demo column's line: the grade first (what a demo is about), then the figures."""
    ends = ",".join(sorted(r.ends)) or "–"
    line = f"{bar(r.thinking_tokens, r.budget, 6)} ans {r.answer_tokens} W{sum(r.waits.values())} end:{ends}"
    if r.correct is not None:
        line = f"{'✔' if r.correct else '✘'} {r.extracted or '–'} │ {line}"
    elif r.done:
        line += f" {r.finish_reason}"
    return line
