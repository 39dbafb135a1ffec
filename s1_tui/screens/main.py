"""The console's screen: the prompt, one column per run, the status line, the footer.

Every key is a binding here; what each does is in `keys.py` (mixed in). What the runs
do is the `screen_state` reactive (`bindings=True`): when it changes, the footer greys keys out
or back in by itself (`check_action`); on a narrow screen (or while the question box has
the focus) the keys that do not apply are left out instead, so New, Help and Quit keep
their place. Every run starts through `_start` (a question, a replay, a fake stream).
The status line is `status_line()` of a snapshot, fitted to the width, refreshed by the
app's flush timer and when something ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from s1_engine.errors import S1Error
from s1_engine.events import Result
from s1_engine.policy import parse_budget, parse_intervention

from ..gc_tuning import StreamingGC
from ..history import HistoryStore
from ..messages import RunEvent, RunFinished
from ..run import ItemSource, ReplaySource, Run, Steerable, grade_off_loop, machine_facts
from ..screen_state import ScreenState, key_state, screen_state
from ..settings import Settings
from ..status import (
    EngineStatus,
    StatusSnapshot,
    controls_label,
    model_name,
    prompt_hint,
    status_line,
)
from ..trace import Trace
from ..widgets.prompt import PromptBox
from ..widgets.run_view import RunView
from .keys import LATE, WHAT, KeyActions

if TYPE_CHECKING:
    from s1_engine.engine import Engine

    from ..app import S1App

NARROW = 120  # columns below which the footer is compact and shows only keys that apply
BUDGET = Binding.Group("Budget", compact=True)


class MainScreen(KeyActions, Screen[None]):
    CSS_PATH = "main.tcss"
    BINDINGS = [
        Binding("w", "wait_now", "Wait", tooltip=WHAT["wait_now"]),
        Binding("W", "wait_next", "Wait@end", tooltip=WHAT["wait_next"]),
        Binding("e", "end_thinking", "End", tooltip=WHAT["end_thinking"]),
        Binding("i", "inject", "Inject", tooltip=WHAT["inject"]),
        Binding("s", "stop", "Stop", tooltip=WHAT["stop"]),
        Binding("plus", "budget_up", "Budget+", tooltip=WHAT["budget_up"], group=BUDGET),
        Binding("minus", "budget_down", "Budget-", tooltip=WHAT["budget_down"], group=BUDGET),
        Binding("p", "pace", "Pace", tooltip=WHAT["pace"]),
        Binding("g", "set_ignore", "Ignore str", show=False, tooltip=WHAT["set_ignore"]),
        Binding("n", "new_question", "New", tooltip=WHAT["new_question"]),
        Binding("f", "follow", "Follow", show=False, tooltip=WHAT["follow"]),
        Binding("h", "history", "History", show=False, tooltip=WHAT["history"]),
        Binding("escape", "escape", "Stop", show=False),
        # after the key's own binding: runs when that one does not apply, and says why
        *(Binding(key, f"late({action!r})", show=False) for key, action in LATE.items()),
    ]

    screen_state: reactive[ScreenState] = reactive(ScreenState.IDLE, bindings=True)
    """What the runs do; the footer's keys follow it (see `check_action`)."""
    narrow: reactive[bool] = reactive(False, bindings=True)
    """Too narrow for every key: the footer shows only those that apply."""

    def __init__(
        self,
        settings: Settings,
        store: HistoryStore,
        clock: Callable[[], float] = time.perf_counter,
        ask_now: str | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.store = store
        self.clock = clock
        self.columns = bool(settings.tui.demo)
        self.views: list[RunView] = []
        self._ask_now = ask_now
        self._graded_question: str | None = None  # the one --reference answers
        self._group = 0
        self._status_text = ""
        self._gc = StreamingGC()
        self.held = False  # the runs wait (the inject box is open)

    @property
    def _controls(self) -> str:
        """The policy's thinking controls after s1, as the status line names them."""
        p = self.settings.policy
        at = [parse_intervention(p.intervene)] if p.intervene else []
        return controls_label(
            at,
            p.wrap_up,
            p.grace,
            p.suppress,
            p.alpha,
            p.alpha_p,
            p.deer,
            conf_stop=p.conf_stop,
            conf_window=p.conf_window,
        )

    @property
    def console(self) -> S1App:
        """The app, typed: the engine and its status live there."""
        return cast("S1App", self.app)

    # ----- layout -----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(icon="s1")
        yield Static("", id="error")
        yield PromptBox(placeholder=prompt_hint(self._model()), id="prompt")
        if self.columns:
            self.views = [
                RunView(i, label, show_line=True, clock=self.clock)
                for i, (label, _) in enumerate(self.settings.demo_policies())
            ]
        else:
            self.views = [RunView(0, clock=self.clock)]
        with Horizontal(id="columns"):
            yield from self.views
        self._status = Static("", id="status")
        yield self._status
        yield Footer()

    @property
    def prompt_box(self) -> PromptBox:
        return self.query_one("#prompt", PromptBox)

    @property
    def typing(self) -> bool:
        """The question box has the focus: letters type into it."""
        return isinstance(self.focused, PromptBox)

    def on_mount(self) -> None:
        self.prompt_box.focus()
        self.watch(self.app, "engine_state", self._engine_state_changed)  # and now

    def on_resize(self, event: events.Resize) -> None:
        footer = self.query_one(Footer)
        narrow = event.size.width < NARROW
        footer.compact = narrow
        footer.show_command_palette = not narrow  # ctrl+p works all the same
        self.narrow = narrow
        self.refresh_status()

    def on_unmount(self) -> None:
        self._gc.restore()

    def _engine_state_changed(self, state: EngineStatus) -> None:
        if state == "failed" and self.console.engine_error is not None:
            self.show_error(self.console.engine_error.banner())
            self.action_leave_prompt()  # the banner's keys (m, h, q) work at once
        else:
            self.show_error(None)
        self.refresh_status()
        if state == "ready" and self._ask_now:
            self.ask(self._ask_now)

    def show_error(self, text: str | None) -> None:
        box = self.query_one("#error", Static)
        box.update(Content(text or ""))  # plain text: an error may hold "[...]"
        box.set_class(bool(text), "shown")

    # ----- the runs ---------------------------------------------------------------------
    @property
    def runs(self) -> list[Run]:
        """The runs shown, one per column."""
        return [v.run for v in self.views if v.run is not None]

    @on(Input.Submitted, "#prompt")
    def _submitted(self, event: Input.Submitted) -> None:
        if text := event.value.strip():
            self.action_leave_prompt()  # the steering keys work while it thinks
            self.ask(text)

    def ask(self, prompt: str) -> None:
        """Start the question in every column (stopping what still runs)."""
        state = self.console.engine_state
        engine = self.console.engine
        if engine is None:
            if state == "loading":
                self.notify("the model is still loading: ask again in a moment", severity="warning")
            else:
                self.notify("no model loaded: press m to load one", severity="error")
            self._ask_now = prompt if state == "loading" else None
            return
        self._ask_now = None
        if self._graded_question is None:
            self._graded_question = self.settings.tui.question or prompt
        self.stop_all()
        self._group += 1
        group, fmt = self._group, self.settings.engine.format
        plan = self.settings.demo_policies() if self.columns else []
        plan = plan or [("", self.settings.base_policy())]

        def make() -> list[Run]:
            runs = []
            for label, policy in plan:
                session = engine.start(
                    prompt, policy, format=None if fmt in ("", "auto") else fmt, paused=True
                )
                budget = machine_facts(session).budget
                trace = Trace(policy.max_thinking_tokens if budget is None else budget)
                runs.append(
                    Run(prompt, session, session, label, policy, group, trace, begin=session.begin)
                )
            return runs

        self.show_error(None)
        self._start(make)

    def replay(self, record: dict, speed: float | None = None) -> None:
        """Show a recorded run again (speed None: the setting; inf: at once)."""
        speed = self.settings.tui.replay_speed if speed is None else speed
        source = ReplaySource(record.get("items", []), speed)
        budget = record.get("budget", "auto")
        self.show_source(source, record.get("prompt", ""), record.get("label", ""), budget)

    def show_source(
        self,
        source: ItemSource,
        prompt: str = "",
        label: str = "",
        budget: int | str = "auto",
        session: Steerable | None = None,
    ) -> None:
        """Stream any source of items into the first column: a replay, or a fake stream
        (tests, benchmarks). With `session`, the keys steer it."""
        self.stop_all()
        self._start(lambda: [Run(prompt, source, session, label, trace=Trace(budget))])

    @work(exclusive=True, group="start")
    async def _start(self, make: Callable[[], list[Run]]) -> None:
        """The one way runs start: clear the columns, make the runs (a question's
        sessions, a replay), show each in its column, then let the sessions begin."""
        for view in self.views:
            await view.clear()
        try:
            runs = make()
        except S1Error as e:
            self.show_error(f"Cannot start: {e.problem}\nWhat to do: {e.fix}")
            return
        except Exception as e:  # noqa: BLE001 - the engine died: say so, stay usable
            self.show_error(
                f"The engine failed: {type(e).__name__}: {e}\n"
                "What to do: press m to load the model again, or q to quit."
            )
            return
        self.prompt_box.value = runs[0].prompt  # asked with -q or replayed: shown too
        for view, run in zip(self.views, runs):
            run.started = self.clock()
            self._gc.hold(run)
            view.show(run, follow=self.settings.tui.follow)
        for run in runs:
            if run.begin is not None:
                run.begin()
        if self.typing:
            self.action_leave_prompt()
        self._update_screen_state()

    def stop_all(self) -> None:
        """Stop every run the keys can steer."""
        for view in self.views:
            view.stop()

    def hold_runs(self, on: bool) -> None:
        """Hold every run where it is (the inject box is open), or let them go on."""
        pace = self.console.pace
        if on:
            pace.pause()
            now = self.clock()
            for run in self.runs:
                run.idle(now)  # its rate leaves the wait out
        else:
            pace.resume()
        self.held = on
        self.refresh_status()

    async def flush(self) -> None:
        """New text into the panes, then the status line (the app's timer calls this)."""
        for view in self.views:
            await view.flush()
        self.refresh_status()

    @on(RunEvent)
    def _run_event(self, msg: RunEvent) -> None:
        self._update_screen_state()

    @on(RunFinished)
    async def _run_finished(self, msg: RunFinished) -> None:
        """Grade and save it; if it is still shown, show it in full and say what went wrong."""
        run = msg.run
        if msg.result is not None:
            await self._grade(run, msg.result.answer)
            self._save(run, msg.result)
        if run.view is not None and run.view.run is run:  # else replaced by a new question
            await run.view.show_final(run)
            if problem := run.problem():
                self.show_error(problem)
        run.finished = True
        if self._gc.release(run):
            self.set_timer(2.0, self._gc.collect_if_idle)
        self._update_screen_state()
        self.refresh_status()

    def _reference(self, run: Run) -> str:
        """The expected answer of `run`'s question: --reference answers the question it
        came with (-q, or the first one asked), not a new one asked later."""
        ref = self.settings.tui.reference
        return ref if ref and run.prompt == self._graded_question else ""

    async def _grade(self, run: Run, answer: str) -> None:
        ref = self._reference(run)
        if not ref:
            return
        try:
            run.grade = await grade_off_loop(answer, ref, self.settings.tui.grade_kind)
        except Exception as e:  # noqa: BLE001 - grading must not take the app down
            self.notify(f"grading failed: {e}", severity="warning")

    def _save(self, run: Run, result: Result) -> None:
        record = run.history_record(result, self.console.engine, self._reference(run))
        try:
            run.record = self.store.add(record)
        except OSError as e:
            self.notify(f"could not save the history: {e}", severity="warning")

    # ----- the status line ------------------------------------------------------------
    def _model(self) -> str | None:
        engine = self.console.engine
        return engine.model if engine is not None else self.settings.engine.model

    def _backend(self, engine: Engine | None) -> str:
        """The backend's name; on `s1 serve`, where it runs (the console is not the engine)."""
        name = getattr(engine, "backend_name", self.settings.engine.backend)
        if server := self.settings.tui.server:
            return f"{name} @ {server.split('://')[-1].rstrip('/')}"
        return name

    def snapshot(self) -> StatusSnapshot:
        engine = self.console.engine
        now = self.clock()
        return StatusSnapshot(
            model=model_name(self._model()),
            backend=self._backend(engine),
            engine=self.console.engine_state,
            runs=[r.figures(now) for r in self.runs],
            columns=len(self.views) if self.columns else 0,
            idle_budget=parse_budget(self.settings.policy.max_thinking),
            pace=self.console.pace.tokens_per_s,
            paused=self.held,
            controls=self._controls,
        )

    def refresh_status(self) -> None:
        width = self._status.size.width - 2 if self._status.size.width else None
        text = status_line(self.snapshot(), width)
        if text != self._status_text:
            self._status_text = text
            self._status.update(Content(text))

    @property
    def status_text(self) -> str:
        return self._status_text

    # ----- keys -------------------------------------------------------------------------
    def _update_screen_state(self) -> None:
        self.screen_state = screen_state(self.runs)  # the footer refreshes only if it changed

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.typing and action not in ("escape", "leave_prompt"):
            return False  # letters type into the box: not keys now
        return key_state(action, self.screen_state, hide=self.narrow)
