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
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from s1_engine.enginelog import data_dir as engine_data_dir
from s1_engine.errors import S1Error
from s1_engine.options import build, known_settings, load_settings_file, normalize, option
from s1_engine.policy import BudgetPolicy, parse_budget
from s1_engine.settings import EngineOptions, PolicyOptions

# the console's default budget leaves room for the answer (a live demo must not cut it)
TUI_POLICY = PolicyOptions(max_thinking="fit")


def data_dir() -> Path:
    return engine_data_dir()


def default_config_path() -> Path:
    env = os.environ.get("S1_CONFIG")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("s1", appauthor=False)) / "tui.toml"


PANEL_TUI = "Console"


@dataclass
class TuiOptions:
    theme: str = option(
        "textual-dark", "Textual theme (e.g. textual-dark, nord, gruvbox).", panel=PANEL_TUI
    )
    budget_step: int = option(
        256, "Tokens the +/- keys add to or take from the budget.", panel=PANEL_TUI
    )
    demo: str = option(
        "",
        "Side by side: the same question at several budgets ('512,1024,2048') or Wait counts "
        "('w0,w1,w2').",
        panel=PANEL_TUI,
    )
    reference: str = option("", "The expected answer: each run is graded.", panel=PANEL_TUI)
    grade_kind: str = option(
        "math",
        "math | choice (how --reference is compared).",
        panel=PANEL_TUI,
        flag="--grade",
        choices=("math", "choice"),
    )
    question: str = option(
        "", "Ask this as soon as the model is loaded.", panel=PANEL_TUI, short="-q"
    )
    pace: float = option(
        0.0,
        "Slow the model to this many tokens a second, so a person can steer a fast model by "
        "hand (0: full speed; p changes it while the console runs).",
        panel=PANEL_TUI,
        min=0,
        example="--pace 10",
    )
    replay_speed: float = option(
        4.0, "Replay from history at this multiple of the recorded pace.", panel=PANEL_TUI, above=0
    )
    follow: bool = option(True, "Follow the stream (scroll with it).", cli=False)
    server: str = option(
        "",
        "Steer requests on a running `s1 serve` at this URL (e.g. http://gpu-node:8000) "
        "instead of loading a model here.",
        panel=PANEL_TUI,
    )
    api_key: str = option("", "The server's --api-key, with --server.", panel=PANEL_TUI)


@dataclass
class Settings:
    engine: EngineOptions = field(default_factory=EngineOptions)
    policy: PolicyOptions = field(default_factory=lambda: PolicyOptions(max_thinking="fit"))
    tui: TuiOptions = field(default_factory=TuiOptions)

    def base_policy(self) -> BudgetPolicy:
        policy = self.policy.policy()
        if self.tui.server and policy.max_thinking_tokens == "fit":
            # `s1 serve` takes a number or 'auto' (which leaves 100 tokens for the answer)
            policy = policy.with_(max_thinking_tokens="auto")
        return policy

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


def read_config(path: Path) -> dict[str, Any]:
    """The settings in a TOML file, by field name (tables merged in; unknown names fail)."""
    known = known_settings(EngineOptions, PolicyOptions, TuiOptions)
    return normalize(load_settings_file(str(path)), known, str(path))


def _layer(cli: Any, config: dict[str, Any], defaults: Any, source: str) -> Any:
    """For library callers: values that differ from the defaults count as given (the CLI
    knows exactly which flags were given, and layers with `s1_cli.options`)."""
    plain = type(cli)()
    given = {
        f.name: getattr(cli, f.name)
        for f in fields(cli)
        if getattr(cli, f.name) not in (getattr(defaults, f.name), getattr(plain, f.name))
    }
    return build(type(cli), given, config, source)


def load_settings(
    engine: EngineOptions | None = None,
    policy: PolicyOptions | None = None,
    tui: TuiOptions | None = None,
    config: Path | str | None = None,
    default_file: bool = True,
) -> Settings:
    """Merge the given settings with a config file (an explicit path must exist), and
    check them. `default_file=False` (and no `config`): the caller has layered the file
    and its defaults already (the CLI): the objects are taken as they are."""
    if not default_file and config is None:  # the CLI: flags > file > defaults, done
        s = Settings(engine or EngineOptions(), policy or TUI_POLICY, tui or TuiOptions())
    else:
        path: Path | None = Path(config) if config else None
        if path is None and default_file and default_config_path().is_file():
            path = default_config_path()
        values = read_config(path) if path else {}
        src = str(path or "")
        s = Settings(
            _layer(engine or EngineOptions(), values, EngineOptions(), src),
            _layer(policy or TUI_POLICY, values, TUI_POLICY, src),
            _layer(tui or TuiOptions(), values, TuiOptions(), src),
        )
    s.base_policy()  # validate now: one clear error before the app opens
    if s.tui.demo:
        s.demo_policies()
    if s.tui.budget_step < 1:
        raise S1Error(f"budget step must be >= 1, got {s.tui.budget_step}", "e.g. 256")
    return s
