"""A rights holder's answer to a confirmation notice, and the bond behind a detention."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from models.enums import BondKind, LineState, NoticeState, Reason, Role, TaskKind, TaskState, Verdict
from models.rules.bonds import GeneralBondTerms, NotAnAmount, ex_officio_bond, general_bond_covers, general_bond_remaining
from models.rules.errors import BondInsufficient, ConcurrentUpdate, DeadlinePassed, InvalidInput, NotFound
from models.rules.workdays import SHANGHAI, end_of_day, local_date
from models.schemas import AnswerIn, NoticeOut, parse_bond
from models.tables import Answer, Case, GeneralBond, Line, LineVerdict, Notice, Recordation, Task
from services.cases import close_if_done, mark_served, notice_view, sent_to_holder
from services.context import Actor, load_actor, now_or, open_task, publish, record, remember, replay
from services.lines import move_lines
from services.unit_of_work import UnitOfWork, given

RECORD_ANSWER = "notice.answer"


def lock_notice(s: Session, notice_id: int, who: Actor) -> Notice:
    """The notice, locked for update, if ``who`` may act on it; otherwise it does not exist for them
    (``NotFound``): a rights holder its own notices once sent, an IPR officer its office's, the
    administrator and the system any."""
    notice = s.exec(select(Notice).where(Notice.id == notice_id).with_for_update()).first()
    if notice is None:
        raise NotFound("notice", notice_id)
    case = s.get(Case, notice.case_id)
    if who.role == Role.RIGHTS_HOLDER:
        if who.rights_holder_id != notice.rights_holder_id or case is None or not sent_to_holder(case, notice):
            raise NotFound("notice", notice_id)  # another holder's notice, or one not sent yet, does not exist for you
    elif who.role == Role.IPR_OFFICER:
        if case is None or who.customs_office_id != case.customs_office_id:
            raise NotFound("notice", notice_id)
    elif who.role not in (Role.ADMIN, Role.SYSTEM):
        raise NotFound("notice", notice_id)
    return notice


def valid_general_bond(s: Session, rights_holder_id: int, on: Any) -> GeneralBond | None:
    for gb in s.exec(select(GeneralBond).where(GeneralBond.rights_holder_id == rights_holder_id).order_by(col(GeneralBond.valid_until).desc())):
        if general_bond_covers(GeneralBondTerms(gb.amount, gb.valid_from, gb.valid_until), on, "trademark"):
            return gb
    return None


def general_bond_cover(s: Session, gb: GeneralBond) -> Decimal:
    """What a general bond still covers: its amount less the bonds it stands for in detentions not yet
    settled and the costs already deducted from it (Meas 24, 35)."""
    answers = list(s.exec(select(Answer).where(Answer.general_bond_id == gb.id, col(Answer.bond_accepted_at).is_not(None))))
    held = [a.bond_required or Decimal("0") for a in answers if a.bond_settled_at is None]
    charged = [a.bond_charged or Decimal("0") for a in answers if a.bond_settled_at is not None]
    return general_bond_remaining(gb.amount, held, charged)


def required_bond(*, claimed_values: Iterable[Decimal]) -> Decimal:
    """The bond (担保) a detention ex officio requires for the lines claimed infringing, given their declared
    values (Reg 16, Meas 23). The amount ``record_answer`` and ``post_bond`` hold the rights holder to, and
    the one the answer form shows before it is sent."""
    return ex_officio_bond(sum(claimed_values, Decimal("0")))


def _bond_check(s: Session, notice: Notice, claimed: list[Line], bond: object, at: datetime) -> tuple[str | None, Decimal, Decimal | None, int | None, bool]:
    """(kind, required, amount, general bond id, sufficient) for the lines claimed.

    Only a general bond is sufficient at once: an amount the rights holder states is the bond it will
    post; customs detains when an officer records its receipt (Reg 16, Meas 38)."""
    required = required_bond(claimed_values=[ln.value for ln in claimed])
    if bond is None:
        return None, required, None, None, False
    if bond == "general":
        on = local_date(at)
        rights = {r.right_type for r in s.exec(select(Recordation).where(col(Recordation.id).in_({ln.recordation_id for ln in claimed})))}
        if rights != {"trademark"}:
            raise InvalidInput("bond", "a general bond covers trademarks only (Meas 24)")
        gb = valid_general_bond(s, notice.rights_holder_id, on)
        if gb is None:
            raise InvalidInput("bond", "no general bond (总担保) of this rights holder is valid on {on}", on=on)
        left = general_bond_cover(s, gb)
        if left < required:
            raise InvalidInput("bond", "the general bond {reference} covers RMB {left} more; RMB {required} is required",
                               reference=gb.reference, left=left, required=required)
        return BondKind.GENERAL.value, required, None, gb.id, True
    amount = Decimal(bond)  # type: ignore[arg-type]
    return BondKind.INDIVIDUAL.value, required, amount, None, False


def record_answer(
    *,
    notice_id: int,
    actor: str,
    answer: AnswerIn | dict[str, Any],
    now: datetime | None = None,
    idempotency_key: str | None = None, uow: UnitOfWork | None = None,
) -> NoticeOut:
    """Record the verdict on each line of a notice. Cleared lines are released at once; claimed
    lines with a sufficient bond are detained; a claim without one waits for its bond until the
    deadline (Reg 16, Meas 23, 25)."""
    uow = given(uow)
    data = answer if isinstance(answer, AnswerIn) else AnswerIn.model_validate(answer)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        notice = lock_notice(s, notice_id, who)
        done = replay(s, idempotency_key, RECORD_ANSWER)
        if done is not None:
            if done.get("notice_id") != notice.id:
                raise InvalidInput("idempotency_key", "already used for an answer to notice {notice}", notice=done.get("notice_id"))
            return notice_view(s, notice, who)
        if who.role == Role.SYSTEM:
            raise InvalidInput("actor", "the system does not answer notices")
        case = s.get(Case, notice.case_id)
        assert case is not None
        _open_for_answer(s, notice, who, now)
        by_number, claimed = _answered_lines(s, notice, data)
        required, sufficient = _write_answer(s, case=case, notice=notice, who=who, data=data, by_number=by_number,
                                             claimed=claimed, now=now)
        _move_answered_lines(s, case=case, notice=notice, who=who, data=data, by_number=by_number, claimed=claimed,
                             sufficient=sufficient, now=now)
        _settle_notice(s, case=case, notice=notice, who=who, waits_for_bond=data.detain and not sufficient,
                       required=required, now=now)
        remember(s, idempotency_key, RECORD_ANSWER, {"notice_id": notice.id})
        return notice_view(s, notice, who)


def _open_for_answer(s: Session, notice: Notice, who: Actor, now: datetime) -> None:
    """Refuse an answer the notice no longer takes: after its deadline, or a second one. A notice still
    issued is served by the answer itself, as by the portal's opening (Meas 41)."""
    if notice.state == NoticeState.ISSUED:
        mark_served(s, notice, who, at=now, means="portal")
    if notice.deadline_at is not None and (now >= notice.deadline_at or notice.state == NoticeState.EXPIRED):
        raise DeadlinePassed(str(notice.id), notice.deadline_at.astimezone(SHANGHAI))
    if notice.state != NoticeState.SERVED:
        raise ConcurrentUpdate(f"notice {notice.id}", "already {notice_state} ({when}); nothing was changed",
                               notice_state=notice.state, when=notice.answered_at or notice.state)


