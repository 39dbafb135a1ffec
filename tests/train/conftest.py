"""Fixtures for `s1 train`: a tiny random Qwen2 model and small s1K-style datasets, made here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TINY_SHAPE = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "max_position_embeddings": 1024,
}


@pytest.fixture(scope="session")
def tiny_random_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test tokenizer (chat template, special tokens) + a random 2-layer Qwen2."""
    from s1_engine.testing import make_tokenizer
    from s1_train.recipes.tiny_s1 import init_model

    path = tmp_path_factory.mktemp("models") / "random"
    tok = make_tokenizer(path)
    init_model(path, tok, seed=0, shape=TINY_SHAPE)
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    with path.open("w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return path


@pytest.fixture(scope="session")
def synthetic_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """32 short synthetic tasks as s1K-style rows."""
    from s1_data.synthetic import make_sft_rows, make_tasks

    rows = make_sft_rows(make_tasks(32, seed=5, kinds=["sum", "max"], max_steps=3), seed=5)
    return write_jsonl(tmp_path_factory.mktemp("data") / "syn.jsonl", rows)
