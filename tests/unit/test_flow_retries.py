"""The steps of a case's run that are not task runs of their own are retried as a task is: a transient
failure (a refused connection, a deadlock the database broke) after each wait of ``RETRY_DELAYS``, a
broken rule or a missing record never. And the notice's service retries its mail as often as the
delivery asks before an officer takes it over."""

from __future__ import annotations

import pytest

from flows import common
from models.rules.errors import LockContention, NotFound


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr("time.sleep", waits.append)
    return waits


def failing(*errors: BaseException, then: object = "the case"):  # noqa: ANN201
    """A step that raises ``errors`` one call after another, then returns ``then``; its calls counted."""
    calls: list[int] = []

    def step() -> object:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return then

    step.calls = calls  # type: ignore[attr-defined]
    return step


def test_transient_failures_are_tried_again_after_each_wait(slept: list[float]) -> None:
    step = failing(ConnectionError("refused"), LockContention("the timeline of case 7", "a deadlock"))
    assert common.retried(step, delays=[2, 10, 30]) == "the case"
    assert slept == [2, 10] and len(step.calls) == 3


def test_a_broken_rule_or_a_missing_record_fails_at_once(slept: list[float]) -> None:
    step = failing(NotFound("case", "YQ-1"))
    with pytest.raises(NotFound):
        common.retried(step, delays=[2, 10])
    assert slept == [] and len(step.calls) == 1


def test_a_failure_that_outlasts_every_wait_is_raised(slept: list[float]) -> None:
    step = failing(*[TimeoutError()] * 5)
    with pytest.raises(TimeoutError):
        common.retried(step, delays=[2, 10, 30])
    assert slept == [2, 10, 30] and len(step.calls) == 4


def test_the_default_waits_are_those_of_the_tasks(slept: list[float]) -> None:
    step = failing(*[ConnectionError()] * 2)
    common.retried(step)
    assert slept == common.RETRY_DELAYS[:2]


def test_a_notice_is_mailed_as_often_as_the_delivery_asks_before_an_officer_serves_it() -> None:
    from adapters.mail import MailFailed
    from flows.case import serve_notice
    from services.delivery import MAIL_ATTEMPTS

    assert serve_notice.retries + 1 >= MAIL_ATTEMPTS
    assert serve_notice.retry_condition_fn is common.transient_only
    assert common.transient(MailFailed("the server refused the recipient"))