def _answered_lines(s: Session, notice: Notice, data: AnswerIn) -> tuple[dict[int, Line], list[Line]]:
    """The notice's lines by number and those claimed infringing, once the answer gives a verdict for each
    line of the notice and no other, and asks for a detention (with its bond) only over a claimed line."""
    lines = list(s.exec(select(Line).where(Line.notice_id == notice.id).order_by(Line.number)))
    by_number = {ln.number: ln for ln in lines}
    extra = sorted(set(data.verdicts) - set(by_number))
    if extra:
        raise InvalidInput("verdicts", "line(s) {lines} are not on notice {notice}", lines=extra, notice=notice.id)
    missing = sorted(set(by_number) - set(data.verdicts))
    if missing:
        raise InvalidInput("verdicts", "no verdict for line(s) {lines}", lines=missing)
    claimed = [by_number[n] for n, v in sorted(data.verdicts.items()) if v == Verdict.INFRINGING]
    if data.detain and not claimed:
        raise InvalidInput("detain", "a detention needs at least one line answered infringing")
    if data.bond is not None and not data.detain:
        raise InvalidInput("bond", "a bond goes with a detention application (--detain)")
    return by_number, claimed


def _write_answer(s: Session, *, case: Case, notice: Notice, who: Actor, data: AnswerIn, by_number: dict[int, Line],
                  claimed: list[Line], now: datetime) -> tuple[Decimal | None, bool]:
    """The answer with its verdict per line and its bond, on the timeline; (the bond required, whether the
    bond given is sufficient now). A bond is checked only with a detention application."""
    kind, required, amount, gb_id, sufficient = (None, None, None, None, False)
    if data.detain:
        kind, required, amount, gb_id, sufficient = _bond_check(s, notice, claimed, data.bond, now)
    ans = Answer(
        notice_id=notice.id, answered_by_id=who.id, answered_at=now, detain=data.detain,  # type: ignore[arg-type]
        bond_kind=kind, bond_required=required, bond_amount=amount, general_bond_id=gb_id,
        bond_accepted_at=now if sufficient else None, comment=data.comment,
    )
    s.add(ans)
    s.flush()
    for n, v in sorted(data.verdicts.items()):
        s.add(LineVerdict(answer_id=ans.id, line_id=by_number[n].id, verdict=v.value))  # type: ignore[arg-type]
    record(s, actor=who, action="notice.answered", subject=f"notice:{notice.id}", at=now, case_id=case.id,
           before={"state": notice.state},
           after={"verdicts": {str(k): v.value for k, v in sorted(data.verdicts.items())}, "detain": data.detain,
                  "bond_kind": kind, "bond_required": str(required) if required is not None else None,
                  "bond_amount": str(amount) if amount is not None else None, "bond_sufficient": sufficient,
                  "comment": data.comment})
    return required, sufficient


