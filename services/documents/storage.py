"""The evidence store the documents and the offices' seals are kept in, read back only when their bytes
still have the hash recorded when they were stored."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlmodel import Session

from adapters.objectstore import ObjectStore
from models.tables import Case, CustomsOffice


class DocumentAltered(Exception):
    """The stored object no longer has the hash recorded at issue: the evidence store was tampered with."""

    def __init__(self, number: str, recorded: str, found: str):
        self.number, self.recorded, self.found = number, recorded, found
        super().__init__(f"document {number}: the stored file's SHA-256 {found} differs from {recorded} recorded at issue")


class StoreMismatch(Exception):
    """The object store reported another hash or size than the bytes handed to it."""

    def __init__(self, key: str):
        self.key = key
        super().__init__(f"the evidence store stored {key} with another hash or size than was sent")


def read_stored(store: ObjectStore, *, key: str, number: str, sha256: str) -> bytes:
    """The stored bytes, checked against the hash recorded at issue."""
    f = store.open(key)
    try:
        data = f.read()
    finally:
        f.close()
    found = hashlib.sha256(data).hexdigest()
    if found != sha256:
        raise DocumentAltered(number, sha256, found)
    return data
@dataclass(frozen=True)
class SealRef:
    """Where an office's seal is stored, and its hash at the time it was set."""

    key: str
    sha256: str


def seal_ref(s: Session, case_id: int) -> SealRef | None:
    """The seal of the office of a case; ``None`` if the office has none (its documents print none)."""
    case = s.get(Case, case_id)
    office = s.get(CustomsOffice, case.customs_office_id) if case else None
    if office is None or office.seal_key is None or office.seal_sha256 is None:
        return None
    return SealRef(office.seal_key, office.seal_sha256)


def load_seal(store: ObjectStore, ref: SealRef | None) -> bytes | None:
    """The seal's bytes, checked against the hash recorded when it was set (read outside a write transaction)."""
    if ref is None:
        return None
    return read_stored(store, key=ref.key, number=f"(seal {ref.key})", sha256=ref.sha256)
