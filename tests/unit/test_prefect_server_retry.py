"""The stack's Prefect server on SQLite tries a refused request again inside the server
(``adapters.prefect_server.RetryRefused``) instead of sending the client into a 2-4-8-16 s backoff.

The application here is built as Prefect's is: an outer app mounting the API under ``/api``, whose
handler for every exception answers 503 for "database is locked" (and raises again after it, as
Starlette's error middleware does)."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from adapters.prefect_server import RetryRefused, on_sqlite


class Api:
    """An API whose write is refused ``refusals`` times, then accepted; it counts every call."""

    def __init__(self, refusals: int, *, error: type[Exception] = sqlite3.OperationalError):
        self.refusals = refusals
        self.error = error
        self.bodies: list[Any] = []
        self.reads = 0

        async def refused(request: Request, exc: Exception) -> JSONResponse:
            if isinstance(exc, sqlite3.OperationalError):
                return JSONResponse({"exception_message": "Service Unavailable"}, status_code=503)
            return JSONResponse({"exception_message": "Internal Server Error"}, status_code=500)

        api = FastAPI(exception_handlers={Exception: refused})

        @api.post("/flow_runs/")
        async def create(request: Request) -> dict[str, Any]:
            self.bodies.append(await request.json())
            if len(self.bodies) <= self.refusals:
                raise self.error("database is locked")
            return {"id": len(self.bodies)}

        @api.get("/health")
        async def health() -> bool:
            self.reads += 1
            return True

        self.app = FastAPI()
        self.app.mount("/api", api)


def _post(app: Any, payload: dict[str, Any]) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                     base_url="http://prefect") as client:
            return await client.post("/api/flow_runs/", json=payload)

    return asyncio.run(go())


def test_a_refused_write_is_tried_again_with_the_same_body_until_accepted() -> None:
    api = Api(refusals=3)
    retry = RetryRefused(api.app, pause_s=(0.0, 0.001))
    response = _post(retry, {"name": "case-YQ-2026-000001", "tags": ["case"]})
    assert response.status_code == 200, response.text
    assert response.json() == {"id": 4}
    assert api.bodies == [{"name": "case-YQ-2026-000001", "tags": ["case"]}] * 4  # routed to /api each time
    assert (retry.retried, retry.passed_on) == (3, 0)


def test_after_the_budget_the_refusal_goes_to_the_client() -> None:
    api = Api(refusals=10_000)
    retry = RetryRefused(api.app, budget_s=0.05, pause_s=(0.005, 0.01))
    response = _post(retry, {"name": "x"})
    assert response.status_code == 503
    assert response.json() == {"exception_message": "Service Unavailable"}
    assert 2 <= len(api.bodies) < 50
    assert retry.passed_on == 1


def test_another_error_goes_to_the_client_at_once() -> None:
    api = Api(refusals=1, error=ValueError)
    retry = RetryRefused(api.app, pause_s=(0.0, 0.001))
    response = _post(retry, {"name": "x"})
    assert response.status_code == 500
    assert len(api.bodies) == 1 and retry.retried == 0


def test_an_accepted_request_is_sent_once() -> None:
    api = Api(refusals=0)
    retry = RetryRefused(api.app)

    async def go() -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=retry), base_url="http://prefect") as client:
            return (await client.get("/api/health")).status_code

    assert asyncio.run(go()) == 200
    assert api.reads == 1 and retry.retried == 0


@pytest.mark.parametrize(("url", "expected"), [
    ("", True),
    ("sqlite+aiosqlite:////var/prefect/prefect.db", True),
    ("postgresql+asyncpg://postgres@127.0.0.1:5432/prefect", False),
])
def test_only_a_server_on_sqlite_tries_again(url: str, expected: bool) -> None:
    assert on_sqlite({"PREFECT_SERVER_DATABASE_CONNECTION_URL": url} if url else {}) is expected
