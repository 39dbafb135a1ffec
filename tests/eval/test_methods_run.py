"""`s1 eval --method` on real engines: every method's requests on the scripted model (whose
thinking lengths are known: 10 tokens, then 5 after each ignore string), resume with the
method in the key, the ignore-string grid, and rejection sampling on the embedded tiny-s1
model at temperature 1."""

from __future__ import annotations

import json

from s1_cli.main import main
from s1_engine.settings import PolicyOptions
from s1_eval.methods import LONG_PROMPT, SHORT_PROMPT
from s1_eval.runner import EvalSpec, run_eval
from s1_eval.settings import MethodOptions
from s1_eval.tasks import TaskItem

ITEMS = [TaskItem(f"q{i}", f"What is {i} + 1?", str(i + 1)) for i in range(2)]
EVERY = (
    "budget,token-conditional,token-conditional+bf,step-conditional,step-conditional+bf,"
    "class-conditional,rejection,majority,shortest-majority"
)


def lines(path):
    return [json.loads(x) for x in (path / "samples.jsonl").read_text().splitlines() if x]


def spec(methods, temperature=0.0, samples=1, **kw):
    pol = PolicyOptions(max_thinking="8,12", num_ignore="0", temperature=temperature)
    # the scripted model writes " t000 ... t009": a marker it writes, to see +bf stop on it
    opts = MethodOptions(method=[methods], steps="2", step_marker=" t00{n}", **kw)
    wanted, policies, points = opts.build(pol)
    return EvalSpec(
        "t", ITEMS, policies, samples, instruction="", points=points, methods=wanted,
        prompts=opts.prompts(),
    )  # fmt: skip


