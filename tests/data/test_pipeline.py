"""The whole pipeline on the planted pool: counts match, output loads, a kill resumes."""

from __future__ import annotations

import json

import pytest

from s1_data.pipeline import CurateConfig, Engines, run_pipeline
from s1_data.stages.decontaminate import DecontaminateSettings
from s1_data.stages.select import SelectSettings
from s1_engine.errors import S1Error

from .planted import SOLVED


def _config(pool, evalfile, out, n=15, **kw) -> CurateConfig:
    kw.setdefault("batch_size", 8)
    settings = (DecontaminateSettings(eval_tasks=str(evalfile)), SelectSettings(n=n))
    return CurateConfig(pool=[str(pool)], out=str(out), settings=settings, quiet=True, **kw)


@pytest.fixture(scope="module")
def curated(planted_files, tiny_model, hf_engine, tmp_path_factory):
    pool, evalfile = planted_files
    out = tmp_path_factory.mktemp("curated")
    engines = Engines(preset={str(tiny_model): hf_engine})
    report = run_pipeline(_config(pool, evalfile, out), engines)
    return out, report


def test_report_counts_match_the_planted_numbers(curated, planted):
    out, report = curated
    assert report["dropped_by_reason"] == {**planted.expected, "not_selected": planted.hard - 15}
    s = report["survivors"]
    quality_drops = sum(
        v for k, v in planted.expected.items() if k not in ("eval_overlap", "solved_by_all")
    )
    assert s["pool"] == planted.total
    assert s["quality"] == planted.total - quality_drops
    assert s["decontaminate"] == s["quality"] - planted.expected["eval_overlap"]
    assert s["traces"] == s["decontaminate"]
    assert s["difficulty"] == planted.hard == s["traces"] - planted.expected["solved_by_all"]
    assert s["diversity"] == planted.hard and s["select"] == 15
    # the report on disk says the same, in JSON and in Markdown
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk["survivors"] == s
    md = (out / "report.md").read_text()
    for reason, k in planted.expected.items():
        assert f"| {reason} | {k} |" in md
    assert "## Domains (output)" in md and "## Trace length" in md
    dropped = [json.loads(x) for x in (out / "dropped.jsonl").read_text().splitlines()]
    assert len(dropped) == report["dropped_total"]
    for reason in planted.expected:
        assert report["dropped_examples"][reason][0]["detail"]


def test_easy_items_are_the_ones_dropped_for_difficulty(curated):
    out, _ = curated
    rows = [
        json.loads(x)
        for x in (out / "stages" / "04_difficulty.dropped.jsonl").read_text().splitlines()
    ]
    kept = [
        json.loads(x) for x in (out / "stages" / "04_difficulty.jsonl").read_text().splitlines()
    ]
    assert rows and all(r["reason"] == "solved_by_all" for r in rows)
    assert all(k["answer"] != SOLVED and k["ref_correct"] == [False] for k in kept)
    assert all(
        k["ref_thinking_tokens"] == [10] for k in kept
    )  # the scripted model thinks 10 tokens


def test_missing_traces_come_from_the_teacher(curated, planted):
    out, report = curated
    traces = [json.loads(x) for x in (out / "stages" / "03_traces.jsonl").read_text().splitlines()]
    made = [t for t in traces if t["trace_source"].startswith("teacher:")]
    assert len(made) == 3
    for t in made:
        assert t["thinking"].split() == [f"t{i:03d}" for i in range(10)]
        assert t["trace_tokens"] == 10 and t["attempt"] == SOLVED
    assert all(t["trace_tokens"] > 10 for t in traces if t["trace_source"] == "pool")
    stats = next(s for s in report["stages"] if s["name"] == "traces")["stats"]
    assert stats["generated"] == 3 and stats["tokens_counted_by"].startswith("tokenizer:")


def test_output_is_an_s1k_dataset(curated, planted):
    import datasets

    out, report = curated
    ds = datasets.load_dataset(str(out), split="train")
    assert ds.num_rows == 15
    for col in (
        "question",
        "solution",
        "thinking_trajectories",
        "attempt",
        "domain",
        "trace_tokens",
        "ref_correct",
    ):
        assert col in ds.column_names
    row = ds[0]
    assert isinstance(row["thinking_trajectories"], list) and row["thinking_trajectories"][0]
    assert row["domain"][:2] in planted.domains
    assert "configs:" in (out / "README.md").read_text()
    # selection is more even than the candidates it came from
    assert report["domains"]["entropy_selected"] > report["domains"]["entropy_candidates"]
    assert report["lengths"]["selected"]["mean"] > report["lengths"]["candidates"]["mean"]
    # and the domains are the planted ones
    assert set(report["domains"]["candidates"]) == {
        d.label
        for d in __import__("s1_data.msc", fromlist=["x"]).load_domains()
        if d.code in planted.domains
    }


class Killed(Exception):
    pass


