"""One way for the browser suites to start things: a migrated SQLite database with the demo data, the
rclone S3 store, ``streamlit run ui/server.py`` and Debian's Chromium driven by Playwright.

``start_app`` is a context manager; each test module wraps it in its own module-scoped fixture, with
the environment it needs (single sign-on, for instance)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _reset
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
_APP_ENV = ("YUNQUE_VAR_DIR", "YUNQUE_DATABASE_URL", "YUNQUE_S3_PORT", "YUNQUE_PUBLIC_URL")
_SERVICES_ENV = ("YUNQUE_VAR_DIR", "YUNQUE_DATABASE_URL", "YUNQUE_S3_PORT")  # the app's database and store


def wait_http(url: str, timeout: float) -> None:
    import httpx

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it)")


@contextmanager
def start_app(root: Path, *, extra_env: dict[str, str] | None = None,
              log_name: str = "streamlit.log") -> Iterator[dict[str, Any]]:
    """Database, S3 store and app server under ``root``; yields url, env, demo passwords and root.

    The app runs from ``root`` (with a copy of the project's ``.streamlit/config.toml``), so files it
    writes next to its working directory (single sign-on secrets) stay out of the checkout."""
    require_chromium()
    env = {**os.environ, "YUNQUE_VAR_DIR": str(root / "var"), "YUNQUE_DATABASE_URL": f"sqlite:///{root / 'yunque.db'}",
           "YUNQUE_S3_PORT": str(free_port()), "PYTHONPATH": str(ROOT), **(extra_env or {})}
    port = int(env.get("YUNQUE_UI_PORT") or free_port())
    env["YUNQUE_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    mp = pytest.MonkeyPatch()
    for k in _APP_ENV:
        mp.setenv(k, env[k])
    _reset()
    try:
        from adapters import s3_server
        from adapters.migrations import upgrade
        from services.demo import load_demo_data
        from yunque.settings import get_settings

        upgrade(get_settings().db_url)
        passwords = {u["username"]: u["password"] for u in load_demo_data()["users"]}
        s3 = s3_server.start(get_settings(), log=root / "s3.log")
    finally:
        _reset()
        mp.undo()
    (root / ".streamlit").mkdir(exist_ok=True)
    shutil.copy(ROOT / ".streamlit" / "config.toml", root / ".streamlit" / "config.toml")
    app = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "ui" / "server.py"),
                            "--server.port", str(port), "--server.address", "127.0.0.1"], env=env, cwd=root,
                           stdout=open(root / "streamlit.log", "w"), stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health", 60)
        yield {"url": f"http://127.0.0.1:{port}", "env": env, "passwords": passwords, "root": root}
    finally:
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()
        s3_server.stop(s3)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / "streamlit.log", ARTIFACTS / log_name)


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


def use_app_database(stack: dict[str, Any]) -> None:
    """Point this test process's services at the app's database (to check what the browser did).

    Inside a test only: the autouse settings fixture puts the environment back afterwards. A
    module-scoped fixture uses ``app_database`` instead."""
    os.environ.update({k: stack["env"][k] for k in _SERVICES_ENV})
    _reset()


@contextmanager
def app_database(stack: dict[str, Any]) -> Iterator[None]:
    """``use_app_database`` for a block, the environment restored after it."""
    mp = pytest.MonkeyPatch()
    for k in _SERVICES_ENV:
        mp.setenv(k, stack["env"][k])
    _reset()
    try:
        yield
    finally:
        mp.undo()
        _reset()


def shot(page: Any, name: str, folder: Path = ARTIFACTS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def what_pages_show(pages: dict[str, Any], log: Path | None = None) -> str:
    """What each person's page shows when a step failed: its address, whether its script is running, the
    messages on it (successes, warnings, errors, exceptions); then the app's log's last lines that tell
    of a fault. The screenshots stay on the machine that ran the test; this goes into the failure's
    message, where CI's output shows it."""
    lines = []
    for name, page in pages.items():
        try:
            state = page.evaluate("document.querySelector('[data-testid=stApp]')?.dataset.testScriptState")
            said = page.locator("[data-testid=stAlert], [data-testid=stException], [data-testid=stToast]").all_inner_texts()
        except Exception as e:  # noqa: BLE001 - a page that cannot answer says why instead
            lines.append(f"{name}: the page did not answer ({e})")
            continue
        shown = " | ".join(" ".join(t.split()) for t in said) or "no message"
        lines.append(f"{name}: {page.url} · script {state} · {shown}")
        if state is None:  # no app drawn: what the page holds instead
            html = page.evaluate("document.body ? document.body.innerHTML.slice(0, 600) : 'no body'")
            lines.append(f"  {name}'s page holds: {html}")
        lines.extend(f"  {name}'s page {f[:400]}" for f in getattr(page, "yunque_faults", [])[-15:])
    if log is not None and log.exists():
        faults = [ln for ln in log.read_text(errors="replace").splitlines()
                  if any(w in ln for w in ("Traceback", "Error", "Exception", "WARNING"))]
        lines.append("the app's log: " + ("\n  ".join(["", *faults[-20:]]) if faults else "nothing of a fault"))
    return "\n".join(lines)


def new_page(browser: Any, *, viewport: dict[str, int] | None = None, **context: Any) -> Any:
    ctx = browser.new_context(viewport=viewport or {"width": 1400, "height": 1000}, locale="en-GB", **context)
    page = ctx.new_page()
    faults: list[str] = []  # what the page's scripts threw or logged as errors, for ``what_pages_show``
    page.on("pageerror", lambda e: faults.append(f"threw: {e}"))
    page.on("console", lambda m: faults.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("crash", lambda _: faults.append("the page crashed"))
    page.yunque_faults = faults
    page.set_default_timeout(30_000)
    return page


def sign_in(browser: Any, stack: dict[str, Any], user: str, path: str = "/", **context: Any) -> Any:
    """A new browser context (one person) signed in with a password; the session is an HttpOnly cookie."""
    page = new_page(browser, **context)
    ctx = page.context
    password_sign_in(page, stack, user)
    cookie = next(c for c in ctx.cookies() if c["name"] == "yq_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert "yq_session" not in page.evaluate("document.cookie")  # page scripts cannot read the session
    if path != "/":
        goto(page, stack["url"] + path)
    return page


def settled(page: Any, timeout: float | None = None) -> None:
    """Wait until the page's script has finished its run and nothing on it is stale (being redrawn).

    A click or a pick made while a rerun is redrawing the page lands on an element about to be
    replaced, and is lost; a person would see the page change under the mouse and do it again. The wait
    is the page's default timeout unless ``timeout`` (ms) is given."""
    page.wait_for_function("""() => { const app = document.querySelector('[data-testid=stApp]');
        return app && app.dataset.testScriptState === 'notRunning' && !document.querySelector('[data-stale=true]'); }""",
                           timeout=timeout)


def click(target: Any) -> None:
    """Click ``target`` (a locator) once it is drawn and its page has settled."""
    target.wait_for()
    settled(target.page)
    target.click()


def fill(target: Any, text: str) -> None:
    """Type ``text`` into ``target`` (a locator) once it is drawn and its page has settled."""
    target.wait_for()
    settled(target.page)
    target.fill(text)


def goto(page: Any, url: str) -> None:
    """Open ``url`` and wait for the page's first run to finish (until then what it shows is not final)."""
    page.goto(url)
    settled(page)


def password_sign_in(page: Any, stack: dict[str, Any], user: str) -> None:
    """Sign in as ``user`` with the password form, typed once the sign-in page has settled; returns once
    the signed-in page has settled."""
    goto(page, stack["url"] + "/")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码", exact=True).fill(stack["passwords"][user])
    page.get_by_role("button", name="登录").click()
    # attached, not visible: on a phone the sidebar with the sign-out button starts folded away
    page.get_by_role("button", name="退出登录").or_(page.get_by_role("button", name="Sign out")).wait_for(state="attached")
    settled(page)


def _language(page: Any, name: str, sign_out: str) -> None:
    """Choose the language ``name`` once the page has settled; returns once the page, drawn again in that
    language (its sign-out button reads ``sign_out``), has settled."""
    click(page.get_by_role("radio", name=name))
    page.get_by_role("button", name=sign_out).wait_for()
    settled(page)


def english(page: Any) -> None:
    _language(page, "English", "Sign out")


def chinese(page: Any) -> None:
    _language(page, "中文", "退出登录")


# --- the live viewing (实时连线): shared by tests/e2e/test_browser_live.py and bench/live_snapshot.py ---

PHONE_WITH_CAMERA = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
                     "permissions": ["camera", "microphone"]}


def open_live_viewing(stack: dict[str, Any], *, declaration_no: str) -> tuple[str, int]:
    """A seizure of CHANEL bags whose viewing (consignor invited) is open; everyone works in English.
    Returns the case number and the viewing's id."""
    from models.types import utcnow
    from services.cases import open_case
    from services.demo import seed_shipment
    from services.users import set_locale
    from services.viewing import decide_viewing, open_room, request_viewing
    from tests.support import confirm

    shipment = seed_shipment(utcnow())
    shipment["declaration_no"] = declaration_no
    shipment["lines"] = [ln for ln in shipment["lines"] if ln["brand"] == "CHANEL"]
    with app_database(stack):
        for who in ("site.wang", "ipr.li", "chanel.agent", "cq.trading"):
            set_locale(actor=who, locale="en")
        case = open_case(shipment=shipment, actor="site.wang")
        confirm(case.number, now=utcnow())
        notice = next(n for n in case.notices if "CHANEL" in n.brands)
        v = request_viewing(actor="chanel.agent", notice_id=notice.id, invite_consignor=True)
        decide_viewing(viewing_id=v.id, actor="ipr.li", approve=True)
        open_room(viewing_id=v.id, actor="site.wang")
        return case.number, v.id


def live_sign_in(browser: Any, stack: dict[str, Any], user: str, path: str, **context: Any) -> Any:
    """``sign_in`` with more patience: three people's media share a 2-core machine."""
    page = new_page(browser, **context)
    page.set_default_timeout(90_000)
    password_sign_in(page, stack, user)
    page.goto(stack["url"] + path)
    return page


def enter_live_room(browser: Any, stack: dict[str, Any], viewing_id: int) -> tuple[Any, Any, Any]:
    """The site officer (on a phone with Chromium's fake camera), the rights holder and the consignor
    signed in and in the viewing's room, each page showing that the session is recorded."""
    room = f"/viewing?viewing={viewing_id}"
    pages = (live_sign_in(browser, stack, "site.wang", room, **PHONE_WITH_CAMERA),
             live_sign_in(browser, stack, "chanel.agent", room), live_sign_in(browser, stack, "cq.trading", room))
    for page in pages:
        page.get_by_text("This session is recorded", exact=False).wait_for()
    return pages


def start_live(page: Any, timeout: float = 90, start: str = "Start live", stop: str = "Stop live") -> None:
    """Press a live component's start button; the component lives in its own iframe, which the
    page may replace while it settles, so look for it again until the click lands."""
    end = time.monotonic() + timeout
    while True:
        for frame in page.frames:
            if "streamlit_webrtc" in frame.url:
                try:
                    frame.get_by_role("button", name=start).click(timeout=3000)
                    frame.get_by_role("button", name=stop).wait_for(timeout=15_000)
                    return
                except Exception:  # noqa: BLE001, S110  (replaced or not drawn yet: try again)
                    pass
        assert time.monotonic() < end, f"the live component's {start!r} button never came"
        page.wait_for_timeout(500)


def playback(page: Any) -> tuple[float, int]:
    """currentTime and decoded frames of the live component's <video> (in its iframe)."""
    for frame in page.frames:
        if "streamlit_webrtc" in frame.url:
            try:
                return tuple(frame.evaluate("""() => { const v = document.querySelector('video');
                    if (!v) return [0, 0];
                    return [v.currentTime, v.getVideoPlaybackQuality().totalVideoFrames]; }"""))
            except Exception:  # noqa: BLE001, S110  (the frame is being replaced: ask again)
                pass
    return (0.0, 0)


def plays(page: Any, timeout: float = 40) -> tuple[tuple[float, int], tuple[float, int]]:
    """Two readings of ``playback`` a few seconds apart, once the video has advanced by more than a
    second and three frames; AssertionError if it does not within ``timeout`` seconds."""
    end = time.monotonic() + timeout
    first = playback(page)
    while time.monotonic() < end:
        page.wait_for_timeout(1000)
        now = playback(page)
        if now[0] > first[0] + 1 and now[1] > first[1] + 3:
            return first, now
    raise AssertionError(f"the live video does not play: {first} -> {playback(page)}")
