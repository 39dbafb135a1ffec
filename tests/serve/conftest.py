"""One real server per test module, over the session's vLLM engine, on a free loopback port."""

from __future__ import annotations

import time

import pytest

KEY = "test-key"
EFFORTS = {"low": 7, "medium": 20, "high": 50}


def serve(engine, **config):
    from s1_serve import ServeConfig, ServerThread, create_app

    cfg = ServeConfig(api_key=KEY, effort_budgets=dict(EFFORTS), **config)
    return ServerThread(create_app(engine, cfg)).start()


@pytest.fixture(scope="module")
def server(vllm_engine):
    s = serve(vllm_engine)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def plain(vllm_engine):
    """A server with the default reasoning-effort names (none, minimal, ... xhigh)."""
    from s1_serve import ServeConfig, ServerThread, create_app

    s = ServerThread(create_app(vllm_engine, ServeConfig(api_key=KEY))).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def oai(server):
    import openai

    return openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)


@pytest.fixture(scope="module")
def http(server):
    import httpx

    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60
    ) as c:
        yield c


def wait_idle(engine, server, timeout: float = 15.0) -> tuple[int, list[str]]:
    """Poll until the engine holds no unfinished request and the server no running one."""
    registry = server.app.state.registry
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine.backend.num_unfinished() == 0 and len(registry) == 0:
            break
        time.sleep(0.05)
    return engine.backend.num_unfinished(), registry.ids()
