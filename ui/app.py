"""Yunque's web app: the shared chrome (who is signed in, language) and the pages each role may use.

Run with ``streamlit run ui/server.py`` (the ASGI app that also sets the session cookie) or, without
the cookie, ``streamlit run ui/app.py``."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from models.enums import Role  # noqa: E402
from ui import chrome  # noqa: E402
from ui.chrome import tr  # noqa: E402

st.set_page_config(page_title="Yunque 云确", page_icon=":material/verified:", layout="wide")

actor = chrome.current_actor()
st.session_state["auth.actor"] = actor
if actor is not None and "ui.lang" not in st.session_state:
    st.session_state["ui.lang"] = actor.locale if actor.locale in ("zh", "en") else "zh"


def page(file: str, key: str, icon: str, *, default: bool = False, url: str | None = None) -> st.Page:
    return st.Page(f"pages/{file}", title=tr(f"page.{key}"), icon=icon, default=default, url_path=url or key)


verify = page("verify.py", "verify", ":material/qr_code_scanner:")
if actor is None:
    pages: list[st.Page] = [page("signin.py", "signin", ":material/login:", default=True), verify]
else:
    inbox = page("inbox.py", "inbox", ":material/inbox:", default=actor.role in (Role.SITE_OFFICER, Role.IPR_OFFICER))
    case = page("case.py", "case", ":material/folder_open:")
    register = page("register.py", "register", ":material/add_box:")
    # The viewing room and the outbox appear where their services are installed.
    from importlib.util import find_spec

    room = page("viewing.py", "viewing", ":material/videocam:") if find_spec("services.viewing") else None

    board = page("board.py", "board", ":material/monitoring:", default=actor.role == Role.MANAGER)
    admin = page("admin.py", "admin", ":material/manage_accounts:", default=actor.role == Role.ADMIN)
    outbox = page("outbox.py", "outbox", ":material/outgoing_mail:") if find_spec("services.delivery") else None
    notices = page("portal.py", "portal", ":material/description:", default=actor.role == Role.RIGHTS_HOLDER)
    shipments = page("shipments.py", "shipments", ":material/local_shipping:", default=actor.role == Role.CONSIGNOR)
    by_role: dict[Role, list[st.Page | None]] = {
        Role.SITE_OFFICER: [inbox, case, register, room, outbox],
        Role.IPR_OFFICER: [inbox, case, register, room, outbox],
        Role.MANAGER: [board, inbox, case, outbox],
        Role.ADMIN: [admin, board, inbox, case, register, outbox],
        Role.RIGHTS_HOLDER: [notices, room],
        Role.CONSIGNOR: [shipments, room],
    }
    pages = [p for p in by_role.get(actor.role, []) if p is not None]
    pages.append(verify)

nav = st.navigation(pages)

with st.sidebar:
    st.caption("Yunque 云确")
    if actor is not None:
        st.text(actor.display_name)
        st.caption(tr(f"role.{actor.role.value}"))
    choice = st.segmented_control(tr("language"), ["zh", "en"], format_func=lambda c: {"zh": "中文", "en": "English"}[c],
                                  default=chrome.lang(), key="ui.lang_choice")
    if choice and choice != chrome.lang():
        st.session_state["ui.lang"] = choice
        if actor is not None:
            from services.users import set_locale

            set_locale(actor=actor.username, locale=choice)
        st.rerun()
    if actor is not None and st.button(tr("sign_out"), key="ui.sign_out", icon=":material/logout:"):
        from services.sessions import sign_out

        token = st.session_state.pop(chrome.TOKEN_KEY, None)
        if token:
            sign_out(token=token)
        for k in [k for k in st.session_state if str(k).startswith(("auth.", "ui."))]:
            del st.session_state[k]
        try:
            sso = "auth" in st.secrets and st.user.is_logged_in
        except Exception:  # noqa: BLE001 - single sign-on not configured
            sso = False
        if sso:
            st.logout()  # the browser's only navigation: /auth/logout (and the provider's end of session)
            st.stop()
        if chrome.asgi_mode():
            st.html('<script>window.location.replace("/_yq/signout")</script>', unsafe_allow_javascript=True)
            st.stop()
        st.rerun()

nav.run()
