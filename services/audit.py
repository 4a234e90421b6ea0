"""The audit trail: verifying the timeline's keyed chains, and anchoring their heads outside the database.

Every timeline entry belongs to one chain (its case's, or ``system``) and carries an HMAC under the
audit key, which is not in the database (``YUNQUE_AUDIT_KEY``, or ``var/secrets.json`` for the
embedded default). A checkpoint (every chain's head: chain, number, entry id, hash; signed with the
key) is written to the evidence store at least every minute by the running stack (``flows.checkpoint``)
and on demand (``yunque audit checkpoint``). ``verify_timeline`` finds:

- an entry changed, inserted or deleted inside a chain (its number, link or keyed hash);
- a whole chain rewritten by someone with the database but not the key (the first entry's hash);
- a deleted tail older than the newest checkpoint (the checkpoint's head is gone, or different).
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from models.rules.chain import (
    LEGACY_CHAIN,
    Head,
    KeyedBreak,
    checkpoint_heads,
    checkpoint_problem,
    compare_with_checkpoint,
    make_checkpoint,
    verify_keyed_chain,
    verify_legacy_chain,
)
from models.rules.errors import YunqueError
from models.tables import TimelineEntry
from services.context import audit_key, now_or, timeline_payload
from services.unit_of_work import UnitOfWork, given

CHECKPOINT_PREFIX = "audit/checkpoints/"
LATEST_CHECKPOINT = CHECKPOINT_PREFIX + "latest.json"


class CheckpointUnreadable(YunqueError):
    """The newest checkpoint could not be read from the evidence store (so a deleted tail could not be looked for)."""

    code = "checkpoint-unreadable"

    def __init__(self, key: str, reason: str):
        self.key = key
        self.reason = reason
        super().__init__(f"cannot read the checkpoint {key} from the evidence store: {reason}")


@dataclass(frozen=True)
class AuditResult:
    intact: bool
    entries: int
    broken_at: int | None = None
    reason: str | None = None
    chain: str | None = None
    seq: int | None = None
    chains: int = 0
    checkpoint: dict[str, Any] | None = None
    breaks: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"intact": self.intact, "entries": self.entries, "broken_at": self.broken_at, "reason": self.reason,
                "chain": self.chain, "seq": self.seq, "chains": self.chains, "checkpoint": self.checkpoint,
                "breaks": self.breaks}


# --- checkpoints ----------------------------------------------------------------------------------


def chain_heads(s: Session) -> list[Head]:
    """The newest entry of every chain, as the database holds it now (one statement, one snapshot)."""
    newest = (select(TimelineEntry.chain, func.max(TimelineEntry.seq).label("m"))
              .group_by(TimelineEntry.chain).subquery())
    rows = s.exec(select(TimelineEntry.chain, TimelineEntry.seq, TimelineEntry.id, TimelineEntry.hash)
                  .join(newest, and_(col(TimelineEntry.chain) == newest.c.chain,
                                     col(TimelineEntry.seq) == newest.c.m)))
    return [Head(c, q, i, h) for c, q, i, h in rows]  # type: ignore[arg-type]


def read_checkpoint(*, uow: UnitOfWork | None = None) -> dict[str, Any] | None:
    """The newest checkpoint in the evidence store, or None if none was ever written."""
    from adapters.objectstore import ObjectMissing

    try:
        body = given(uow).store.open(LATEST_CHECKPOINT).read()
    except ObjectMissing:
        return None
    except Exception as e:  # noqa: BLE001 - unreachable store, refused key: said in one line
        raise CheckpointUnreadable(LATEST_CHECKPOINT, f"{type(e).__name__}: {e}") from e
    try:
        doc = json.loads(body)
    except ValueError:
        return {"version": None, "chains": None}  # refused by checkpoint_problem: not ours
    return doc if isinstance(doc, dict) else {"version": None, "chains": None}


def write_checkpoint(*, now: datetime | None = None, only_if_changed: bool = False,
                     uow: UnitOfWork | None = None) -> dict[str, Any] | None:
    """Sign every chain's head and store it (a dated object, and ``latest.json``). Returns the checkpoint
    written, or None when ``only_if_changed`` and the heads are those of the newest checkpoint."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction(readonly=True) as s:
        heads = chain_heads(s)
    if only_if_changed:
        try:
            last = read_checkpoint(uow=uow)
        except CheckpointUnreadable:
            last = None
        if last is not None and checkpoint_problem(uow.settings.audit_key, last) is None and \
                sorted(checkpoint_heads(last), key=lambda h: h.chain) == sorted(heads, key=lambda h: h.chain):
            return None
    doc = make_checkpoint(uow.settings.audit_key, heads, now.isoformat())
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    stamp = now.astimezone(UTC).strftime("%Y/%m/%d/%H%M%S.%fZ")
    st = uow.store
    key = f"{CHECKPOINT_PREFIX}{stamp}.json"
    st.put_stream(key, io.BytesIO(data), content_type="application/json")
    st.put_stream(LATEST_CHECKPOINT, io.BytesIO(data), content_type="application/json")
    return {"key": key, "at": doc["at"], "chains": len(heads), "entries_covered": sum(
        h.seq for h in heads if h.chain != LEGACY_CHAIN), "key_id": doc["key_id"]}


