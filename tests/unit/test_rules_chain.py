"""The timeline's hash chains: an altered, removed, inserted or re-keyed entry is found, and named; checkpoints
anchor each chain's head."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.rules.chain import (
    GENESIS,
    Head,
    canonical,
    chain_of,
    checkpoint_heads,
    checkpoint_problem,
    compare_with_checkpoint,
    dated_before_last_act,
    entry_hash,
    entry_mac,
    make_checkpoint,
    verify_chain,
    verify_keyed_chain,
)


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


# --- keyed chains and checkpoints ----------------------------------------------------------------------

KEY = "k" * 40


def _keyed(n: int, chain: str = "case:7", key: str = KEY) -> list[tuple[int, int, str, str, dict]]:
    out, prev = [], GENESIS
    for seq in range(1, n + 1):
        payload = {"action": "notice.answered", "subject": f"notice:{seq}", "after": {"verdict": "infringing"}}
        h = entry_mac(key, chain, seq, prev, payload)
        out.append((100 + seq, seq, prev, h, payload))
        prev = h
    return out


def test_entries_without_a_case_go_to_the_system_chain() -> None:
    assert chain_of(12) == "case:12" and chain_of(None) == "system"


def test_an_intact_keyed_chain_verifies() -> None:
    assert verify_keyed_chain(KEY, "case:7", _keyed(6)) is None
    assert verify_keyed_chain(KEY, "case:7", []) is None


def test_the_same_entry_in_another_chain_or_position_has_another_hash() -> None:
    payload = {"action": "a"}
    assert entry_mac(KEY, "case:1", 1, GENESIS, payload) != entry_mac(KEY, "case:2", 1, GENESIS, payload)
    assert entry_mac(KEY, "case:1", 1, GENESIS, payload) != entry_mac(KEY, "case:1", 2, GENESIS, payload)


def test_a_changed_verdict_rehashed_with_the_unkeyed_function_is_named() -> None:
    chain = _keyed(4)
    i, seq, prev, _h, payload = chain[1]
    forged = {**payload, "after": {"verdict": "not-infringing"}}
    chain[1] = (i, seq, prev, entry_hash(prev, forged), forged)
    brk = verify_keyed_chain(KEY, "case:7", chain)
    assert brk is not None and brk.entry_id == 102 and brk.seq == 2 and "keyed hash" in brk.reason


def test_a_whole_chain_rewritten_with_another_key_breaks_at_its_first_entry() -> None:
    brk = verify_keyed_chain(KEY, "case:7", _keyed(5, key="not-the-key"))
    assert brk is not None and brk.entry_id == 101 and brk.seq == 1


def test_a_removed_entry_shows_as_a_gap_in_the_numbers() -> None:
    chain = _keyed(5)
    del chain[2]
    brk = verify_keyed_chain(KEY, "case:7", chain)
    assert brk is not None and brk.entry_id == 104 and "missing" in brk.reason


def test_an_inserted_entry_shows_as_a_repeated_number() -> None:
    chain = _keyed(3)
    chain.insert(2, chain[1])
    brk = verify_keyed_chain(KEY, "case:7", chain)
    assert brk is not None and brk.seq == 2 and "repeated" in brk.reason


def test_a_checkpoint_is_signed_and_a_changed_one_is_refused() -> None:
    heads = [Head("system", 3, 9, "a" * 64), Head("case:1", 5, 12, "b" * 64)]
    doc = make_checkpoint(KEY, heads, "2026-11-24T10:30:00+08:00")
    assert checkpoint_problem(KEY, doc) is None
    assert {h.chain: h for h in checkpoint_heads(doc)} == {h.chain: h for h in heads}
    forged = {**doc, "chains": [["system", 1, 7, "c" * 64]]}
    assert "altered" in (checkpoint_problem(KEY, forged) or "")
    assert "another key" in (checkpoint_problem("other", doc) or "")
    assert checkpoint_problem(KEY, {"hello": 1}) is not None


def test_a_tail_deleted_after_a_checkpoint_names_the_first_missing_number() -> None:
    cp = [Head("case:1", 5, 12, "b" * 64), Head("system", 3, 9, "a" * 64)]
    newest = {"case:1": Head("case:1", 2, 8, "d" * 64), "system": Head("system", 3, 9, "a" * 64)}
    brk = compare_with_checkpoint(cp, {"case:1": None, "system": (9, "a" * 64)}, newest, "T")
    assert brk is not None and brk.chain == "case:1" and brk.seq == 3 and brk.entry_id == 12
    assert "deleted" in brk.reason and "entries 3 to 5" in brk.reason


def test_a_chain_rewritten_below_the_checkpoint_is_found() -> None:
    cp = [Head("case:1", 5, 12, "b" * 64)]
    brk = compare_with_checkpoint(cp, {"case:1": (12, "e" * 64)}, {"case:1": Head("case:1", 5, 12, "e" * 64)}, "T")
    assert brk is not None and "rewritten" in brk.reason
    assert compare_with_checkpoint(cp, {"case:1": (12, "b" * 64)}, {"case:1": Head("case:1", 9, 20, "f" * 64)}, "T") is None


def test_a_chain_deleted_entirely_is_found() -> None:
    brk = compare_with_checkpoint([Head("case:4", 2, 30, "b" * 64)], {"case:4": None}, {}, "T")
    assert brk is not None and brk.seq == 1 and "no entries left" in brk.reason


def test_an_act_may_not_be_dated_before_the_case_s_last_act_beyond_a_small_allowance() -> None:
    last = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
    assert not dated_before_last_act(last, None)
    assert not dated_before_last_act(last + timedelta(seconds=1), last)
    assert not dated_before_last_act(last - timedelta(seconds=30), last)  # measured a moment before it was recorded
    assert dated_before_last_act(last - timedelta(minutes=3), last)
    assert dated_before_last_act(datetime(2020, 1, 1, tzinfo=UTC), last)
