"""The app server: Streamlit plus two small routes that keep the session token in an HttpOnly cookie.

``streamlit run ui/server.py`` (or ``uvicorn ui.server:app``). After the password check, the page
sends the browser to ``/_yq/session?code=...`` with a one-time code; this route trades it for a fresh
session token, set as an HttpOnly, SameSite=Strict cookie that page scripts cannot read, and sends the
browser back to the app. Streamlit reads the cookie from the WebSocket handshake (``st.context.cookies``).
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
from starlette.responses import RedirectResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

os.environ["YUNQUE_UI_COOKIE_ROUTES"] = "1"

from ui.sso import write_secrets_from_env  # noqa: E402

write_secrets_from_env(Path.cwd())  # single sign-on, when YUNQUE_OIDC_* is set; Streamlit reads ./.streamlit/
COOKIE = "yq_session"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


async def session_route(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    from models.rules.errors import NotFound
    from services.sessions import exchange_handoff
    from ui.chrome import safe_next

    try:
        token, expires_at = await run_in_threadpool(exchange_handoff, code=request.query_params.get("code", ""))
    except NotFound:
        return RedirectResponse("/", status_code=303)
    resp = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    from models.types import utcnow

    resp.set_cookie(COOKIE, token, max_age=int((expires_at - utcnow()).total_seconds()), path="/", httponly=True,
                    samesite="strict", secure=_secure(request))
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


async def signout_route(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    from services.sessions import sign_out

    token = request.cookies.get(COOKIE)
    if token:
        await run_in_threadpool(sign_out, token=token)
    resp = RedirectResponse("/", status_code=303)
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return resp


app = st.App(str(Path(__file__).with_name("app.py")),
             routes=[Route("/_yq/session", session_route), Route("/_yq/signout", signout_route)])
