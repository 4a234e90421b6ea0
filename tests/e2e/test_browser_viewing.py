"""The remote viewing (云确) in a real browser: one browser context per person, Chromium's fake camera.

CHANEL's agent asks for a viewing of its notice, the IPR officer approves it, the site officer opens
the room on a phone-sized screen, the agent asks for two shots (an item of the authentication guide
and free text), the site officer takes a photo with the camera for the first, the agent's page shows
it without a reload, and the agent gives its verdict from the room. Screenshots of each step go to
test-artifacts/browser/viewing/."""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.browser_support import ARTIFACTS, app_database, chromium, click, fill, goto, settled, sign_in, start_app
from tests.e2e.browser_support import use_app_database, what_pages_show
from tests.e2e.browser_support import shot as _shot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

FOLDER = ARTIFACTS / "viewing"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "permissions": ["camera"]}
GUIDE_ITEM = "包内序列号贴纸，须与真品卡一致"
FREE_TEXT = "The zip pull, close up, both sides"


def shot(page: Any, name: str) -> None:
    _shot(page, name, FOLDER)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with start_app(tmp_path_factory.mktemp("viewing"), log_name="streamlit-viewing.log") as st:
        yield st


@pytest.fixture(scope="module")
def browser(stack: dict) -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def people(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The pages of the people in the test, by name; each is photographed if the test fails."""
    pages: dict[str, Any] = {}
    before = request.session.testsfailed
    yield pages
    if request.session.testsfailed > before:
        for name, page in pages.items():
            shot(page, f"failed-{name}")


@pytest.fixture(scope="module")
def case_number(stack: dict) -> str:
    """A seizure of CHANEL bags (one line, one notice); the officers work in English."""
    from models.types import utcnow
    from services.demo import seed_shipment
    from services.users import set_locale
    from tests.support import open_confirmed

    shipment = seed_shipment(utcnow())
    shipment["declaration_no"] = "010120261129000777"
    shipment["lines"] = [ln for ln in shipment["lines"] if ln["brand"] == "CHANEL"]
    with app_database(stack):
        for officer in ("site.wang", "ipr.li"):
            set_locale(actor=officer, locale="en")
        return open_confirmed(shipment, now=utcnow()).number


def _within(probe: Callable[[], Any], seconds: float) -> Any:
    """``probe``'s first truthy answer within ``seconds`` (polled), or its last answer."""
    end = time.monotonic() + seconds
    while not (got := probe()) and time.monotonic() < end:
        time.sleep(0.3)
    return got


def eventually(probe: Callable[[], Any], timeout: float = 30) -> Any:
    """Poll ``probe`` until it returns something truthy (what the browser did reaches the database)."""
    got = _within(probe, timeout)
    assert got, "the browser's action did not reach the database"
    return got


#: how long a pick waits for the list it opened before opening it again
PICK_WAIT_MS = 5_000


def _pick(page: Any, label: str, option: str) -> None:
    """Choose ``option`` in a Streamlit selectbox, once the page has settled (a rerun redrawing the
    page under the pick would put the box back). The room's page reruns whole when the room changes
    (``_page_is_stale``), which closes a list just opened: as a person would, the pick opens it again
    (in CI, loaded, the option waited 30 s for a list already closed)."""
    from playwright.sync_api import TimeoutError as PickTimeout

    for _ in range(3):
        settled(page)
        page.get_by_role("combobox", name=label, exact=True).click()
        try:
            page.get_by_role("option", name=option).first.click(timeout=PICK_WAIT_MS)
        except PickTimeout:
            continue
        settled(page)
        return
    raise AssertionError(f"{label}: the option {option!r} was not there to pick in three tries")


def _take_photo(page: Any) -> None:
    """Press the camera's shutter once the page has settled and the fake camera's picture is playing
    (a press before the first frame takes nothing)."""
    settled(page)
    page.wait_for_function("""() => { const v = document.querySelector('[data-testid=stCameraInput] video');
        return v && v.readyState >= 2 && v.videoWidth > 0; }""")
    page.get_by_role("button", name="Take Photo").click()


#: how long a person waits for what a press should show before looking again
SEEN_WITHIN_S = 20


def _until_seen(people: dict[str, Any], do: Callable[[], None], shows: Any, what: str,
                reached: Callable[[], Any] | None = None, state: str = "visible") -> None:
    """Do ``do`` and wait for ``shows`` (a locator, in ``state``), as a person would: one who sees
    nothing happen for 20 seconds looks again and, unless the room has recorded it (``reached``),
    reloads the page if it went blank and does it once more. Each second look is a warning in the
    run's summary, with what every page showed then: what went wrong on a loaded machine is reported,
    not hidden. (In CI the room's page twice did not show within 30 s what a press had done; here,
    with two busy loops on the two cores, once in 26 runs the site officer's page went blank, no app
    drawn, after the camera's switch.)"""
    from playwright.sync_api import TimeoutError as NotSeen

    do()
    try:
        shows.wait_for(state=state, timeout=SEEN_WITHIN_S * 1000)
        return
    except NotSeen:
        pass
    if reached is not None and _within(reached, 5):  # a press on its way is not pressed again
        warnings.warn(f"{what}: recorded, but not shown within {SEEN_WITHIN_S} s\n{what_pages_show(people)}",
                      stacklevel=2)
        return
    warnings.warn(f"{what}: nothing within {SEEN_WITHIN_S} s, done again\n{what_pages_show(people)}", stacklevel=2)
    if not shows.page.locator("[data-testid=stApp]").count():  # a page left blank
        goto(shows.page, shows.page.url)
    do()
    shows.wait_for(state=state)


def test_a_remote_viewing_from_request_to_verdict_with_three_people_in_three_browsers(
        stack: dict, browser: Any, case_number: str, people: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    from services.cases import get_case
    from services.viewing import confirmation_times, list_viewings, room_state

    # 1. CHANEL's agent asks for a viewing of its notice from the portal.
    chanel = people["chanel"] = sign_in(browser, stack, "chanel.agent")  # the portal is its home page
    chanel.get_by_role("heading", name="My notices").wait_for()
    click(chanel.get_by_role("tab", name="Viewing"))
    click(chanel.get_by_role("button", name="Ask for a remote viewing"))
    chanel.get_by_text(re.compile(r"^#\d+ · requested · ")).wait_for()  # the page reruns and lists the request
    shot(chanel, "01-rights-holder-asked-for-a-viewing")
    use_app_database(stack)
    (v,) = list_viewings(actor="chanel.agent", case_number=case_number)
    assert v.state == "requested" and v.line_numbers == [1]

    # 2. The IPR officer approves it in the room.
    ipr = people["ipr"] = sign_in(browser, stack, "ipr.li", f"/viewing?viewing={v.id}")
    ipr.get_by_role("heading", name="Viewing room").wait_for()
    click(ipr.get_by_role("button", name="Decide"))
    ipr.get_by_role("button", name="Open the room").wait_for()
    shot(ipr, "02-ipr-officer-approved")

    # 3. The site officer opens the room on a phone.
    site = people["site"] = sign_in(browser, stack, "site.wang", f"/viewing?viewing={v.id}", **PHONE)
    click(site.get_by_role("button", name="Open the room"))
    site.get_by_role("button", name="Close the room").wait_for()
    site.get_by_text("Capture", exact=True).wait_for()

    def use_the_camera() -> None:  # ready before any shot is asked for
        if not site.get_by_label("Use the camera", exact=True).is_checked():
            click(site.get_by_text("Use the camera", exact=True))

    _until_seen(people, use_the_camera, site.get_by_role("button", name="Take Photo"), "the site officer's camera")
    shot(site, "03-site-officer-opened-the-room-on-a-phone")

    # 4. The agent joins from the portal and asks for two shots: a guide item and free text.
    chanel.reload()  # the portal does not refresh itself; the room does
    settled(chanel)
    click(chanel.get_by_role("tab", name="Viewing"))
    click(chanel.get_by_role("link", name=f"Join viewing room #{v.id}"))
    chanel.get_by_role("heading", name="Viewing room").wait_for()
    chanel.get_by_role("button", name="Ask for a shot").wait_for()  # the room opened: the page followed
    asked = chanel.get_by_text("Shot requested.")

    def shots_asked() -> list[Any]:
        return room_state(viewing_id=v.id, actor="chanel.agent").shot_requests

    def ask_for_the_guide_item() -> None:
        _pick(chanel, "Authentication guide item", f"CHANEL: {GUIDE_ITEM}")
        click(chanel.get_by_role("button", name="Ask for a shot"))

    def ask_in_words() -> None:
        fill(chanel.get_by_role("textbox", name="Shot request", exact=True), FREE_TEXT)
        click(chanel.get_by_role("button", name="Ask for a shot"))

    _until_seen(people, ask_for_the_guide_item, asked, "the agent's shot of a guide item", reached=shots_asked)
    # the confirmation is on the page already: what shows this one is its line in the room's table
    in_the_table = chanel.locator("[data-testid=stDataFrame]").get_by_text(FREE_TEXT)
    _until_seen(people, ask_in_words, in_the_table, "the agent's shot in words", reached=lambda: shots_asked()[1:],
                state="attached")
    shots = eventually(lambda: (r := shots_asked())[1:] and r)
    shot(chanel, "04-rights-holder-asked-for-two-shots")
    assert [(s.text, s.state) for s in shots] == [(GUIDE_ITEM, "open"), (FREE_TEXT, "open")]
    assert shots[0].guide_item_id is not None and shots[1].guide_item_id is None

    # 5. The site officer, without reloading or touching anything, sees both requests, picks the
    #    guide item's one and takes a photo.
    site.get_by_text(FREE_TEXT).wait_for(state="attached")
    _pick(site, "Shot request", f"#{shots[0].id} {GUIDE_ITEM}")

    def take_a_photo() -> None:
        again = site.get_by_role("button", name="Clear photo")
        if again.is_visible():  # a photo taken whose sending never showed: a person takes it again
            click(again)
        _take_photo(site)

    _until_seen(people, take_a_photo, site.get_by_role("button", name="Send as evidence"), "the site officer's photo")
    click(site.get_by_role("button", name="Send as evidence"))
    site.get_by_text("Evidence stored.").wait_for()
    shot(site, "05-site-officer-captured-a-photo")

    # 6. The agent's page shows the photo without a reload (the room refreshes itself).
    chanel.get_by_role("heading", name="Evidence (1)").wait_for(timeout=30_000)
    photo = chanel.locator("[data-testid=stImage] img, [data-testid=stFullScreenFrame] img").first
    photo.wait_for()
    chanel.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
    shot(chanel, "06-rights-holder-sees-the-photo")
    # The room refreshes every 2 seconds but the photo keeps its link: the browser does not fetch it again.
    store = f"127.0.0.1:{stack['env']['YUNQUE_S3_PORT']}/"
    fetched: list[str] = []
    chanel.on("request", lambda r: fetched.append(r.url) if store in r.url else None)
    src = photo.get_attribute("src")
    chanel.wait_for_timeout(6_000)  # three refreshes of the room
    assert photo.get_attribute("src") == src and fetched.count(src) <= 1
    room = room_state(viewing_id=v.id, actor="chanel.agent")
    (ev,) = room.evidence
    assert ev.kind == "photo" and ev.captured_by == "site.wang" and ev.shot_request_id == shots[0].id
    assert [s.state for s in room.shot_requests] == ["answered", "open"]

    # 7. The agent gives its verdict from the room: infringing, detained under the general bond.
    click(chanel.get_by_text("infringing", exact=True).first)
    expect(chanel.get_by_role("checkbox", name="Apply for detention of the infringing goods")).to_be_enabled()
    click(chanel.get_by_text("Apply for detention of the infringing goods"))
    chanel.get_by_text("General bond").wait_for()
    click(chanel.get_by_role("button", name="Submit the answer"))
    chanel.get_by_text("Your answer is recorded.").wait_for()
    shot(chanel, "07-rights-holder-answered-from-the-room")

    # 8. The case shows the line detained and the confirmation time from the room's opening.
    goto(ipr, f"{stack['url']}/case?case={case_number}")
    ipr.get_by_role("heading", name="Case workspace").wait_for()
    ipr.locator("[data-testid=stDataFrame]").first.get_by_text("detained", exact=True).wait_for(state="attached")
    shot(ipr, "08-case-line-detained")
    click(ipr.get_by_role("tab", name="Notices"))
    ipr.get_by_text("CHANEL SARL").first.wait_for(state="attached")
    shot(ipr, "09-case-notice-answered")
    (line,) = get_case(case_number=case_number, actor="ipr.li").lines
    assert line.brand == "CHANEL" and line.state == "detained"
    (ct,) = confirmation_times(actor="ipr.li", case_number=case_number)
    assert ct.viewing_id == v.id and ct.room_opened_at is not None and ct.answered_at is not None
    assert ct.room_opened_at <= ct.answered_at and ct.minutes_from_room is not None and ct.minutes_from_room >= 0
