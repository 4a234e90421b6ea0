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

from sqlmodel import select

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
    """The seed story's shipment (119 items of 9 brands), found now."""
    demo = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    consignor = demo["consignors"][0]
    local = now.astimezone(SHANGHAI)
    return {
        "declaration_no": f"0101{local:%Y%m%d%H%M}{secrets.randbelow(10**2):02d}",
        "direction": "export",
        "customs_office": "Capital Airport Customs",
        "consignor": {"name": consignor["name"], "uscc": consignor["uscc"]},
        "found_at": local.isoformat(timespec="seconds"),
        "lines": demo["seed_lines"],
    }


def load_demo_data(*, now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    uow = given(uow)
    now = now_or(now)
    demo = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    settings = uow.settings
    with uow.transaction() as s:
        who = system_actor(s)
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
        # valid relative to the moment of loading: recorded two years ago for 10 years (Reg 10); a general
        # bond for this year and one for the next, so the demo still works after 31 December
        today = now.astimezone(SHANGHAI).date()
        year = today.year
        recorded = date(year - 2, 3, 1)
        users: list[tuple[str, str, str, dict[str, Any]]] = []  # username, display, role, extra
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
            users.append((rh["user"], f"{rh['name']} (agent)", Role.RIGHTS_HOLDER.value,
                          {"rights_holder_id": holder.id, "organisation": holder.name, "brands": [rh["brand"]]}))
        for c in demo["consignors"]:
            consignor = s.exec(select(Consignor).where(Consignor.uscc == c["uscc"])).first()
            if consignor is None:
                consignor = Consignor(name=c["name"], uscc=c["uscc"], contact_emails=[c["contact_email"]])
                s.add(consignor)
                s.flush()
                created += 1
            users.append((c["user"], c["name"], Role.CONSIGNOR.value, {"consignor_id": consignor.id, "organisation": consignor.name}))
        for u in demo["customs_users"]:
            office = offices[u["office"]]
            users.append((u["username"], u["display_name"], u["role"],
                          {"customs_office_id": office.id, "organisation": office.name_en}))

        passwords = _passwords(settings.var_dir, [u[0] for u in users])
        out = []
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
        if created:
            record(s, actor=who, action="demo.loaded", subject="demo", at=now, after={"created": created})
        return {"created": created, "users": out}
