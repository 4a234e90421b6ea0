"""Unlock links by e-mail: a rights holder kept out by an attacker's wrong passwords clears the lock
with a single-use link mailed to the account's own address (through a real SMTP server on loopback)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from adapters.mail import MailFailed
from models.rules.errors import PermissionDenied, SignInLocked, UnlockLinkRefused, UnlockLinksLimited
from models.tables import TimelineEntry
from models.ui_session import SignInUnlock
from services import auth, sessions, unlock
from services.demo import load_demo_data
from services.users import list_users
from tests.support import free_port, mails, session_scope, smtp_sink
from yunque.settings import reset_settings

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)
ATTACKER, HOLDER = "203.0.113.9", "198.51.100.7"


def _pw(name: str) -> str:
    return next(u["password"] for u in load_demo_data()["users"] if u["username"] == name)


@pytest.fixture
def maildir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An SMTP sink on a free loopback port (as the delivery tests use); the directory of its .eml files."""
    with smtp_sink(tmp_path / "mail", monkeypatch) as directory:
        yield directory


def _token(msg: Any) -> str:
    found = re.search(r"/_yq/unlock\?token=([A-Za-z0-9_-]+)", msg.get_body(preferencelist=("plain",)).get_content())
    assert found, "no unlock link in the mail"
    return found.group(1)


def _system_actions(since: datetime) -> list[tuple[str, str, str]]:
    with session_scope(readonly=True) as s:
        rows = s.exec(select(TimelineEntry).where(col(TimelineEntry.case_id).is_(None), TimelineEntry.at >= since,
                                                  col(TimelineEntry.action).startswith("sign_in."))
                      .order_by(col(TimelineEntry.id))).all()
        return [(r.action, r.actor, r.subject) for r in rows]


def _lock_out(username: str, client: str, at: datetime) -> None:
    for i in range(auth.PER_CLIENT_ACCOUNT):
        with pytest.raises(PermissionDenied):
            sessions.sign_in(username=username, password=f"wrong-password-{i}", client=client,
                             now=at + timedelta(seconds=i))


def test_a_locked_out_holder_unlocks_the_account_with_the_mailed_link_once(sqlite_db: str, maildir: Path) -> None:
    _lock_out("nike.agent", HOLDER, FOUND)  # an attacker sharing the holder's office address
    t = FOUND + timedelta(minutes=1)
    with pytest.raises(SignInLocked):
        sessions.sign_in(username="nike.agent", password=_pw("nike.agent"), client=HOLDER, now=t)
    assert "nike.agent" in {u.username for u in list_users(actor="admin", now=t) if u.locked}

    unlock.ask_for_unlock_link(username="nike.agent", client=HOLDER, now=t).result(timeout=30)
    [msg] = mails(maildir)
    assert msg["To"] == "nike.agent@demo.localhost"  # the account's own address, never one typed in a form
    assert "解除登录锁定" in msg["Subject"] and "Unlock" in msg["Subject"]
    token = _token(msg)
    with session_scope(readonly=True) as s:  # only the token's hash is kept
        row = s.exec(select(SignInUnlock)).one()
        assert row.token_hash and token not in row.token_hash and row.mailed_at is not None

    assert unlock.use_unlock_link(token=token, client=HOLDER, now=t + timedelta(minutes=5)) == "nike.agent"
    assert "nike.agent" not in {u.username for u in list_users(actor="admin", now=t + timedelta(minutes=5)) if u.locked}
    signed = sessions.sign_in(username="nike.agent", password=_pw("nike.agent"), client=HOLDER,
                              now=t + timedelta(minutes=6))
    assert signed.actor.username == "nike.agent"
    with pytest.raises(UnlockLinkRefused) as used:  # single use
        unlock.use_unlock_link(token=token, client=ATTACKER, now=t + timedelta(minutes=7))
    assert used.value.reason == "used"

    assert _system_actions(FOUND) == [
        ("sign_in.unlock_requested", "system", "user:nike.agent"),
        ("sign_in.unlock_mailed", "system", "user:nike.agent"),
        ("sign_in.unlocked", "nike.agent", "user:nike.agent"),  # by the owner of the mailbox
        ("sign_in.unlock_refused", "system", "user:nike.agent"),
    ]


def test_failures_after_the_unlock_lock_the_client_again(sqlite_db: str, maildir: Path) -> None:
    _lock_out("nike.agent", ATTACKER, FOUND)
    t = FOUND + timedelta(minutes=1)
    unlock.ask_for_unlock_link(username="nike.agent", client=HOLDER, now=t).result(timeout=30)
    unlock.use_unlock_link(token=_token(mails(maildir)[0]), client=HOLDER, now=t)
    _lock_out("nike.agent", ATTACKER, t + timedelta(seconds=1))  # the attacker goes on: it is locked again
    with pytest.raises(SignInLocked):
        sessions.sign_in(username="nike.agent", password=_pw("nike.agent"), client=ATTACKER, now=t + timedelta(minutes=1))


