"""Verifying the timeline's hash chain: is the record intact, and where does it break?"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from adapters.db import session_scope
from models.rules.chain import verify_chain
from models.tables import TimelineEntry
from services.context import timeline_payload


@dataclass(frozen=True)
class AuditResult:
    intact: bool
    entries: int
    broken_at: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"intact": self.intact, "entries": self.entries, "broken_at": self.broken_at, "reason": self.reason}


def verify_timeline(*, batch: int = 5000) -> AuditResult:
    count = 0

    def rows():  # streamed in batches so a long timeline never sits in memory at once
        nonlocal count
        last = 0
        with session_scope(readonly=True) as s:
            while True:
                chunk = list(s.exec(select(TimelineEntry).where(TimelineEntry.id > last).order_by(TimelineEntry.id).limit(batch)))
                if not chunk:
                    return
                for e in chunk:
                    count += 1
                    yield e.id, e.prev_hash, e.hash, timeline_payload(e)
                last = chunk[-1].id  # type: ignore[assignment]

    brk = verify_chain(rows())
    if brk is None:
        return AuditResult(True, count)
    return AuditResult(False, count, brk.entry_id, brk.reason)
