"""Selection as s1: more even over domains than random sampling, and favouring longer traces;
the other --strategy values (random, diverse, longest, difficulty), alone and on the command
line."""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter

import pytest

from s1_data.stages.select import STRATEGIES, entropy, select
from s1_engine.errors import S1Error


def candidates(seed: int = 0) -> list[dict]:
    """An imbalanced pool: 200 / 60 / 25 / 10 / 5 items in five domains."""
    rng = random.Random(seed)
    sizes = {
        "11 Number theory": 200,
        "05 Combinatorics": 60,
        "51 Geometry": 25,
        "60 Probability": 10,
        "40 Sequences": 5,
    }
    out = []
    for d, k in sizes.items():
        for i in range(k):
            out.append({"id": f"{d[:2]}-{i}", "domain": d, "trace_tokens": rng.randint(50, 5000)})
    return out


def test_selection_is_more_even_than_random_sampling():
    items = candidates()
    n = 40
    s1_entropies, random_entropies = [], []
    for seed in range(20):
        chosen, rest, stats = select(items, n, seed=seed)
        assert len(chosen) == n and len(rest) == len(items) - n
        assert len({it["id"] for it in chosen}) == n  # without replacement
        s1_entropies.append(entropy(Counter(it["domain"] for it in chosen)))
        sample = random.Random(seed).sample(items, n)
        random_entropies.append(entropy(Counter(it["domain"] for it in sample)))
    s1_mean, random_mean = statistics.fmean(s1_entropies), statistics.fmean(random_entropies)
    assert s1_mean > random_mean + 0.5, (s1_mean, random_mean)
    assert min(s1_entropies) > max(random_entropies)
    # log2(5) = 2.32 is the most even; the 5-item domain is exhausted before n = 40
    assert s1_mean > 2.1


def test_selection_favours_longer_traces():
    items = candidates()
    pool_mean = statistics.fmean(it["trace_tokens"] for it in items)
    means, uniform_means = [], []
    for seed in range(10):
        chosen, _, _ = select(items, 40, seed=seed)
        means.append(statistics.fmean(it["trace_tokens"] for it in chosen))
        flat, _, _ = select(items, 40, seed=seed, length_bias=0)
        uniform_means.append(statistics.fmean(it["trace_tokens"] for it in flat))
    assert statistics.fmean(means) > 1.5 * pool_mean
    assert statistics.fmean(means) > 1.3 * statistics.fmean(uniform_means)
    # within the big domain the first picks are among its longest traces
    chosen, _, _ = select(items, 40, seed=1)
    nt = sorted((it["trace_tokens"] for it in items if it["domain"].startswith("11")), reverse=True)
    picked = [it["trace_tokens"] for it in chosen if it["domain"].startswith("11")]
    assert all(t >= nt[20] for t in picked)


def test_selection_is_deterministic_and_ranked():
    items = candidates()
    a, _, _ = select(items, 30, seed=3)
    b, _, _ = select(items, 30, seed=3)
    assert [it["id"] for it in a] == [it["id"] for it in b]
    assert [it["select_rank"] for it in a] == list(range(30))


def test_selection_bad_inputs():
    items = candidates()
    with pytest.raises(S1Error, match="only 300 survived"):
        select(items, 301)
    with pytest.raises(S1Error, match="diversity"):
        select([{"id": "x", "trace_tokens": 3}], 1)
    with pytest.raises(S1Error):
        select(items, 0)


def test_all_items_when_n_is_the_pool():
    items = candidates()
    chosen, rest, _ = select(items, len(items))
    assert not rest and len(chosen) == len(items)


# ----- --strategy ---------------------------------------------------------------------
def ids(rows: list[dict]) -> list[str]:
    return [it["id"] for it in rows]


def test_s1_is_the_default_and_unchanged():
    items = candidates()
    chosen, _, stats = select(items, 10, seed=7)
    # the picks of the algorithm before --strategy existed, for this pool and seed
    assert ids(chosen) == [
        "40-2", "51-19", "05-9", "05-40", "05-39", "11-69", "51-1", "11-130", "51-10", "60-7"
    ]  # fmt: skip
    assert ids(select(items, 10, seed=7, strategy="s1")[0]) == ids(chosen)
    assert stats["strategy"] == "s1" and stats["length_bias"] == 1.0


