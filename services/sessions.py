"""Sign-in sessions of the web app.

A session is a random 256-bit token. The database keeps only its SHA-256, so a copy of the database
cannot be replayed as a sign-in. The token reaches the browser as an HttpOnly cookie set by the app
server (``ui/server.py``): the Streamlit page never hands it to page scripts. To get there, the page
that checked the password creates a one-time *handoff* code (valid one minute, usable once), and the
browser trades it at ``/_yq/session`` for the cookie.

Sessions end after ``IDLE`` without use, after ``ABSOLUTE`` in any case, at sign-out, and when the
account is disabled.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from models.enums import Role
from models.rules.errors import HandoffRefused, InvalidInput, NotFound, PermissionDenied
from models.tables import CustomsOffice, User
from models.text import plain
from models.ui_session import SignInSession
from services.auth import LOCAL_CLIENT, authenticate, same_secret
from services.context import Actor, now_or, record, system_actor
from services.users import DisplayName, EmailStr, Username
from services.unit_of_work import UnitOfWork, given

IDLE = timedelta(hours=2)
ABSOLUTE = timedelta(hours=12)
HANDOFF = timedelta(minutes=1)
_TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most once a minute per session

#: Single sign-on: the groups claim names a role (and, for customs staff, an office).
GROUP_ROLES: dict[str, Role] = {
    "yunque-site-officers": Role.SITE_OFFICER,
    "yunque-ipr-officers": Role.IPR_OFFICER,
    "yunque-managers": Role.MANAGER,
    "yunque-admins": Role.ADMIN,
}
OFFICE_GROUP_PREFIX = "yunque-office-"


@dataclass(frozen=True)
class SignedIn:
    token: str  # keep server-side; the browser gets it only as an HttpOnly cookie
    handoff: str  # one-time code for /_yq/session
    actor: Actor
    expires_at: datetime


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _start(s: Any, user: User, *, via: str, now: datetime, nonce: str | None,
           expires_at: datetime | None = None) -> SignedIn:
    token, handoff = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    row = SignInSession(token_hash=_hash(token), user_id=user.id, via=via, created_at=now,  # type: ignore[arg-type]
                        last_seen_at=now, expires_at=expires_at or now + ABSOLUTE, handoff_hash=_hash(handoff),
                        handoff_expires_at=now + HANDOFF, nonce_hash=_hash(nonce) if nonce else None)
    s.add(row)
    s.flush()
    actor = Actor.of(user)
    record(s, actor=actor, action="session.started", subject=f"user:{user.username}", at=now,
           after={"session": row.id, "via": via})
    return SignedIn(token=token, handoff=handoff, actor=actor, expires_at=row.expires_at)


def sign_in(*, username: str, password: str, client: str = LOCAL_CLIENT, nonce: str | None = None,
            now: datetime | None = None, uow: UnitOfWork | None = None) -> SignedIn:
    """Check the password (argon2id, outside any transaction; rate-limited per client, see
    ``services.auth``) and open a session.

    ``client`` is the network address the attempt comes from; ``nonce`` the browser's pre-sign-in
    nonce cookie: the one-time handoff code of this session can only be traded by a browser
    presenting the same nonce (``exchange_handoff``)."""
    uow = given(uow)
    now = now_or(now)
    username = username.strip()
    if not username:
        raise InvalidInput("username", "is required")
    plain("username", username)
    if not password:
        raise InvalidInput("password", "is required")
    actor = authenticate(username=username, password=password, client=client, nonce=nonce, now=now, uow=uow)
    with uow.transaction() as s:
        user = s.get(User, actor.id)
        if user is None or not user.active:
            raise PermissionDenied(username, "sign in", "wrong user name or password")
        return _start(s, user, via="password", now=now, nonce=nonce)


def resume(*, token: str, now: datetime | None = None, uow: UnitOfWork | None = None) -> Actor:
    """The actor of a live session; ``NotFound`` for an unknown, expired, idle or revoked one."""
    uow = given(uow)
    now = now_or(now)
    if not token:
        raise NotFound("session", "(none)")
    with uow.transaction() as s:
        row = s.exec(select(SignInSession).where(SignInSession.token_hash == _hash(token))).first()
        if row is None or row.revoked_at is not None or row.expires_at <= now or row.last_seen_at + IDLE <= now:
            raise NotFound("session", "(expired)")
        user = s.get(User, row.user_id)
        if user is None or not user.active:
            raise NotFound("session", "(expired)")
        if now - row.last_seen_at >= _TOUCH_EVERY:
            row.last_seen_at = now
            s.add(row)
        return Actor.of(user)


def exchange_handoff(*, code: str, nonce: str | None, now: datetime | None = None,
                     uow: UnitOfWork | None = None) -> tuple[str, datetime]:
    """Trade a one-time handoff code for a new token of the same session (for the cookie).

    The token created at sign-in stays with the Streamlit server; the cookie gets a fresh one so no
    token ever travels through a page script. Only the browser that signed in may trade the code: it
    must present the pre-sign-in nonce the sign-in was bound to, so a link from another site carrying
    someone else's code signs nobody in (login CSRF). A refused code is left as it was."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        row = s.exec(select(SignInSession).where(SignInSession.handoff_hash == _hash(code or "-")).with_for_update()).first()
        if row is None or row.handoff_expires_at is None or row.handoff_expires_at <= now or row.revoked_at is not None:
            raise NotFound("sign-in code", "(expired or used)")
        if not same_secret(row.nonce_hash, _hash(nonce) if nonce else None):
            raise HandoffRefused()
        token = secrets.token_urlsafe(32)
        cookie_row = SignInSession(token_hash=_hash(token), user_id=row.user_id, via=row.via, created_at=now,
                                   last_seen_at=now, expires_at=row.expires_at, origin_id=row.id)
        row.handoff_hash, row.handoff_expires_at = None, None
        s.add(row)
        s.add(cookie_row)
        return token, row.expires_at


