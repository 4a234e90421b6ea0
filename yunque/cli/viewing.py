"""Remote viewings (看货, Reg 17) from the command line: the same services as the viewing room."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from yunque.cli._common import AsOpt, JsonOpt, emit, fail, handled, parse_time

NowOpt = typer.Option(None, "--now", help="Time of the action (ISO, with zone; tests and replays).")


def _viewing_text(v) -> str:  # noqa: ANN001
    return f"viewing {v.id} of {v.case_number}: {v.state} (lines {', '.join(map(str, v.line_numbers))})"


app = typer.Typer(name="viewing", no_args_is_help=True, help="Remote viewings: request, decide, room, shots, verdict.")


@app.command("request")
@handled
def request(actor: str = AsOpt,
            notice: int = typer.Option(None, "--notice", help="The rights holder's notice."),
            case_number: str = typer.Option(None, "--case", help="The consignor's case."),
            line: list[int] = typer.Option(None, "--line", help="A line to view (default: all)."),
            invite_consignor: bool = typer.Option(False, "--invite-consignor"),
            note: str = typer.Option("", "--note"), now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Ask customs for a viewing of the goods."""
    from services.viewing import request_viewing

    emit(request_viewing(actor=actor, notice_id=notice, case_number=case_number, line_numbers=line or None,
                         invite_consignor=invite_consignor, note=note, now=parse_time(now)), as_json, _viewing_text)


@app.command("decide")
@handled
def decide(viewing_id: int, actor: str = AsOpt,
           approve: bool = typer.Option(..., "--approve/--refuse"),
           reason: str = typer.Option("", "--reason"), now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Approve or refuse (with a reason) a requested viewing."""
    from services.viewing import decide_viewing

    emit(decide_viewing(viewing_id=viewing_id, actor=actor, approve=approve, reason=reason, now=parse_time(now)),
         as_json, _viewing_text)


@app.command("open")
@handled
def open_(viewing_id: int, actor: str = AsOpt, now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Open (or reopen) an approved viewing's room."""
    from services.viewing import open_room

    emit(open_room(viewing_id=viewing_id, actor=actor, now=parse_time(now)), as_json, _viewing_text)


@app.command("close")
@handled
def close(viewing_id: int, actor: str = AsOpt, now: str = NowOpt,
          abandon_recording: bool = typer.Option(False, "--abandon-recording",
                                                 help="The live session's recording is lost (the app stopped): "
                                                      "close anyway and say so on the timeline."),
          as_json: bool = JsonOpt) -> None:
    """Close the room; open shot requests are cancelled. A live session being recorded is closed in the
    viewing room, where its recording is stored as evidence; here it is refused."""
    from services.viewing import close_room

    emit(close_room(viewing_id=viewing_id, actor=actor, now=parse_time(now), abandon_recording=abandon_recording),
         as_json, _viewing_text)


@app.command("link")
@handled
def link(viewing_id: int, url: str = typer.Argument(None, help="The video call's address; omit to remove."),
         actor: str = AsOpt, as_json: bool = JsonOpt) -> None:
    """Attach a link to an external video call (optional: the room works without it)."""
    from services.viewing import set_call_link

    emit(set_call_link(viewing_id=viewing_id, actor=actor, url=url), as_json, _viewing_text)


@app.command("shot")
@handled
def shot(viewing_id: int, actor: str = AsOpt, text: str = typer.Option("", "--text"),
         guide_item: int = typer.Option(None, "--guide-item"), line: int = typer.Option(None, "--line"),
         now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Ask for a photo or video of a detail."""
    from services.viewing import request_shot

    emit(request_shot(viewing_id=viewing_id, actor=actor, text=text, guide_item_id=guide_item,
                      line_number=line, now=parse_time(now)), as_json, lambda r: f"shot request {r.id}: {r.text}")


@app.command("capture")
@handled
def capture(viewing_id: int, shot_request: int = typer.Argument(..., metavar="SHOT"),
            file: Path = typer.Argument(..., metavar="FILE"), actor: str = AsOpt,
            note: str = typer.Option("", "--note"), now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Answer a shot request with a photo, video or file."""
    from services.evidence import add_evidence
    from services.viewing import room_state

    if not file.is_file():
        fail(f"invalid input: no such file {file}", 2)
    case_number = room_state(viewing_id=viewing_id, actor=actor).viewing.case_number
    with file.open("rb") as stream:
        out = add_evidence(case_number=case_number, actor=actor, stream=stream, filename=file.name,
                           viewing_id=viewing_id, shot_request_id=shot_request, note=note, now=parse_time(now))
    emit(out, as_json, lambda e: f"evidence {e.id} answers shot request {e.shot_request_id}")


@app.command("state")
@handled
def state(viewing_id: int, actor: str = AsOpt, since: int = typer.Option(None, "--since"),
          as_json: bool = JsonOpt) -> None:
    """What USER sees of the room: shots, evidence with links, the log."""
    from services.viewing import room_state

    emit(room_state(viewing_id=viewing_id, actor=actor, since=since), as_json,
         lambda r: "\n".join([_viewing_text(r.viewing)]
                             + [f"  shot {s.id} [{s.state}] {s.text}" for s in r.shot_requests]
                             + [f"  {e.at:%H:%M:%S} {e.actor}: {e.action}" for e in r.log]))


@app.command("verdict")
@handled
def verdict(viewing_id: int, actor: str = AsOpt,
            verdict: list[str] = typer.Option(..., "--verdict", help="LINE=infringing|not-infringing"),
            detain: bool = typer.Option(False, "--detain"), bond: str = typer.Option(None, "--bond"),
            comment: str = typer.Option("", "--comment"), now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """The rights holder's answer to its notice, given from the room."""
    from services.viewing import answer_from_room

    verdicts: dict[int, str] = {}
    for v in verdict:
        m = re.fullmatch(r"\s*(\d+)\s*=\s*([a-z-]+)\s*", v)
        if not m:
            fail(f"invalid input: verdict: {v!r} is not LINE=infringing or LINE=not-infringing", 2)
        verdicts[int(m.group(1))] = m.group(2)
    out = answer_from_room(viewing_id=viewing_id, actor=actor, now=parse_time(now),
                           answer={"verdicts": verdicts, "detain": detain, "bond": bond, "comment": comment})
    emit(out, as_json, lambda n: f"notice {n.id}: {n.state}")


@app.command("list")
@handled
def list_(actor: str = AsOpt, case_number: str = typer.Option(None, "--case"), as_json: bool = JsonOpt) -> None:
    """The viewings USER takes part in."""
    from services.viewing import list_viewings

    emit(list_viewings(actor=actor, case_number=case_number), as_json,
         lambda vs: "\n".join(_viewing_text(v) for v in vs) or "no viewings")


@app.command("times")
@handled
def times(actor: str = AsOpt, case_number: str = typer.Option(None, "--case"), as_json: bool = JsonOpt) -> None:
    """Minutes from service, and from the room opening, to each notice's verdict."""
    from services.viewing import confirmation_times

    emit(confirmation_times(actor=actor, case_number=case_number), as_json,
         lambda ts: "\n".join(f"notice {t.notice_id:>5} {t.rights_holder:30} service->verdict "
                              f"{t.minutes_from_service if t.minutes_from_service is not None else '-':>8} min, "
                              f"room->verdict {t.minutes_from_room if t.minutes_from_room is not None else '-':>8} min"
                              for t in ts))
