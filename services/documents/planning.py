"""Which documents an act calls for, to whom, and what each says: the confirmation notice of a notice,
and the documents of a decision by its kind (see the table in ``services.documents``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session, col, select

from adapters.pdf import Bilingual, GoodsTable
from models.enums import DocumentKind, LineState, Reason, Route
from models.rules.bonds import ex_officio_bond
from models.rules.errors import InvalidInput, NotFound
from models.tables import Answer, Case, Decision, GeneralBond, Line, Notice, Recordation, RightsHolder
from services.cases import consignor_knows
from services.documents.drafting import (
    Facts,
    Planned,
    case_facts,
    consignor_row,
    direction,
    document_number,
    goods_table,
    legal_document,
    recordations_of,
)
from services.documents.wording import (
    MEAS,
    REG,
    RELEASE_WHY,
    day_text,
    due_text,
    en_date,
    legal_basis,
    rmb,
    time_text,
    zh_date,
)
from services.unit_of_work import settings_of


def plan_confirmation(s: Session, notice: Notice) -> Planned:
    """确权通知书 to the rights holder: the lines concerned, the deadline, how to answer (Reg 16, Meas 41).

    The portal's address in the notice is that of the unit of work that opened ``s``."""
    f = case_facts(s, notice.case_id)
    if f.case.route == Route.APPLICATION:
        raise InvalidInput("notice_id", "{case} is a rights holder's application: there is no confirmation notice",
                           case=f.case.number)
    holder = s.get(RightsHolder, notice.rights_holder_id)
    if holder is None:
        raise NotFound("rights holder", notice.rights_holder_id)
    lines = list(s.exec(select(Line).where(Line.notice_id == notice.id).order_by(Line.number)))
    kind = DocumentKind.CONFIRMATION_NOTICE
    number = document_number(office_code=f.office.code, kind=kind, dated=notice.issued_at, source_id=notice.id)  # type: ignore[arg-type]
    public_url = settings_of(s).public_url
    suspended = (Bilingual("中止放行日期", "Release suspended on"),
                 f"{zh_date(notice.issued_at)} / {en_date(notice.issued_at)}")
    doc = legal_document(kind, number, f, notice.issued_at, (suspended, consignor_row(f)),
                         holder.name, (_confirmation_opening(f, holder),),
                         goods_table(lines, recordations_of(s, lines)),
                         (_answer_deadline(notice), _how_to_answer(public_url), _bond_required(lines),
                          _VIEWING, _SILENCE),
                         legal_basis("第十六条、第十七条",
                                     "第二十一条、第二十二条、第二十三条、第二十四条、第二十五条、第三十八条、第四十一条",
                                     "Arts. 16 and 17", "Arts. 21, 22, 23, 24, 25, 38 and 41"),
                         public_url=public_url)
    return Planned(kind, number, f"documents/{f.case.number}/{number}.pdf", f.case.id, f.case.number,  # type: ignore[arg-type]
                   notice.id, None, holder.id, None, holder.name, doc)


def _confirmation_opening(f: Facts, holder: RightsHolder) -> Bilingual:
    """Why the holder is written to: goods of a declaration suspected of infringing its recorded rights
    (Reg 16, Meas 21)."""
    dzh, den = direction(f)
    return Bilingual(
        f"{holder.name}：本关在对{dzh}报关单（编号{f.shipment.declaration_no}）项下货物查验中，发现下列货物涉嫌侵犯"
        f"贵方已在海关总署备案的知识产权。依照{REG}第十六条和{MEAS}第二十一条的规定，本关已中止放行下列货物，现书面通知贵方。",
        f"In inspecting the goods of {den} declaration no. {f.shipment.declaration_no}, this office found the goods "
        "listed below suspected of infringing intellectual property rights of yours recorded with the General "
        "Administration of Customs. Under Article 16 of the Regulations and Article 21 of the Measures, their release "
        "has been suspended, of which you are hereby notified.",
    )


