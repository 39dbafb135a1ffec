"""Procedural reasoning tasks: a seeded generator, a verifier, and s1-style traces.

Every task needs a number of small steps that grows with the instance (the length of
a list, the number of digits), each step short and regular, so a tiny model can learn
to do them one by one, and the answer is only right when every step was done.

Kinds:
- ``sum``: add a list of distinct digits, one running total a step (``8 5: 11+5=16``);
- ``count``: count the even numbers of a list, one number a step (``64 37: odd 2``);
- ``max``: the largest of a list, one comparison a step (``37 82: max 82``);
- ``add``: add two multi-digit numbers column by column, right to left
  (``8+9+1=18 so 887 carry 1``).

A list task may come in two parts (a second line starting with ``and:``). Traces
(`make_trace`) show the steps one by one in the s1 style: some stop after the first
part and continue after "Wait", some make a slip, check it after "Wait" and fix it,
some re-check the last step after "Wait" before they end. `make_sft_rows` turns tasks
into s1K-style rows (question, thinking_trajectories, attempt, solution) for `s1 train`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

KINDS = ("sum", "count", "max", "add")
LIST_KINDS = ("sum", "count", "max")
DOMAIN = {"sum": "arithmetic", "count": "counting", "max": "comparison", "add": "arithmetic"}
# Held-out evaluation tasks are drawn from this seed; training seeds must differ
# (the tiny-s1 recipe also drops any training question that equals a held-out one).
HELD_OUT_SEED = 917_331
HELD_OUT_SIZE = 200
HELD_OUT_KINDS = ("sum", "count", "max")  # the kinds the embedded tiny-s1 model learns

CONCLUDE = "So the answer is {}."
TWO_PART_WAIT = "Wait, there is a second part."
FIX_WAIT = "Wait, {} is wrong. {}"
CHECK_WAIT = "Wait, check: {}. Yes."


@dataclass(frozen=True)
class SyntheticTask:
    """One procedural task. `items` (first part) and `extra` (second part) keep the data."""

    id: str
    question: str
    answer: str
    kind: str
    steps: int
    domain: str
    items: tuple[int, ...] = field(default=())
    extra: tuple[int, ...] = field(default=())

    def to_dict(self) -> dict:
        d = asdict(self)
        d["items"], d["extra"] = list(self.items), list(self.extra)
        return d


# ----- generation -------------------------------------------------------------------
def _split_parts(rng: random.Random, values: list[int], two_part: float) -> tuple[list, list]:
    if len(values) >= 4 and rng.random() < two_part:
        cut = rng.randint(2, len(values) - 2)
        return values[:cut], values[cut:]
    return values, []


LIST_WORD = "list"  # the word before the first item (a step line starts "PREVIOUS ITEM")
PART_WORD = "and"  # the word before the second part's first item


def _list_text(head: str, first: Sequence[int], extra: Sequence[int]) -> str:
    text = f"{head} {LIST_WORD} {' '.join(map(str, first))}"
    if extra:
        text += f"\n{PART_WORD} {' '.join(map(str, extra))}"
    return text


def _make_one(
    kind: str, steps: int, rng: random.Random, index: int, two_part: float
) -> SyntheticTask:
    if kind == "sum":
        n = min(steps, 9)  # distinct digits 1-9: every item is findable by its value
        values = rng.sample(range(1, 10), n)
        first, extra = _split_parts(rng, values, two_part)
        question = _list_text("Add the", first, extra)
        answer = str(sum(values))
        steps = n
    elif kind == "count":
        n = steps
        values = rng.sample(range(10, 100), n)
        first, extra = _split_parts(rng, values, two_part)
        question = _list_text("Count the even numbers in the", first, extra)
        answer = str(sum(1 for v in values if v % 2 == 0))
    elif kind == "max":
        n = steps
        values = rng.sample(range(10, 100), n)
        first, extra = _split_parts(rng, values, two_part)
        question = _list_text("Find the largest in the", first, extra)
        answer = str(max(values))
        steps = n
    elif kind == "add":
        digits = max(2, steps)
        a = rng.randint(10 ** (digits - 1), 10**digits - 1)
        b = rng.randint(10 ** (digits - 1), 10**digits - 1)
        first, extra = [a, b], []
        question = f"Compute {a}+{b}"
        answer = str(a + b)
        steps = digits
    else:
        raise ValueError(f"unknown synthetic task kind {kind!r} (known: {', '.join(KINDS)})")
    return SyntheticTask(
        id=f"syn-{kind}-{index:06d}",
        question=question,
        answer=answer,
        kind=kind,
        steps=steps,
        domain=DOMAIN[kind],
        items=tuple(first),
        extra=tuple(extra),
    )


def make_tasks(
    n: int,
    seed: int = 0,
    kinds: Sequence[str] | None = None,
    min_steps: int = 2,
    max_steps: int = 12,
    two_part: float = 0.15,
) -> list[SyntheticTask]:
    """`n` tasks from `seed` (same seed, same tasks), kinds in turn, steps uniform in range.

    `two_part`: the share of list tasks whose list comes in two parts.
    """
    kinds = tuple(kinds or KINDS)
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"unknown synthetic task kind {k!r} (known: {', '.join(KINDS)})")
    if min_steps < 1 or max_steps < min_steps:
        raise ValueError(f"need 1 <= min_steps <= max_steps, got {min_steps}, {max_steps}")
    rng = random.Random(seed)
    tasks = []
    for i in range(n):
        kind = kinds[i % len(kinds)] if len(kinds) > 1 else kinds[0]
        steps = rng.randint(min_steps, max_steps)
        tasks.append(_make_one(kind, steps, rng, i, two_part))
    return tasks


# ----- verification -----------------------------------------------------------------
_NUM = re.compile(r"-?\d+")
_FINAL = re.compile(r"final answer\s*:?\s*(-?\d+)", re.IGNORECASE)


def extract_answer(answer_text: str) -> str:
    """The number a model's answer gives: after "Final Answer:" if present, else the last."""
    text = answer_text or ""
    m = _FINAL.findall(text)
    if m:
        return m[-1]
    nums = _NUM.findall(text)
    return nums[-1] if nums else ""


