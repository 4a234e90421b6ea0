"""Authentication guides: what to look at to tell a fake, kept by the rights holder per recordation.

The site officer sees the guide of the goods in a viewing room and the rights holder picks shot
requests from it. A rights holder maintains the guides of its own recordations only; customs
officers read every guide. ``Recordation.authentication_guide`` is kept as the active items' text.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from models.enums import Role
from models.evidence_schemas import GuideItemIn, GuideItemOut
from models.rules.errors import NotFound, PermissionDenied
from models.tables import GuideItem, Recordation
from services.context import Actor, load_actor, now_or, record
from services.unit_of_work import UnitOfWork, given


def _recordation(s: Session, who: Actor, number: str, *, write: bool) -> Recordation:
    rec = s.exec(select(Recordation).where(Recordation.number == number)).first()
    if rec is None:
        raise NotFound("recordation", number)
    if who.role == Role.RIGHTS_HOLDER:
        if rec.rights_holder_id != who.rights_holder_id:
            raise NotFound("recordation", number)
        return rec
    if write and who.role != Role.ADMIN:
        raise PermissionDenied(who.username, "change an authentication guide", "the rights holder keeps its guide")
    if not write and not who.is_customs:
        raise NotFound("recordation", number)
    return rec


def _out(rec: Recordation, g: GuideItem) -> GuideItemOut:
    return GuideItemOut(id=g.id, recordation=rec.number, brand=rec.brand, position=g.position, text=g.text,  # type: ignore[arg-type]
                        active=g.active)


def _sync(s: Session, rec: Recordation) -> None:
    items = s.exec(select(GuideItem).where(GuideItem.recordation_id == rec.id, GuideItem.active == True)  # noqa: E712
                   .order_by(col(GuideItem.position), col(GuideItem.id)))
    rec.authentication_guide = "\n".join(g.text for g in items)
    s.add(rec)


def list_guide(*, recordation: str, actor: str, include_inactive: bool = False,
               uow: UnitOfWork | None = None) -> list[GuideItemOut]:
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        rec = _recordation(s, who, recordation, write=False)
        q = select(GuideItem).where(GuideItem.recordation_id == rec.id)
        if not include_inactive:
            q = q.where(GuideItem.active == True)  # noqa: E712
        return [_out(rec, g) for g in s.exec(q.order_by(col(GuideItem.position), col(GuideItem.id)))]


def my_recordations(*, actor: str, uow: UnitOfWork | None = None) -> list[dict[str, str]]:
    """The recordations whose guides ``actor`` (a rights holder) keeps."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        if who.role != Role.RIGHTS_HOLDER:
            return []
        return [{"number": r.number, "brand": r.brand, "right_type": r.right_type}
                for r in s.exec(select(Recordation).where(Recordation.rights_holder_id == who.rights_holder_id)
                                .order_by(col(Recordation.number)))]


def add_guide_item(*, recordation: str, actor: str, text: str, position: int | None = None,
                   now: datetime | None = None, uow: UnitOfWork | None = None) -> GuideItemOut:
    uow = given(uow)
    data = GuideItemIn(text=text, position=position)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        rec = _recordation(s, who, recordation, write=True)
        if data.position is None:
            last = s.exec(select(GuideItem.position).where(GuideItem.recordation_id == rec.id)
                          .order_by(col(GuideItem.position).desc()).limit(1)).first()
            pos = (last + 1) if last is not None else 0
        else:
            pos = data.position
        item = GuideItem(recordation_id=rec.id, position=pos, text=data.text)  # type: ignore[arg-type]
        s.add(item)
        s.flush()
        _sync(s, rec)
        record(s, actor=who, action="guide.item_added", subject=f"recordation:{rec.number}", at=now,
               after={"guide_item_id": item.id, "text": item.text, "position": pos})
        return _out(rec, item)


def update_guide_item(*, item_id: int, actor: str, text: str | None = None, position: int | None = None,
                      active: bool | None = None, now: datetime | None = None,
                      uow: UnitOfWork | None = None) -> GuideItemOut:
    """Reword, move, retire (``active=False``) or restore an item. Items are never deleted: shot
    requests made from them keep pointing at them."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        item = s.exec(select(GuideItem).where(GuideItem.id == item_id).with_for_update()).first()
        rec = s.get(Recordation, item.recordation_id) if item else None
        if item is None or rec is None:
            raise NotFound("guide item", item_id)
        _recordation(s, who, rec.number, write=True)
        data = GuideItemIn(text=text if text is not None else item.text,
                           position=position if position is not None else item.position)
        before = {"text": item.text, "position": item.position, "active": item.active}
        item.text, item.position = data.text, data.position  # type: ignore[assignment]
        if active is not None:
            item.active = active
        s.add(item)
        _sync(s, rec)
        record(s, actor=who, action="guide.item_changed", subject=f"recordation:{rec.number}", at=now,
               before=before, after={"guide_item_id": item.id, "text": item.text, "position": item.position,
                                     "active": item.active})
        return _out(rec, item)
