"""What `s1 train` says while it trains: one rounded line per logged step, the first and
the last step always among them.

transformers prints each log as a raw dict (`{'loss': 2.31415926, 'grad_norm': ...}`)
and logs every `logging_steps` only, so a short run (8 steps, logging every 20) logged
no loss at all. `install(trainer, say)` puts this module's callback in place of its
printer (keeping the progress bar) and makes step 1 and the last step log too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

NAMES = {"loss": "loss", "grad_norm": "grad norm", "learning_rate": "lr"}


def _num(value: float) -> str:
    return f"{value:.1e}" if 0 < abs(value) < 1e-3 else f"{value:.4g}"


def loss_line(logs: dict[str, Any], step: int, max_steps: int) -> str | None:
    """`step 8/8 · epoch 1 · loss 0.4213 · grad norm 1.25 · lr 1.0e-05`, or the run's
    summary line; None for a log with nothing to say."""
    if "train_runtime" in logs:
        mean = logs.get("train_loss")
        tail = f", mean loss {_num(mean)}" if isinstance(mean, int | float) else ""
        return f"trained {step} steps in {logs['train_runtime']:.1f} s{tail}"
    parts = [f"{NAMES[k]} {_num(v)}" for k, v in logs.items() if k in NAMES]
    if not parts:
        return None
    epoch = logs.get("epoch")
    head = [f"step {step}/{max_steps}"] + ([f"epoch {epoch:.3g}"] if epoch is not None else [])
    return " · ".join(head + parts)


def install(trainer: Any, say: Callable[[str], None]) -> None:
    """Rounded lines instead of transformers' raw log dicts, step 1 and the last step logged."""
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    bar = trainer.pop_callback(ProgressCallback) is not None  # else --no-progress
    trainer.pop_callback(PrinterCallback)

    class LossLines(ProgressCallback if bar else TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args, state, control, **kw):  # noqa: ANN001
            if state.global_step == 1 or state.global_step >= state.max_steps:
                control.should_log = True  # whatever logging_steps says
            return super().on_step_end(args, state, control, **kw)

        def on_log(self, args, state, control, logs=None, **kw):  # noqa: ANN001
            if not state.is_world_process_zero or not logs:
                return
            line = loss_line(logs, state.global_step, state.max_steps)
            if line is None:
                return
            if getattr(self, "training_bar", None) is not None:
                self.training_bar.write(line, file=sys.stderr)  # above the bar, which stays
            else:
                say(line)

    trainer.add_callback(LossLines())
