"""The live viewing (实时连线) in a real browser: the site officer's phone (390x844, Chromium's fake
camera and microphone) publishes, the rights holder and the consignor watch the relayed picture,
the rights holder speaks to the officer (its microphone, recorded with the session), takes a snapshot
that everyone sees as evidence, and closing the room stores the recorded session as evidence that
verifies intact. Screenshots go to test-artifacts/browser/live/."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser_support import ARTIFACTS, app_database, chromium, new_page, start_app, use_app_database
from tests.e2e.browser_support import shot as _shot

# Three live WebRTC sessions need real CPU: on the shared 2-core machine (load average above 20) the
# rights holder's video played but too slowly for the assertions, and sign-in or the component's start
# button timed out. Run it where the CPU is free: YUNQUE_LIVE_BROWSER_TEST=1.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900),
              pytest.mark.skipif(os.environ.get("YUNQUE_LIVE_BROWSER_TEST") != "1",
                                 reason="needs free CPU for three live WebRTC sessions: YUNQUE_LIVE_BROWSER_TEST=1")]

FOLDER = ARTIFACTS / "live"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "permissions": ["camera", "microphone"]}


def shot(page: Any, name: str) -> None:
    _shot(page, name, FOLDER)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with start_app(tmp_path_factory.mktemp("live"), log_name="streamlit-live.log") as st:
        yield st


@pytest.fixture(scope="module")
def browser(stack: dict) -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def opened(stack: dict) -> tuple[str, int]:
    """A seizure of CHANEL bags whose viewing (consignor invited) is open; everyone works in English."""
    from models.types import utcnow
    from services.cases import open_case
    from services.demo import seed_shipment
    from services.users import set_locale
    from services.viewing import decide_viewing, open_room, request_viewing

    shipment = seed_shipment(utcnow())
    shipment["declaration_no"] = "010120261129000888"
    shipment["lines"] = [ln for ln in shipment["lines"] if ln["brand"] == "CHANEL"]
    with app_database(stack):
        for who in ("site.wang", "ipr.li", "chanel.agent", "cq.trading"):
            set_locale(actor=who, locale="en")
        from tests.support import confirm

        case = open_case(shipment=shipment, actor="site.wang")
        confirm(case.number, now=utcnow())
        notice = next(n for n in case.notices if "CHANEL" in n.brands)
        v = request_viewing(actor="chanel.agent", notice_id=notice.id, invite_consignor=True)
        decide_viewing(viewing_id=v.id, actor="ipr.li", approve=True)
        open_room(viewing_id=v.id, actor="site.wang")
        return case.number, v.id


def sign_in(browser: Any, stack: dict, user: str, path: str, **context: Any) -> Any:
    """``browser_support.sign_in`` with more patience: three people's media share a 2-core machine."""
    page = new_page(browser, **context)
    page.set_default_timeout(90_000)
    page.goto(stack["url"] + "/")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(stack["passwords"][user])
    page.get_by_role("button", name="登录").click()
    page.get_by_role("button", name="退出登录").or_(page.get_by_role("button", name="Sign out")).wait_for(state="attached")
    page.goto(stack["url"] + path)
    return page


def _start(page: Any, timeout: float = 90, start: str = "Start live", stop: str = "Stop live") -> None:
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


def _playback(page: Any) -> tuple[float, int]:
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


def _plays(page: Any, timeout: float = 40) -> tuple[tuple[float, int], tuple[float, int]]:
    end = time.monotonic() + timeout
    first = _playback(page)
    while time.monotonic() < end:
        page.wait_for_timeout(1000)
        now = _playback(page)
        if now[0] > first[0] + 1 and now[1] > first[1] + 3:
            return first, now
    raise AssertionError(f"the live video does not play: {first} -> {_playback(page)}")


def test_the_officers_phone_goes_live_to_the_rights_holder_and_the_consignor(
        stack: dict, browser: Any, opened: tuple[str, int]) -> None:
    from services.evidence import list_evidence, verify_evidence

    case_number, viewing_id = opened
    room = f"/viewing?viewing={viewing_id}"
    site = sign_in(browser, stack, "site.wang", room, **PHONE)
    chanel = sign_in(browser, stack, "chanel.agent", room)
    consignor = sign_in(browser, stack, "cq.trading", room)
    site.get_by_text("This session is recorded", exact=False).wait_for()
    _start(site)
    site.get_by_text("Connected live: site.wang (filming)", exact=False).wait_for()
    shot(site, "01-officer-publishing-on-a-phone")

    for page in (chanel, consignor):
        page.get_by_text("This session is recorded", exact=False).wait_for()
        _start(page)
    try:
        (t0, f0), (t1, f1) = _plays(chanel)
    except Exception:
        shot(chanel, "failed-chanel")
        shot(consignor, "failed-consignor")
        (FOLDER / "frames.txt").write_text("\n".join(f"{f.name} {f.url}" for f in chanel.frames))
        raise
    assert t1 > t0 and f1 > f0
    _plays(consignor)
    chanel.get_by_text("cq.trading", exact=False).first.wait_for()
    shot(chanel, "02-rights-holder-watches-live")

    # the rights holder speaks to the officer: the officer's page says who is speaking
    _start(chanel, start="Speak to the site", stop="Stop speaking")
    site.get_by_text("chanel.agent (speaking)", exact=False).wait_for(timeout=30_000)
    shot(site, "02b-officer-hears-the-rights-holder")

    chanel.get_by_role("button", name="Capture the live picture as evidence").click()
    chanel.get_by_text("Snapshot stored as evidence.").wait_for()
    asked = time.monotonic()
    consignor.get_by_role("heading", name="Evidence (1)").wait_for(timeout=10_000)
    seen_after = time.monotonic() - asked
    shot(consignor, "03-consignor-sees-the-snapshot")

    site.wait_for_timeout(3000)  # a few more seconds of recording
    site.get_by_role("button", name="Close the room").click()
    site.get_by_role("button", name="Close the room").wait_for(state="detached", timeout=60_000)
    use_app_database(stack)
    items = list_evidence(case_number=case_number, actor="site.wang")
    assert sorted(e.content_type for e in items) == ["image/jpeg", "video/webm"]
    report = verify_evidence(case_number=case_number)
    assert report.intact and report.counts["intact"] == 2
    from sqlmodel import select

    from adapters.db import session_scope
    from models.tables import TimelineEntry

    with session_scope(readonly=True) as s:
        recorded = [e.after for e in s.exec(select(TimelineEntry).where(TimelineEntry.action == "viewing.recorded"))]
    assert recorded and recorded[0]["voice_frames"] > 0, recorded  # the rights holder's voice is in it
    (FOLDER / "figures.txt").write_text(f"snapshot visible to the consignor after {seen_after:.2f} s\n")
