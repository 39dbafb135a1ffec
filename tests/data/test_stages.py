"""Pool loading into one schema, and the model stages with stand-in engines."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from s1_data.pool import extract_answer, load_pool, normalize_rows
from s1_data.stages.difficulty import is_correct, run_difficulty
from s1_data.stages.traces import estimate_tokens, run_traces, teacher_policy
from s1_engine.errors import S1Error


def test_s1k_rows_map_onto_the_pool_schema():
    rows = [
        {
            "solution": "We get \\boxed{\\frac{1}{2}}.",
            "question": "Find x.",
            "cot_type": "math",
            "source_type": "AI-MO/NuminaMath-CoT/aops_forum",
            "metadata": "{'source': 'aops_forum'}",
            "cot": None,
            "thinking_trajectories": ["Let me think."],
            "attempt": "x = 1/2",
        }
    ]
    (item,) = normalize_rows(rows, list(rows[0]), "s1K")
    assert item["question"] == "Find x." and item["answer"] == "\\frac{1}{2}"
    assert item["thinking"] == "Let me think." and item["attempt"] == "x = 1/2"
    assert item["source_type"] == "AI-MO/NuminaMath-CoT/aops_forum"
    meta = json.loads(item["metadata"])
    assert meta["cot_type"] == "math" and "metadata" in meta
    assert item["kind"] == "math" and item["id"] == "s1K:0"


def test_math_style_rows_and_extract_answer():
    rows = [{"problem": "1+1?", "answer": "2", "unique_id": "test/1.json", "level": 1}]
    (item,) = normalize_rows(rows, list(rows[0]), "math")
    assert item["solution"] == "2" and item["answer"] == "2" and item["id"] == "test/1.json"
    assert item["thinking"] is None and json.loads(item["metadata"]) == {"level": 1}
    assert extract_answer("so \\boxed{x^{2}} and \\boxed{3}") == "3"
    assert extract_answer("no box") == "no box"


def test_file_kinds_limit_and_seed(tmp_path):
    import datasets

    rows = [{"question": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(40)]
    ds = datasets.Dataset.from_list(rows)
    ds.to_parquet(str(tmp_path / "a.parquet"))
    ds.to_csv(str(tmp_path / "b.csv"))
    ds.save_to_disk(str(tmp_path / "c"))
    pool = load_pool([str(tmp_path / "a.parquet"), str(tmp_path / "b.csv"), str(tmp_path / "c")])
    assert len(pool) == 120 and len({it["id"] for it in pool}) == 120
    a = load_pool([str(tmp_path / "a.parquet")], limit=10, seed=3)
    b = load_pool([str(tmp_path / "a.parquet")], limit=10, seed=3)
    c = load_pool([str(tmp_path / "a.parquet")], limit=10, seed=4)
    assert [x["id"] for x in a] == [x["id"] for x in b] != [x["id"] for x in c]
    assert len(a) == 10
    with pytest.raises(S1Error, match="unknown file type"):
        (tmp_path / "d.txt").write_text("hi")
        load_pool([str(tmp_path / "d.txt")])
    with pytest.raises(S1Error, match="--limit"):
        load_pool([str(tmp_path / "a.parquet")], limit=0)


def test_synthetic_source():
    pool = load_pool(["synthetic:12:5"])
    assert len(pool) == 12
    assert all(it["thinking"] and it["answer"] and it["source_type"] == "synthetic" for it in pool)
    with pytest.raises(S1Error, match="synthetic:N"):
        load_pool(["synthetic:many"])


@dataclass
class R:
    answer: str
    thinking: str = "some thinking"
    thinking_tokens: int = 7
    finish_reason: str = "stop"


class Scripted:
    """A stand-in engine: answers from a function of the prompt."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def generate_many(self, prompts, policies):
        self.calls += 1
        return [self.fn(p) for p in prompts]


