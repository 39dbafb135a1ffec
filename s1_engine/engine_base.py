"""What every engine derives from `start()`: one request to its end, and many at once.
Shared by the in-process `Engine` and `s1_serve.RemoteEngine`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import S1Error
from .events import Result
from .policy import BudgetPolicy


class EngineBase:
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
