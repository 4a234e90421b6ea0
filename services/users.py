"""Administration: users and rights-holder organisations. Every change is on the timeline.

Passwords are typed by the administrator (or the user) and stored only as argon2id hashes; nothing
here prints or returns a password."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlmodel import Session, col, select

from adapters.db import lock_name
from models.enums import Role
from models.rules.errors import InvalidInput, NotFound
from models.tables import Consignor, CustomsOffice, RightsHolder, User
from models.text import PlainText, plain
from services.auth import hash_password
from services.context import Actor, load_actor, now_or, record, require_role
from services.unit_of_work import UnitOfWork, given

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), PlainText]
Username = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-z0-9][a-z0-9._-]{2,79}$")]
Password = Annotated[str, StringConstraints(min_length=10, max_length=200)]
Locale = Literal["zh", "en"]
EmailStr = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=320,
                                            pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
#: A person's name as shown to others: no control characters, no bidi overrides (single sign-on claims).
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                               pattern="^[^\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]+$")]
PEOPLE_ROLES = [r for r in Role if r != Role.SYSTEM]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Membership(_In):
    """A role and the one organisation it belongs to."""

    role: Role
    customs_office: str | None = None  # office code, for customs roles
    rights_holder_id: int | None = None
    consignor_id: int | None = None

    @model_validator(mode="after")
    def _one_organisation(self) -> Membership:
        if self.role == Role.SYSTEM:
            raise ValueError("role: the system account is not managed here")
        if self.role.is_customs and not self.customs_office:
            raise ValueError("customs_office: a customs user needs an office")
        if self.role == Role.RIGHTS_HOLDER and self.rights_holder_id is None:
            raise ValueError("rights_holder_id: a rights-holder user needs a rights holder")
        if self.role == Role.CONSIGNOR and self.consignor_id is None:
            raise ValueError("consignor_id: a consignor user needs a consignor")
        return self


class UserIn(Membership):
    username: Username
    display_name: Name
    email: EmailStr | None = None
    locale: Locale = "zh"
    password: Password


class RightsHolderIn(_In):
    name: Name
    country: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80), PlainText] = ""
    contact_emails: list[EmailStr] = Field(min_length=1, max_length=10)
    agent: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), PlainText] | None = None


class UserOut(BaseModel):
    username: str
    display_name: str
    role: str
    organisation: str  # the customs office's English name, the rights holder's or consignor's own
    customs_office: str | None = None  # the office's code, for customs staff (the UI names it in its language)
    email: str | None
    locale: str
    active: bool
    locked: bool


class OrganisationsOut(BaseModel):
    customs_offices: list[dict[str, str]]
    rights_holders: list[dict[str, object]]
    consignors: list[dict[str, object]]


def _admin(s: Session, actor: str) -> Actor:
    who = load_actor(s, actor)
    require_role(who, "administer users", Role.ADMIN)
    return who


def _org_name(s: Session, u: User) -> str:
    if u.customs_office_id:
        o = s.get(CustomsOffice, u.customs_office_id)
        return o.name_en if o else ""
    if u.rights_holder_id:
        h = s.get(RightsHolder, u.rights_holder_id)
        return h.name if h else ""
    if u.consignor_id:
        c = s.get(Consignor, u.consignor_id)
        return c.name if c else ""
    return ""


def _out(s: Session, u: User, now: datetime, locked: dict[str, str] | None = None) -> UserOut:
    from services.auth import locked_scopes

    locked = locked if locked is not None else locked_scopes(s, [u.username], now)
    office = s.get(CustomsOffice, u.customs_office_id) if u.customs_office_id else None
    return UserOut(username=u.username, display_name=u.display_name, role=u.role, organisation=_org_name(s, u),
                   customs_office=office.code if office else None, email=u.email, locale=u.locale, active=u.active,
                   locked=u.username in locked or (u.locked_until is not None and u.locked_until > now))


def _apply_membership(s: Session, user: User, m: Membership) -> None:
    user.role = m.role.value
    user.customs_office_id = user.rights_holder_id = user.consignor_id = None
    if m.role.is_customs:
        office = s.exec(select(CustomsOffice).where(CustomsOffice.code == m.customs_office)).first()
        if office is None:
            raise InvalidInput("customs_office", "unknown office {office!r}", office=m.customs_office)
        user.customs_office_id = office.id
    elif m.role == Role.RIGHTS_HOLDER:
        if s.get(RightsHolder, m.rights_holder_id) is None:
            raise InvalidInput("rights_holder_id", "unknown rights holder {rights_holder}", rights_holder=m.rights_holder_id)
        user.rights_holder_id = m.rights_holder_id
    else:
        if s.get(Consignor, m.consignor_id) is None:
            raise InvalidInput("consignor_id", "unknown consignor {consignor}", consignor=m.consignor_id)
        user.consignor_id = m.consignor_id


def _user(s: Session, username: str) -> User:
    u = s.exec(select(User).where(User.username == username).with_for_update()).first()
    if u is None or u.role == Role.SYSTEM:
        raise NotFound("user", username)
    return u


def list_users(*, actor: str, now: datetime | None = None, uow: UnitOfWork | None = None) -> list[UserOut]:
    uow = given(uow)
    now = now_or(now)
    with uow.transaction(readonly=True) as s:
        _admin(s, actor)
        from services.auth import locked_scopes

        users = list(s.exec(select(User).where(User.role != Role.SYSTEM.value).order_by(User.role, User.username)))
        locked = locked_scopes(s, [u.username for u in users], now)
        return [_out(s, u, now, locked) for u in users]


def list_organisations(*, actor: str, uow: UnitOfWork | None = None) -> OrganisationsOut:
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        _admin(s, actor)
        return OrganisationsOut(
            customs_offices=[{"code": o.code, "name": o.name, "name_en": o.name_en}
                             for o in s.exec(select(CustomsOffice).order_by(CustomsOffice.code))],
            rights_holders=[{"id": h.id, "name": h.name, "country": h.country, "contact_emails": ", ".join(h.contact_emails),
                             "agent": h.agent or ""} for h in s.exec(select(RightsHolder).order_by(RightsHolder.name))],
            consignors=[{"id": c.id, "name": c.name, "uscc": c.uscc} for c in s.exec(select(Consignor).order_by(Consignor.name))],
        )


def create_user(*, actor: str, user: UserIn | dict, now: datetime | None = None,
                uow: UnitOfWork | None = None) -> UserOut:
    uow = given(uow)
    data = user if isinstance(user, UserIn) else UserIn.model_validate(user)
    now = now_or(now)
    with uow.transaction() as s:
        who = _admin(s, actor)
        lock_name(s, f"username:{data.username}")  # two administrators creating one name at once: one user
        if s.exec(select(User.id).where(User.username == data.username)).first() is not None:
            raise InvalidInput("username", "{username} is taken", username=data.username)
        if data.email and s.exec(select(User.id).where(col(User.email) == str(data.email).lower())).first() is not None:
            raise InvalidInput("email", "{email} belongs to another user", email=data.email)
        u = User(username=data.username, display_name=data.display_name, role=data.role.value,
                 email=str(data.email).lower() if data.email else None, locale=data.locale,
                 password_hash=hash_password(data.password), created_at=now)
        _apply_membership(s, u, data)
        s.add(u)
        s.flush()
        out = _out(s, u, now)
        record(s, actor=who, action="user.created", subject=f"user:{u.username}", at=now,
               after={"role": u.role, "organisation": out.organisation, "email": u.email})
        return out


def update_user(*, actor: str, username: str, membership: Membership | dict, display_name: str | None = None,
                now: datetime | None = None, uow: UnitOfWork | None = None) -> UserOut:
    """Change a user's role and organisation (and name)."""
    uow = given(uow)
    m = membership if isinstance(membership, Membership) else Membership.model_validate(membership)
    now = now_or(now)
    with uow.transaction() as s:
        who = _admin(s, actor)
        u = _user(s, username)
        before = {"role": u.role, "organisation": _org_name(s, u), "display_name": u.display_name}
        _apply_membership(s, u, m)
        if display_name is not None:
            if not display_name.strip():
                raise InvalidInput("display_name", "must not be empty")
            plain("display_name", display_name)
            u.display_name = display_name.strip()[:200]
        s.add(u)
        s.flush()
        out = _out(s, u, now)
        if u.id == who.id and u.role != Role.ADMIN:
            raise InvalidInput("role", "an administrator cannot take away their own administration role")
        record(s, actor=who, action="user.updated", subject=f"user:{u.username}", at=now, before=before,
               after={"role": u.role, "organisation": out.organisation, "display_name": u.display_name})
        return out


