"""Fixtures of the curate tests: the planted pool and an evaluation file."""

from __future__ import annotations

from pathlib import Path

import pytest

from .planted import Planted, make_planted, write_eval, write_pool

# Small enough for the scripted model on the transformers backend, big enough for
# five domains of uneven size.
SMALL = {"11": 12, "05": 6, "51": 4, "60": 3, "40": 3}


@pytest.fixture(scope="session")
def planted() -> Planted:
    return make_planted(seed=0, hard_per_domain=SMALL, easy=4, no_trace=3)


@pytest.fixture(scope="session")
def planted_files(tmp_path_factory: pytest.TempPathFactory, planted: Planted) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("planted")
    return write_pool(planted, d / "pool.jsonl"), write_eval(d / "eval.jsonl")
