"""The arrows point inward: rules are pure, pages do not reach past the services, services do not
know the orchestrator or the UI. Checked by parsing imports and calls with ``ast``."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def sources(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if ".venv" not in p.parts)


def imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) for every import in the file, including those inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module, [a.name for a in node.names]


def offences(folder: str, banned: tuple[str, ...], banned_names: dict[str, set[str]] | None = None) -> list[str]:
    found = []
    for path in sources(folder):
        for line, module, names in imports(path):
            if any(module == b or module.startswith(b + ".") for b in banned):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
            for mod, bad in (banned_names or {}).items():
                if (module == mod or module.startswith(mod + ".")) and bad & set(names):
                    found.append(f"{path.relative_to(ROOT)}:{line} imports {sorted(bad & set(names))} from {module}")
    return found


OUTSIDE = ("sqlmodel", "sqlalchemy", "boto3", "botocore", "prefect", "streamlit", "adapters", "services", "flows", "ui",
           "psycopg", "yunque")


def test_the_rules_import_nothing_from_outside() -> None:
    assert sources("models/rules"), "no rules found"
    assert offences("models/rules", OUTSIDE) == []


def clock_reads(folder: str) -> list[str]:
    bad = []
    for path in sources(folder):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name, owner = node.func.attr, ast.unparse(node.func.value)
                if name in {"now", "today", "utcnow", "time", "monotonic"} and owner.split(".")[-1] in {
                        "datetime", "date", "time", "dt"}:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} calls {owner}.{name}()")
    return bad


def test_the_rules_never_read_the_clock() -> None:
    assert clock_reads("models/rules") == []


def test_models_do_not_depend_on_services_adapters_or_the_ui() -> None:
    assert offences("models", ("services", "adapters", "flows", "ui", "yunque", "boto3", "prefect", "streamlit")) == []


def test_services_never_import_the_orchestrator_or_the_ui() -> None:
    assert sources("services")
    assert offences("services", ("prefect", "streamlit", "flows", "ui")) == []


def test_ui_pages_reach_data_only_through_services() -> None:
    if not sources("ui"):
        pytest.skip("no ui/ yet")
    assert offences("ui", ("sqlalchemy", "boto3", "botocore", "adapters.db", "psycopg"),
                    {"sqlmodel": {"select", "Session", "create_engine"}, "adapters": {"db"}}) == []


def test_the_checker_finds_what_it_looks_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks above would fail on a file that breaks them."""
    fake = tmp_path / "models" / "rules"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("import boto3\nfrom sqlmodel import select\n\ndef f():\n    from adapters.db import session_scope\n")
    (fake / "clock.py").write_text("import datetime\n\ndef f():\n    return datetime.date.today(), datetime.datetime.now()\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert len(offences("models/rules", OUTSIDE)) == 3
    assert len(clock_reads("models/rules")) == 2
    (tmp_path / "ui").mkdir()
    (tmp_path / "ui" / "page.py").write_text("from sqlmodel import select\nfrom adapters import db\n")
    assert len(offences("ui", ("adapters.db",), {"sqlmodel": {"select"}, "adapters": {"db"}})) == 2
