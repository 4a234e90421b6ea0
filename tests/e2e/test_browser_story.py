"""The seed story in a real browser (Debian's Chromium) against a real Streamlit server and S3 store:
seizure -> confirmation -> partial release and detention, as a site officer, an IPR officer, two
rights holders and the consignor. Screenshots go to test-artifacts/."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser_support import chromium, click, english, fill, goto, shot, sign_in, start_app, use_app_database

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A migrated SQLite database with the demo data, an rclone S3 store and ``streamlit run ui/server.py``."""
    with start_app(tmp_path_factory.mktemp("browser")) as st:
        yield st


@pytest.fixture(scope="module")
def browser(stack: dict) -> Iterator[object]:
    with chromium() as b:
        yield b


def _select_task(page: Any, case_number: str) -> None:
    """Select the case's confirmation task in the inbox, once the page has settled (the task list reruns
    by itself every 10 seconds, and a run under way would put the selection back)."""
    click(page.get_by_label("Select tasks (several at once)"))
    page.keyboard.type(f"Confirm the lines of {case_number}")  # the task's title, in words: its one option
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")


def test_seed_story_from_seizure_to_partial_release_and_detention(stack: dict, browser) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    from services.demo import seed_shipment
    from models.types import utcnow

    seed = seed_shipment(utcnow())
    lines_csv = stack["root"] / "lines.csv"
    with lines_csv.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["description", "brand", "quantity", "unit", "value"])
        w.writeheader()
        w.writerows(seed["lines"])

    # 1. The site officer registers the seizure; each brand is matched to its recordation.
    site = sign_in(browser, stack, "site.wang", "/register")
    english(site)
    site.get_by_role("heading", name="Register a seizure").wait_for()
    site.locator("input[type=file]").first.set_input_files(str(lines_csv))
    site.get_by_text("T2019-40001").wait_for(state="attached")  # CHANEL's recordation, matched before submitting
    fill(site.get_by_label("Declaration no."), seed["declaration_no"])
    fill(site.get_by_label("Consignor"), seed["consignor"]["name"])
    fill(site.get_by_label("Unified social credit code"), seed["consignor"]["uscc"])
    click(site.get_by_role("button", name="Register and suspend release"))
    site.get_by_text("registered; 9 rights holders notified").wait_for()
    case_number = site.get_by_text("registered; 9 rights holders notified").inner_text().split()[1]
    assert case_number.startswith("YQ-")
    shot(site, "01-site-officer-registered")

    # 2. The IPR officer claims the confirmation task from the inbox and confirms the lines against the
    #    recordations: the GUCCI line does not match and is released at once; the notices go out then.
    ipr = sign_in(browser, stack, "ipr.li")
    english(ipr)
    ipr.get_by_text("refreshed").first.wait_for()
    _select_task(ipr, case_number)
    click(ipr.get_by_role("button", name="Claim", exact=True))
    click(ipr.get_by_role("button", name="Yes, claim"))
    ipr.get_by_text("1 task done").wait_for()
    click(ipr.get_by_text("Mine", exact=True))
    _select_task(ipr, case_number)
    click(ipr.get_by_text("some or all lines do not match (released at once)"))
    fill(ipr.get_by_role("textbox", name="Lines that do not match"), "6")
    fill(ipr.get_by_role("textbox", name="Why they do not match"), "备案与货物不符: the mark differs from the recorded one")
    click(ipr.get_by_role("button", name="Complete", exact=True))
    ipr.get_by_text("Task completed.").wait_for()
    shot(ipr, "02-ipr-officer-confirmed")

    from services import viewing
    from services.cases import get_case

    use_app_database(stack)
    confirmed = get_case(case_number=case_number, actor="ipr.li")
    assert {ln.brand: (ln.state, ln.state_reason) for ln in confirmed.lines}["GUCCI"] == ("released", "not-matched")
    assert {n.brands[0]: n.state for n in confirmed.notices}["CHANEL"] == "served"

    # 2b. CHANEL asks for a remote viewing; the IPR officer approves it from the inbox.
    chanel_notice = next(n.id for n in confirmed.notices if n.brands == ["CHANEL"])
    asked = viewing.request_viewing(actor="chanel.agent", notice_id=chanel_notice)
    from services.tasks import inbox

    (approve,) = [t for t in inbox(actor="ipr.li", kind="approve_viewing") if t.viewing_id == asked.id]
    goto(ipr, f"{stack['url']}/inbox?task={approve.id}")
    click(ipr.get_by_text("approve", exact=True).first)
    click(ipr.get_by_role("button", name="Complete", exact=True).first)
    ipr.get_by_text("Task completed.").wait_for()
    shot(ipr, "02b-ipr-officer-approved-viewing")
    (seen,) = [v for v in viewing.list_viewings(actor="ipr.li", case_number=case_number) if v.id == asked.id]
    assert seen.state == "approved" and seen.decided_by == "ipr.li"

    # 3. NIKE clears its line: released at once.
    nike = sign_in(browser, stack, "nike.agent")
    nike.get_by_role("heading", name="My notices").wait_for()
    click(nike.get_by_text("not infringing").first)
    click(nike.get_by_role("button", name="Submit the answer"))
    nike.get_by_text("Your answer is recorded.").wait_for()
    shot(nike, "03-nike-cleared")

    # 4. CHANEL claims its line and applies for detention under its general bond.
    chanel = sign_in(browser, stack, "chanel.agent")
    chanel.get_by_role("heading", name="My notices").wait_for()
    click(chanel.get_by_text("infringing", exact=True).first)
    expect(chanel.get_by_role("checkbox", name="Apply for detention of the infringing goods")).to_be_enabled()
    click(chanel.get_by_text("Apply for detention of the infringing goods"))
    chanel.get_by_text("Bond required: CN¥20,000.00").wait_for()  # 36,000 x 50 %, at least 20,000 (Meas 23)
    chanel.get_by_text("General bond").wait_for()
    click(chanel.get_by_role("button", name="Submit the answer"))
    chanel.get_by_text("Your answer is recorded.").wait_for()
    shot(chanel, "04-chanel-detained")

    # 5. The consignor sees the partial release and the detention.
    consignor = sign_in(browser, stack, "cq.trading")
    consignor.get_by_role("heading", name="我的货物").wait_for()
    consignor.get_by_text(case_number).first.wait_for(state="attached")
    body = consignor.locator("[data-testid=stMain]").text_content() or ""
    shot(consignor, "05-consignor-states")
    assert case_number in body

    # 6. The IPR officer's case workspace shows the states line by line.
    goto(ipr, f"{stack['url']}/case?case={case_number}")
    ipr.get_by_role("heading", name="Case workspace").wait_for()
    click(ipr.get_by_role("tab", name="Notices"))
    ipr.get_by_text("CHANEL SARL").first.wait_for(state="attached")
    shot(ipr, "06-case-workspace")

    states = {ln.brand: ln.state for ln in get_case(case_number=case_number, actor="ipr.li").lines}
    assert states["NIKE"] == "released" and states["CHANEL"] == "detained" and states["HERMES"] == "suspended"


