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


def page_targets(folder: str) -> list[tuple[Path, int, str]]:
    """(file, line, target) for every page path given to st.Page, st.page_link or st.switch_page."""
    found = []
    for path in sources(folder):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("Page", "page_link", "switch_page") and node.args):
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append((path, node.lineno, arg.value))
                elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
                    found.append((path, node.lineno, str(arg.values[0].value)))  # f"views/{k}.py": its folder
    return found


def test_only_the_navigation_decides_the_pages() -> None:
    """No ``pages/`` folder beside the entrypoint (Streamlit would discover it by itself and answer a bookmark
    with "Page not found"): the pages live in ui/views/, and every page path the UI names is there."""
    assert not (ROOT / "ui" / "pages").exists()
    targets = page_targets("ui")
    assert targets
    bad = [f"{p.relative_to(ROOT)}:{n} {t}" for p, n, t in targets
           if not t.startswith("views/") or (t.endswith(".py") and not (ROOT / "ui" / t).is_file())]
    assert bad == []


#: what services reach through their unit of work instead (``services.unit_of_work``, ``yunque.bootstrap``), and
#: adapters take from their caller
GLOBALS = {"get_settings", "session_scope"}


def global_reaches(folder: str, allowed: tuple[str, ...] = ("services/unit_of_work.py",)) -> list[str]:
    """Calls of the global settings or session factory, and imports of them, outside the unit of work."""
    bad = []
    for path in sources(folder):
        where = path.relative_to(ROOT).as_posix()
        if where in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                if name in GLOBALS:
                    bad.append(f"{where}:{node.lineno} calls {name}()")
            elif isinstance(node, ast.ImportFrom) and GLOBALS & {a.name for a in node.names}:
                bad.append(f"{where}:{node.lineno} imports {sorted(GLOBALS & {a.name for a in node.names})}")
    return bad


def test_services_take_settings_and_sessions_from_their_unit_of_work() -> None:
    """A service reads the settings and opens transactions through the unit of work it is given, so a caller
    can run it against other settings or another database."""
    assert sources("services")
    assert global_reaches("services") == []


def definitions(folder: str, name: str) -> list[str]:
    """Where functions called ``name`` are defined."""
    found = []
    for path in sources(folder):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
                found.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}")
    return found


def test_adapters_take_settings_urls_and_sessions_from_their_caller() -> None:
    """An adapter works with the settings, the database URL or the session its caller gives it; the edges (the
    bootstrap, the command line, the pages, the flows) are what read the environment. Only ``adapters.db``
    defines ``session_scope``, and no adapter calls it."""
    assert sources("adapters")
    assert global_reaches("adapters") == []
    assert [d.split(":")[0] for d in definitions("adapters", "session_scope")] == ["adapters/db.py"]


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
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "unit_of_work.py").write_text("from adapters.db import session_scope\nsession_scope()\n")
    (tmp_path / "services" / "cases.py").write_text(
        "from yunque.settings import get_settings\nimport adapters.db\n\ndef f():\n"
        "    with adapters.db.session_scope() as s:\n        return get_settings().public_url\n")
    assert len(global_reaches("services")) == 3
    (tmp_path / "adapters").mkdir()
    (tmp_path / "adapters" / "db.py").write_text("def session_scope(url):\n    pass\n")
    (tmp_path / "adapters" / "calendar.py").write_text(
        "from adapters.db import session_scope\n\ndef get_calendar():\n    with session_scope() as s:\n        return s\n")
    (tmp_path / "adapters" / "mail.py").write_text(
        "import yunque.settings\n\ndef session_scope():\n    return yunque.settings.get_settings()\n")
    assert len(global_reaches("adapters")) == 3
    assert definitions("adapters", "session_scope") == ["adapters/db.py:1", "adapters/mail.py:3"]
