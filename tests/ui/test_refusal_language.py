"""A service's refusal reaches the user in the user's language: the field named in words and the reason in
Chinese on the Chinese app (never the command line's English), in English on the English one."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from services.demo import seed_shipment
from tests.support import open_confirmed
from tests.ui.test_pages import app_as
from ui.i18n import t

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def seed_case(sqlite_db_now: str):  # noqa: ANN201
    now = datetime.now().astimezone()
    return open_confirmed(seed_shipment(now - timedelta(minutes=5)), now=now)


def _apply_for(declaration_no: str, lang: str) -> list[str]:
    """chanel.agent applies for a detention of goods under ``declaration_no``; the errors the page shows."""
    at = app_as("chanel.agent", "views/apply.py", lang=lang)
    at.session_state["apply.lines"] = {"edited_rows": {0: {"description": "Handbags", "quantity": 40,
                                                           "value": "36000.00"}}, "added_rows": [], "deleted_rows": []}
    at.text_input(key="apply.declaration_no").set_value(declaration_no)
    at.text_input(key="apply.consignor_name").set_value("重庆云通商贸有限公司")
    at.text_input(key="apply.uscc").set_value("91500000MA5U7X2K3B")
    at.text_area(key="apply.grounds").set_value("Test purchase: counterfeit.")
    next(b for b in at.button if b.label == t("apply_submit", lang)).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]  # as markdown shows them


def test_an_application_for_goods_that_already_have_a_case_is_refused_in_chinese(seed_case) -> None:  # noqa: ANN001
    errors = _apply_for(seed_case.declaration_no, "zh")
    assert errors == [f"报关单号：报关单 {seed_case.declaration_no} 在海关已有案件，请对该案的确权通知作出答复"], errors
    assert not re.search(r"[A-Za-z]{3,}", errors[0]), errors  # not a word of English


def test_the_same_refusal_reads_in_english_on_the_english_app(seed_case) -> None:  # noqa: ANN001
    errors = _apply_for(seed_case.declaration_no, "en")
    assert errors == [f"Declaration no.: declaration {seed_case.declaration_no} already has a case at customs: "
                      "answer its confirmation notice instead"], errors
    assert not CJK.search(errors[0])