def test_a_rights_holder_typing_another_case_s_address_sees_nothing(stack: dict, browser) -> None:  # noqa: ANN001
    from models.types import utcnow
    from services.cases import open_case
    from services.demo import seed_shipment

    use_app_database(stack)
    shipment = seed_shipment(utcnow())
    shipment["declaration_no"] = "010120269999999999"
    shipment["lines"] = [ln for ln in shipment["lines"] if ln["brand"] == "HERMES"]
    other = open_case(shipment=shipment, actor="site.wang").number

    nike = sign_in(browser, stack, "nike.agent")
    for path in (f"/case?case={other}", f"/portal?case={other}", "/portal?notice=1"):
        nike.goto(stack["url"] + path)
        nike.wait_for_timeout(2500)
        text = nike.locator("[data-testid=stMain]").text_content() or ""
        assert "HERMES" not in text and "Hermès" not in text and "女式手提包，皮革，附锁及钥匙" not in text, path
    shot(nike, "07-other-case-hidden")


def test_every_bookmark_opens_its_page_signed_in_or_after_signing_in(stack: dict, browser) -> None:  # noqa: ANN001
    """Streamlit serves its default page at "/" only: a role's home page marked default answered its own
    address (/inbox) with "Page not found". Every address of a role opens its page, with its query."""
    from urllib.parse import urlsplit

    from tests.e2e.browser_support import new_page

    ipr = sign_in(browser, stack, "ipr.li")
    for path in ("/inbox", "/inbox?task=1", "/case", "/register", "/viewing", "/outbox", "/verify"):
        ipr.goto(stack["url"] + path)
        ipr.get_by_role("button", name="退出登录").or_(ipr.get_by_role("button", name="Sign out")).wait_for()
        ipr.wait_for_timeout(1500)  # the dialog, if any, comes with the first run's answer
        assert ipr.get_by_text("Page not found").count() == 0, path
        asked, now_at = urlsplit(path), urlsplit(ipr.url)
        assert now_at.path == asked.path and asked.query in now_at.query, (path, ipr.url)  # a page may add its own
    ipr.goto(stack["url"] + "/")
    ipr.wait_for_url("**/inbox")  # the root opens the role's home under its own address

    visitor = new_page(browser)
    goto(visitor, stack["url"] + "/inbox?task=1")
    visitor.get_by_label("用户名").fill("ipr.chen")
    visitor.get_by_label("密码", exact=True).fill(stack["passwords"]["ipr.chen"])
    visitor.get_by_role("button", name="登录").click()
    visitor.wait_for_url("**/inbox?task=1")
    assert visitor.get_by_text("Page not found").count() == 0