def test_longest_picks_the_longest_n_ties_by_id():
    items = candidates()
    random.Random(5).shuffle(items)
    for seed in (0, 1):
        chosen, rest, stats = select(items, 15, seed=seed, strategy="longest")
        tokens = [it["trace_tokens"] for it in chosen]
        assert tokens == sorted(tokens, reverse=True)
        assert min(tokens) >= max(it["trace_tokens"] for it in rest)
        assert [it["select_rank"] for it in chosen] == list(range(15))
        assert stats["strategy"] == "longest" and "length_bias" not in stats
    tied = [
        {"id": "d", "trace_tokens": 10},
        {"id": "c", "trace_tokens": 50},
        {"id": "a", "trace_tokens": 100},
        {"id": "b", "trace_tokens": 50},
    ]  # no domain needed
    assert ids(select(tied, 2, strategy="longest")[0]) == ["a", "b"]
    assert ids(select(tied, 3, seed=9, strategy="longest")[0]) == ["a", "b", "c"]


def test_diverse_covers_every_domain_without_favouring_length():
    items = candidates()
    domains = {it["domain"] for it in items}
    big = sorted(
        (it for it in items if it["domain"].startswith("11")),
        key=lambda it: (-it["trace_tokens"], it["id"]),
    )
    rank = {it["id"]: r for r, it in enumerate(big)}
    diverse_ranks, s1_ranks = [], []
    for seed in range(40):
        chosen, _, _ = select(items, 5, seed=seed, strategy="diverse")
        assert {it["domain"] for it in chosen} == domains  # one from each
        diverse_ranks += [rank[it["id"]] for it in chosen if it["id"] in rank]
        s1, _, _ = select(items, 5, seed=seed)
        s1_ranks += [rank[it["id"]] for it in s1 if it["id"] in rank]
        # as even as the pool allows: the 5-item domain exhausted, the others 8 or 9
        counts = Counter(it["domain"][:2] for it in select(items, 40, seed, strategy="diverse")[0])
        assert counts["40"] == 5 and all(
            counts[d[:2]] in (8, 9) for d in domains - {"40 Sequences"}
        )
    assert len(diverse_ranks) == 40
    # not always (nor mostly) the longest of a domain, unlike s1's length weighting
    assert sum(r == 0 for r in diverse_ranks) <= 5
    assert statistics.median(diverse_ranks) > 40
    assert sum(r == 0 for r in s1_ranks) > len(s1_ranks) / 4


def test_random_is_seeded_and_ignores_domains():
    items = [{k: v for k, v in it.items() if k != "domain"} for it in candidates()]
    a, rest, stats = select(items, 40, seed=3, strategy="random")
    assert ids(a) == ids(select(items, 40, seed=3, strategy="random")[0])
    assert set(ids(a)) != set(ids(select(items, 40, seed=4, strategy="random")[0]))
    assert len(set(ids(a))) == 40 and len(rest) == len(items) - 40
    assert [it["select_rank"] for it in a] == list(range(40))
    assert stats["strategy"] == "random" and stats["domains_available"] == 0
    # domains play no part: the 200-of-300 domain gets about two thirds, as in the pool
    pool = candidates()
    share = [
        sum(it["domain"].startswith("11") for it in select(pool, 40, s, strategy="random")[0]) / 40
        for s in range(30)
    ]
    diverse = [
        sum(it["domain"].startswith("11") for it in select(pool, 40, s, strategy="diverse")[0]) / 40
        for s in range(30)
    ]
    assert 0.55 < statistics.fmean(share) < 0.78
    assert statistics.fmean(diverse) < 0.3


def rated(id_: str, solved: int, thinking: list[int], trace: int) -> dict:
    return {
        "id": id_,
        "ref_solved": solved,
        "ref_correct": [True] * solved + [False] * (2 - solved),
        "ref_thinking_tokens": thinking,
        "trace_tokens": trace,
    }


def test_difficulty_fewest_solved_first_then_the_tiebreaks():
    items = [
        rated("easy", 2, [1000, 1000], 9999),  # solved by more models: last, however long
        rated("t2b", 1, [50, 50], 100),  # ties t2a on everything: by id
        rated("h0", 0, [100, 100], 10),
        rated("t1", 1, [50, 50], 900),  # ties t2* on thinking: the longer trace first
        rated("t2a", 1, [50, 50], 100),
        rated("h1", 0, [300, 100], 5),  # the longer mean reference thinking first
    ]
    order = ["h1", "h0", "t1", "t2a", "t2b", "easy"]
    for seed in (0, 1):
        random.Random(seed).shuffle(items)
        assert ids(select(items, 6, seed=seed, strategy="difficulty")[0]) == order
    chosen, rest, stats = select(items, 3, strategy="difficulty")
    assert ids(chosen) == order[:3] and [it["select_rank"] for it in chosen] == [0, 1, 2]
    assert sorted(ids(rest)) == sorted(order[3:])
    assert stats["ref_solved_selected"] == {"0": 2, "1": 1}


