"""Shared CLI plumbing: JSON output, one-line errors, time options."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from models.rules.errors import YunqueError

F = TypeVar("F", bound=Callable[..., Any])

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
AsOpt = typer.Option(..., "--as", help="The user acting (user name).")


def _default(o: Any) -> Any:
    if isinstance(o, BaseModel):
        return o.model_dump(mode="json")
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, datetime):
        return o.isoformat()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    raise TypeError(f"cannot serialise {type(o).__name__}")


def to_jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=_default, ensure_ascii=False))


def emit(obj: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(obj, default=_default, ensure_ascii=False, indent=2) + "\n")
    elif human is not None:
        sys.stdout.write(human(obj).rstrip("\n") + "\n")
    else:
        sys.stdout.write(json.dumps(obj, default=_default, ensure_ascii=False, indent=2) + "\n")


def describe_validation(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__") or "input"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    return "invalid input: " + "; ".join(parts)


def fail(message: str, code: int = 1) -> None:
    sys.stderr.write(message.replace("\n", " ") + "\n")
    raise typer.Exit(code)


def handled(fn: F) -> F:
    """Turn the three kinds of error into a one-line reason and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ValidationError as e:
            fail(describe_validation(e), 2)
        except YunqueError as e:
            fail(f"{e.code}: {e}", 1 if e.code not in ("invalid-input",) else 2)
        except json.JSONDecodeError as e:
            fail(f"invalid input: malformed JSON ({e.msg} at line {e.lineno} column {e.colno})", 2)
        except FileNotFoundError as e:
            fail(f"invalid input: no such file {e.filename}", 2)
        except IsADirectoryError as e:
            fail(f"invalid input: {e.filename} is a directory, not a file", 2)
        except UnicodeDecodeError:
            fail("invalid input: the file is not UTF-8 text", 2)

    return wrapper  # type: ignore[return-value]


#: Set to 1 by the test suite and for an explicit replay of recorded acts; otherwise ``--now`` is refused.
REPLAY_ENV = "YUNQUE_ALLOW_REPLAY"


def replay_allowed() -> bool:
    import os

    return os.environ.get(REPLAY_ENV, "").strip().lower() in ("1", "true", "yes")


def parse_time(value: str | None, field: str = "now") -> datetime | None:
    """An ISO time with a zone. ``--now`` dates a legal act, so it is refused outside replay mode."""
    if value is None:
        return None
    if field == "now" and not replay_allowed():
        fail(f"invalid input: now: --now dates an act in the past or future and is refused; acts are dated by "
             f"the clock (only tests and an explicit replay set {REPLAY_ENV}=1)", 2)
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        fail(f"invalid input: {field}: {value!r} is not an ISO 8601 time", 2)
        raise
    if t.tzinfo is None:
        fail(f"invalid input: {field}: {value!r} has no timezone (add +08:00 or Z)", 2)
    return t