def test_every_method_runs_what_it_says_and_resumes_by_method(hf_engine, tmp_path):
    out = tmp_path / "run"
    summary = run_eval(hf_engine, spec(EVERY), out)
    recs = lines(out)
    by = {}
    for r in recs:
        by.setdefault((r["method"], r["condition"], r["max_thinking"]), []).append(r)
    assert len(recs) == len({r["key"] for r in recs}) == 2 * 12
    for (method, cond, _), rs in by.items():
        for r in rs:
            if method.startswith("token-conditional"):
                n = int(cond.split()[0])
                assert r["prompt"].endswith(f"\n\nThink for up to {n} tokens.")
                assert r["stated_tokens"] == n
                # +bf: the engine cuts at the stated budget; without, it lets the model end
                assert r["thinking_tokens"] == (min(n, 10) if method.endswith("+bf") else 10)
                assert (r["budget"] == n) == method.endswith("+bf")
            elif method.startswith("step-conditional"):
                assert r["prompt"].endswith("\n\nThink for up to 2 steps.")
                if method.endswith("+bf"):  # ends where the model writes the zero marker
                    assert r["stop"] == " t000" and r["thinking_tokens"] == 0
                    assert r["steps_used"] == 0 and "Final Answer" not in r["answer"]
                    ends = [e for e in r["events"] if e["kind"] == "end_thinking"]
                    assert [e["cause"] for e in ends] == ["model"]
                else:
                    assert r["steps_used"] == 10 and r["thinking_tokens"] == 10
            elif method == "class-conditional":
                assert r["prompt"].endswith({"short": SHORT_PROMPT, "long": LONG_PROMPT}[cond])
            elif method == "rejection":  # greedy: one draw; 10 tokens fit 12, not 8
                assert r["draws"] == 1 and r["budget"] == r["stated_tokens"] + 1
                assert r["fit"] == (r["stated_tokens"] == 12)
                assert r["thinking_tokens"] == (10 if r["fit"] else 9)
            else:  # budget forcing: the bare question, as before
                assert method == "budget" and r["prompt"] == ITEMS[int(r["id"][1])].question
    m = summary["methods"]
    assert set(m) == {
        "budget_forcing",
        "wait_count",
        "majority_voting",
        "shortest_majority",
        "token-conditional",
        "token-conditional+bf",
        "step-conditional",
        "step-conditional+bf",
        "class-conditional",
        "rejection",
    }
    assert m["token-conditional"]["control"] == 50.0  # 10 tokens: over 8, within 12
    assert m["token-conditional+bf"]["control"] == 100.0
    assert (m["step-conditional"]["control"], m["step-conditional+bf"]["control"]) == (0.0, 100.0)
    assert m["rejection"]["control"] == 50.0
    assert m["class-conditional"]["control"] == 0.0  # the scripted model ignores the prompt
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["methods"] == json.loads(json.dumps(m))
    png = (out / "scaling.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000

    # resume: nothing again; one more method in the same folder runs only its own points
    before = (out / "samples.jsonl").read_bytes()
    run_eval(hf_engine, spec(EVERY), out)
    assert (out / "samples.jsonl").read_bytes() == before
    more = run_eval(hf_engine, spec(EVERY + ",class-conditional+bf"), out)
    new = lines(out)[len(recs) :]
    assert len(new) == 2 * 4 and {r["method"] for r in new} == {"class-conditional+bf"}
    assert "class-conditional+bf" in more["methods"]


def test_rejection_draws_at_most_k_and_pays_for_every_draw(hf_engine, tmp_path):
    # at temperature 1 the scripted model still thinks 10 tokens: 8 never fits, 12 at once
    s = run_eval(hf_engine, spec("rejection", temperature=1.0, max_draws=3), tmp_path / "r")
    by = {r["stated_tokens"]: r for r in lines(tmp_path / "r") if r["id"] == "q0"}
    assert by[8]["draws"] == 3 and by[8]["draw_thinking_tokens"] == [9, 9, 9]
    assert by[8]["compute_thinking_tokens"] == 27 and not by[8]["fit"]
    assert by[12]["draws"] == 1 and by[12]["fit"] and by[12]["compute_thinking_tokens"] == 10
    pts = s["methods"]["rejection"]["points"]
    assert [(p["thinking_tokens"], p["compute_tokens"]) for p in pts] == [(9, 27), (10, 10)]


def test_the_ignore_string_grid_is_one_command(tiny_model, tmp_path, capsys):
    task = tmp_path / "task.jsonl"
    rows = [{"id": i.id, "question": i.question, "answer": i.answer} for i in ITEMS]
    task.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "ignore"
    args = ["eval", "--task", str(task), "--out", str(out), "-m", str(tiny_model)]
    args += ["--backend", "hf", "--max-thinking", "40", "--num-ignore", "0,2"]
    args += ["--ignore-str", "none,Hmm,Wait", "--instruction", "", "--no-progress"]
    assert main(args) == 0, capsys.readouterr().err[-2000:]
    think = {(r["num_ignore"], r["ignore_str"]): r for r in lines(out) if r["id"] == "q0"}
    assert set(think) == {(0, "Wait"), (2, ""), (2, "Hmm"), (2, "Wait")}
    assert think[(2, "Wait")]["thinking_tokens"] == think[(2, "Hmm")]["thinking_tokens"] == 22
    # no string: the end is suppressed, nothing is appended, the model goes on from there
    none = think[(2, "")]
    assert [e["text"] for e in none["events"] if e["kind"] == "wait"] == [""]
    assert "Wait" not in none["thinking"] and none["thinking_tokens"] == 40
    summary = json.loads((out / "summary.json").read_text())
    curves = summary["methods"]
    assert {"wait_count", "wait_count[none]", "wait_count[Hmm]"} <= set(curves)
    assert [p["thinking_tokens"] for p in curves["wait_count[Hmm]"]["points"]] == [10, 22]


def test_rejection_on_the_embedded_model(tmp_path, capsys):
    """tiny-s1 at temperature 1: each kept sample is the first of its draws whose thinking
    the model ended within the budget; every rejected draw ran into the budget."""
    out = tmp_path / "tiny"
    args = ["eval", "--task", "synthetic", "--limit", "6", "--out", str(out)]
    args += ["--backend", "hf", "--method", "rejection", "--max-thinking", "48"]
    args += ["--max-draws", "4", "--temperature", "1", "--answer-max-tokens", "16"]
    assert main(args + ["--no-progress"]) == 0, capsys.readouterr().err[-2000:]
    recs = lines(out)
    assert len(recs) == 6 and {r["method"] for r in recs} == {"rejection"}
    for r in recs:
        drawn = r["draw_thinking_tokens"]
        assert 1 <= r["draws"] == len(drawn) <= 4
        assert all(t == 49 for t in drawn[:-1])  # rejected: ran into N + 1 tokens
        assert r["fit"] == (drawn[-1] <= 48) and (r["fit"] or r["draws"] == 4)
        assert r["compute_thinking_tokens"] == sum(drawn)
        assert r["thinking_tokens"] == drawn[-1]
    assert any(r["draws"] > 1 for r in recs) or all(r["fit"] for r in recs)
    summary = json.loads((out / "summary.json").read_text())
    (p,) = summary["methods"]["rejection"]["points"]
    assert p["compute_tokens"] == sum(r["compute_thinking_tokens"] for r in recs) / 6
