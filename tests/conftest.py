"""Shared fixtures: one scripted tiny model and one engine per backend per test session."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scripted bigram model (see s1_engine.testing), built once per session."""
    from s1_engine.testing import make_scripted_model

    return make_scripted_model(tmp_path_factory.mktemp("models") / "scripted")


@pytest.fixture(scope="session")
def hf_engine(tiny_model: Path):
    from s1_engine import Engine

    engine = Engine(str(tiny_model), backend="hf")
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def vllm_engine(tiny_model: Path):
    """The real vLLM engine (vllm-cpu here), started once and shared by every test."""
    from s1_engine import Engine

    engine = Engine(str(tiny_model), backend="vllm", max_model_len=4096)
    yield engine
    engine.close()


@pytest.fixture(scope="session", params=["hf", "vllm"])
def engine(request: pytest.FixtureRequest):
    """Both backends, for tests that must hold on each."""
    return request.getfixturevalue(f"{request.param}_engine")
