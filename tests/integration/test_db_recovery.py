"""The database connection recovers by itself: a SQLite connection opened while the file was read-only
is not reused once the file is writable again, and a failure is classified for the one-line message."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from adapters.db import get_engine
from adapters.incidents import classify
from services.cases import get_case, open_case
from tests.support import session_scope, shipment

FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_a_briefly_read_only_sqlite_file_does_not_poison_the_engine(sqlite_db: str) -> None:
    path = Path(sqlite_db.removeprefix("sqlite:///"))
    engine = get_engine(sqlite_db)
    engine.dispose()
    read_only = {"on": True}

    @event.listens_for(engine, "do_connect")
    def _open(dialect, record, cargs, cparams):  # noqa: ANN001, ANN202 - SQLite opens a read-only file read-only
        if read_only["on"]:
            return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        return None

    with pytest.raises(Exception) as caught:  # noqa: PT011 - the driver's error, classified below
        open_case(shipment=shipment("080820261124000001", FOUND, "CHANEL"), actor="site.wang", now=FOUND)
    assert classify(caught.value) == "db-read-only"
    read_only["on"] = False  # the file is writable again: no restart needed
    case = open_case(shipment=shipment("080820261124000001", FOUND, "CHANEL"), actor="site.wang", now=FOUND)
    assert get_case(case_number=case.number, actor="site.wang").lines[0].state == "suspended"


def test_both_engines_ping_connections_before_use(db: str) -> None:
    assert get_engine(db).pool._pre_ping  # noqa: SLF001 - the setting under test
    with session_scope(readonly=True) as s:
        assert s.connection().exec_driver_sql("SELECT 1").scalar() == 1
