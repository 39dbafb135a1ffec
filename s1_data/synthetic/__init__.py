"""Procedural reasoning tasks and their s1-style traces: the embedded model's training
data, the "synthetic" evaluation task, and the `synthetic:N` pool source.

`tasks`: the kinds, a seeded generator, a verifier and the held-out split;
`traces`: the step lines of a solution and the traces made of them ("Wait" included).
"""

from .tasks import (
    DOMAIN,
    HELD_OUT_KINDS,
    HELD_OUT_SEED,
    HELD_OUT_SIZE,
    KINDS,
    LIST_KINDS,
    SyntheticTask,
    extract_answer,
    held_out_tasks,
    load_task_items,
    make_tasks,
    verify,
)
from .traces import can_pause, make_sft_rows, make_trace

__all__ = [
    "DOMAIN",
    "HELD_OUT_KINDS",
    "HELD_OUT_SEED",
    "HELD_OUT_SIZE",
    "KINDS",
    "LIST_KINDS",
    "SyntheticTask",
    "can_pause",
    "extract_answer",
    "held_out_tasks",
    "load_task_items",
    "make_sft_rows",
    "make_tasks",
    "make_trace",
    "verify",
]
