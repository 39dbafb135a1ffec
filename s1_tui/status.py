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
    first_token: float | None = None
    last_token: float | None = None

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
    now: float = 0.0  # the app's clock, for the rate while runs stream


def bar(used: int, budget: int | str | None, width: int = 16) -> str:
    """A budget bar, `▕███░░▏ used/budget`; just `used/budget` when the budget is no number."""
    if not isinstance(budget, int) or budget <= 0:
        return f"{used}/{budget or 'auto'}"
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


def rate(runs: Sequence[RunFigures], now: float) -> str:
    """Tokens per second over all runs, from the first token to the last (or to now)."""
    firsts = [r.first_token for r in runs if r.first_token is not None]
    lasts = [r.last_token for r in runs if r.last_token is not None]
    if not firsts or not lasts:
        return "– tok/s"
    end = max(lasts) if all(r.done for r in runs) else now
    span = end - min(firsts)
    tokens = sum(r.tokens for r in runs)
    if span <= 0 or tokens < 2:
        return "– tok/s"
    return f"{tokens / span:.1f} tok/s"


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
    if any(r.thinking_now for r in s.runs if not r.done):
        return "thinking"
    return "answering"


def status_line(s: StatusSnapshot) -> str:
    """The whole status line: model · backend │ budget │ answer │ rate │ steering │ state."""
    parts = [f"{s.model} · {s.backend}"]
    if not s.columns:
        run = s.runs[0] if s.runs else None
        r = run or RunFigures(budget=s.idle_budget)
        parts.append(f"think {bar(r.thinking_tokens, r.budget, 12)}")
        parts.append(f"answer {r.answer_tokens}")
        parts.append(rate(s.runs, s.now))
        who = ",".join(f"{k} {v}" for k, v in sorted(r.waits.items()))
        parts.append(f"Wait {sum(r.waits.values())}" + (f" ({who})" if who else ""))
        ends = ",".join(sorted(r.ends))
        parts.append(f"end {sum(r.ends.values())}" + (f" ({ends})" if ends else ""))
        if run is not None and run.armed_waits:
            parts.append(f"armed {run.armed_waits}")
        if run is not None and run.correct is not None:
            parts.append("✔ correct" if run.correct else "✘ wrong")
    else:
        parts.append(f"{s.columns} columns")
        parts.append(rate(s.runs, s.now))
    parts.append(state(s))
    return " │ ".join(parts)


def column_line(r: RunFigures) -> str:
    """A demo column's line: the grade first (what a demo is about), then the figures."""
    ends = ",".join(sorted(r.ends)) or "–"
    line = f"{bar(r.thinking_tokens, r.budget, 6)} ans {r.answer_tokens} W{sum(r.waits.values())} end:{ends}"
    if r.correct is not None:
        line = f"{'✔' if r.correct else '✘'} {r.extracted or '–'} │ {line}"
    elif r.done:
        line += f" {r.finish_reason}"
    return line
