"""What a browser walkthrough in Chinese found in English or in code, each now in words: column headers
("id"), the choice widgets' own texts ("Choose options", "Select all"), units ("pcs"), the system's own
acts ("system"), the timeline's details ("quantity: 12; match_flags: no-class-stated"), a customs office
in English, and a refused field named by its code ("grounds")."""

from __future__ import annotations

from ui.i18n import t
from ui.labels import change_text, field_name
from tests.ui.test_pages import app_as, seed_case, texts, unconfirmed_case  # noqa: F401 - fixtures

ENGLISH_WIDGET_TEXTS = ("Choose options", "Choose an option")


def test_the_inbox_in_chinese_has_no_code_column_and_no_english_choices(unconfirmed_case) -> None:  # noqa: ANN001
    from services.tasks import inbox

    (task,) = [k for k in inbox(actor="ipr.li") if k.kind == "confirm_seizure"]
    at = app_as("ipr.li", "views/inbox.py", {"task": str(task.id)}, lang="zh")
    (table,) = [df.value for df in at.dataframe if "任务类型" in df.value.columns]
    assert table.index.name == "编号" and "id" not in table.columns
    for box in at.multiselect:
        assert box.placeholder == t("choose_options", "zh"), box.label
        assert box.proto.select_all == 0, box.label  # Streamlit's own "Select all" is English
    history = texts(at)
    assert "· 系统 ·" in history and "· system ·" not in history  # the task was opened by the system


def test_a_rights_holder_in_chinese_reads_a_numbered_notice_list_and_units_in_words(seed_case) -> None:  # noqa: ANN001
    from services.users import set_locale

    set_locale(actor="chanel.agent", locale="zh")
    at = app_as("chanel.agent", "views/portal.py", lang="zh")
    notices = at.dataframe[0].value
    assert "编号" in notices.columns and "id" not in notices.columns
    lines = next(df.value for df in at.dataframe if "单位" in df.value.columns)
    assert set(lines["单位"]) <= {"件", "双"}, set(lines["单位"])  # the seed shipment's "pcs" and "pairs"


def test_the_case_timeline_in_chinese_names_every_detail_in_words(seed_case) -> None:  # noqa: ANN001
    at = app_as("ipr.li", "views/case.py", {"case": seed_case.number}, lang="zh")
    shown = texts(at)
    for code in ("quantity:", "match_flags", "no-class-stated", "nice_class", "· system ·"):
        assert code not in shown, code
    assert "数量: " in shown


def test_an_administrator_in_chinese_picks_customs_offices_by_their_chinese_names(sqlite_db_now: str) -> None:
    at = app_as("admin", "views/admin.py", lang="zh")
    office = at.selectbox(key="admin.seal.office")
    assert "首都机场海关" in office.options and "Capital Airport Customs" not in office.options
    assert not any(w in texts(at) for w in ENGLISH_WIDGET_TEXTS)


def test_a_refused_application_names_each_field_in_words() -> None:
    for code, zh in (("grounds", "有关证据"), ("expected_on", "预计进出境日期"), ("transport", "运输工具"),
                     ("police_unit", "公安机关")):
        assert field_name(code, "zh") == zh
        assert field_name(code, "en") != code


def test_the_histogram_and_the_timeline_say_nothing_in_english_to_a_chinese_reader() -> None:
    from ui.parts import confirmation_histogram

    assert not any("min" in b for b in confirmation_histogram([3])["bucket"])
    assert change_text("line.suspended", None, {"quantity": 12, "match_flags": ["no-class-stated"]}, "zh") == \
        "数量: 12; 核对提示: 未注明商品类别"


def test_the_registration_form_names_the_officers_office_in_the_officers_language(sqlite_db_now: str) -> None:
    zh = app_as("site.wang", "views/register.py", lang="zh")
    assert zh.text_input(key="register.office").value == "首都机场海关"
    en = app_as("site.wang", "views/register.py", lang="en")
    assert en.text_input(key="register.office").value == "Capital Airport Customs"


def test_the_board_names_each_customs_office_in_the_managers_language(seed_case) -> None:  # noqa: ANN001
    zh = app_as("mgr.zhao", "views/board.py", lang="zh")
    cases = next(df.value for df in zh.dataframe if t("customs_office", "zh") in df.value.columns)
    assert list(cases[t("customs_office", "zh")]) == ["首都机场海关"]
    assert "Capital Airport Customs" not in texts(zh)
    en = app_as("mgr.zhao", "views/board.py", lang="en")
    cases = next(df.value for df in en.dataframe if t("customs_office", "en") in df.value.columns)
    assert list(cases[t("customs_office", "en")]) == ["Capital Airport Customs"]


def test_an_empty_table_says_so_in_words_not_with_an_empty_grid(seed_case) -> None:  # noqa: ANN001
    at = app_as("mgr.zhao", "views/board.py", lang="zh")  # no notice is near its deadline yet
    assert t("table.empty", "zh") in [c.value for c in at.caption]
    assert all(len(df.value) for df in at.dataframe)  # a grid with no rows draws "empty" in English
