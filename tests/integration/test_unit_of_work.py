"""The unit of work a service is given is the one it works in: its settings decide what the service writes
(the portal's address in a notice, in an unlock link), its session factory decides where, and a transaction
that fails leaves nothing behind. Each test would fail if a service reached for the global settings or
session factory instead."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, func, select

from adapters.db import session_scope
from models.tables import Notice, TimelineEntry, User
from services import unlock
from services.demo import seed_shipment
from services.documents import plan_confirmation
from services.unit_of_work import UnitOfWork, given, settings_of
from services.users import set_locale
from tests.support import open_confirmed
from yunque.bootstrap import bootstrap
from yunque.settings import get_settings

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)
ELSEWHERE = "https://ipr.customs.example.cn/yunque/"


def elsewhere() -> UnitOfWork:
    """The default database, but the portal served at another address."""
    return bootstrap(settings=get_settings().model_copy(update={"public_url": ELSEWHERE}))


def _locale(uow: UnitOfWork, username: str) -> str:
    with uow.transaction(readonly=True) as s:
        return s.exec(select(User.locale).where(User.username == username)).one()


def _entries(uow: UnitOfWork) -> int:
    with uow.transaction(readonly=True) as s:
        return s.exec(select(func.count()).select_from(TimelineEntry)).one()


def test_the_default_unit_of_work_follows_the_settings_of_the_moment(sqlite_db: str) -> None:
    uow = given(None)
    assert uow.settings is get_settings()
    assert uow.settings.db_url == sqlite_db
    with uow.transaction(readonly=True) as s:
        assert settings_of(s) is uow.settings
        assert str(s.get_bind().url) == sqlite_db


def test_the_confirmation_notice_links_to_the_portal_of_its_unit_of_work(sqlite_db: str) -> None:
    shipment = seed_shipment(FOUND)
    shipment["lines"] = [ln for ln in shipment["lines"] if ln["brand"] == "ROLEX"]
    case = open_confirmed(shipment, now=FOUND)
    notice_id = case.notices[0].id
    links = {}
    for name, uow in (("default", given(None)), ("elsewhere", elsewhere())):
        with uow.transaction(readonly=True) as s:
            planned = plan_confirmation(s, s.get(Notice, notice_id))
        links[name] = planned.doc.verify_url
        how = next(p for p in planned.doc.after_goods if "How to answer" in p.en)
        links[name + " portal"] = how.en
    assert links["default"] == f"http://127.0.0.1:8501/verify?doc={planned.number}"
    assert links["elsewhere"] == f"https://ipr.customs.example.cn/yunque/verify?doc={planned.number}"
    assert "(https://ipr.customs.example.cn/yunque)" in links["elsewhere portal"]
    assert "127.0.0.1" not in links["elsewhere portal"]


def test_the_unlock_link_points_at_the_portal_of_its_unit_of_work(sqlite_db: str) -> None:
    mail = unlock.request_unlock_link(username="chanel.agent", client="198.51.100.7", now=FOUND, uow=elsewhere())
    assert mail is not None
    assert mail.link == f"https://ipr.customs.example.cn/yunque/_yq/unlock?token={mail.token}"
    default = unlock.request_unlock_link(username="chanel.agent", client="198.51.100.7",
                                         now=FOUND + timedelta(seconds=1))
    assert default is not None and default.link.startswith("http://127.0.0.1:8501/_yq/unlock?token=")


def test_a_unit_of_work_bound_to_another_database_writes_there_and_not_to_the_default(
        sqlite_db: str, sqlite_template: Path, tmp_path: Path) -> None:
    shutil.copytree(sqlite_template, tmp_path / "other")
    other_url = f"sqlite:///{tmp_path / 'other' / 'yunque.db'}"
    other = bootstrap(settings=get_settings().model_copy(update={"database_url": other_url}))
    default = given(None)
    before = _entries(default), _entries(other)

    assert set_locale(actor="ipr.li", locale="en", now=FOUND, uow=other) == "en"

    assert _locale(other, "ipr.li") == "en"
    assert _locale(default, "ipr.li") == "zh"
    assert (_entries(default), _entries(other)) == (before[0], before[1] + 1)


def test_a_transaction_that_fails_at_its_end_leaves_nothing_written(sqlite_db: str) -> None:
    @contextmanager
    def failing_at_commit(*, readonly: bool = False) -> Iterator[Session]:
        with session_scope(sqlite_db, readonly=readonly) as s:
            yield s
            if not readonly:
                s.flush()  # the service's changes reached the database, uncommitted
                raise OSError("the disk went away before the commit")

    broken = bootstrap(session_factory=failing_at_commit)
    default = given(None)
    before = _entries(default)
    with pytest.raises(OSError, match="disk went away"):
        set_locale(actor="ipr.li", locale="en", now=FOUND, uow=broken)
    assert _locale(default, "ipr.li") == "zh"
    assert _entries(default) == before


def test_a_transaction_rolls_back_when_its_block_raises(sqlite_db: str) -> None:
    uow = given(None)
    with pytest.raises(RuntimeError), uow.transaction() as s:
        user = s.exec(select(User).where(User.username == "ipr.li")).one()
        user.locale = "en"
        s.add(user)
        s.flush()
        raise RuntimeError("a broken rule after the change")
    assert _locale(uow, "ipr.li") == "zh"
    with uow.transaction(readonly=True) as s:
        user = s.exec(select(User).where(col(User.username) == "ipr.li")).one()
        user.locale = "en"
        s.add(user)
    assert _locale(uow, "ipr.li") == "zh"  # a readonly transaction never writes


def test_files_go_to_the_evidence_store_of_the_unit_of_work(sqlite_db: str) -> None:
    from services.audit import read_checkpoint, write_checkpoint
    from services.documents import document_bytes, issue_for_notice
    from tests.unit.test_documents import MemoryStore

    mine = MemoryStore()
    uow = bootstrap(store=mine)
    assert uow.store is mine
    shipment = seed_shipment(FOUND)
    shipment["lines"] = [ln for ln in shipment["lines"] if ln["brand"] == "ROLEX"]
    case = open_confirmed(shipment, now=FOUND)
    issued = issue_for_notice(notice_id=case.notices[0].id, now=FOUND, uow=uow)
    assert f"documents/{case.number}/{issued.number}.pdf" in mine.objects
    assert document_bytes(document_id=issued.id, actor="ipr.li", uow=uow)[1][:5] == b"%PDF-"
    written = write_checkpoint(now=FOUND, uow=uow)
    assert written is not None and written["key"] in mine.objects
    assert read_checkpoint(uow=uow)["at"] == written["at"]


def test_the_working_days_are_counted_with_the_calendar_of_the_unit_of_works_database(
        sqlite_db: str, sqlite_template: Path, tmp_path: Path) -> None:
    import json

    from adapters.calendar import get_calendar
    from services.calendar import load_calendar_year
    from services.portal import working_days_left
    from tests.integration.test_services_clocks import FICTIONAL_2027

    shutil.copytree(sqlite_template, tmp_path / "other")
    other = bootstrap(settings=get_settings().model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'other' / 'yunque.db'}"}))
    default = given(None)
    load_calendar_year(content=json.dumps(FICTIONAL_2027).encode(), filename="2027.json", actor="admin",
                       now=datetime(2027, 1, 2, 9, 0, tzinfo=SH), uow=other)
    with other.transaction(readonly=True) as s:
        assert 2027 in get_calendar(s).years
    with default.transaction(readonly=True) as s:
        assert 2027 not in get_calendar(s).years
    monday = datetime(2027, 1, 4, 10, 0, tzinfo=SH)
    assert working_days_left(deadline=date(2027, 1, 6), now=monday, uow=other) == 3
    assert working_days_left(deadline=date(2027, 1, 6), now=monday, uow=default) is None  # never guessed
