"""What every page shares: who is signed in, the role check, language, times and error display.

Pages call services only. User-written text is shown with ``st.text``/``st.code``/dataframes, never
as markdown or HTML."""

from __future__ import annotations

import functools
import os
import re
import string
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar

import streamlit as st
from pydantic import ValidationError

from models.enums import Role
from models.rules.errors import NotFound, YunqueError
from services.context import Actor
from ui import labels
from ui.i18n import SHANGHAI, format_clock, format_day, format_money, format_time, t

COOKIE = "yq_session"
NONCE_COOKIE = "yq_nonce"  # set by ui/server.py on every page before sign-in; binds the handoff to the browser
TOKEN_KEY = "auth.token"
T = TypeVar("T")

CUSTOMS = (Role.SITE_OFFICER, Role.IPR_OFFICER, Role.MANAGER, Role.ADMIN)

#: The pages (by URL path) each role may open, its home page first.
PAGES_BY_ROLE: dict[Role, tuple[str, ...]] = {
    Role.SITE_OFFICER: ("inbox", "case", "register", "viewing", "outbox"),
    Role.IPR_OFFICER: ("inbox", "case", "register", "viewing", "outbox"),
    Role.MANAGER: ("board", "inbox", "case", "outbox"),
    Role.ADMIN: ("admin", "board", "inbox", "case", "register", "outbox"),
    Role.RIGHTS_HOLDER: ("portal", "apply", "viewing"),
    Role.CONSIGNOR: ("shipments", "viewing"),
}
#: Addresses a signed-out visitor may arrive at (links in e-mails, bookmarks): sign in, then go there.
DEEP_LINKS: tuple[str, ...] = tuple(dict.fromkeys(k for keys in PAGES_BY_ROLE.values() for k in keys))
NEXT_KEY = "auth.next"


def remember_target(url_path: str, query: dict[str, str]) -> None:
    """A signed-out visitor asked for ``url_path``: keep it (and its query) for after the sign-in."""
    if url_path in DEEP_LINKS:
        st.session_state[NEXT_KEY] = {"page": url_path, "query": dict(query)}


def target_after_sign_in(role: Role, wanted: dict[str, Any] | None) -> str:
    """Where a new sign-in goes: the page asked for if the role may see it (with its query), else home."""
    from urllib.parse import urlencode

    if not wanted or wanted.get("page") not in PAGES_BY_ROLE.get(role, ()):
        return "/"
    query = {str(k): str(v) for k, v in (wanted.get("query") or {}).items()}
    return "/" + wanted["page"] + ("?" + urlencode(query) if query else "")


