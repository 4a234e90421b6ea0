"""The app server: Streamlit plus two small routes that keep the session token in an HttpOnly cookie.

``streamlit run ui/server.py`` (or ``uvicorn ui.server:app``). Every page load gives the browser a
random pre-sign-in nonce cookie (``yq_nonce``, HttpOnly); the sign-in is bound to it. After the
password check, the page sends the browser to ``/_yq/session?code=...`` with a one-time code; this
route trades it, only for a browser presenting the same nonce, for a fresh session token, set as an
HttpOnly, SameSite=Strict cookie that page scripts cannot read, and sends the browser back to the app.
Streamlit reads the cookies from the WebSocket handshake (``st.context.cookies``). Sign-out is a POST
from the app's own page (``/_yq/signout``; a GET or a cross-site form is refused). ``/_yq/unlock``
is the link of an unlock e-mail (``services.unlock``): it asks to confirm, then clears the lock.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.datastructures import Headers, MutableHeaders  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.responses import HTMLResponse, RedirectResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402
from starlette.types import ASGIApp, Message, Receive, Scope, Send  # noqa: E402

os.environ["YUNQUE_UI_COOKIE_ROUTES"] = "1"

from ui.sso import write_secrets_from_env  # noqa: E402

write_secrets_from_env(Path.cwd())  # single sign-on, when YUNQUE_OIDC_* is set; Streamlit reads ./.streamlit/
COOKIE = "yq_session"
NONCE_COOKIE = "yq_nonce"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _refusal(key: str, status: int) -> Response:
    """A plain page saying, in both languages, why nobody was signed in (no code, no trace)."""
    from html import escape

    from ui.i18n import t

    body = (f"<!doctype html><meta charset='utf-8'><title>Yunque</title><p>{escape(t(key, 'zh'))}</p>"
            f"<p>{escape(t(key, 'en'))}</p><p><a href='/'>云确 Yunque</a></p>")
    return HTMLResponse(body, status_code=status,
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


async def session_route(request: Request) -> Response:
    """Trade the one-time code for the session cookie, only in the browser that signed in: it must
    present the pre-sign-in nonce cookie the sign-in was bound to (a cross-site link carrying someone
    else's code signs nobody in)."""
    from starlette.concurrency import run_in_threadpool

    from models.rules.errors import HandoffRefused, NotFound
    from services.sessions import exchange_handoff
    from ui.chrome import safe_next

    try:
        token, expires_at = await run_in_threadpool(exchange_handoff, code=request.query_params.get("code", ""),
                                                    nonce=request.cookies.get(NONCE_COOKIE))
    except HandoffRefused:
        return _refusal("handoff_refused", 403)
    except NotFound:
        return _refusal("handoff_expired", 400)
    resp = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    from models.types import utcnow

    resp.set_cookie(COOKIE, token, max_age=int((expires_at - utcnow()).total_seconds()), path="/", httponly=True,
                    samesite="strict", secure=_secure(request))
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def _same_origin(request: Request) -> bool:
    """A browser's request from one of this site's own pages (a cross-site form says otherwise)."""
    from urllib.parse import urlsplit

    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is not None:
        return urlsplit(origin).netloc == request.headers.get("host", "")
    return True  # not a browser: no ambient cookie to abuse


async def signout_route(request: Request) -> Response:
    """POST only, from this site's own pages: end every session of the cookie's sign-in and clear it."""
    from starlette.concurrency import run_in_threadpool

    from services.sessions import sign_out

    if request.method != "POST":  # a link (or an image) from anywhere must not sign anyone out
        return Response("sign out with the button in Yunque", status_code=405, media_type="text/plain",
                        headers={"Allow": "POST"})
    if not _same_origin(request):
        return Response("sign-out must come from Yunque's own page", status_code=403, media_type="text/plain")
    token = request.cookies.get(COOKIE)
    if token:
        await run_in_threadpool(sign_out, token=token)
    resp = RedirectResponse("/", status_code=303)
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _page(status: int, *paragraphs: str, form: str = "") -> Response:
    """A small plain page in both languages (the words escaped), never cached, never referring onward."""
    from html import escape

    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return HTMLResponse(f"<!doctype html><meta charset='utf-8'><meta name='robots' content='noindex'>"
                        f"<title>云确 Yunque</title>{body}{form}", status_code=status,
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


async def unlock_route(request: Request) -> Response:
    """The link of an unlock e-mail (``services.unlock``). Opening it (GET) only asks to confirm: mail
    scanners and link previews fetch links, and must not spend the single-use token. Confirming (a POST
    from this page) clears the account's sign-in lock; a used, expired or unknown link is refused in
    plain words. Nobody is signed in here: the user then signs in with their password."""
    from html import escape
    from urllib.parse import parse_qs

    from starlette.concurrency import run_in_threadpool

    from models.rules.errors import UnlockLinkRefused
    from services.unlock import use_unlock_link
    from ui.i18n import t

    if request.method == "GET":
        token = request.query_params.get("token", "")
        form = (f"<form method='post' action='/_yq/unlock'><input type='hidden' name='token' value='{escape(token)}'>"
                f"<button type='submit'>{escape(t('unlock.button', 'zh'))} {escape(t('unlock.button', 'en'))}"
                "</button></form>")
        return _page(200, t("unlock.title", "zh") + " " + t("unlock.title", "en"), t("unlock.confirm", "zh"),
                     t("unlock.confirm", "en"), form=form)
    if not _same_origin(request):
        return Response("unlock from Yunque's own page", status_code=403, media_type="text/plain")
    fields = parse_qs((await request.body()).decode("utf-8", "replace")[:4096])
    token = (fields.get("token") or [""])[0]
    home = f"<p><a href='/'>{escape(t('unlock.sign_in', 'zh'))} {escape(t('unlock.sign_in', 'en'))}</a></p>"
    try:
        username = await run_in_threadpool(use_unlock_link, token=token, client=_client(request))
    except UnlockLinkRefused as e:
        return _page(400, t(f"unlock.refused.{e.reason}", "zh"), t(f"unlock.refused.{e.reason}", "en"), form=home)
    return _page(200, t("unlock.done", "zh", username=username), t("unlock.done", "en", username=username), form=home)


def _client(request: Request) -> str:
    """The network address of the request, as ``ui.chrome.client_address`` reads it in the page."""
    from services.auth import LOCAL_CLIENT
    from yunque.settings import get_settings

    hops = get_settings().trusted_proxies
    chain = [a.strip() for a in request.headers.get("x-forwarded-for", "").split(",") if a.strip()]
    if hops > 0 and chain:
        return chain[-min(hops, len(chain))][:64]
    return (request.client.host if request.client else LOCAL_CLIENT)[:64]


class NonceCookie:
    """Gives every browser that loads a page a random pre-sign-in nonce (HttpOnly, so page scripts
    and other sites cannot read it). Pure ASGI, so Streamlit's WebSocket passes untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or NONCE_COOKIE in Request(scope).cookies:
            await self.app(scope, receive, send)
            return
        secure = Request(scope).url.scheme == "https" or Headers(scope=scope).get("x-forwarded-proto") == "https"

        async def send_with_nonce(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    import secrets

                    cookie = (f"{NONCE_COOKIE}={secrets.token_urlsafe(32)}; Path=/; Max-Age=31536000; HttpOnly; "
                              f"SameSite=Lax{'; Secure' if secure else ''}")
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_nonce)


app = st.App(str(Path(__file__).with_name("app.py")),
             routes=[Route("/_yq/session", session_route), Route("/_yq/signout", signout_route, methods=["GET", "POST"]),
                     Route("/_yq/unlock", unlock_route, methods=["GET", "POST"])],
             middleware=[Middleware(NonceCookie)])
