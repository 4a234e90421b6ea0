"""Unexpected failures (the third kind of error): one plain line for the person, the whole trace in the log.

A failure nobody planned for (a database nobody migrated, a full disk, a store that is down) gets an
incident id. The command line prints ``<reason> (incident <id>)`` and the app says the same in the
user's language; the traceback goes only to ``var/log/yunque-incidents.log`` (next to the stack's
other logs), under that id, so an administrator can find it.
"""

from __future__ import annotations

import errno
import secrets
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LOG_NAME = "yunque-incidents.log"

#: What each kind of failure is, said in one line (the app translates the kind, see ``ui/i18n.py``).
REASONS: dict[str, str] = {
    "db-not-set-up": "the database is not set up: run `yunque db upgrade`",
    "db-read-only": "the database is read-only at the moment: nothing was changed; try again once it is writable",
    "db-busy": "the database is busy: nothing was changed; try again",
    "db-unreachable": "the database cannot be reached: nothing was changed; try again later",
    "disk-full": "no space is left on the disk: nothing was changed; free some space and try again",
    "nul-byte": "invalid input: text contains a NUL character (U+0000)",
    "store-unreachable": "the evidence store cannot be reached: try again later",
    "object-missing": "a stored file is missing from the evidence store",
    "document-altered": "a stored document no longer matches the one issued",
    "internal": "an unexpected error stopped this action",
}

_lock = threading.Lock()


@dataclass(frozen=True)
class Incident:
    id: str
    kind: str  # a key of REASONS

    @property
    def reason(self) -> str:
        return REASONS[self.kind]

    def line(self) -> str:
        """The one line a person sees."""
        return f"{self.reason} (incident {self.id})"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps (SQLAlchemy's ``orig``) and what caused it."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        orig = getattr(e, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None, e.__cause__, e.__context__]


def classify(exc: BaseException) -> str:
    """The kind of an unexpected failure (a key of ``REASONS``)."""
    for e in _chain(exc):
        text = str(e).lower()
        name = type(e).__name__
        module = type(e).__module__
        if "no such table" in text or name == "UndefinedTable" or ("relation" in text and "does not exist" in text):
            return "db-not-set-up"
        if "cannot contain nul" in text or "nul (0x00)" in text:
            return "nul-byte"
        if (isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)) or "disk is full" in text:
            return "disk-full"
        if "readonly database" in text or ("read-only" in text and ("transaction" in text or "database" in text)):
            return "db-read-only"
        if "database is locked" in text or name in ("LockNotAvailable", "DeadlockDetected"):
            return "db-busy"
        if "unable to open database file" in text or (module.startswith("psycopg") and name == "OperationalError"):
            return "db-unreachable"
        if module.startswith(("botocore", "urllib3")) and ("connect" in name.lower() or "endpoint" in name.lower()):
            return "store-unreachable"
        if name == "ObjectMissing":
            return "object-missing"
        if name == "DocumentAltered":
            return "document-altered"
    return "internal"


def new_id(now: datetime | None = None) -> str:
    at = now or datetime.now(UTC)
    return f"{at:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def log_path(var_dir: Path) -> Path:
    """The incident log of the settings whose ``var_dir`` this is."""
    return var_dir / "log" / LOG_NAME


def report(exc: BaseException, *, where: str, var_dir: Callable[[], Path]) -> Incident:
    """Give the failure an id, write its trace to the incident log under ``var_dir()``, and say what kind it is.

    Never raises: if the log itself cannot be written (the disk is full), or ``var_dir()`` cannot say where it
    is (the settings cannot be read, which may be the failure itself), the person still gets the line."""
    incident = Incident(id=new_id(), kind=classify(exc))
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    entry = (f"=== {datetime.now(UTC).isoformat(timespec='seconds')} incident {incident.id} [{incident.kind}] "
             f"in {where}\n{trace}\n")
    try:
        path = log_path(var_dir())
        path.parent.mkdir(parents=True, exist_ok=True)
        with _lock, path.open("a", encoding="utf-8", errors="backslashreplace") as f:
            f.write(entry)
    except Exception:  # noqa: BLE001, S110 - a failing log must not hide the failure from the person
        pass
    return incident