def set_user_active(*, actor: str, username: str, active: bool, now: datetime | None = None,
                    uow: UnitOfWork | None = None) -> UserOut:
    """Disable (or enable again) an account; disabling ends its sessions at once."""
    from services.sessions import revoke_user_sessions
    uow = given(uow)

    now = now_or(now)
    with uow.transaction() as s:
        who = _admin(s, actor)
        u = _user(s, username)
        if u.id == who.id and not active:
            raise InvalidInput("username", "an administrator cannot disable their own account")
        before = u.active
        u.active = active
        s.add(u)
        ended = revoke_user_sessions(s, u.id, now) if not active else 0  # type: ignore[arg-type]
        record(s, actor=who, action="user.enabled" if active else "user.disabled", subject=f"user:{u.username}",
               at=now, before={"active": before}, after={"active": active, "sessions_ended": ended})
        return _out(s, u, now)


def reset_password(*, actor: str, username: str, new_password: str, now: datetime | None = None,
                   uow: UnitOfWork | None = None) -> UserOut:
    """Set a new password chosen by the administrator; unlocks the account and ends its sessions."""
    from services.sessions import revoke_user_sessions
    uow = given(uow)

    now = now_or(now)
    hashed = hash_password(new_password)
    with uow.transaction() as s:
        who = _admin(s, actor)
        u = _user(s, username)
        u.password_hash, u.failed_logins, u.locked_until = hashed, 0, None
        s.add(u)
        ended = revoke_user_sessions(s, u.id, now)  # type: ignore[arg-type]
        record(s, actor=who, action="user.password_reset", subject=f"user:{u.username}", at=now,
               after={"sessions_ended": ended})
        return _out(s, u, now)


