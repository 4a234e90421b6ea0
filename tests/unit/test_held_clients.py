"""A long-lived process (the dispatcher, a task worker) holds one Prefect client for all its threads and
Prefect's own engines (``flows.common.held_clients``), and sets the task parameters' store once
(``flows.tasks.shared_storage``): a new client costs 25 ms of CPU (its TLS context), a copy of Prefect's
settings 30 ms, and the dispatcher made both for every request."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.utilities.asyncutils import run_coro_as_sync

from flows import dispatch, tasks
from flows.common import held_clients

NOBODY = "http://127.0.0.1:9/api"  # nothing listens: holding the clients asks the server nothing


def _in_a_thread(call: Any) -> Any:
    out: list[Any] = []
    t = threading.Thread(target=contextvars.copy_context().run, args=(lambda: out.append(call()),))
    t.start()
    t.join(10)
    return out[0]


async def _async_client() -> Any:
    return get_client()


def test_every_thread_started_inside_and_prefects_own_coroutines_share_one_client() -> None:
    with temporary_settings(updates={PREFECT_API_URL: NOBODY}):
        with held_clients():
            sync = get_client(sync_client=True)
            assert _in_a_thread(lambda: get_client(sync_client=True)) is sync
            assert run_coro_as_sync(_async_client()) is run_coro_as_sync(_async_client())  # where .delay() asks
            with get_client(sync_client=True) as again:  # a request's own ``with`` does not close it
                assert again is sync
            assert not sync._closed
        assert sync._closed  # closed with the process's hold
        assert get_client(sync_client=True) is not sync  # outside: a client per call, as before


def test_outside_a_held_process_each_call_gets_its_own_client() -> None:
    with temporary_settings(updates={PREFECT_API_URL: NOBODY}):
        assert get_client(sync_client=True) is not get_client(sync_client=True)


def test_the_parameters_store_is_set_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH

    import prefect.settings

    copies: list[dict] = []
    real = prefect.settings.temporary_settings

    @contextmanager
    def counted(updates: dict) -> Iterator[None]:
        copies.append(updates)
        with real(updates=updates):
            yield

    monkeypatch.setattr(prefect.settings, "temporary_settings", counted)
    with tasks.shared_storage():
        assert PREFECT_RESULTS_LOCAL_STORAGE_PATH.value() == tasks.scheduling_storage()
        with tasks.shared_storage():  # what ``submit`` does in a process that set it
            assert PREFECT_RESULTS_LOCAL_STORAGE_PATH.value() == tasks.scheduling_storage()
    assert len(copies) == 1


def test_the_dispatcher_holds_them_for_its_rounds_and_its_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.context import SyncClientContext

    from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH

    stop = threading.Event()
    seen: dict[str, Any] = {}

    def round_(**_: Any) -> dispatch.DispatchReport:
        seen["round"] = (SyncClientContext.get(), PREFECT_RESULTS_LOCAL_STORAGE_PATH.value())
        stop.set()
        return dispatch.DispatchReport()

    def clock(**_: Any) -> None:
        seen["clock"] = SyncClientContext.get()

    monkeypatch.setattr(dispatch, "dispatch_once", round_)
    monkeypatch.setattr(dispatch, "keep_time", clock)
    with temporary_settings(updates={PREFECT_API_URL: NOBODY}):
        dispatch.run_forever(interval=0.01, stop=stop, reconcile_every=0)
    held, storage = seen["round"]
    assert held is not None and seen["clock"] is held
    assert storage == tasks.scheduling_storage()
