"""Customs offices: the seal printed on their documents."""

from __future__ import annotations

from pathlib import Path

import typer

from yunque.cli._common import AsOpt, JsonOpt, emit, handled

app = typer.Typer(name="office", no_args_is_help=True, help="Customs offices (administrators).")


@app.command("seal")
@handled
def seal(code: str = typer.Argument(..., metavar="OFFICE", help="The office's code, e.g. CAPAIR."),
         file: Path = typer.Argument(..., help="The seal: a square PNG with transparency, at most 2 MB."),
         actor: str = AsOpt, as_json: bool = JsonOpt) -> None:
    """Set the seal (印章) OFFICE prints over its name on the documents it issues from now on."""
    from services.offices import MAX_SEAL_BYTES, set_office_seal

    with file.open("rb") as f:
        data = f.read(MAX_SEAL_BYTES + 1)  # one byte more than allowed is enough to refuse it
    out = set_office_seal(office=code, actor=actor, data=data)
    emit(out, as_json, lambda o: f"seal of {o.office} set: {o.width}x{o.height} px, {o.size} bytes, "
                                 f"sha256 {o.sha256}" + (f" (replaces {o.replaced})" if o.replaced else ""))
