"""The routes, one router per group (as vLLM's `entrypoints/openai/*/api_router.py`): each
reads its request and calls the serving class (`request.app.state.serving`).

    models:      GET /v1/models, GET /v1/models/{id}
    completions: POST /v1/chat/completions, POST /v1/completions (stream or not)
    requests:    POST /v1/requests/{id}/control, GET /v1/requests
    health:      GET /health (open: no key needed)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from .responses import ControlAccepted, Health, ModelCard, ModelList, Running
from .serving import OpenAIServing, read_json

OPEN_PATHS = frozenset({"/health"})

health = APIRouter()
models = APIRouter(prefix="/v1/models")
completions = APIRouter(prefix="/v1")
requests = APIRouter(prefix="/v1/requests")
ROUTERS = (health, models, completions, requests)


def serving(request: Request) -> OpenAIServing:
    return request.app.state.serving


@health.get("/health")
async def get_health() -> Health:
    return Health()


@models.get("")
async def list_models(request: Request) -> ModelList:
    return serving(request).models()


@models.get("/{model_id:path}")
async def get_model(model_id: str, request: Request) -> ModelCard:
    return serving(request).model(model_id)


@completions.post("/chat/completions")
async def chat(request: Request) -> Any:
    return await serving(request).chat(request)


@completions.post("/completions")
async def completion(request: Request) -> Any:
    return await serving(request).completion(request)


@requests.get("")
async def running(request: Request) -> Running:
    return serving(request).running()


@requests.post("/{request_id}/control")
async def control(request_id: str, request: Request) -> ControlAccepted:
    s = serving(request)
    return s.control(request_id, await read_json(request, s.config.max_body_bytes))
