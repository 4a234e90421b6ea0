"""The embedded mail server: an SMTP sink on loopback that keeps every message as an .eml file.

``yunque stack up`` starts it as a subprocess (``server_argv(settings)``); each message accepted is
written to ``var/mail/`` (atomically, one file per message, named by arrival time and a hash of its
content) with the envelope added as ``X-Envelope-From`` / ``X-Envelope-To`` headers, and the server
answers ``250`` with the file name, which the delivery service keeps as proof of acceptance.

    python -m adapters.mail_server --host 127.0.0.1 --port 8025 --dir var/mail
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from yunque.settings import Settings


class MaildirSink:
    """aiosmtpd handler: store each message under ``directory`` and accept it."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook)
        content: bytes = envelope.original_content or envelope.content
        head = (f"X-Envelope-From: {envelope.mail_from}\r\n"
                f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n").encode("utf-8")
        data = head + content
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{hashlib.sha256(data).hexdigest()[:12]}.eml"
        tmp = self.directory / f".{name}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.directory / name)
        return f"250 Message accepted for delivery as {name}"


def start_sink(directory: Path, *, host: str = "127.0.0.1", port: int, handler: Any = None) -> Controller:
    """Start an SMTP server in a background thread (``controller.stop()`` to end it)."""
    controller = Controller(handler or MaildirSink(directory), hostname=host, port=port,
                            server_kwargs={"data_size_limit": 50 * 1024 * 1024})
    controller.start()
    return controller


def server_argv(settings: Settings) -> list[str]:
    """The command that runs the embedded sink for ``settings`` (for the stack helper)."""
    return [sys.executable, "-m", "adapters.mail_server", "--host", settings.smtp_host, "--port",
            str(settings.smtp_port), "--dir", str(settings.var_dir / "mail")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Yunque's embedded SMTP sink (keeps every message in a directory).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the embedded sink listens on loopback only; use a real mail server elsewhere")
    controller = start_sink(args.dir, host=args.host, port=args.port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"mail sink on {args.host}:{args.port}, keeping messages in {args.dir}", flush=True)
    try:
        stop.wait()
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
