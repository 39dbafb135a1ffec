"""The console's parts that need no terminal: trace, settings, history, the command line."""

from __future__ import annotations

import json

import pytest

from s1_engine.errors import S1Error
from s1_engine.events import Event, TokenDelta
from s1_engine.settings import EngineOptions, PolicyOptions
from s1_tui.history import HistoryStore, to_markdown
from s1_tui.settings import TuiOptions, load_settings, parse_demo
from s1_tui.status import bar
from s1_tui.trace import Trace, item_from_dict, item_to_dict, prettify_math
from s1_tui.widgets.stream_pane import split_chunks


def td(segment, text, forced=False, tt=0, at=0):
    return TokenDelta(segment, (1,), text, forced, tt, at)


def test_trace_marks_each_intervention_by_who_made_it():
    t = Trace(100)
    items = [
        Event("think_start", "model", 0),
        td("think", " a", tt=1),
        Event("wait", "user", 1, "Wait", 1),
        td("think", "Wait", True, tt=2),
        td("think", " b", tt=3),
        Event("wait", "budget", 3, "Hmm", 3),
        td("think", " Hmm", True, tt=4),
        Event("inject", "user", 4, " let me see", 4),
        td("think", " let me see", True, tt=7),
        Event("budget_changed", "user", 7, "50"),
        Event("end_thinking", "budget", 7, "", 7),
        td("delimiter", "</think>", True, tt=7),
        td("answer", "\nFinal Answer:", True, tt=7, at=3),
        td("answer", " 3", tt=7, at=4),
        Event("finish", "model", 9, "stop"),
    ]
    for it in items:
        t.feed(it)
    assert t.thinking == (
        " a `⟪Wait · user⟫`  b `⟪Hmm · budget⟫`  `⟪inject · user: let me see⟫`  "
        "`⟪budget → 50 · user⟫`  `⟪end of thinking · budget · 7 tokens⟫` "
    )
    assert t.answer == "  \nFinal Answer: 3"  # a hard line break in Markdown
    assert t.counts.waits == {"user": 1, "budget": 1} and t.counts.ends == {"budget": 1}
    assert t.budget == 50 and t.finish_reason == "stop" and t.done
    assert (t.thinking_tokens, t.answer_tokens) == (7, 4)
    # the panes take only what is new
    think, answer, reset = t.take()
    assert think == t.thinking and answer == t.answer and not reset
    assert t.take() == ("", "", False)
    # history form round trip
    again = Trace(100)
    for it in items:
        again.feed(item_from_dict(json.loads(json.dumps(item_to_dict(it, 0.5)))))
    assert (again.thinking, again.answer) == (t.thinking, t.answer)


def test_trace_reopened_thinking_drops_the_answer():
    t = Trace()
    for it in [
        Event("end_thinking", "model", 3, "", 3),
        td("answer", " 4", at=1),
        Event("think_start", "user", 3, "reopened"),
        Event("wait", "user", 3, "Wait", 3),
        td("think", "Wait", True, tt=4),
    ]:
        t.feed(it)
    assert t.answer == "" and t.thinking_now
    assert "⟪thinking reopened · user⟫" in t.thinking
    assert t.take()[2] is True


def test_math_is_shown_readably():
    assert prettify_math(r"so $\frac{1}{2} \cdot x \leq \sqrt{2}$") == "so 1/2 · x ≤ √2"
    assert prettify_math(r"\boxed{\frac{a+1}{3}}") == "**(a+1)/3**"
    assert prettify_math(r"\alpha \to \infty, \pi") == "α → ∞, π"
    assert prettify_math("`$x$` stays in code") == "`$x$` stays in code"
    assert prettify_math("no math here") == "no math here"


def test_chunks_split_at_spaces_outside_code():
    text = ("word " * 1000) + "```\n" + ("code " * 1000) + "\n```" + (" tail" * 10)
    chunks = split_chunks(text, 500)
    assert "".join(chunks) == text
    assert all(c[:1].isspace() for c in chunks[1:])
    assert all(c.count("```") % 2 == 0 for c in chunks)
    assert len(chunks) > 5


def test_budget_bar():
    assert bar(5, 10, 10) == "▕█████░░░░░▏ 5/10"
    assert bar(12, 10, 4) == "▕████▏ 12/10"
    assert bar(7, "auto") == "7/auto"


