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
    from flows.case import serve_notices
    from services.delivery import MAIL_ATTEMPTS

    assert serve_notices.retries + 1 >= MAIL_ATTEMPTS
    assert serve_notices.retry_condition_fn is common.transient_only
    assert common.transient(MailFailed("the server refused the recipient"))


def test_a_notice_that_fails_does_not_hold_back_the_others_of_its_case(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.logging import disable_run_logger

    from adapters.mail import MailFailed
    from flows import case
    from models.rules.errors import YunqueError

    tried: list[int] = []
    failures = {2: YunqueError("notice 2 has no address"), 3: MailFailed("the server refused the recipient")}

    def serve_one(case_number: str, notice_id: int) -> bool:
        tried.append(notice_id)
        if notice_id in failures:
            raise failures[notice_id]
        return notice_id != 4  # notice 4 was sent before

    monkeypatch.setattr(case, "serve_one", serve_one)
    with disable_run_logger(), pytest.raises(MailFailed):  # the transient one: the task is retried
        case.serve_notices.fn("YQ-2026-000001", [1, 2, 3, 4, 5])
    assert tried == [1, 2, 3, 4, 5]
    del failures[3]
    with disable_run_logger(), pytest.raises(YunqueError):  # not transient: the task fails, an officer serves it
        case.serve_notices.fn("YQ-2026-000001", [2, 3])
    del failures[2]
    with disable_run_logger():
        assert case.serve_notices.fn("YQ-2026-000001", [1, 2, 4]) == [1, 2]
