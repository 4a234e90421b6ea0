"""Local accounts: argon2id password hashes, and rate limits on password checks that lock out the
client that fails, never the account.

A password check costs ~0.8 s of CPU (argon2id). It runs outside any transaction: the short write
before it records the attempt (as failed, so checks still running count against the limits) and
refuses a locked-out client; the short write after it records a success. The checks themselves run
in a small pool of threads at the lowest CPU priority, so sign-in floods cannot starve other work. An unknown user name is
checked against a dummy hash, so it costs the same time as a known one and says the same words.

Limits, over a sliding ``WINDOW`` (the refusal says until when, ``SignInLocked``):

- ``PER_CLIENT_ACCOUNT`` failures for one account from one client (its network address, or a browser
  that signed in to this account before, see below) lock that client out of that account;
- ``PER_CLIENT`` failures from one network address, whatever the user names, lock that address out;
- ``PER_ACCOUNT`` failures for one account from everywhere pause sign-in to that account from
  browsers it was never used in. A browser is *known* to an account once it has signed in to it
  (its pre-sign-in nonce cookie, ``ui/server.py``, hashed in the attempt log) within ``KNOWN_FOR``:
  a known browser is counted on its own and is not locked by other clients' failures, so nobody can
  keep a rights holder out of their usual browser before a deadline by typing wrong passwords.

An unlock link e-mailed to the account's own address (``services.unlock``) clears the lock from
anywhere: failures recorded up to the moment the link was used no longer count for that account, in any
of the three limits (the failures of other accounts from the same address included, for sign-ins to it).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from models.rules.errors import InvalidInput, PermissionDenied, SignInLocked
from models.tables import User
from models.ui_session import SignInAttempt, SignInUnlock
from services.context import Actor, now_or
from services.unit_of_work import UnitOfWork, given

WINDOW = timedelta(minutes=15)
LOCKOUT = WINDOW  # a lock ends when the oldest counted failure leaves the window
PER_CLIENT_ACCOUNT = 5
PER_CLIENT = 20
PER_ACCOUNT = 50
KNOWN_FOR = timedelta(days=90)
CHECKERS = 2  # password checks running at once per process (each ~0.8 s of CPU on 4 argon2 lanes)
CHECK_NICENESS = 19  # the lowest priority: on a machine busy with other work, a sign-in takes longer
MAX_FAILURES = PER_CLIENT_ACCOUNT  # kept for callers that name the old constant
LOCAL_CLIENT = "local"
_hasher = PasswordHasher()  # argon2id, memory-hard; parameters from argon2-cffi's RFC 9106 profile


def hash_password(password: str) -> str:
    if len(password) < 10:
        raise InvalidInput("password", "must be at least 10 characters")
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    """A hash of the same parameters as real ones, for unknown user names (same time, same answer)."""
    return _hasher.hash("timing-equaliser-not-a-password")


def browser_id(nonce: str | None) -> str | None:
    """What the attempt log keeps of a browser's pre-sign-in nonce cookie: its SHA-256, or None."""
    return hashlib.sha256(nonce.encode()).hexdigest() if nonce else None


