"""The one-command local stack: ``yunque stack up | down | status``."""

from __future__ import annotations

import typer

from yunque.cli._common import JsonOpt, emit

app = typer.Typer(name="stack", no_args_is_help=True,
                  help="Run Yunque on this machine (Prefect, workers, S3, mail, the app).")


@app.command("up")
def up(workers: int = typer.Option(1, "--workers", min=1, max=16, help="Prefect workers for the pool."),
       no_server: bool = typer.Option(False, "--no-server",
                                      help="Use the Prefect server at YUNQUE_PREFECT_API_URL instead of starting one.")) -> None:
    """Start everything on loopback, print URLs and demo logins; Ctrl-C stops it all."""
    from yunque.stack import up as stack_up

    raise typer.Exit(stack_up(workers=workers, with_server=not no_server,
                              say=lambda m: typer.echo(m)))


@app.command("down")
def down(as_json: bool = JsonOpt) -> None:
    """Stop a stack left running (from its pid files under var/run)."""
    from yunque.stack import down as stack_down

    stopped = stack_down()
    emit({"stopped": stopped}, as_json, lambda o: "stopped: " + (", ".join(o["stopped"]) or "nothing was running"))


@app.command("status")
def status(as_json: bool = JsonOpt) -> None:
    """Which parts run, and whether each is healthy."""
    from yunque.stack import status as stack_status

    st = stack_status()
    emit(st, as_json, _status_text)
    if not st["running"]:
        raise typer.Exit(1)


def _status_text(o: dict) -> str:
    lines = [f"stack {'running' if o['running'] else 'not running'}"]
    for name, p in o["parts"].items():
        lines.append(f"  {name:15} pid {p['pid']:>7}  {'healthy' if p['healthy'] else ('alive' if p['alive'] else 'dead')}"
                     + (f"  {p['url']}" if p["url"] else "")
                     + ("  ORPHANED: no supervisor (`yunque stack down` stops it)" if p["orphaned"] else "")
                     + (f"  left behind: pids {p['left_behind']}" if p["left_behind"] else ""))
    return "\n".join(lines)
