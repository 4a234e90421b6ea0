"""The access matrix: every role against every read and write service, for its own organisation's
objects and for another's, with the expected answer of each cell written out below.

Two families of objects are built once (SQLite, S3 from moto):

- family A, at Capital Airport Customs (CAPAIR): CHANEL's notices, the shipments of cq.trading;
- family B, at Huanggang Customs (HUANGG): NIKE's notices, the shipments of sz.trading (a second
  consignor, created for this test).

Each family holds one object in every state a service needs: a served notice with three viewings
(requested, approved, open with a shot request and a photo), a notice awaiting its bond, a detained
line with its detention notice and receipt (served by hand, so the outbox has a row), a notice not
yet served, an unclaimed and a claimed task. Every write cell runs on its own copy of the database.

The columns are the people:

    SW site.wang (site officer, CAPAIR)   IL ipr.li (IPR officer, CAPAIR)   MZ mgr.zhao (manager, CAPAIR)
    AD admin (administrator)              SH site.huang (site officer, HUANGG)
    CH chanel.agent (rights holder)       NK nike.agent (rights holder)
    CQ cq.trading (consignor)             OC sz.trading (consignor)           XX nobody (no such user)

and each cell says what happens:

    Y  allowed; for a list, the family's object is in it; a write leaves its mark on the timeline
    0  allowed, but the family's object is not in the list (filtered by organisation)
    N  NotFound: the object (or the user) does not exist for this person
    P  PermissionDenied: this person's role may not do this at all

Deny rule: a refusal that depends on *which object* is ``NotFound`` (existence does not leak); a
refusal that depends only on the role (a rights holder opening the managers' board) may be
``PermissionDenied``, since it says nothing about any object. Every refused cell checks that no row
of any table was written (the timeline included; the sign-in attempt log aside, which records every
password check by design) and, for evidence, that no object was stored.

Not in the matrix, because nobody acts in them: the system's own steps (``documents.issue_for_*``,
``delivery.deliver_document``, ``process``, ``sweep``, ``clocks``), ``documents.verify_document``
(public by design: it says only what the printed document says) and the session-token functions of
``services.sessions`` other than signing in (``resume``, ``exchange_handoff``, ``sign_out``: the token
is the credential).
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from models.rules.errors import NotFound, PermissionDenied
from tests.support import photo

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)  # a Tuesday
NOW = FOUND + timedelta(hours=1)
JPEG = photo("inner-card")
OTHER_JPEG = photo("serial-number")
ACTORS = {
    "SW": "site.wang", "IL": "ipr.li", "MZ": "mgr.zhao", "AD": "admin", "SH": "site.huang",
    "CH": "chanel.agent", "NK": "nike.agent", "CQ": "cq.trading", "OC": "sz.trading", "XX": "nobody",
}
OTHER_CONSIGNOR = {"name": "深圳南通进出口有限公司 (Shenzhen Nantong Import & Export Co., Ltd.)", "uscc": "91440300MA5F8K2L4C"}

# Debatable cells, and the choice made:
# - A manager sees its own office's cases only, as on the board and in the inbox: a manager of Capital
#   Airport Customs has no business in Huanggang's files (get_case B, list_cases B, ... for MZ).
# - The administrator acts across offices: the deployment's administrator is the one who repairs any
#   office's data, so every AD cell is allowed except the acts that belong to one party alone (a
#   rights holder's request for a viewing, its answer from the room, saving an officer's inbox view).
# - An IPR officer of the office may record a rights holder's answer and bond (filed on paper or in
#   person, Meas 41 allows filing by post) but not answer from the viewing room, which is the holder's.
# - Completing a task performs its act: a manager may claim and hand over the confirm_seizure task but the
#   confirmation itself is an IPR officer's act (complete_task A for MZ).
# - Site officers of another office read the authentication guides (guides help any inspection site),
#   but never the case, its evidence or its documents.
# - A consignor invited to a viewing may ask for shots in it (it may argue non-infringement, Reg 19)
#   but may not set the call link, decide or answer.
MATRIX = """
op                         fam SW IL MZ AD SH CH NK CQ OC XX
get_case                   A   Y  Y  Y  Y  N  Y  N  Y  N  N
get_case                   B   N  N  N  Y  Y  N  Y  N  Y  N
list_cases                 A   Y  Y  Y  Y  0  Y  0  Y  0  N
list_cases                 B   0  0  0  Y  Y  0  Y  0  Y  N
case_timeline              A   Y  Y  Y  Y  N  N  N  N  N  N
case_timeline              B   N  N  N  Y  Y  N  N  N  N  N
my_notices                 A   P  P  P  P  P  Y  0  P  P  N
my_notices                 B   P  P  P  P  P  0  Y  P  P  N
my_notice                  A   P  P  P  P  P  Y  N  P  P  N
my_notice                  B   P  P  P  P  P  N  Y  P  P  N
my_shipments               A   P  P  P  P  P  P  P  Y  0  N
my_shipments               B   P  P  P  P  P  P  P  0  Y  N
inbox                      A   Y  Y  Y  Y  0  P  P  P  P  N
inbox                      B   0  0  0  Y  Y  P  P  P  P  N
board                      A   P  P  Y  Y  P  P  P  P  P  N
board                      B   P  P  0  Y  P  P  P  P  P  N
list_viewings              A   Y  Y  Y  Y  0  Y  0  Y  0  N
list_viewings              B   0  0  0  Y  Y  0  Y  0  Y  N
confirmation_times         A   Y  Y  Y  Y  0  Y  0  P  P  N
confirmation_times         B   0  0  0  Y  Y  0  Y  P  P  N
room_state                 A   Y  Y  Y  Y  N  Y  N  Y  N  N
room_state                 B   N  N  N  Y  Y  N  Y  N  Y  N
live_seat                  A   Y  Y  Y  Y  N  Y  N  Y  N  N
live_seat                  B   N  N  N  Y  Y  N  Y  N  Y  N
watch_live                 A   Y  Y  Y  Y  N  Y  N  Y  N  N
watch_live                 B   N  N  N  Y  Y  N  Y  N  Y  N
list_evidence              A   Y  Y  Y  Y  N  Y  N  Y  N  N
list_evidence              B   N  N  N  Y  Y  N  Y  N  Y  N
evidence_url               A   Y  Y  Y  Y  N  Y  N  Y  N  N
evidence_url               B   N  N  N  Y  Y  N  Y  N  Y  N
documents_of_case          A   Y  Y  Y  Y  N  Y  N  Y  N  N
documents_of_case          B   N  N  N  Y  Y  N  Y  N  Y  N
document_bytes_holder      A   Y  Y  Y  Y  N  Y  N  N  N  N
document_bytes_holder      B   N  N  N  Y  Y  N  Y  N  N  N
document_bytes_receipt     A   Y  Y  Y  Y  N  N  N  Y  N  N
document_bytes_receipt     B   N  N  N  Y  Y  N  N  N  Y  N
deliveries_of_document     A   Y  Y  Y  Y  N  P  P  P  P  N
deliveries_of_document     B   N  N  N  Y  Y  P  P  P  P  N
outbox                     A   Y  Y  Y  Y  0  P  P  P  P  N
outbox                     B   0  0  0  Y  Y  P  P  P  P  N
list_guide                 A   Y  Y  Y  Y  Y  Y  N  N  N  N
list_guide                 B   Y  Y  Y  Y  Y  N  Y  N  N  N
my_recordations            A   0  0  0  0  0  Y  0  0  0  N
my_recordations            B   0  0  0  0  0  0  Y  0  0  N
list_users                 -   P  P  P  Y  P  P  P  P  P  N
list_organisations         -   P  P  P  Y  P  P  P  P  P  N
colleagues                 -   Y  Y  Y  Y  Y  N  N  N  N  N
saved_views                -   Y  Y  Y  Y  Y  P  P  P  P  N
office_of                  -   Y  Y  Y  Y  Y  Y  Y  Y  Y  N
calendar_status            -   Y  Y  Y  Y  Y  P  P  P  P  N
calendar_years             -   Y  Y  Y  Y  Y  Y  Y  Y  Y  N
match_recordations         -   Y  Y  P  Y  Y  P  P  P  P  N
open_case                  A   Y  Y  P  Y  P  P  P  P  P  N
open_case                  B   P  P  P  Y  Y  P  P  P  P  N
serve_notice               A   P  Y  P  Y  P  Y  N  P  P  N
serve_notice               B   P  N  P  Y  P  N  Y  P  P  N
record_answer              A   N  Y  N  Y  N  Y  N  N  N  N
record_answer              B   N  N  N  Y  N  N  Y  N  N  N
post_bond                  A   N  Y  N  Y  N  Y  N  N  N  N
post_bond                  B   N  N  N  Y  N  N  Y  N  N  N
decide_line                A   P  Y  P  Y  P  P  P  P  P  N
decide_line                B   P  N  P  Y  P  P  P  P  P  N
record_bond_receipt        A   P  Y  P  Y  P  P  P  P  P  N
record_bond_receipt        B   P  N  P  Y  P  P  P  P  P  N
decide_investigation       A   P  Y  P  Y  P  P  P  P  P  N
decide_investigation       B   P  N  P  Y  P  P  P  P  P  N
record_court_notice        A   P  Y  P  Y  P  P  P  P  P  N
record_court_notice        B   P  N  P  Y  P  P  P  P  P  N
claim_task                 A   P  Y  Y  Y  N  N  N  N  N  N
claim_task                 B   N  N  N  Y  P  N  N  N  N  N
unclaim_task               A   P  Y  Y  Y  N  N  N  N  N  N
unclaim_task               B   N  N  N  Y  P  N  N  N  N  N
assign_task                A   P  Y  Y  Y  N  N  N  N  N  N
assign_task                B   N  N  N  Y  P  N  N  N  N  N
complete_task              A   P  Y  P  Y  N  N  N  N  N  N
complete_task              B   N  N  N  Y  P  N  N  N  N  N
request_viewing            A   P  P  P  P  P  Y  N  Y  N  N
request_viewing            B   P  P  P  P  P  N  Y  N  Y  N
decide_viewing             A   P  Y  P  Y  N  P  N  P  N  N
decide_viewing             B   N  N  N  Y  P  N  P  N  P  N
open_room                  A   Y  Y  P  Y  N  P  N  P  N  N
open_room                  B   N  N  N  Y  Y  N  P  N  P  N
close_room                 A   Y  Y  P  Y  N  P  N  P  N  N
close_room                 B   N  N  N  Y  Y  N  P  N  P  N
set_call_link              A   Y  Y  Y  Y  N  Y  N  P  N  N
set_call_link              B   N  N  N  Y  Y  N  Y  N  P  N
request_shot               A   Y  Y  Y  Y  N  Y  N  Y  N  N
request_shot               B   N  N  N  Y  Y  N  Y  N  Y  N
cancel_shot                A   Y  Y  Y  Y  N  Y  N  P  N  N
cancel_shot                B   N  N  N  Y  Y  N  Y  N  P  N
answer_from_room           A   P  P  P  P  N  Y  N  P  N  N
answer_from_room           B   N  N  N  P  P  N  Y  N  P  N
add_evidence               A   Y  Y  P  Y  N  P  N  P  N  N
add_evidence               B   N  N  P  Y  Y  N  P  N  P  N
verify_evidence            A   Y  Y  Y  Y  N  P  N  P  N  N
verify_evidence            B   N  N  N  Y  Y  N  P  N  P  N
record_manual_service      A   P  Y  P  Y  P  P  P  P  P  N
record_manual_service      B   P  N  P  Y  P  P  P  P  P  N
add_guide_item             A   P  P  P  Y  P  Y  N  P  P  N
add_guide_item             B   P  P  P  Y  P  N  Y  P  P  N
update_guide_item          A   P  P  P  Y  P  Y  N  P  P  N
update_guide_item          B   P  P  P  Y  P  N  Y  P  P  N
create_user                -   P  P  P  Y  P  P  P  P  P  N
update_user                -   P  P  P  Y  P  P  P  P  P  N
set_user_active            -   P  P  P  Y  P  P  P  P  P  N
reset_password             -   P  P  P  Y  P  P  P  P  P  N
create_rights_holder       -   P  P  P  Y  P  P  P  P  P  N
load_calendar_year         -   P  P  P  Y  P  P  P  P  P  N
set_office_seal            -   P  P  P  Y  P  P  P  P  P  N
set_locale                 -   Y  Y  Y  Y  Y  Y  Y  Y  Y  N
save_view                  -   Y  Y  Y  P  Y  P  P  P  P  N
sign_in                    -   Y  Y  Y  Y  Y  Y  Y  Y  Y  P
sso_sign_in                -   Y  Y  Y  Y  Y  P  P  P  P  P
"""


def _cells() -> list[Any]:
    rows = [ln.split() for ln in MATRIX.strip().splitlines()]
    head = rows[0][2:]
    out = []
    for op, fam, *marks in rows[1:]:
        assert len(marks) == len(head), op
        for col, mark in zip(head, marks, strict=True):
            out.append(pytest.param(op, fam, col, mark, id=f"{op}-{fam}-{col}"))
    return out


# --- the world ------------------------------------------------------------------------------------


@dataclass
class Family:
    office: str  # office code
    site: str
    ipr: str
    colleague: str  # an IPR officer of the office to hand a task to
    holder: str
    consignor_user: str
    brand: str
    recordation: str
    guide_item: int
    case1: str  # served notice n1, viewings, evidence, tasks
    n1: int
    v_req: int
    v_appr: int
    v_open: int
    shot: int
    evidence: int
    t_open: int  # the unclaimed confirm_seizure task of a case not confirmed yet
    t_claimed: int  # the approve_viewing task of v_req, claimed by ``ipr``
    n2: int  # claim pending its bond
    case3: str  # a detained line, its documents
    doc_holder: int
    doc_receipt: int
    n4: int  # issued, not yet served
    declaration_seq: int


@dataclass
class World:
    root: Path  # holds yunque.db and var/
    families: dict[str, Family]
    passwords: dict[str, str]


def _shipment(declaration_no: str, office: str, brand: str, consignor: dict[str, str], n: int = 2) -> dict[str, Any]:
    return {"declaration_no": declaration_no, "direction": "export", "customs_office": office,
            "consignor": consignor, "found_at": FOUND.isoformat(),
            "lines": [{"description": f"Goods marked {brand} ({i})", "brand": brand, "quantity": 5, "unit": "pcs",
                       "value": "12000.00"} for i in range(1, n + 1)]}


def _build_family(mp: pytest.MonkeyPatch, *, office: str, office_name: str, site: str, ipr: str, colleague: str,
                  holder: str, consignor_user: str, consignor: dict[str, str], brand: str, seq: int) -> Family:
    from services.answers import record_answer
    from services.cases import open_case
    from services.delivery import record_manual_service
    from services.documents import issue_for_decision
    from services.evidence import add_evidence
    from services.guide import list_guide
    from services.tasks import claim_task, inbox
    from services.viewing import decide_viewing, open_room, request_shot, request_viewing
    from yunque.settings import reset_settings

    decl = iter(f"0{seq}012026112400{i:04d}" for i in range(1, 100))
    at = lambda m: FOUND + timedelta(minutes=m)  # noqa: E731
    from tests.support import confirm

    c1 = open_case(shipment=_shipment(next(decl), office_name, brand, consignor), actor=site, now=at(1))
    confirm(c1.number, actor=ipr, now=at(1))
    n1 = c1.notices[0].id
    viewings = [request_viewing(actor=holder, notice_id=n1, invite_consignor=True, now=at(2)).id for _ in range(3)]
    v_req, v_appr, v_open = viewings
    for v in (v_appr, v_open):
        decide_viewing(viewing_id=v, actor=ipr, approve=True, now=at(3))
    open_room(viewing_id=v_open, actor=site, now=at(4))
    shot = request_shot(viewing_id=v_open, actor=holder, text="the serial number, close up", now=at(5)).id
    ev = add_evidence(case_number=c1.number, actor=site, stream=io.BytesIO(JPEG + brand.encode()), filename="IMG_1.jpg",
                      viewing_id=v_open, line_number=1, now=at(6)).id
    tasks = {t.kind: t for t in inbox(actor=ipr) if t.case_number == c1.number and t.viewing_id in (None, v_req)}
    t_claimed = claim_task(task_id=tasks["approve_viewing"].id, actor=ipr, now=at(7)).id

    c2 = open_case(shipment=_shipment(next(decl), office_name, brand, consignor, 1), actor=site, now=at(8))
    confirm(c2.number, actor=ipr, now=at(8))
    n2 = c2.notices[0].id
    record_answer(notice_id=n2, actor=holder, answer={"verdicts": {1: "infringing"}, "detain": True}, now=at(9))

    c3 = open_case(shipment=_shipment(next(decl), office_name, brand, consignor, 1), actor=site, now=at(10))
    confirm(c3.number, actor=ipr, now=at(10))
    record_answer(notice_id=c3.notices[0].id, actor=holder, now=at(11),
                  answer={"verdicts": {1: "infringing"}, "detain": True, "bond": "general"})
    from models.tables import Case, Decision
    from sqlmodel import select
    from tests.support import session_scope

    with session_scope(readonly=True) as s:
        case3 = s.exec(select(Case).where(Case.number == c3.number)).one()
        decision_id = s.exec(select(Decision.id).where(Decision.case_id == case3.id, Decision.kind == "detained")).one()
    docs = {d.kind: d for d in issue_for_decision(decision_id=decision_id, now=at(12))}  # type: ignore[arg-type]
    record_manual_service(document_id=docs["detention_notice"].id, actor=ipr, means="hand", now=at(13))

    mp.setenv("YUNQUE_SERVICE_RULE", "mail")
    reset_settings()
    c4 = open_case(shipment=_shipment(next(decl), office_name, brand, consignor, 1), actor=site, now=at(14))
    confirm(c4.number, actor=ipr, now=at(14))  # sent, served once the mail is accepted
    mp.delenv("YUNQUE_SERVICE_RULE")
    reset_settings()
    assert c4.notices[0].state == "issued"
    c5 = open_case(shipment=_shipment(next(decl), office_name, brand, consignor, 1), actor=site, now=at(15))
    t_open = next(t.id for t in inbox(actor=ipr) if t.case_number == c5.number and t.kind == "confirm_seizure")

    rec = c1.lines[0].recordation
    item = list_guide(recordation=rec, actor=holder)[0].id
    return Family(office=office, site=site, ipr=ipr, colleague=colleague, holder=holder, consignor_user=consignor_user,
                  brand=brand, recordation=rec, guide_item=item, case1=c1.number, n1=n1, v_req=v_req, v_appr=v_appr,
                  v_open=v_open, shot=shot, evidence=ev, t_open=t_open, t_claimed=t_claimed, n2=n2, case3=c3.number,
                  doc_holder=docs["detention_notice"].id, doc_receipt=docs["detention_receipt"].id,
                  n4=c4.notices[0].id, declaration_seq=seq)


def _point(mp: pytest.MonkeyPatch, db: Path, var_dir: Path) -> None:
    from adapters.calendar import reset_calendar
    from adapters.db import dispose_engines
    from yunque.settings import reset_settings

    mp.setenv("YUNQUE_DATABASE_URL", f"sqlite:///{db}")
    mp.setenv("YUNQUE_VAR_DIR", str(var_dir))
    dispose_engines()
    reset_settings()
    reset_calendar()


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    import json

    from moto import mock_aws

    from adapters.db import dispose_engines
    from adapters.s3 import get_store, reset_store
    from services.cases import open_case
    from services.users import create_user, list_organisations
    from yunque.settings import get_settings

    root = tmp_path_factory.mktemp("access-world")
    shutil.copytree(sqlite_template, root, dirs_exist_ok=True)
    mp = pytest.MonkeyPatch()
    mp.setenv("YUNQUE_S3_ENDPOINT_URL", "https://s3.us-east-1.amazonaws.com")
    with mock_aws():
        try:
            _point(mp, root / "yunque.db", root / "var")
            reset_store()
            get_store(get_settings()).client.create_bucket(Bucket=get_settings().s3_bucket)
            create_user(actor="admin", user={"username": "ipr.huang", "display_name": "黄敏",
                                             "role": "ipr_officer", "customs_office": "HUANGG",
                                             "password": "huang-ipr-secret"}, now=FOUND)
            # The second consignor exists once a seizure names it; then it gets a user.
            open_case(shipment=_shipment("090120261124000001", "HUANGG", "NIKE", OTHER_CONSIGNOR, 1),
                      actor="site.huang", now=FOUND)
            orgs = list_organisations(actor="admin")
            other = next(c["id"] for c in orgs.consignors if c["uscc"] == OTHER_CONSIGNOR["uscc"])
            create_user(actor="admin", user={"username": "sz.trading", "display_name": "Shenzhen Nantong",
                                             "role": "consignor", "consignor_id": other, "email": "sz.trading@demo.localhost",
                                             "password": "sz-trading-secret"}, now=FOUND)
            families = {
                "A": _build_family(mp, office="CAPAIR", office_name="Capital Airport Customs", site="site.wang",
                                   ipr="ipr.li", colleague="ipr.chen", holder="chanel.agent",
                                   consignor_user="cq.trading", brand="CHANEL", seq=1,
                                   consignor={"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"}),
                "B": _build_family(mp, office="HUANGG", office_name="Huanggang Customs", site="site.huang",
                                   ipr="ipr.huang", colleague="ipr.huang", holder="nike.agent",
                                   consignor_user="sz.trading", brand="NIKE", seq=2, consignor=OTHER_CONSIGNOR),
            }
            dispose_engines()
            with sqlite3.connect(root / "yunque.db") as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            passwords = json.loads((root / "var" / "demo-passwords.json").read_text())
            passwords["sz.trading"] = "sz-trading-secret"
            yield World(root=root, families=families, passwords=passwords)
        finally:
            dispose_engines()
            reset_store()
            mp.undo()


#: Written by every password check, refused or not, by design: the rate limits count it (services.auth).
LOGS = ("sign_in_attempt",)


def _counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'") if n not in LOGS]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}  # noqa: S608


# --- the operations -------------------------------------------------------------------------------
# Each takes (world, family, user name) and returns what ``present`` needs; reads return a bool
# where the question is whether the family's object is in a list.


def _r(fn: Callable[[World, Family, str], Any]) -> tuple[Callable[..., Any], bool]:
    return fn, False


def _seal_png() -> bytes:
    """A square seal with transparency, as an office's administrator would upload it."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((4, 4, 116, 116), outline=(200, 0, 0, 255), width=6)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _w(fn: Callable[[World, Family, str], Any]) -> tuple[Callable[..., Any], bool]:
    return fn, True


