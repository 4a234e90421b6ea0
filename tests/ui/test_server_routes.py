"""The app server's own routes over real HTTP: the sign-in handoff is bound to the browser, sign-out is a POST."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from models.rules.errors import NotFound
from models.ui_session import SignInSession
from services import sessions
from services.demo import load_demo_data
from tests.support import session_scope


def _pw(name: str) -> str:
    return next(u["password"] for u in load_demo_data()["users"] if u["username"] == name)


def _sessions() -> int:
    with session_scope(readonly=True) as s:
        return s.exec(select(func.count()).select_from(SignInSession)).one()


@pytest.fixture
def browser(sqlite_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """One browser (a cookie jar) talking to ``ui/server.py``'s ASGI app over HTTP (httpx).

    Without the app's lifespan: Streamlit's runtime starts once per process, and these routes (and
    the page's HTML) do not need it."""
    monkeypatch.setenv("YUNQUE_UI_COOKIE_ROUTES", "1")  # the module sets it; restored after the test
    from starlette.testclient import TestClient

    from ui.server import app

    yield TestClient(app, base_url="http://127.0.0.1:8501")


def test_a_page_load_gives_the_browser_an_httponly_nonce(browser: Any) -> None:
    first = browser.get("/")
    assert first.status_code == 200 and "HttpOnly" in first.headers["set-cookie"]
    nonce = browser.cookies["yq_nonce"]
    assert len(nonce) >= 40 and "set-cookie" not in browser.get("/").headers  # kept, not replaced


def test_a_cross_site_link_with_someone_elses_code_signs_nobody_in(browser: Any) -> None:
    browser.get("/")  # the victim's browser, with its own nonce
    attacker = sessions.sign_in(username="nike.agent", password=_pw("nike.agent"), nonce="the-attackers-browser")
    before = _sessions()
    r = browser.get("/_yq/session", params={"code": attacker.handoff, "next": "/portal"}, follow_redirects=False)
    assert r.status_code == 403 and "yq_session" not in r.headers.get("set-cookie", "")
    assert "not started in this browser" in r.text and "不是在本浏览器中发起的" in r.text
    assert _sessions() == before and "yq_session" not in browser.cookies
    # the same code still works in the browser that signed in (the refusal changed nothing)
    browser.cookies.clear()
    browser.cookies.set("yq_nonce", "the-attackers-browser")
    ok = browser.get("/_yq/session", params={"code": attacker.handoff, "next": "/portal"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/portal" and "HttpOnly" in ok.headers["set-cookie"]


def test_sign_out_is_a_same_origin_post_that_ends_every_session_of_the_sign_in(browser: Any) -> None:
    browser.get("/")
    signed = sessions.sign_in(username="ipr.li", password=_pw("ipr.li"), nonce=browser.cookies["yq_nonce"])
    assert browser.get("/_yq/session", params={"code": signed.handoff}, follow_redirects=False).status_code == 303
    cookie = browser.cookies["yq_session"]
    assert browser.get("/_yq/signout", follow_redirects=False).status_code == 405  # a link signs nobody out
    cross = browser.post("/_yq/signout", headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
                         follow_redirects=False)
    assert cross.status_code == 403
    assert sessions.resume(token=cookie).username == "ipr.li"
    out = browser.post("/_yq/signout", headers={"Origin": "http://127.0.0.1:8501", "Sec-Fetch-Site": "same-origin"},
                       follow_redirects=False)
    assert out.status_code == 303 and 'yq_session=""' in out.headers["set-cookie"]
    for token in (cookie, signed.token):  # the cookie's session and the page's, both ended on the server
        with pytest.raises(NotFound):
            sessions.resume(token=token)