def test_an_expired_or_made_up_link_is_refused_and_changes_nothing(sqlite_db: str, maildir: Path) -> None:
    _lock_out("nike.agent", HOLDER, FOUND)
    t = FOUND + timedelta(minutes=1)
    unlock.ask_for_unlock_link(username="nike.agent", client=HOLDER, now=t).result(timeout=30)
    token = _token(mails(maildir)[0])
    with pytest.raises(UnlockLinkRefused) as expired:
        unlock.use_unlock_link(token=token, client=HOLDER, now=t + unlock.LINK_VALID)
    assert expired.value.reason == "expired" and "expired" in str(expired.value)
    with pytest.raises(UnlockLinkRefused) as unknown:
        unlock.use_unlock_link(token=token[:-2] + "xx", client=HOLDER, now=t)
    assert unknown.value.reason == "unknown"
    with pytest.raises(SignInLocked):  # still locked (until the window passes)
        sessions.sign_in(username="nike.agent", password=_pw("nike.agent"), client=HOLDER, now=t + timedelta(minutes=2))
    assert [a for a, _, _ in _system_actions(FOUND)][-1] == "sign_in.unlock_refused"  # the expired one; not the made-up


def test_an_unknown_name_gets_no_mail_and_the_same_answer(sqlite_db: str, maildir: Path) -> None:
    answers = [unlock.ask_for_unlock_link(username=name, client=HOLDER, now=FOUND).result(timeout=30)
               for name in ("no.such.user", "nike.agent")]
    assert answers == [None, None]
    assert [m["To"] for m in mails(maildir)] == ["nike.agent@demo.localhost"]
    with session_scope(readonly=True) as s:  # both requests recorded; only the real account has a token
        rows = s.exec(select(SignInUnlock).order_by(col(SignInUnlock.id))).all()
        assert [(r.username, r.token_hash is not None) for r in rows] == [("no.such.user", False), ("nike.agent", True)]


def test_unlock_requests_are_forgotten_with_the_sign_in_log(sqlite_db: str, maildir: Path) -> None:
    from services import auth

    unlock.ask_for_unlock_link(username="nike.agent", client=HOLDER, now=FOUND).result(timeout=30)
    unlock.ask_for_unlock_link(username="no.such.user", client=HOLDER, now=FOUND).result(timeout=30)
    auth.prune_attempts(now=FOUND + auth.KNOWN_FOR - timedelta(minutes=1))
    with session_scope(readonly=True) as s:
        assert s.exec(select(func.count()).select_from(SignInUnlock)).one() == 2  # the limits still count them
    assert auth.prune_attempts(now=FOUND + auth.KNOWN_FOR + timedelta(minutes=1)) >= 2
    with session_scope(readonly=True) as s:
        assert s.exec(select(func.count()).select_from(SignInUnlock)).one() == 0


def test_unlock_links_are_limited_per_account_and_per_client(sqlite_db: str, maildir: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(unlock.PER_ACCOUNT):  # from different addresses
        unlock.ask_for_unlock_link(username="nike.agent", client=f"192.0.2.{i}", now=FOUND + timedelta(minutes=i)).result(30)
    with pytest.raises(UnlockLinksLimited) as limited:
        unlock.request_unlock_link(username="nike.agent", client="192.0.2.99", now=FOUND + timedelta(minutes=5))
    assert limited.value.scope == "account" and limited.value.until == FOUND + unlock.RATE_WINDOW
    # the same for a name that does not exist: the limit tells nothing about the account
    for i in range(unlock.PER_ACCOUNT):
        unlock.request_unlock_link(username="no.such.user", client=f"192.0.2.{10 + i}", now=FOUND)
    with pytest.raises(UnlockLinksLimited):
        unlock.request_unlock_link(username="no.such.user", client="192.0.2.98", now=FOUND)
    # one client asking for many names
    monkeypatch.setattr(unlock, "PER_CLIENT", 2)
    for name in ("a.one", "b.two"):
        unlock.request_unlock_link(username=name, client=ATTACKER, now=FOUND)
    with pytest.raises(UnlockLinksLimited) as per_client:
        unlock.request_unlock_link(username="ipr.li", client=ATTACKER, now=FOUND)
    assert per_client.value.scope == "client"
    assert len(mails(maildir)) == unlock.PER_ACCOUNT  # a refused request mails nothing
    # after the window, the account may ask again
    assert unlock.request_unlock_link(username="nike.agent", client="192.0.2.99",
                                      now=FOUND + unlock.RATE_WINDOW + timedelta(seconds=1)) is not None


def test_a_mail_server_that_cannot_be_reached_is_recorded_and_raised(sqlite_db: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUNQUE_SMTP_PORT", str(free_port()))  # nobody listens there
    reset_settings()
    mail = unlock.request_unlock_link(username="nike.agent", client=HOLDER, now=FOUND)
    assert mail is not None
    with pytest.raises(MailFailed):
        unlock.send_unlock_link(mail, now=FOUND)
    assert [a for a, _, _ in _system_actions(FOUND)] == ["sign_in.unlock_requested", "sign_in.unlock_mail_failed"]
    with session_scope(readonly=True) as s:
        assert s.exec(select(func.count()).select_from(SignInUnlock).where(
            col(SignInUnlock.mailed_at).is_not(None))).one() == 0
