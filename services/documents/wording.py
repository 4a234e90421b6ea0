"""The words of the documents: titles, number codes, the statutes cited, dates, sums of money, and why
goods are released. Values in, text out: nothing here reads the database."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from adapters.pdf import Bilingual
from models.enums import DocumentKind, Reason
from models.rules.workdays import SHANGHAI


KIND_CODE: dict[DocumentKind, str] = {
    DocumentKind.CONFIRMATION_NOTICE: "CN",
    DocumentKind.DETENTION_NOTICE: "DN",
    DocumentKind.DETENTION_RECEIPT: "DR",
    DocumentKind.RELEASE_NOTICE: "RN",
    DocumentKind.UNDETERMINED_NOTICE: "UN",
    DocumentKind.CONFISCATION_DECISION: "CD",
    DocumentKind.TRANSFER_NOTICE: "TN",
    DocumentKind.REJECTION_NOTICE: "RJ",
}

TITLES: dict[DocumentKind, Bilingual] = {
    DocumentKind.CONFIRMATION_NOTICE: Bilingual("确权通知书", "Notice to Confirm Intellectual Property Rights"),
    DocumentKind.DETENTION_NOTICE: Bilingual("扣留通知书", "Notice of Detention"),
    DocumentKind.DETENTION_RECEIPT: Bilingual("扣留凭单", "Detention Receipt"),
    DocumentKind.RELEASE_NOTICE: Bilingual("放行通知书", "Notice of Release"),
    DocumentKind.UNDETERMINED_NOTICE: Bilingual("不能认定通知书", "Notice that Infringement Cannot Be Determined"),
    DocumentKind.CONFISCATION_DECISION: Bilingual("没收决定书", "Decision of Confiscation"),
    DocumentKind.TRANSFER_NOTICE: Bilingual("案件移送告知书", "Notice of Transfer to the Police"),
    DocumentKind.REJECTION_NOTICE: Bilingual("驳回扣留申请通知书", "Notice Rejecting an Application for Detention"),
}

REG = "《中华人民共和国知识产权海关保护条例》"
# A title inside a title takes the inner marks 〈〉 (U+3008, U+3009): the CJK font (Noto Sans CJK) has them.
MEAS = "《中华人民共和国海关关于〈中华人民共和国知识产权海关保护条例〉的实施办法》"
REG_EN = "Regulations of the People's Republic of China on Customs Protection of Intellectual Property Rights"
MEAS_EN = "GACC Measures implementing the Regulations (Order 183, amended by Order 240)"

CN_DIGITS = "〇一二三四五六七八九"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def zh_date(dt: datetime) -> str:
    d = dt.astimezone(SHANGHAI)
    return f"{d.year}年{d.month}月{d.day}日"


def en_date(dt: datetime) -> str:
    d = dt.astimezone(SHANGHAI)
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def day_text(d) -> tuple[str, str]:  # noqa: ANN001  (a date)
    return f"{d.year}年{d.month}月{d.day}日", f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def time_text(dt: datetime) -> tuple[str, str]:
    d = dt.astimezone(SHANGHAI)
    return f"{zh_date(d)} {d:%H:%M}（北京时间）", f"{en_date(d)}, {d:%H:%M} Beijing time"


def due_text(d) -> str:  # noqa: ANN001  (a date or None)
    """A clock's last day, or why it is not known yet (its year's working-day schedule is not loaded)."""
    if d is None:
        return "待定（工作日安排尚未公布）\npending: the year's working-day schedule is not yet published"
    zh, en = day_text(d)
    return f"{zh}\n{en}"


def rmb(v: Decimal) -> str:
    return f"{v:,.2f}"


def legal_basis(zh_reg: str, zh_meas: str, en_reg: str, en_meas: str) -> Bilingual:
    zh = f"{REG}{zh_reg}" + (f"；{MEAS}{zh_meas}" if zh_meas else "") + "。"
    en = f"{REG_EN}, {en_reg}" + (f"; {MEAS_EN}, {en_meas}" if en_meas else "") + "."
    return Bilingual(zh, en)


#: the statutes a document's Chinese text cites: (full title, short title)
STATUTES = ((REG, "《条例》"), (MEAS, "《实施办法》"))


def cite_once(texts: tuple[str, ...]) -> tuple[str, ...]:
    """The Chinese text of a document cites each statute in full once, at its first mention, with the short
    title it goes by afterwards ("（以下简称《条例》）"), and by the short title everywhere after that."""
    out = list(texts)
    for full, short in STATUTES:
        first = True
        for i, text in enumerate(out):
            pieces = text.replace(full, short).split(short)
            if len(pieces) == 1:
                continue
            rebuilt = pieces[0]
            for piece in pieces[1:]:
                rebuilt += (f"{full}（以下简称{short}）" if first else short) + piece
                first = False
            out[i] = rebuilt
    return tuple(out)


RELEASE_WHY: dict[str, tuple[str, str, Bilingual]] = {
    Reason.CLEARED.value: ("权利人认为上述货物未侵犯其知识产权", "the rights holder stated that they do not infringe its rights",
                           legal_basis("第十六条", "第二十五条", "Art. 16", "Art. 25")),
    Reason.NO_DETENTION.value: ("权利人未申请扣留上述货物", "the rights holder did not apply for their detention",
                                legal_basis("第十六条", "第二十五条", "Art. 16", "Art. 25")),
    Reason.EXPIRED.value: ("权利人未在规定期限内答复", "the rights holder did not answer within the time allowed",
                           legal_basis("第十六条", "第二十五条、第四十一条", "Art. 16", "Arts. 25 and 41")),
    Reason.NO_BOND.value: ("权利人申请扣留但未在规定期限内提供担保", "the rights holder applied for detention but did not provide the bond in time",
                           legal_basis("第十六条", "第二十三条、第二十五条", "Art. 16", "Arts. 23 and 25")),
    Reason.NO_COURT_NOTICE.value: ("自扣留之日起50个工作日内未收到人民法院协助执行通知",
                                   "no court notice of assistance arrived within 50 working days of detention",
                                   legal_basis("第二十四条", "", "Art. 24", "")),
    Reason.COUNTER_BOND.value: ("收发货人已提供与货物等值的担保金", "the consignor posted a bond equal to the value of the goods",
                                legal_basis("第十九条、第二十四条", "", "Arts. 19 and 24", "")),
    Reason.NOT_MATCHED.value: ("经审核，上述货物不属于备案知识产权的保护范围（核定使用商品类别或被许可人）",
                               "on review they fall outside the recorded right (its classes of goods or its licensees)",
                               legal_basis("第十六条", "第二十一条", "Art. 16", "Art. 21")),
    Reason.STATEMENT_ACCEPTED.value: ("收发货人书面说明理由并附送证据，本关审查后予以采纳",
                                      "this office accepted the consignor's written statement and evidence",
                                      legal_basis("第十八条、第二十四条", "", "Arts. 18 and 24", "")),
    Reason.NOT_INFRINGING.value: ("经调查，本关认定上述货物未侵犯知识产权", "this office's investigation found no infringement",
                                  legal_basis("第二十条、第二十四条", "第二十八条", "Arts. 20 and 24", "Art. 28")),
    Reason.NO_COURT_ORDER.value: ("自依权利人申请扣留之日起20个工作日内未收到人民法院协助执行通知",
                                  "no court notice of assistance arrived within 20 working days of their detention on "
                                  "the rights holder's application",
                                  legal_basis("第二十四条第（一）项", "", "Art. 24(1)", "")),
    Reason.WITHDRAWN.value: ("权利人撤回了扣留申请", "the rights holder withdrew its application for detention",
                             legal_basis("第二十四条", "", "Art. 24", "")),
}