def _answer_deadline(notice: Notice) -> Bilingual:
    """The answer's last day once the notice is served; before service, how it will be counted (Meas 41)."""
    if notice.deadline is not None and notice.served_at is not None:
        szh, sen = time_text(notice.served_at)
        lzh, len_ = day_text(notice.deadline)
        return Bilingual(
            f"本通知已于{szh}送达。请贵方自送达之次日起3个工作日内，即于{lzh}24:00（北京时间）前予以答复"
            f"（《条例》第十六条，{MEAS}第二十二条、第四十一条）。",
            f"This notice was served on {sen}. Please answer within 3 working days counted from the day after service, "
            f"that is by 24:00 Beijing time on {len_} (Regulations, Art. 16; Measures, Arts. 22 and 41).",
        )
    return Bilingual(
        f"请贵方自本通知送达之次日起3个工作日内予以答复（《条例》第十六条，{MEAS}第二十二条、第四十一条）。"
        "答复期限的最后一日按送达时间计算，送达后在云确门户中显示。",
        "Please answer within 3 working days counted from the day after this notice is served (Regulations, "
        "Art. 16; Measures, Arts. 22 and 41). "
        "The last day is computed from the moment of service and shown in the Yunque portal once served.",
    )


def _how_to_answer(public_url: str) -> Bilingual:
    """Answering in the portal at ``public_url``, and applying for detention with the bond (Meas 23, 24)."""
    portal = public_url.rstrip("/")
    return Bilingual(
        f"答复方式：登录云确门户（{portal}），打开本通知，对每项货物作出认定（侵权或不侵权）。认为侵权并要求海关扣留的，"
        f"应在答复中提出扣留申请，并按规定提供担保（{MEAS}第二十三条、第二十四条）。",
        f"How to answer: sign in to the Yunque portal ({portal}), open this notice and give a verdict for each line "
        "(infringing or not infringing). To have infringing goods detained, apply for detention in the same answer and "
        "provide the bond required (Measures, Arts. 23 and 24).",
    )


def _bond_required(lines: list[Line]) -> Bilingual:
    """The bond that detaining all the lines requires, and the forms it may take (Meas 23, 24, 38)."""
    required = ex_officio_bond(sum((ln.value for ln in lines), Decimal("0")))
    return Bilingual(
        f"担保：扣留上述全部货物须提供人民币{rmb(required)}元的担保（货物价值按{MEAS}第二十三条计算；只申请扣留部分货物的，"
        "按该部分货物的价值计算）。担保可以是向本关缴纳的保证金，或者银行出具的保函（写明金额、银行和保函编号，"
        f"原件或扫描件交本关），经本关收取并审核后扣留货物（{MEAS}第三十八条）；已向海关总署提供有效总担保的，"
        f"可以在答复中选择以总担保提供（{MEAS}第二十四条）。",
        f"Bond: detaining all the goods listed requires a bond of RMB {rmb(required)} (Measures, Art. 23, on their "
        "value; for part of the goods, on the value of that part). It is a deposit paid to this office or a bank "
        "guarantee letter (stating its amount, bank and letter number, the original or a scan delivered to this "
        "office); the goods are detained once this office has received and checked it (Measures, Art. 38). A rights "
        "holder with a valid general bond (总担保) may choose it in its answer instead (Measures, Art. 24).",
    )


#: viewing the goods remotely or on site (Reg 17)
_VIEWING = Bilingual(
    "查看货物：贵方可在门户中申请远程查看（云确）或到现场查看货物，经海关同意后进行（《条例》第十七条）。",
    "Viewing the goods: you may ask in the portal to view the goods remotely (云确, a live session with the "
    "inspection site) or on site; customs approves the viewing (Regulations, Art. 17).",
)

#: what silence, or detention asked without a bond, leads to (Reg 16, Meas 25)
_SILENCE = Bilingual(
    "逾期未答复，或者要求扣留但未按规定提供担保的，海关将放行上述货物（《条例》第十六条，《实施办法》第二十五条）。",
    "If you do not answer by the deadline, or ask for detention without providing the bond, customs will release "
    "the goods (Regulations, Art. 16; Measures, Art. 25).",
)


