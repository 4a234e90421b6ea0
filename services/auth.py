"""Local accounts: argon2id password hashes and a lockout after repeated failures."""

from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import select

from adapters.db import session_scope
from models.rules.errors import InvalidInput, PermissionDenied
from models.tables import User
from services.context import Actor, now_or, record, system_actor

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
_hasher = PasswordHasher()  # argon2id, memory-hard; parameters from argon2-cffi's RFC 9106 profile


def hash_password(password: str) -> str:
    if len(password) < 10:
        raise InvalidInput("password", "must be at least 10 characters")
    return _hasher.hash(password)


def authenticate(*, username: str, password: str, now: datetime | None = None) -> Actor:
    """The actor if the password is right; a wrong password counts towards a lockout.

    The error never says whether the user exists."""
    now = now_or(now)
    refused = PermissionDenied(username, "sign in", "wrong user name or password, or the account is locked")
    with session_scope() as s:
        user = s.exec(select(User).where(User.username == username).with_for_update()).first()
        if user is None or not user.active or not user.password_hash:
            _hasher.hash("timing-equaliser")  # spend the same time as a real check
            raise refused
        if user.locked_until is not None and user.locked_until > now:
            raise refused
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            user.failed_logins += 1
            locked = user.failed_logins >= MAX_FAILURES
            if locked:
                user.locked_until = now + LOCKOUT
                user.failed_logins = 0
            s.add(user)
            record(s, actor=system_actor(s), action="user.sign_in_failed", subject=f"user:{username}", at=now,
                   after={"locked": locked})
            s.commit()
            raise refused from None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.failed_logins = 0
        user.locked_until = None
        s.add(user)
        return Actor.of(user)