def test_difficulty_needs_the_difficulty_stage():
    items = candidates()
    with pytest.raises(S1Error, match="run the difficulty stage first") as e:
        select(items, 5, strategy="difficulty")
    assert "\n" not in str(e.value) and "ref_solved" in str(e.value)


def test_an_unknown_strategy():
    with pytest.raises(S1Error, match="s1, random, diverse, longest, difficulty"):
        select(candidates(), 5, strategy="best")


# ----- on the command line ---------------------------------------------------------------
def run_cli(capsys, *argv) -> tuple[int, str, str]:
    from s1_cli.main import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_bad_strategy_is_a_usage_error(capsys, tmp_path, planted_files):
    pool, _ = planted_files
    for argv in (
        ["curate", "select", pool, "--out", tmp_path / "s", "--n", 3],
        ["curate", "--pool", pool, "--out", tmp_path / "all", "-m", tmp_path / "no-model"],
    ):
        code, _, err = run_cli(capsys, *argv, "--strategy", "best")
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in err
        assert "--strategy" in lines[0] and "'best'" in lines[0]
        assert ", ".join(STRATEGIES) in lines[0]
    assert not list(tmp_path.glob("*/report.json")) and not list(tmp_path.glob("*/stages"))


def small_pool(path) -> tuple[object, dict[str, int]]:
    """Nine items over three domains with traces: what the diversity stage leaves."""
    doms = ["11 Number theory", "05 Combinatorics", "51 Geometry"]
    tokens = [40, 310, 75, 120, 990, 15, 560, 230, 60]
    rows = [
        {
            "id": f"p{i}",
            "question": f"How many ways are there to pick {i + 2} of {i + 9} marbles?",
            "answer": str(i),
            "thinking": "Step: count the cases. " * (i + 1),
            "attempt": f"Final Answer: {i}",
            "domain": doms[i % 3],
            "trace_tokens": t,
        }
        for i, t in enumerate(tokens)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, {r["id"]: r["trace_tokens"] for r in rows}


def test_strategy_longest_on_the_command_line(capsys, tmp_path):
    import datasets

    from s1_train.formatting import Columns, to_prompt_completion
    from s1_train.train import load_rows

    pool, tokens = small_pool(tmp_path / "pool.jsonl")
    s1, longest = tmp_path / "s1", tmp_path / "longest"
    code, _, err = run_cli(capsys, "curate", "select", pool, "--out", s1, "--n", 4)
    assert code == 0, err
    code, out, err = run_cli(
        capsys, "curate", "select", pool, "--out", longest, "--n", 4, "--strategy", "longest"
    )
    assert code == 0, err and "(4 items)" in out
    a = datasets.load_dataset(str(s1), split="train")
    b = datasets.load_dataset(str(longest), split="train")
    assert a.features == b.features and a.num_rows == b.num_rows == 4  # the same format
    assert b["id"] == ["p4", "p6", "p1", "p7"] and b["select_rank"] == [0, 1, 2, 3]
    assert sorted(tokens, key=tokens.get)[-4:] == sorted(b["id"], key=tokens.get)
    for folder, name in ((s1, "s1"), (longest, "longest")):
        card = (folder / "README.md").read_text()
        assert f"Selection strategy: `{name}` ({STRATEGIES[name]})" in card
        assert f'"strategy": "{name}"' in card  # the settings block
        report = json.loads((folder / "report.json").read_text())
        assert report["stages"][-1]["stats"]["strategy"] == name
        rows = load_rows(str(folder))  # as `s1 train` reads it
        cols = Columns(rows.column_names)
        assert all(to_prompt_completion(r, cols)["completion"] for r in rows)
    dropped = [json.loads(x) for x in (longest / "dropped.jsonl").read_text().splitlines()]
    assert {d["reason"] for d in dropped} == {"not_selected"} and len(dropped) == 5
    assert all(d["detail"].startswith("--strategy longest: trace_tokens") for d in dropped)
    # another strategy in the same folder is refused, naming it; with --overwrite it is
    # recomputed, not resumed from the old pick
    args = ("curate", "select", pool, "--out", longest, "--n", 4, "--strategy", "diverse")
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and "(strategy: 'longest', now 'diverse')" in err and "--overwrite" in err
    code, _, err = run_cli(capsys, *args, "--overwrite")
    assert code == 0, err
    report = json.loads((longest / "report.json").read_text())
    sel = report["stages"][-1]
    assert not sel["resumed"] and sel["stats"]["strategy"] == "diverse"
    assert len(set(report["domains"]["selected"])) == 3
