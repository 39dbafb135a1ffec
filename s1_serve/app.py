"""The OpenAI-compatible app over one `Engine`: many clients, budget forcing, live control.

    app = create_app(engine, ServeConfig(api_key="..."))   # a FastAPI app; serve it with uvicorn

Where things are (shaped like vLLM's `entrypoints/openai`): the routes, one router per
group, in `s1_serve.routers`; what they do in the serving class `s1_serve.serving`; request
bodies in `s1_serve.schema` and how they become a policy in `s1_serve.plan`; response and
stream-chunk models in `s1_serve.responses`; the stream in `s1_serve.stream`; the control
actions in `s1_serve.actions`; errors, `x-request-id` and the API key in `s1_serve.errors`.

The engine runs on its own event loop thread; the app only starts sessions, reads
their stream (`Session.stream_batches()`, so a writer that falls behind catches up in
one write) and queues interventions.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from .errors import AuthMiddleware, RequestIdMiddleware, install_error_handlers
from .routers import OPEN_PATHS, ROUTERS
from .serving import OpenAIServing, ServeConfig

__all__ = ["ServeConfig", "create_app"]


def create_app(engine: Any, config: ServeConfig | None = None) -> FastAPI:
    """The FastAPI app serving `engine` (an `s1_engine.Engine`, started and owned by the caller)."""
    cfg = config or ServeConfig()
    serving = OpenAIServing(engine, cfg)
    app = FastAPI(title="s1 serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.serving = serving
    app.state.engine = engine
    app.state.registry = serving.registry
    app.state.config = cfg
    for router in ROUTERS:
        app.include_router(router)
    install_error_handlers(app)
    if cfg.api_key:
        app.add_middleware(AuthMiddleware, key=cfg.api_key, open_paths=OPEN_PATHS)
    app.add_middleware(RequestIdMiddleware)  # outermost: a 401 carries the id too
    return app
