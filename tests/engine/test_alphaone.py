"""AlphaOne (arXiv 2505.24863) as a state of the machine: Waits after paragraph breaks
before the alpha moment, drawn from a hash of (seed, token index); past it, the model's
own Wait or end attempt becomes the end of thinking ("policy").

A scripted model of its own here cycles " ua ub \\n\\n uc Wait" in the think-tags format:
a paragraph break at every 5th token, and a Wait it writes itself right after. Both real
backends run it (transformers; vLLM, on its continuation path) and must write the very
same tokens; the shared scripted model's s1 format (10 tokens, then an end attempt) shows
the end attempt past the moment.
"""

from __future__ import annotations

import json

import pytest

from s1_engine import BudgetPolicy, S1Error
from s1_engine.alphaone import alpha_draw, wait_chance
from s1_engine.plugin_args import policy_from_args
from s1_engine.settings import METHOD_PRESETS, PolicyOptions

Q = "What is 1+2?"
CYCLE = [" ua", " ub", "\n\n", " uc", "Wait"]


@pytest.fixture(scope="module")
def cyc_model(tmp_path_factory):
    from s1_engine.testing import make_scripted_model

    return make_scripted_model(tmp_path_factory.mktemp("alphaone") / "cyc", cycle=CYCLE)


@pytest.fixture(scope="module")
def cyc_hf(cyc_model):
    from s1_engine import Engine

    engine = Engine(str(cyc_model), backend="hf")
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def cyc_vllm(cyc_model):
    from s1_engine import Engine

    engine = Engine(str(cyc_model), backend="vllm", max_model_len=1024)
    yield engine
    engine.close()


def ids(engine, text):
    return engine.tokenizer.encode(text, add_special_tokens=False)


def events(r, kind=None):
    return [(e.kind, e.cause, e.token_index, e.text) for e in r.events if kind in (None, e.kind)]


def expected_waits(r, pb, wait, seed, moment, alpha_p):
    """The rule, replayed on a result: a Wait follows each break the model wrote before
    the moment whose draw falls under the linear chance (indices in the output; every
    token before the end is thinking here)."""
    out, end = r.output_ids, r.thinking_tokens
    want = []
    for i in range(end):
        if out[i] == pb and not r.forced_mask[i] and i + 1 < moment:
            if alpha_draw(seed, i + 1) < alpha_p * (1 - (i + 1) / moment):
                want.append(i + 1)
    assert all(out[i] == wait and r.forced_mask[i] for i in want)
    return want


# ----- the schedule alone ---------------------------------------------------------------------
def test_the_draw_is_a_fixed_uniform_hash_and_the_chance_falls_linearly():
    assert alpha_draw(0, 3) == alpha_draw(0, 3) != alpha_draw(1, 3) != alpha_draw(0, 4)
    draws = [alpha_draw(7, i) for i in range(4000)]
    assert all(0 <= u < 1 for u in draws) and abs(sum(draws) / 4000 - 0.5) < 0.02
    assert sum(u < 0.25 for u in draws) / 4000 == pytest.approx(0.25, abs=0.02)
    assert [wait_chance(1.0, t, 20) for t in (0, 5, 10, 19, 20, 30)] == [
        1.0,
        0.75,
        0.5,
        pytest.approx(0.05),
        0.0,
        0.0,
    ]
    assert wait_chance(0.4, 10, 20) == pytest.approx(0.2)