def _decision_lines(s: Session, decision: Decision) -> list[Line]:
    return list(s.exec(select(Line).where(col(Line.id).in_(decision.line_ids)).order_by(Line.number)))


def _by_holder(lines: list[Line]) -> dict[int, list[Line]]:
    out: dict[int, list[Line]] = {}
    for ln in lines:
        out.setdefault(ln.rights_holder_id, []).append(ln)
    return out


def plan_decision(s: Session, decision: Decision) -> list[Planned]:
    """The documents a decision calls for, by its kind (see the table in the docstring of ``services.documents``)."""
    lines = _decision_lines(s, decision)
    if not lines:
        return []
    f = case_facts(s, decision.case_id)
    recs = recordations_of(s, lines)
    holders = {h.id: h for h in s.exec(select(RightsHolder).where(col(RightsHolder.id).in_({ln.rights_holder_id for ln in lines})))}
    at = decision.decided_at
    public_url = settings_of(s).public_url

    def plan(kind: DocumentKind, to_holder: RightsHolder | None, extra: tuple, paragraphs: tuple,
             goods: GoodsTable, after: tuple, basis: Bilingual) -> Planned:
        who = f"R{to_holder.id}" if to_holder is not None else f"C{f.consignor.id}"
        number = document_number(office_code=f.office.code, kind=kind, dated=at, source_id=decision.id, addressee=who)  # type: ignore[arg-type]
        to = to_holder.name if to_holder is not None else f"{f.consignor.name}（统一社会信用代码 USCC {f.consignor.uscc}）"
        doc = legal_document(kind, number, f, at, extra, to, paragraphs, goods, after, basis,
                             public_url=public_url)
        return Planned(kind, number, f"documents/{f.case.number}/{number}.pdf", f.case.id, f.case.number,  # type: ignore[arg-type]
                       decision.notice_id, decision.id, to_holder.id if to_holder else None,
                       None if to_holder else f.consignor.id, to_holder.name if to_holder else f.consignor.name, doc)

    c = _DecisionPlan(s, decision, f, lines, recs, holders, plan)
    if decision.reason == Reason.APPLICATION_REJECTED.value:
        return _plan_rejection(c)
    if decision.reason == Reason.APPLICATION_ACCEPTED.value:
        return _plan_detention_on_application(c)
    by_kind = {LineState.RELEASED.value: _plan_release, LineState.DETAINED.value: _plan_detention,
               LineState.UNDETERMINED.value: _plan_undetermined, LineState.CONFISCATED.value: _plan_confiscation,
               LineState.TRANSFERRED.value: _plan_transfer}
    planner = by_kind.get(decision.kind)
    return planner(c) if planner is not None else []


@dataclass(frozen=True)
class _DecisionPlan:
    """What every document of one decision is written from."""

    s: Session
    decision: Decision
    f: Facts
    lines: list[Line]
    recs: dict[int, Recordation]
    holders: dict[int, RightsHolder]
    plan: Callable[..., Planned]


