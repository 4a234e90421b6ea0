"""The timeline's hash chain: each entry hashes the one before it, so an edit shows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

GENESIS = "0" * 64


def canonical(payload: Mapping[str, object]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(prev_hash: str, payload: Mapping[str, object]) -> str:
    return hashlib.sha256((prev_hash + "\n" + canonical(payload)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    reason: str


def verify_chain(entries: Iterable[tuple[int, str, str, Mapping[str, object]]]) -> ChainBreak | None:
    """Entries as (id, prev_hash, hash, payload), in order. Returns the first break, or None."""
    expected_prev = GENESIS
    for entry_id, prev_hash, stored_hash, payload in entries:
        if prev_hash != expected_prev:
            return ChainBreak(entry_id, "its link to the previous entry does not match (an entry was removed or inserted)")
        if entry_hash(prev_hash, payload) != stored_hash:
            return ChainBreak(entry_id, "its content does not match its hash (the entry was altered)")
        expected_prev = stored_hash
    return None
