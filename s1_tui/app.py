"""`s1 tui`: the live reasoning console. The app itself is thin.

It owns what outlives a screen: the engine (loaded in a thread worker, or injected for
tests, living on its own background loop so the app never blocks on it) and its status,
the theme, the command palette, the global keys (help, model, quit), and the flush
timer: ~20 times a second the main screen moves the runs' new text into their panes,
so a fast stream costs a few appends a second and key presses are never starved.
Everything about runs is in `screens/main.py` (keys, status) and `widgets/run_view.py`
(one run's stream).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.reactive import reactive
from textual.screen import Screen

from s1_engine.errors import S1Error
from s1_engine.pacing import Pace, pace_engine

from .history import HistoryStore
from .messages import EngineFailed, EngineReady
from .screen_state import key_state
from .screens.ask import AskText
from .screens.help import HelpScreen, key_rows
from .screens.main import MainScreen
from .settings import Settings
from .status import EngineStatus, model_name

if TYPE_CHECKING:
    from s1_engine.engine import Engine
    from s1_engine.enginelog import EngineLog
    from s1_engine.settings import EngineOptions

FLUSH_HZ = 20


class S1App(App[None]):
    """`s1 tui`."""

    TITLE = "s1 console"
    DEFAULT_MODE = "main"
    # The tooltip is also the key's line in the help screen (after the main screen's keys).
    BINDINGS = [
        Binding(
            "m", "load_model", "Model", show=False, tooltip="Load another model (folder or hub id)"
        ),
        Binding("f1", "help", "Help", tooltip="This help (also ?)"),
        Binding("q", "quit_key", "Quit", tooltip="Quit (also ctrl+q)"),
        Binding("question_mark", "help", "Help", show=False),
    ]

    engine_state: reactive[EngineStatus] = reactive("loading")
    """The main screen watches it: the error box, the status line, a question waiting."""

    def __init__(
        self,
        settings: Settings | None = None,
        engine: Engine | None = None,
        *,
        store: HistoryStore | None = None,
        clock: Callable[[], float] = time.perf_counter,
        ask_now: str | None = None,
        load: bool = True,
        log: EngineLog | None = None,
    ) -> None:
        super().__init__()
        self.log_file = log  # the engine's own output goes here
        self.settings = settings or Settings()
        self.engine = engine
        self._owns_engine = engine is None
        self._load = load
        self.engine_error: EngineFailed | None = None
        self.set_reactive(
            S1App.engine_state, "ready" if engine is not None or not load else "loading"
        )
        self.store = store or HistoryStore.default()
        self.clock = clock
        self._ask_now = ask_now if ask_now is not None else (self.settings.tui.question or None)
        self._main: MainScreen | None = None
        self.pace = Pace(self.settings.tui.pace)  # held to while the inject box is open too
        self.paceable = engine is not None and pace_engine(engine, self.pace)
        self.add_mode("main", self._new_main_screen)  # a mode's screen gets its CSS_PATH loaded
        self.flushes = 0

    def _new_main_screen(self) -> MainScreen:
        self._main = MainScreen(self.settings, self.store, self.clock, self._ask_now)
        return self._main

    @property
    def main(self) -> MainScreen:
        """The console's screen (under any modal screen)."""
        assert self._main is not None, "the app is not running"
        return self._main

    def on_mount(self) -> None:
        if self.settings.tui.theme:
            try:
                self.theme = self.settings.tui.theme
            except Exception:
                self.notify(f"unknown theme {self.settings.tui.theme!r}", severity="warning")
        self.sub_title = self._model_name()
        self.set_interval(1 / FLUSH_HZ, self._flush_panes)
        if self.engine is None and self._load:
            self._load_engine(self.settings.engine)

    async def _flush_panes(self) -> None:
        """The measured fast path: the runs' new text into their panes."""
        main = self._main
        if main is None or not main.is_attached or not self.screen_stack:
            return  # shutting down
        self.flushes += 1
        await main.flush()

    def _model_name(self) -> str:
        return model_name(
            self.engine.model if self.engine is not None else self.settings.engine.model
        )

    # ----- the engine -------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="engine")
    def _load_engine(self, opts: EngineOptions) -> None:
        try:
            engine = self._connect() or opts.build(self.settings.policy.seed, "one", self.log_file)
        except S1Error as e:
            self.post_message(EngineFailed(e.problem, e.fix or "", e.details))
        except Exception as e:  # noqa: BLE001 - any load failure is shown in the app
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            self.post_message(
                EngineFailed(
                    f"the model failed to load: {type(e).__name__}: {first}",
                    "check --model and --backend (try --backend hf), or press m to load another",
                )
            )
        else:
            self.post_message(EngineReady(engine))

    def _connect(self) -> Any:
        """With --server: the running `s1 serve` there, steered like a local engine."""
        tui = self.settings.tui
        if not tui.server:
            return None
        from s1_serve.client import RemoteEngine

        return RemoteEngine(tui.server, tui.api_key or None)

    @on(EngineReady)
    def _engine_ready(self, msg: EngineReady) -> None:
        self.engine = msg.engine
        self.paceable = pace_engine(msg.engine, self.pace)
        if self.pace.tokens_per_s and not self.paceable:
            self.notify("--pace works with a model in this console, not with --server")
        self._owns_engine = True
        self.engine_error = None
        self.sub_title = self._model_name()
        self.engine_state = "ready"

    @on(EngineFailed)
    def _engine_failed(self, msg: EngineFailed) -> None:
        self.engine_error = msg
        self.engine_state = "failed"

    def close_engine(self, close: Callable[[Any], None] | None = None) -> None:
        """Close an engine the app loaded itself (call after `run()` returns); `close`
        closes it instead (the CLI's, which says so while vLLM takes its time)."""
        if self.engine is not None and self._owns_engine:
            engine, self.engine = self.engine, None
            (close or (lambda e: e.close()))(engine)

    def action_load_model(self) -> None:
        def done(text: str | None) -> None:
            if not text:
                return
            self.main.stop_all()
            old = self.engine if self._owns_engine else None
            self.engine = None
            self.settings.engine.model = text.strip()
            self.engine_state = "loading"
            self._reload(old)

        model = str(self.settings.engine.model or "")
        self.push_screen(AskText("Load a model (folder or hub id):", model), done)

    @work(thread=True, group="engine")
    def _reload(self, old: Engine | None) -> None:
        if old is not None:
            try:
                old.close()
            except Exception:  # noqa: BLE001
                pass
        self._load_engine(self.settings.engine)

    # ----- global keys and the command palette ------------------------------------------
    def documented_keys(self) -> list[tuple[DOMNode, Binding]]:
        """Every documented key with the node whose action it runs, in the help's order."""
        own = [(self, b) for b in self.BINDINGS if isinstance(b, Binding)]
        main = [(self.main, b) for b in MainScreen.BINDINGS if isinstance(b, Binding)]
        return [(node, b) for node, b in main + own if b.tooltip]

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(key_rows(b for _, b in self.documented_keys())))

    async def action_quit(self) -> None:
        self.main.stop_all()
        self.exit()

    async def action_quit_key(self) -> None:
        await self.action_quit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("quit_key", "load_model") and self._main is not None:
            if self.screen_stack and self.screen is self._main and self._main.typing:
                return False  # q and m type into the question box (ctrl+q quits)
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for node, b in self.documented_keys():
            if b.action in ("quit", "quit_key"):
                continue  # Textual's own palette offers Quit
            if node is self.main and key_state(b.action, self.main.screen_state) is not True:
                continue
            yield SystemCommand(
                f"{b.description} ({b.key})", b.tooltip, getattr(node, f"action_{b.action}")
            )
