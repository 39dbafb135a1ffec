"""The stage registry: each stage declares its settings once, the CLI makes its command
from them, and the pipeline reports progress by callback (s1_data draws nothing)."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import pytest

from s1_data.pipeline import CurateConfig, StageProgress, run_pipeline
from s1_data.stages import NAMES, STAGES, settings_classes
from s1_data.stages.quality import QualitySettings
from s1_engine.options import flag_of, info_of, option_fields
from s1_engine.settings import EngineOptions

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_an_option_and_each_flag_is_named_once():
    assert len(set(NAMES)) == len(NAMES) == len(STAGES)
    flags: dict[str, str] = {}
    for cls in [CurateConfig, *settings_classes(), EngineOptions]:
        for f, info, _ in option_fields(cls):
            assert info.help, f"{cls.__name__}.{f.name} has no help"
            flag = flag_of(f, info)
            assert flag not in flags, f"{flag} declared by {flags[flag]} and {cls.__name__}"
            flags[flag] = cls.__name__
    for cls in settings_classes():
        assert all(info_of(f) is not None for f in dataclasses.fields(cls)), cls


@pytest.mark.parametrize("stage", STAGES, ids=NAMES)
def test_each_stage_has_a_command_with_its_settings(stage, capsys):
    from s1_cli.main import main

    assert main(["curate", stage.name, "--help"]) == 0
    out = capsys.readouterr().out
    for cls in (CurateConfig, *stage.settings):
        for f, info, _ in option_fields(cls):
            assert flag_of(f, info) in out, (stage.name, f.name)
    assert ("--backend" in out) == stage.engine
    assert " ".join(stage.help.split()[:4]) in " ".join(out.split())


def test_progress_comes_by_callback(tmp_path):
    rows = [{"question": f"What is {i} plus {i * 3} in base ten?", "answer": "x"} for i in range(6)]
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps(r) + "\n" for r in rows))
    seen: list[StageProgress] = []
    cfg = CurateConfig(pool=[str(pool)], out=str(tmp_path / "o"), stages=("quality",))
    report = run_pipeline(cfg, on_progress=seen.append)
    assert report["survivors"] == {"pool": 6, "quality": 6}
    assert [p.stage for p in seen if p.finished] == ["pool", "quality"]
    quality = [p for p in seen if p.stage == "quality"]
    assert [p.done for p in quality] == list(range(7)) + [6]
    again: list[StageProgress] = []
    cfg = CurateConfig(
        pool=[str(pool)],
        out=str(tmp_path / "o"),
        stages=("quality",),
        settings=(QualitySettings(),),
    )
    run_pipeline(cfg, on_progress=again.append)
    assert all(p.resumed and p.finished for p in again) and len(again) == 2


def test_the_library_imports_no_front_end():
    found = {}
    for path in sorted((ROOT / "s1_data").rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        if names & {"rich", "typer", "click"}:
            found[str(path.relative_to(ROOT))] = sorted(names & {"rich", "typer", "click"})
    assert not found
