"""What every page shares: who is signed in, the role check, language, times and error display.

Pages call services only. User-written text is shown with ``st.text``/``st.code``/dataframes, never
as markdown or HTML."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import streamlit as st
from pydantic import ValidationError

from models.enums import Role
from models.rules.errors import NotFound, YunqueError
from services.context import Actor
from ui.i18n import t

SHANGHAI = ZoneInfo("Asia/Shanghai")
COOKIE = "yq_session"
TOKEN_KEY = "auth.token"
T = TypeVar("T")

CUSTOMS = (Role.SITE_OFFICER, Role.IPR_OFFICER, Role.MANAGER, Role.ADMIN)


def asgi_mode() -> bool:
    """True when served by ``ui/server.py``, whose routes turn a sign-in into an HttpOnly cookie."""
    return os.environ.get("YUNQUE_UI_COOKIE_ROUTES") == "1"


def _cookie_token() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no browser request behind this run (AppTest, bare mode)
        return None
    return value if isinstance(value, str) and value else None


def current_actor() -> Actor | None:
    """The signed-in actor, re-read from the database on every run (roles and disabling apply at once)."""
    from services import sessions

    token = st.session_state.get(TOKEN_KEY) or _cookie_token()
    if not token and st.session_state.get("auth.oidc_pending") is None:
        token = _oidc_token()
    if not token:
        return None
    try:
        actor = sessions.resume(token=token)
    except (NotFound, YunqueError):
        st.session_state.pop(TOKEN_KEY, None)
        return None
    st.session_state[TOKEN_KEY] = token
    return actor


def _oidc_token() -> str | None:
    """Single sign-on through ``st.login``: open a Yunque session from the provider's claims."""
    from services import sessions

    try:
        if "auth" not in st.secrets or not st.user.is_logged_in:
            return None
    except Exception:  # noqa: BLE001 - no secrets file: single sign-on is not configured
        return None
    groups_claim = str(st.secrets.get("yunque", {}).get("groups_claim", "groups"))
    try:
        signed = sessions.sso_sign_in(claims=dict(st.user.to_dict()), groups_claim=groups_claim)
    except YunqueError as e:
        st.session_state["auth.oidc_pending"] = str(e)
        return None
    return signed.token


def lang() -> str:
    return st.session_state.get("ui.lang", "zh")


def tr(key: str, **kw: Any) -> str:
    return t(key, lang(), **kw)


def translator() -> Callable[..., str]:
    """``tr`` bound to this run's language (format functions may be called outside the run)."""
    bound = lang()
    return lambda key, **kw: t(key, bound, **kw)


def require(actor: Actor | None, *roles: Role) -> Actor:
    """Every page checks the role itself: a hidden page is not access control."""
    if actor is None:
        st.warning(tr("sign_in_first"))
        st.stop()
    if roles and actor.role not in roles:
        st.error(tr("not_for_your_role"))
        st.stop()
    return actor  # type: ignore[return-value]


def actor_of_page() -> Actor | None:
    return st.session_state.get("auth.actor")


def when(dt: datetime | None) -> str:
    if dt is None:
        return "—"
    return dt.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def day(d: date | None) -> str:
    return d.isoformat() if d else "—"


def countdown(deadline_at: datetime | None, deadline: date | None, now: datetime | None = None) -> str:
    """'2 working days left (ends 2026-11-27 24:00)', in the user's language."""
    from services.portal import working_days_left

    if deadline_at is None:
        return tr("no_deadline")
    now = now or datetime.now(SHANGHAI)
    if deadline_at <= now:
        return tr("deadline_passed", at=when(deadline_at))
    wd = working_days_left(deadline=deadline, now=now)
    hours = (deadline_at - now).total_seconds() / 3600
    if wd is None:
        return tr("hours_left", h=f"{hours:.0f}")
    return tr("wd_left", n=wd, h=f"{hours:.0f}", d=day(deadline))


def state_label(state: str) -> str:
    return tr(f"state.{state}") if tr(f"state.{state}") != f"state.{state}" else state


def run_action(fn: Callable[..., T], *args: Any, ok: str | None = None, **kwargs: Any) -> T | None:
    """Call a service for a user action; show its refusal in plain words (per field for bad input)."""
    try:
        result = fn(*args, **kwargs)
    except ValidationError as e:
        show_validation(e)
        return None
    except YunqueError as e:
        field = getattr(e, "field", None)
        st.error(f"{field}: {getattr(e, 'reason', e)}" if field else str(e))
        return None
    if ok:
        st.success(ok)
    return result


def field_errors(e: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "form"
        msg = err["msg"].removeprefix("Value error, ")
        if ": " in msg and loc in ("form", "") and msg.split(": ", 1)[0].isidentifier():
            loc, msg = msg.split(": ", 1)
        out.setdefault(loc, msg)
    return out


def show_validation(e: ValidationError) -> None:
    for field, msg in field_errors(e).items():
        st.error(f"{tr('field')} {field}: {msg}")


def table(rows: Iterable[dict[str, Any]], **kwargs: Any) -> Any:
    """A dataframe: user text inside it is displayed as text."""
    import pandas as pd

    return st.dataframe(pd.DataFrame(list(rows)), hide_index=True, width="stretch", **kwargs)
