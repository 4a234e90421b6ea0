"""Helpers shared by several test modules."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel import Session


def session_scope(*, readonly: bool = False) -> AbstractContextManager[Session]:
    """A test's own transaction on the database of the current settings (the one the fixtures point the
    environment at): the transaction of the bootstrap's unit of work, built now from those settings, as a
    service called without a unit of work gets it. Committed if the block ends normally, rolled back
    otherwise (always rolled back when ``readonly``)."""
    from yunque.bootstrap import bootstrap

    return bootstrap().transaction(readonly=readonly)


def shipment(declaration_no: str, found: datetime, *brands: str) -> dict[str, Any]:
    """A shipment of the demo consignor at Capital Airport Customs, one line of each brand."""
    return {"declaration_no": declaration_no, "direction": "export", "customs_office": "Capital Airport Customs",
            "consignor": {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"},
            "found_at": found.isoformat(),
            "lines": [{"description": f"Goods marked {b}", "brand": b, "quantity": 3, "unit": "pcs", "value": "24000.00"}
                      for b in brands]}


def race(*calls: Callable[[], Any], timeout: float = 60) -> list[tuple[str, Any]]:
    """Run the calls in threads released together; each result is ("ok", value) or ("error", exception)."""
    gate = threading.Barrier(len(calls))
    results: list[tuple[str, Any] | None] = [None] * len(calls)

    def run(i: int, fn: Callable[[], Any]) -> None:
        gate.wait()
        try:
            results[i] = ("ok", fn())
        except Exception as e:  # noqa: BLE001  (the test inspects it)
            results[i] = ("error", e)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a concurrent call hung"
    return results  # type: ignore[return-value]


@contextmanager
def moto_store(monkeypatch: Any) -> Iterator[Any]:
    """Yunque's S3Store against moto's in-process S3, with the evidence bucket created."""
    from moto import mock_aws

    from adapters.s3 import get_store, reset_store
    from yunque.settings import get_settings, reset_settings

    monkeypatch.setenv("YUNQUE_S3_ENDPOINT_URL", "https://s3.us-east-1.amazonaws.com")
    with mock_aws():
        reset_settings()
        reset_store()
        store = get_store(get_settings())
        store.client.create_bucket(Bucket=get_settings().s3_bucket)
        yield store
    reset_store()


def photo(label: str = "photo", size: tuple[int, int] = (24, 16)) -> bytes:
    """A real JPEG (it decodes): different labels give different bytes (the label is its comment)."""
    import io
    import zlib

    from PIL import Image

    shade = zlib.crc32(label.encode()) % 200
    out = io.BytesIO()
    Image.new("RGB", size, (shade, 255 - shade, 90)).save(out, format="JPEG", quality=80, comment=label.encode())
    return out.getvalue()


def confirm(case_number: str, *, now: datetime, actor: str = "ipr.li", not_matching: tuple[int, ...] = (),
            reason: str = "") -> dict[str, Any]:
    """An IPR officer confirms the seizure's lines against the recordations (the notices go out after it)."""
    from services.task_acts import confirm_seizure

    return confirm_seizure(case_number=case_number, actor=actor, not_matching=list(not_matching), reason=reason, now=now)


def open_confirmed(shipment: dict[str, Any], *, now: datetime, actor: str = "site.wang", confirmer: str = "ipr.li") -> Any:
    """Register a seizure and confirm all its lines at once, as the seed story does; the case as it then stands."""
    from services.cases import get_case, open_case

    case = open_case(shipment=shipment, actor=actor, now=now)
    confirm(case.number, now=now, actor=confirmer)
    return get_case(case_number=case.number, actor=actor)


# --- the working-day calendar of tests that run at the machine's date --------------------------------

def test_only_year(year: int) -> dict[str, Any]:
    """A TEST-ONLY schedule for a year the official data does not cover yet: New Year's Day off, no
    make-up days. Tests that run at the machine's date load it explicitly (never the product)."""
    return {"year": year, "source": f"TEST ONLY: synthetic {year} schedule (New Year's Day and weekends), "
                                    "not the State Council's arrangement",
            "holidays": [f"{year}-01-01"], "workdays": []}


def years_without_schedule(now: datetime, ahead: int = 1) -> list[int]:
    """This year and the next ``ahead`` years, where the package has no official schedule."""
    from adapters.calendar import package_years

    known = {y.year for y in package_years()}
    return [y for y in range(now.year, now.year + ahead + 1) if y not in known]


def load_test_only_years(now: datetime, actor: str = "admin") -> list[int]:
    """Load a test-only schedule for this year and next when the official data lacks them (a case
    opened today gets a deadline, and its 30/50-working-day clocks too)."""
    import json

    from services.calendar import load_calendar_year

    years = years_without_schedule(now)
    for year in years:
        load_calendar_year(content=json.dumps(test_only_year(year)).encode(), filename=f"test-only-{year}.json",
                           actor=actor, now=now)
    return years


# --- waiting, ports, the mail sink ---------------------------------------------------------------

def free_port() -> int:
    """A loopback TCP port nobody listens on at this moment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, check: Callable[[], Any], timeout: float = 300.0, every: float = 0.5, *,
             retry_errors: bool = False) -> Any:
    """Call ``check`` every ``every`` seconds until it returns something true, and return that; fail naming
    ``what`` (and the last answer) after ``timeout`` seconds. ``retry_errors``: a check that raises is tried
    again, as while a part of the stack restarts."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            last = check()
        except Exception as e:  # noqa: BLE001 - a part restarting: try again
            if not retry_errors:
                raise
            last = e
        else:
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


@contextmanager
def smtp_sink(directory: Path, monkeypatch: Any) -> Iterator[Path]:
    """An SMTP sink on a free loopback port, which the settings point at; yields the directory its .eml
    files are written to."""
    from adapters.mail_server import start_sink
    from yunque.settings import reset_settings

    port = free_port()
    monkeypatch.setenv("YUNQUE_SMTP_PORT", str(port))
    reset_settings()
    controller = start_sink(directory, port=port)
    try:
        yield directory
    finally:
        controller.stop()


def mails(directory: Path) -> list[Any]:
    """The messages an SMTP sink has written to ``directory``, oldest file name first."""
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(directory.glob("*.eml"))]
