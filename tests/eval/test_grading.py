"""The shared grader (s1 eval and s1 curate): math-verify, letters, word answers."""

from __future__ import annotations

import threading

import pytest

from s1_eval.grading import extract_letter, grade


@pytest.mark.parametrize(
    ("answer", "reference", "correct"),
    [
        ("Final Answer: 0.5", "\\frac{1}{2}", True),
        ("so the result is \\boxed{42}.", "42", True),
        ("Final Answer: 7", "8", False),
        ("Final Answer: xa xb xc", "xa xb xc", True),  # words: math-verify reads nothing
        ("xa xb", "xa xb xc", False),
        ("", "3", False),
    ],
)
def test_math(answer, reference, correct):
    assert grade(answer, reference).correct is correct


def test_choice_letters():
    assert extract_letter("Final Answer: (C)") == "C"
    assert extract_letter("The answer is B because") == "B"
    assert grade("\\boxed{D}", "D", "choice").correct
    assert not grade("Final Answer: A", "D", "choice").correct


def test_grading_off_the_main_thread():
    """The engine's loop runs in a thread; math-verify's SIGALRM timeouts must not break it."""
    out = []
    t = threading.Thread(target=lambda: out.append(grade("Final Answer: 12", "12")))
    t.start()
    t.join()
    assert out[0].correct and out[0].extracted == "12"
