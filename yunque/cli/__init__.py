"""The ``yunque`` command: a stable contract over the same services the UI and flows call.

Every command takes ``--json`` for machine-readable output on stdout; bad input exits non-zero with a
one-line reason on stderr. Command groups live in the modules of this package, each a module-level
``typer.Typer`` named after its group (``office.app`` is ``yunque office``; a module with several groups
names them ``case_app``, ``notice_app`` ...); the few commands outside any group are on a module's
unnamed ``top_level`` Typer, merged into the root.

The sub-apps are listed here rather than discovered: the list below is the order ``yunque --help`` shows,
and one can read the whole command tree in one place. A module added to the package and forgotten here
is caught by ``tests/cli/test_cli.py`` (every Typer of every module must be reachable from ``app``).
"""

from __future__ import annotations

import typer

from yunque.cli import application, calendar, case, core, document, evidence, law, match, office, stack, task, viewing

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Yunque (云确): remote confirmation of IP rights at customs.")

#: Commands outside any group (``yunque demo-data``, ``yunque sweep``, ``yunque match`` ...), listed first.
TOP_LEVEL = (core.top_level, match.top_level)

#: The command groups, in the order ``yunque --help`` lists them.
GROUPS = (
    application.app,
    calendar.app,
    case.case_app, case.notice_app, case.line_app,
    core.db_app, core.audit_app,
    document.app,
    evidence.app,
    law.bonds_app, law.investigation_app, law.court_app, law.disposal_app, law.flagged_app, law.statement_app,
    law.police_app, law.counter_bond_app,
    match.recordation_app,
    office.app,
    stack.app,
    task.app,
    viewing.app,
)

for _commands in TOP_LEVEL:
    app.add_typer(_commands)  # no name: its commands join the root
for _group in GROUPS:
    app.add_typer(_group)  # under the name the group's Typer carries


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
