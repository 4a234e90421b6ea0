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

from tests.e2e.browser_support import ARTIFACTS, chromium, start_app, use_app_database
from tests.e2e.browser_support import enter_live_room, open_live_viewing
from tests.e2e.browser_support import playback as _playback
from tests.e2e.browser_support import plays as _plays
from tests.e2e.browser_support import shot as _shot
from tests.e2e.browser_support import start_live as _start

# Three live WebRTC sessions need real CPU: on the shared 2-core machine (load average above 20) the
# rights holder's video played but too slowly for the assertions, and sign-in or the component's start
# button timed out. Run it where the CPU is free: YUNQUE_LIVE_BROWSER_TEST=1.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900),
              pytest.mark.skipif(os.environ.get("YUNQUE_LIVE_BROWSER_TEST") != "1",
                                 reason="needs free CPU for three live WebRTC sessions: YUNQUE_LIVE_BROWSER_TEST=1")]

FOLDER = ARTIFACTS / "live"


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
    return open_live_viewing(stack, declaration_no="010120261129000888")


def test_the_officers_phone_goes_live_to_the_rights_holder_and_the_consignor(
        stack: dict, browser: Any, opened: tuple[str, int]) -> None:
    from services.evidence import list_evidence, verify_evidence

    case_number, viewing_id = opened
    site, chanel, consignor = enter_live_room(browser, stack, viewing_id)
    _start(site)
    site.get_by_text("Connected live: 王伟 (filming)", exact=False).wait_for()  # people by the names they go by
    shot(site, "01-officer-publishing-on-a-phone")

    for page in (chanel, consignor):
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
    chanel.get_by_text("重庆云通商贸有限公司 (speaking)", exact=False).or_(
        chanel.get_by_text("Connected live:", exact=False).filter(has_text="重庆云通商贸有限公司")).first.wait_for()
    shot(chanel, "02-rights-holder-watches-live")

    # the rights holder speaks to the officer: the officer's page says who is speaking
    _start(chanel, start="Speak to the site", stop="Stop speaking")
    site.get_by_text("CHANEL SARL 代理人 (speaking)", exact=False).wait_for(timeout=30_000)
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

    from models.tables import TimelineEntry
    from tests.support import session_scope

    with session_scope(readonly=True) as s:
        recorded = [e.after for e in s.exec(select(TimelineEntry).where(TimelineEntry.action == "viewing.recorded"))]
    assert recorded and recorded[0]["voice_frames"] > 0, recorded  # the rights holder's voice is in it
    (FOLDER / "figures.txt").write_text(f"snapshot visible to the consignor after {seen_after:.2f} s\n")