def safe_next(value: str | None) -> str:
    """A redirect target from the browser: a path of this site only (never another host)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or any(c in value for c in "\r\n\\"):
        return "/"
    return value


def handoff_redirect(code: str, target: str) -> None:
    """Send the browser to ``/_yq/session`` to trade the one-time code for the HttpOnly cookie, then on."""
    import json
    from urllib.parse import urlencode

    url = "/_yq/session?" + urlencode({"code": code, "next": safe_next(target)})
    # the address is URL-encoded (no "<" can occur); escaping "<" as well keeps it inert inside <script>
    target_js = json.dumps(url).replace("<", "\\u003c")
    st.html(f"<script>window.location.replace({target_js})</script>",
            unsafe_allow_javascript=True)
    st.stop()


def post_sign_out() -> None:
    """Send the browser to ``/_yq/signout`` by POST (a same-origin form), which clears the cookie."""
    st.html("<script>const f = document.createElement('form'); f.method = 'POST'; f.action = '/_yq/signout';"
            "document.body.appendChild(f); f.submit();</script>", unsafe_allow_javascript=True)
    st.stop()


#: Streamlit 1.67 draws these words itself, in English, with no option to set them: the file uploader's
#: button and limits, and the words over it while a file is dragged onto it (its only span without a test
#: id, right after its input); the camera's button, and the tooltip of its switch (the tooltip is drawn
#: apart from the camera, so it is known by the switch being under the pointer or finger); an empty date
#: input's "yyyy / mm / dd". Each is drawn in the user's language over its element instead (the
#: element's own text at size 0, ours after it); the words are the catalog's, never user text.
_DATE_PART = '[data-testid="stDateInput"] [role="spinbutton"][data-placeholder="true"][data-type="{}"]'
_WIDGET_WORDS = (
    ('[data-testid="stFileUploaderDropzone"] button:not([data-testid="stFileChips"] button)', "widget.upload",
     "0.875rem"),
    ('[data-testid="stFileUploaderDropzoneInstructions"]', "widget.upload_limit", "0.875rem"),
    ('[data-testid="stFileUploaderDropzone"] > input + div > span:only-child', "widget.drop_here", "0.875rem"),
    ('[data-testid="stCameraInputButton"]', "widget.take_photo", "1rem"),
    ('[data-testid="stCameraInput"]:has(img) [data-testid="stCameraInputButton"]', "widget.retake_photo", "1rem"),
    ('body:has([data-testid="stCameraInputSwitchButton"]:hover) [data-testid="stTooltipContent"]',
     "widget.switch_camera", "0.875rem"),
    (_DATE_PART.format("year"), "widget.date_year", "1rem"),
    (_DATE_PART.format("month"), "widget.date_month", "1rem"),
    (_DATE_PART.format("day"), "widget.date_day", "1rem"),
)


def widget_words() -> None:
    """Streamlit's own widget words in the user's language (a style sheet; takes no room on the page)."""
    import json

    limit = int(st.get_option("server.maxUploadSize"))
    rules = []
    for selector, key, size in _WIDGET_WORDS:
        words = json.dumps(tr(key, mb=limit), ensure_ascii=False).replace("<", "\\3c ")
        rules.append(f"{selector}, {selector} * {{ font-size: 0 !important; }}")
        rules.append(f"{selector}::after {{ content: {words}; font-size: {size}; }}")
    rules.append('[data-testid="stFileUploaderDropzone"] button [data-testid="stIconMaterial"] '
                 '{ font-size: 1.25rem !important; }')
    st.html("<style>" + "\n".join(rules) + "</style>")


#: Streamlit 1.67's own words for screen readers and tooltips (aria-label, title, placeholder), the
#: skip link, and its announcements of a chosen date or time: English, with no option to set them. A
#: small fixed script puts the user's language in their place (and the page's ``lang``), also in the hidden
#: descriptions a date or time input points its screen reader to ("Selected Date: ..."); each original
#: stays in a ``data-yq-*`` attribute so that switching back to English restores it. The words are the
#: catalog's, never user text: a label we set ourselves (a field's name) is kept, only Streamlit's own
#: words around it are replaced.
_STREAMLIT_WORDS = {  # Streamlit's words -> catalog keys (``a11y.*``, or the key a page of ours already uses)
    "Skip to main content": "a11y.skip_to_content", "App pages": "a11y.app_pages", "Sidebar": "a11y.sidebar",
    "Collapse sidebar": "a11y.collapse_sidebar", "Expand sidebar": "a11y.expand_sidebar",
    "Choose date": "a11y.choose_date", "Decrement": "a11y.decrement", "Increment": "a11y.increment",
    "Download as CSV": "a11y.download_csv", "Fullscreen": "a11y.fullscreen", "Close fullscreen": "a11y.close_fullscreen",
    "Link to heading": "a11y.link_to_heading", "Open": "a11y.open_options", "Close": "a11y.close",
    "Search": "a11y.search", "Show password": "a11y.show_password", "Hide password": "a11y.hide_password",
    "Show/hide columns": "a11y.show_hide_columns", "file upload": "a11y.file_upload", "Add row": "a11y.add_row",
    "Switch camera": "widget.switch_camera", "Clear all": "a11y.clear_all", "Clear value": "a11y.clear_value",
    "Choose an option": "choose_option", "Choose options": "choose_options",
    "Download as PNG": "a11y.download_png", "Show data": "a11y.show_data", "Copy Vega-Lite spec": "a11y.copy_chart_spec",
    "Vega visualization": "a11y.chart", "streamlit_webrtc.component.webrtc_streamer": "a11y.live_picture",
}
#: Streamlit's words around a label of ours: "day, 查获日期", "Help for 联系邮箱", "Selected Date: ..."
_STREAMLIT_PATTERNS = (
    (r"^(year|month|day|hour|minute|second), (.+)$", "field_part"),
    (r"^Help for (.+)$", "help_for"),
    (r"^Selected Date: ([A-Z][a-z]+) 0?(\d{1,2}), (\d{4})$", "selected_day"),  # "December 06, 2026"
    (r"^Selected Date: (.+)$", "selected_date"),
    (r"^Selected Time: (.+)$", "selected_time"),
)
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_SCREEN_READER_SCRIPT = r"""<script>(() => {
  const W = window.__yqWords = %s;
  document.documentElement.lang = W.lang;
  const say = (v) => {
    if (Object.prototype.hasOwnProperty.call(W.exact, v)) return W.exact[v];
    for (const [re, out] of W.patterns) {
      const m = new RegExp(re).exec(v);
      if (m) return out.replace(/\{(\d)\}/g, (_, i) => m[Number(i)] in W.parts ? W.parts[m[Number(i)]] : m[Number(i)]);
    }
    return null;
  };
  // what Streamlit set: the current value, unless it is still the one we put in place of the saved one
  const attrs = ["aria-label", "title", "placeholder"];
  const texts = window.__yqTexts = window.__yqTexts || new WeakMap();
  const sweep = () => {
    for (const el of document.querySelectorAll("[aria-label],[title],[placeholder]")) {
      for (const a of attrs) {
        const cur = el.getAttribute(a);
        if (cur === null) continue;
        const ours = el.getAttribute("data-yq-set-" + a) === cur;
        const orig = ours ? el.getAttribute("data-yq-" + a) : cur;
        const want = say(orig) ?? orig;
        if (want === cur) continue;
        el.setAttribute("data-yq-" + a, orig);
        el.setAttribute("data-yq-set-" + a, want);
        el.setAttribute(a, want);
      }
    }
    for (const root of document.querySelectorAll('[data-testid="stSkipToContent"],[aria-live],[id^="react-aria-description"]')) {
      const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        const cur = n.textContent, seen = texts.get(n);
        const orig = seen && seen.set === cur ? seen.orig : cur;
        const want = say(orig) ?? orig;
        if (want === cur) continue;
        texts.set(n, {orig: orig, set: want});
        n.textContent = want;
      }
    }
  };
  window.__yqSweep = sweep;
  if (!window.__yqObserver) {
    let queued = false;
    window.__yqObserver = new MutationObserver(() => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => { queued = false; window.__yqSweep(); });
    });
    window.__yqObserver.observe(document.body, {subtree: true, childList: true, characterData: true,
                                                attributes: true, attributeFilter: attrs});
  }
  sweep();
})();</script>"""


def screen_reader_words() -> None:
    """Streamlit's own words for screen readers and tooltips in the user's language, and the page's
    language for the screen reader's voice (a fixed script; takes no room on the page). In English the
    originals are put back."""
    import json

    zh = lang() == "zh"
    words = {
        "lang": "zh-CN" if zh else "en",
        "exact": {en: tr(key) for en, key in _STREAMLIT_WORDS.items()} if zh else {},
        "patterns": [[pattern, tr(f"a11y.{key}")] for pattern, key in _STREAMLIT_PATTERNS] if zh else [],
        "parts": ({p: tr(f"a11y.part.{p}") for p in ("year", "month", "day", "hour", "minute", "second")}
                  | {name: str(n) for n, name in enumerate(_MONTHS, start=1)}) if zh else {},
    }
    st.html(_SCREEN_READER_SCRIPT % json.dumps(words, ensure_ascii=False).replace("<", "\\u003c"),
            unsafe_allow_javascript=True)


def sign_in_refusal(e: Exception, lang_: str) -> str:
    """A sign-in refusal in the user's language: a lock-out says who is locked out and until when."""
    from models.rules.errors import SignInLocked

    if isinstance(e, SignInLocked):
        return t(f"signin_locked.{e.scope}", lang_, until=format_time(e.until, lang_))
    return t("signin_refused", lang_)