def verify(answer_text: str, task: SyntheticTask | dict | str) -> bool:
    """True when `answer_text` states the task's answer (a task, its dict, or the answer)."""
    if isinstance(task, SyntheticTask):
        ref = task.answer
    elif isinstance(task, dict):
        ref = str(task["answer"])
    else:
        ref = str(task)
    got = extract_answer(answer_text)
    try:
        return bool(got) and int(got) == int(ref.strip())
    except ValueError:
        return got.strip() == ref.strip()


# ----- traces ----------------------------------------------------------------------
def _steps(
    task: SyntheticTask, values: Sequence[int], state: int | None, prev: str
) -> tuple[list[str], int]:
    """Step lines over `values`, from `state` (None: nothing done yet).

    Each line starts with the item before (or the word before the list) and the item,
    exactly as they stand in the question, then the step: `8 1: 11+1=12`.
    """
    lines: list[str] = []
    for v in values:
        head = f"{prev} {v}:"
        if task.kind == "sum":
            state = state or 0
            lines.append(f"{head} {state}+{v}={state + v}")
            state += v
        elif task.kind == "count":
            state = state or 0
            if v % 2 == 0:
                state += 1
                lines.append(f"{head} even {state}")
            else:
                lines.append(f"{head} odd {state}")
        elif task.kind == "max":
            state = v if state is None else max(state, v)
            lines.append(f"{head} max {state}")
        prev = str(v)
    assert state is not None
    return lines, state


def _add_steps(a: int, b: int) -> tuple[list[str], int]:
    da, db = str(a)[::-1], str(b)[::-1]
    carry, written, lines = 0, "", []
    for i in range(max(len(da), len(db))):
        x = int(da[i]) if i < len(da) else 0
        y = int(db[i]) if i < len(db) else 0
        s = x + y + carry
        expr = f"{x}+{y}" + (f"+{carry}" if carry else "")
        carry = s // 10
        written = str(s % 10) + written
        last = i == max(len(da), len(db)) - 1
        if last and carry:
            written = "1" + written
            carry = 0
        lines.append(f"{expr}={s} so {written}" + (" carry 1" if carry else ""))
    return lines, int(written)


