"""Bad input to any command: exit 2, one line naming the problem and the fix, no traceback,
and before any model loads (an engine start takes seconds; these take milliseconds).

The value cases are generated from the settings every command declares (its fields'
types and limits), so a new option is covered the day it is declared.
"""

from __future__ import annotations

import pytest

from s1_cli.main import main
from s1_data.pipeline import CurateConfig
from s1_data.stages import settings_classes
from s1_engine.options import _base, flag_of, option_fields
from s1_engine.settings import EngineOptions, PolicyOptions
from s1_eval.settings import EvalOptions
from s1_train.config import TrainConfig
from s1_tui.settings import TuiOptions

# each command with the arguments it needs to get as far as its options' checks
COMMANDS = {
    "generate": (["generate", "What is 1+2?"], (EngineOptions, PolicyOptions)),
    "eval": (
        ["eval", "--task", "synthetic", "--out", "{tmp}/o"],
        (EvalOptions, EngineOptions, PolicyOptions),
    ),
    "train": (["train", "{tmp}/data.jsonl"], (TrainConfig,)),
    "tui": (["tui"], (EngineOptions, PolicyOptions, TuiOptions)),
    "curate": (
        ["curate", "run", "{tmp}/data.jsonl", "--out", "{tmp}/o"],
        (CurateConfig, *settings_classes(), EngineOptions),
    ),
}


def one_line_error(code: int, err: str, *needles: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err, err
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def bad_values(cls: type) -> list[tuple[str, str, str]]:
    """(flag, value, what the message must name) for every option with a rule."""
    cases = []
    for f, info, typ in option_fields(cls):
        if not info.cli:
            continue
        flag, base = flag_of(f, info), _base(typ)
        if base in (int, float):
            cases.append((flag, "abc", flag))  # not a number: the parser's usage error
            if info.min is not None:
                low = info.min - 1 if base is int else info.min - 0.5
                cases.append((flag, str(int(low) if base is int else low), flag))
            if info.above is not None:
                cases.append((flag, str(int(info.above) if base is int else info.above), flag))
            if info.max is not None:
                cases.append((flag, str(info.max + 1), flag))
        if info.choices:
            cases.append((flag, "no-such-choice", flag))
            cases.append((flag, "", flag))
        if info.out_dir:
            cases.append((flag, "{tmp}/a-file", flag))
            cases.append((flag, "{tmp}/a-file/sub", flag))  # under a file
            cases.append((flag, "/sys/s1-out", flag))  # a read-only filesystem, even for root
    return cases


CASES = [
    (name, flag, value, needle)
    for name, (_, classes) in COMMANDS.items()
    for cls in classes
    for flag, value, needle in bad_values(cls)
]


@pytest.fixture()
def tmp(tmp_path):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "data.jsonl").write_text('{"question": "q", "answer": "a"}\n')
    return tmp_path


def test_the_generated_cases_cover_every_kind_of_rule():
    flags = {(c[0], c[1]) for c in CASES}
    assert ("eval", "--limit") in flags and ("train", "--lr") in flags
    assert ("train", "--output") in flags and ("eval", "--out") in flags
    assert ("generate", "--backend") in flags and ("tui", "--top-p") in flags
    assert len(CASES) > 80


@pytest.mark.parametrize(
    "name,flag,value,needle", CASES, ids=[f"{c[0]}{c[1]}={c[2]}" for c in CASES]
)
def test_a_bad_value_is_one_line_and_exit_2(capsys, tmp, name, flag, value, needle):
    argv, _ = COMMANDS[name]
    argv = [a.format(tmp=tmp) for a in argv] + [flag, value.format(tmp=tmp)]
    code = main(argv)
    one_line_error(code, capsys.readouterr().err, needle)


@pytest.mark.parametrize(
    "argv,needles",
    [
        (["generate", "q", "--min-thinking", "100", "--max-thinking", "10"], ["--min-thinking"]),
        (
            ["generate", "q", "--backend", "hf", "--engine-arg", "enforce_eager=true"],
            ["--backend vllm"],
        ),
        (["generate", "q", "--dtype", "float8"], ["--dtype"]),
        (["train", "{tmp}/data.jsonl", "--epochs", "0"], ["--epochs"]),
        (["train", "{tmp}/data.jsonl", "--batch-size", "0"], ["--batch-size"]),
        (["train", "{tmp}/data.jsonl", "--max-steps", "0"], ["--max-steps"]),
        (["train", "{tmp}/data.jsonl", "--lr", "-1"], ["--lr"]),
        (["train", "{tmp}/data.jsonl", "--scheduler", "cosinus"], ["--scheduler"]),
        (["train", "{tmp}/data.jsonl", "--recipe", "{tmp}/lr.yaml"], ["learning_rate", "float"]),
        (["train", "{tmp}/data.jsonl", "--recipe", "{tmp}/extra.yaml"], ["extra", "no_such_arg"]),
        (["eval", "--task", "{tmp}/empty.jsonl", "--out", "{tmp}/o"], ["empty.jsonl", "empty"]),
        (["eval", "--task", "{tmp}/bad.jsonl", "--out", "{tmp}/o"], ["line 2", "bad.jsonl"]),
        (["evall"], ["No such command", "s1 --help"]),
        (["eval", "comapre", "a", "b"], ["compare"]),
        (["eval", "--limit", "abc"], ["--limit"]),
        (["tiny-model", "{tmp}/a-file"], ["a-file"]),
    ],
)
def test_the_cases_of_the_issue(capsys, tmp, argv, needles):
    (tmp / "lr.yaml").write_text("learning_rate: fast\n")
    (tmp / "extra.yaml").write_text("extra:\n  no_such_arg: 1\n")
    (tmp / "empty.jsonl").write_text("\n")
    (tmp / "bad.jsonl").write_text('{"question": "q", "answer": "a"}\n{"question": "q2", "ans\n')
    code = main([a.format(tmp=tmp) for a in argv])
    one_line_error(code, capsys.readouterr().err, *needles)