# ----- the cycle model on both backends ----------------------------------------------------
@pytest.mark.parametrize("seed, alpha_p", [(0, 1.0), (3, 1.0), (11, 0.6)])
def test_waits_go_in_after_breaks_before_the_moment_on_both_backends(
    cyc_hf, cyc_vllm, seed, alpha_p
):
    """Budget 40, alpha 0.5: the moment at 20 thinking tokens. Each Wait follows a break
    whose draw fell under p_t (none at or after 20), is a `wait` by "policy" counted as
    thinking, and the model's own next Wait past 20 becomes the end with the lead-in."""
    policy = BudgetPolicy(max_thinking_tokens=40, alpha=0.5, alpha_p=alpha_p).with_(
        thinking=BudgetPolicy().thinking.with_seed(seed)
    )
    a = cyc_hf.generate(Q, policy, format="think-tags")
    b = cyc_vllm.generate(Q, policy, format="think-tags")
    assert a.output_ids == b.output_ids and a.events == b.events
    assert a.forced_mask == b.forced_mask
    (pb,), (wait,) = ids(cyc_hf, "\n\n"), ids(cyc_hf, "Wait")
    want = expected_waits(a, pb, wait, seed, 20, alpha_p)
    assert want  # each of these seeds draws at least one
    assert events(a, "wait") == [("wait", "policy", i, "Wait") for i in want]
    assert all(e.thinking_tokens < 20 for e in a.events if e.kind == "wait")
    # the model's own Waits stay only before 20; the end is where its next one would be
    # (after " uc"), with 20 or more thinking tokens
    out, end = a.output_ids, a.thinking_tokens
    assert all(i < 20 for i in range(end) if out[i] == wait and not a.forced_mask[i])
    assert end >= 20 and out[end - 1] == ids(cyc_hf, " uc")[0]
    assert events(a, "end_thinking") == [("end_thinking", "policy", end, "Wait")]
    fmt = cyc_hf.bound_format("think-tags")
    tail = list(fmt.newline_ids) + list(fmt.think_end_ids) + list(fmt.lead_in_ids)
    assert out[end : end + len(tail)] == tail and all(a.forced_mask[end : end + len(tail)])
    assert a.answer == "Final Answer: xa xb xc"


def test_the_exact_positions_for_seed_0(cyc_hf):
    """Pinned: the breaks at thinking tokens 3 and 7 draw a Wait (p 0.85, 0.65), those at
    11, 15, 19 do not; the model's Wait at 22 (past 20) becomes the end."""
    r = cyc_hf.generate(Q, BudgetPolicy(max_thinking_tokens=40, alpha=0.5), format="think-tags")
    assert [alpha_draw(0, n) < wait_chance(1.0, n, 20) for n in (3, 7, 11, 15, 19)] == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert events(r, "wait") == [("wait", "policy", 3, "Wait"), ("wait", "policy", 7, "Wait")]
    assert events(r, "end_thinking") == [("end_thinking", "policy", 22, "Wait")]
    assert r.thinking_tokens == 22 and r.count("wait") == 2


def test_no_chance_no_wait_and_the_first_wait_past_the_moment_ends(cyc_hf, cyc_vllm):
    """alpha_p 0: nothing goes in; the model's Waits at 4, 9, 14, 19 stay (before 20), the
    one at 24 is the end. Without alpha the budget ends thinking at 40."""
    policy = BudgetPolicy(max_thinking_tokens=40, alpha=0.5, alpha_p=0.0)
    for engine in (cyc_hf, cyc_vllm):
        r = engine.generate(Q, policy, format="think-tags")
        assert r.count("wait") == 0 and not any(r.forced_mask[: r.thinking_tokens])
        assert events(r, "end_thinking") == [("end_thinking", "policy", 24, "Wait")]
        wait = ids(engine, "Wait")[0]
        assert [i for i in range(24) if r.output_ids[i] == wait] == [4, 9, 14, 19]
    plain = cyc_hf.generate(Q, BudgetPolicy(max_thinking_tokens=40), format="think-tags")
    assert events(plain, "end_thinking") == [("end_thinking", "budget", 40, "")]


def test_inserted_waits_count_within_the_budget(cyc_hf):
    """alpha 1 at budget 12: the moment is the budget, so it ends by "budget" at exactly 12
    tokens, the forced Waits among them."""
    r = cyc_hf.generate(Q, BudgetPolicy(max_thinking_tokens=12, alpha=1.0), format="think-tags")
    assert r.thinking_tokens == 12
    assert events(r, "end_thinking") == [("end_thinking", "budget", 12, "")]
    assert sum(r.forced_mask[:12]) == r.count("wait", "policy") >= 1


