"""Administration: users (create, role and organisation, disable, password), rights holders, the working-day
calendar and each office's seal."""

from __future__ import annotations

import streamlit as st
from pydantic import ValidationError

from models.enums import Role
from services import users
from ui import chrome

tr = chrome.translator()

actor = chrome.require(chrome.actor_of_page(), Role.ADMIN)

st.title(tr("page.admin"))
orgs = users.list_organisations(actor=actor.username)
office_codes = [o["code"] for o in orgs.customs_offices]
holder_ids = [h["id"] for h in orgs.rights_holders]
consignor_ids = [c["id"] for c in orgs.consignors]
ROLES = [r.value for r in users.PEOPLE_ROLES]


# a customs office as its reader calls it (首都机场海关, Capital Airport Customs), worded once per run: a
# widget's format_func may be called after the run, when the reader's language is no longer at hand
office_name = {o["code"]: o["name"] if chrome.lang() == "zh" else o["name_en"] for o in orgs.customs_offices}.__getitem__


def language_name(code: str) -> str:
    """A user's language as the reader calls it (中文 and 英文 in Chinese)."""
    return tr(f"language.{code}") if code in ("zh", "en") else code


def membership_inputs(prefix: str, role_default: str = "site_officer") -> dict:
    role = st.selectbox(tr("role"), ROLES, index=ROLES.index(role_default), format_func=lambda r: tr(f"role.{r}"),
                        key=f"{prefix}.role")
    out: dict = {"role": role}
    if Role(role).is_customs:
        out["customs_office"] = st.selectbox(tr("customs_office"), office_codes, key=f"{prefix}.office",
                                             format_func=office_name)
    elif role == Role.RIGHTS_HOLDER:
        out["rights_holder_id"] = st.selectbox(tr("rights_holder"), holder_ids, key=f"{prefix}.holder", index=None,
                                               placeholder=tr("choose_option"),
                                               format_func=lambda i: next(str(h["name"]) for h in orgs.rights_holders if h["id"] == i))
    else:
        out["consignor_id"] = st.selectbox(tr("consignor"), consignor_ids, key=f"{prefix}.consignor", index=None,
                                           placeholder=tr("choose_option"),
                                           format_func=lambda i: next(str(c["name"]) for c in orgs.consignors if c["id"] == i))
    return out


tab_users, tab_new, tab_holders, tab_calendar, tab_seal = st.tabs([tr("users"), tr("new_user"), tr("rights_holders"),
                                                                   tr("calendar.tab"), tr("seal.tab")])

with tab_users:
    listing = users.list_users(actor=actor.username)
    chrome.table([{tr("username"): u.username, tr("display_name"): u.display_name, tr("role"): tr(f"role.{u.role}"),
                   tr("organisation"): office_name(u.customs_office) if u.customs_office else u.organisation,
                   tr("email"): u.email or "", tr("language"): language_name(u.locale),
                   tr("active"): tr("yes" if u.active else "no"), tr("locked"): tr("yes" if u.locked else "no")}
                  for u in listing])
    who = st.selectbox(tr("user"), [u.username for u in listing], key="admin.user")
    chosen = next(u for u in listing if u.username == who)
    c1, c2 = st.columns(2)
    with c1:
        st.subheader(tr("role_and_org"))
        m = membership_inputs("admin.edit", chosen.role)
        name = st.text_input(tr("display_name"), value=chosen.display_name, key=f"admin.edit.name.{who}", max_chars=200)
        if st.button(tr("save"), key="admin.edit.save"):
            chrome.run_action(users.update_user, actor=actor.username, username=who, membership=m, display_name=name,
                              ok=tr("saved"))
    with c2:
        st.subheader(tr("account"))
        if chosen.active:
            if st.button(tr("disable"), key="admin.disable", icon=":material/block:"):
                if chrome.run_action(users.set_user_active, actor=actor.username, username=who, active=False, ok=tr("saved")):
                    st.rerun()
        elif st.button(tr("enable"), key="admin.enable", icon=":material/check_circle:"):
            if chrome.run_action(users.set_user_active, actor=actor.username, username=who, active=True, ok=tr("saved")):
                st.rerun()
        with st.form("admin.reset", clear_on_submit=True):
            pw = st.text_input(tr("new_password"), type="password", max_chars=200)
            if st.form_submit_button(tr("reset_password")):
                chrome.run_action(users.reset_password, actor=actor.username, username=who, new_password=pw,
                                  ok=tr("password_reset"))

