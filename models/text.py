"""Text people type, checked once: no NUL or other control characters, no Unicode bidi controls.

``check_text`` is the rule; ``Text``/``LongText`` (and the sized variants) are the pydantic types every
input model uses for free text, so a refusal names the field (``description: contains ...``). Single-line
text refuses line breaks too; multi-line text (notes, comments, reasons) allows newlines and tabs.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StringConstraints

#: Bidirectional formatting characters: they reorder what a reader sees (a "Trojan Source" file name,
#: a description that reads backwards). U+200E/F marks, U+061C Arabic letter mark, U+202A-E embeddings
#: and overrides, U+2066-9 isolates.
BIDI_CONTROLS = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _name(ch: str) -> str:
    return f"U+{ord(ch):04X}" + (f" {unicodedata.name(ch)}" if unicodedata.name(ch, "") else "")


def check_text(value: str, *, multiline: bool = False) -> str:
    """``value`` unchanged if it is plain text; ValueError (the reason, without the field) otherwise."""
    for ch in value:
        if ch in BIDI_CONTROLS:
            return _refuse(f"contains a Unicode bidirectional control character ({_name(ch)})")
        if ch in "\n\t" and multiline:
            continue
        if ch == "\x00":
            return _refuse("contains a NUL character (U+0000)")
        category = unicodedata.category(ch)
        if category == "Cc":
            if ch in "\n\r":
                return _refuse("contains a line break" + ("" if multiline else "; it must be one line"))
            one_line = "; it must be one line" if ch == "\t" and not multiline else ""
            return _refuse(f"contains a control character ({_name(ch)}){one_line}")
        if category == "Cs":
            return _refuse(f"contains an unpaired surrogate (U+{ord(ch):04X})")
        if category in ("Zl", "Zp") and not multiline:
            return _refuse(f"contains a line separator ({_name(ch)}); it must be one line")
    return value


def _refuse(reason: str) -> str:
    raise ValueError(reason)


def _newlines(value: object) -> object:
    """Windows line ends from a text area become plain newlines before the check."""
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def _one_line(value: str) -> str:
    return check_text(value, multiline=False)


def _many_lines(value: str) -> str:
    return check_text(value, multiline=True)


PlainText = AfterValidator(_one_line)
PlainLongText = AfterValidator(_many_lines)

#: One line of text, 1-500 characters (names, descriptions, offices).
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), PlainText]
#: Several lines of text: notes, comments, reasons (may be empty).
LongText = Annotated[str, BeforeValidator(_newlines), StringConstraints(strip_whitespace=True, max_length=2000),
                     PlainLongText]


def one_line(max_length: int, *, min_length: int = 0) -> object:
    """A single-line text type of another size."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
                     PlainText]


def many_lines(max_length: int, *, min_length: int = 0) -> object:
    """A multi-line text type of another size."""
    return Annotated[str, BeforeValidator(_newlines),
                     StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
                     PlainLongText]


def plain(field: str, value: str, *, multiline: bool = False) -> str:
    """For a service argument that is not part of an input model: the same check, as ``InvalidInput``."""
    from models.rules.errors import InvalidInput

    try:
        return check_text(value, multiline=multiline)
    except ValueError as e:
        raise InvalidInput(field, str(e)) from None
