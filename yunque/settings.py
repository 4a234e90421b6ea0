"""Settings from the environment (prefix ``YUNQUE_``) with embedded defaults under ``var/``.

Secrets the embedded defaults need (S3 keys, the session-signing key) are generated on first run
into ``var/secrets.json``, which git ignores; production sets them in the environment instead.
"""

from __future__ import annotations

import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YUNQUE_", extra="ignore")

    var_dir: Path = ROOT / "var"
    database_url: str = ""  # default: sqlite under var_dir

    # The customs office's rule for the moment of service (Meas 40: actual service): "first" (the
    # default: the mail server's acceptance or the portal's first opening, whichever comes first),
    # "mail" (the mail server's acceptance only), "portal" (the portal's first opening only), or
    # "issue" (served when issued, for an office that hands notices over as it issues them). Service
    # recorded by an officer (by hand, by post) always serves.
    service_rule: str = Field(default="first", pattern="^(issue|mail|portal|first)$")

    # Evidence store (S3 API). Empty endpoint with no keys means the embedded local store.
    s3_endpoint_url: str = ""
    s3_bucket: str = "yunque-evidence"
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_port: int = 9000
    presign_seconds: int = 300

    # Mail (service of notices)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "yunque@customs.localhost"

    # Prefect
    prefect_api_url: str = "http://127.0.0.1:4200/api"
    prefect_ui_url: str = "http://127.0.0.1:4200"
    work_pool: str = "yunque-pool"

    # Live viewing (WebRTC): ICE servers as JSON, e.g. [{"urls": ["turn:turn.example.cn:3478"], "username": "u",
    # "credential": "p"}]. Empty: host candidates only, which works on one machine or a LAN (README: TURN).
    ice_servers: list[dict[str, Any]] = []

    # Web app
    app_port: int = 8501
    public_url: str = "http://127.0.0.1:8501"
    session_secret: str = ""
    trusted_proxies: int = Field(default=0, ge=0, le=5)  # reverse proxies whose X-Forwarded-For is believed

    # The key of the audit trail's HMAC chains and checkpoints: never in the database. Production sets
    # YUNQUE_AUDIT_KEY (from a secret store); the embedded default generates it into var/secrets.json.
    audit_key: str = ""

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'yunque.db'}"


def local_secrets(var_dir: Path) -> dict[str, str]:
    """Secrets of the embedded defaults, generated once and kept in ``var/secrets.json`` (0600)."""
    path = var_dir / "secrets.json"
    data: dict[str, str] = {}
    if path.exists():
        data = json.loads(path.read_text())
    wanted = {
        "s3_access_key": lambda: "yq" + secrets.token_hex(8),
        "s3_secret_key": lambda: secrets.token_urlsafe(30),
        "session_secret": lambda: secrets.token_urlsafe(48),
        "audit_key": lambda: secrets.token_urlsafe(48),
    }
    changed = False
    for key, make in wanted.items():
        if not data.get(key):
            data[key] = make()
            changed = True
    if changed:
        var_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    return data


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    s = Settings()
    if not (s.s3_access_key and s.s3_secret_key and s.session_secret and s.audit_key):
        generated = local_secrets(s.var_dir)
        s.s3_access_key = s.s3_access_key or generated["s3_access_key"]
        s.s3_secret_key = s.s3_secret_key or generated["s3_secret_key"]
        s.session_secret = s.session_secret or generated["session_secret"]
        s.audit_key = s.audit_key or generated["audit_key"]
    return s


def reset_settings() -> None:
    """Forget cached settings (tests change the environment)."""
    get_settings.cache_clear()
