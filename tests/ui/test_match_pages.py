"""以图识图 in the app: the register page offers identification from a photo, and a rights holder's
portal lists its own recordations' images (and no one else's)."""

from __future__ import annotations

from tests.ui.test_pages import app_as, texts
from ui.i18n import t


def test_the_register_page_offers_identification_from_a_photo(sqlite_db: str) -> None:
    at = app_as("site.wang", "views/register.py")
    assert t("identify", "en") in [e.label for e in at.expander]
    assert at.number_input(key="register.identify_line").value == 1


def test_a_rights_holder_sees_its_own_recordations_to_add_images(sqlite_db: str) -> None:
    at = app_as("nike.agent", "views/portal.py")
    body = texts(at)
    assert "T2019-40002" in body and "NIKE" in body
    assert "T2019-40001" not in body
    assert t("my_marks", "en") in [e.label for e in at.expander]
