"""No traceback reaches a user: a failing service shows a message in the user's language with an incident
id (the trace is in the incident log), and user text never renders as markdown (links, images)."""

from __future__ import annotations

import errno
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from adapters.incidents import log_path
from services import sessions
from services.demo import load_demo_data, seed_shipment
from tests.support import open_confirmed
from ui.i18n import t
from yunque.settings import get_settings

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
INCIDENT = re.compile(r"(\d{8}-\d{6}-[0-9a-f]{6})")


def _signed_in(user: str, lang: str) -> AppTest:
    password = next(u["password"] for u in load_demo_data()["users"] if u["username"] == user)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["ui.lang"] = lang
    at.session_state["auth.token"] = sessions.sign_in(username=user, password=password).token
    return at


def _incident_in(at: AppTest) -> str:
    found = [m.group(1) for e in at.error for m in [INCIDENT.search(e.value)] if m]
    assert len(found) == 1, [e.value for e in at.error]
    return found[0]


def test_a_database_nobody_migrated_shows_a_message_and_an_incident_id_not_a_crash() -> None:
    # the autouse fixture points at an empty SQLite file: no tables
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["ui.lang"] = "en"
    at.session_state["auth.token"] = "a-token-from-an-earlier-visit"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(t("incident.db-not-set-up", "en") in e.value for e in at.error), [e.value for e in at.error]
    incident = _incident_in(at)
    log = log_path(get_settings().var_dir).read_text(encoding="utf-8")
    assert f"incident {incident} [db-not-set-up]" in log and "Traceback" in log and "no such table" in log
    assert "Traceback" not in " ".join(e.value for e in at.error) and "OperationalError" not in " ".join(
        e.value for e in at.error)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_failing_service_in_a_page_shows_the_reason_in_the_users_language(sqlite_db: str, lang: str,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from services import tasks

    def full_disk(**_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tasks, "list_tasks", full_disk)
    at = _signed_in("ipr.li", lang)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("page.inbox", lang) in [x.value for x in at.title]  # the page itself is there
    assert any(t("incident.disk-full", lang) in e.value for e in at.error), [e.value for e in at.error]
    incident = _incident_in(at)
    assert f"incident {incident} [disk-full]" in log_path(get_settings().var_dir).read_text(encoding="utf-8")


def test_an_unexpected_error_shows_no_class_name(sqlite_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from services import tasks

    def broken(**_: object) -> None:
        raise KeyError("secret_internal_detail")

    monkeypatch.setattr(tasks, "list_tasks", broken)
    at = _signed_in("ipr.li", "en")
    at.run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert t("incident.internal", "en") in shown and "KeyError" not in shown and "secret_internal_detail" not in shown
    _incident_in(at)


def test_a_line_unit_written_as_a_link_is_shown_as_text_in_the_answer_form(sqlite_db: str) -> None:
    now = datetime.now().astimezone()
    shipment = seed_shipment(now - timedelta(minutes=5))
    nike = next(ln for ln in shipment["lines"] if ln["brand"] == "NIKE")
    nike["unit"] = "[x](http://e.vil)"
    case = open_confirmed(shipment, now=now)  # the notice reaches the holder once the lines are confirmed
    notice = next(n.id for n in case.notices if "NIKE" in n.brands)
    at = _signed_in("nike.agent", "en")
    at.query_params["notice"] = str(notice)
    at.run()
    at.switch_page("views/portal.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [r.label for r in at.radio if "vil" in r.label]
    assert labels, [r.label for r in at.radio]
    for label in labels:
        assert "](" not in label and r"\[x\]\(http\:\/\/e\.vil\)" in label, label


def test_the_markdown_escape_shows_every_character_as_typed() -> None:
    from ui.chrome import md

    nasty = "[pwn](https://evil.example) ![img](http://x/y.png) **b** `c` $x$ :red[r] <b>h</b> # h\nnext"
    escaped = md(nasty)
    assert "\n" not in escaped
    unescaped = re.sub(r"\\(.)", r"\1", escaped)
    assert unescaped == nasty.replace("\n", " ")  # CommonMark shows each escaped character as itself
    assert not re.search(r"(?<!\\)[\[\]()*`$:<>!#]", escaped)  # no markdown syntax is left unescaped
