"""Sign in with a local account (argon2id; the failing client is locked out, see services.auth), or single sign-on.

The form of the sign-in page, and of every page a visitor opens before signing in (a bookmark, a link in
an e-mail): it shows under that page's address, which the visitor then reaches signed in."""

from __future__ import annotations

import streamlit as st

from services import sessions
from ui import chrome


def show() -> None:
    tr = chrome.translator()
    st.title(tr("page.signin"))
    st.caption(tr("signin_intro"))

    if st.session_state.get("auth.oidc_pending"):
        st.error(tr("sso_refused"), icon=":material/block:")
        st.text(st.session_state["auth.oidc_pending"])  # it quotes the provider's claims: text, never markdown

    with st.form("signin.form"):
        username = st.text_input(tr("username"), key="signin.username", autocomplete="username")
        password = st.text_input(tr("password"), type="password", key="signin.password", autocomplete="current-password")
        submitted = st.form_submit_button(tr("sign_in"), type="primary")

    if submitted:
        from models.rules.errors import PermissionDenied, SignInLocked, YunqueError

        signed = None
        try:
            signed = sessions.sign_in(username=username, password=password, client=chrome.client_address(),
                                      nonce=chrome.browser_nonce())
        except PermissionDenied as e:  # wrong password or a lock-out: said in the user's language
            st.error(chrome.sign_in_refusal(e, chrome.lang()), icon=":material/lock:")
            if isinstance(e, SignInLocked):  # the user may ask for an unlock link (below), for this name
                st.session_state["signin.locked_name"] = username
        except YunqueError as e:  # a field left empty
            st.error(chrome.refusal_text(e))
        if signed is not None:
            st.session_state.pop("signin.locked_name", None)
            st.session_state[chrome.TOKEN_KEY] = signed.token
            st.session_state["ui.lang"] = signed.actor.locale if signed.actor.locale in ("zh", "en") else "zh"
            # Back to the address asked for before signing in, if this role may see it; else home.
            target = chrome.target_after_sign_in(signed.actor.role, st.session_state.pop(chrome.NEXT_KEY, None))
            if chrome.asgi_mode():
                # The browser trades the one-time code for an HttpOnly cookie; no reusable secret passes here.
                chrome.handoff_redirect(signed.handoff, target)
            if target == "/":
                st.query_params.clear()
            st.rerun()

    if st.session_state.get("signin.locked_name"):
        unlock_offer(st.session_state["signin.locked_name"])

    try:
        sso = "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file
        sso = False
    if sso:
        st.divider()
        if st.button(tr("sign_in_sso"), icon=":material/key:"):
            st.login()


def unlock_offer(username: str) -> None:
    """After a lock-out: "send me an unlock link" for the name just typed. The link goes to the account's
    own address (``services.unlock``), mailed in the background; the page says the same whether or not
    the account exists, and never asks for an address."""
    from models.rules.errors import UnlockLinksLimited, YunqueError
    from services.unlock import LINK_VALID, ask_for_unlock_link

    tr = chrome.translator()
    st.info(tr("unlock.offer"), icon=":material/mail:")
    if st.button(tr("unlock.ask"), key="signin.unlock", icon=":material/lock_open:"):
        try:
            ask_for_unlock_link(username=username, client=chrome.client_address())
        except UnlockLinksLimited as e:
            st.error(tr("unlock.limited", until=chrome.when(e.until)))
        except YunqueError as e:
            st.error(chrome.refusal_text(e))
        else:
            st.success(tr("unlock.asked", minutes=int(LINK_VALID.total_seconds() // 60)), icon=":material/mail:")