def asgi_mode() -> bool:
    """True when served by ``ui/server.py``, whose routes turn a sign-in into an HttpOnly cookie."""
    return os.environ.get("YUNQUE_UI_COOKIE_ROUTES") == "1"


def _cookie(name: str) -> str | None:
    try:
        value = st.context.cookies.get(name)
    except Exception:  # noqa: BLE001 - no browser request behind this run (AppTest, bare mode)
        return None
    return value if isinstance(value, str) and value else None


def _cookie_token() -> str | None:
    return _cookie(COOKIE)


def browser_nonce() -> str | None:
    """This browser's pre-sign-in nonce (an HttpOnly cookie the page scripts cannot read), if any."""
    return _cookie(NONCE_COOKIE)


def client_address() -> str:
    """The network address a sign-in comes from, for the rate limits of ``services.auth``.

    Behind ``YUNQUE_TRUSTED_PROXIES`` reverse proxies (default none) it is the address the outermost
    trusted proxy saw, read from ``X-Forwarded-For``; otherwise the connection's address ("local" for
    this machine). Without that setting a forged ``X-Forwarded-For`` changes nothing."""
    from services.auth import LOCAL_CLIENT
    from yunque.settings import get_settings

    try:
        remote = st.context.ip_address
        forwarded = st.context.headers.get("X-Forwarded-For") or ""
    except Exception:  # noqa: BLE001 - no browser request behind this run
        return LOCAL_CLIENT
    hops = get_settings().trusted_proxies
    chain = [a.strip() for a in forwarded.split(",") if a.strip()] if isinstance(forwarded, str) else []
    if hops > 0 and chain:
        return chain[-min(hops, len(chain))][:64]
    return remote[:64] if isinstance(remote, str) and remote else LOCAL_CLIENT  # AppTest: not a string


