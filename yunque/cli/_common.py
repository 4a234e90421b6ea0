"""Shared CLI plumbing: JSON output, one-line errors, time options."""

from __future__ import annotations

import functools
import json
import sys
import unicodedata
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from models.rules.errors import YunqueError
from models.text import BIDI_CONTROLS

F = TypeVar("F", bound=Callable[..., Any])

try:  # typer 0.2x carries its own click
    from typer._click.exceptions import ClickException as _ClickException
    from typer._click.exceptions import Exit as _ClickExit
except ImportError:  # pragma: no cover - older typer on plain click
    from click.exceptions import ClickException as _ClickException
    from click.exceptions import Exit as _ClickExit

#: Exits and usage errors raised on purpose: they pass through ``handled`` untouched.
_CLICK_CONTROL = (typer.Exit, typer.Abort, _ClickExit, _ClickException)

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


def _unsafe(ch: str) -> bool:
    """A character a terminal would act on or reorder rather than show: controls, bidi, line separators."""
    return ch in BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")


def _escape(ch: str) -> str:
    n = ord(ch)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def printable(text: str) -> str:
    """One line of output as text a terminal shows and never acts on: escape sequences (ESC, CSI), carriage
    returns, NULs, bidi overrides and other controls appear escaped (``\\x1b``, ``\\u202e``)."""
    return "".join(_escape(ch) if _unsafe(ch) else ch for ch in text)


def printable_lines(text: str) -> str:
    """``printable`` for every line of a block; the line breaks stay."""
    return "\n".join(printable(line) for line in text.split("\n"))


def _json_text(obj: Any) -> str:
    """JSON whose strings carry no raw control, bidi or line-separator characters (``\\uXXXX`` instead)."""
    text = json.dumps(obj, default=_default, ensure_ascii=False, indent=2)
    return "".join(f"\\u{ord(ch):04x}" if _unsafe(ch) and ch != "\n" else ch for ch in text)


def emit(obj: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    if as_json or human is None:
        sys.stdout.write(_json_text(obj) + "\n")
    else:
        sys.stdout.write(printable_lines(human(obj).rstrip("\n")) + "\n")


def describe_validation(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__") or "input"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    return "invalid input: " + "; ".join(parts)


def fail(message: str, code: int = 1) -> None:
    sys.stderr.write(printable(message.replace("\n", " ")) + "\n")
    raise typer.Exit(code)


def incident_line(exc: BaseException, where: str) -> str:
    """An unexpected failure: its trace to the incident log, one line (reason and incident id) for the user."""
    from adapters.incidents import report
    from yunque.settings import get_settings

    return report(exc, where=where, var_dir=lambda: get_settings().var_dir).line()


def handled(fn: F) -> F:
    """Turn every error into a one-line reason and a non-zero exit: bad input (2), a broken rule (1), and
    anything unexpected (1), whose trace goes to the incident log under the id the line gives."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _CLICK_CONTROL:
            raise
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
        except Exception as e:  # noqa: BLE001 - the third kind: logged in full, said in one line
            fail(incident_line(e, f"yunque {fn.__name__}"), 1)

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
