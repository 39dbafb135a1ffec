"""The values the budget and pace keys turn, for a run or for the next question (pure)."""

from __future__ import annotations

PACES = (20.0, 10.0, 5.0, 2.0)  # tokens a second p steps through (after full speed)


def next_budget(current: int | str, delta: int) -> int | str:
    """The thinking budget after one press of +/- (`delta` tokens): a word ('fit',
    'auto': as much as fits) becomes one step at the first press; a number stays >= 0."""
    if not isinstance(current, int):
        return abs(delta)
    return max(0, current + delta)


def pace_steps(given: float) -> tuple[float, ...]:
    """What p cycles through: full speed (0), then the paces, with the one given."""
    steps = sorted({*PACES, given} - {0.0}, reverse=True)
    return (0.0, *steps)


def next_pace(current: float, given: float) -> float:
    """The pace after one press of p."""
    steps = pace_steps(given)
    later = [p for p in steps[1:] if p < current] if current else list(steps[1:])
    return later[0] if later else 0.0


def pace_text(pace: float) -> str:
    return f"{pace:g} tokens/s" if pace else "full speed"