def current_actor() -> Actor | None:
    """The signed-in actor, re-read from the database on every run (roles and disabling apply at once)."""
    from services import sessions

    token = st.session_state.get(TOKEN_KEY) or _cookie_token()
    if token:
        try:
            actor = sessions.resume(token=token)
        except (NotFound, YunqueError):
            st.session_state.pop(TOKEN_KEY, None)
        else:
            st.session_state[TOKEN_KEY] = token
            return actor
    # No live Yunque session: a single sign-on user opens one, once (then the cookie carries it).
    if st.session_state.get("auth.oidc_pending") is not None:
        return None
    signed = _oidc_sign_in()
    if signed is None:
        return None
    if asgi_mode():
        handoff_redirect(signed.handoff, _current_path())
    st.session_state[TOKEN_KEY] = signed.token
    return signed.actor


def _current_path() -> str:
    """The path and query the browser asked for (where to return after the cookie is set)."""
    from urllib.parse import urlencode, urlsplit

    try:
        url = st.context.url or ""
    except Exception:  # noqa: BLE001 - no browser request behind this run
        return "/"
    parts = urlsplit(url)
    query = urlencode(st.query_params.to_dict())
    return safe_next((parts.path or "/") + ("?" + query if query else ""))


def _oidc_sign_in() -> Any:
    """Single sign-on through ``st.login``: open a Yunque session from the provider's claims.

    Called only when the browser has no live Yunque session: in the app server the session then
    reaches the browser as the same HttpOnly cookie a password sign-in gets (``/_yq/session``), so
    page loads resume it (idle limit, no new session per load) instead of opening another."""
    from services import sessions

    try:
        if "auth" not in st.secrets or not st.user.is_logged_in:
            return None
    except Exception:  # noqa: BLE001 - no secrets file: single sign-on is not configured
        return None
    groups_claim = str(st.secrets.get("yunque", {}).get("groups_claim", "groups"))
    try:
        signed = sessions.sso_sign_in(claims=dict(st.user.to_dict()), groups_claim=groups_claim,
                                      nonce=browser_nonce())
    except YunqueError as e:
        st.session_state["auth.oidc_pending"] = str(e)
        return None
    return signed


