"""Legal documents (PDF) and their service on the addressees."""

from __future__ import annotations

from pathlib import Path

import typer

from yunque.cli._common import AsOpt, JsonOpt, emit, fail, handled, parse_time


def _ref(doc: str) -> dict:
    """DOC is a document's id (digits) or its number (e.g. CAPAIR-CN-2026-000017)."""
    doc = doc.strip()
    return {"document_id": int(doc)} if doc.isdigit() else {"number": doc}


def _doc_id(doc: str, actor: str) -> int:
    ref = _ref(doc)
    if "document_id" in ref:
        return ref["document_id"]
    from services.context import load_actor
    from services.documents import find_document
    from yunque.bootstrap import bootstrap

    with bootstrap().transaction(readonly=True) as s:
        return find_document(s, load_actor(s, actor), number=ref["number"]).id  # type: ignore[return-value]


def _delivery_text(d) -> str:  # noqa: ANN001
    when = d.accepted_at or d.finished_at or d.started_at
    tail = d.server_reply or d.error or d.note or ""
    task = f"  task {d.task_id}" if d.task_id else ""
    return f"{d.document_number}  #{d.attempt} {d.means} {d.state}  {when:%Y-%m-%d %H:%M:%S%z}  {d.addressee}  {tail}{task}"


app = typer.Typer(name="document", no_args_is_help=True, help="Legal documents (PDF) and their service.")


@app.command("get")
@handled
def get(doc: str = typer.Argument(..., help="The document's id or number."), actor: str = AsOpt,
        out: Path = typer.Option(..., "--out", help="Where to write the PDF."), as_json: bool = JsonOpt) -> None:
    """Write a document to a file; refused to users not entitled to it."""
    from services.documents import document_bytes

    name, data = document_bytes(actor=actor, **_ref(doc))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    import hashlib

    emit({"file": str(out), "name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}, as_json,
         lambda r: f"{r['name']} -> {r['file']} ({r['size']} bytes, sha256 {r['sha256']})")


@app.command("list")
@handled
def list_(case_number: str, actor: str = AsOpt, as_json: bool = JsonOpt) -> None:
    """The documents of a case that the user may read."""
    from services.documents import documents_of_case

    docs = documents_of_case(case_number=case_number, actor=actor)
    emit(docs, as_json, lambda ds: "\n".join(f"{d.id:>5}  {d.number:28} {d.kind:20} {d.sha256}" for d in ds) or "(none)")


@app.command("issue")
@handled
def issue(notice: int = typer.Option(None, "--notice", help="Issue the confirmation notice of this notice."),
          decision: int = typer.Option(None, "--decision", help="Issue the documents of this decision."),
          as_json: bool = JsonOpt) -> None:
    """Issue documents now (the process does this itself); a repeat returns those already issued."""
    from services.documents import issue_for_decision, issue_for_notice

    if (notice is None) == (decision is None):
        fail("invalid input: give either --notice or --decision", 2)
    docs = [issue_for_notice(notice_id=notice)] if notice is not None else issue_for_decision(decision_id=decision)
    emit(docs, as_json, lambda ds: "\n".join(f"{d.number}  {d.kind}  {d.sha256}" for d in ds) or "(no document for this decision)")


@app.command("deliver")
@handled
def deliver(doc: str = typer.Argument(..., help="The document's id or number."),
            actor: str = typer.Option("system", "--as"), as_json: bool = JsonOpt) -> None:
    """Mail a document to its addressee now (one attempt; the process retries on its own)."""
    from services.delivery import deliver_document

    emit(deliver_document(document_id=_doc_id(doc, actor)), as_json, _delivery_text)


@app.command("served")
@handled
def served(doc: str = typer.Argument(..., help="The document's id or number."), actor: str = AsOpt,
           means: str = typer.Option("hand", "--means", help="hand or post"),
           at: str = typer.Option(None, "--at", help="When it was served (ISO 8601 with a timezone); default now."),
           note: str = typer.Option("", "--note"), as_json: bool = JsonOpt) -> None:
    """Record that a document was served by hand or by post (after mail failed)."""
    from services.delivery import record_manual_service

    emit(record_manual_service(document_id=_doc_id(doc, actor), actor=actor, means=means, at=parse_time(at, "at"),
                               note=note), as_json, _delivery_text)


@app.command("outbox")
@handled
def outbox_(actor: str = AsOpt, limit: int = typer.Option(50, "--limit"), as_json: bool = JsonOpt) -> None:
    """What was sent, newest first (customs users only)."""
    from services.delivery import outbox

    emit(outbox(actor=actor, limit=limit), as_json, lambda ds: "\n".join(_delivery_text(d) for d in ds) or "(empty)")


@app.command("verify")
@handled
def verify(number: str, file: Path = typer.Option(None, "--file", help="The PDF presented."),
           sha256: str = typer.Option(None, "--sha256", help="Or its SHA-256."), as_json: bool = JsonOpt) -> None:
    """Whether a presented document is the one issued under NUMBER (exit 1 if not)."""
    from services.documents import verify_document

    v = verify_document(number=number, data=file.read_bytes() if file else None, sha256=sha256)
    emit(v, as_json, lambda r: (f"{r.number}: " + ("not issued" if not r.issued else
                                f"{r.title_zh} {r.title_en}, {r.office} "
                                + {True: "— matches the document issued", False: "— DOES NOT match the document issued",
                                   None: f"— issued, sha256 {r.sha256}"}[r.matches])))
    if v.matches is False or not v.issued:
        raise typer.Exit(1)
