"""The officers' task inbox from the command line."""

from __future__ import annotations

import json

import typer

from yunque.cli._common import AsOpt, JsonOpt, emit, fail, handled


def register(app: typer.Typer) -> None:
    task = typer.Typer(no_args_is_help=True, help="Human tasks.")
    app.add_typer(task, name="task")

    @task.command("list")
    @handled
    def list_(actor: str = AsOpt, mine: bool = typer.Option(False, "--mine"), as_json: bool = JsonOpt) -> None:
        from services.tasks import inbox

        emit(inbox(actor=actor, mine_only=mine), as_json,
             lambda ts: "\n".join(f"{t.id:>6} {t.kind:16} {t.case_number} due {t.due_at} {t.state} {t.assignee or ''}" for t in ts))

    @task.command("claim")
    @handled
    def claim(task_id: int, actor: str = AsOpt, as_json: bool = JsonOpt) -> None:
        from services.tasks import claim_task

        emit(claim_task(task_id=task_id, actor=actor), as_json, lambda t: f"task {t.id}: {t.state}")

    @task.command("complete")
    @handled
    def complete(task_id: int, actor: str = AsOpt, outcome: str = typer.Option("{}", "--outcome", help="JSON object"),
                 as_json: bool = JsonOpt) -> None:
        from services.tasks import complete_task

        data = json.loads(outcome)
        if not isinstance(data, dict):
            fail("invalid input: outcome: must be a JSON object", 2)
        emit(complete_task(task_id=task_id, actor=actor, outcome=data), as_json, lambda t: f"task {t.id}: {t.state}")
