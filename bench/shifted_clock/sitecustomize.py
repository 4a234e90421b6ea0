"""Loaded by every Python process of the deadline benchmark's stack (its directory is put first on
PYTHONPATH there, and nowhere else).

That stack runs under libfaketime with the clocks shifted. A lock acquired with a timeout waits in the
C library until an absolute monotonic time computed from the shifted clock, which the kernel reads
unshifted: every timed wait on a ``threading.Condition`` (``Event.wait``, ``Queue.get``, futures)
would last as long as the shift. Here such a wait polls the lock instead, sleeping with ``select``'s
relative timeout between tries."""

import select as _select
import threading as _threading
import time as _time

_POLL_S = 0.01


def _acquire_within(lock, timeout: float) -> bool:  # noqa: ANN001 - a _thread.lock
    end = _time.monotonic() + timeout
    while True:
        if lock.acquire(False):
            return True
        left = end - _time.monotonic()
        if left <= 0:
            return False
        _select.select([], [], [], min(left, _POLL_S))


def _wait(self, timeout=None):  # noqa: ANN001, ANN202 - threading.Condition.wait, as CPython 3.11 has it
    if not self._is_owned():
        raise RuntimeError("cannot wait on un-acquired lock")
    waiter = _threading._allocate_lock()  # noqa: SLF001
    waiter.acquire()
    self._waiters.append(waiter)
    saved_state = self._release_save()
    gotit = False
    try:
        if timeout is None:
            waiter.acquire()
            gotit = True
        elif timeout > 0:
            gotit = _acquire_within(waiter, timeout)
        else:
            gotit = waiter.acquire(False)
        return gotit
    finally:
        self._acquire_restore(saved_state)
        if not gotit:
            try:
                self._waiters.remove(waiter)
            except ValueError:
                pass


_threading.Condition.wait = _wait