def _plan_release(c: _DecisionPlan) -> list[Planned]:
    """放行通知书 to each rights holder of the lines and, unless the goods were never held, to the consignor."""
    decision, f, lines, recs, holders, plan = c.decision, c.f, c.lines, c.recs, c.holders, c.plan
    at = decision.decided_at
    dzh, den = direction(f)
    decl = f.shipment.declaration_no
    out: list[Planned] = []
    why_zh, why_en, basis = RELEASE_WHY.get(decision.reason, ("", "", legal_basis("第二十四条", "", "Art. 24", "")))
    day = ((Bilingual("放行日期", "Released on"), f"{zh_date(at)} / {en_date(at)}"),)
    for holder_id, hl in sorted(_by_holder(lines).items()):
        para = Bilingual(f"{dzh}报关单（编号{decl}）项下的下列货物，因{why_zh}，本关决定予以放行。",
                         f"The goods listed below, of {den} declaration no. {decl}, are released because {why_en}.")
        out.append(plan(DocumentKind.RELEASE_NOTICE, holders[holder_id], day, (para,), goods_table(hl, recs), (), basis))
    para = Bilingual(f"你单位{dzh}报关单（编号{decl}）项下的下列货物，因{why_zh}，本关决定予以放行。",
                     f"The goods listed below, of your {den} declaration no. {decl}, are released because {why_en}.")
    if consignor_knows(f.case):  # an application withdrawn before any detention never concerned the consignor
        out.append(plan(DocumentKind.RELEASE_NOTICE, None, day, (para,), goods_table(lines, recs, with_recordation=False),
                        (), basis))
    return out


def _plan_detention(c: _DecisionPlan) -> list[Planned]:
    """扣留通知书 to each rights holder, 扣留凭单 to the consignor (ex officio: Reg 16, 20, 24)."""
    s, decision, f, lines, recs, holders, plan = c.s, c.decision, c.f, c.lines, c.recs, c.holders, c.plan
    at = decision.decided_at
    dzh, den = direction(f)
    decl = f.shipment.declaration_no
    out: list[Planned] = []
    day = ((Bilingual("扣留日期", "Detained on"), f"{zh_date(at)} / {en_date(at)}"),)
    due = {ln.id: due_text(ln.investigation_due) for ln in lines}
    due_col = ((Bilingual("调查期限", "Investigation until"), 20, due),)
    bond = _bond_text(s, decision)
    for holder_id, hl in sorted(_by_holder(lines).items()):
        paras = [Bilingual(
            f"贵方就{dzh}报关单（编号{decl}）项下的下列货物提出了扣留申请并提供了担保。依照{REG}第十六条的规定，"
            f"本关于{zh_date(at)}扣留下列货物。",
            f"You applied for the detention of the goods listed below, of {den} declaration no. {decl}, and provided "
            f"a bond. Under Article 16 of the Regulations, this office detained them on {en_date(at)}.")]
        if bond is not None:
            paras.append(bond)
        after = (
            Bilingual("本关将自扣留之日起30个工作日内对被扣留货物是否侵犯贵方知识产权进行调查认定"
                      "（《条例》第二十条，《实施办法》第二十八条）。",
                      "This office will investigate within 30 working days of the detention whether the goods "
                      "infringe your rights (Regulations, Art. 20; Measures, Art. 28)."),
            Bilingual("贵方可以就被扣留的货物向人民法院申请采取责令停止侵权行为或者财产保全的措施；海关收到人民法院"
                      "协助执行通知的，予以协助（《条例》第二十四条）。",
                      "You may ask a people's court to order the infringement stopped or the property preserved; "
                      "customs assists on a court's notice of assistance (Regulations, Art. 24)."),
        )
        out.append(plan(DocumentKind.DETENTION_NOTICE, holders[holder_id], (*day, consignor_row(f)), tuple(paras),
                        goods_table(hl, recs, extra=due_col), after,
                        legal_basis("第十六条、第二十条、第二十四条", "第二十三条、第二十四条、第二十八条",
                                    "Arts. 16, 20 and 24", "Arts. 23, 24 and 28")))
    names_zh = "、".join(holders[h].name for h in sorted(holders))
    para = Bilingual(
        f"你单位{dzh}报关单（编号{decl}）项下的下列货物涉嫌侵犯{names_zh}已在海关总署备案的知识产权，"
        f"经权利人申请并提供担保，本关依照{REG}第十六条的规定，于{zh_date(at)}予以扣留。特此出具扣留凭单。",
        f"The goods listed below, of your {den} declaration no. {decl}, are suspected of infringing intellectual "
        f"property rights of {names_zh} recorded with the General Administration of Customs. On the rights "
        f"holder's application and bond, this office detained them on {en_date(at)} under Article 16 of the "
        "Regulations. This receipt is issued to you.")
    patent = any(r.right_type == "patent" for r in recs.values())
    after = (
        Bilingual("本关将自扣留之日起30个工作日内对货物是否侵权进行调查认定（《条例》第二十条）。你单位认为货物未侵权的，"
                  "可以向本关书面说明理由并附送证据。",
                  "This office will investigate within 30 working days of the detention whether the goods infringe "
                  "(Regulations, Art. 20). If you consider that they do not, you may say so to this office in "
                  "writing with your evidence."),
        Bilingual("涉嫌侵犯专利权的，你单位可以向海关提供与货物等值的担保金，请求海关放行货物（《条例》第十九条）。",
                  "Where the rights concerned are patents, you may post a bond equal to the value of the goods and "
                  "ask customs to release them (Regulations, Art. 19)."),
    )[: 2 if patent else 1]  # the counter-bond paragraph only where a patent is concerned
    out.append(plan(DocumentKind.DETENTION_RECEIPT, None, day, (para,),
                    goods_table(lines, recs, with_recordation=False), after,
                    legal_basis("第十六条、第十九条、第二十条", "", "Arts. 16, 19 and 20", "") if patent
                    else legal_basis("第十六条、第二十条", "", "Arts. 16 and 20", "")))
    return out


