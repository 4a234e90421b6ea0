"""Demo data: the seed story of Capital Airport Customs, loaded once.

Demo passwords are generated on first load and kept in ``var/demo-passwords.json`` (git ignores
``var/``) so the run command can print them; nowhere else is a password kept in clear."""

from __future__ import annotations

import json
import os
import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from models.enums import Role
from models.tables import Consignor, CustomsOffice, GeneralBond, GuideItem, Recordation, RightsHolder, User
from models.rules.workdays import SHANGHAI
from services.auth import hash_password
from services.context import now_or, record, system_actor
from yunque.settings import ROOT
from services.unit_of_work import UnitOfWork, given

DEMO_FILE = ROOT / "data" / "demo" / "demo.json"


def _passwords(var_dir: Path, usernames: list[str]) -> dict[str, str]:
    path = var_dir / "demo-passwords.json"
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    new = {u: f"{u.split('.')[0]}-{secrets.token_hex(4)}" for u in usernames if u not in known}
    if new:
        known.update(new)
        var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(known, f, indent=1)
        os.replace(path.with_suffix(".tmp"), path)
    return known


def _ten_years_from(d: date) -> date:
    """The last day of a 10-year recordation starting on ``d`` (Reg 10)."""
    return date(d.year + 10, d.month, d.day) - timedelta(days=1)


def seed_shipment(now: datetime) -> dict[str, Any]:
    """The seed story's shipment (119 items of 9 brands), found now, under a declaration number of its own.

    The number is laid out as customs lays out its own: the office's code, the year, 0 for an export, and a
    nine-digit serial (here random, so that shipments seeded in the same minute do not collide)."""
    demo = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    consignor = demo["consignors"][0]
    local = now.astimezone(SHANGHAI)
    return {
        "declaration_no": f"0101{local:%Y}0{secrets.randbelow(10**9):09d}",
        "direction": "export",
        "customs_office": "Capital Airport Customs",
        "consignor": {"name": consignor["name"], "uscc": consignor["uscc"]},
        "found_at": local.isoformat(timespec="seconds"),
        "lines": demo["seed_lines"],
    }


#: a demo account: username, display name, role, and its organisation (ids, name, brands)
_Account = tuple[str, str, str, dict[str, Any]]


def load_demo_data(*, now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    """The demo's offices, rights holders (recordations, guides, general bonds), consignors and accounts, each
    created once (a second load adds nothing); the accounts with their passwords (kept under ``var_dir``)."""
    uow = given(uow)
    now = now_or(now)
    demo = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    with uow.transaction() as s:
        who = system_actor(s)
        offices, created = _offices(s, demo)
        holders, holders_created = _rights_holders(s, demo, now.astimezone(SHANGHAI).date().year)
        consignors, consignors_created = _consignors(s, demo)
        users = [*holders, *consignors, *_customs_users(demo, offices)]
        passwords = _passwords(uow.settings.var_dir, [u[0] for u in users])
        out, users_created = _accounts(s, users, passwords)
        created += holders_created + consignors_created + users_created
        if created:
            record(s, actor=who, action="demo.loaded", subject="demo", at=now, after={"created": created})
        return {"created": created, "users": out}


def _offices(s: Session, demo: dict[str, Any]) -> tuple[dict[str, CustomsOffice], int]:
    """The demo's customs offices by code, and how many were created."""
    created = 0
    offices: dict[str, CustomsOffice] = {}
    for o in demo["customs_offices"]:
        office = s.exec(select(CustomsOffice).where(CustomsOffice.code == o["code"])).first()
        if office is None:
            office = CustomsOffice(**o)
            s.add(office)
            s.flush()
            created += 1
        offices[o["code"]] = office
    return offices, created


def _rights_holders(s: Session, demo: dict[str, Any], year: int) -> tuple[list[_Account], int]:
    """The rights holders' accounts, and how many holders were created. Valid relative to the year of loading:
    recorded two years ago for 10 years (Reg 10); a general bond for this year and one for the next, so the
    demo still works after 31 December."""
    recorded = date(year - 2, 3, 1)
    users: list[_Account] = []
    created = 0
    for index, rh in enumerate(demo["rights_holders"], start=1):
        holder = s.exec(select(RightsHolder).where(RightsHolder.name == rh["name"])).first()
        if holder is None:
            holder = RightsHolder(name=rh["name"], country=rh["country"],
                                  contact_emails=[f"{rh['user']}@rights.localhost"])
            s.add(holder)
            s.flush()
            rec = Recordation(
                number=f"T2019-{40000 + index:05d}", right_type="trademark",
                brand=rh["brand"], classes=rh["classes"], rights_holder_id=holder.id,  # type: ignore[arg-type]
                valid_from=recorded, valid_until=_ten_years_from(recorded),
                authentication_guide="\n".join(rh["guide"]),
            )
            s.add(rec)
            s.flush()
            for i, text in enumerate(rh["guide"]):
                s.add(GuideItem(recordation_id=rec.id, position=i, text=text))  # type: ignore[arg-type]
            for bond_year in (year, year + 1) if rh["general_bond"] else ():  # each to 31 December (Meas 24)
                s.add(GeneralBond(rights_holder_id=holder.id, amount=Decimal(rh["general_bond"]),  # type: ignore[arg-type]
                                  valid_from=date(bond_year, 1, 1), valid_until=date(bond_year, 12, 31),
                                  reference=f"GB-{bond_year}-{rh['brand'][:3]}"))
            created += 1
        users.append((rh["user"], f"{rh['name']} 代理人", Role.RIGHTS_HOLDER.value,
                      {"rights_holder_id": holder.id, "organisation": holder.name, "brands": [rh["brand"]]}))
    return users, created


def _consignors(s: Session, demo: dict[str, Any]) -> tuple[list[_Account], int]:
    """The consignors' accounts, and how many consignors were created."""
    users: list[_Account] = []
    created = 0
    for c in demo["consignors"]:
        consignor = s.exec(select(Consignor).where(Consignor.uscc == c["uscc"])).first()
        if consignor is None:
            consignor = Consignor(name=c["name"], uscc=c["uscc"], contact_emails=[c["contact_email"]])
            s.add(consignor)
            s.flush()
            created += 1
        users.append((c["user"], c["name"], Role.CONSIGNOR.value,
                      {"consignor_id": consignor.id, "organisation": consignor.name}))
    return users, created


def _customs_users(demo: dict[str, Any], offices: dict[str, CustomsOffice]) -> list[_Account]:
    return [(u["username"], u["display_name"], u["role"],
             {"customs_office_id": offices[u["office"]].id, "organisation": offices[u["office"]].name_en})
            for u in demo["customs_users"]]


def _accounts(s: Session, users: list[_Account], passwords: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    """The demo's user accounts, created when missing; what the demo shows of each, and how many were created."""
    out = []
    created = 0
    for username, display, role, extra in users:
        user = s.exec(select(User).where(User.username == username)).first()
        if user is None:
            user = User(username=username, display_name=display, role=role,
                        email=f"{username}@demo.localhost", password_hash=hash_password(passwords[username]),
                        locale="zh" if role in ("site_officer", "ipr_officer", "manager", "admin", "consignor") else "en",
                        **{k: v for k, v in extra.items() if k.endswith("_id")})
            s.add(user)
            created += 1
        out.append({"username": username, "display_name": display, "role": role,
                    "organisation": extra["organisation"], "brands": extra.get("brands", []),
                    "password": passwords.get(username)})
    return out, created
