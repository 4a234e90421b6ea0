"""The timeline's hash chains: each entry hashes the one before it, so an edit shows."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

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


# --- the keyed chains (one per case, one for the rest) ----------------------------------------------
#
# Each entry carries ``chain`` ("case:<id>" or "system") and ``seq`` (1, 2, 3... within its chain) and
# its ``hash`` is an HMAC-SHA256, under a key kept outside the database, of the chain, the position,
# the previous entry's hash and the entry's content. Someone who can write the database but does not
# hold the key cannot make an entry that verifies, so a rewrite of the whole chain shows at its first
# entry. Entries written before chains were keyed stay in the frozen ``legacy`` chain, verified the old
# way (unkeyed SHA-256 in id order) and anchored from the first checkpoint on.

SYSTEM_CHAIN = "system"
LEGACY_CHAIN = "legacy"
CHECKPOINT_VERSION = 1


def chain_of(case_id: int | None) -> str:
    """The chain an entry belongs to: its case's, or the system's."""
    return f"case:{case_id}" if case_id is not None else SYSTEM_CHAIN


def derive_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose (entries, checkpoints), so one secret never signs two kinds of thing."""
    return hmac.new(secret.encode("utf-8"), f"yunque-audit-v1:{purpose}".encode(), hashlib.sha256).digest()


def key_id(secret: str) -> str:
    """A short public name of the key (never the key): says which key signed a checkpoint."""
    return hashlib.sha256(derive_key(secret, "key-id")).hexdigest()[:12]


def entry_mac(secret: str, chain: str, seq: int, prev_hash: str, payload: Mapping[str, object]) -> str:
    message = f"{chain}\n{seq}\n{prev_hash}\n{canonical(payload)}"
    return hmac.new(derive_key(secret, "entry"), message.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class KeyedBreak:
    chain: str
    seq: int | None
    entry_id: int | None
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"chain": self.chain, "seq": self.seq, "entry_id": self.entry_id, "reason": self.reason}


def verify_keyed_chain(secret: str, chain: str,
                       entries: Iterable[tuple[int, int, str, str, Mapping[str, object]]]) -> KeyedBreak | None:
    """One chain's entries as (id, seq, prev_hash, hash, payload), in seq order. The first break, or None."""
    expected_prev, expected_seq = GENESIS, 1
    for entry_id, seq, prev_hash, stored_hash, payload in entries:
        if seq != expected_seq:
            what = "missing" if seq > expected_seq else "repeated"
            return KeyedBreak(chain, seq, entry_id, f"it is number {seq} of chain {chain} but {expected_seq} was "
                                                    f"expected (an entry before it is {what}: removed or inserted)")
        if prev_hash != expected_prev:
            return KeyedBreak(chain, seq, entry_id, "its link to the previous entry does not match "
                                                    "(an entry was removed, inserted or rewritten)")
        if not hmac.compare_digest(entry_mac(secret, chain, seq, prev_hash, payload), stored_hash):
            return KeyedBreak(chain, seq, entry_id, "its content does not match its keyed hash (the entry was "
                                                    "altered, or written by someone without the audit key)")
        expected_prev, expected_seq = stored_hash, seq + 1
    return None


def verify_legacy_chain(entries: Iterable[tuple[int, str, str, Mapping[str, object]]]) -> KeyedBreak | None:
    brk = verify_chain(entries)
    return None if brk is None else KeyedBreak(LEGACY_CHAIN, brk.entry_id, brk.entry_id, brk.reason)


# --- checkpoints: every chain's head, signed, kept outside the database -------------------------------


@dataclass(frozen=True)
class Head:
    """The newest entry of a chain: its position (the count, for a keyed chain), id and hash."""

    chain: str
    seq: int
    entry_id: int
    hash: str

    def as_list(self) -> list[object]:
        return [self.chain, self.seq, self.entry_id, self.hash]


def sign(secret: str, body: Mapping[str, object]) -> str:
    return hmac.new(derive_key(secret, "checkpoint"), canonical(body).encode("utf-8"), hashlib.sha256).hexdigest()


def make_checkpoint(secret: str, heads: Iterable[Head], at: str) -> dict[str, object]:
    """The signed document: ``at`` (ISO time), every chain's head, the key's id and the signature."""
    body: dict[str, object] = {"version": CHECKPOINT_VERSION, "at": at, "key_id": key_id(secret),
                               "chains": [h.as_list() for h in sorted(heads, key=lambda h: h.chain)]}
    return {**body, "signature": sign(secret, body)}


def checkpoint_problem(secret: str, doc: Mapping[str, object]) -> str | None:
    """Why a checkpoint cannot be trusted (not signed with this key, malformed), or None."""
    if doc.get("version") != CHECKPOINT_VERSION or not isinstance(doc.get("chains"), list):
        return "it is not a checkpoint Yunque writes"
    body = {k: v for k, v in doc.items() if k != "signature"}
    if not hmac.compare_digest(sign(secret, body), str(doc.get("signature", ""))):
        if doc.get("key_id") != key_id(secret):
            return f"it was signed with another key ({doc.get('key_id')}, this one is {key_id(secret)})"
        return "its signature does not match its content (it was altered)"
    return None


def checkpoint_heads(doc: Mapping[str, object]) -> list[Head]:
    return [Head(str(c), int(s), int(i), str(h)) for c, s, i, h in doc["chains"]]  # type: ignore[union-attr,misc]


def compare_with_checkpoint(heads: Iterable[Head], at_checkpoint_seq: Mapping[str, tuple[int, str] | None],
                            newest: Mapping[str, Head], when: str) -> KeyedBreak | None:
    """Is every head the checkpoint recorded still there, unchanged? ``at_checkpoint_seq`` is what the
    database holds at each chain's checkpointed position (id, hash), ``newest`` each chain's head now."""
    found: list[KeyedBreak] = []
    for h in heads:
        now = at_checkpoint_seq.get(h.chain)
        if now is None:
            last = newest.get(h.chain)
            first = min(last.seq + 1, h.seq) if last else 1
            tail = (f"it now ends at number {last.seq} (entry {last.entry_id})" if last
                    else "the chain has no entries left")
            found.append(KeyedBreak(h.chain, first, h.entry_id,
                                    f"entries {first} to {h.seq} of chain {h.chain} were deleted: the checkpoint of "
                                    f"{when} recorded {h.seq} ending with entry {h.entry_id}; {tail}"))
        elif now != (h.entry_id, h.hash):
            found.append(KeyedBreak(h.chain, h.seq, h.entry_id,
                                    f"chain {h.chain} was rewritten: at number {h.seq} the checkpoint of {when} "
                                    f"recorded entry {h.entry_id} with another hash"))
    if not found:
        return None
    return min(found, key=lambda b: b.entry_id or 0)


# --- the order of acts ----------------------------------------------------------------------------------

#: How far an act may be dated before the case's last act: a fact measured a moment before it is recorded
#: (a mail server's acceptance, while another notice of the case was answered) or clocks of two machines
#: a little apart. Anything earlier is backdating and is refused.
ACT_TIME_ALLOWANCE = timedelta(minutes=2)


def dated_before_last_act(at: datetime, last_act: datetime | None, allowance: timedelta = ACT_TIME_ALLOWANCE) -> bool:
    return last_act is not None and at < last_act - allowance
