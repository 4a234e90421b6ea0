"""Single sign-on for production: Streamlit's OIDC login (``st.login``), configured from the environment.

``.streamlit/secrets.toml`` of the directory the app server runs from (where Streamlit reads a
project's secrets) is written from ``YUNQUE_OIDC_*`` variables when the server starts (never
committed: it holds the client secret):

- ``YUNQUE_OIDC_METADATA_URL``: the provider's discovery document (``.../.well-known/openid-configuration``);
- ``YUNQUE_OIDC_CLIENT_ID``, ``YUNQUE_OIDC_CLIENT_SECRET``: Yunque's client at the provider, whose
  redirect URI is ``$YUNQUE_PUBLIC_URL/oauth2callback``;
- ``YUNQUE_OIDC_GROUPS_CLAIM`` (default ``groups``): the claim naming the user's groups.

Roles come from the groups claim (``services.sessions.GROUP_ROLES``, offices from
``yunque-office-<CODE>``); a session opened from the claims ends 12 hours after the sign-in at the
provider. Needs Authlib (``streamlit[auth]``). tests/e2e/test_sso.py runs the whole round trip in
Chromium against a local provider.
"""

from __future__ import annotations

import os
from pathlib import Path

import tomli_w


def secrets_toml(*, metadata_url: str, client_id: str, client_secret: str, redirect_uri: str, cookie_secret: str,
                 groups_claim: str = "groups") -> str:
    """The text of ``.streamlit/secrets.toml``: the ``[auth]`` table ``st.login`` reads and Yunque's own
    ``[yunque]`` table, written by tomli-w (which quotes and escapes every value)."""
    return "# Written by ui/sso.py from YUNQUE_OIDC_* at start-up; do not edit or commit.\n" + tomli_w.dumps({
        "auth": {
            "redirect_uri": redirect_uri,
            "cookie_secret": cookie_secret,
            "client_id": client_id,
            "client_secret": client_secret,
            "server_metadata_url": metadata_url,
            "client_kwargs": {"scope": "openid profile email groups"},
        },
        "yunque": {"groups_claim": groups_claim},
    })


def write_secrets_from_env(root: Path) -> Path | None:
    """Write ``.streamlit/secrets.toml`` (0600) when ``YUNQUE_OIDC_METADATA_URL`` is set; else nothing."""
    url = os.environ.get("YUNQUE_OIDC_METADATA_URL", "")
    if not url:
        return None
    from yunque.settings import get_settings

    s = get_settings()
    text = secrets_toml(metadata_url=url, client_id=os.environ["YUNQUE_OIDC_CLIENT_ID"],
                        client_secret=os.environ["YUNQUE_OIDC_CLIENT_SECRET"],
                        redirect_uri=s.public_url.rstrip("/") + "/oauth2callback", cookie_secret=s.session_secret,
                        groups_claim=os.environ.get("YUNQUE_OIDC_GROUPS_CLAIM", "groups"))
    path = root / ".streamlit" / "secrets.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path
