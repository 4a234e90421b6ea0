"""Unlock by e-mail from the browser: the sign-in page offers the link after a lock-out (AppTest), and
the link's route asks to confirm, then clears the lock once (``ui/server.py`` over HTTP)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from models.rules.errors import PermissionDenied, SignInLocked
from services import auth, sessions
from tests.support import mails, smtp_sink
from tests.ui.test_pages import _password, app_as, texts
from ui.i18n import t


@pytest.fixture
def maildir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with smtp_sink(tmp_path / "mail", monkeypatch) as directory:
        yield directory


def _wait_for_mail(directory: Path, n: int = 1) -> list[Any]:
    """The page mails in the background: wait (a little) for the sink to have ``n`` messages."""
    for _ in range(200):
        found = mails(directory)
        if len(found) >= n:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no mail after 10 s in {directory}")


def _lock_out(username: str, client: str = auth.LOCAL_CLIENT) -> None:
    for i in range(auth.PER_CLIENT_ACCOUNT):
        with pytest.raises(PermissionDenied):
            sessions.sign_in(username=username, password=f"wrong-password-{i}", client=client)


def _link_token(msg: Any) -> str:
    found = re.search(r"/_yq/unlock\?token=([A-Za-z0-9_-]+)", msg.get_body(preferencelist=("plain",)).get_content())
    assert found
    return found.group(1)


def test_a_locked_out_user_asks_for_an_unlock_link_on_the_sign_in_page(sqlite_db_now: str, maildir: Path) -> None:
    _lock_out("nike.agent")
    at = app_as(None)
    assert not [b for b in at.button if b.key == "signin.unlock"]  # offered only after a lock-out
    at.text_input(key="signin.username").input("nike.agent")
    at.text_input(key="signin.password").input(_password("nike.agent"))
    at.button[0].click().run()
    assert any("locked" in e.value for e in at.error), [e.value for e in at.error]
    assert t("unlock.offer", "en") in texts(at)
    at.button(key="signin.unlock").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success] == [t("unlock.asked", "en", minutes=30)]
    [msg] = _wait_for_mail(maildir)
    assert msg["To"] == "nike.agent@demo.localhost"


def test_an_unknown_name_gets_the_same_words_on_the_page(sqlite_db_now: str, maildir: Path) -> None:
    _lock_out("no.such.user")
    at = app_as(None)
    at.text_input(key="signin.username").input("no.such.user")
    at.text_input(key="signin.password").input("whatever-it-is")
    at.button[0].click().run()
    at.button(key="signin.unlock").click().run()
    assert [s.value for s in at.success] == [t("unlock.asked", "en", minutes=30)]
    assert not list(maildir.glob("*.eml"))


@pytest.fixture
def browser(sqlite_db_now: str, maildir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("YUNQUE_UI_COOKIE_ROUTES", "1")
    from starlette.testclient import TestClient

    from ui.server import app

    yield TestClient(app, base_url="http://127.0.0.1:8501")


def test_the_link_asks_to_confirm_then_unlocks_once(browser: Any, maildir: Path) -> None:
    from services.unlock import ask_for_unlock_link

    _lock_out("nike.agent")
    ask_for_unlock_link(username="nike.agent").result(timeout=30)
    token = _link_token(_wait_for_mail(maildir)[0])

    page = browser.get("/_yq/unlock", params={"token": token})  # a mail scanner's fetch spends nothing
    assert page.status_code == 200 and "method='post'" in page.text and t("unlock.confirm", "zh") in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    with pytest.raises(SignInLocked):
        sessions.sign_in(username="nike.agent", password=_password("nike.agent"))

    same_site = {"Origin": "http://127.0.0.1:8501", "Sec-Fetch-Site": "same-origin"}
    cross = browser.post("/_yq/unlock", data={"token": token}, headers={"Origin": "https://evil.example",
                                                                         "Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    done = browser.post("/_yq/unlock", data={"token": token}, headers=same_site)
    assert done.status_code == 200, done.text
    assert t("unlock.done", "en", username="nike.agent") in done.text and "登录锁定已解除" in done.text
    assert sessions.sign_in(username="nike.agent", password=_password("nike.agent")).actor.username == "nike.agent"

    again = browser.post("/_yq/unlock", data={"token": token}, headers=same_site)
    assert again.status_code == 400 and t("unlock.refused.used", "en") in again.text
    made_up = browser.post("/_yq/unlock", data={"token": "<script>alert(1)</script>"}, headers=same_site)
    assert made_up.status_code == 400 and t("unlock.refused.unknown", "zh") in made_up.text
    shown = browser.get("/_yq/unlock", params={"token": "'><script>alert(1)</script>"})
    assert "<script>" not in shown.text  # the token is put back into the form escaped
