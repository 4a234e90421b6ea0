"""Service of notices when the office does not serve on issue, and signing in with a lockout."""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from models.rules.errors import InvalidInput, NotFound, PermissionDenied
from services.answers import record_answer
from services.auth import LOCKOUT, MAX_FAILURES, authenticate
from services.cases import get_case, serve_notice
from tests.support import open_confirmed
from yunque.settings import reset_settings

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)


def _open():  # noqa: ANN202
    return open_confirmed({"declaration_no": "010120261124000009", "direction": "export",
                  "customs_office": "CAPAIR",
                  "consignor": {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"},
                  "found_at": FOUND.isoformat(),
                  "lines": [{"description": "Shoes", "brand": "NIKE", "quantity": 2, "unit": "pairs", "value": "900"},
                            {"description": "Bags", "brand": "CHANEL", "quantity": 2, "unit": "pcs", "value": "9000"}]}, now=FOUND)


def test_when_service_is_by_mail_the_clock_starts_when_the_mail_is_accepted(db: str,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUNQUE_SERVICE_RULE", "mail")
    reset_settings()
    case = _open()
    assert {(n.state, n.served_at, n.deadline) for n in case.notices} == {("issued", None, None)}
    nike = next(n for n in case.notices if n.brands == ["NIKE"])
    chanel = next(n for n in case.notices if n.brands == ["CHANEL"])

    with pytest.raises(InvalidInput, match="means"):
        serve_notice(notice_id=nike.id, actor="ipr.li", means="pigeon", at=FOUND)
    with pytest.raises(NotFound):
        serve_notice(notice_id=nike.id, actor="chanel.agent", means="portal", at=FOUND)
    with pytest.raises(PermissionDenied):
        serve_notice(notice_id=nike.id, actor="site.wang", means="hand", at=FOUND)

    # (acts in the order they happen) a rights holder answering a notice not yet served is served through the
    # portal at that moment
    out = record_answer(notice_id=chanel.id, actor="chanel.agent", now=datetime(2026, 11, 25, 9, 0, tzinfo=SH),
                        answer={"verdicts": {2: "not-infringing"}})
    assert out.served_at == datetime(2026, 11, 25, 9, 0, tzinfo=SH) and out.deadline == date(2026, 11, 30)
    assert out.state == "answered" and out.confirmation_minutes == 0
    assert get_case(case_number=case.number, actor="ipr.li").lines[1].state == "released"

    # accepted by the mail server on Friday evening: counting starts Saturday, so Mon, Tue, Wed
    served = serve_notice(notice_id=nike.id, actor="system", means="mail", at=datetime(2026, 11, 27, 18, 0, tzinfo=SH))
    assert served.state == "served" and served.deadline == date(2026, 12, 2)
    again = serve_notice(notice_id=nike.id, actor="system", means="mail", at=datetime(2026, 11, 30, 9, 0, tzinfo=SH))
    assert again.served_at == served.served_at and again.deadline == served.deadline  # only the first service counts


def _password(username: str) -> str:
    return json.loads((Path(os.environ["YUNQUE_VAR_DIR"]) / "demo-passwords.json").read_text())[username]


def test_signing_in_locks_the_failing_client_out_after_repeated_failures(sqlite_db: str) -> None:
    right = _password("ipr.li")
    assert authenticate(username="ipr.li", password=right, now=FOUND).username == "ipr.li"
    for i in range(MAX_FAILURES):
        with pytest.raises(PermissionDenied):
            authenticate(username="ipr.li", password="wrong-password", now=FOUND + timedelta(seconds=i))
    with pytest.raises(PermissionDenied, match="locked"):
        authenticate(username="ipr.li", password=right, now=FOUND + timedelta(minutes=1))  # even the right one
    later = FOUND + timedelta(seconds=MAX_FAILURES) + LOCKOUT
    assert authenticate(username="ipr.li", password=right, now=later).role == "ipr_officer"
    with pytest.raises(PermissionDenied) as unknown:
        authenticate(username="nobody", password="whatever-it-is", now=FOUND)
    assert "wrong user name or password" in str(unknown.value)  # the same words: existence does not leak