def lang() -> str:
    return st.session_state.get("ui.lang", "zh")


def choose_language(username: str | None) -> None:
    """The language control's callback: only a click on it changes the language (and the account's own)."""
    choice = st.session_state.get("ui.lang_choice")
    if choice not in ("zh", "en") or choice == lang():
        return
    st.session_state["ui.lang"] = choice
    if username is not None:
        from services.users import set_locale

        set_locale(actor=username, locale=choice)


def tr(key: str, **kw: Any) -> str:
    return t(key, lang(), **kw)


def translator() -> Callable[..., str]:
    """``tr`` bound to this run's language (format functions may be called outside the run)."""
    bound = lang()
    return lambda key, **kw: t(key, bound, **kw)


def require(actor: Actor | None, *roles: Role) -> Actor:
    """Every page checks the role itself: a hidden page is not access control. A visitor not signed in
    gets the sign-in form under the page's own address (a bookmark, a link in an e-mail), then the page."""
    if actor is None:
        from ui import signin

        st.info(tr("sign_in_first"))
        signin.show()
        st.stop()
    if roles and actor.role not in roles:
        st.error(tr("not_for_your_role"))
        st.stop()
    return actor  # type: ignore[return-value]


def actor_of_page() -> Actor | None:
    return st.session_state.get("auth.actor")


def when(dt: datetime | None) -> str:
    """A moment in Beijing time, in the user's locale ("2026年11月24日 15:05")."""
    return format_time(dt, lang())


def clock(dt: datetime) -> str:
    """The time of day in Beijing time, with seconds (when a page was refreshed)."""
    return format_clock(dt, lang())


def day(d: date | None, pending_year: int | None = None) -> str:
    """A day in the user's locale ("2026年11月27日"); a deadline that waits for a year's schedule says so."""
    if d is None and pending_year is not None:
        return tr("deadline_pending", year=pending_year)
    return format_day(d, lang())


def money(amount: object) -> str:
    """An amount of RMB in the user's locale ("¥36,000.50")."""
    return format_money(amount, lang())  # type: ignore[arg-type]


def countdown(deadline_at: datetime | None, deadline: date | None, now: datetime | None = None,
              pending_year: int | None = None, served_at: datetime | None = None) -> str:
    """'2 working days left (ends 2026-11-27 24:00)', in the user's language; on the day of service of a
    period that runs from the day after (``served_at``), '3 working days from tomorrow'; for a deadline
    that waits for a year's working-day schedule, says so (a deadline is never guessed)."""
    if deadline_at is None and pending_year is not None:
        return tr("deadline_pending", year=pending_year)
    from services.portal import period_started, working_days_left

    if deadline_at is None:
        return tr("no_deadline")
    now = now or datetime.now(SHANGHAI)
    if deadline_at <= now:
        return tr("deadline_passed", at=when(deadline_at))
    wd = working_days_left(deadline=deadline, now=now, served_at=served_at)
    hours = (deadline_at - now).total_seconds() / 3600
    if wd is None:
        return tr("hours_left", h=f"{hours:.0f}")
    if not period_started(served_at=served_at, now=now):
        return tr("wd_from_tomorrow", n=wd, h=f"{hours:.0f}", d=day(deadline))
    return tr("wd_left", n=wd, h=f"{hours:.0f}", d=day(deadline))