def _ops() -> dict[str, tuple[Callable[..., Any], bool]]:
    from adapters.live import LiveRegistry
    from services import (
        answers,
        board,
        bonds,
        calendar,
        cases,
        court,
        delivery,
        detention,
        documents,
        evidence,
        guide,
        live,
        offices,
        portal,
        sessions,
        tasks,
        users,
        viewing,
    )

    def request_viewing(w: World, f: Family, a: str) -> Any:
        return viewing.request_viewing(actor=a, notice_id=f.n1, case_number=f.case1, invite_consignor=True, now=NOW)

    def serve(w: World, f: Family, a: str) -> Any:
        means = "portal" if a.endswith(".agent") else "hand"
        return cases.serve_notice(notice_id=f.n4, actor=a, means=means, at=NOW)

    def sso(w: World, f: Family, a: str) -> Any:
        groups = {"site.wang": ["yunque-site-officers", "yunque-office-CAPAIR"],
                  "ipr.li": ["yunque-ipr-officers", "yunque-office-CAPAIR"],
                  "mgr.zhao": ["yunque-managers", "yunque-office-CAPAIR"],
                  "admin": ["yunque-admins", "yunque-office-CAPAIR"],
                  "site.huang": ["yunque-site-officers", "yunque-office-HUANGG"]}
        # Rights holders and consignors: an identity provider that wrongly names them officers.
        return sessions.sso_sign_in(claims={"email": f"{a}@demo.localhost", "name": a,
                                            "groups": groups.get(a, ["yunque-site-officers"])}, now=NOW)

    answer = {"verdicts": {1: "not-infringing", 2: "not-infringing"}, "comment": "genuine goods"}
    return {
        "get_case": _r(lambda w, f, a: cases.get_case(case_number=f.case1, actor=a)),
        "list_cases": _r(lambda w, f, a: f.case1 in [c.number for c in portal.list_cases(actor=a)]),
        "case_timeline": _r(lambda w, f, a: portal.case_timeline(case_number=f.case1, actor=a)),
        "my_notices": _r(lambda w, f, a: f.n1 in [p.notice.id for p in portal.my_notices(actor=a, now=NOW)]),
        "my_notice": _r(lambda w, f, a: portal.my_notice(actor=a, notice_id=f.n1, now=NOW)),
        "my_shipments": _r(lambda w, f, a: f.case1 in [c.number for c in portal.my_shipments(actor=a)]),
        "inbox": _r(lambda w, f, a: f.case1 in [t.case_number for t in tasks.inbox(actor=a)]),
        "board": _r(lambda w, f, a: f.case1 in [c.number for c in board.board(actor=a, now=NOW).cases]),
        "list_viewings": _r(lambda w, f, a: f.v_open in [v.id for v in viewing.list_viewings(actor=a)]),
        "confirmation_times": _r(lambda w, f, a: f.n1 in [t.notice_id for t in viewing.confirmation_times(actor=a)]),
        "room_state": _r(lambda w, f, a: viewing.room_state(viewing_id=f.v_open, actor=a)),
        "live_seat": _r(lambda w, f, a: viewing.live_seat(viewing_id=f.v_open, actor=a)),
        "watch_live": _r(lambda w, f, a: live.watch_live(rooms=LiveRegistry(Path("var/live-matrix")), viewing_id=f.v_open,
                                                         actor=a)),  # no frame: nothing is ever written there
        "list_evidence": _r(lambda w, f, a: f.evidence in [e.id for e in evidence.list_evidence(case_number=f.case1, actor=a)]),
        "evidence_url": _r(lambda w, f, a: evidence.evidence_url(evidence_id=f.evidence, actor=a)),
        "documents_of_case": _r(lambda w, f, a: bool(documents.documents_of_case(case_number=f.case3, actor=a))),
        "document_bytes_holder": _r(lambda w, f, a: documents.document_bytes(document_id=f.doc_holder, actor=a)),
        "document_bytes_receipt": _r(lambda w, f, a: documents.document_bytes(document_id=f.doc_receipt, actor=a)),
        "deliveries_of_document": _r(lambda w, f, a: delivery.deliveries_of_document(document_id=f.doc_holder, actor=a)),
        "outbox": _r(lambda w, f, a: f.doc_holder in [d.document_id for d in delivery.outbox(actor=a)]),
        "list_guide": _r(lambda w, f, a: guide.list_guide(recordation=f.recordation, actor=a)),
        "my_recordations": _r(lambda w, f, a: f.recordation in [r["number"] for r in guide.my_recordations(actor=a)]),
        "list_users": _r(lambda w, f, a: users.list_users(actor=a)),
        "list_organisations": _r(lambda w, f, a: users.list_organisations(actor=a)),
        "colleagues": _r(lambda w, f, a: users.colleagues(actor=a)),
        "saved_views": _r(lambda w, f, a: board.saved_views(actor=a)),
        "office_of": _r(lambda w, f, a: portal.office_of(actor=a)),
        "match_recordations": _r(lambda w, f, a: portal.match_recordations(actor=a, brands=["CHANEL"], on=FOUND.date())),
        "open_case": _w(lambda w, f, a: cases.open_case(
            shipment=_shipment(f"0{f.declaration_seq}0120261124009999", f.office, f.brand,
                               {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"}), actor=a, now=NOW)),
        "serve_notice": _w(serve),
        "record_answer": _w(lambda w, f, a: answers.record_answer(notice_id=f.n1, actor=a, answer=answer, now=NOW)),
        "post_bond": _w(lambda w, f, a: answers.post_bond(notice_id=f.n2, actor=a, bond="general", now=NOW)),
        "decide_line": _w(lambda w, f, a: detention.decide_line(case_number=f.case3, line_number=1, actor=a,
                                                                outcome="confiscate", note="counterfeit", now=NOW)),
        "record_bond_receipt": _w(lambda w, f, a: bonds.record_bond_receipt(
            notice_id=f.n2, actor=a, receipt={"form": "deposit", "amount": "12000.00"}, now=NOW)),
        "decide_investigation": _w(lambda w, f, a: detention.decide_investigation(
            case_number=f.case3, line_number=1, actor=a, outcome="infringing", note="fake card", now=NOW)),
        "record_court_notice": _w(lambda w, f, a: court.record_court_notice(
            case_number=f.case3, line_number=1, actor=a, notice={"court": "北京知识产权法院", "reference": "(2026)京73执保1号"},
            now=NOW)),
        "claim_task": _w(lambda w, f, a: tasks.claim_task(task_id=f.t_open, actor=a, now=NOW)),
        "unclaim_task": _w(lambda w, f, a: tasks.unclaim_task(task_id=f.t_claimed, actor=a, now=NOW)),
        "assign_task": _w(lambda w, f, a: tasks.assign_task(task_id=f.t_claimed, actor=a, assignee=f.colleague, now=NOW)),
        "complete_task": _w(lambda w, f, a: tasks.complete_task(task_id=f.t_open, actor=a, outcome="confirmed", now=NOW)),
        "request_viewing": _w(request_viewing),
        "decide_viewing": _w(lambda w, f, a: viewing.decide_viewing(viewing_id=f.v_req, actor=a, approve=True, now=NOW)),
        "open_room": _w(lambda w, f, a: viewing.open_room(viewing_id=f.v_appr, actor=a, now=NOW)),
        "close_room": _w(lambda w, f, a: viewing.close_room(viewing_id=f.v_open, actor=a, now=NOW)),
        "set_call_link": _w(lambda w, f, a: viewing.set_call_link(viewing_id=f.v_open, actor=a,
                                                                  url="https://meet.example.org/room-7", now=NOW)),
        "request_shot": _w(lambda w, f, a: viewing.request_shot(viewing_id=f.v_open, actor=a, text="the box label", now=NOW)),
        "cancel_shot": _w(lambda w, f, a: viewing.cancel_shot(shot_request_id=f.shot, actor=a, now=NOW)),
        "answer_from_room": _w(lambda w, f, a: viewing.answer_from_room(viewing_id=f.v_open, actor=a, answer=answer, now=NOW)),
        "add_evidence": _w(lambda w, f, a: evidence.add_evidence(case_number=f.case1, actor=a, stream=io.BytesIO(OTHER_JPEG),
                                                                 filename="IMG_2.jpg", line_number=2, now=NOW)),
        "verify_evidence": _w(lambda w, f, a: evidence.verify_evidence(case_number=f.case1, actor=a, now=NOW)),
        "record_manual_service": _w(lambda w, f, a: delivery.record_manual_service(document_id=f.doc_holder, actor=a,
                                                                                   means="post", now=NOW)),
        "add_guide_item": _w(lambda w, f, a: guide.add_guide_item(recordation=f.recordation, actor=a,
                                                                  text="Hologram under UV light", now=NOW)),
        "update_guide_item": _w(lambda w, f, a: guide.update_guide_item(item_id=f.guide_item, actor=a,
                                                                        text="Serial number and hologram", now=NOW)),
        "create_user": _w(lambda w, f, a: users.create_user(actor=a, now=NOW, user={
            "username": "site.zhou", "display_name": "周 Zhou", "role": "site_officer", "customs_office": "CAPAIR",
            "password": "zhou-secret-pass"})),
        "update_user": _w(lambda w, f, a: users.update_user(actor=a, username="site.liu", now=NOW,
                                                            membership={"role": "site_officer", "customs_office": "HUANGG"})),
        "set_user_active": _w(lambda w, f, a: users.set_user_active(actor=a, username="site.liu", active=False, now=NOW)),
        "reset_password": _w(lambda w, f, a: users.reset_password(actor=a, username="site.liu",
                                                                  new_password="a-new-password-1", now=NOW)),
        "calendar_status": _r(lambda w, f, a: calendar.calendar_status(actor=a, now=NOW)),
        "calendar_years": _r(lambda w, f, a: calendar.calendar_years(actor=a)),
        "load_calendar_year": _w(lambda w, f, a: calendar.load_calendar_year(
            actor=a, now=NOW, filename="2027.json", content=json.dumps({
                "year": 2027, "source": "TEST ONLY: fictional", "holidays": ["2027-01-01"]}).encode())),
        "set_office_seal": _w(lambda w, f, a: offices.set_office_seal(office="CAPAIR", actor=a, data=_seal_png(),
                                                                      now=NOW)),
        "create_rights_holder": _w(lambda w, f, a: users.create_rights_holder(actor=a, now=NOW, holder={
            "name": "Moncler S.p.A.", "country": "IT", "contact_emails": ["ipr@moncler.example"]})),
        "set_locale": _w(lambda w, f, a: users.set_locale(actor=a, locale="en" if _locale(a) == "zh" else "zh", now=NOW)),
        "save_view": _w(lambda w, f, a: board.save_view(actor=a, name="Overdue", filters={"urgency": "overdue"}, now=NOW)),
        "sign_in": _w(lambda w, f, a: sessions.sign_in(username=a, password=w.passwords.get(a, "wrong-password-1"), now=NOW)),
        "sso_sign_in": _w(sso),
    }


def _locale(username: str) -> str:
    from sqlmodel import select

    from models.tables import User
    from tests.support import session_scope

    with session_scope(readonly=True) as s:
        user = s.exec(select(User).where(User.username == username)).first()
        return user.locale if user else "zh"


OPS = _ops()


def test_the_matrix_names_every_service_once() -> None:
    ops = {ln.split()[0] for ln in MATRIX.strip().splitlines()[1:]}
    assert ops == set(OPS)


@pytest.mark.parametrize(("op", "fam", "col", "mark"), _cells())
def test_access(world: World, op: str, fam: str, col: str, mark: str, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> None:
    fn, writes = OPS[op]
    family = world.families["A" if fam == "-" else fam]
    db = world.root / "yunque.db"
    if writes:  # each write on its own copy; reads share the world (their transactions roll back)
        db = tmp_path / "yunque.db"
        shutil.copyfile(world.root / "yunque.db", db)
    _point(monkeypatch, db, world.root / "var")
    from adapters.s3 import get_store
    from yunque.settings import get_settings

    stored = (lambda: len(get_store(get_settings()).list_keys(""))) if op == "add_evidence" else (lambda: 0)
    objects = stored()
    before = _counts(db)
    user = ACTORS[col]

    if mark in ("N", "P"):
        expected = NotFound if mark == "N" else PermissionDenied
        with pytest.raises((NotFound, PermissionDenied)) as caught:
            fn(world, family, user)
        assert type(caught.value) is expected, f"{op} by {user} on {fam}: {type(caught.value).__name__}: {caught.value}"
        assert _counts(db) == before, f"{op} by {user} was refused but wrote"
        assert stored() == objects, f"{op} by {user} was refused but stored an object"
        return

    result = fn(world, family, user)
    if isinstance(result, bool):
        assert result is (mark == "Y"), f"{op} by {user} on {fam}: the family's object is {'' if result else 'not '}listed"
    else:
        assert mark == "Y"
    after = _counts(db)
    if writes:
        assert after["timeline_entry"] > before["timeline_entry"], f"{op} by {user} left no mark on the timeline"
    else:
        assert after == before, f"{op} by {user} is a read but wrote"
