"""One flow engine at a time for a run in the warm task worker (``flows.case.ENGINES``)."""

from __future__ import annotations

import threading
import time
from uuid import uuid4

from flows.case import _Turns


def test_a_run_s_second_engine_waits_for_the_first_and_another_run_does_not() -> None:
    turns, run, other = _Turns(), uuid4(), uuid4()
    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with turns.turn(run):
            first_in.set()
            time.sleep(0.3)
            order.append("first ends")

    def second() -> None:
        with turns.turn(run):
            order.append("second starts")

    t1 = threading.Thread(target=first)
    t1.start()
    first_in.wait(5)
    t2 = threading.Thread(target=second)
    t2.start()
    with turns.turn(other):  # another run is not held back
        order.append("other run")
    t1.join(5)
    t2.join(5)
    assert order == ["other run", "first ends", "second starts"]
    assert turns._runs == {}  # nothing kept once nobody holds or waits


def test_a_turn_is_given_back_when_the_engine_fails() -> None:
    turns, run = _Turns(), uuid4()
    try:
        with turns.turn(run):
            raise RuntimeError("the engine failed")
    except RuntimeError:
        pass
    with turns.turn(run):
        assert turns._runs[run][1] == 1
    assert turns._runs == {}