def _slip(line: str, rng: random.Random) -> str | None:
    """The same step with a wrong result (the last number off by one or two)."""
    m = list(_NUM.finditer(line))
    if not m:
        return None
    last = m[-1]
    wrong = int(last.group()) + rng.choice([-2, -1, 1, 2])
    if wrong < 0:
        wrong = int(last.group()) + 1
    return line[: last.start()] + str(wrong) + line[last.end() :]


def make_trace(
    task: SyntheticTask, rng: random.Random, style: str | None = None
) -> tuple[str, str]:
    """(thinking, attempt) for `task`, in the s1 style.

    `style`: "plain" (the steps, then the conclusion), "fix" (a slip, then "Wait, ...
    is wrong." and the fixed step), "check" (re-check the last step after "Wait"),
    "resume" (two-part tasks: conclude after the first part, then "Wait, there is a
    second part" and go on), "hasty" (two-part tasks: conclude after the first part
    and stop; the attempt is then WRONG unless the second part changes nothing: the
    model of premature stopping that "Wait" forcing repairs). None picks one at random
    (never "hasty").
    """
    if style is None:
        r = rng.random()
        if task.extra and r < 0.6:
            style = "resume"
        elif r < 0.15:
            style = "fix"
        elif r < 0.3:
            style = "check"
        else:
            style = "plain"
    if style in ("resume", "hasty") and not task.extra:
        style = "plain"
    if task.kind == "add":
        lines, result = _add_steps(*task.items)
        part_result = result
    else:
        first_lines, part_result = _steps(task, task.items, None, LIST_WORD)
        if task.extra:
            rest, result = _steps(task, task.extra, part_result, PART_WORD)
        else:
            rest, result = [], part_result
        lines = first_lines + rest
    out: list[str] = []
    if style in ("resume", "hasty"):
        out = first_lines + [CONCLUDE.format(part_result)]
        if style == "hasty":
            return "\n".join(out), f"Final Answer: {part_result}"
        out.append(TWO_PART_WAIT)
        out += rest + [CONCLUDE.format(result)]
    elif style == "fix" and lines:
        j = rng.randrange(len(lines))
        bad = _slip(lines[j], rng)
        out = lines[:j]
        if bad is not None and bad != lines[j]:
            out += [bad, FIX_WAIT.format(_last_number(bad), lines[j])]
        else:
            out.append(lines[j])
        out += lines[j + 1 :] + [CONCLUDE.format(result)]
    elif style == "check" and lines:
        out = lines + [CONCLUDE.format(result), CHECK_WAIT.format(lines[-1])]
    else:
        out = lines + [CONCLUDE.format(result)]
    return "\n".join(out), f"Final Answer: {result}"


def _last_number(line: str) -> str:
    return _NUM.findall(line)[-1]


def make_sft_rows(tasks: Sequence[SyntheticTask], seed: int = 0, hasty: float = 0.0) -> list[dict]:
    """s1K-style rows: question, thinking_trajectories (a list), attempt, solution, ...

    `hasty`: the share of two-part tasks whose trace stops after the first part.
    """
    rng = random.Random(seed)
    rows = []
    for t in tasks:
        style = "hasty" if t.extra and rng.random() < hasty else None
        thinking, attempt = make_trace(t, rng, style)
        rows.append(
            {
                "question": t.question,
                "solution": t.answer,
                "thinking_trajectories": [thinking],
                "attempt": attempt,
                "domain": t.domain,
                "kind": t.kind,
                "steps": t.steps,
            }
        )
    return rows


def held_out_tasks(n: int = HELD_OUT_SIZE) -> list[SyntheticTask]:
    """The fixed held-out split (seed `HELD_OUT_SEED`, never used for training)."""
    return make_tasks(n, seed=HELD_OUT_SEED, kinds=HELD_OUT_KINDS)


def load_task_items() -> list:
    """The held-out split as evaluation `TaskItem`s (for `s1 eval --task synthetic`)."""
    from s1_engine.tasks import TaskItem

    return [TaskItem(t.id, t.question, t.answer, kind="math") for t in held_out_tasks()]
