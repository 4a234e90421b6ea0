"""The case page: an IPR officer records the consignor's counter-bond on a detained patent line (it is
released) and then the rights holder's court filing (customs keeps the counter-bond); refusals name the
field and write nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from models.tables import CounterBond, Recordation
from services.answers import record_answer
from services.bonds import record_bond_receipt
from services.cases import get_case
from tests.support import open_confirmed, session_scope
from tests.ui.test_pages import app_as, texts
from ui.i18n import t


@pytest.fixture
def patent_case(sqlite_db_now: str) -> Any:
    """ROLEX watches (recorded here as a patent) and NIKE shoes (a trademark), both detained."""
    with session_scope() as s:
        rec = s.exec(select(Recordation).where(Recordation.brand == "ROLEX")).one()
        rec.right_type = "patent"
        s.add(rec)
    found = datetime.now().astimezone() - timedelta(hours=2)
    case = open_confirmed({"declaration_no": "010120260302000019", "direction": "export",
                           "customs_office": "Capital Airport Customs",
                           "consignor": {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"},
                           "found_at": found.isoformat(),
                           "lines": [{"description": "Watches marked ROLEX", "brand": "ROLEX", "quantity": 4,
                                      "unit": "pcs", "value": "16000.00"},
                                     {"description": "Shoes marked NIKE", "brand": "NIKE", "quantity": 4,
                                      "unit": "pairs", "value": "9000.00"}]}, now=found)
    for i, (brand, value) in enumerate((("ROLEX", "16000.00"), ("NIKE", "9000.00"))):
        n = next(n for n in case.notices if brand in n.brands)
        number = next(ln.number for ln in case.lines if ln.brand == brand)
        at = found + timedelta(minutes=10 + 40 * i)
        record_answer(notice_id=n.id, actor=f"{brand.lower()}.agent", now=at,
                      answer={"verdicts": {number: "infringing"}, "detain": True, "bond": value})
        record_bond_receipt(notice_id=n.id, actor="ipr.li", now=at + timedelta(minutes=20),
                            receipt={"form": "deposit", "amount": value})
    return get_case(case_number=case.number, actor="ipr.li")


def _counter_bonds() -> int:
    with session_scope(readonly=True) as s:
        return len(s.exec(select(CounterBond)).all())


def test_an_officer_records_the_counter_bond_then_the_court_filing_on_the_case_page(patent_case: Any) -> None:
    assert {ln.brand: ln.state for ln in patent_case.lines} == {"ROLEX": "detained", "NIKE": "detained"}
    at = app_as("ipr.li", "views/case.py", {"case": patent_case.number})
    assert t("counter_bond.title", "en") in texts(at)
    rolex = next(ln.number for ln in patent_case.lines if ln.brand == "ROLEX")
    assert at.selectbox(key="case.counter_bond.line").options == [t("counter_bond.line", "en", n=rolex,
                                                                    value="CN¥16,000.00")]  # the patent line only

    # a guarantee letter short of the value, and without its bank: refused naming the fields, nothing written
    at.selectbox(key="case.counter_bond.form").set_value("guarantee")
    at.text_input(key="case.counter_bond.amount").input("15000")
    at.text_input(key="case.counter_bond.letter_no").input("BG-2026-0301")
    at.button(key="FormSubmitter:case.counter_bond-" + t("counter_bond.record", "en")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error)
    assert "bank" in errors and _counter_bonds() == 0, errors
    at.text_input(key="case.counter_bond.bank").input("中国银行北京分行")
    at.button(key="FormSubmitter:case.counter_bond-" + t("counter_bond.record", "en")).click().run()
    errors = " ".join(e.value for e in at.error)
    assert t("field.amount", "en") in errors and "16000" in errors and _counter_bonds() == 0, errors

    at.text_input(key="case.counter_bond.amount").input("16000.00")
    at.button(key="FormSubmitter:case.counter_bond-" + t("counter_bond.record", "en")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == [t("counter_bond.recorded", "en", n=rolex)]
    assert {ln.brand: ln.state for ln in get_case(case_number=patent_case.number, actor="ipr.li").lines} == {
        "ROLEX": "released", "NIKE": "detained"}
    assert _counter_bonds() == 1

    # the counter-bond is held: the form for the court filing, refusals per field
    assert at.selectbox(key="case.court_filing.line").options == [str(rolex)]
    at.text_input(key="case.court_filing.reference").input("(2026)京73民初1号")
    at.button(key="FormSubmitter:case.court_filing-" + t("court_filing.record", "en")).click().run()
    assert any(t("field.court", "en") in e.value for e in at.error), [e.value for e in at.error]
    at.text_input(key="case.court_filing.court").input("北京知识产权法院")
    at.button(key="FormSubmitter:case.court_filing-" + t("court_filing.record", "en")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == [t("court_filing.recorded", "en", n=rolex)]
    with session_scope(readonly=True) as s:
        cb = s.exec(select(CounterBond)).one()
        assert (cb.state, cb.court, cb.court_reference) == ("kept", "北京知识产权法院", "(2026)京73民初1号")
    assert t("counter_bond.title", "en") not in texts(at)  # nothing left to record


def test_a_site_officer_sees_no_counter_bond_form(patent_case: Any) -> None:
    at = app_as("site.wang", "views/case.py", {"case": patent_case.number})
    assert t("counter_bond.title", "en") not in texts(at)
    assert not [f for f in at.selectbox if f.key == "case.counter_bond.line"]
