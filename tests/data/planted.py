"""A synthetic question pool with planted defects, and the numbers a report must show."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

SOLVED = "xa xb xc"  # what the scripted tiny model always answers

TEMPLATES = {
    "11": [
        "What is the remainder when {a}^{b} is divided by the prime {p}?",
        "Find the number of positive divisors of {a}{b} and decide whether it is divisible by {p}.",
        "Find the greatest common divisor of {a}{p} and {b}{a}, then the units digit of their product.",
    ],
    "05": [
        "In how many ways can {a} distinct books be arranged on a shelf if {b} of them must stay together?",
        "How many subsets of a set with {a} elements contain exactly {b} elements and no two consecutive integers?",
    ],
    "51": [
        "A triangle has sides {a}, {b} and {p}. Find the radius of its inscribed circle.",
        "A circle of radius {a} has a chord of length {b}. Find the distance from the chord to the center of the circle.",
    ],
    "60": [
        "Two fair dice are rolled {a} times. What is the probability that a sum of {b} appears at least once?",
        "A coin is flipped {a} times. What is the expected value of the number of runs of {b} heads?",
    ],
    "40": [
        "Find the sum of the first {a} terms of the arithmetic sequence that starts {b}, {p}, and so on.",
        "Compute the infinite sum of the geometric series with first term {a} and ratio 1/{b}.",
    ],
}
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ru",
    "ven",
    "tor",
    "zel",
    "qua",
    "bri",
    "nox",
    "pel",
    "dra",
    "sim",
    "vok",
]


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()


def question(rng: random.Random, code: str) -> str:
    t = rng.choice(TEMPLATES[code])
    story = f"At the {word(rng)} fair, {word(rng)} and {word(rng)} from {word(rng)} pose this."
    return (
        story
        + " "
        + t.format(a=rng.randint(11, 99), b=rng.randint(2, 9), p=rng.choice([7, 11, 13]))
    )


def trace(rng: random.Random, steps: int) -> str:
    return "\n".join(
        f"Step {i + 1}: reduce the {word(rng)} case and check it." for i in range(steps)
    )


EVAL_QUESTIONS = [
    "Let x be the smallest positive integer such that 17 x leaves remainder 5 when divided by 23. Find x.",
    "A regular polygon has interior angles of 156 degrees each. How many sides does the polygon have in total?",
    "How many ordered pairs of positive integers a and b satisfy a times b equal to 360 with a less than b?",
    "The sum of three consecutive odd numbers is 87 and we want the largest of the three numbers here.",
]


@dataclass
class Planted:
    items: list[dict]
    expected: dict[str, int] = field(default_factory=dict)  # reason -> count
    hard: int = 0  # items that survive every filter
    domains: dict[str, int] = field(default_factory=dict)  # code -> survivors

    @property
    def total(self) -> int:
        return len(self.items)


def make_planted(
    seed: int = 0, hard_per_domain: dict[str, int] | None = None, easy: int = 6, no_trace: int = 5
) -> Planted:
    rng = random.Random(seed)
    hard_per_domain = hard_per_domain or {"11": 24, "05": 10, "51": 7, "60": 5, "40": 4}
    items: list[dict] = []
    nid = iter(range(10_000))

    def add(q, answer="17", thinking=None, solution=None, code=None, **kw):
        it = {
            "id": f"q{next(nid):04d}",
            "question": q,
            "solution": solution if solution is not None else f"The answer is \\boxed{{{answer}}}.",
            "answer": answer,
            "thinking": thinking,
            "attempt": None if thinking is None else f"Final Answer: {answer}",
            "planted_domain": code,
        }
        it.update(kw)
        items.append(it)
        return it

    hard_items = []
    codes = list(hard_per_domain)
    no_trace_left = no_trace
    for code, k in hard_per_domain.items():
        for _ in range(k):
            steps = rng.randint(2, 40)
            has_trace = no_trace_left <= 0 or rng.random() > 0.2
            if not has_trace:
                no_trace_left -= 1
            hard_items.append(
                add(
                    question(rng, code),
                    str(rng.randint(100, 999)),
                    trace(rng, steps) if has_trace else None,
                    code=code,
                )
            )
    for i in range(easy):
        code = codes[i % len(codes)]
        add(question(rng, code), SOLVED, trace(rng, rng.randint(2, 40)), solution=SOLVED, code=code)
    expected = {"solved_by_all": easy}

    # broken items
    base = lambda: question(rng, rng.choice(codes))  # noqa: E731
    add(None, planted="missing")
    add("   ", planted="missing")
    add(base(), solution="", planted="missing")
    expected["missing_field"] = 3
    add(base() + " Use the figure below to read off the lengths.", planted="image")
    add(base() + " ![diagram](fig3.png)", planted="image")
    expected["image_reference"] = 2
    art = "\n    +-----+\n    |     |\n    +--+--+\n       |\n    ---+---\n"
    add(base() + art, planted="art")
    add(base() + "\n  /\\\n /  \\\n/____\\\n|    |\n|____|", planted="art")
    expected["ascii_art"] = 2
    add(base().replace("a", "\ufffd", 3), planted="garbled")
    add(base() + " The cafÃ© owner counts the coins.", planted="garbled")
    expected["garbled_encoding"] = 2
    add(base() + " with f(x) = {x + 1", planted="format")
    add(base() + "<div class='q'>&nbsp;</div>", planted="format")
    expected["broken_formatting"] = 2

    # duplicates of hard items (the originals stay)
    for it in hard_items[:2]:
        add(
            "  " + it["question"].upper().replace(" ", "   ") + " ",
            it["answer"],
            it["thinking"],
            planted="exact",
        )
    expected["exact_duplicate"] = 2
    edits = [
        lambda q: q + " Explain briefly.",
        lambda q: q.rsplit(" ", 1)[0] + " center.",
        lambda q: q[:-1] + " exactly?",
    ]
    for it, edit in zip(hard_items[2:5], edits):
        add(edit(it["question"]), it["answer"], it["thinking"], planted="near")
    expected["near_duplicate"] = 3

    # contamination: items that contain evaluation questions
    for q in EVAL_QUESTIONS[:3]:
        add("Solve the following. " + q, "5", trace(rng, 5), planted="eval")
    expected["eval_overlap"] = 3

    rng.shuffle(items)
    domains: dict[str, int] = {}
    for it in hard_items:
        domains[it["planted_domain"]] = domains.get(it["planted_domain"], 0) + 1
    return Planted(items, expected, len(hard_items), domains)


def write_pool(planted: Planted, path: Path) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for it in planted.items:
            f.write(json.dumps(it, ensure_ascii=False) + "\n")
    return path


def write_eval(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for i, q in enumerate(EVAL_QUESTIONS):
            f.write(json.dumps({"id": f"e{i}", "question": q, "answer": "1"}) + "\n")
    return path
