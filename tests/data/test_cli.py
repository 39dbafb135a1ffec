"""`s1 curate` on the command line: stages alone and chained, the whole run, a real kill,
and bad input as one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from s1_cli.main import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], lines[0]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# ----- bad input --------------------------------------------------------------------
def test_a_source_that_does_not_exist(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "curate", "run", tmp_path / "nope.jsonl", "--out", tmp_path / "o"
    )
    assert_one_line_error(code, err, "nope.jsonl", "cannot load")


def test_a_hub_id_that_does_not_load(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "curate", "--pool", "nobody/no-such-set", "--out", tmp_path / "o"
    )
    assert_one_line_error(code, err, "nobody/no-such-set", "hub")


def test_an_unreadable_file(capsys, tmp_path):
    bad = tmp_path / "pool.jsonl"
    bad.write_text('{"question": "a"\nnot json\n')
    code, _, err = run_cli(capsys, "curate", "quality", bad, "--out", tmp_path / "o")
    assert_one_line_error(code, err, "pool.jsonl")


def test_missing_columns(capsys, tmp_path):
    pool = write_jsonl(tmp_path / "pool.jsonl", [{"text": "What is 1+1?", "label": "2"}])
    code, _, err = run_cli(capsys, "curate", "quality", pool, "--out", tmp_path / "o")
    assert_one_line_error(code, err, "no question column", "text, label")
    pool = write_jsonl(tmp_path / "p2.jsonl", [{"problem": "What is 1+1?", "note": "x"}])
    code, _, err = run_cli(capsys, "curate", "quality", pool, "--out", tmp_path / "o")
    assert_one_line_error(code, err, "neither a solution nor an answer")


def test_n_larger_than_the_pool_fails_before_any_model_runs(capsys, tmp_path, planted_files):
    pool, _ = planted_files
    code, _, err = run_cli(
        capsys,
        "curate",
        "--pool",
        pool,
        "--out",
        tmp_path / "o",
        "--n",
        1000,
        "-m",
        tmp_path / "no-model-here",
    )
    assert_one_line_error(code, err, "1000", "--n")


def test_other_bad_options(capsys, tmp_path, planted_files):
    pool, _ = planted_files
    code, _, err = run_cli(capsys, "curate", "run", pool)
    assert_one_line_error(code, err, "--out")
    code, _, err = run_cli(
        capsys, "curate", "run", pool, "-o", tmp_path / "o", "--classifier", "bert"
    )
    assert_one_line_error(code, err, "bert", "lexical")
    code, _, err = run_cli(
        capsys, "curate", "run", pool, "-o", tmp_path / "o", "--dedup-threshold", "2"
    )
    assert_one_line_error(code, err, "--dedup-threshold")
    code, _, err = run_cli(
        capsys, "curate", "decontaminate", pool, "-o", tmp_path / "o", "--eval-tasks", "nosuchtask"
    )
    assert_one_line_error(code, err, "nosuchtask")
    code, _, err = run_cli(
        capsys, "curate", "run", pool, "-o", tmp_path / "o", "--max-thinking", "lots"
    )
    assert_one_line_error(code, err, "lots")
    code, out, err = run_cli(capsys, "curate")
    assert_one_line_error(code, err, "--pool")


# ----- stages alone, chained by hand -------------------------------------------------
def test_stages_alone_and_chained(capsys, tmp_path, planted, planted_files):
    import datasets

    pool, evalfile = planted_files
    q, d, s = tmp_path / "q", tmp_path / "d", tmp_path / "s"
    code, out, err = run_cli(capsys, "curate", "quality", pool, "--out", q)
    assert code == 0, err
    assert "quality" in out and "near_duplicate 3" in out
    assert (
        datasets.load_dataset(str(q), split="train").num_rows
        == json.loads((q / "report.json").read_text())["survivors"]["quality"]
    )
    code, out, err = run_cli(
        capsys, "curate", "decontaminate", q, "--out", d, "--eval-tasks", evalfile
    )
    assert code == 0, err
    assert "eval_overlap 3" in out
    # select needs domains
    code, _, err = run_cli(capsys, "curate", "select", d, "--out", s, "--n", 3)
    assert_one_line_error(code, err, "no domain", "diversity")
    code, _, err = run_cli(capsys, "curate", "diversity", d, "--out", tmp_path / "v")
    assert code == 0, err
    n_left = datasets.load_dataset(str(tmp_path / "v"), split="train").num_rows
    # N larger than the survivors
    code, _, err = run_cli(
        capsys, "curate", "select", tmp_path / "v", "--out", s, "--n", n_left + 1
    )
    assert_one_line_error(
        code, err, f"select {n_left + 1} items", f"only {n_left}", f"at most {n_left}"
    )
    code, out, err = run_cli(capsys, "curate", "select", tmp_path / "v", "--out", s, "--n", 8)
    assert code == 0, err
    ds = datasets.load_dataset(str(s), split="train")
    assert ds.num_rows == 8 and sorted(ds["select_rank"]) == list(range(8))
    assert all(x[:2] in planted.domains for x in ds["domain"])


# ----- the whole pipeline ------------------------------------------------------------
def test_the_whole_run_on_the_command_line(capsys, tmp_path, tiny_model, planted_files):
    pool, evalfile = planted_files
    out = tmp_path / "set"
    argv = [
        "curate",
        "--pool",
        pool,
        "--out",
        out,
        "--n",
        10,
        "--limit",
        30,
        "--eval-tasks",
        evalfile,
    ]
    argv += [
        "-m",
        tiny_model,
        "--backend",
        "hf",
        "--classifier",
        "model",
        "--classify-max-thinking",
        4,
    ]
    code, stdout, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert "select" in stdout and "(10 items)" in stdout
    report = json.loads((out / "report.json").read_text())
    assert report["survivors"]["pool"] == 30 and report["survivors"]["select"] == 10
    div = next(s for s in report["stages"] if s["name"] == "diversity")
    assert div["stats"]["classifier"] == "model"
    # the scripted model answers no domain code: every item fell back to the lexical one
    assert div["stats"]["model_fallbacks"] == report["survivors"]["diversity"]
    # the same command again: every stage is resumed, nothing recomputed
    code, stdout, err = run_cli(capsys, *argv)
    assert code == 0 and stdout.count("(resumed)") == 7


def test_a_killed_process_resumes(capsys, tmp_path, tiny_model):
    rows = [
        {
            "question": f"Question {i}: how many {w} are there among {i * 7 + 3} crates?",
            "answer": str(i),
        }
        for i, w in enumerate(
            ["apples", "pears", "plums", "limes", "figs", "kiwis", "dates", "nuts"] * 3
        )
    ]
    pool = write_jsonl(tmp_path / "pool.jsonl", rows)
    out = tmp_path / "run"
    args = ["curate", "run", pool, "--out", out, "--n", 5, "--eval-tasks", "none"]
    args += ["-m", tiny_model, "--backend", "hf", "--batch-size", 2, "-q"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "s1_cli.main", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    partial = out / "stages" / "03_traces.calls.jsonl"
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if partial.exists() and partial.read_bytes().count(b"\n") >= 1 + 4:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    done_before = partial.read_bytes().count(b"\n") - 1
    assert 4 <= done_before < len(rows)
    code, _, err = run_cli(capsys, *args)
    assert code == 0, err
    report = json.loads((out / "report.json").read_text())
    stages = {s["name"]: s for s in report["stages"]}
    assert stages["quality"]["resumed"] and not stages["traces"]["resumed"]
    assert stages["traces"]["stats"]["model_calls"] == {
        "new": len(rows) - done_before,
        "saved_before": done_before,
    }
    assert stages["traces"]["stats"]["generated"] == len(rows)
    assert report["survivors"]["select"] == 5


def test_model_stages_alone(capsys, tmp_path, tiny_model):
    rows = [
        {"question": f"How many {w} fit in a box of side {i + 2}?", "answer": a}
        for i, (w, a) in enumerate([("cubes", "8"), ("balls", "xa xb xc"), ("dice", "27")])
    ]
    pool = write_jsonl(tmp_path / "pool.jsonl", rows)
    t, d = tmp_path / "t", tmp_path / "d"
    model = ["-m", tiny_model, "--backend", "hf"]
    code, out, err = run_cli(capsys, "curate", "traces", pool, "--out", t, *model)
    assert code == 0, err
    from s1_engine.testing import make_scripted_model

    short = make_scripted_model(tmp_path / "short", think_len=5)  # a second reference model
    refs = ["--ref-model", tiny_model, "--ref-model", short]
    code, out, err = run_cli(capsys, "curate", "difficulty", t, "--out", d, *model, *refs)
    assert code == 0, err
    assert "solved_by_all 1" in out
    import datasets

    ds = datasets.load_dataset(str(d), split="train")
    assert ds.num_rows == 2 and ds["trace_tokens"] == [10, 10]
    assert ds["trace_source"] == [f"teacher:{tiny_model}"] * 2
    assert ds["ref_models"] == [[str(tiny_model), str(short)]] * 2
    assert ds["ref_correct"] == [[False, False]] * 2
    assert ds["ref_thinking_tokens"] == [[10, 5]] * 2
