"""What every service needs: who acts, the timeline, idempotency keys, numbering, tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from adapters.db import lock_chains, lock_name
from models.enums import Role
from models.rules.chain import GENESIS, chain_of, dated_before_last_act, entry_mac
from models.rules.errors import NotFound, PermissionDenied
from models.tables import IdempotencyRecord, OutboxEvent, Sequence, Task, TimelineEntry, User
from models.types import utcnow

SYSTEM_USERNAME = "system"


@dataclass(frozen=True)
class Actor:
    """Who acts: loaded from the database for every call, never trusted from the caller."""

    id: int
    username: str
    display_name: str
    role: Role
    customs_office_id: int | None = None
    rights_holder_id: int | None = None
    consignor_id: int | None = None
    locale: str = "zh"

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(
            id=user.id,  # type: ignore[arg-type]
            username=user.username,
            display_name=user.display_name,
            role=Role(user.role),
            customs_office_id=user.customs_office_id,
            rights_holder_id=user.rights_holder_id,
            consignor_id=user.consignor_id,
            locale=user.locale,
        )

    @property
    def is_customs(self) -> bool:
        return self.role.is_customs


def load_actor(session: Session, username: str) -> Actor:
    if not isinstance(username, str) or "\x00" in username:  # no such user; PostgreSQL would refuse the query
        raise NotFound("user", repr(username))
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound("user", username)
    if not user.active:
        raise PermissionDenied(username, "act", "the account is disabled")
    return Actor.of(user)


def system_actor(session: Session) -> Actor:
    user = session.exec(select(User).where(User.username == SYSTEM_USERNAME)).first()
    if user is None:
        lock_name(session, f"user:{SYSTEM_USERNAME}")  # first use: created once by concurrent callers
        user = session.exec(select(User).where(User.username == SYSTEM_USERNAME)).first()
    if user is None:
        user = User(username=SYSTEM_USERNAME, display_name="Yunque (system)", role=Role.SYSTEM)
        session.add(user)
        session.flush()
    return Actor.of(user)


def require_role(actor: Actor, action: str, *roles: Role) -> None:
    if actor.role not in roles:
        raise PermissionDenied(actor.username, action, "only {roles} may", roles=list(roles))


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    subject: str,
    at: datetime,
    case_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> TimelineEntry:
    """Append one entry to its chain (the case's, or the system's), keyed with the audit key.

    On PostgreSQL the chain's lock (``adapters.db.lock_chains``) orders the appends: writes to different
    cases do not wait for each other, two writes to one case append one after the other. It is taken
    before the chain's last entry is read and before anything is flushed, so changes made earlier in the
    transaction lock their rows only after it (usually the session already holds it: the case's rows it
    locked or changed took it first, see ``adapters.db``). A deadlock PostgreSQL breaks rolls the whole
    action back and is raised as ``LockContention``, to be tried again; nothing of it is written.

    A person's act of a case is never dated before the case's last act (``InvalidInput`` naming ``now``)."""
    chain = chain_of(case_id)
    lock_chains(session, [chain])
    last = session.exec(select(TimelineEntry.hash, TimelineEntry.seq, TimelineEntry.at)
                        .where(TimelineEntry.chain == chain)
                        .order_by(TimelineEntry.seq.desc()).limit(1)).first()  # type: ignore[attr-defined]
    prev, seq = (last[0], last[1] + 1) if last else (GENESIS, 1)
    # the case's last act before this transaction: the entries of one action (a service by hand recorded
    # now, and the notice served at the hour it was handed over) may be dated apart, never before it
    floors = session.info.setdefault("yunque_chain_floor", {})
    floor = floors.setdefault(chain, last[2] if last else None)
    # the system's own steps (follow-ups, deadline releases) are dated by the clock and cannot be
    # backdated; after a replayed act dated ahead of the clock (tests, explicit replay) they still run
    if case_id is not None and actor.role != Role.SYSTEM and dated_before_last_act(at, floor):
        from models.rules.errors import InvalidInput

        raise InvalidInput("now", "{at} is before the case's last act ({floor}); an act is never dated before it",
                           at=at, floor=floor)
    entry = TimelineEntry(
        case_id=case_id,
        at=at,
        actor_id=actor.id,
        actor=actor.username,
        actor_role=actor.role.value,
        action=action,
        subject=subject,
        before=_jsonable(before),
        after=_jsonable(after),
        prev_hash=prev,
        hash="",
        chain=chain,
        seq=seq,
    )
    entry.hash = entry_mac(audit_key(session), chain, seq, prev, timeline_payload(entry))
    session.add(entry)
    session.flush()
    return entry


def audit_key(session: Session) -> str:
    """The audit trail's key (``YUNQUE_AUDIT_KEY``, or generated into ``var/secrets.json``) of the unit of work
    that opened ``session``; never stored in the database."""
    from services.unit_of_work import settings_of

    return settings_of(session).audit_key


def timeline_payload(e: TimelineEntry) -> dict[str, Any]:
    return {
        "case_id": e.case_id,
        "at": _iso(e.at),
        "actor": e.actor,
        "actor_role": e.actor_role,
        "action": e.action,
        "subject": e.subject,
        "before": e.before,
        "after": e.after,
    }


def _iso(dt: datetime) -> str:
    from datetime import UTC

    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _jsonable(d: dict[str, Any] | None) -> dict[str, Any] | None:
    if d is None:
        return None
    import json

    return json.loads(json.dumps(d, default=str, ensure_ascii=False))


def replay(session: Session, key: str | None, action: str) -> dict[str, Any] | None:
    """The stored result if this action was already done under ``key``."""
    if not key:
        return None
    lock_name(session, f"idempotency:{key}")  # the same call sent twice at once: the second waits, then replays
    rec = session.get(IdempotencyRecord, key)
    if rec is None:
        return None
    if rec.action != action:
        from models.rules.errors import InvalidInput

        raise InvalidInput("idempotency_key", "already used for a different action ({used_for})", used_for=rec.action)
    return rec.result


def remember(session: Session, key: str | None, action: str, result: dict[str, Any]) -> None:
    if key:
        session.add(IdempotencyRecord(key=key, action=action, result=_jsonable(result) or {}))


def next_number(session: Session, name: str) -> int:
    """The next value of a named counter, taken under a row lock (and a name lock while it is created)."""
    lock_name(session, f"sequence:{name}")
    seq = session.exec(select(Sequence).where(Sequence.name == name).with_for_update()).first()
    if seq is None:
        seq = Sequence(name=name, value=0)
        session.add(seq)
    seq.value += 1
    session.flush()
    return seq.value


def open_task(
    session: Session,
    *,
    kind: str,
    case_id: int | None,
    customs_office_id: int | None,
    candidate_group: Role,
    title: str,
    due_at: datetime | None,
    priority: int = 50,
    notice_id: int | None = None,
    viewing_id: int | None = None,
    line_id: int | None = None,
    now: datetime | None = None,
) -> Task:
    task = Task(
        kind=kind,
        case_id=case_id,
        customs_office_id=customs_office_id,
        candidate_group=candidate_group.value,
        title=title,
        due_at=due_at,
        priority=priority,
        notice_id=notice_id,
        viewing_id=viewing_id,
        line_id=line_id,
        created_at=now or utcnow(),
    )
    session.add(task)
    session.flush()
    return task


def now_or(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        from models.rules.errors import InvalidInput

        raise InvalidInput("now", "must carry a timezone")
    return now


def publish(s: Session, *, topic: str, case_id: int | None, payload: dict[str, Any], at: datetime) -> OutboxEvent:
    """Queue an event for the process in the same transaction as the action (transactional outbox)."""
    ev = OutboxEvent(topic=topic, case_id=case_id, payload=_jsonable(payload) or {}, created_at=at)
    s.add(ev)
    s.flush()
    return ev