# --- verification ---------------------------------------------------------------------------------


def _rows(batch: int, *, uow: UnitOfWork) -> Iterator[tuple[str, int, int, str, str, dict[str, Any]]]:
    """Every entry as (chain, seq, id, prev_hash, hash, payload), by chain then number, in batches."""
    after: tuple[str, int] | None = None
    with uow.transaction(readonly=True) as s:
        while True:
            q = select(TimelineEntry)
            if after is not None:
                q = q.where(or_(col(TimelineEntry.chain) > after[0],
                                and_(col(TimelineEntry.chain) == after[0], col(TimelineEntry.seq) > after[1])))
            chunk = list(s.exec(q.order_by(col(TimelineEntry.chain), col(TimelineEntry.seq)).limit(batch)))
            if not chunk:
                return
            for e in chunk:
                yield e.chain, e.seq, e.id, e.prev_hash, e.hash, timeline_payload(e)  # type: ignore[misc]
            after = (chunk[-1].chain, chunk[-1].seq)


def verify_timeline(*, batch: int = 5000, anchored: bool = False, uow: UnitOfWork | None = None) -> AuditResult:
    """Verify every chain; with ``anchored``, also against the newest checkpoint in the evidence store.

    Breaks are looked for in every chain; the one reported first is the one of the oldest entry."""
    uow = given(uow)
    secret = uow.settings.audit_key
    checkpoint = read_checkpoint(uow=uow) if anchored else None
    breaks: list[KeyedBreak] = []
    cp_info: dict[str, Any] | None = None
    cp_seq: dict[str, int] = {}
    if checkpoint is not None:
        problem = checkpoint_problem(secret, checkpoint)
        cp_info = {"at": checkpoint.get("at"), "key_id": checkpoint.get("key_id"), "problem": problem}
        if problem is not None:
            breaks.append(KeyedBreak("checkpoint", None, None, f"the newest checkpoint cannot be trusted: {problem}"))
        else:
            cp_seq = {h.chain: h.seq for h in checkpoint_heads(checkpoint)}
            cp_info["chains"] = len(cp_seq)
    count = 0
    newest: dict[str, Head] = {}
    at_cp: dict[str, tuple[int, str] | None] = {}

    def watched(chain: str, group: Iterator[tuple[str, int, int, str, str, dict[str, Any]]]) -> Iterator[tuple]:
        nonlocal count
        for _c, seq, entry_id, prev, h, payload in group:
            count += 1
            newest[chain] = Head(chain, seq, entry_id, h)
            if cp_seq.get(chain) == seq:
                at_cp[chain] = (entry_id, h)
            yield entry_id, seq, prev, h, payload

    for chain, group in itertools.groupby(_rows(batch, uow=uow), key=lambda r: r[0]):
        rows = watched(chain, group)
        if chain == LEGACY_CHAIN:
            brk = verify_legacy_chain((i, p, h, pl) for i, _q, p, h, pl in rows)
        else:
            brk = verify_keyed_chain(secret, chain, rows)
        if brk is not None:
            breaks.append(brk)
        for _ in rows:  # the rest of a broken chain still counts, and may hold the checkpointed head
            pass
    if cp_seq:
        brk = compare_with_checkpoint(checkpoint_heads(checkpoint), {c: at_cp.get(c) for c in cp_seq},  # type: ignore[arg-type]
                                      newest, str(checkpoint.get("at")))  # type: ignore[union-attr]
        if brk is not None:
            breaks.append(brk)
    if not breaks:
        return AuditResult(True, count, chains=len(newest), checkpoint=cp_info)
    first = min(breaks, key=lambda b: (b.entry_id is None, b.entry_id or 0))
    return AuditResult(False, count, first.entry_id, first.reason, first.chain, first.seq, chains=len(newest),
                       checkpoint=cp_info, breaks=[b.as_dict() for b in breaks[:100]])


def verify_case_chain(s: Session, case_id: int) -> KeyedBreak | None:
    """One case's chain (for ``evidence verify``): numbers, links and keyed hashes."""
    from models.rules.chain import chain_of

    chain = chain_of(case_id)
    rows = s.exec(select(TimelineEntry).where(TimelineEntry.chain == chain).order_by(col(TimelineEntry.seq)))
    return verify_keyed_chain(audit_key(s), chain, ((e.id, e.seq, e.prev_hash, e.hash, timeline_payload(e))  # type: ignore[misc]
                                                   for e in rows))
