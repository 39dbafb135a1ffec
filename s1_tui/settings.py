"""Settings of `s1 tui`: command line over a TOML config file over defaults (pure).

The config file is flat TOML (tables are merged in, so `[engine]`, `[policy]`,
`[tui]` sections work too):

    model = "simplescaling/s1.1-32B"
    backend = "vllm"
    max_thinking = 2048
    ignore_str = "Wait|Hmm"
    theme = "gruvbox"
    demo = "512,1024,2048"

Found at `--config PATH`, else `$S1_CONFIG`, else `<user config dir>/s1/tui.toml`.
History lives in `$S1_DATA_DIR`, else the user data dir (`<data>/s1`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from s1_engine.cli_options import EngineOptions, PolicyOptions
from s1_engine.errors import S1Error
from s1_engine.policy import BudgetPolicy, parse_budget

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


def data_dir() -> Path:
    env = os.environ.get("S1_DATA_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("s1", appauthor=False))


def default_config_path() -> Path:
    env = os.environ.get("S1_CONFIG")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("s1", appauthor=False)) / "tui.toml"


@dataclass
class TuiOptions:
    theme: str = "textual-dark"
    budget_step: int = 256  # tokens added / removed by the budget keys
    demo: str = ""  # "512,1024,2048" or "w0,w1,w2" (Wait counts): side-by-side columns
    reference: str = ""  # the expected answer (graded in demo mode and in the status)
    grade_kind: str = "math"  # math | choice
    question: str = ""  # ask this at start
    replay_speed: float = 4.0
    follow: bool = True


@dataclass
class Settings:
    engine: EngineOptions = field(default_factory=EngineOptions)
    policy: PolicyOptions = field(default_factory=lambda: PolicyOptions(max_thinking="fit"))
    tui: TuiOptions = field(default_factory=TuiOptions)
    config_path: Path | None = None

    def base_policy(self) -> BudgetPolicy:
        return self.policy.policy()

    def demo_policies(self) -> list[tuple[str, BudgetPolicy]]:
        """The columns of the side-by-side mode: (label, policy)."""
        return parse_demo(self.tui.demo, self.base_policy())


def parse_demo(spec: str, base: BudgetPolicy) -> list[tuple[str, BudgetPolicy]]:
    """'512,1024,2048' -> budgets; 'w0,w1,w2' -> "Wait" counts; '1024:w2' -> both."""
    out: list[tuple[str, BudgetPolicy]] = []
    for raw in (p.strip() for p in spec.split(",")):
        if not raw:
            continue
        policy = base
        label: list[str] = []
        for part in raw.split(":"):
            part = part.strip().lower()
            try:
                if part.startswith("w"):
                    n = int(part[1:])
                    if n < 0:
                        raise ValueError
                    policy = policy.with_(num_ignore=n)
                    label.append(f"{n} Wait")
                else:
                    b = parse_budget(part)
                    policy = policy.with_(max_thinking_tokens=b)
                    label.append(f"budget {b}")
            except (ValueError, S1Error):
                raise S1Error(
                    f"cannot read the demo column {raw!r}",
                    "give budgets and/or Wait counts, e.g. --demo 512,1024,2048 or --demo w0,w1,w2",
                ) from None
        out.append((" · ".join(label), policy))
    if len(out) == 1:
        raise S1Error("the side-by-side demo needs 2 columns or more", "e.g. --demo 512,2048")
    if len(out) > 6:
        raise S1Error(f"{len(out)} demo columns is too many to show", "use 6 or fewer")
    return out


def _flatten(d: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            flat.update(_flatten(v))
        else:
            flat[k.replace("-", "_")] = v
    return flat


def read_config(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise S1Error(f"no config file at {str(path)!r}", "check --config") from None
    except tomllib.TOMLDecodeError as e:
        raise S1Error(f"cannot read the config {str(path)!r}: {e}", "fix the TOML") from None
    flat = _flatten(raw)
    known = {f.name for cls in (EngineOptions, PolicyOptions, TuiOptions) for f in fields(cls)}
    unknown = sorted(set(flat) - known)
    if unknown:
        raise S1Error(
            f"unknown setting(s) in {str(path)!r}: {', '.join(unknown)}",
            f"known: {', '.join(sorted(known))}",
        )
    return flat


def _merge(cli: Any, config: dict[str, Any], defaults: Any = None) -> Any:
    """CLI values that differ from the defaults win; the config fills the rest."""
    defaults = defaults if defaults is not None else type(cli)()
    changes: dict[str, Any] = {}
    for f in fields(cli):
        if f.name in config and getattr(cli, f.name) == getattr(defaults, f.name):
            value = config[f.name]
            default = getattr(defaults, f.name)
            if isinstance(default, str) and not isinstance(value, str):
                value = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            changes[f.name] = value
    return replace(cli, **changes)


def load_settings(
    engine: EngineOptions | None = None,
    policy: PolicyOptions | None = None,
    tui: TuiOptions | None = None,
    config: Path | str | None = None,
) -> Settings:
    """Merge the command line with the config file (an explicit path must exist)."""
    path: Path | None = Path(config) if config else None
    if path is None and default_config_path().is_file():
        path = default_config_path()
    values = read_config(path) if path else {}
    s = Settings(
        _merge(engine or EngineOptions(), values),
        _merge(
            policy or PolicyOptions(max_thinking="fit"), values, PolicyOptions(max_thinking="fit")
        ),
        _merge(tui or TuiOptions(), values),
        path,
    )
    s.base_policy()  # validate now: one clear error before the app opens
    if s.tui.demo:
        s.demo_policies()
    if s.tui.budget_step < 1:
        raise S1Error(f"budget step must be >= 1, got {s.tui.budget_step}", "e.g. 256")
    return s
