"""What every engine derives from `start()`: one request to its end, many at once, and its
lifetime (close once, as a context manager). Shared by the in-process `Engine` and
`s1_serve.RemoteEngine`, which each say only how they start a request and shut down."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import S1Error
from .events import Result
from .policy import BudgetPolicy


class EngineBase:
    model: str
    backend_name: str
    format_name: str
    max_model_len: int
    _loop: Any  # the engine's LoopThread
    _closed: bool = False

    def start(self, prompt: Any, policy: Any = None, format: Any = None, **kw: Any) -> Any:
        raise NotImplementedError

    def generate(
        self, prompt: Any, policy: BudgetPolicy | None = None, format: str | None = None
    ) -> Result:
        """One request, to its end."""
        return self.start(prompt, policy, format).result()

    def generate_many(
        self,
        prompts: Sequence[Any],
        policies: BudgetPolicy | Sequence[BudgetPolicy] | None = None,
    ) -> list[Result]:
        """Run all requests concurrently, each on its own schedule; results in input order."""
        if policies is None or isinstance(policies, BudgetPolicy):
            policies = [policies or BudgetPolicy()] * len(prompts)
        if len(policies) != len(prompts):
            raise S1Error(
                f"{len(prompts)} prompts but {len(policies)} policies", "give one policy per prompt"
            )
        sessions = [self.start(p, pol, live=False) for p, pol in zip(prompts, policies)]
        return [s.result() for s in sessions]

    # ----- lifetime ---------------------------------------------------------------------
    def _shutdown(self) -> None:
        """End what the engine holds (called once, by `close`, before its loop stops)."""
        raise NotImplementedError

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._shutdown()
        finally:
            self._loop.stop()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "backend": self.backend_name,
            "format": self.format_name,
            "max_model_len": self.max_model_len,
        }