def _move_answered_lines(s: Session, *, case: Case, notice: Notice, who: Actor, data: AnswerIn,
                         by_number: dict[int, Line], claimed: list[Line], sufficient: bool, now: datetime) -> None:
    """Cleared lines are released; claimed lines too when no detention is asked for, detained when the bond
    is sufficient, and otherwise stay suspended while the bond is awaited (Reg 16, Meas 25)."""
    cleared = [by_number[n] for n, v in sorted(data.verdicts.items()) if v == Verdict.NOT_INFRINGING]
    move_lines(s, case=case, lines=cleared, target=LineState.RELEASED, reason=Reason.CLEARED, who=who, at=now,
               notice_id=notice.id, deadline_met=True)
    if not data.detain:
        move_lines(s, case=case, lines=claimed, target=LineState.RELEASED, reason=Reason.NO_DETENTION, who=who,
                   at=now, notice_id=notice.id, deadline_met=True)
    elif sufficient:
        detain_claimed(s, case, notice, claimed, who, now)


def _settle_notice(s: Session, *, case: Case, notice: Notice, who: Actor, waits_for_bond: bool,
                   required: Decimal | None, now: datetime) -> None:
    """The notice answered, or awaiting its bond with a task for the IPR officer to record its receipt; the
    notice's other tasks cancelled, the case closed when nothing is left, and the answer published."""
    notice.answered_at = now
    notice.state = (NoticeState.CLAIM_PENDING if waits_for_bond else NoticeState.ANSWERED).value
    notice.version += 1
    s.add(notice)
    if waits_for_bond:
        open_task(s, kind=TaskKind.CHECK_BOND, case_id=case.id, customs_office_id=case.customs_office_id,  # type: ignore[arg-type]
                  candidate_group=Role.IPR_OFFICER, notice_id=notice.id, due_at=notice.deadline_at, priority=10,
                  title=f"Bond of RMB {required} awaited for {case.number} (notice {notice.id}): record its receipt",
                  now=now)
    cancel_notice_tasks(s, notice, now, keep={TaskKind.CHECK_BOND} if waits_for_bond else set())
    close_if_done(s, case, who, now)
    publish(s, topic="notice.answered", case_id=case.id, at=now,
            payload={"notice_id": notice.id, "case_number": case.number, "state": notice.state})