def _plan_undetermined(c: _DecisionPlan) -> list[Planned]:
    """不能认定通知书 to each rights holder and to the consignor (Reg 20, Meas 28)."""
    decision, f, lines, recs, holders, plan = c.decision, c.f, c.lines, c.recs, c.holders, c.plan
    at = decision.decided_at
    dzh, den = direction(f)
    decl = f.shipment.declaration_no
    out: list[Planned] = []
    day = ((Bilingual("认定日期", "Decided on"), f"{zh_date(at)} / {en_date(at)}"),)
    court = {ln.id: due_text(ln.court_due) for ln in lines}
    court_col = ((Bilingual("法院协助执行通知截止", "Court notice by"), 22, court),)
    for holder_id, hl in sorted(_by_holder(lines).items()):
        paras = (Bilingual(
            f"本关对扣留的{dzh}报关单（编号{decl}）项下的下列货物进行了调查，不能认定其是否侵犯贵方知识产权"
            "（《条例》第二十条，《实施办法》第二十八条）。",
            f"This office investigated the detained goods listed below, of {den} declaration no. {decl}, and cannot "
            "determine whether they infringe your rights (Regulations, Art. 20; Measures, Art. 28)."),)
        after = (Bilingual(
            "贵方可以向人民法院申请采取责令停止侵权行为或者财产保全的措施。自扣留之日起50个工作日内本关未收到人民法院"
            "协助执行通知的，本关将放行上述货物（《条例》第二十四条）。",
            "You may ask a people's court to order the infringement stopped or the property preserved. If this "
            "office receives no court notice of assistance within 50 working days of the detention (dates "
            "above), it will release the goods (Regulations, Art. 24)."),)
        out.append(plan(DocumentKind.UNDETERMINED_NOTICE, holders[holder_id], day, paras,
                        goods_table(hl, recs, extra=court_col), after,
                        legal_basis("第二十条、第二十四条", "第二十八条", "Arts. 20 and 24", "Art. 28")))
    # Reg 20, Meas 28: the consignor is told in writing too
    paras = (Bilingual(
        f"本关对扣留的你单位{dzh}报关单（编号{decl}）项下的下列货物进行了调查，不能认定其是否侵犯知识产权"
        "（《条例》第二十条，《实施办法》第二十八条）。",
        f"This office investigated the detained goods listed below, of your {den} declaration no. {decl}, and "
        "cannot determine whether they infringe intellectual property rights (Regulations, Art. 20; Measures, "
        "Art. 28)."),)
    after = (Bilingual(
        "自扣留之日起50个工作日内本关未收到人民法院协助执行通知的，本关将放行上述货物（《条例》第二十四条）。",
        "If this office receives no court notice of assistance within 50 working days of the detention (dates "
        "above), it will release the goods (Regulations, Art. 24)."),)
    out.append(plan(DocumentKind.UNDETERMINED_NOTICE, None, day, paras,
                    goods_table(lines, recs, with_recordation=False, extra=court_col), after,
                    legal_basis("第二十条、第二十四条", "第二十八条", "Arts. 20 and 24", "Art. 28")))
    return out


