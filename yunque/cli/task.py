"""The officers' task inbox from the command line: list, show, claim, unclaim, hand over, complete."""

from __future__ import annotations

import typer

from yunque.cli._common import AsOpt, JsonOpt, emit, fail, handled, parse_time

NowOpt = typer.Option(None, "--now", help="The moment of the act (ISO 8601 with offset); default: now.")


def _line(t) -> str:  # noqa: ANN001
    return f"{t.id:>6} {t.kind:16} {t.case_number} due {t.due_at} {t.state} {t.assignee or ''}"


def _fields(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fail(f"invalid input: field: give name=value, not {pair!r}", 2)
        name = name.strip()
        out[name] = f"{out[name]},{value}" if name in out else value  # a repeated field adds to a list
    return out


app = typer.Typer(name="task", no_args_is_help=True, help="Human tasks: completing one performs its act.")


@app.command("list")
@handled
def list_(actor: str = AsOpt,
          view: str = typer.Option(None, "--view", help="mine, group (unclaimed), office (all open), done"),
          kind: list[str] = typer.Option([], "--kind", help="Task kind (repeatable)."),
          case: str = typer.Option(None, "--case", help="Case number."),
          due: str = typer.Option(None, "--due", help="overdue, today or none"),
          assignee: str = typer.Option(None, "--assignee", help="User name of the assignee."),
          offset: int = typer.Option(0, "--offset"), limit: int = typer.Option(50, "--limit"),
          mine: bool = typer.Option(False, "--mine", help="Same as --view mine."),
          now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Tasks of a view, filtered and paged by the database. Without --view: the tasks you may work
    (yours and your group's unclaimed ones)."""
    from services.tasks import inbox, list_tasks

    if view is None and not mine and not due and not assignee:
        items = inbox(actor=actor, kind=kind, case_number=case, limit=limit)
    else:
        items = list_tasks(actor=actor, view=view or "mine", kind=kind, case_number=case, due=due,
                           assignee=assignee, offset=offset, limit=limit, now=parse_time(now)).items
    emit(items, as_json, lambda ts: "\n".join(_line(t) for t in ts))


@app.command("show")
@handled
def show(task_id: int, actor: str = AsOpt, as_json: bool = JsonOpt) -> None:
    """One task: its case in brief, its form (fields and allowed outcomes) and its history."""
    from services.tasks import task_detail

    def human(d) -> str:  # noqa: ANN001
        form = d.form
        fields = ", ".join(f"{k}{'*' if k in form['required'] else ''}" for k in form["fields"]) or "none"
        return "\n".join([_line(d.task), f"  {d.task.title}", f"  outcomes: {', '.join(form['outcomes']) or '-'}",
                          f"  fields: {fields}",
                          f"  you may complete it: {'yes' if d.may_complete else 'no (' + str(d.why_not) + ')'}",
                          *[f"  {h.at.isoformat(timespec='minutes')} {h.actor} {h.action}" for h in d.history]])

    emit(task_detail(task_id=task_id, actor=actor), as_json, human)


@app.command("claim")
@handled
def claim(task_id: int, actor: str = AsOpt, now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    from services.tasks import claim_task

    emit(claim_task(task_id=task_id, actor=actor, now=parse_time(now)), as_json, lambda t: f"task {t.id}: {t.state}")


@app.command("unclaim")
@handled
def unclaim(task_id: int, actor: str = AsOpt, now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    from services.tasks import unclaim_task

    emit(unclaim_task(task_id=task_id, actor=actor, now=parse_time(now)), as_json, lambda t: f"task {t.id}: {t.state}")


@app.command("assign")
@handled
def assign(task_id: int, actor: str = AsOpt, to: str = typer.Option(..., "--to", help="User name of the colleague."),
           now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    from services.tasks import assign_task

    emit(assign_task(task_id=task_id, actor=actor, assignee=to, now=parse_time(now)), as_json,
         lambda t: f"task {t.id}: {t.state} ({t.assignee})")


@app.command("complete")
@handled
def complete(task_id: int, actor: str = AsOpt,
             outcome: str = typer.Option(..., "--outcome", help="One of the task's outcomes (see task show)."),
             field: list[str] = typer.Option([], "--field", help="name=value of the task's form (repeatable)."),
             now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Complete a task: its act (confirm the lines, decide the viewing, ...) is performed with it."""
    from services.tasks import complete_task

    emit(complete_task(task_id=task_id, actor=actor, outcome=outcome, fields=_fields(field), now=parse_time(now)),
         as_json, lambda t: f"task {t.id}: {t.state}")


@app.command("escalate")
@handled
def escalate(now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Hand overdue open tasks up to their office's managers (the reconciliation does it too)."""
    from services.tasks import escalate_overdue

    emit({"escalated": escalate_overdue(now=parse_time(now))}, as_json, lambda o: f"{len(o['escalated'])} task(s)")
