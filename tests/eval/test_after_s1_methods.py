"""`s1 eval --method nowait` and `--method alphaone`: the budget grid under NoWait's
suppressed words and under AlphaOne, built as points and run on the real engine (the
scripted model: in the s1 format it thinks 10 tokens, then tries to end; after a Wait it
thinks 5 more)."""

from __future__ import annotations

import json

from s1_cli.main import main
from s1_engine.policy import NOWAIT_WORDS
from s1_engine.settings import PolicyOptions
from s1_eval.methods import ALPHA, METHOD_NAMES, parse_methods
from s1_eval.runner import EvalSpec, run_eval
from s1_eval.settings import MethodOptions
from s1_eval.tasks import TaskItem

ITEMS = [TaskItem(f"q{i}", f"What is {i} + 1?", str(i + 1)) for i in range(2)]


def build(methods: str, **policy: object):
    pol = PolicyOptions(max_thinking="8,20", num_ignore="0,1", **policy)  # type: ignore[arg-type]
    opts = MethodOptions(method=[methods])
    return opts.build(pol)


def test_both_names_build_the_budget_grid_with_their_knob():
    assert {"nowait", "alphaone"} <= set(METHOD_NAMES)
    assert parse_methods("budget,NoWait,alphaone") == ["budget", "nowait", "alphaone"]
    wanted, policies, points = build("budget,nowait,alphaone")
    grid = [(p.max_thinking_tokens, p.num_ignore) for p in policies]
    assert grid == [(8, 0), (8, 1), (20, 0), (20, 1)]
    by = {m: [p for p in points if p.method == m] for m in wanted}
    assert [(p.policy.max_thinking_tokens, p.policy.num_ignore) for p in by["nowait"]] == grid
    assert [(p.policy.max_thinking_tokens, p.policy.num_ignore) for p in by["alphaone"]] == grid
    assert all(p.policy.suppress == NOWAIT_WORDS and not p.policy.alpha for p in by["nowait"])
    assert all(p.policy.alpha == ALPHA == 0.5 and not p.policy.suppress for p in by["alphaone"])
    assert all(not p.policy.alpha and not p.policy.suppress for p in by["budget"])
    assert by["nowait"][0].label() == "nowait,think=8,wait=0,suppress=Wait|Hmm|Alternatively"
    assert by["alphaone"][0].label() == "alphaone(alpha 0.5),think=8,wait=0,alpha=0.5"
    assert by["alphaone"][0].condition == "alpha 0.5" and by["alphaone"][2].order == 20


def test_alpha_and_suppress_given_belong_to_their_method():
    """--alpha 0.3: alphaone's points run at 0.3 and the budget points without it; without
    alphaone in the list the policy keeps what was given (as --suppress did before)."""
    _, _, points = build("budget,alphaone", alpha=0.3)
    assert {(p.method, p.policy.alpha) for p in points} == {("budget", 0.0), ("alphaone", 0.3)}
    _, _, points = build("budget,nowait", suppress="nowait")
    assert {(p.method, p.policy.suppress) for p in points} == {
        ("budget", ()),
        ("nowait", NOWAIT_WORDS),
    }
    _, _, points = build("budget", suppress="nowait")
    assert {p.policy.suppress for p in points} == {NOWAIT_WORDS}


def test_nowait_and_alphaone_run_on_the_engine(hf_engine, tmp_path):
    wanted, policies, points = build("budget,nowait,alphaone")
    spec = EvalSpec("t", ITEMS, policies, 1, instruction="", points=points, methods=wanted)
    summary = run_eval(hf_engine, spec, tmp_path / "run")
    recs = [json.loads(x) for x in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert len(recs) == len({r["key"] for r in recs}) == 2 * 12
    got = {}
    for r in recs:
        ends = [(e["cause"], e["token_index"]) for e in r["events"] if e["kind"] == "end_thinking"]
        waits = [e["cause"] for e in r["events"] if e["kind"] == "wait"]
        got.setdefault((r["method"], r["max_thinking"], r["num_ignore"]), set()).add(
            (r["thinking_tokens"], tuple(ends), tuple(waits), r["answer"])
        )
    lead, plain = "Final Answer: xa xb xc", "xa xb xc"
    cut8 = {(8, (("budget", 8),), (), lead)}
    for m in ("budget", "nowait"):  # the model never writes a Wait itself: the same runs
        assert got[(m, 8, 0)] == got[(m, 8, 1)] == cut8
        assert got[(m, 20, 0)] == {(10, (("model", 10),), (), plain)}
        assert got[(m, 20, 1)] == {(16, (("model", 16),), ("budget",), plain)}
    # alphaone at 20: the moment at 10, where the model tries to end: the policy's end (and
    # the Wait of --num-ignore 1 is not forced: past the moment the end is the policy's)
    assert (
        got[("alphaone", 20, 0)] == got[("alphaone", 20, 1)] == {(10, (("policy", 10),), (), lead)}
    )
    assert got[("alphaone", 8, 0)] == cut8  # the moment at 4: the budget cuts first
    assert {"nowait", "alphaone"} <= set(summary["methods"])
    pts = summary["methods"]["alphaone"]["points"]
    assert [p["thinking_tokens"] for p in pts] == [8, 8, 10, 10]


def test_s1_eval_method_alphaone_on_the_command_line(tiny_model, tmp_path, capsys):
    """The command: --method is eval's own (not the policy's preset), --alpha reaches the
    alphaone points."""
    task = tmp_path / "task.jsonl"
    rows = [{"id": i.id, "question": i.question, "answer": i.answer} for i in ITEMS[:1]]
    task.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "cli"
    args = ["eval", "--task", str(task), "--out", str(out), "-m", str(tiny_model)]
    args += ["--backend", "hf", "--max-thinking", "20", "--instruction", "", "--no-progress"]
    assert main(args + ["--method", "alphaone", "--alpha", "0.25"]) == 0, capsys.readouterr().err
    (rec,) = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert rec["method"] == "alphaone" and rec["condition"] == "alpha 0.25"
    assert rec["policy"] == "alphaone(alpha 0.25),think=20,wait=0,alpha=0.25"
    assert [e["cause"] for e in rec["events"] if e["kind"] == "end_thinking"] == ["policy"]