def _plan_confiscation(c: _DecisionPlan) -> list[Planned]:
    """没收决定书 to each rights holder and to the consignor, with the order of disposal (Reg 27)."""
    decision, f, lines, recs, holders, plan = c.decision, c.f, c.lines, c.recs, c.holders, c.plan
    at = decision.decided_at
    dzh, den = direction(f)
    decl = f.shipment.declaration_no
    out: list[Planned] = []
    day = ((Bilingual("决定日期", "Decided on"), f"{zh_date(at)} / {en_date(at)}"),)
    basis = legal_basis("第二十七条", "", "Art. 27", "")
    disposal = Bilingual(
        "没收的侵权货物，本关依照《条例》第二十七条的规定处置：可用于社会公益事业的，转交有关公益机构；权利人有收购意愿的，"
        "有偿转让给权利人；无法用于社会公益事业且权利人无收购意愿的，在消除侵权特征后依法拍卖（不能消除侵权特征的除外）；"
        "侵权特征无法消除的，予以销毁。",
        "Confiscated infringing goods are disposed of under Article 27 of the Regulations: given to a public "
        "welfare body where they can serve public welfare; sold to the rights holder where it wishes to buy them; "
        "otherwise auctioned after the infringing features are removed, where that is possible; destroyed where "
        "the features cannot be removed.")
    for holder_id, hl in sorted(_by_holder(lines).items()):
        para = Bilingual(
            f"经调查，本关认定{dzh}报关单（编号{decl}）项下的下列货物侵犯贵方知识产权，依照{REG}第二十七条的规定，"
            "决定予以没收。",
            f"Having investigated, this office finds that the goods listed below, of {den} declaration no. {decl}, "
            "infringe your rights and confiscates them under Article 27 of the Regulations.")
        out.append(plan(DocumentKind.CONFISCATION_DECISION, holders[holder_id], day, (para,), goods_table(hl, recs),
                        (disposal, Bilingual("仓储、保管和处置等费用由权利人承担，可从其担保中扣除（《条例》第二十五条，"
                                             "《实施办法》第三十五条）。",
                                             "Storage, handling and disposal costs are borne by the rights holder "
                                             "and may be deducted from its bond (Regulations, Art. 25; Measures, "
                                             "Art. 35).")), basis))
    para = Bilingual(
        f"经调查，本关认定你单位{dzh}报关单（编号{decl}）项下的下列货物侵犯他人知识产权，依照{REG}第二十七条的规定，"
        "决定予以没收。",
        f"Having investigated, this office finds that the goods listed below, of your {den} declaration no. "
        f"{decl}, infringe intellectual property rights of others and confiscates them under Article 27 of the "
        "Regulations.")
    out.append(plan(DocumentKind.CONFISCATION_DECISION, None, day, (para,),
                    goods_table(lines, recs, with_recordation=False), (disposal,), basis))
    return out