def test_difficulty_drops_only_what_every_reference_solves():
    items = [
        {"id": "a", "question": "qa", "answer": "17", "kind": "math"},  # only model 1 solves
        {"id": "b", "question": "qb", "answer": "5", "kind": "math"},  # both solve
        {"id": "c", "question": "qc", "answer": "9", "kind": "math"},  # none
        {"id": "d", "question": "qd", "answer": "B", "kind": "choice"},  # both, by letter
    ]
    one = Scripted(
        lambda p: R({"qa": "\\boxed{17}", "qb": "Final Answer: 5", "qc": "8", "qd": "(B)"}[p])
    )
    two = Scripted(
        lambda p: R({"qa": "16", "qb": "The answer is $5$", "qc": "7", "qd": "Answer: B"}[p])
    )
    engines = {"m1": one, "m2": two}
    saved = []
    kept, dropped, stats = run_difficulty(
        items, ["m1", "m2"], engines.__getitem__, None, {}, saved.extend, 2
    )
    assert [k["id"] for k in kept] == ["a", "c"]
    assert [d["id"] for d in dropped] == ["b", "d"]
    assert kept[0]["ref_correct"] == [True, False] and kept[0]["ref_solved"] == 1
    assert stats["solved_by_model"] == {"m1": 3, "m2": 2}
    assert len(saved) == 8 and one.calls == 2
    # resumed from the saved calls, nothing is asked again
    done = {r["key"]: r for r in saved}
    again = run_difficulty(
        items, ["m1", "m2"], lambda m: pytest.fail("asked again"), None, done, saved.extend
    )
    assert [k["id"] for k in again[0]] == ["a", "c"]


def test_is_correct_plain_words_and_grader():
    assert is_correct(" xa xb xc", "xa xb xc", "math")[0]
    assert not is_correct(" xa xb xc", "xa xb", "math")[0]
    assert is_correct("\\boxed{0.5}", "\\frac{1}{2}", "math")[0]
    assert not is_correct("anything", None, "math")[0]


def test_traces_generate_only_what_is_missing_and_drop_failures():
    items = [
        {"id": "a", "question": "qa", "thinking": "given trace here", "attempt": "1"},
        {"id": "b", "question": "qb", "thinking": None, "attempt": None},
        {"id": "c", "question": "qc", "thinking": "  ", "attempt": None},
    ]
    eng = Scripted(lambda p: R("42", "t " * 5, 5, "error" if p == "qc" else "stop"))
    kept, dropped, stats = run_traces(
        items, lambda: eng, "teacher", teacher_policy(), estimate_tokens, {}, lambda r: None
    )
    assert [k["id"] for k in kept] == ["a", "b"]
    assert kept[0]["trace_source"] == "pool" and kept[0]["trace_tokens"] == 3
    assert kept[1]["trace_source"] == "teacher:teacher" and kept[1]["trace_tokens"] == 5
    assert kept[1]["attempt"] == "42"
    assert dropped[0]["id"] == "c" and dropped[0]["reason"] == "trace_failed"
    assert stats == {"generated": 2, "from_pool": 1}
    p = teacher_policy()
    assert p.num_ignore == 0 and p.max_thinking_tokens == "auto"  # budget forcing off


def test_two_outputs_with_the_same_folder_name_load_their_own_rows(tmp_path):
    """`datasets` caches a local folder by its name and card: the card's digest keeps
    two outputs apart even with the same row count and byte size."""
    import datasets

    from s1_data.export import export_dataset

    for parent in ["one", "two"]:
        items = [{"id": f"{parent}{k}", "question": f"q{k}", "thinking": "t"} for k in range(2)]
        export_dataset(items, tmp_path / parent / "set")
    sizes = {
        (tmp_path / p / "set" / "data" / "train-00000-of-00001.parquet").stat().st_size
        for p in ["one", "two"]
    }
    assert len(sizes) == 1
    for parent in ["one", "two"]:
        ds = datasets.load_dataset(str(tmp_path / parent / "set"), split="train")
        assert ds["id"] == [f"{parent}{k}" for k in range(2)]
        assert load_pool([str(tmp_path / parent / "set")])[0]["id"] == f"{parent}0"
