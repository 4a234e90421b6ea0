"""The demo data reads as a Chinese office's data (issue 16): goods described in Chinese as a declaration
words them, rights holders' guides written in Chinese for customs, the consignor named in Chinese; a
Latin word is a mark or code as printed on the goods. Legal names of rights holders stay as registered."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from adapters.pdf import latin_working_characters, working_characters
from models.schemas import ShipmentIn
from services.demo import DEMO_FILE, seed_shipment

#: Latin words the goods and the guides carry as printed on the goods (marks, model names, codes).
PRINTED_ON_GOODS = {"CC", "LV", "Swoosh", "Boost", "Controllato", "RFID"}


def _demo() -> dict:
    return json.loads(DEMO_FILE.read_text(encoding="utf-8"))


def _what_users_read(demo: dict) -> list[str]:
    return [*(ln["description"] for ln in demo["seed_lines"]),
            *(item for rh in demo["rights_holders"] for item in rh["guide"]),
            *(c["name"] for c in demo["consignors"])]


def test_goods_guides_and_the_consignor_are_in_chinese_with_marks_as_printed() -> None:
    for text in _what_users_read(_demo()):
        assert re.search(r"[\u4e00-\u9fff]", text), text
        assert set(re.findall(r"[A-Za-z]+", text)) <= PRINTED_ON_GOODS, text


def test_every_printed_string_of_the_demo_is_set_in_the_working_faces() -> None:
    """Documents name the goods, the consignor and the rights holders: a character outside GB 2312 and the
    Latin working set would set every document of the demo in the whole (slower) faces."""
    demo = _demo()
    working = working_characters() | latin_working_characters()
    printed = [*_what_users_read(demo), *(rh["name"] for rh in demo["rights_holders"]),
               *(o["name"] for o in demo["customs_offices"])]
    for text in printed:
        assert all(ord(ch) in working for ch in text), text


def test_shipments_seeded_in_the_same_minute_have_declaration_numbers_of_their_own() -> None:
    """The stack tests seed many shipments a minute into one database; the last layout (the minute and two
    random digits) collided there once. The number is the office, the year, the export flag and a serial."""
    found = datetime(2026, 12, 7, 12, 27, tzinfo=timezone.utc)
    numbers = [seed_shipment(found)["declaration_no"] for _ in range(200)]
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"0101" r"2026" r"0" r"[0-9]{9}", n) for n in numbers), numbers[:3]
    ShipmentIn.model_validate(seed_shipment(found))