with tab_new:
    m = membership_inputs("admin.new")
    with st.form("admin.new.form"):
        username = st.text_input(tr("username"), max_chars=80)
        display = st.text_input(tr("display_name"), max_chars=200)
        email = st.text_input(tr("email"), max_chars=320)
        locale = st.selectbox(tr("language"), ["zh", "en"], format_func=language_name)
        pw = st.text_input(tr("password"), type="password", max_chars=200)
        if st.form_submit_button(tr("create_user"), type="primary"):
            try:
                data = users.UserIn.model_validate({**m, "username": username, "display_name": display,
                                                    "email": email or None, "locale": locale, "password": pw})
            except ValidationError as e:
                chrome.show_validation(e)
            else:
                chrome.run_action(users.create_user, actor=actor.username, user=data, ok=tr("user_created", u=data.username))

with tab_holders:
    chrome.table([{tr("col.id"): h["id"], tr("name"): h["name"], tr("country"): h["country"],
                   tr("contact_emails"): h["contact_emails"], tr("agent"): h["agent"]} for h in orgs.rights_holders])
    with st.form("admin.holder.form", clear_on_submit=False):
        hname = st.text_input(tr("name"), max_chars=200)
        country = st.text_input(tr("country"), max_chars=80)
        emails = st.text_input(tr("contact_emails"), max_chars=2000, help=tr("comma_separated"))
        agent = st.text_input(tr("agent"), max_chars=200)
        if st.form_submit_button(tr("create_rights_holder"), type="primary"):
            try:
                h = users.RightsHolderIn.model_validate({"name": hname, "country": country, "agent": agent or None,
                                                         "contact_emails": [e.strip() for e in emails.split(",") if e.strip()]})
            except ValidationError as e:
                chrome.show_validation(e)
            else:
                if chrome.run_action(users.create_rights_holder, actor=actor.username, holder=h, ok=tr("saved")):
                    st.rerun()

with tab_calendar:
    from services import calendar

    chrome.table([{tr("calendar.year"): y.year, tr("calendar.source"): y.source,
                   tr("calendar.origin"): tr(f"calendar.origin.{y.origin}"), tr("calendar.loaded_by"): y.loaded_by or "",
                   tr("calendar.loaded_at"): chrome.when(y.loaded_at)}
                  for y in reversed(calendar.calendar_years(actor=actor.username))])
    st.caption(tr("calendar.how"))
    with st.form("admin.calendar", clear_on_submit=True):
        upload = st.file_uploader(tr("calendar.file"), type=["json"], key="admin.calendar.file")
        replace = st.checkbox(tr("calendar.replace"), key="admin.calendar.replace")
        if st.form_submit_button(tr("calendar.load"), type="primary") and upload is not None:
            loaded = chrome.run_action(calendar.load_calendar_year, content=upload.getvalue(), filename=upload.name,
                                       actor=actor.username, replace=replace)
            if loaded is not None:
                st.success(tr("calendar.loaded", year=loaded.year, source=loaded.source, n=loaded.deadlines_computed))
                if loaded.changes:
                    st.subheader(tr("calendar.changes"))
                    chrome.table([{tr("calendar.day"): chrome.day(c.day), tr("calendar.was"): tr(f"calendar.{c.was}"),
                                   tr("calendar.now"): tr(f"calendar.{c.now}")} for c in loaded.changes])

with tab_seal:
    from services import offices

    st.caption(tr("seal.how"))
    seal_office = st.selectbox(tr("customs_office"), office_codes, key="admin.seal.office",
                               format_func=office_name)
    with st.form("admin.seal", clear_on_submit=True):
        seal_file = st.file_uploader(tr("seal.file"), type=["png"], key="admin.seal.file")
        if st.form_submit_button(tr("seal.set"), type="primary"):
            if seal_file is None:
                st.error(tr("field_error", field=tr("field.seal"), msg=tr("seal.missing")))
            else:  # the service judges the content (PNG, transparent, square, size) and names ``seal`` if it refuses
                chrome.run_action(offices.set_office_seal, office=seal_office, actor=actor.username,
                                  data=seal_file.getvalue(), ok=tr("seal.saved"))
    # after the form, so a seal just set is the one shown
    current = chrome.run_action(offices.office_seal, office=seal_office, actor=actor.username)
    if current is not None and current.image is None:
        st.info(tr("seal.none"))
    elif current is not None:
        st.caption(tr("seal.current", sha=(current.sha256 or "")[:12], size=current.size))
        st.image(current.image, width=160)
