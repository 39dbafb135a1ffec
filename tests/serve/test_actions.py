"""Pure logic of the server's text handling: the control-action table, the forced-text rule,
and the stop-string search across stream items (no engine)."""

from __future__ import annotations

import pytest

from s1_engine.events import Event, TokenDelta
from s1_engine.interventions import separated
from s1_serve.actions import ACTIONS, body, check
from s1_serve.errors import RequestError
from s1_serve.schema import Control
from s1_serve.visible import Visible, held_tail


def test_one_table_of_actions():
    assert list(ACTIONS) == [
        "force_wait",
        "wait_at_end",
        "end_thinking",
        "inject",
        "stop",
        "set_budget",
        "set_ignore_str",
    ]
    assert body("force_wait", text="Hmm") == {"action": "force_wait", "text": "Hmm"}
    assert body("set_budget", budget="auto") == {"action": "set_budget", "budget": "auto"}
    with pytest.raises(RequestError, match="action 'stop' takes no 'text'"):
        body("stop", text="x")
    with pytest.raises(RequestError, match="needs 'budget'"):
        check(Control(action="set_budget"))


@pytest.mark.parametrize(
    "text, before, out",
    [
        ("Wait", "13-3=1", " Wait"),  # never glued onto a word or a number
        ("Wait", "13-3=10\n", "Wait"),  # a line already ends it
        ("Wait", "so ", "Wait"),
        (" Hmm", "x", " Hmm"),  # the text brings its own space
        ("Wait", "", "Wait"),  # nothing thought yet
    ],
)
def test_forced_text_starts_a_new_word(text, before, out):
    assert separated(text, before) == out


def delta(segment: str, text: str) -> TokenDelta:
    return TokenDelta(segment, (1,), text, False, 0, 0)


def test_a_stop_string_split_over_items_is_found_and_nothing_after_it_shown():
    v = Visible(stops=("END",))
    shown = [v.take(delta("answer", t)).content for t in [" 4", "2 E", "N", "D more", " x"]]
    assert "".join(shown) == "42 " and v.stopped_by == "END"
    assert shown[1] == "2 "  # "E" held back: it may begin END


def test_held_text_is_given_back_when_no_stop_follows():
    v = Visible(stops=("END",))
    out = [v.take(delta("answer", t)).content for t in ["4", "2E"]]
    assert "".join(out) + v.flush() == "42E" and v.stopped_by is None


def test_thinking_is_never_cut_and_a_reopened_answer_starts_again():
    v = Visible(stops=("x",))
    assert v.take(delta("think", " xx")).reasoning == "xx"
    assert v.take(delta("answer", " ax")).content == "a"
    piece = v.take(Event("think_start", "user", 3, "reopened", 2))
    assert piece.reopened and v.stopped_by is None and piece.event.index == 0
    assert v.take(delta("answer", " b")).content == "b"


def test_held_tail():
    assert held_tail("abc", ("cde", "bc!")) == 2
    assert held_tail("abc", ("zz",)) == 0
