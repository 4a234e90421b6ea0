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
chrome.widget_words()

try:
    actor = chrome.current_actor()
except Exception as e:  # noqa: BLE001 - e.g. a database nobody migrated: a message and an incident id, no traceback
    chrome.show_failure(e, "sign-in")
    st.stop()
st.session_state["auth.actor"] = actor
if actor is not None and "ui.lang" not in st.session_state:
    st.session_state["ui.lang"] = actor.locale if actor.locale in ("zh", "en") else "zh"


def page(file: str, key: str, icon: str, *, default: bool = False, url: str | None = None) -> st.Page:
    # The pages live in ui/views/, not ui/pages/: only st.navigation decides the pages and their addresses
    # (Streamlit would otherwise discover a pages/ folder by itself and answer a bookmark with "Page not found").
    return st.Page(f"views/{file}", title=tr(f"page.{key}"), icon=icon, default=default, url_path=url or key)


ICONS = {"inbox": ":material/inbox:", "case": ":material/folder_open:", "register": ":material/add_box:",
         "viewing": ":material/videocam:", "board": ":material/monitoring:", "admin": ":material/manage_accounts:",
         "outbox": ":material/outgoing_mail:", "portal": ":material/description:", "apply": ":material/gavel:", "shipments": ":material/local_shipping:"}

def home_to(target: st.Page) -> st.Page:
    """The app's root address, hidden from the menu, opening ``target`` under its own address. Streamlit
    serves its default page at "/" only, so a page marked default would answer its own bookmark
    (``/inbox``, ``/signin``) with "Page not found"; no page of ours is the default."""
    return st.Page(lambda: st.switch_page(target, query_params=st.query_params.to_dict()), title=target.title,
                   url_path="home", default=True, visibility="hidden")


verify = page("verify.py", "verify", ":material/qr_code_scanner:")
if actor is None:
    signin = page("signin.py", "signin", ":material/login:")
    # A role's address opened before signing in (a link in an e-mail, a bookmark) is its own page, which
    # shows the sign-in form under that address (chrome.require) and, once signed in, itself with the
    # query it was opened with; the menu shows only the sign-in and verification pages.
    deep = [st.Page(f"views/{k}.py", title=tr("page.signin"), url_path=k) for k in chrome.DEEP_LINKS]
    pages: list[st.Page] = [home_to(signin), signin, verify, *deep]
    nav = st.navigation(pages, position="hidden")
    if nav.url_path in chrome.DEEP_LINKS:
        chrome.remember_target(nav.url_path, st.query_params.to_dict())
    with st.sidebar:
        st.page_link(signin)
        st.page_link(verify)
else:
    pages = [page(f"{k}.py", k, ICONS[k]) for k in chrome.PAGES_BY_ROLE.get(actor.role, ())]
    pages.append(verify)
    # the pages along the top: on a phone the sidebar (language, sign-out) stays folded away while the
    # officer moves between pages, instead of covering the page it just opened
    nav = st.navigation([home_to(pages[0]), *pages], position="top")

if actor is not None and actor.role == Role.ADMIN:
    with chrome.guard("calendar banner"):
        chrome.calendar_banner(actor.username)

with st.sidebar:
    st.caption("Yunque 云确")
    if actor is not None:
        st.text(actor.display_name)
        st.caption(tr(f"role.{actor.role.value}"))
    # The control shows the language of this run: a sign-in may have changed it (the account's own), and a
    # value the control kept from before the sign-in must never be taken for the user's choice.
    st.session_state["ui.lang_choice"] = chrome.lang()
    st.segmented_control(tr("language"), ["zh", "en"], format_func=lambda c: {"zh": "中文", "en": "English"}[c],
                         key="ui.lang_choice", on_change=chrome.choose_language,
                         args=(actor.username if actor is not None else None,))
    if actor is not None and st.button(tr("sign_out"), key="ui.sign_out", icon=":material/logout:"):
        from services.sessions import sign_out

        token = st.session_state.pop(chrome.TOKEN_KEY, None)
        if token:
            sign_out(token=token)  # ends the page's and the cookie's sessions of this sign-in
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
            chrome.post_sign_out()  # every session of this sign-in already ended above; this clears the cookie
        st.rerun()
    chrome.screen_reader_words()  # last in the sidebar: its empty element adds no gap between others

with chrome.guard(f"page {nav.url_path or 'home'}"):
    nav.run()
