"""Unlock links by e-mail (解锁链接): a user kept out by the sign-in limits clears them for their account.

Sign-in limits lock the failing client, and pause the account only for browsers it was never used in
(``services.auth``); a rights holder who must answer before a deadline from a new device, or from an
address an attacker shares, can still be kept out for a while. So the sign-in page offers "send me an
unlock link":

1. ``request_unlock_link`` records the request (every request, whether or not the account exists) and
   refuses beyond ``PER_ACCOUNT`` requests per user name or ``PER_CLIENT`` per client in ``RATE_WINDOW``.
   For an active local account with an e-mail address it makes a random token (256 bits), keeps only its
   SHA-256, and returns what to mail. The mail goes to the account's own address, never to one typed
   in a form; what the page says is the same whether or not the account exists.
2. ``send_unlock_link`` mails it (outside any transaction) and records the mail server's answer.
   ``ask_for_unlock_link`` does both, the sending on a background thread, so an existing account takes
   no longer to answer than an unknown name (the time would tell them apart).
3. ``use_unlock_link`` (the ``/_yq/unlock`` route, ``ui/server.py``): a token valid ``LINK_VALID``, used
   once, clears the account's lock: the failures recorded up to that moment no longer count for it.
   It does not sign anyone in: the user then signs in with their password.

Everything is on the system timeline: the request (by the system, for the name typed), the mail and
its failure, the unlock (by the account's owner, who proved they read its mail) and refused links.
"""

from __future__ import annotations

import hashlib
import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlmodel import Session, col, select

from adapters.mail import MailFailed, build_message, send
from models.rules.errors import InvalidInput, UnlockLinkRefused, UnlockLinksLimited
from models.rules.workdays import SHANGHAI
from models.tables import User
from models.text import plain
from models.ui_session import SignInUnlock
from services.auth import LOCAL_CLIENT
from services.context import Actor, now_or, record, system_actor
from services.unit_of_work import UnitOfWork, given

LINK_VALID = timedelta(minutes=30)
RATE_WINDOW = timedelta(hours=1)
PER_ACCOUNT = 3  # links asked for one user name (as typed) per RATE_WINDOW
PER_CLIENT = 10  # links asked from one network address, whatever the names, per RATE_WINDOW
ROUTE = "/_yq/unlock"


@dataclass(frozen=True)
class UnlockMail:
    """What to mail for one request: the token exists only here and in the mail, never in the database."""

    request_id: int
    username: str
    to: str
    token: str
    expires_at: datetime
    public_url: str  # the portal's address in the unit of work that recorded the request

    @property
    def link(self) -> str:
        return f"{self.public_url.rstrip('/')}{ROUTE}?token={self.token}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _limit(s: Session, where: object, limit: int, scope: str, now: datetime) -> None:
    times = s.exec(select(SignInUnlock.requested_at).where(where, SignInUnlock.requested_at > now - RATE_WINDOW)
                   .order_by(col(SignInUnlock.requested_at).desc()).limit(limit)).all()
    if len(times) >= limit:
        raise UnlockLinksLimited(scope, times[-1] + RATE_WINDOW)


def request_unlock_link(*, username: str, client: str = LOCAL_CLIENT, now: datetime | None = None,
                        uow: UnitOfWork | None = None) -> UnlockMail | None:
    """Record a request for an unlock link for ``username``; what to mail, or None (no such active local
    account with an address). Never tell the user which: the caller says the same either way.

    ``UnlockLinksLimited`` beyond the per-account and per-client limits (counted whether or not the
    account exists, so the refusal tells nothing either)."""
    uow = given(uow)
    now = now_or(now)
    name = username.strip().lower()[:80]
    if not name:
        raise InvalidInput("username", "is required")
    plain("username", name)
    client = (client or LOCAL_CLIENT)[:64]
    with uow.transaction() as s:
        _limit(s, SignInUnlock.username == name, PER_ACCOUNT, "account", now)
        _limit(s, SignInUnlock.client == client, PER_CLIENT, "client", now)
        user = s.exec(select(User).where(User.username == name)).first()
        usable = user is not None and user.active and bool(user.password_hash) and bool(user.email)
        token = secrets.token_urlsafe(32) if usable else None
        row = SignInUnlock(requested_at=now, username=name, client=client, user_id=user.id if usable else None,  # type: ignore[union-attr]
                           token_hash=_hash(token) if token else None,
                           expires_at=now + LINK_VALID if token else None)
        s.add(row)
        s.flush()
        record(s, actor=system_actor(s), action="sign_in.unlock_requested", subject=f"user:{name}", at=now,
               after={"client": client, "request": row.id, "link": token is not None,
                      **({"expires_at": row.expires_at} if token else {})})
        if token is None:
            return None
        return UnlockMail(request_id=row.id, username=name, to=user.email, token=token,  # type: ignore[arg-type, union-attr]
                          expires_at=row.expires_at, public_url=uow.settings.public_url)  # type: ignore[arg-type]


