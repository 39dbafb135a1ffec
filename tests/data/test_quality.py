"""Quality and decontamination on the planted pool: every planted defect caught, nothing else."""

from __future__ import annotations

from collections import Counter

from s1_data.pool import load_pool
from s1_data.stages.decontaminate import EvalSet, load_eval_set, ngrams, run_decontaminate
from s1_data.stages.quality import check_item, run_quality

PLANTED_REASON = {
    "missing": "missing_field",
    "image": "image_reference",
    "art": "ascii_art",
    "garbled": "garbled_encoding",
    "format": "broken_formatting",
    "exact": "exact_duplicate",
    "near": "near_duplicate",
}


def _meta(item):
    import json

    return json.loads(item["metadata"])


def test_every_planted_quality_defect_is_caught(planted, planted_files):
    pool = load_pool([str(planted_files[0])])
    assert len(pool) == planted.total
    kept, dropped = run_quality(pool)
    counts = Counter(d["reason"] for d in dropped)
    for reason in PLANTED_REASON.values():
        assert counts[reason] == planted.expected[reason], (reason, counts)
    assert len(dropped) == sum(planted.expected[r] for r in PLANTED_REASON.values())
    by_id = {it["id"]: it for it in pool}
    for d in dropped:  # each drop is the planted defect, with its reason
        tag = _meta(by_id[d["id"]]).get("planted")
        if d["reason"] in ("exact_duplicate", "near_duplicate"):
            # the pool is in random order: either copy of a planted pair may come first
            other = d["detail"].split()[-1]
            tag = tag or _meta(by_id[other]).get("planted")
        assert PLANTED_REASON[tag] == d["reason"], d
        assert d["detail"]
    survivors = [_meta(it).get("planted") for it in kept]
    broken = [t for t in survivors if t and t not in ("exact", "near")]
    assert broken == ["eval"] * planted.expected["eval_overlap"]  # caught later, by decontamination
    texts = [" ".join(it["question"].lower().split()) for it in kept]
    assert len(set(texts)) == len(texts)


def test_clean_math_text_passes():
    ok = {
        "question": "Let $f(x) = \\frac{x^2}{2}$ and $g$ be the image of $f$ under the map. "
        "Compute $\\sum_{k=1}^{10} k$ for the set $\\{1, 2\\}$; the graph of $f$ is a parabola.",
        "solution": "\\begin{align} x &= 1 \\end{align} so \\boxed{55}",
    }
    assert check_item(ok) is None
    table = dict(ok, question="Read the table:\n| a | b |\n|---|---|\n| 1 | 2 |\nFind a + b.")
    assert check_item(table) is None


def test_each_check_names_its_reason():
    base = {"question": "What is the remainder when 2^10 is divided by 7?", "solution": "2"}
    cases = {
        "missing_field": dict(base, solution=None),
        "garbled_encoding": dict(base, question=base["question"] + " \x07"),
        "image_reference": dict(base, question=base["question"] + " See the diagram."),
        "ascii_art": dict(base, question=base["question"] + "\n*****\n*   *\n*****"),
        "broken_formatting": dict(base, solution="\\begin{cases} x"),
    }
    for reason, item in cases.items():
        v = check_item(item)
        assert v is not None and v.reason == reason, (reason, v)


def test_planted_contamination_is_caught(planted, planted_files):
    pool, evalfile = planted_files
    items, _ = run_quality(load_pool([str(pool)]))
    ev = load_eval_set([str(evalfile)])
    kept, dropped = run_decontaminate(items, ev, n=8)
    assert len(dropped) == planted.expected["eval_overlap"]
    assert all(d["reason"] == "eval_overlap" and "8-gram" in d["detail"] for d in dropped)
    assert all("Solve the following" in d["question"] for d in dropped)


def test_ngram_overlap_threshold():
    ev = EvalSet({"t": ["one two three four five six seven eight nine"]})
    item = {"id": "a", "question": "Zero ONE two three, four five six seven eight!"}
    assert len(run_decontaminate([item], ev, n=8)[1]) == 1
    assert len(run_decontaminate([item], ev, n=9)[1]) == 0
    assert ngrams("a b", 8) == {("a", "b")}