class KillAfter:
    """The engine, killed after `calls` batches (as a kill -9 would, mid-stage)."""

    def __init__(self, engine, calls: int) -> None:
        self.engine, self.left, self.prompts = engine, calls, 0
        self.tokenizer = engine.tokenizer

    def generate_many(self, prompts, policies):
        if self.left == 0:
            raise Killed()
        self.left -= 1
        self.prompts += len(prompts)
        return self.engine.generate_many(prompts, policies)


def test_a_killed_run_resumes_where_it_stopped(planted_files, tiny_model, hf_engine, tmp_path):
    pool, evalfile = planted_files
    cfg = lambda: _config(pool, evalfile, tmp_path, n=10, batch_size=4, limit=30)  # noqa: E731
    first = KillAfter(hf_engine, calls=2)
    with pytest.raises(Killed):
        run_pipeline(cfg(), Engines(preset={str(tiny_model): first}))
    state = json.loads((tmp_path / "stages" / "state.json").read_text())
    finished = set(state["stages"])
    assert {"pool", "quality", "decontaminate"} <= finished and "difficulty" not in finished
    calls = list((tmp_path / "stages").glob("*.calls.jsonl"))
    assert calls  # the model calls made before the kill are kept
    second = KillAfter(hf_engine, calls=10_000)
    report = run_pipeline(cfg(), Engines(preset={str(tiny_model): second}))
    resumed = {s["name"]: s["resumed"] for s in report["stages"]}
    assert all(resumed[s] for s in finished)
    assert not any(resumed[s] for s in ("difficulty", "diversity", "select"))
    # nothing asked twice: the rerun asked only for what the first run did not finish
    fresh = KillAfter(hf_engine, calls=10_000)
    full = run_pipeline(
        cfg().__class__(**{**cfg().__dict__, "out": str(tmp_path / "fresh")}),
        Engines(preset={str(tiny_model): fresh}),
    )
    assert first.prompts + second.prompts == fresh.prompts
    assert full["survivors"] == report["survivors"]
    # a changed setting is refused without --overwrite, naming it ...
    third = KillAfter(hf_engine, calls=0)  # any model call would fail
    with pytest.raises(S1Error, match=r"another run \(n: 10, now 5\).*--overwrite"):
        run_pipeline(
            _config(pool, evalfile, tmp_path, n=5, batch_size=4, limit=30),
            Engines(preset={str(tiny_model): third}),
        )
    # ... and with it, reruns only the stages after it
    again = run_pipeline(
        _config(pool, evalfile, tmp_path, n=5, batch_size=4, limit=30, overwrite=True),
        Engines(preset={str(tiny_model): third}),
    )
    assert [s["name"] for s in again["stages"] if not s["resumed"]] == ["select"]
    assert again["survivors"]["select"] == 5
    # more sources (here: no --limit) rerun every stage, but the model is asked only
    # about the questions it has not seen
    more = KillAfter(hf_engine, calls=10_000)
    bigger = run_pipeline(
        _config(pool, evalfile, tmp_path, n=10, batch_size=4, overwrite=True),
        Engines(preset={str(tiny_model): more}),
    )
    assert not any(s["resumed"] for s in bigger["stages"][1:])
    assert bigger["survivors"]["pool"] > 30
    asked = {
        s["name"]: s["stats"]["model_calls"]
        for s in bigger["stages"]
        if "model_calls" in s["stats"]
    }
    assert asked["difficulty"]["saved_before"] > 0
    assert more.prompts == asked["traces"]["new"] + asked["difficulty"]["new"]
    grown = bigger["survivors"]["traces"] - report["survivors"]["traces"]
    # (up to 5 more: which copy of a planted duplicate comes first depends on the order)
    assert asked["difficulty"]["new"] <= grown + 5 < bigger["survivors"]["traces"]


def test_the_model_stages_agree_on_vllm(
    planted_files, tiny_model, hf_engine, vllm_engine, tmp_path
):
    """The shared vLLM engine gives the same traces and difficulty as transformers."""
    pool, evalfile = planted_files
    reports = {}
    for name, eng in (("hf", hf_engine), ("vllm", vllm_engine)):
        cfg = _config(pool, evalfile, tmp_path / name, n=5, limit=16)
        reports[name] = run_pipeline(cfg, Engines(preset={str(tiny_model): eng}))
    assert reports["hf"]["survivors"] == reports["vllm"]["survivors"]
    rows = {
        name: [
            json.loads(x)
            for x in (tmp_path / name / "stages" / "04_difficulty.jsonl").read_text().splitlines()
        ]
        for name in reports
    }
    keys = ("id", "thinking", "trace_tokens", "ref_correct", "ref_thinking_tokens")

    def strip(r: dict) -> dict:
        return {k: r[k] for k in keys}

    assert [strip(r) for r in rows["hf"]] == [strip(r) for r in rows["vllm"]]