def sign_out(*, token: str, now: datetime | None = None, uow: UnitOfWork | None = None) -> int:
    """End every session of the sign-in ``token`` belongs to (the page's and the cookie's); the
    number ended. Unknown or already ended tokens change nothing."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        row = s.exec(select(SignInSession).where(SignInSession.token_hash == _hash(token or "-"))).first()
        if row is None or row.revoked_at is not None:
            return 0
        origin = row.origin_id or row.id
        ended = []
        for r in s.exec(select(SignInSession).where(or_(SignInSession.id == origin, SignInSession.origin_id == origin),
                                                    col(SignInSession.revoked_at).is_(None))):
            r.revoked_at = now
            r.handoff_hash, r.handoff_expires_at = None, None
            s.add(r)
            ended.append(r.id)
        user = s.get(User, row.user_id)
        record(s, actor=Actor.of(user) if user else system_actor(s), action="session.ended",
               subject=f"user:{user.username if user else row.user_id}", at=now, after={"sessions": sorted(ended)})
        return len(ended)


def revoke_user_sessions(s: Any, user_id: int, now: datetime) -> int:
    """End every live session of a user (disabled account, password reset); in the caller's transaction."""
    n = 0
    for row in s.exec(select(SignInSession).where(SignInSession.user_id == user_id, col(SignInSession.revoked_at).is_(None))):
        row.revoked_at = now
        s.add(row)
        n += 1
    return n


def role_from_groups(groups: list[str]) -> tuple[Role, str | None]:
    """(role, office code) named by an identity provider's groups claim; exactly one role group."""
    roles = {GROUP_ROLES[g] for g in groups if g in GROUP_ROLES}
    if len(roles) != 1:
        raise PermissionDenied("(single sign-on)", "sign in",
                               "the groups claim must name exactly one of {groups}", groups=sorted(GROUP_ROLES))
    offices = [g[len(OFFICE_GROUP_PREFIX):] for g in groups if g.startswith(OFFICE_GROUP_PREFIX)]
    return roles.pop(), (offices[0] if len(offices) == 1 else None)


