"""Scripts run in the page only where the app wrote them itself: user text never reaches a script."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from yunque.settings import ROOT

#: the only functions that put a script in the page, each with words or an address it controls
SCRIPTED = {("ui/chrome.py", "handoff_redirect"), ("ui/chrome.py", "post_sign_out"),
            ("ui/chrome.py", "screen_reader_words")}


def _scripted(path: Path, root: Path = ROOT) -> set[tuple[str, str]]:
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for call in ast.walk(fn):
            if isinstance(call, ast.Call) and any(k.arg == "unsafe_allow_javascript" for k in call.keywords):
                found.add((path.relative_to(root).as_posix(), fn.name))
    return found


def test_only_the_known_functions_put_a_script_in_the_page() -> None:
    found = set().union(*(_scripted(p) for p in (ROOT / "ui").rglob("*.py")))
    assert found == SCRIPTED


def test_the_check_finds_a_script_put_in_the_page(tmp_path: Path) -> None:
    page = tmp_path / "ui" / "views" / "shout.py"
    page.parent.mkdir(parents=True)
    page.write_text("import streamlit as st\n\ndef shout(x):\n    st.html(x, unsafe_allow_javascript=True)\n")
    assert _scripted(page, tmp_path) == {("ui/views/shout.py", "shout")}


def test_the_screen_reader_words_cannot_end_their_script(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import chrome

    shown: list[str] = []
    monkeypatch.setattr(chrome.st, "html", lambda body, **kw: shown.append(body))
    monkeypatch.setattr(chrome, "lang", lambda: "zh")
    monkeypatch.setattr(chrome, "tr", lambda key, **kw: "</script><img src=x onerror=alert(1)>")
    chrome.screen_reader_words()
    body: Any = shown[0]
    assert body.count("</script>") == 1 and body.endswith("</script>") and "<img" not in body
