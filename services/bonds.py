"""Bonds customs receives, and their settlement when a case ends (Reg 16, 25; Meas 23, 24, 35, 38).

A rights holder's answer states the bond it applies with; an individual bond counts only once an IPR
officer records its receipt (a deposit, or a bank guarantee letter: amount, bank, letter number, scan).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator, model_validator
from sqlmodel import Session, select

from models.enums import BondForm, BondKind, LineState, NoticeState, Role, TaskKind
from models.rules.bonds import settle_bond as settle_rule
from models.rules.errors import BondInsufficient, ConcurrentUpdate, DeadlinePassed, InvalidInput, NotFound
from models.rules.workdays import SHANGHAI
from models.schemas import Strict, positive_money
from models.tables import Answer, BondReceipt, Case, CaseCost, Evidence, GeneralBond, Notice
from services.answers import cancel_notice_tasks, claimed_lines, detain_claimed, general_bond_cover, lock_notice
from services.cases import close_if_done
from services.context import Actor, load_actor, now_or, record, require_role
from services.unit_of_work import UnitOfWork, given

Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class BondReceiptIn(Strict):
    """What the officer saw: a deposit paid in, or a bank guarantee letter (Meas 38)."""

    form: BondForm
    amount: Decimal
    bank: Short = ""
    letter_no: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    evidence_id: int | None = Field(default=None, gt=0)

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, v: object, info) -> Decimal:  # noqa: ANN001
        return positive_money(v, info)

    @model_validator(mode="after")
    def _letter(self) -> BondReceiptIn:
        if self.form == BondForm.GUARANTEE and (not self.bank or not self.letter_no):
            raise ValueError("a bank guarantee letter needs its bank and letter number")
        return self


class SettleBondIn(Strict):
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


def _officer_of(s: Session, who: Actor, case: Case, action: str) -> None:
    require_role(who, action, Role.IPR_OFFICER, Role.ADMIN)
    if who.role == Role.IPR_OFFICER and who.customs_office_id != case.customs_office_id:
        raise NotFound("case", case.number)


def evidence_of_case(s: Session, case: Case, evidence_id: int | None) -> int | None:
    """An evidence id given with an act must be evidence of the same case."""
    if evidence_id is None:
        return None
    ev = s.get(Evidence, evidence_id)
    if ev is None or ev.case_id != case.id:
        raise InvalidInput("evidence_id", "no evidence {evidence_id} in case {case}", evidence_id=evidence_id, case=case.number)
    return evidence_id


def close_tasks(s: Session, *, kind: TaskKind, who: Actor, now: datetime, outcome: dict[str, Any],
                notice_id: int | None = None, line_id: int | None = None, skip: int | None = None) -> None:
    """Complete the open task of ``kind`` for this notice or line: the act was done another way."""
    from services.tasks import complete_matching_tasks

    details = {k: v for k, v in outcome.items() if k != "outcome"}
    complete_matching_tasks(s, kind=kind, case_id=None, who=who, now=now, outcome=str(outcome.get("outcome", "")),
                            details=details, notice_id=notice_id, line_id=line_id, skip=skip)


def take_bond(s: Session, *, who: Actor, case: Case, notice: Notice, answer: Answer, receipt: BondReceiptIn,
              now: datetime) -> Decimal:
    """Customs has the individual bond behind ``answer``: at least the amount required, else
    ``BondInsufficient``; the receipt is kept (Meas 38), the answer's bond accepted and the timeline told.
    Returns the amount that was required."""
    required = answer.bond_required or Decimal("0")
    if receipt.amount < required:
        raise BondInsufficient(required, receipt.amount)
    ev = evidence_of_case(s, case, receipt.evidence_id)
    s.add(BondReceipt(notice_id=notice.id, case_id=case.id, rights_holder_id=notice.rights_holder_id,  # type: ignore[arg-type]
                      form=receipt.form.value, amount=receipt.amount, bank=receipt.bank, letter_no=receipt.letter_no,
                      evidence_id=ev, received_by_id=who.id, received_at=now))
    answer.bond_kind, answer.bond_amount, answer.general_bond_id = BondKind.INDIVIDUAL.value, receipt.amount, None
    answer.bond_accepted_at = now
    s.add(answer)
    record(s, actor=who, action="bond.received", subject=f"notice:{notice.id}", at=now, case_id=case.id,
           after={"form": receipt.form.value, "amount": str(receipt.amount), "required": str(required),
                  "bank": receipt.bank, "letter_no": receipt.letter_no, "evidence_id": ev})
    return required


def record_bond_receipt_in(s: Session, *, who: Actor, notice: Notice, receipt: BondReceiptIn, now: datetime) -> dict[str, Any]:
    """Record a bond received for a pending claim and detain the claimed lines (Reg 16, Meas 38)."""
    case = s.get(Case, notice.case_id)
    assert case is not None
    _officer_of(s, who, case, "record the receipt of a bond")
    if notice.state != NoticeState.CLAIM_PENDING:
        raise ConcurrentUpdate(f"notice {notice.id}", "is {notice_state}: no detention claim awaits a bond", notice_state=notice.state)
    if notice.deadline_at is not None and now >= notice.deadline_at:
        raise DeadlinePassed(str(notice.id), notice.deadline_at.astimezone(SHANGHAI))
    ans = s.exec(select(Answer).where(Answer.notice_id == notice.id)).first()
    assert ans is not None
    required = take_bond(s, who=who, case=case, notice=notice, answer=ans, receipt=receipt, now=now)
    detain_claimed(s, case, notice, claimed_lines(s, ans), who, now)
    notice.state = NoticeState.ANSWERED.value
    notice.version += 1
    s.add(notice)
    cancel_notice_tasks(s, notice, now, keep={TaskKind.CHECK_BOND.value})
    close_if_done(s, case, who, now)
    return {"notice_id": notice.id, "state": notice.state, "bond": str(receipt.amount), "required": str(required)}


def record_bond_receipt(*, notice_id: int, actor: str, receipt: BondReceiptIn | dict[str, Any],
                        now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    """An IPR officer records the bond customs received; the claimed lines are detained."""
    uow = given(uow)
    data = receipt if isinstance(receipt, BondReceiptIn) else BondReceiptIn.model_validate(receipt)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "record the receipt of a bond", Role.IPR_OFFICER, Role.ADMIN)
        notice = lock_notice(s, notice_id, who)
        out = record_bond_receipt_in(s, who=who, notice=notice, receipt=data, now=now)
        close_tasks(s, kind=TaskKind.CHECK_BOND, who=who, now=now, notice_id=notice.id,
                    outcome={"outcome": "received", **data.model_dump(mode="json")})
        return out


# --- settlement ------------------------------------------------------------------------------------

#: a bond stays while goods are held, for customs or for a court
_OPEN_STATES = {LineState.SUSPENDED.value, LineState.DETAINED.value, LineState.UNDETERMINED.value,
                LineState.COURT_HOLD.value}


def settle_bond_in(s: Session, *, who: Actor, notice: Notice, note: str, now: datetime) -> dict[str, Any]:
    """Charge the recorded costs against the notice's bond and refund the rest (Reg 25, Meas 35).

    Refused while any claimed line is still open or confiscated goods await their disposal."""
    case = s.get(Case, notice.case_id)
    assert case is not None
    _officer_of(s, who, case, "settle a bond")
    ans = s.exec(select(Answer).where(Answer.notice_id == notice.id)).first()
    if ans is None or ans.bond_accepted_at is None:
        raise InvalidInput("notice_id", "notice {notice} has no bond to settle", notice=notice.id)
    if ans.bond_settled_at is not None:
        raise ConcurrentUpdate(f"notice {notice.id}", "its bond was already settled ({settled_at})", settled_at=ans.bond_settled_at)
    lines = claimed_lines(s, ans)
    waiting = [ln.number for ln in lines if ln.state in _OPEN_STATES
               or (ln.state == LineState.CONFISCATED.value and ln.disposed_at is None)]
    if waiting:
        raise InvalidInput("notice_id", "line(s) {lines} are not finished or not disposed of yet", lines=waiting)
    costs = [c.amount for c in s.exec(select(CaseCost).where(CaseCost.notice_id == notice.id))]
    if ans.bond_kind == BondKind.GENERAL.value:
        gb = s.get(GeneralBond, ans.general_bond_id)
        assert gb is not None
        bond = min(ans.bond_required or Decimal("0"), gb.amount)
        st = settle_rule(bond, costs)
        refund = Decimal("0.00")  # a general bond stays with customs to 31 December; its cover comes back
    else:
        st = settle_rule(ans.bond_amount or Decimal("0"), costs)
        refund = st.refund
    ans.bond_charged, ans.bond_refunded, ans.bond_settled_at = st.charged, refund, now
    s.add(ans)
    out = {"notice_id": notice.id, "bond_kind": ans.bond_kind, "bond": str(st.bond), "costs": str(st.costs),
           "charged": str(st.charged), "refunded": str(refund), "unpaid": str(st.unpaid), "note": note}
    if ans.bond_kind == BondKind.GENERAL.value:
        out["general_bond_cover"] = str(general_bond_cover(s, gb))
    record(s, actor=who, action="bond.settled", subject=f"notice:{notice.id}", at=now, case_id=case.id, after=out)
    return out


def settle_bond(*, notice_id: int, actor: str, note: str = "", now: datetime | None = None,
                uow: UnitOfWork | None = None) -> dict[str, Any]:
    uow = given(uow)
    now = now_or(now)
    data = SettleBondIn(note=note)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "settle a bond", Role.IPR_OFFICER, Role.ADMIN)
        notice = lock_notice(s, notice_id, who)
        out = settle_bond_in(s, who=who, notice=notice, note=data.note, now=now)
        close_tasks(s, kind=TaskKind.SETTLE_BOND, who=who, now=now, notice_id=notice.id, outcome={"outcome": "settled"})
        return out


def bond_account(*, notice_id: int, actor: str, uow: UnitOfWork | None = None) -> dict[str, Any]:
    """The bond of a notice: required, received, costs so far, and its settlement if done."""
    uow = given(uow)
    with uow.transaction() as s:  # nothing is written; the notice is read under the same checks as an answer
        who = load_actor(s, actor)
        notice = lock_notice(s, notice_id, who)
        ans = s.exec(select(Answer).where(Answer.notice_id == notice.id)).first()
        receipt = s.exec(select(BondReceipt).where(BondReceipt.notice_id == notice.id)).first()
        costs = list(s.exec(select(CaseCost).where(CaseCost.notice_id == notice.id).order_by(CaseCost.id)))
        out: dict[str, Any] = {
            "notice_id": notice.id,
            "bond_kind": ans.bond_kind if ans else None,
            "required": str(ans.bond_required) if ans and ans.bond_required is not None else None,
            "accepted": bool(ans and ans.bond_accepted_at),
            "receipt": None if receipt is None else {
                "form": receipt.form, "amount": str(receipt.amount), "bank": receipt.bank,
                "letter_no": receipt.letter_no, "evidence_id": receipt.evidence_id,
                "received_at": receipt.received_at.isoformat()},
            "costs": [{"kind": c.kind, "amount": str(c.amount), "line_id": c.line_id, "note": c.note} for c in costs],
            "costs_total": str(sum((c.amount for c in costs), Decimal("0.00"))),
            "charged": str(ans.bond_charged) if ans and ans.bond_charged is not None else None,
            "refunded": str(ans.bond_refunded) if ans and ans.bond_refunded is not None else None,
            "settled_at": ans.bond_settled_at.isoformat() if ans and ans.bond_settled_at else None,
        }
        if ans is not None and ans.general_bond_id is not None:
            gb = s.get(GeneralBond, ans.general_bond_id)
            if gb is not None:
                out["general_bond"] = {"reference": gb.reference, "amount": str(gb.amount),
                                       "cover_left": str(general_bond_cover(s, gb))}
        return out


__all__ = ["BondReceiptIn", "SettleBondIn", "take_bond", "record_bond_receipt", "record_bond_receipt_in", "settle_bond",
           "settle_bond_in", "bond_account", "close_tasks", "evidence_of_case"]