def state_label(state: str) -> str:
    return labels.label(labels.STATE, state, lang())


def code_label(prefix: str, code: object) -> str:
    """A code (``reason``, ``role``, ``notice_state``, ``verdict``...) in the user's language; itself when unknown."""
    return labels.label(prefix, code, lang()) if code not in (None, "") else ""


def person(username: str | None, names: dict[str, str] | None = None) -> str:
    """Who acted, for a timeline or a task's history: the name the person goes by (``names``, from
    ``people``), the username when it is not known, or "系统" for the system's own acts."""
    if username == "system":
        return code_label("person", username)
    return (names or {}).get(username or "", username or "")


@st.cache_data(ttl=300, show_spinner=False, max_entries=2000)
def _display_names(viewer: str, usernames: tuple[str, ...]) -> dict[str, str]:
    from services import users

    return users.display_names(actor=viewer, usernames=list(usernames))


def people(viewer: str, usernames: Iterable[str | None]) -> dict[str, str]:
    """The names of the people behind ``usernames`` (for ``person``), as ``viewer`` may ask for them;
    kept five minutes per viewer and set of usernames."""
    return _display_names(viewer, tuple(sorted({u for u in usernames if u and u != "system"})))


def unit(code: object) -> str:
    """A line's unit of quantity ("pcs", "pairs") in the user's language; any other unit as it was typed."""
    return code_label("unit", code)


def task_title(task: Any) -> str:  # noqa: ANN401 - a TaskOut
    """A task's title in the user's language, from its kind and facts; the stored title where they fall short."""
    from ui.task_titles import render_title

    return render_title(task.kind, task.facts, lang(), stored=task.title)


def action_text(action: str) -> str:
    """A timeline action ("line.detained") as words in the user's language."""
    return labels.action_label(action, lang())


def change_text(action: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """A timeline entry's details as "key: value" pairs in the user's language (text for ``st.text`` or a table)."""
    return labels.change_text(action, before, after, lang())


def subject_text(subject: str) -> str:
    """What an entry is about ("line:YQ-.../2", "notice:3") as words: "货物 YQ-.../2", "通知 3"."""
    kind, sep, rest = subject.partition(":")
    return f"{labels.label('subject', kind, lang())} {rest}" if sep and labels.has_label("subject", kind) else subject


def refusal_text(e: YunqueError) -> str:
    """A service's refusal as a sentence in the user's language (``labels.refusal_sentence``), escaped for
    markdown where it needs it (it may quote what the user typed)."""
    named = labels.refusal_field(e, lang())
    if named is not None:
        return tr("field_error", field=plain_md(named[0]), msg=plain_md(named[1]))
    return plain_md(labels.refusal_sentence(e, lang()))


def run_action(fn: Callable[..., T], *args: Any, ok: str | None = None, **kwargs: Any) -> T | None:
    """Call a service for a user action; show its refusal in plain words (per field for bad input)."""
    try:
        result = fn(*args, **kwargs)
    except ValidationError as e:
        show_validation(e)
        return None
    except YunqueError as e:
        st.error(refusal_text(e))
        return None
    if ok:
        st.success(ok)
    return result


def field_errors(e: ValidationError) -> dict[str, str]:
    """{the field in the user's language: what is wrong with it, in words} (never pydantic's own text)."""
    return labels.validation_messages(e.errors(), lang())


def show_validation(e: ValidationError) -> None:
    for field, msg in field_errors(e).items():
        st.error(tr("field_error", field=plain_md(field), msg=plain_md(msg)))


def facts(pairs: Iterable[tuple[str, object]]) -> None:
    """Key values (a declaration number, a state, a time) side by side and in full: a caption over plain
    text, which wraps where ``st.metric`` would cut the value short ("2201202612…"); on a phone the
    columns stack."""
    pairs = list(pairs)
    for column, (label, value) in zip(st.columns(len(pairs)), pairs, strict=True):
        column.caption(md(label))
        column.text(str(value))


def table(rows: Iterable[dict[str, Any]], **kwargs: Any) -> Any:
    """A dataframe: user text inside it is displayed as text. No rows: a caption saying so (an empty
    dataframe would say "empty" in English, drawn where no style sheet reaches)."""
    import pandas as pd

    rows = list(rows)
    if not rows:
        st.caption(tr("table.empty"))
        return None
    return st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", **kwargs)


# --- user text in markdown, and failures nobody planned for ---------------------------------------------

_MARKDOWN_SPECIAL = frozenset(string.punctuation)


def md(text: object) -> str:
    """User text for a place Streamlit renders as markdown (captions, subheaders, messages, widget labels,
    radio options): every ASCII punctuation character backslash-escaped (CommonMark then shows it as
    itself) and line breaks made spaces, so ``[pwn](https://evil.example)`` shows as typed, never as a
    link, an image, emphasis, LaTeX or a colour directive. Use it for every label built from user text."""
    flat = " ".join(str(text).splitlines())
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in flat)


