"""The stack's Prefect server: Prefect's own server application, served by uvicorn as ``prefect server
start`` serves it, with one addition where the server keeps its runs in SQLite (its default).

There, a request is refused when another connection holds the database's write lock ("database is
locked": Prefect's transactions begin DEFERRED, and one that read before it writes cannot wait for
the lock). The server answers it 503, and Prefect's client tries again after 2, 4, 8 and 16 s: a
case's steps waited for those pauses, and ten cases took 40 s in one run and 70-76 s in the next
on the same machine. ``RetryRefused`` tries such a request again inside the server, after a pause
of a few tens of milliseconds, for up to ``RETRY_BUDGET_S``, before the 503 goes back to the client.
That is what the client's own retry does (Prefect answers 503 only for an error it calls retryable,
after rolling the request's transaction back), only sooner and without another round trip. A
request still refused after the budget reaches the client as before.

On PostgreSQL a 503 means the database itself is in trouble, and the client's backoff is the right
answer: the server is served as it is.

    python -m adapters.prefect_server --host 127.0.0.1 --port 4200
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

#: how long a refused request is tried again inside the server before the 503 goes to the client
RETRY_BUDGET_S = 10.0
#: the pause before each new try (seconds, drawn evenly): short against a write, spread apart
RETRY_PAUSE_S = (0.01, 0.05)
REFUSED = 503


class RetryRefused:
    """ASGI middleware: an HTTP request the application answered 503 is sent to it again (the same
    request body) after a short pause, while ``budget_s`` lasts. A 503 that will not be tried again,
    and every other response, goes to the client as the application sent it."""

    def __init__(self, app: App, *, budget_s: float = RETRY_BUDGET_S,
                 pause_s: tuple[float, float] = RETRY_PAUSE_S):
        self.app = app
        self.budget_s = budget_s
        self.pause_s = pause_s
        self.retried = 0  # tries after a refusal
        self.passed_on = 0  # refusals that went to the client after the budget
        self._retrying = asyncio.Lock()

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _whole_body(receive)
        if await self._try(scope, body, receive, send, last=False):
            return
        end = asyncio.get_running_loop().time() + self.budget_s
        async with self._retrying:  # one refused request tried again at a time, not a crowd of them
            while True:
                self.retried += 1
                await asyncio.sleep(random.uniform(*self.pause_s))
                last = asyncio.get_running_loop().time() >= end
                if await self._try(scope, body, receive, send, last=last):
                    return

    async def _try(self, scope: MutableMapping[str, Any], body: bytes, receive: Receive, send: Send, *,
                   last: bool) -> bool:
        """Send the request to the application once: True if its response went to the client, False
        if it was refused and held back to be tried again (never when ``last``)."""
        held: list[Message] = []
        status: list[int] = []
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # the client's disconnect

        async def hold_refusal(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            if status and status[0] == REFUSED and not last:
                held.append(message)
            else:
                await send(message)

        try:
            await self.app(dict(scope), replay, hold_refusal)  # routing rewrites the scope it is given
        except Exception:
            # Starlette's error middleware raises again after sending its response: a refusal held
            # back here is tried again; anything else stays the application's own error
            if held:
                return False
            self.passed_on += bool(status and status[0] == REFUSED)
            raise
        if held:
            return False
        self.passed_on += bool(status and status[0] == REFUSED)
        return True


async def _whole_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def on_sqlite(env: Mapping[str, str]) -> bool:
    """Whether the Prefect server the environment ``env`` describes keeps its runs in SQLite: no
    PostgreSQL connection URL is set."""
    return not env.get("PREFECT_SERVER_DATABASE_CONNECTION_URL", "").startswith("postgresql")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)

    import uvicorn
    from prefect.server.api.server import create_app
    from prefect.settings import get_current_settings

    server = get_current_settings().server
    app: App = create_app(final=True)
    if on_sqlite(os.environ):
        app = RetryRefused(app)
    uvicorn.run(app, host=args.host, port=args.port, timeout_keep_alive=server.api.keepalive_timeout,
                ws_ping_interval=server.api.websocket_ping_interval,
                ws_ping_timeout=server.api.websocket_ping_timeout, log_level=server.logging_level.lower())


if __name__ == "__main__":
    main()
