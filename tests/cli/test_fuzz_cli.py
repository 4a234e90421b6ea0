"""Fuzzing `yunque case open FILE` through the real command (a process per example).

Whatever the file holds (a generated shipment, JSON of the wrong shape, broken JSON, bytes that are not
UTF-8), the command either registers the seizure and prints it as JSON, or exits non-zero with one
line on stderr that says what is wrong (and where), prints nothing on stdout, and writes nothing. Hostile
text (NUL, terminal escapes, bidi overrides), money that is not ASCII digits and a seizure in the future are
among the values tried; what is printed never carries a raw control character."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
FOUND = "2026-11-24T10:30:00+08:00"
GOOD = {"declaration_no": "070720261124000001", "direction": "export", "customs_office": "Capital Airport Customs",
        "consignor": {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"}, "found_at": FOUND,
        "lines": [{"description": "Handbags", "brand": "CHANEL", "quantity": 12, "unit": "pcs", "value": "36000.00"},
                  {"description": "Sports shoes", "brand": "NIKE", "quantity": 30, "unit": "pairs", "value": 9000.5}]}
#: A refusal says what is wrong: "invalid input: <field>: ...", or a domain error's code and reason.
REFUSAL = re.compile(r"^(invalid input: \S.*|[a-z-]+: \S.*)$")

junk = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80) | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=5,
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """The good shipment with a few fields dropped, replaced by junk or given odd but typed values."""
    doc: dict[str, Any] = json.loads(json.dumps(GOOD))
    doc["declaration_no"] = f"0707202611{draw(st.integers(0, 10**8 - 1)):08d}"
    paths = [("declaration_no",), ("direction",), ("customs_office",), ("consignor",), ("consignor", "uscc"),
             ("found_at",), ("lines",), ("lines", 0, "value"), ("lines", 0, "quantity"), ("lines", 1, "brand"),
             ("lines", 1, "value"), ("lines", 0, "unit")]
    odd = st.one_of(junk, st.sampled_from(["", " ", "NaN", "-1", "1e400", "99999999999999999999999", "0.001",
                                           "2026-02-30T10:00:00+08:00", "0001-01-01T00:00:00+14:00", "UNRECORDED",
                                           "transit", "９１５", "\u0000", "x" * 600, "１００", "١٠٠", "1_000", "1E+2",
                                           "+5", ".5", "\x1b[2J\x1b]8;;https://evil.example\x07", "CHANEL\u202e",
                                           "\u2066pcs\u2069", "2099-01-01T00:00:00+08:00"]))
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True)):
        _change(doc, path, draw(odd), delete=draw(st.booleans()))
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 4)) == 0:  # a hand-edited file: numbers for money, written as JSON floats
        text = text.replace('"36000.00"', "36000.00")
    return text


def _change(doc: dict[str, Any], path: tuple[Any, ...], value: Any, *, delete: bool) -> None:
    node: Any = doc
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return  # an earlier change removed the way there
    last = path[-1]
    if isinstance(node, dict):
        if delete:
            node.pop(last, None)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = value


files = st.one_of(
    mutated().map(lambda t: t.encode("utf-8")),
    st.builds(lambda t, cut: t.encode("utf-8")[:cut], mutated(), st.integers(0, 400)),  # truncated
    junk.map(lambda v: json.dumps(v).encode()),  # JSON, but not a shipment
    st.binary(max_size=60),  # not text at all
    st.sampled_from([b"", b"NaN", b'{"lines": [{"value": NaN}]}', b"\xef\xbb\xbf{}", "{\"a\": 1}".encode("utf-16")]),
)


def _rows(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}  # noqa: S608


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(content=files)
@example(content=json.dumps(GOOD).encode())
def test_case_open_takes_any_file_and_answers_in_one_line(sqlite_db: str, tmp_path: Path, content: bytes) -> None:
    db = Path(os.environ["YUNQUE_DATABASE_URL"].removeprefix("sqlite:///"))
    path = tmp_path / "shipment.json"
    path.write_bytes(content)
    before = _rows(db)
    proc = subprocess.run([str(PYTHON), "-m", "yunque", "case", "open", str(path), "--as", "site.wang", "--json"],
                          capture_output=True, text=True, cwd=ROOT, env=os.environ.copy(), timeout=120)
    if proc.returncode == 0:
        case = json.loads(proc.stdout, parse_float=Decimal)
        data = json.loads(content.decode("utf-8"), parse_float=Decimal)
        assert case["declaration_no"] == data["declaration_no"] and len(case["lines"]) == len(data["lines"])
        assert all(ln["state"] == "suspended" for ln in case["lines"])
        assert proc.stderr == "", proc.stderr
        return
    assert proc.returncode in (1, 2), proc
    assert proc.stdout == "", proc
    lines = proc.stderr.strip("\n").split("\n")
    assert len(lines) == 1, f"not one line: {proc.stderr!r}"  # and so no traceback
    assert REFUSAL.match(lines[0]), lines[0]
    assert not any(c in proc.stderr for c in "\x00\x1b\x07\r\u202e\u2066"), f"raw control characters: {proc.stderr!r}"
    assert _rows(db) == before, f"refused ({lines[0]}) but wrote"
