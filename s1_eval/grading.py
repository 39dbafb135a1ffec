"""Grading answers: math-verify for math, letter matching for multiple choice.

One grader for `s1 eval` and for `s1 curate`'s difficulty filter, so "solved" means
the same thing in both.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

LETTERS = "ABCDEFGHIJ"
_FINAL = re.compile(r"final answer\s*[:：]?\s*(.*)", re.IGNORECASE | re.DOTALL)
_LETTER_PATTERNS = [
    re.compile(r"\\boxed\{\s*\(?([A-J])\)?\s*\}"),
    re.compile(r"(?:final answer|answer)\s*(?:is)?\s*[:：]?\s*\(?\**([A-J])\b\)?", re.IGNORECASE),
    re.compile(r"^\s*\(?([A-J])[\).:]?\s*$", re.MULTILINE),
    re.compile(r"\(([A-J])\)"),
]


@dataclass(frozen=True)
class Grade:
    extracted: str  # what was read from the answer ("" if nothing)
    correct: bool


def _timeouts_allowed() -> bool:
    # math-verify's timeouts use SIGALRM, which only works in the main thread.
    return threading.current_thread() is threading.main_thread()


def _focus(answer: str) -> str:
    """Prefer what follows "Final Answer:" when the model wrote it."""
    m = _FINAL.search(answer or "")
    return m.group(1) if m and m.group(1).strip() else (answer or "")


def grade_math(answer: str, reference: str) -> Grade:
    from math_verify import parse, verify

    timeout = 5 if _timeouts_allowed() else None
    text = _focus(answer)
    pred = parse(text, parsing_timeout=timeout)  # type: ignore[arg-type]
    ref = reference if "$" in reference or "\\" in reference else f"${reference}$"
    gold = parse(ref, parsing_timeout=timeout)  # type: ignore[arg-type]
    if not gold:
        gold = parse(reference, parsing_timeout=timeout)  # type: ignore[arg-type]
    extracted = ""
    if pred:
        extracted = pred[-1] if isinstance(pred[-1], str) else str(pred[0])
    ok = bool(pred) and bool(gold) and verify(gold, pred, timeout_seconds=timeout)
    if not ok and pred and gold:
        # plain string equality catches answers sympy cannot parse (names, words)
        ok = _norm(extracted) == _norm(reference)
    if not pred:
        # math-verify read nothing (a word answer): the whole focused text must match
        extracted = text.strip()
        ok = bool(extracted) and _norm(extracted) == _norm(reference)
    return Grade(str(extracted), bool(ok))


def extract_letter(answer: str) -> str:
    text = answer or ""
    for pattern in _LETTER_PATTERNS:
        found = pattern.findall(text)
        if found:
            return found[-1].upper()
    return ""


def grade_choice(answer: str, reference: str) -> Grade:
    letter = extract_letter(answer)
    return Grade(letter, bool(letter) and letter == reference.strip().upper()[:1])


def grade(answer: str, reference: str, kind: str = "math") -> Grade:
    """Grade `answer` against `reference`; kind is "math" or "choice"."""
    if kind == "choice":
        return grade_choice(answer, reference)
    return grade_math(answer, reference)


def _norm(s: str) -> str:
    return re.sub(r"\s+", "", str(s)).strip("$.").lower()
