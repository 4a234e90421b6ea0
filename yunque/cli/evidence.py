"""Evidence from the command line: officers' bulk photos and integrations, links, verification."""

from __future__ import annotations

from pathlib import Path

import typer

from yunque.cli._common import AsOpt, JsonOpt, emit, fail, handled, parse_time


app = typer.Typer(name="evidence", no_args_is_help=True, help="Evidence of a case (photos, videos, documents).")


@app.command("add")
@handled
def add(case_number: str = typer.Argument(..., metavar="CASE"),
        file: Path = typer.Argument(..., metavar="FILE", help="JPEG, PNG, HEIC, MP4, MOV, WebM, Matroska or PDF."),
        actor: str = AsOpt,
        line: int = typer.Option(None, "--line", help="The line of goods it shows."),
        viewing: int = typer.Option(None, "--viewing", help="The viewing it was captured in."),
        shot: int = typer.Option(None, "--shot", help="The shot request it answers."),
        note: str = typer.Option("", "--note"),
        now: str = typer.Option(None, "--now", help="Server time to record (tests and replays)."),
        as_json: bool = JsonOpt) -> None:
    """Store FILE as evidence of CASE (its type is judged from its content, never its name)."""
    from services.evidence import add_evidence

    if not file.is_file():
        fail(f"invalid input: no such file {file}", 2)
    with file.open("rb") as stream:
        out = add_evidence(case_number=case_number, actor=actor, stream=stream, filename=file.name,
                           line_number=line, viewing_id=viewing, shot_request_id=shot, note=note,
                           now=parse_time(now))
    emit(out, as_json, lambda e: f"evidence {e.id}: {e.kind} {e.size} bytes sha256 {e.sha256}"
         + (" (already stored)" if e.duplicate else ""))


@app.command("list")
@handled
def list_(case_number: str = typer.Argument(..., metavar="CASE"), actor: str = AsOpt,
          urls: bool = typer.Option(False, "--urls", help="Include presigned links."),
          as_json: bool = JsonOpt) -> None:
    """The evidence of CASE that USER may see."""
    from services.evidence import list_evidence

    emit(list_evidence(case_number=case_number, actor=actor, with_urls=urls), as_json,
         lambda items: "\n".join(f"{e.id:>6} {e.kind:8} line {e.line_number or '-':>3} {e.captured_at:%Y-%m-%d %H:%M} "
                                 f"{e.captured_by} {e.sha256[:16]}" for e in items) or "no evidence")


@app.command("url")
@handled
def url(evidence_id: int = typer.Argument(..., metavar="EVIDENCE"), actor: str = AsOpt,
        as_json: bool = JsonOpt) -> None:
    """A short-lived presigned link to one item, for a user entitled to it."""
    from services.evidence import evidence_url
    from yunque.settings import get_settings

    link = evidence_url(evidence_id=evidence_id, actor=actor)
    emit({"evidence_id": evidence_id, "url": link, "expires_in": get_settings().presign_seconds}, as_json,
         lambda o: o["url"])


@app.command("verify")
@handled
def verify(case_number: str = typer.Argument(..., metavar="CASE"),
           actor: str = typer.Option(None, "--as", help="The officer verifying (default: the system)."),
           as_json: bool = JsonOpt) -> None:
    """Re-hash every object of CASE: intact, altered or missing; exit 1 unless all are intact."""
    from services.evidence import verify_evidence

    report = verify_evidence(case_number=case_number, actor=actor)
    emit(report, as_json, lambda r: "\n".join(
        [f"{i.evidence_id:>6} {i.status}" for i in r.items]
        + [f"{r.counts['intact']} intact, {r.counts['altered']} altered, {r.counts['missing']} missing"]))
    if not report.intact:
        raise typer.Exit(1)