def _plan_transfer(c: _DecisionPlan) -> list[Planned]:
    """案件移送告知书 to each rights holder and to the consignor (Reg 26)."""
    decision, f, lines, recs, holders, plan = c.decision, c.f, c.lines, c.recs, c.holders, c.plan
    at = decision.decided_at
    dzh, den = direction(f)
    decl = f.shipment.declaration_no
    out: list[Planned] = []
    day = ((Bilingual("移送日期", "Transferred on"), f"{zh_date(at)} / {en_date(at)}"),)
    basis = legal_basis("第二十六条", "", "Art. 26", "")
    to_police = (f"本关发现{dzh}报关单（编号{decl}）项下的下列货物涉嫌犯罪，依照{REG}第二十六条的规定，已将案件移送公安机关"
                 f"（{decision.note}）依法处理。",
                 f"This office found the goods listed below, of {den} declaration no. {decl}, to involve a suspected "
                 f"crime and, under Article 26 of the Regulations, has transferred the case to the police "
                 f"({decision.note}).")
    for holder_id, hl in sorted(_by_holder(lines).items()):
        out.append(plan(DocumentKind.TRANSFER_NOTICE, holders[holder_id], day, (Bilingual(*to_police),),
                        goods_table(hl, recs), (), basis))
    out.append(plan(DocumentKind.TRANSFER_NOTICE, None, day, (Bilingual(*to_police),),
                    goods_table(lines, recs, with_recordation=False), (), basis))
    return out


def _plan_rejection(c: _DecisionPlan) -> list[Planned]:
    """Reg 15: an application that is not as the law requires, or without its bond, is rejected in writing.
    Only the applicant is told: the goods were never held, and the consignor never learnt of it."""
    decision, f, lines, recs, holders, plan = c.decision, c.f, c.lines, c.recs, c.holders, c.plan
    at = decision.decided_at
    dzh, den = direction(f)
    decl = f.shipment.declaration_no
    day = ((Bilingual("决定日期", "Decided on"), f"{zh_date(at)} / {en_date(at)}"),)
    out = []
    for holder_id, hl in sorted(_by_holder(lines).items()):
        paras = (Bilingual(f"贵方申请扣留{dzh}报关单（编号{decl}）项下的下列货物。经审查，本关决定驳回该申请，理由如下：",
                           f"You applied for the detention of the goods listed below, of {den} declaration no. {decl}. "
                           "Having reviewed the application, this office rejects it, for this reason:"),
                 Bilingual(decision.note, decision.note))
        after = (Bilingual("本关未扣留上述货物。", "This office has not detained the goods."),)
        out.append(plan(DocumentKind.REJECTION_NOTICE, holders[holder_id], (*day, consignor_row(f)), paras,
                        goods_table(hl, recs), after, legal_basis("第十三条、第十四条、第十五条", "", "Arts. 13, 14 and 15", "")))
    return out


