"""Single sign-on in a real browser: ``st.login`` against a local OpenID Connect provider.

The provider (``oidc-provider-mock``) runs on a free loopback port with predefined users whose claims
carry a ``groups`` claim. The app is configured only through the environment (``YUNQUE_OIDC_*``, see
``ui/sso.py``). A user authorizes at the provider, comes back to Yunque signed in with the role and
office its groups name, and sees that role's pages and no others; a user whose groups name no role is
refused with a plain message. Screenshots go to test-artifacts/browser/sso/."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser_support import (
    ARTIFACTS,
    chromium,
    click,
    goto,
    new_page,
    start_app,
    use_app_database,
    wait_http,
)
from tests.e2e.browser_support import shot as _shot
from tests.support import free_port

pytestmark = [pytest.mark.timeout(600)]

FOLDER = ARTIFACTS / "sso"
GROUPS = "yunque_groups"  # a custom claim name, set through YUNQUE_OIDC_GROUPS_CLAIM
IPR = {"sub": "mei.zhang", "email": "Mei.Zhang@capital-airport.customs.localhost", "name": "张梅 Zhang Mei",
       GROUPS: ["staff", "yunque-ipr-officers", "yunque-office-CAPAIR"],
       "groups": ["yunque-admins"]}  # a claim of the same meaning under another name counts for nothing
MANAGER = {"sub": "jun.zhao", "email": "jun.zhao@capital-airport.customs.localhost", "name": "赵军 Zhao Jun",
           GROUPS: ["yunque-managers", "yunque-office-CAPAIR"]}
NOBODY = {"sub": "pat.lee", "email": "pat.lee@example.localhost", "name": "Pat Lee", GROUPS: ["marketing"]}


def shot(page: Any, name: str) -> None:
    _shot(page, name, FOLDER)


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The identity provider on a free loopback port; yields its discovery URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("oidc") / "oidc.log"
    args = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port), "--require-nonce"]
    for user in (IPR, MANAGER, NOBODY):
        args += ["--user-claims", json.dumps(user)]
    proc = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/.well-known/openid-configuration"
        wait_http(url, 30)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        FOLDER.mkdir(parents=True, exist_ok=True)
        (FOLDER / "oidc.log").write_bytes(log.read_bytes())


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, provider: str) -> Iterator[dict]:
    env = {"YUNQUE_OIDC_METADATA_URL": provider, "YUNQUE_OIDC_CLIENT_ID": "yunque-test",
           "YUNQUE_OIDC_CLIENT_SECRET": "not-a-real-secret", "YUNQUE_OIDC_GROUPS_CLAIM": GROUPS}
    with start_app(tmp_path_factory.mktemp("sso"), extra_env=env, log_name="streamlit-sso.log") as st:
        yield st


@pytest.fixture(scope="module")
def browser(stack: dict) -> Iterator[Any]:
    with chromium() as b:
        yield b


def sso_round_trip(browser: Any, stack: dict, user: dict[str, Any]) -> Any:
    """A fresh browser: the sign-in page, the provider's consent page, back in Yunque."""
    page = new_page(browser)
    goto(page, stack["url"] + "/")
    click(page.get_by_role("button", name="统一身份认证登录"))  # Sign in with single sign-on
    page.get_by_role("heading", name="Authorize Client").wait_for()
    assert page.url.startswith(stack["env"]["YUNQUE_OIDC_METADATA_URL"].split("/.well-known")[0])
    page.get_by_role("button", name=user["sub"], exact=True).click()
    page.wait_for_url(stack["url"] + "/**")
    return page


def nav_titles(page: Any) -> set[str]:
    nav = page.locator("[data-testid=stTopNav]")  # the pages run along the top (ui/app.py)
    nav.wait_for()
    # each link reads "<icon name>\n\n<title>"
    return {t.strip().split("\n")[-1] for t in nav.locator("[data-testid=stTopNavLink]").all_inner_texts()}


@pytest.mark.slow
def test_the_secrets_file_is_written_for_the_app_only(stack: dict) -> None:
    import tomllib

    path = stack["root"] / ".streamlit" / "secrets.toml"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    secrets = tomllib.loads(path.read_text())
    auth = secrets["auth"]
    assert auth["server_metadata_url"] == stack["env"]["YUNQUE_OIDC_METADATA_URL"]
    assert (auth["client_id"], auth["client_secret"]) == ("yunque-test", "not-a-real-secret")
    assert secrets["yunque"]["groups_claim"] == GROUPS
    assert auth["redirect_uri"] == stack["url"] + "/oauth2callback"