def test_settings_command_line_over_config_over_defaults(tmp_path):
    cfg = tmp_path / "tui.toml"
    cfg.write_text(
        'model = "from-config"\nbackend = "hf"\nmax_thinking = 2048\n'
        '[tui]\ntheme = "nord"\ndemo = "512,1024"\nbudget_step = 64\n'
    )
    s = load_settings(EngineOptions(backend="vllm"), PolicyOptions(), TuiOptions(), config=cfg)
    assert s.engine.model == "from-config"
    assert s.engine.backend == "vllm"  # given on the command line: wins
    assert s.policy.max_thinking == "2048"
    assert (s.tui.theme, s.tui.budget_step) == ("nord", 64)
    assert [label for label, _ in s.demo_policies()] == ["budget 512", "budget 1024"]


def test_settings_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("modle = 'x'\n")
    with pytest.raises(S1Error, match="unknown setting.*modle"):
        load_settings(config=bad)
    bad.write_text("model = \n")
    with pytest.raises(S1Error, match="cannot read the config"):
        load_settings(config=bad)
    with pytest.raises(S1Error, match="no config file"):
        load_settings(config=tmp_path / "missing.toml")
    with pytest.raises(S1Error, match="demo column"):
        parse_demo("512,lots", load_settings().base_policy())
    with pytest.raises(S1Error, match="2 columns"):
        parse_demo("512", load_settings().base_policy())
    cols = parse_demo("w0,w2,1024:w1", load_settings().base_policy())
    assert [(label, p.num_ignore) for label, p in cols] == [
        ("0 Wait", 0),
        ("2 Wait", 2),
        ("budget 1024 · 1 Wait", 1),
    ]


def test_history_store_and_exports(tmp_path):
    store = HistoryStore(tmp_path / "data")
    assert store.records() == []
    r = store.add(
        {
            "prompt": "What is 1+2?",
            "thinking": "t",
            "answer": "3",
            "events": [{"kind": "wait", "cause": "user", "token_index": 4, "text": "Wait"}],
        }
    )
    with open(store.path, "a") as f:
        f.write("{broken\n")  # a damaged line is skipped
    assert [x["id"] for x in store.records()] == [r["id"]]
    assert store.get(r["id"])["answer"] == "3"
    md = store.export(r, "md")
    assert "| 4 | wait | user | Wait |" in md.read_text()
    assert json.loads(store.export(r, "jsonl").read_text())["id"] == r["id"]
    assert "## Answer" in to_markdown(r)


def test_tui_command_errors_are_one_line(capsys, tmp_path):
    from s1_cli.main import main

    bad = tmp_path / "bad.toml"
    bad.write_text("colour = 1\n")
    for argv, needle in [
        (["tui", "--config", str(bad)], "unknown setting"),
        (["tui", "--demo", "5"], "2 columns"),
        (["tui", "--max-thinking", "-3"], "-3"),
        (["tui", "--budget-step", "0"], "budget step"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err
        lines = [x for x in err.splitlines() if x.startswith("error:")]
        assert len(lines) == 1 and needle in lines[0], err


def test_the_budget_and_pace_keys_turn_these_values():
    from s1_tui.knobs import next_budget, next_pace, pace_steps, pace_text

    assert next_budget("fit", 256) == 256 and next_budget("auto", -256) == 256  # one step
    assert next_budget(256, 256) == 512 and next_budget(256, -512) == 0  # never below 0
    assert pace_steps(0) == (0.0, 20.0, 10.0, 5.0, 2.0)
    assert pace_steps(3) == (0.0, 20.0, 10.0, 5.0, 3.0, 2.0)  # --pace 3 is on the way
    seen, pace = [], 0.0
    for _ in range(6):
        pace = next_pace(pace, 3)
        seen.append(pace)
    assert seen == [20.0, 10.0, 5.0, 3.0, 2.0, 0.0]
    assert pace_text(0) == "full speed" and pace_text(2.5) == "2.5 tokens/s"


def test_on_a_server_the_console_budget_fit_goes_as_auto():
    """`s1 serve` takes a number or 'auto'; the console's own default, 'fit', would be a
    400 (the README's `s1 tui --server` line got no answer)."""
    from s1_tui.settings import Settings

    local = Settings(EngineOptions(), PolicyOptions(max_thinking="fit"), TuiOptions())
    remote = Settings(
        EngineOptions(), PolicyOptions(max_thinking="fit"), TuiOptions(server="http://gpu:8000")
    )
    assert local.base_policy().max_thinking_tokens == "fit"
    assert remote.base_policy().max_thinking_tokens == "auto"
    numbered = Settings(EngineOptions(), PolicyOptions(max_thinking="64"), remote.tui)
    assert numbered.base_policy().max_thinking_tokens == 64