def _check(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(right?, a new hash if the stored one's parameters are outdated); an unknown user costs the same."""
    try:
        _hasher.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False, None
    if password_hash is None:
        return False, None
    return True, (_hasher.hash(password) if _hasher.check_needs_rehash(password_hash) else None)


def _lowest_priority() -> None:
    """Runs in each checking thread: on Linux the nice value is per thread (argon2's own lane threads
    inherit it), so a flood of sign-ins yields the CPU to ordinary work."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHECK_NICENESS)
    except (AttributeError, OSError):  # not Linux: the pool's size still bounds the load
        pass


@cache
def _checker() -> ThreadPoolExecutor:
    """The process's password checkers: ``CHECKERS`` threads; more attempts at once wait their turn."""
    pool = ThreadPoolExecutor(max_workers=CHECKERS, thread_name_prefix="yunque-password-check",
                              initializer=_lowest_priority)
    pool.submit(_dummy_hash)  # made once, ahead: the first unknown name must not take twice as long
    return pool


@dataclass(frozen=True)
class _Pending:
    attempt_id: int
    user_id: int | None
    password_hash: str | None


def authenticate(*, username: str, password: str, client: str = LOCAL_CLIENT, nonce: str | None = None,
                 now: datetime | None = None, uow: UnitOfWork | None = None) -> Actor:
    """The actor if the password is right; a wrong one counts against ``client`` (see the module).

    ``client`` is the network address the attempt came from; ``nonce`` the browser's pre-sign-in
    nonce cookie, if any. The error never says whether the user exists."""
    uow = given(uow)
    now = now_or(now)
    name = username.strip().lower()[:80]
    client = (client or LOCAL_CLIENT)[:64]
    browser = browser_id(nonce)
    refused = PermissionDenied(username, "sign in", "wrong user name or password")
    with uow.transaction() as s:  # short: counts, one insert; the lock order is the usual one
        _refuse_if_locked(s, name, client, browser, now)
        attempt = SignInAttempt(at=now, username=name, client=client, browser=browser, succeeded=False)
        s.add(attempt)
        s.flush()
        user = s.exec(select(User).where(User.username == name)).first()
        usable = user is not None and user.active and bool(user.password_hash)
        pending = _Pending(attempt.id, user.id if usable else None,  # type: ignore[arg-type, union-attr]
                           user.password_hash if usable else None)  # type: ignore[union-attr]
    # The expensive part, with no transaction open (other writers never wait for it), at low CPU priority.
    ok, rehashed = _checker().submit(_check, pending.password_hash, password).result()
    if not ok:
        raise refused
    with uow.transaction() as s:
        user = s.get(User, pending.user_id)
        # re-checked: the account may have been disabled, or its password reset, during the check
        if user is None or not user.active or user.password_hash != pending.password_hash:
            raise refused
        row = s.get(SignInAttempt, pending.attempt_id)
        row.succeeded = True  # type: ignore[union-attr]
        s.add(row)
        if rehashed:
            user.password_hash = rehashed
            s.add(user)
        return Actor.of(user)


def cleared_at(s: Session, names: list[str]) -> dict[str, datetime]:
    """When each of these accounts' sign-in lock was last cleared by an unlock link, if ever."""
    rows = s.exec(select(SignInUnlock.username, func.max(SignInUnlock.used_at))
                  .where(col(SignInUnlock.username).in_(names), col(SignInUnlock.used_at).is_not(None))
                  .group_by(SignInUnlock.username)).all()
    return {name: at for name, at in rows if at is not None}


def _refuse_if_locked(s: Session, name: str, client: str, browser: str | None, now: datetime) -> None:
    since = max(now - WINDOW, cleared_at(s, [name]).get(name, now - WINDOW))
    failed = select(SignInAttempt.at).where(col(SignInAttempt.succeeded).is_(False), SignInAttempt.at > since)
    known = browser is not None and s.exec(
        select(SignInAttempt.id).where(SignInAttempt.username == name, SignInAttempt.browser == browser,
                                       col(SignInAttempt.succeeded).is_(True), SignInAttempt.at > now - KNOWN_FOR)
    ).first() is not None
    if known:  # counted on its own: other clients' failures do not lock a browser the account uses
        mine = SignInAttempt.username == name, SignInAttempt.browser == browser
        _lock(s, failed.where(*mine, SignInAttempt.id > _last_success(s, *mine)), PER_CLIENT_ACCOUNT, name,
              "client_account")
        return
    mine = SignInAttempt.username == name, SignInAttempt.client == client
    _lock(s, failed.where(*mine, SignInAttempt.id > _last_success(s, *mine)), PER_CLIENT_ACCOUNT, name,
          "client_account")
    _lock(s, failed.where(SignInAttempt.client == client), PER_CLIENT, name, "client")
    _lock(s, failed.where(SignInAttempt.username == name), PER_ACCOUNT, name, "account")


def _last_success(s: Session, *where: Any) -> int:
    """Failures before this client's last success on the account no longer count against it."""
    last = s.exec(select(func.max(SignInAttempt.id)).where(*where, col(SignInAttempt.succeeded).is_(True))).first()
    return last or 0


def _lock(s: Session, failures: Any, limit: int, name: str, scope: str) -> None:
    """Refuse when ``limit`` failures are in the window; the lock ends when the oldest counted leaves it."""
    times = s.exec(failures.order_by(col(SignInAttempt.at).desc()).limit(limit)).all()
    if len(times) >= limit:
        raise SignInLocked(name, scope, times[-1] + WINDOW)


def locked_scopes(s: Session, names: list[str], now: datetime) -> dict[str, str]:
    """For each of these accounts whose sign-in is refused somewhere now: ``account`` (paused for browsers it
    was never used in, ``PER_ACCOUNT``) or ``client`` (at least one client is locked out of it,
    ``PER_CLIENT_ACCOUNT`` failures since that client's last success). What the administrators see."""
    rows = s.exec(select(SignInAttempt.username, SignInAttempt.client, SignInAttempt.succeeded, SignInAttempt.at)
                  .where(col(SignInAttempt.username).in_(names), SignInAttempt.at > now - WINDOW)
                  .order_by(col(SignInAttempt.id))).all()
    cleared = cleared_at(s, names)
    failures: dict[str, int] = {}
    streaks: dict[tuple[str, str], int] = {}
    for name, client, succeeded, at in rows:
        if name in cleared and at <= cleared[name]:
            continue
        streaks[(name, client)] = 0 if succeeded else streaks.get((name, client), 0) + 1
        failures[name] = failures.get(name, 0) + (not succeeded)
    out = {name: "client" for (name, _), n in streaks.items() if n >= PER_CLIENT_ACCOUNT}
    out.update({name: "account" for name, n in failures.items() if n >= PER_ACCOUNT})
    return out


def prune_attempts(*, now: datetime | None = None, uow: UnitOfWork | None = None) -> int:
    """Forget sign-in attempts and unlock-link requests older than ``KNOWN_FOR``: no limit counts them any
    more, a browser unused that long is no longer known, and an unlock that old only cleared failures that
    are gone too. Run by the reconciliation; returns how many rows were deleted."""
    from sqlalchemy import delete
    uow = given(uow)

    from models.ui_session import SignInUnlock

    now = now_or(now)
    with uow.transaction() as s:
        attempts = s.exec(delete(SignInAttempt).where(SignInAttempt.at < now - KNOWN_FOR))  # type: ignore[call-overload]
        unlocks = s.exec(delete(SignInUnlock).where(SignInUnlock.requested_at < now - KNOWN_FOR))  # type: ignore[call-overload]
        return int(attempts.rowcount or 0) + int(unlocks.rowcount or 0)


def same_secret(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two secrets' hashes (``None`` never matches)."""
    return a is not None and b is not None and hmac.compare_digest(a, b)