#: text markdown shows as typed: letters and digits of any script, spaces and quiet punctuation
_QUIET = re.compile(r"(?:[^\W_]|[ .,;()（）：，。、›'’/+-])*")


def plain_md(text: object) -> str:
    """``md`` when the text needs it: a field's name or a sentence made of words stays readable as it is
    ("Amount (RMB): must be greater than 0"), anything else (a link, emphasis, a backslash) is escaped."""
    flat = " ".join(str(text).splitlines())
    return flat if _QUIET.fullmatch(flat) and not (flat[:1].isdigit() or flat[:1] in "+-") else md(flat)


def show_failure(e: BaseException, where: str) -> None:
    """An error that reached the page: a refusal in plain words; anything else as an incident whose trace
    goes to the incident log and whose id the user sees, in the user's language (never a traceback)."""
    if isinstance(e, ValidationError):
        show_validation(e)
        return
    if isinstance(e, YunqueError):
        st.error(refusal_text(e))
        return
    from adapters.incidents import report
    from yunque.settings import get_settings

    incident = report(e, where=where, var_dir=lambda: get_settings().var_dir)
    st.error(f"{tr('incident.' + incident.kind)}\n\n{tr('incident_id', id=incident.id)}")


@contextmanager
def guard(where: str) -> Iterator[bool]:
    """Run a page (or part of one) so that no traceback reaches the user: see ``show_failure``.
    ``st.stop()`` and ``st.rerun()`` pass through (they are not errors)."""
    try:
        yield True
    except Exception as e:  # noqa: BLE001 - shown to the user, logged in full
        show_failure(e, where)


def fragment(*, run_every: int | float | None = None) -> Callable[[Callable[..., T]], Callable[..., T | None]]:
    """``st.fragment`` whose reruns are guarded like the page (a fragment's own reruns bypass the page)."""

    def wrap(fn: Callable[..., T]) -> Callable[..., T | None]:
        @functools.wraps(fn)
        def body(*args: Any, **kwargs: Any) -> T | None:
            try:
                return fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001
                show_failure(e, f"fragment {fn.__name__}")
                return None

        return st.fragment(body, run_every=run_every)

    return wrap


def calendar_banner(username: str) -> None:
    """For administrators: one banner when a year's working-day schedule is missing (deadlines wait for
    it), and from 1 November while next year's is not loaded yet."""
    from services.calendar import calendar_status

    status = calendar_status(actor=username)
    for year in status.missing:
        st.error(tr("calendar.missing", year=year, n=status.waiting_clocks), icon=":material/event_busy:")
    if status.next_year_missing and status.today.year + 1 not in status.missing:
        st.warning(tr("calendar.next_missing", year=status.today.year + 1), icon=":material/event_upcoming:")
