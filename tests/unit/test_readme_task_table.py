"""The README's table of task kinds is the registry's: every kind that acts has its row, with its outcomes."""

from __future__ import annotations

import re
from pathlib import Path

from services.task_acts import TASK_ACTS, act_for

README = Path(__file__).resolve().parents[2] / "README.md"


def _rows() -> dict[str, str]:
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `([a-z_]+)`[^|]*\| ([^|]+) \|", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def test_every_task_kind_that_acts_has_its_row_with_its_outcomes() -> None:
    rows = _rows()
    for kind in TASK_ACTS:
        assert kind in rows, f"README: no row for the task kind {kind}"
        written = set(re.findall(r"`([a-z-]+)`", rows[kind]))
        assert written == set(act_for(kind).outcomes), (kind, written)
