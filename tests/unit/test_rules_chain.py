"""The timeline's hash chain: an altered, removed or inserted entry is found, and named."""

from __future__ import annotations

from models.rules.chain import GENESIS, canonical, entry_hash, verify_chain


def _chain(n: int) -> list[tuple[int, str, str, dict]]:
    out, prev = [], GENESIS
    for i in range(1, n + 1):
        payload = {"action": "line.suspended", "subject": f"line:{i}", "after": {"state": "suspended", "价值": "9.00"}}
        h = entry_hash(prev, payload)
        out.append((i, prev, h, payload))
        prev = h
    return out


def test_an_intact_chain_verifies() -> None:
    assert verify_chain(_chain(5)) is None
    assert verify_chain([]) is None


def test_canonical_form_ignores_key_order() -> None:
    assert canonical({"b": 1, "a": {"y": 2, "x": 3}}) == canonical({"a": {"x": 3, "y": 2}, "b": 1})
    assert entry_hash(GENESIS, {"a": 1, "b": 2}) == entry_hash(GENESIS, {"b": 2, "a": 1})


def test_an_altered_entry_is_named() -> None:
    chain = _chain(5)
    i, prev, h, payload = chain[2]
    chain[2] = (i, prev, h, {**payload, "after": {"state": "released"}})
    brk = verify_chain(chain)
    assert brk is not None and brk.entry_id == 3 and "altered" in brk.reason


def test_a_removed_entry_breaks_the_link_of_the_next() -> None:
    chain = _chain(5)
    del chain[1]
    brk = verify_chain(chain)
    assert brk is not None and brk.entry_id == 3 and "link" in brk.reason


def test_a_rehashed_entry_still_breaks_the_link_of_the_next() -> None:
    chain = _chain(4)
    i, prev, _h, payload = chain[1]
    forged = {**payload, "actor": "someone.else"}
    chain[1] = (i, prev, entry_hash(prev, forged), forged)
    brk = verify_chain(chain)
    assert brk is not None and brk.entry_id == 3


def test_the_first_entry_must_start_from_genesis() -> None:
    chain = _chain(2)
    i, _prev, _h, payload = chain[0]
    chain[0] = (i, "f" * 64, entry_hash("f" * 64, payload), payload)
    brk = verify_chain(chain)
    assert brk is not None and brk.entry_id == 1
