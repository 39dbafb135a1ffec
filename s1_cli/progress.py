"""Live progress bars on stderr for library work that reports by callback."""

from __future__ import annotations

from typing import Any

from s1_eval.runner import Progress


class EvalProgressBar:
    """A rich bar (done / total, tokens/s, running accuracy) fed by `run_eval`'s
    `on_progress`; off when `enabled` is False, or None and stderr is not a terminal."""

    def __init__(self, task: str, enabled: bool | None) -> None:
        self.task = task
        self.enabled = enabled
        self._bar: Any = None
        self._id: Any = None

    def __enter__(self) -> EvalProgressBar:
        if self.enabled is False:
            return self
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bar

        console = Console(stderr=True)
        if self.enabled is None and not console.is_terminal:
            return self
        self._bar = Bar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[tps]:>8.1f} tok/s"),
            TextColumn("acc {task.fields[acc]:5.1f}%"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._bar.start()
        return self

    def __call__(self, state: Progress) -> None:
        if self._bar is None:
            return
        if self._id is None:
            self._id = self._bar.add_task(
                f"eval {self.task}", total=state.total, completed=state.done, tps=0.0, acc=0.0
            )
        self._bar.update(self._id, completed=state.done, tps=state.tokens_per_s, acc=state.accuracy)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
