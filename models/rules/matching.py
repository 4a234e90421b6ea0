"""Does a line of suspect goods fall within the recorded right? (Reg 16; Meas 21)

The brand alone is not enough: a trademark is recorded for its Nice classes of goods, and goods of a
licensee are not infringing. A doubt is flagged to the officer confirming the seizure, who decides."""

from __future__ import annotations

NO_CLASS = "no-class-stated"
OUTSIDE_CLASSES = "outside-classes"
LICENSEE = "consignor-is-licensee"


def recorded_classes(classes: str) -> frozenset[int]:
    """"18,25" -> {18, 25}; blanks and junk are ignored."""
    out = set()
    for part in classes.replace("，", ",").replace(" ", ",").split(","):
        if part.strip().isdigit():
            out.add(int(part.strip()))
    return frozenset(out)


def _norm(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def match_flags(*, right_type: str, classes: str, nice_class: int | None, licensees: list[str],
                consignor_name: str) -> list[str]:
    """What the officer must look at before the line goes to its rights holder; [] when nothing."""
    flags: list[str] = []
    if right_type == "trademark":
        recorded = recorded_classes(classes)
        if nice_class is None:
            flags.append(NO_CLASS)
        elif recorded and nice_class not in recorded:
            flags.append(OUTSIDE_CLASSES)
    me = _norm(consignor_name)
    if me and any(_norm(lic) and (_norm(lic) in me or me in _norm(lic)) for lic in licensees):
        flags.append(LICENSEE)
    return flags
