"""The console's screen: the prompt, one column per run, the status line, the footer.

Every key that steers a run is a binding here, and its action calls the `RunView`s,
which call their run's session: w is `action_wait_now` -> `RunView.force_wait_now` ->
`session.force_wait`. What the runs do is the `phase` reactive (`bindings=True`): when
it changes, the footer greys keys out or back in by itself (`check_action`). The status
line is `status_line()` of a snapshot, refreshed by the app's flush timer and when
something ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from s1_engine.errors import S1Error
from s1_engine.events import Result
from s1_engine.policy import BudgetPolicy, parse_ignore_str

from ..gc_tuning import StreamingGC
from ..history import HistoryStore
from ..messages import RunEvent, RunFinished
from ..phase import Phase, key_state, phase_of
from ..run import ItemSource, ReplaySource, Run, Steerable, grade_off_loop, machine_facts
from ..settings import Settings
from ..status import EngineStatus, StatusSnapshot, model_name, prompt_hint, status_line
from ..trace import Trace
from ..widgets.run_view import RunView
from .ask import AskText
from .history import HistoryScreen

if TYPE_CHECKING:
    from s1_engine.engine import Engine
    from s1_engine.session import Session

    from ..app import S1App


# What each key does: its tooltip in the footer and its line in the help screen.
WHAT = {
    "wait_now": 'Force "Wait" now (after or during the answer: reopen thinking and go on)',
    "wait_next": 'Turn the model\'s next attempt to stop thinking into "Wait"',
    "end_thinking": "End thinking now; the answer follows",
    "inject": "Type text to insert into the thinking",
    "stop": "Stop generating (also Esc)",
    "budget_up": "Raise the thinking budget by the budget step",
    "budget_down": "Lower the thinking budget (below the used count: end now)",
    "set_ignore": 'Set the ignore string ("Wait", or "Wait|Hmm" to rotate)',
    "new_question": "New question: focus the prompt box",
    "follow": "Follow the stream again after scrolling up",
    "history": "Browse past runs: reopen, replay, export",
}


class MainScreen(Screen[None]):
    CSS_PATH = "main.tcss"
    BINDINGS = [
        Binding("w", "wait_now", "Wait", tooltip=WHAT["wait_now"]),
        Binding("W", "wait_next", "Wait@end", tooltip=WHAT["wait_next"]),
        Binding("e", "end_thinking", "End", tooltip=WHAT["end_thinking"]),
        Binding("i", "inject", "Inject", tooltip=WHAT["inject"]),
        Binding("s", "stop", "Stop", tooltip=WHAT["stop"]),
        Binding("plus", "budget_up", "Budget+", tooltip=WHAT["budget_up"]),
        Binding("minus", "budget_down", "Budget-", tooltip=WHAT["budget_down"]),
        Binding("g", "set_ignore", "Ignore str", show=False, tooltip=WHAT["set_ignore"]),
        Binding("n", "new_question", "New", tooltip=WHAT["new_question"]),
        Binding("f", "follow", "Follow", show=False, tooltip=WHAT["follow"]),
        Binding("h", "history", "History", show=False, tooltip=WHAT["history"]),
        Binding("escape", "escape", "Stop", show=False),
    ]

    phase: reactive[Phase] = reactive(Phase.IDLE, bindings=True)
    """What the runs do; the footer's keys follow it (see `check_action`)."""

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
        self.columns: list[tuple[str, BudgetPolicy]] = (
            settings.demo_policies() if settings.tui.demo else []
        )
        self.views: list[RunView] = []
        self._ask_now = ask_now
        self._group = 0
        self._status_text = ""
        self._gc = StreamingGC()

    @property
    def console(self) -> S1App:
        """The app, typed: the engine and its status live there."""
        return cast("S1App", self.app)

    # ----- layout -----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(icon="s1")
        yield Static("", id="error")
        yield Input(placeholder=prompt_hint(self._model()), id="prompt")
        if self.columns:
            self.views = [
                RunView(i, label, show_line=True, clock=self.clock)
                for i, (label, _) in enumerate(self.columns)
            ]
        else:
            self.views = [RunView(0, clock=self.clock)]
        with Horizontal(id="columns"):
            yield from self.views
        self._status = Static("", id="status")
        yield self._status
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#prompt", Input).focus()
        self.watch(self.app, "engine_state", self._engine_state_changed)  # and now

    def on_unmount(self) -> None:
        self._gc.restore()

    def _engine_state_changed(self, state: EngineStatus) -> None:
        if state == "failed" and self.console.engine_error is not None:
            self.show_error(self.console.engine_error.banner())
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
        self.stop_all()
        self._group += 1
        plan = self.columns or [("", self.settings.base_policy())]
        self.show_error(None)
        self._start_runs(engine, prompt, plan)

    @work(exclusive=True, group="start")
    async def _start_runs(
        self, engine: Engine, prompt: str, plan: list[tuple[str, BudgetPolicy]]
    ) -> None:
        for view in self.views:
            await view.clear()
        fmt = self.settings.engine.format
        started: list[tuple[Run, Session]] = []
        try:
            for label, policy in plan:
                session = engine.start(
                    prompt, policy, format=None if fmt in ("", "auto") else fmt, paused=True
                )
                budget = machine_facts(session).budget
                trace = Trace(policy.max_thinking_tokens if budget is None else budget)
                run = Run(prompt, session, session, label, policy, self._group, trace)
                started.append((run, session))
        except S1Error as e:
            self.show_error(f"Cannot start: {e.problem}\nWhat to do: {e.fix}")
            return
        except Exception as e:  # noqa: BLE001 - the engine died: say so, stay usable
            self.show_error(
                f"The engine failed: {type(e).__name__}: {e}\n"
                "What to do: press m to load the model again, or q to quit."
            )
            return
        for view, (run, session) in zip(self.views, started):
            run.started = self.clock()
            self._gc.hold(run)
            view.show(run, follow=self.settings.tui.follow)
            session.begin()
        self.views[0].thinking.focus()
        self._update_phase()

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
        self._start_source(Run(prompt, source, session, label, trace=Trace(budget)))

    @work(exclusive=True, group="start")
    async def _start_source(self, run: Run) -> None:
        for view in self.views:
            await view.clear()
        run.started = self.clock()
        self.query_one("#prompt", Input).value = run.prompt
        self._gc.hold(run)
        self.views[0].show(run, follow=self.settings.tui.follow)
        self.views[0].thinking.focus()
        self._update_phase()

    def stop_all(self) -> None:
        """Stop every run the keys can steer."""
        for view in self.views:
            view.stop()

    async def flush(self) -> None:
        """New text into the panes, then the status line (the app's timer calls this)."""
        for view in self.views:
            await view.flush()
        self.refresh_status()

    @on(RunEvent)
    def _run_event(self, msg: RunEvent) -> None:
        self._update_phase()

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
        self._update_phase()
        self.refresh_status()

    async def _grade(self, run: Run, answer: str) -> None:
        ref = self.settings.tui.reference
        if not ref:
            return
        try:
            run.grade = await grade_off_loop(answer, ref, self.settings.tui.grade_kind)
        except Exception as e:  # noqa: BLE001 - grading must not take the app down
            self.notify(f"grading failed: {e}", severity="warning")

    def _save(self, run: Run, result: Result) -> None:
        record = run.history_record(result, self.console.engine, self.settings.tui.reference)
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
        return StatusSnapshot(
            model=model_name(self._model()),
            backend=self._backend(engine),
            engine=self.console.engine_state,
            runs=[r.figures() for r in self.runs],
            columns=len(self.columns),
            idle_budget=self.settings.policy.max_thinking,
            now=self.clock(),
        )

    def refresh_status(self) -> None:
        text = status_line(self.snapshot())
        if text != self._status_text:
            self._status_text = text
            self._status.update(Content(text))

    @property
    def status_text(self) -> str:
        return self._status_text

    # ----- keys -------------------------------------------------------------------------
    def _update_phase(self) -> None:
        self.phase = phase_of(self.runs)  # the footer refreshes only if it changed

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return key_state(action, self.phase)

    def action_wait_now(self) -> None:
        for view in self.views:
            if view.force_wait_now():  # a finished run reopened: it streams again
                self._gc.hold(view.run)
        self._update_phase()

    def action_wait_next(self) -> None:
        for view in self.views:
            view.force_wait_at_next_end()
        self.notify("the model's next attempt to stop thinking becomes a Wait", title="armed")

    def action_end_thinking(self) -> None:
        for view in self.views:
            view.end_thinking()

    def action_stop(self) -> None:
        self.stop_all()

    def action_escape(self) -> None:
        """Esc: stop what runs; else leave the prompt box so the letter keys work."""
        if any(r.live for r in self.runs):
            self.action_stop()
        elif isinstance(self.focused, Input):
            self.views[0].thinking.focus()

    def action_budget_up(self) -> None:
        for view in self.views:
            view.change_budget(+self.settings.tui.budget_step)

    def action_budget_down(self) -> None:
        for view in self.views:
            view.change_budget(-self.settings.tui.budget_step)

    def action_inject(self) -> None:
        def done(text: str | None) -> None:
            if text:
                for view in self.views:
                    view.inject(text if text[:1].isspace() else " " + text)

        self.app.push_screen(
            AskText("Inject into the thinking:", placeholder="e.g. Let me check"), done
        )

    def action_set_ignore(self) -> None:
        def done(text: str | None) -> None:
            if not text:
                return
            try:
                value = parse_ignore_str(text)
            except S1Error as e:
                self.notify(e.line(), severity="error")
                return
            self.settings.policy.ignore_str = text
            for view in self.views:
                view.set_ignore_str(value)
            self.notify(f"ignore string: {text}", title="set")

        current = self.settings.policy.ignore_str
        self.app.push_screen(
            AskText('Ignore string ("Wait", or "Wait|Hmm" to rotate):', current), done
        )

    def action_new_question(self) -> None:
        box = self.query_one("#prompt", Input)
        box.focus()
        box.select_all()

    def action_follow(self) -> None:
        for view in self.views:
            if view.run is not None:
                view.follow()

    def action_history(self) -> None:
        def done(choice: tuple[str, dict] | None) -> None:
            if choice:
                what, record = choice
                self.replay(record, float("inf") if what == "open" else None)

        self.app.push_screen(HistoryScreen(self.store), done)
