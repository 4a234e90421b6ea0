"""The task worker keeps serving when Prefect's subscription ends without a stop (a normal close by
the server, a reconnection whose handshake timed out), and stops when it is told to."""

from __future__ import annotations

import logging

import pytest
from websockets.exceptions import ConnectionClosedOK
from websockets.frames import Close

from flows import tasks


class _Served:
    """A stand-in for ``prefect.task_worker.serve``: each call plays the next ending."""

    def __init__(self, *endings: BaseException | None) -> None:
        self.endings = list(endings)
        self.calls: list[tuple[tuple, int]] = []

    def __call__(self, *served: object, limit: int) -> None:
        self.calls.append((served, limit))
        ending = self.endings.pop(0)
        if ending is not None:
            raise ending


def test_a_subscription_closed_by_the_server_is_subscribed_again_until_a_stop(caplog: pytest.LogCaptureFixture) -> None:
    closed = ConnectionClosedOK(Close(1000, ""), Close(1000, ""), rcvd_then_sent=True)
    serve = _Served(closed, TimeoutError("timed out during opening handshake"), None, SystemExit(0))
    with caplog.at_level(logging.WARNING, logger="yunque.tasks"), pytest.raises(SystemExit):
        tasks.serve_until_stopped(tasks.FOLLOW_UPS, limit=3, serve=serve, pause=0)
    assert serve.calls == [(tasks.FOLLOW_UPS, 3)] * 4
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 3 and "ConnectionClosedOK" in said[0] and "TimeoutError" in said[1], said


def test_ctrl_c_stops_the_task_worker() -> None:
    serve = _Served(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        tasks.serve_until_stopped(tasks.CLOCK, limit=1, serve=serve, pause=0)
    assert len(serve.calls) == 1