def detain_claimed(s: Session, case: Case, notice: Notice, claimed: list[Line], who: Actor, at: datetime) -> None:
    move_lines(s, case=case, lines=claimed, target=LineState.DETAINED, reason=Reason.DETENTION, who=who, at=at,
               notice_id=notice.id, deadline_met=True)
    for line in claimed:
        open_task(s, kind=TaskKind.INVESTIGATE, case_id=case.id, customs_office_id=case.customs_office_id,  # type: ignore[arg-type]
                  candidate_group=Role.IPR_OFFICER, line_id=line.id, notice_id=notice.id,
                  due_at=end_of_day(line.investigation_due) if line.investigation_due else None, priority=40,
                  title=f"Investigate detained line {case.number}/{line.number} ({line.brand})", now=at)


def cancel_notice_tasks(s: Session, notice: Notice, at: datetime, keep: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    open_states = [TaskState.OPEN.value, TaskState.CLAIMED.value]
    for t in s.exec(select(Task).where(Task.notice_id == notice.id, col(Task.state).in_(open_states))):
        if t.kind in keep or t.kind == TaskKind.INVESTIGATE:
            continue
        t.state = TaskState.CANCELLED.value
        t.completed_at = at
        t.version += 1
        s.add(t)


def post_bond(*, notice_id: int, actor: str, bond: str | Decimal, now: datetime | None = None,
              uow: UnitOfWork | None = None) -> NoticeOut:
    """Complete a pending detention claim before the deadline: a valid general bond detains at once; an
    amount is the individual bond the rights holder will post, detained when an officer records its
    receipt (Meas 38)."""
    uow = given(uow)
    now = now_or(now)
    try:
        parsed = parse_bond(bond)
    except NotAnAmount as e:
        raise InvalidInput("bond", "{problem}", problem=e.problem) from None
    if parsed is None:
        raise InvalidInput("bond", "give 'general' or an amount in RMB")
    with uow.transaction() as s:
        who = load_actor(s, actor)
        notice = lock_notice(s, notice_id, who)
        case = s.get(Case, notice.case_id)
        assert case is not None
        if notice.state != NoticeState.CLAIM_PENDING:
            raise ConcurrentUpdate(f"notice {notice_id}", "is {notice_state}: no detention claim awaits a bond", notice_state=notice.state)
        if notice.deadline_at is not None and now >= notice.deadline_at:
            raise DeadlinePassed(str(notice_id), notice.deadline_at.astimezone(SHANGHAI))
        ans = s.exec(select(Answer).where(Answer.notice_id == notice.id)).first()
        assert ans is not None
        claimed = claimed_lines(s, ans)
        kind, required, amount, gb_id, sufficient = _bond_check(s, notice, claimed, parsed, now)
        if kind == BondKind.INDIVIDUAL and amount is not None and amount < required:
            raise BondInsufficient(required, amount)
        ans.bond_kind, ans.bond_amount, ans.general_bond_id = kind, amount, gb_id
        ans.bond_accepted_at = now if sufficient else None
        s.add(ans)
        record(s, actor=who, action="bond.posted" if sufficient else "bond.offered", subject=f"notice:{notice.id}",
               at=now, case_id=case.id,
               after={"bond_kind": kind, "bond_required": str(required), "bond_amount": str(amount) if amount else None})
        if sufficient:
            detain_claimed(s, case, notice, claimed, who, now)
            notice.state = NoticeState.ANSWERED.value
            notice.version += 1
            s.add(notice)
            cancel_notice_tasks(s, notice, now)
        return notice_view(s, notice, who)


def claimed_lines(s: Session, ans: Answer) -> list[Line]:
    """The lines an answer claims as infringing."""
    claimed_ids = [v.line_id for v in s.exec(select(LineVerdict).where(LineVerdict.answer_id == ans.id, LineVerdict.verdict == Verdict.INFRINGING.value))]
    return list(s.exec(select(Line).where(col(Line.id).in_(claimed_ids)).order_by(Line.number)))
