"""Sending mail over SMTP (smtplib): the service of notices by e-mail.

Settings: ``smtp_host``, ``smtp_port``, ``smtp_user``, ``smtp_password``, ``smtp_starttls``,
``mail_from`` (``YUNQUE_SMTP_*``, ``YUNQUE_MAIL_FROM``). The embedded default is the local sink of
``adapters.mail_server`` on 127.0.0.1; production points at the office's mail server.

The SMTP conversation is held step by step (MAIL, RCPT per address, DATA) so the server's own reply
to DATA, the proof that it accepted the message, is kept. Any refusal or network failure is raised
as ``MailFailed`` (never swallowed); some refused recipients among accepted ones are reported in the
result instead, since the message did reach the others.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from yunque.settings import Settings


class MailFailed(Exception):
    """The mail server refused the message or could not be reached.

    ``permanent`` is True for 5xx replies (retrying the same message will not help; the flow still
    records the attempt and an officer serves the notice by other means)."""

    def __init__(self, reason: str, *, code: int | None = None, refused: dict[str, str] | None = None):
        self.reason = reason
        self.code = code
        self.refused = refused or {}
        super().__init__(f"mail not accepted: {reason}")

    @property
    def permanent(self) -> bool:
        return self.code is not None and 500 <= self.code < 600


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    content_type: str = "application/pdf"


@dataclass(frozen=True)
class MailSent:
    """The server's acceptance: its reply to DATA, and the addresses it took or refused."""

    message_id: str
    accepted: list[str]
    refused: dict[str, str] = field(default_factory=dict)
    reply: str = ""


def build_message(*, sender: str, to: list[str], subject: str, body: str, attachments: list[Attachment],
                  date: datetime, message_id: str | None = None, headers: dict[str, str] | None = None) -> EmailMessage:
    """A plain-text message (UTF-8) with the attachments; the Date header is the attempt's time."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id or make_msgid(domain=sender.rsplit("@", 1)[-1])
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body, charset="utf-8")
    for a in attachments:
        maintype, subtype = a.content_type.split("/", 1)
        msg.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.filename)
    return msg


def _reply(code: int, text: bytes | str) -> str:
    t = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {t}".strip()


def send(msg: EmailMessage, *, settings: Settings, timeout: float = 30.0) -> MailSent:
    """Hand ``msg`` to the SMTP server ``settings`` name; ``MailFailed`` unless it accepts it for someone."""
    sender = settings.mail_from
    to = [a.strip() for a in str(msg["To"]).split(",") if a.strip()]
    if not to:
        raise MailFailed("no recipient address")
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
            smtp.ehlo()
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            options = ["SMTPUTF8"] if smtp.has_extn("smtputf8") else []
            code, text = smtp.mail(sender, options)
            if code != 250:
                raise MailFailed(f"sender refused: {_reply(code, text)}", code=code)
            refused: dict[str, str] = {}
            last_code = None
            for rcpt in to:
                code, text = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    refused[rcpt] = _reply(code, text)
                    last_code = code
            if len(refused) == len(to):
                smtp.rset()
                raise MailFailed("every recipient refused: " + "; ".join(f"{k}: {v}" for k, v in refused.items()),
                                 code=last_code, refused=refused)
            code, text = smtp.data(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
            if code != 250:
                raise MailFailed(f"message refused: {_reply(code, text)}", code=code, refused=refused)
            return MailSent(message_id=str(msg["Message-ID"]), accepted=[a for a in to if a not in refused],
                            refused=refused, reply=_reply(code, text))
    except MailFailed:
        raise
    except smtplib.SMTPResponseException as e:
        raise MailFailed(_reply(e.smtp_code, e.smtp_error), code=e.smtp_code) from e
    except (smtplib.SMTPException, OSError) as e:
        raise MailFailed(f"{type(e).__name__}: {e} ({settings.smtp_host}:{settings.smtp_port})") from e
