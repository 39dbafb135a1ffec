"""s1_data: curation of s1K-style reasoning sets, and synthetic reasoning tasks."""

from __future__ import annotations


def _register_tasks() -> None:
    """Offer the held-out synthetic split to `s1 eval` as the task "synthetic"."""
    try:
        from s1_engine.tasks import register_task
    except ImportError:  # the task registry is not in this engine yet
        return
    from .synthetic import load_task_items

    register_task(
        "synthetic",
        load_task_items,
        "procedural reasoning (sums, counting, comparisons, multi-digit addition); "
        "the held-out split the embedded tiny-s1 model never saw",
    )


_register_tasks()
