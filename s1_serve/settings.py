"""The settings of `s1 serve`, declared once (`s1_engine.options`): the CLI turns them into
options, a settings file (`--config`) uses the same names, and they are checked before
the model loads."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from s1_engine.options import option
from s1_engine.policy import BudgetPolicy

PANEL_SERVER = "Server"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# every name of current APIs (OpenAI, litellm): none, minimal, low, medium, high, xhigh
DEFAULT_EFFORTS = "none=0,minimal=128,low=512,medium=2048,high=8192,xhigh=auto"


@dataclass
class ServeOptions:
    host: str = option(
        "127.0.0.1",
        "Address to listen on (0.0.0.0: every interface; give --api-key then).",
        panel=PANEL_SERVER,
    )
    port: int = option(8000, "TCP port (0: a free one).", panel=PANEL_SERVER, min=0, max=65535)
    api_key: str | None = option(
        None,
        "Every route but /health then needs 'Authorization: Bearer KEY' (default: $S1_API_KEY).",
        panel=PANEL_SERVER,
    )
    served_model_name: str | None = option(
        None,
        "The model's name in /v1/models and requests (default: --model, or tiny-s1).",
        panel=PANEL_SERVER,
    )
    reasoning_effort: str = option(
        DEFAULT_EFFORTS,
        "Thinking budgets for reasoning_effort names (OpenAI, litellm): NAME=TOKENS|auto,...",
        panel=PANEL_SERVER,
    )
    max_request_bytes: int = option(
        1 << 20, "Largest request body accepted (413 above).", panel=PANEL_SERVER, min=1024
    )
    max_prompt_tokens: int | None = option(
        None,
        "Longest prompt accepted (default: the context less one token).",
        panel=PANEL_SERVER,
        min=1,
    )
    stream_interval: float = option(
        0.05,
        "Seconds between two chunks of a stream once its text flows (0: every token).",
        panel=PANEL_SERVER,
        min=0,
        max=10,
    )
    log_level: str = option(
        "warning",
        "uvicorn's log level (info logs every request).",
        panel=PANEL_SERVER,
        choices=LOG_LEVELS,
    )

    def key(self) -> str | None:
        return self.api_key or os.environ.get("S1_API_KEY") or None

    def efforts(self) -> dict[str, int | str]:
        from .plan import parse_effort_budgets

        return parse_effort_budgets(self.reasoning_effort)

    def serve_config(self, policy: BudgetPolicy, model_name: str) -> Any:
        """The app's `ServeConfig` (FastAPI is imported here, not at import time)."""
        from .app import ServeConfig

        return ServeConfig(
            served_model_name=model_name,
            api_key=self.key(),
            default_policy=policy,
            effort_budgets=self.efforts(),
            max_body_bytes=self.max_request_bytes,
            max_prompt_tokens=self.max_prompt_tokens,
            stream_interval=self.stream_interval,
        )

    def open_warning(self) -> str | None:
        """A warning when the server listens beyond the loopback with no key."""
        if self.key() is None and self.host not in LOOPBACK:
            return (
                f"warning: listening on {self.host} with no --api-key: anyone who can reach "
                "this port can run the model"
            )
        return None