def create_rights_holder(*, actor: str, holder: RightsHolderIn | dict, now: datetime | None = None,
                         uow: UnitOfWork | None = None) -> dict[str, object]:
    uow = given(uow)
    data = holder if isinstance(holder, RightsHolderIn) else RightsHolderIn.model_validate(holder)
    now = now_or(now)
    with uow.transaction() as s:
        who = _admin(s, actor)
        if s.exec(select(RightsHolder.id).where(RightsHolder.name == data.name)).first() is not None:
            raise InvalidInput("name", "a rights holder named {name!r} exists", name=data.name)
        h = RightsHolder(name=data.name, country=data.country, contact_emails=[str(e).lower() for e in data.contact_emails],
                         agent=data.agent or None, created_at=now)
        s.add(h)
        s.flush()
        record(s, actor=who, action="rights_holder.created", subject=f"rights_holder:{h.id}", at=now,
               after={"name": h.name, "country": h.country, "contact_emails": h.contact_emails, "agent": h.agent})
        return {"id": h.id, "name": h.name}


def set_locale(*, actor: str, locale: str, now: datetime | None = None, uow: UnitOfWork | None = None) -> str:
    """A user chooses the language of the app for themselves (zh or en)."""
    uow = given(uow)
    if locale not in ("zh", "en"):
        raise InvalidInput("locale", "must be zh or en")
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        u = s.get(User, who.id)
        assert u is not None
        if u.locale != locale:
            before = u.locale
            u.locale = locale
            s.add(u)
            record(s, actor=who, action="user.locale", subject=f"user:{u.username}", at=now,
                   before={"locale": before}, after={"locale": locale})
        return locale


def colleagues(*, actor: str, role: str | None = None, uow: UnitOfWork | None = None) -> list[dict[str, str]]:
    """Active customs users of the caller's office (to hand a task over), optionally of one role."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        if not who.is_customs or who.role == Role.SYSTEM:
            raise NotFound("office", "(none)")
        q = select(User).where(User.customs_office_id == who.customs_office_id, User.active == True)  # noqa: E712
        if role:
            q = q.where(User.role == role)
        return [{"username": u.username, "display_name": u.display_name, "role": u.role}
                for u in s.exec(q.order_by(User.username))]


def display_names(*, actor: str, usernames: list[str], uow: UnitOfWork | None = None) -> dict[str, str]:
    """The names people go by, for the usernames a page shows as whoever acted (a timeline, a task's
    history, who answered a notice): any signed-in user may ask, as they already see the usernames. An
    unknown username is left out."""
    uow = given(uow)
    wanted = sorted({u for u in usernames if isinstance(u, str) and u and "\x00" not in u})[:500]
    with uow.transaction(readonly=True) as s:
        load_actor(s, actor)
        if not wanted:
            return {}
        return dict(s.exec(select(User.username, User.display_name).where(col(User.username).in_(wanted))).all())
