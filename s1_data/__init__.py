"""s1_data: curation of s1K-style reasoning sets, and synthetic reasoning tasks."""

from __future__ import annotations


def _register_tasks() -> None:
    """Offer the held-out synthetic split to `s1 eval` as the task "synthetic"."""
    try:
        from s1_engine.tasks import register_task
    except ImportError:  # an engine without the task registry
        return
    from .synthetic import load_task_items

    register_task(
        "synthetic",
        load_task_items,
        "procedural reasoning (running sums, counting, largest of a list; 1-12 steps); "
        "the held-out split the embedded tiny-s1 model never saw",
        instruction="",  # the question alone: tiny-s1 was trained on bare questions
    )


_register_tasks()