def _plan_detention_on_application(c: _DecisionPlan) -> list[Planned]:
    """Reg 15: customs detains on the application and the bond, tells the applicant in writing and gives the
    consignor a detention receipt. No investigation follows: without a court's notice of assistance within 20
    working days the goods are released (Reg 24(1))."""
    s, decision, f, lines, recs, holders, plan = c.s, c.decision, c.f, c.lines, c.recs, c.holders, c.plan
    at = decision.decided_at
    dzh, den = direction(f)
    decl = f.shipment.declaration_no
    day = ((Bilingual("扣留日期", "Detained on"), f"{zh_date(at)} / {en_date(at)}"),)
    court_col = ((Bilingual("法院协助执行通知截止", "Court notice by"), 22, {ln.id: due_text(ln.court_due) for ln in lines}),)
    court = (Bilingual("自扣留之日起20个工作日内本关未收到人民法院协助执行通知的，本关将放行上述货物（《条例》第二十四条第（一）项）。",
                       "If this office receives no court notice of assistance within 20 working days of the detention "
                       "(dates above), it will release the goods (Regulations, Art. 24(1))."),)
    out = []
    bond = _bond_text(s, decision)
    for holder_id, hl in sorted(_by_holder(lines).items()):
        paras = [Bilingual(
            f"贵方申请扣留{dzh}报关单（编号{decl}）项下的下列货物并提供了担保。依照{REG}第十五条的规定，"
            f"本关于{zh_date(at)}扣留下列货物。",
            f"You applied for the detention of the goods listed below, of {den} declaration no. {decl}, and provided "
            f"a bond. Under Article 15 of the Regulations, this office detained them on {en_date(at)}.")]
        if bond is not None:
            paras.append(bond)
        after = (Bilingual("贵方可以就被扣留的货物向人民法院申请采取责令停止侵权行为或者财产保全的措施（《条例》第二十三条）。",
                           "You may ask a people's court to order the infringement stopped or the property preserved "
                           "(Regulations, Art. 23)."), *court)
        out.append(plan(DocumentKind.DETENTION_NOTICE, holders[holder_id], (*day, consignor_row(f)), tuple(paras),
                        goods_table(hl, recs, extra=court_col), after,
                        legal_basis("第十四条、第十五条、第二十三条、第二十四条", "第十五条", "Arts. 14, 15, 23 and 24",
                                    "Art. 15")))
    names_zh = "、".join(holders[h].name for h in sorted(holders))
    para = Bilingual(
        f"你单位{dzh}报关单（编号{decl}）项下的下列货物涉嫌侵犯{names_zh}的知识产权，经权利人申请并提供担保，"
        f"本关依照{REG}第十五条的规定，于{zh_date(at)}予以扣留。特此出具扣留凭单。",
        f"The goods listed below, of your {den} declaration no. {decl}, are suspected of infringing intellectual "
        f"property rights of {names_zh}. On the rights holder's application and bond, this office detained them on "
        f"{en_date(at)} under Article 15 of the Regulations. This receipt is issued to you.")
    patent = any(r.right_type == "patent" for r in recs.values())
    after = (*court,
             Bilingual("你单位认为货物未侵权的，可以向本关书面说明理由并附送证据（《条例》第十八条）。",
                       "If you consider that the goods do not infringe, you may say so to this office in writing with "
                       "your evidence (Regulations, Art. 18)."),
             Bilingual("涉嫌侵犯专利权的，你单位可以向海关提供与货物等值的担保金，请求海关放行货物（《条例》第十九条）。",
                       "Where the rights concerned are patents, you may post a bond equal to the value of the goods and "
                       "ask customs to release them (Regulations, Art. 19)."))[: 3 if patent else 2]
    out.append(plan(DocumentKind.DETENTION_RECEIPT, None, day, (para,),
                    goods_table(lines, recs, with_recordation=False, extra=court_col), after,
                    legal_basis("第十五条、第十八条、第十九条、第二十四条", "", "Arts. 15, 18, 19 and 24", "") if patent
                    else legal_basis("第十五条、第十八条、第二十四条", "", "Arts. 15, 18 and 24", "")))
    return out


def _bond_text(s: Session, decision: Decision) -> Bilingual | None:
    if decision.notice_id is None:
        return None
    answer = s.exec(select(Answer).where(Answer.notice_id == decision.notice_id)).first()
    if answer is None or answer.bond_kind is None:
        return None
    if answer.bond_kind == "general" and answer.general_bond_id is not None:
        gb = s.get(GeneralBond, answer.general_bond_id)
        ref = gb.reference if gb else ""
        return Bilingual(f"担保：总担保（编号{ref}），应缴担保金额人民币{rmb(answer.bond_required or Decimal(0))}元"
                         f"（《实施办法》第二十四条）。",
                         f"Bond: general bond (总担保) {ref}, covering the RMB {rmb(answer.bond_required or Decimal(0))} "
                         "required (Measures, Art. 24).")
    amount = answer.bond_amount or Decimal(0)
    case = s.get(Case, decision.case_id)
    if case is not None and case.route == Route.APPLICATION:  # the value of the goods (Reg 14, Meas 15)
        return Bilingual(f"担保：人民币{rmb(amount)}元（《条例》第十四条，《实施办法》第十五条）。",
                         f"Bond: RMB {rmb(amount)} (Regulations, Art. 14; Measures, Art. 15).")
    return Bilingual(f"担保：人民币{rmb(amount)}元（《实施办法》第二十三条）。",
                     f"Bond: RMB {rmb(amount)} (Measures, Art. 23).")
