"""A task's title in the reader's language, rendered from its kind and its facts (待办任务标题).

``Task.title`` stays in the database as it was written (an English sentence, or a "中文 / English"
pair): older tasks and other readers keep it. The inbox, the case page and the board show
``render_title(kind, facts, lang, stored=task.title)`` instead: the first template of the kind whose
facts are all known, else the stored title. Pure: no database, no clock, no Streamlit.

The facts ``services.tasks.task_facts`` gathers for a task (a fact missing is simply absent):

| fact | what it is |
|---|---|
| ``case`` | the case number (YQ-...) |
| ``line``, ``brand`` | the line's number and brand (investigate, dispose, review_statement) |
| ``notice`` | the confirmation notice's id |
| ``amount`` | the bond required, RMB, written out (check_bond, review_application) |
| ``viewing``, ``requester``, ``lines`` | the viewing's id, who asked for it, its line numbers |
| ``document``, ``number`` | the document to serve by other means: its name (中文, English) and number |
| ``year`` | the year whose working-day schedule is missing (load_calendar) |

A fact given as a pair ``(中文, English)`` is shown in the reader's language.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from models.enums import TaskKind

LANGS = ("zh", "en")
#: every fact ``services.tasks.task_facts`` can give (the table above); a template names no other
FACTS = frozenset({"case", "line", "brand", "notice", "amount", "viewing", "requester", "lines", "document", "number",
                   "year"})

#: kind -> its templates (中文, English), most specific first; each names the facts it needs.
TITLES: dict[TaskKind, tuple[tuple[str, str], ...]] = {
    TaskKind.CONFIRM_SEIZURE: (
        ("核对案件 {case} 的货物与知识产权备案是否相符", "Confirm the lines of {case} against the recordations"),
    ),
    TaskKind.APPROVE_VIEWING: (
        ("审批 {requester} 对案件 {case} 的看货申请（货物 {lines}）",
         "Viewing asked by {requester} on {case} (lines {lines})"),
        ("审批案件 {case} 的看货申请", "Decide on a viewing request of {case}"),
    ),
    TaskKind.ATTEND_VIEWING: (
        ("开启案件 {case} 的看货室 {viewing} 并按要求拍摄",
         "Open the viewing room {viewing} of {case} and capture the shots asked for"),
        ("参加案件 {case} 的看货并拍摄", "Attend the viewing of {case} and capture the shots asked for"),
    ),
    TaskKind.CHECK_BOND: (
        ("案件 {case}（通知 {notice}）待收担保人民币 {amount} 元：收到后登记",
         "Bond of RMB {amount} awaited for {case} (notice {notice}): record its receipt"),
        ("案件 {case} 待收担保：收到后登记", "Bond awaited for {case}: record its receipt"),
    ),
    TaskKind.SIGN_DETENTION: (
        ("签发案件 {case}（通知 {notice}）的扣留", "Sign the detention of {case} (notice {notice})"),
        ("签发案件 {case} 的扣留", "Sign the detention of {case}"),
    ),
    TaskKind.INVESTIGATE: (
        ("调查扣留货物 {case}/{line}（{brand}）", "Investigate detained line {case}/{line} ({brand})"),
    ),
    TaskKind.SERVE_MANUALLY: (
        ("邮件未能送达：以其他方式送达{document} {number}（案件 {case}）",
         "Mail failed: serve {document} {number} of {case} by other means"),
        ("邮件未能送达：以其他方式送达案件 {case} 的文书", "Mail failed: serve a document of {case} by other means"),
    ),
    TaskKind.LOAD_CALENDAR: (
        ("导入 {year} 年工作日安排：案件 {case} 的期限无法计算",
         "Load the official {year} working-day schedule: a deadline of {case} cannot be computed"),
        ("导入 {year} 年工作日安排（国务院办公厅节假日安排），须在 1 月 1 日前",
         "Load the official {year} working-day schedule before 1 January"),
    ),
    TaskKind.DISPOSE: (
        ("处置没收货物 {case}/{line}（{brand}）（条例第二十七条）",
         "Dispose of confiscated line {case}/{line} ({brand}) (Reg 27)"),
    ),
    TaskKind.SETTLE_BOND: (
        ("结算通知 {notice}（案件 {case}）的担保：扣除费用，退还余额",
         "Settle the bond of notice {notice} ({case}): costs, then refund"),
    ),
    TaskKind.REVIEW_APPLICATION: (
        ("审查案件 {case} 的扣留申请：收到人民币 {amount} 元担保后扣留，或书面驳回（条例第十五条）",
         "Review the detention application {case}: detain once a bond of RMB {amount} is received, or reject it "
         "in writing (Reg 15)"),
        ("审查案件 {case} 的扣留申请（条例第十三至十五条）", "Review the detention application {case} (Reg 13-15)"),
    ),
    TaskKind.AWAIT_COURT: (
        ("依申请扣留的货物 {case}/{line}（{brand}）：登记法院协助执行通知，20 个工作日内未收到则放行",
         "Detained on application {case}/{line} ({brand}): record the court notice; released after 20 working "
         "days without one"),
    ),
    TaskKind.REFUND_COUNTER_BOND: (
        ("退还收发货人对 {case}/{line}（{brand}）提供的反担保：权利人未在 30 个工作日内向法院起诉",
         "Refund the consignor's counter-bond on {case}/{line} ({brand}): no court filing within 30 working days"),
        ("退还案件 {case} 的反担保", "Refund the counter-bond of {case}"),
    ),
    TaskKind.REVIEW_STATEMENT: (
        ("审查收发货人对案件 {case} 的陈述（条例第十八条）", "Review the consignor's statement on {case} (Reg 18)"),
    ),
}


def fields_of(template: str) -> set[str]:
    """The facts a template names."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _in(value: object, lang: str) -> str:
    if isinstance(value, list | tuple) and len(value) == 2:  # a fact in two languages
        return str(value[0] if lang == "zh" else value[1])
    return str(value)


def render_title(kind: str, facts: Mapping[str, object], lang: str, *, stored: str = "") -> str:
    """The task's title in ``lang`` ("zh" or "en"): the kind's first template whose facts are all known;
    the stored title when none is (an older task, a kind without templates)."""
    try:
        templates = TITLES[TaskKind(kind)]
    except (ValueError, KeyError):
        return stored
    known = {k: _in(v, lang) for k, v in facts.items() if v is not None and v != ""}
    for pair in templates:
        template = pair[0] if lang == "zh" else pair[1]
        if fields_of(template) <= known.keys():
            return template.format(**known)
    return stored
