"""The tasks s1_data offers to `s1 eval` (entry point group "s1.tasks")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def register(register_task: Callable[..., Any]) -> None:
    """Offer the held-out synthetic split as the task "synthetic"."""
    from .synthetic import load_task_items

    register_task(
        "synthetic",
        load_task_items,
        "procedural reasoning (remainder by subtraction, counting, Euclid; 1-12 steps); "
        "the held-out split the embedded tiny-s1 model never saw",
        instruction="",  # the question alone: tiny-s1 was trained on bare questions
    )
