"""Streamlit draws some widget words itself, in English, with no option to set them (the file uploader's
button, limits and the words while a file is dragged over it, the camera's button, an empty date input's
"yyyy / mm / dd"): the app draws them in the user's language over the element (``ui.chrome.widget_words``).
Checked in a real browser, where the style sheet applies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser_support import app_database, chinese, chromium, click, english, shot, sign_in, start_app

pytestmark = pytest.mark.timeout(600)

SHOWN = """(selector) => {
    const el = document.querySelector(selector);
    if (!el) return null;
    // every piece of Streamlit's own text under the element, with the size it is drawn at
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const texts = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (n.textContent.trim() && !n.parentElement.closest('[data-testid="stIconMaterial"]'))
            texts.push([n.textContent.trim(), getComputedStyle(n.parentElement).fontSize]);
    }
    return {after: getComputedStyle(el, '::after').content, texts: texts};
}"""


def drawn(seen: dict) -> list[str]:
    """The element's own words a person can read (drawn at a size above zero)."""
    return [text for text, size in seen["texts"] if size != "0px"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with start_app(tmp_path_factory.mktemp("widget-words"), log_name="streamlit-widget-words.log") as st:
        yield st


def test_the_uploader_speaks_the_users_language(stack: dict, tmp_path: Any) -> None:
    with chromium() as browser:
        page: Any = sign_in(browser, stack, "site.wang", "/register")  # a site officer works in Chinese
        button = '[data-testid="stFileUploaderDropzone"] button:not([data-testid="stFileChips"] button)'
        page.locator(button).first.wait_for()
        seen = page.evaluate(SHOWN, button)
        shot(page, "widget-words-register")
        assert seen["texts"] and seen["after"] == '"上传文件"' and drawn(seen) == [], seen  # "Upload" at size 0
        limits = page.evaluate(SHOWN, '[data-testid="stFileUploaderDropzoneInstructions"]')
        assert limits["texts"] and limits["after"].startswith('"单个文件不超过') and drawn(limits) == [], limits
        # a file chosen: its chip's delete button keeps its own look, and the button to add another is ours
        lines = tmp_path / "lines.csv"
        lines.write_text("description,brand,quantity,unit,value\nHandbags,CHANEL,1,pcs,100.00\n", encoding="utf-8")
        page.locator("input[type=file]").first.set_input_files(str(lines))
        chip = '[data-testid="stFileChips"] button'
        page.locator(chip).first.wait_for()
        assert page.evaluate("(s) => getComputedStyle(document.querySelector(s), '::after').content", chip) == "none"
        add = page.evaluate(SHOWN, button)
        assert add["after"] == '"上传文件"' and drawn(add) == [], add
        shot(page, "widget-words-register-with-a-file")


def test_a_file_dragged_over_the_uploader_is_asked_for_in_the_users_language(stack: dict) -> None:
    with chromium() as browser:
        page: Any = sign_in(browser, stack, "site.wang", "/register")
        zone = '[data-testid="stFileUploaderDropzone"]'
        page.locator(zone).first.wait_for()
        dragged = page.evaluate_handle("""() => { const dt = new DataTransfer();
            dt.items.add(new File(['x'], 'lines.csv', {type: 'text/csv'})); return dt; }""")
        page.dispatch_event(zone, "dragenter", {"dataTransfer": dragged})
        overlay = f"{zone} > input + div > span:only-child"
        page.locator(overlay).first.wait_for(state="attached")
        seen = page.evaluate(SHOWN, overlay)
        shot(page, "widget-words-register-dragging")
        # "Drag and drop a file here" at size 0
        assert seen["texts"] and seen["after"] == '"将文件拖放到这里"' and drawn(seen) == [], seen


def test_an_empty_date_input_asks_for_year_month_and_day_in_the_users_language(stack: dict) -> None:
    with chromium() as browser:
        page: Any = sign_in(browser, stack, "nike.agent", "/apply")
        if page.get_by_role("button", name="Sign out").count():  # a foreign rights holder starts in English
            chinese(page)
        part = '[data-testid="stDateInput"] [role="spinbutton"][data-placeholder="true"][data-type="{}"]'
        page.locator(part.format("year")).first.wait_for()
        shot(page, "widget-words-apply-date")
        for kind, words in (("year", "年"), ("month", "月"), ("day", "日")):
            seen = page.evaluate(SHOWN, part.format(kind))
            assert seen["texts"] and seen["after"] == f'"{words}"' and drawn(seen) == [], (kind, seen)  # "yyyy" at size 0


@pytest.fixture(scope="module")
def room(stack: dict) -> int:
    """An open viewing room (CHANEL's notice of a confirmed seizure)."""
    from models.types import utcnow
    from services.cases import open_case
    from services.demo import seed_shipment
    from services.viewing import decide_viewing, open_room, request_viewing
    from tests.support import confirm

    shipment = seed_shipment(utcnow())
    shipment["declaration_no"] = "010120261205000777"
    with app_database(stack):
        case = open_case(shipment=shipment, actor="site.wang")
        confirm(case.number, now=utcnow())
        notice = next(n for n in case.notices if "CHANEL" in n.brands)
        v = request_viewing(actor="chanel.agent", notice_id=notice.id)
        decide_viewing(viewing_id=v.id, actor="ipr.li", approve=True)
        open_room(viewing_id=v.id, actor="site.wang")
        return v.id


def test_the_camera_button_speaks_the_users_language(stack: dict, room: int) -> None:
    with chromium() as browser:
        page: Any = sign_in(browser, stack, "site.wang", f"/viewing?viewing={room}", permissions=["camera"])
        click(page.get_by_text("使用摄像头"))
        button = '[data-testid="stCameraInputButton"]'
        page.locator(button).first.wait_for()
        seen = page.evaluate(SHOWN, button)
        shot(page, "widget-words-camera")
        assert seen["texts"] and seen["after"] == '"拍照"' and drawn(seen) == [], seen  # "Take Photo" at size 0



LABELS = """() => {
    const attr = (sel, a) => document.querySelector(sel)?.getAttribute(a) ?? null;
    return {
        lang: document.documentElement.lang,
        skip: document.querySelector('[data-testid="stSkipToContent"]')?.textContent ?? null,
        collapse: attr('[data-testid="stSidebarCollapseButton"] button, [data-testid="stSidebar"] [data-testid="stBaseButton-headerNoPadding"]', 'aria-label'),
        calendar: attr('[data-testid="stDateInputCalendarButton"]', 'aria-label'),
        day: attr('[data-testid="stDateInput"] [role="spinbutton"][data-type="day"]', 'aria-label'),
        described: [...document.querySelectorAll('[id^="react-aria-description"]')].map(d => d.textContent),
        english: [...document.querySelectorAll('[aria-label],[title],[placeholder]')]
            .flatMap(el => ['aria-label', 'title', 'placeholder'].map(a => el.getAttribute(a)))
            .filter(v => v && /^[A-Za-z][A-Za-z/ ,]+$/.test(v)),
    };
}"""


def test_screen_readers_hear_streamlits_own_words_in_the_users_language(stack: dict) -> None:
    with chromium() as browser:
        page: Any = sign_in(browser, stack, "site.wang", "/register")
        page.locator('[data-testid="stDateInputCalendarButton"]').first.wait_for()
        page.wait_for_function("() => document.documentElement.lang === 'zh-CN'")
        seen = page.evaluate(LABELS)
        assert seen["skip"] == "跳到主要内容" and seen["collapse"] == "收起侧边栏", seen
        assert seen["calendar"] == "选择日期" and seen["day"] == "查获日期（日）", seen  # our label kept, Streamlit's word replaced
        assert seen["english"] == [], seen  # no English label left for a screen reader
        # the seizure's date and time as the screen reader describes them: "Selected Date: December 6, 2026"
        assert seen["described"] and all(d.startswith(("已选日期：", "已选时间：")) for d in seen["described"]), seen
        assert any(re.fullmatch(r"已选日期：\d{4}年\d{1,2}月\d{1,2}日", d) for d in seen["described"]), seen
        english(page)  # the originals come back with English
        page.wait_for_function("() => document.documentElement.lang === 'en'")
        page.wait_for_function("() => document.querySelector('[data-testid=\"stDateInputCalendarButton\"]')"
                               "?.getAttribute('aria-label') === 'Choose date'")
        back = page.evaluate(LABELS)
        assert back["skip"] == "Skip to main content" and back["collapse"] == "Collapse sidebar", back
        chinese(page)  # the account's own language again, for the tests after
        page.wait_for_function("() => document.documentElement.lang === 'zh-CN'")


def test_on_a_phone_with_the_sidebar_folded_away_the_words_are_replaced_too(stack: dict) -> None:
    with chromium() as browser:
        page: Any = sign_in(browser, stack, "site.liu", "/register", viewport={"width": 390, "height": 844},
                            is_mobile=True, has_touch=True)
        page.locator('[data-testid="stDateInputCalendarButton"]').first.wait_for()
        page.wait_for_function("() => document.documentElement.lang === 'zh-CN'")
        seen = page.evaluate(LABELS)
        assert seen["calendar"] == "选择日期" and seen["english"] == [], seen