def _message_text(mail: UnlockMail) -> tuple[str, str]:
    until = mail.expires_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    minutes = int(LINK_VALID.total_seconds() // 60)
    subject = "[云确 Yunque] 解除登录锁定 Unlock sign-in"
    zh = [f"{mail.username}：", "",
          "有人（希望是您本人）为您的云确账号申请了解锁链接。打开下面的链接并确认，即可解除此账号的登录锁定，"
          "然后用您的密码登录：", mail.link, "",
          f"链接仅可使用一次，{minutes}分钟内有效（至北京时间 {until}）。如果不是您本人申请的，请忽略本邮件："
          "您的密码未被更改，也无人因此登录。"]
    en = [f"{mail.username},", "",
          "Someone (we hope you) asked for a link to unlock sign-in to your Yunque account. Open it and confirm "
          "to clear the lock on this account, then sign in with your password:", mail.link, "",
          f"The link works once, for {minutes} minutes (until {until} Beijing time). If you did not ask for it, "
          "ignore this message: your password is unchanged and nobody was signed in."]
    return subject, "\n".join(zh) + "\n\n" + "\n".join(en) + "\n"


def send_unlock_link(mail: UnlockMail, *, now: datetime | None = None, uow: UnitOfWork | None = None) -> None:
    """Mail the link to the account's own address (no transaction open meanwhile) and record the
    outcome; a failure is recorded on the timeline and raised (``MailFailed``)."""
    uow = given(uow)
    started = now_or(now)
    subject, body = _message_text(mail)
    failure: MailFailed | None = None
    sent = None
    try:
        sent = send(build_message(sender=uow.settings.mail_from, to=[mail.to], subject=subject, body=body,
                                  attachments=[], date=started, headers={"X-Yunque-Unlock": str(mail.request_id)}),
                    settings=uow.settings)
    except MailFailed as e:
        failure = e
    finished = now_or(now)
    with uow.transaction() as s:
        row = s.get(SignInUnlock, mail.request_id)
        assert row is not None
        if sent is not None:
            row.mailed_at = finished
            s.add(row)
        record(s, actor=system_actor(s), action="sign_in.unlock_mailed" if sent else "sign_in.unlock_mail_failed",
               subject=f"user:{mail.username}", at=finished,
               after={"request": mail.request_id, "to": mail.to,
                      **({"reply": sent.reply} if sent else {"error": str(failure)})})
    if failure is not None:
        raise failure


@cache
def _sender() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="yunque-unlock-mail")


def ask_for_unlock_link(*, username: str, client: str = LOCAL_CLIENT, now: datetime | None = None,
                        uow: UnitOfWork | None = None) -> Future[None]:
    """What the sign-in page does: record the request now, mail the link on a background thread.

    The future is done at once when there is nothing to mail; the page never waits for it (tests do)."""
    uow = given(uow)
    mail = request_unlock_link(username=username, client=client, now=now, uow=uow)
    if mail is None:
        done: Future[None] = Future()
        done.set_result(None)
        return done
    return _sender().submit(send_unlock_link, mail, now=now, uow=uow)


def use_unlock_link(*, token: str, client: str = LOCAL_CLIENT, now: datetime | None = None,
                    uow: UnitOfWork | None = None) -> str:
    """Clear the sign-in lock of the link's account; the account's user name.

    ``UnlockLinkRefused`` for a used, expired or unknown link (a link that exists is recorded as refused;
    a made-up token writes nothing)."""
    uow = given(uow)
    now = now_or(now)
    client = (client or LOCAL_CLIENT)[:64]
    refused: str | None = None
    with uow.transaction() as s:
        row = s.exec(select(SignInUnlock).where(SignInUnlock.token_hash == _hash(token or "-")).with_for_update()).first()
        user = s.get(User, row.user_id) if row is not None and row.user_id is not None else None
        if row is None or user is None:
            raise UnlockLinkRefused("unknown")
        if row.used_at is not None:
            refused = "used"
        elif row.expires_at is None or row.expires_at <= now:
            refused = "expired"
        elif not user.active:
            refused = "unknown"
        if refused is not None:
            record(s, actor=system_actor(s), action="sign_in.unlock_refused", subject=f"user:{row.username}", at=now,
                   after={"request": row.id, "client": client, "reason": refused})
        name = user.username
        if refused is None:
            row.used_at, row.used_client = now, client
            s.add(row)
            record(s, actor=Actor.of(user), action="sign_in.unlocked", subject=f"user:{user.username}", at=now,
                   after={"request": row.id, "client": client})
    if refused is not None:  # after the refusal's record was committed
        raise UnlockLinkRefused(refused)
    return name
