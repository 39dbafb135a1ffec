"""The house rules, read off the source: dependencies point one way, the engine stays
light, `s1 --help` imports no heavy library, and no module grows past ~400 lines."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("s1_engine", "s1_eval", "s1_data", "s1_train", "s1_tui", "s1_serve", "s1_cli")
# what each package may import of ours (the engine at the bottom, the CLI on top: README, "Layout")
ALLOWED = {
    "s1_engine": set(),
    "s1_eval": {"s1_engine"},
    "s1_data": {"s1_engine", "s1_eval"},
    "s1_train": {"s1_engine", "s1_data"},
    "s1_serve": {"s1_engine"},
    "s1_tui": {"s1_engine", "s1_eval", "s1_serve"},
    "s1_cli": set(OURS),
}
HEAVY_FOR_ENGINE = ("typer", "rich", "matplotlib", "datasets", "click")
HEAVY_FOR_HELP = ("torch", "transformers", "vllm", "textual", "trl", "datasets", "matplotlib")
MAX_LINES = 420


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else []


def imported(path: Path) -> set[str]:
    """Top-level names of every import in a module (nested imports too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", [p for p in OURS if (ROOT / p).is_dir()])
def test_dependencies_point_down(package):
    wrong = {
        str(path.relative_to(ROOT)): sorted(
            (imported(path) & set(OURS)) - ALLOWED[package] - {package}
        )
        for path in modules(package)
    }
    assert not {k: v for k, v in wrong.items() if v}


def test_the_engine_imports_no_front_end_library():
    found = {
        str(path.relative_to(ROOT)): sorted(imported(path) & set(HEAVY_FOR_ENGINE))
        for path in modules("s1_engine")
    }
    assert not {k: v for k, v in found.items() if v}


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return {m.split(".")[0] for m in out.stdout.split()}


def test_import_s1_engine_stays_light():
    assert not loaded_after("import s1_engine") & set(HEAVY_FOR_ENGINE)


def test_s1_help_imports_no_heavy_library():
    code = (
        "from s1_cli.main import app\n"
        "try:\n    app(args=['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass"
    )
    assert not loaded_after(code) & set(HEAVY_FOR_HELP)


def test_no_module_is_too_long():
    long = {
        str(p.relative_to(ROOT)): n
        for pkg in OURS
        for p in modules(pkg)
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long


def _attributes(package: str):
    """(module, line, attribute, base expression) of every `x.attr` with x not self/cls."""
    for path in modules(package):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute):
                continue
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                continue
            yield path.relative_to(ROOT), node.lineno, node.attr, ast.unparse(base)


@pytest.mark.parametrize("package", [p for p in OURS if p != "s1_engine"])
def test_front_ends_use_the_engines_public_seam(package):
    """Outside s1_engine nothing reaches into an engine or a session: no `.machine`, no
    `._loop`, no engine's `.backend` (settings and snapshots may have a `backend` field)."""
    bad = [
        f"{path}:{line} {base}.{attr}"
        for path, line, attr, base in _attributes(package)
        if attr in ("machine", "_loop")
        or (attr == "backend" and any(w in base for w in ("engine", "session")))
        and "settings" not in base
    ]
    assert not bad, bad


def test_the_console_reads_no_private_attribute_of_another_object():
    """s1_tui uses Textual's public API only (a private `_pending` of MarkdownStream broke
    on a Textual release): no `x._name` for any x but self."""
    bad = [
        f"{path}:{line} {base}.{attr}"
        for path, line, attr, base in _attributes("s1_tui")
        if attr.startswith("_") and not attr.startswith("__")
    ]
    assert not bad, bad
