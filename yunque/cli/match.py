"""以图识图 from the command line: images of recordations, and matching a photo against them."""

from __future__ import annotations

from pathlib import Path

import typer

from yunque.cli._common import AsOpt, JsonOpt, emit, fail, handled, parse_time


def _read(file: Path, field: str) -> bytes:
    if not file.is_file():
        fail(f"invalid input: {field}: no such file {file}", 2)
    return file.read_bytes()


#: ``yunque match``, a command of the root, outside any group.
top_level = typer.Typer()
recordation_app = typer.Typer(name="recordation", no_args_is_help=True, help="Recordations (备案) of rights with customs.")
image_app = typer.Typer(name="image", no_args_is_help=True, help="Images of a recordation: the mark, reference photos.")
recordation_app.add_typer(image_app)


@image_app.command("add")
@handled
def add(number: str = typer.Argument(..., metavar="REC", help="The recordation number, e.g. T2019-40001."),
        file: Path = typer.Argument(..., metavar="FILE", help="A JPEG or PNG image."),
        actor: str = AsOpt,
        kind: str = typer.Option("mark", "--kind", help="mark (as registered) or reference (genuine goods)."),
        now: str = typer.Option(None, "--now", help="Server time to record (tests and replays)."),
        as_json: bool = JsonOpt) -> None:
    """Add FILE as an image of recordation REC (its rights holder or a customs administrator)."""
    from services.recognition import add_recordation_image

    out = add_recordation_image(recordation=number, actor=actor, data=_read(file, "file"), kind=kind,
                                now=parse_time(now))
    emit(out, as_json, lambda i: f"image {i.id} of {i.recordation} ({i.kind}, {i.width}x{i.height}) "
         f"sha256 {i.sha256}" + (" (already stored)" if i.duplicate else ""))


@image_app.command("list")
@handled
def list_(number: str = typer.Argument(..., metavar="REC"), actor: str = AsOpt,
          as_json: bool = JsonOpt) -> None:
    """The images of recordation REC."""
    from services.recognition import recordation_images

    out = recordation_images(recordation=number, actor=actor)
    emit(out, as_json, lambda o: "\n".join(f"{i.id} {i.kind} {i.width}x{i.height} {i.sha256}" for i in o)
         or "no images")


@top_level.command("match")
@handled
def match(photo: Path = typer.Argument(..., metavar="PHOTO", help="A JPEG or PNG photo of the goods."),
          actor: str = typer.Option("system", "--as", help="The user acting (a customs officer)."),
          top: int = typer.Option(3, "--top", help="How many candidates at most (1-20)."),
          outline: Path = typer.Option(None, "--outline", help="Write the photo with the best match drawn (PNG)."),
          as_json: bool = JsonOpt) -> None:
    """Which recorded marks does PHOTO show? Best candidates first, or no match."""
    from services.recognition import match_photo
    from services.recognition import outline as draw

    data = _read(photo, "photo")
    out = match_photo(actor=actor, data=data, top=top)
    if outline is not None and out.candidates:
        outline.write_bytes(draw(data, out.candidates[0]))
    emit({"matched": out.matched, "candidates": out.candidates, "recordations_indexed": out.recordations_indexed},
         as_json, lambda o: "\n".join(f"{c.recordation} {c.brand:14} {c.rights_holder:28} score {c.score}"
                                      for c in out.candidates) or "no match")


@recordation_app.command("demo-marks")
@handled
def demo_marks(as_json: bool = JsonOpt) -> None:
    """Give each demo recordation its synthetic mark image (drawn by Yunque; run after demo-data)."""
    from services.recognition import load_demo_marks

    out = load_demo_marks()
    emit(out, as_json, lambda o: "\n".join(f"{i.recordation} {i.brand:14} image {i.id}"
                                           + (" (already stored)" if i.duplicate else "") for i in o))