def sso_sign_in(*, claims: dict[str, Any], groups_claim: str = "groups", nonce: str | None = None,
                now: datetime | None = None, uow: UnitOfWork | None = None) -> SignedIn:
    """Open a session for a user signed in by the identity provider (OIDC through ``st.login``).

    The user is matched by e-mail; the role (and office) come from the groups claim every time, so a
    change at the provider takes effect at the next sign-in. Customs staff unknown here are created
    in the office their groups name; nobody else is created from a claim.

    The browser keeps the provider's claims for weeks (``st.login``'s cookie) and the page opens a
    session from them on every visit, so the claims' own time (``auth_time``, else ``iat``) bounds
    the session: it ends ``ABSOLUTE`` after the sign-in at the provider, and older claims are refused
    (the user signs in at the provider again), as a password sign-in would be.

    The claims are checked as an administrator's form would be: the e-mail and the display name like
    a local user's, and the user name made from the e-mail must be a valid local user name."""
    uow = given(uow)
    now = now_or(now)
    email, authenticated_at = _fresh_claims(claims, now)
    raw = claims.get(groups_claim) or []
    groups = [raw] if isinstance(raw, str) else [str(g) for g in raw]
    role, office_code = role_from_groups(groups)
    with uow.transaction() as s:
        who = system_actor(s)
        user = s.exec(select(User).where(col(User.email) == email)).first()
        office = s.exec(select(CustomsOffice).where(CustomsOffice.code == office_code)).first() if office_code else None
        if office_code and office is None:
            raise PermissionDenied(email, "sign in", "unknown customs office {office}", office=office_code)
        if user is None:
            if office is None:
                raise PermissionDenied(email, "sign in", "no account for this e-mail and no office group")
            user = _new_staff(s, who, claims, email, role, office, now)
        if not user.active:
            raise PermissionDenied(email, "sign in", "the account is disabled")
        if user.rights_holder_id is not None or user.consignor_id is not None:
            raise PermissionDenied(email, "sign in", "single sign-on is for customs staff")
        _follow_groups(s, who, user, role, office, now)
        return _start(s, user, via="oidc", now=now, nonce=nonce,
                      expires_at=min(now + ABSOLUTE, authenticated_at + ABSOLUTE) if authenticated_at else None)


def _fresh_claims(claims: dict[str, Any], now: datetime) -> tuple[str, datetime | None]:
    """The claimed e-mail, checked as a local user's, and when the user signed in at the provider; refused when
    that sign-in is older than a session may last."""
    email = str(claims.get("email") or "").strip().lower()
    if not email:
        raise InvalidInput("email", "the identity provider sent no e-mail claim")
    email = _claim(EmailStr, "email", email)
    authenticated_at = _claim_time(claims)
    if authenticated_at is not None and authenticated_at + ABSOLUTE <= now:
        raise PermissionDenied(email, "sign in", "the sign-in at the identity provider is more than {hours} hours "
                                                 "old: sign in with single sign-on again",
                               hours=int(ABSOLUTE.total_seconds() // 3600))
    return email, authenticated_at


def _new_staff(s: Session, who: Actor, claims: dict[str, Any], email: str, role: Role, office: CustomsOffice,
               now: datetime) -> User:
    """A customs officer first seen through single sign-on, named after the e-mail (made unique), with no password."""
    base = _claim(Username, "username", email.split("@")[0][:60])
    name = base
    while s.exec(select(User.id).where(User.username == name)).first() is not None:
        name = f"{base}.{secrets.token_hex(2)}"
    display = _claim(DisplayName, "name", str(claims.get("name") or name)[:200])
    user = User(username=name, display_name=display, role=role.value,
                customs_office_id=office.id, email=email, password_hash=None)
    s.add(user)
    s.flush()
    record(s, actor=who, action="user.created", subject=f"user:{user.username}", at=now,
           after={"role": role.value, "office": office.code, "via": "oidc"})
    return user


def _follow_groups(s: Session, who: Actor, user: User, role: Role, office: CustomsOffice | None, now: datetime) -> None:
    """The provider's groups decide the role and office at every sign-in; a change is recorded."""
    changes: dict[str, Any] = {}
    if user.role != role.value:
        changes["role"] = (user.role, role.value)
        user.role = role.value
    if office is not None and user.customs_office_id != office.id:
        changes["office"] = (user.customs_office_id, office.id)
        user.customs_office_id = office.id
    if changes:
        s.add(user)
        record(s, actor=who, action="user.role_from_groups", subject=f"user:{user.username}", at=now,
               before={k: v[0] for k, v in changes.items()}, after={k: v[1] for k, v in changes.items()})


def _claim(kind: Any, field: str, value: str) -> str:
    """A claim checked by the same rules as the administrator's user form (``services.users``)."""
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(kind).validate_python(value)
    except ValidationError:
        raise InvalidInput(field, "the identity provider sent {value!r}, which is not a valid {claim} here (letters, "
                                  "digits, '.', '_' and '-' for a user name; no control characters)",
                           value=value, claim=field) from None


def _claim_time(claims: dict[str, Any]) -> datetime | None:
    """When the user signed in at the provider (``auth_time``, else the ID token's ``iat``), if said."""
    from datetime import UTC

    for name in ("auth_time", "iat"):
        value = claims.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(name, "the identity provider sent a time that is not a number of seconds")
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as e:
            raise InvalidInput(name, "the identity provider sent a time out of range") from e
    return None
