"""The ``yunque`` command: a stable contract over the same services the UI and flows call.

Every command takes ``--json`` for machine-readable output on stdout; bad input exits non-zero with a
one-line reason on stderr. Command groups live in the modules of this package; each module defines
``register(app)`` and is picked up automatically.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Yunque (云确): remote confirmation of IP rights at customs.")


def _register_all() -> None:
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_all()


def main() -> None:
    """Run the command; a usage error (unknown option, missing argument) is one line on stderr, exit 2."""
    import sys

    try:
        from typer._click.exceptions import UsageError  # typer 0.2x carries its own click
    except ImportError:  # pragma: no cover - older typer on plain click
        from click.exceptions import UsageError

    try:
        code = app(standalone_mode=False)
    except UsageError as e:
        sys.stderr.write(f"invalid input: {e.format_message()}".replace("\n", " ") + "\n")
        sys.exit(2)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - a command without ``handled``: still one line, the trace in the log
        from yunque.cli._common import incident_line, printable

        sys.stderr.write(printable(incident_line(e, "yunque")) + "\n")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