# ----- the end attempt past the moment (the shared scripted model, s1 format) ---------------
@pytest.mark.parametrize("alpha, cause", [(0.25, "policy"), (0.75, "model"), (0.0, "model")])
def test_an_end_attempt_past_the_moment_is_the_policys_end(engine, alpha, cause):
    """The model tries to end at 10 thinking tokens. Budget 20: alpha 0.25 puts the moment
    at 5, so the end is the policy's (newline, delimiter, lead-in); at 0.75 (the moment at
    15) or without alpha it is the model's own, with no lead-in."""
    r = engine.generate(Q, BudgetPolicy(max_thinking_tokens=20, alpha=alpha))
    assert r.thinking_tokens == 10 and r.count("wait") == 0
    assert events(r, "end_thinking") == [("end_thinking", cause, 10, "")]
    assert r.answer == ("Final Answer: xa xb xc" if cause == "policy" else "xa xb xc")


def test_a_user_wait_at_the_end_still_wins_past_the_moment(hf_engine):
    s = hf_engine.start(Q, BudgetPolicy(max_thinking_tokens=30, alpha=0.1), paused=True)
    s.force_wait(now=False)
    s.begin()
    r = s.result(60)
    assert [(e.kind, e.cause) for e in r.events][1:3] == [
        ("wait", "user"),
        ("end_thinking", "policy"),
    ]
    assert r.thinking_tokens == 16  # 10, the Wait, 5 more, then the policy's end


# ----- bad values, presets and the command ---------------------------------------------------
@pytest.mark.parametrize(
    "kw, match",
    [
        ({"alpha": 1.4}, "share of the thinking budget"),
        ({"alpha": -0.1}, "share of the thinking budget"),
        ({"alpha": True}, "share of the thinking budget"),
        ({"alpha": float("nan")}, "share of the thinking budget"),
        ({"alpha_p": 2.0}, "alpha_p"),
    ],
)
def test_bad_values_are_one_line_errors(kw, match):
    with pytest.raises(S1Error, match=match) as e:
        BudgetPolicy(**kw)
    assert "\n" not in e.value.line()


def test_the_plugin_refuses_alpha_and_the_label_names_it():
    with pytest.raises(S1Error, match="alpha .AlphaOne. does not run inside plain vllm serve"):
        policy_from_args({"alpha": "0.5"})
    assert policy_from_args({"alpha": "0"}).alpha == 0
    assert BudgetPolicy(alpha=0.5, alpha_p=0.8).label() == "think=auto,wait=0,alpha=0.5,alpha_p=0.8"
    assert BudgetPolicy(alpha=0.5).label() == "think=auto,wait=0,alpha=0.5"


def test_method_presets_and_explicit_flags_winning():
    assert set(METHOD_PRESETS) >= {"budget", "nowait", "alphaone"}
    assert PolicyOptions(method="alphaone").policy().alpha == 0.5
    assert PolicyOptions(method="alphaone", alpha=0.3).policy().alpha == 0.3
    assert PolicyOptions(method="nowait").policy().suppress == ("Wait", "Hmm", "Alternatively")
    assert PolicyOptions(method="nowait", suppress="Hmm").policy().suppress == ("Hmm",)
    assert PolicyOptions(method="budget").policy() == PolicyOptions().policy()
    with pytest.raises(
        S1Error, match="--method must be one of budget, nowait, alphaone, deer, got .alphazero."
    ):
        PolicyOptions(method="alphazero")


def test_s1_generate_takes_method_alphaone_and_alpha(capsys, tiny_model):
    from s1_cli.main import main

    argv = ["generate", Q, "-m", str(tiny_model), "--backend", "hf", "--max-thinking", "20"]
    assert main(argv + ["--method", "alphaone", "--json"]) == 0  # the moment at 10
    record = json.loads(capsys.readouterr().out)
    ends = [(e["cause"], e["token_index"]) for e in record["events"] if e["kind"] == "end_thinking"]
    assert ends == [("policy", 10)] and record["answer"] == "Final Answer: xa xb xc"
    assert main(argv + ["--method", "alphaone", "--alpha", "0.9", "--json"]) == 0  # at 18
    record = json.loads(capsys.readouterr().out)
    assert [e["cause"] for e in record["events"] if e["kind"] == "end_thinking"] == ["model"]
    assert main(argv + ["--alpha", "1.4"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--alpha" in err and len(err.splitlines()) == 1
    assert main(argv + ["--method", "alphazero"]) == 2
    assert "alphazero" in capsys.readouterr().err
