"""The services behind the app: sessions, administration, portal and board read models."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from models.rules.errors import InvalidInput, NotFound, PermissionDenied
from services import board, portal, sessions, users
from services.answers import record_answer
from services.demo import load_demo_data, seed_shipment
from tests.support import open_confirmed

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)


def _pw(name: str) -> str:
    return next(u["password"] for u in load_demo_data()["users"] if u["username"] == name)


def test_a_session_survives_until_idle_and_ends_at_sign_out(sqlite_db: str) -> None:
    signed = sessions.sign_in(username="ipr.li", password=_pw("ipr.li"), nonce="this-browser", now=FOUND)
    assert sessions.resume(token=signed.token, now=FOUND + timedelta(minutes=90)).username == "ipr.li"
    token, _ = sessions.exchange_handoff(code=signed.handoff, nonce="this-browser", now=FOUND + timedelta(seconds=5))
    assert token != signed.token
    with pytest.raises(NotFound):  # the code is single use
        sessions.exchange_handoff(code=signed.handoff, nonce="this-browser", now=FOUND + timedelta(seconds=6))
    assert sessions.resume(token=token, now=FOUND + timedelta(minutes=1)).username == "ipr.li"
    with pytest.raises(NotFound):  # idle for more than two hours
        sessions.resume(token=signed.token, now=FOUND + timedelta(minutes=90) + sessions.IDLE)
    sessions.sign_out(token=token, now=FOUND + timedelta(minutes=2))
    with pytest.raises(NotFound):
        sessions.resume(token=token, now=FOUND + timedelta(minutes=3))


def test_a_wrong_password_opens_no_session(sqlite_db: str) -> None:
    with pytest.raises(PermissionDenied):
        sessions.sign_in(username="ipr.li", password="not-the-password", now=FOUND)


def test_disabling_a_user_ends_their_sessions(sqlite_db: str) -> None:
    signed = sessions.sign_in(username="site.liu", password=_pw("site.liu"), now=FOUND)
    users.set_user_active(actor="admin", username="site.liu", active=False, now=FOUND)
    with pytest.raises(NotFound):
        sessions.resume(token=signed.token, now=FOUND + timedelta(seconds=1))
    with pytest.raises(PermissionDenied):
        users.set_user_active(actor="ipr.li", username="site.wang", active=False)


def test_groups_claim_gives_the_role_and_office(sqlite_db: str) -> None:
    signed = sessions.sso_sign_in(claims={"email": "new.officer@customs.localhost", "name": "New",
                                          "groups": ["yunque-ipr-officers", "yunque-office-CAPAIR"]}, now=FOUND)
    assert signed.actor.role == "ipr_officer" and signed.actor.customs_office_id is not None
    with pytest.raises(PermissionDenied):
        sessions.sso_sign_in(claims={"email": "x@customs.localhost", "groups": ["staff"]}, now=FOUND)


def test_user_form_rejects_bad_fields(sqlite_db: str) -> None:
    with pytest.raises(ValidationError) as e:
        users.create_user(actor="admin", user={"username": "A", "display_name": "", "role": "site_officer",
                                               "password": "short", "customs_office": None})
    fields = {err["loc"][0] for err in e.value.errors()}
    assert {"username", "display_name", "password"} <= fields
    out = users.create_user(actor="admin", user={"username": "site.new", "display_name": "New", "role": "site_officer",
                                                 "customs_office": "CAPAIR", "password": "a-long-password"})
    assert out.organisation == "Capital Airport Customs"
    with pytest.raises(InvalidInput):
        users.create_user(actor="admin", user={"username": "site.new", "display_name": "Again", "role": "site_officer",
                                               "customs_office": "CAPAIR", "password": "a-long-password"})


def test_portal_and_board_read_models(db: str) -> None:
    case = open_confirmed(seed_shipment(FOUND), now=FOUND)
    mine = portal.my_notices(actor="nike.agent", now=FOUND)
    assert len(mine) == 1 and mine[0].notice.brands == ["NIKE"] and mine[0].general_bond is not None
    assert [ln.brand for ln in mine[0].lines] == ["NIKE"]
    assert portal.my_notices(actor="hermes.agent", now=FOUND)[0].general_bond is None
    with pytest.raises(NotFound):
        portal.my_notice(actor="nike.agent", notice_id=next(n.id for n in case.notices if "CHANEL" in n.brands))
    line = {ln.brand: ln.number for ln in case.lines}
    record_answer(notice_id=mine[0].notice.id, actor="nike.agent", now=FOUND + timedelta(minutes=9),
                  answer={"verdicts": {line["NIKE"]: "not-infringing"}})
    b = board.board(actor="mgr.zhao", now=FOUND + timedelta(minutes=10))
    assert b.open_cases == 1 and b.lines_by_state == {"suspended": 8, "released": 1}
    assert b.confirmation_minutes == [9.0]
    assert any(o["brand"] == "NIKE" and o["kind"] == "released" for o in b.outcomes)
    # each office by both its names: the page shows the one of the reader's language
    assert {(o["office"], o["office_en"]) for o in b.outcomes} == {("首都机场海关", "Capital Airport Customs")}
    assert [(c.office, c.office_en) for c in b.cases] == [("首都机场海关", "Capital Airport Customs")]
    assert any(w.kind == "answer" and w.party == "CHANEL SARL" for w in b.waiting)
    near = board.board(actor="mgr.zhao", now=datetime(2026, 11, 27, 9, 0, tzinfo=SH)).notices_near_deadline
    assert len(near) == 8
    with pytest.raises(PermissionDenied):
        board.board(actor="ipr.li")
    assert [c.number for c in portal.my_shipments(actor="cq.trading")] == [case.number]
    assert portal.list_cases(actor="site.huang") == []
    with pytest.raises(NotFound):
        portal.case_timeline(case_number=case.number, actor="nike.agent")
    assert portal.case_timeline(case_number=case.number, actor="ipr.li")[0].action == "case.opened"


def test_sso_secrets_are_written_from_the_environment_only_when_configured(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import tomllib

    from ui.sso import write_secrets_from_env

    monkeypatch.delenv("YUNQUE_OIDC_METADATA_URL", raising=False)
    assert write_secrets_from_env(tmp_path) is None
    monkeypatch.setenv("YUNQUE_OIDC_METADATA_URL", "http://127.0.0.1:9400/.well-known/openid-configuration")
    monkeypatch.setenv("YUNQUE_OIDC_CLIENT_ID", "yunque")
    monkeypatch.setenv("YUNQUE_OIDC_CLIENT_SECRET", 's3cr"et')
    path = write_secrets_from_env(tmp_path)
    assert path is not None and oct(path.stat().st_mode & 0o777) == "0o600"
    data = tomllib.loads(path.read_text())
    assert data["auth"]["client_secret"] == 's3cr"et' and data["auth"]["redirect_uri"].endswith("/oauth2callback")
    assert data["yunque"]["groups_claim"] == "groups"


def test_the_secrets_file_keeps_every_value_exactly_whatever_its_characters() -> None:
    import tomllib

    from ui.sso import secrets_toml

    awkward = 'a"b\\c\nd\te\u202ef\x01 [auth] = "x"'
    text = secrets_toml(metadata_url="http://127.0.0.1:9400/.well-known/openid-configuration", client_id=awkward,
                        client_secret=awkward, redirect_uri="https://yunque.example/oauth2callback",
                        cookie_secret=awkward, groups_claim=awkward)
    data = tomllib.loads(text)
    assert data["auth"]["client_id"] == data["auth"]["client_secret"] == data["auth"]["cookie_secret"] == awkward
    assert data["auth"]["client_kwargs"] == {"scope": "openid profile email groups"}
    assert data["yunque"] == {"groups_claim": awkward}


def test_on_the_day_of_service_the_three_working_days_have_not_started(sqlite_db: str) -> None:
    """Reg 16, Meas 41: 3 working days from the day after service. On the day of service (Tuesday
    24 November 2026) all three are left and the countdown says they start tomorrow, never '4 left'."""
    from adapters.calendar import get_calendar
    from adapters.db import session_scope
    from models.rules.workdays import answer_deadline, end_of_day
    from ui import chrome
    from ui.i18n import t

    served = FOUND
    with session_scope(sqlite_db, readonly=True) as s:
        last = answer_deadline(served, get_calendar(s))
    assert last.isoformat() == "2026-11-27"
    ends = end_of_day(last)
    that_evening = served.replace(hour=18)
    assert portal.working_days_left(deadline=last, now=that_evening, served_at=served) == 3
    assert portal.working_days_left(deadline=last, now=that_evening) == 4  # counted as if the period had begun
    assert not portal.period_started(served_at=served, now=that_evening)
    hours = f"{(ends - that_evening).total_seconds() / 3600:.0f}"
    assert chrome.countdown(ends, last, that_evening, served_at=served) == t("wd_from_tomorrow", "zh", n=3, h=hours,
                                                                               d="2026年11月27日")
    next_morning = datetime(2026, 11, 25, 9, 0, tzinfo=SH)
    assert portal.working_days_left(deadline=last, now=next_morning, served_at=served) == 3
    hours = f"{(ends - next_morning).total_seconds() / 3600:.0f}"
    assert chrome.countdown(ends, last, next_morning, served_at=served) == t("wd_left", "zh", n=3, h=hours, d="2026年11月27日")
