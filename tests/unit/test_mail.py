"""The SMTP adapter and the embedded sink, in real SMTP conversations on loopback."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.mail import Attachment, MailFailed, build_message, send
from adapters.mail_server import MaildirSink, server_argv, start_sink
from tests.support import free_port
from yunque.settings import get_settings, reset_settings

WHEN = datetime(2026, 9, 1, 2, 30, tzinfo=UTC)


class Refusing:
    """An SMTP server that answers ``reply`` at the given stage (RCPT or DATA)."""

    def __init__(self, stage: str, reply: str):
        self.stage, self.reply = stage, reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        if self.stage == "RCPT":
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        return self.reply if self.stage == "DATA" else "250 OK"


@pytest.fixture
def smtp_port(monkeypatch: pytest.MonkeyPatch) -> int:
    port = free_port()
    monkeypatch.setenv("YUNQUE_SMTP_PORT", str(port))
    reset_settings()
    return port


def message(to: list[str]):  # noqa: ANN201
    return build_message(sender="yunque@customs.localhost", to=to, subject="[云确 Yunque] 确权通知书 Notice CAPAIR-CN-2026-000001",
                         body="CHANEL SARL：\n首都机场海关向你方送达确权通知书。\nThe notice is attached.",
                         attachments=[Attachment("CAPAIR-CN-2026-000001.pdf", b"%PDF-1.4 test document\n")], date=WHEN,
                         headers={"X-Yunque-Document": "CAPAIR-CN-2026-000001"})


def test_the_sink_keeps_the_message_and_its_attachment(smtp_port: int, tmp_path: Path) -> None:
    sink = start_sink(tmp_path / "mail", port=smtp_port)
    try:
        sent = send(message(["chanel.agent@rights.localhost", "legal@rights.localhost"]), settings=get_settings())
    finally:
        sink.stop()
    assert sent.accepted == ["chanel.agent@rights.localhost", "legal@rights.localhost"] and sent.refused == {}
    assert sent.reply.startswith("250 Message accepted for delivery as ")
    [eml] = list((tmp_path / "mail").glob("*.eml"))
    assert sent.reply.endswith(eml.name)
    stored = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert stored["X-Envelope-To"] == "chanel.agent@rights.localhost, legal@rights.localhost"
    assert stored["Subject"] == "[云确 Yunque] 确权通知书 Notice CAPAIR-CN-2026-000001"
    assert stored["Message-ID"] == sent.message_id
    assert "首都机场海关向你方送达确权通知书" in stored.get_body(("plain",)).get_content()
    [part] = list(stored.iter_attachments())
    assert part.get_filename() == "CAPAIR-CN-2026-000001.pdf"
    assert part.get_content_type() == "application/pdf"
    assert part.get_content() == b"%PDF-1.4 test document\n"


@pytest.mark.parametrize(("stage", "reply", "code"), [("DATA", "451 4.3.0 Try again later", 451),
                                                      ("RCPT", "550 5.1.1 No such mailbox", 550)])
def test_a_refusing_server_raises_with_its_reply(smtp_port: int, tmp_path: Path, stage: str, reply: str, code: int) -> None:
    sink = start_sink(tmp_path, port=smtp_port, handler=Refusing(stage, reply))
    try:
        with pytest.raises(MailFailed) as e:
            send(message(["chanel.agent@rights.localhost"]), settings=get_settings())
    finally:
        sink.stop()
    assert e.value.code == code
    assert e.value.permanent is (code >= 500)
    assert reply.split(" ", 1)[1] in str(e.value)


def test_an_unreachable_server_raises(smtp_port: int) -> None:
    with pytest.raises(MailFailed, match="127.0.0.1"):
        send(message(["chanel.agent@rights.localhost"]), settings=get_settings(), timeout=3)


def test_some_refused_recipients_do_not_stop_the_others(smtp_port: int, tmp_path: Path) -> None:
    class OneBadAddress(MaildirSink):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
            if address.startswith("gone@"):
                return "550 5.1.1 No such mailbox"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    sink = start_sink(tmp_path, port=smtp_port, handler=OneBadAddress(tmp_path / "mail"))
    try:
        sent = send(message(["gone@rights.localhost", "chanel.agent@rights.localhost"]), settings=get_settings())
    finally:
        sink.stop()
    assert sent.accepted == ["chanel.agent@rights.localhost"]
    assert sent.refused == {"gone@rights.localhost": "550 5.1.1 No such mailbox"}


def test_the_sink_runs_as_a_subprocess_from_server_argv(smtp_port: int, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUNQUE_VAR_DIR", str(tmp_path / "var"))
    reset_settings()
    argv = server_argv(get_settings())
    assert argv[:3] == [sys.executable, "-m", "adapters.mail_server"]
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                filter(None, [str(root), os.environ.get("PYTHONPATH")]))})
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", smtp_port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "the mail sink did not start"
                time.sleep(0.2)
        send(message(["chanel.agent@rights.localhost"]), settings=get_settings())
        assert len(list((tmp_path / "var" / "mail").glob("*.eml"))) == 1
    finally:
        proc.terminate()
        # a clean exit, in its own time: on a loaded machine with the clock moved (scripts/test-at.sh)
        # stopping the sink's event loop once took more than 10 s
        assert proc.wait(timeout=60) == 0