@pytest.mark.slow
@pytest.mark.parametrize(("user", "role", "theirs", "not_theirs"), [
    (IPR, "ipr_officer", ["page.inbox", "page.case", "page.register", "page.viewing"],
     ["page.board", "page.admin", "page.portal"]),
    (MANAGER, "manager", ["page.board", "page.inbox", "page.case"],
     ["page.register", "page.admin", "page.viewing", "page.portal"]),
], ids=["ipr-officer", "manager"])
def test_single_sign_on_gives_the_role_and_office_of_the_groups_claim(
        stack: dict, browser: Any, user: dict[str, Any], role: str, theirs: list[str], not_theirs: list[str]) -> None:
    from sqlmodel import select

    from models.tables import CustomsOffice, User
    from models.ui_session import SignInSession
    from services.sessions import ABSOLUTE
    from tests.support import session_scope
    from ui.i18n import t

    page = sso_round_trip(browser, stack, user)
    page.get_by_role("button", name="退出登录").wait_for()  # Sign out: signed in
    page.locator("[data-testid=stSidebar]").get_by_text(user["name"]).wait_for()
    titles = nav_titles(page)
    shot(page, f"01-{role}-signed-in")
    assert {t(k, "zh") for k in theirs} <= titles
    assert not {t(k, "zh") for k in not_theirs} & titles
    assert t("page.signin", "zh") not in titles

    # A page of another role, typed in the address bar, is not there.
    goto(page, stack["url"] + "/admin")
    page.get_by_role("dialog").get_by_text("Page not found").wait_for()
    assert page.get_by_role("heading", name=t("page.admin", "zh")).count() == 0
    page.keyboard.press("Escape")
    page.get_by_role("dialog").wait_for(state="detached")

    use_app_database(stack)
    with session_scope(readonly=True) as s:
        u = s.exec(select(User).where(User.email == user["email"].lower())).one()
        office = s.get(CustomsOffice, u.customs_office_id)
        sessions = list(s.exec(select(SignInSession).where(SignInSession.user_id == u.id)))
        assert (u.role, office.code if office else None, u.password_hash) == (role, "CAPAIR", None)
        assert sessions and {x.via for x in sessions} == {"oidc"}
        # bounded by the sign-in at the provider (the ID token's iat), not by this page's first visit
        assert all(x.expires_at < x.created_at + ABSOLUTE for x in sessions)
        username = u.username
        started = _sessions_started(s, username)

    # Page loads resume the session the sign-in opened (Yunque's HttpOnly cookie): no new session each time.
    cookie = next(c for c in page.context.cookies() if c["name"] == "yq_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    for _ in range(2):
        page.goto(stack["url"] + "/case")
        page.get_by_role("button", name="退出登录").wait_for()
    with session_scope(readonly=True) as s:
        assert _sessions_started(s, username) == started == 1

    # Signing out ends the single sign-on too (the provider asks to confirm the end of its session):
    # back at the sign-in page, and it stays so on reload.
    click(page.get_by_role("button", name="退出登录"))
    page.get_by_role("button", name="End session").click()  # the provider's page, not Streamlit's
    page.get_by_role("button", name="统一身份认证登录").wait_for()
    page.reload()
    page.get_by_role("button", name="统一身份认证登录").wait_for()
    page.wait_for_timeout(1500)
    assert page.get_by_role("button", name="退出登录").count() == 0
    shot(page, f"02-{role}-signed-out")


def _sessions_started(s: Any, username: str) -> int:
    from sqlmodel import select

    from models.tables import TimelineEntry

    return len(list(s.exec(select(TimelineEntry.id).where(TimelineEntry.action == "session.started",
                                                          TimelineEntry.subject == f"user:{username}"))))


@pytest.mark.slow
def test_a_user_whose_groups_name_no_role_is_refused_plainly(stack: dict, browser: Any) -> None:
    from sqlmodel import select

    from models.tables import User
    from tests.support import session_scope

    from ui.i18n import t

    page = sso_round_trip(browser, stack, NOBODY)
    page.get_by_role("alert").get_by_text(t("sso_refused", "zh")).wait_for()
    refusal = page.get_by_text("the groups claim must name exactly one of")
    refusal.wait_for()
    text = refusal.inner_text()
    page.get_by_label("用户名").wait_for()  # still the sign-in page, with the password form
    page.get_by_role("button", name="统一身份认证登录").wait_for()
    shot(page, "03-no-role-refused")
    assert "yunque-ipr-officers" in text and "yunque-site-officers" in text
    assert page.get_by_role("button", name="退出登录").count() == 0
    use_app_database(stack)
    with session_scope(readonly=True) as s:
        assert s.exec(select(User).where(User.email == NOBODY["email"])).first() is None


# --- the claims' age (no browser: the provider's cookie outlives Yunque's sessions) -----------------


def test_claims_older_than_a_session_are_refused_and_younger_ones_bound_the_session(sqlite_db: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlmodel import select

    from models.rules.errors import InvalidInput, NotFound, PermissionDenied
    from models.tables import User
    from services import sessions
    from tests.support import session_scope

    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    claims = {**IPR, "email": "old.claims@capital-airport.customs.localhost"}
    with pytest.raises(PermissionDenied, match="more than 12 hours old"):
        sessions.sso_sign_in(claims={**claims, "iat": int((now - timedelta(hours=13)).timestamp())}, now=now,
                             groups_claim=GROUPS)
    with session_scope(readonly=True) as s:
        assert s.exec(select(User).where(User.email == claims["email"])).first() is None  # nothing written
    with pytest.raises(InvalidInput, match="iat"):
        sessions.sso_sign_in(claims={**claims, "iat": "yesterday"}, now=now, groups_claim=GROUPS)

    # Signed in at the provider 11 hours ago (auth_time wins over the token's iat): one hour left.
    signed = sessions.sso_sign_in(claims={**claims, "auth_time": int((now - timedelta(hours=11)).timestamp()),
                                          "iat": int(now.timestamp())}, now=now, groups_claim=GROUPS)
    assert signed.expires_at == now + timedelta(hours=1)
    assert sessions.resume(token=signed.token, now=now + timedelta(minutes=59)).role.value == "ipr_officer"
    with pytest.raises(NotFound):
        sessions.resume(token=signed.token, now=now + timedelta(minutes=61))
    fresh = sessions.sso_sign_in(claims={**claims, "iat": int(now.timestamp())}, now=now, groups_claim=GROUPS)
    assert fresh.expires_at == now + sessions.ABSOLUTE
