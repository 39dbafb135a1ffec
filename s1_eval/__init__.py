"""s1_eval: test-time scaling evaluation over the engine.

Tasks (hub ids, local files, tasks other packages register through the "s1.tasks"
entry point), the runner (every (question, policy, sample) one concurrent engine
request, graded as it arrives, resumable), grading (math-verify, multiple choice by
letter), the paper's metrics and the scaling plot. Imports s1_engine only.
"""

from .grading import Grade, grade
from .runner import EvalSpec, Progress, read_samples, run_eval
from .tasks import TaskItem, list_tasks, load_task, register_task

__all__ = [
    "EvalSpec",
    "Grade",
    "Progress",
    "TaskItem",
    "grade",
    "list_tasks",
    "load_task",
    "read_samples",
    "register_task",
    "run_eval",
]
