"""Every command documented in bench/**/*.md parses with its script's current options.

A benchmark's table is only reproducible if the command beside it still means what it
meant; this catches a renamed or dropped option (the script's argparse would refuse it).
It parses only: nothing is run, no model is built.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shlex
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
COMMAND = re.compile(r"python3?\s+(bench/[\w/]+\.py)([^`\n]*)")


def shell_words(rest: str) -> list[str]:
    """The words of one command: quotes respected, up to the first ; | & or comment."""
    lex = shlex.shlex(rest, posix=True, punctuation_chars=";&|")
    lex.whitespace_split = True
    words = []
    for w in lex:
        if w and set(w) <= set(";&|"):
            break
        words.append(w)
    return words


def documented_commands() -> list[tuple[str, str, list[str]]]:
    """(doc, script, argv) for every `python[3] bench/X.py ...` in bench/**/*.md."""
    found = []
    for doc in sorted(BENCH.rglob("*.md")):
        text = re.sub(r"\\\n\s*", " ", doc.read_text())  # shell line continuations
        for m in COMMAND.finditer(text):
            found.append((doc.name, m.group(1), shell_words(m.group(2))))
    return found


class _Parsed(Exception):
    def __init__(self, ns: argparse.Namespace) -> None:
        self.ns = ns


def parse_with_script(script: str, argv: list[str], monkeypatch: pytest.MonkeyPatch):
    """Run the script's main() until its parser has parsed argv, then stop."""
    path = BENCH.parent / script
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.syspath_prepend(str(path.parent))
    spec.loader.exec_module(mod)
    orig = argparse.ArgumentParser.parse_args

    def parse(self, args=None, namespace=None):  # noqa: ANN001
        raise _Parsed(orig(self, argv, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse)
    monkeypatch.setattr(sys, "argv", [str(path), *argv])
    try:
        mod.main()
    except _Parsed as p:
        return p.ns
    raise AssertionError(f"{script}: main() returned without parsing its arguments")


CASES = documented_commands()


def test_the_docs_hold_commands() -> None:
    scripts = {s for _, s, _ in CASES}
    assert {
        "bench/engine/gpu_engine.py",
        "bench/train/gpu_train.py",
        "bench/eval/eval_lockstep.py",
    } <= scripts
    assert "bench/eval/eval_parallel.py" in scripts


@pytest.mark.parametrize(
    "doc,script,argv", CASES, ids=[f"{d}:{s}:{' '.join(a)[:40]}" for d, s, a in CASES]
)
def test_documented_command_parses(
    doc: str, script: str, argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (BENCH.parent / script).exists(), f"{doc} names {script}, which does not exist"
    try:
        parse_with_script(script, argv, monkeypatch)
    except SystemExit as e:  # argparse's refusal
        pytest.fail(f"{doc}: `{script} {' '.join(argv)}` does not parse (exit {e.code})")
