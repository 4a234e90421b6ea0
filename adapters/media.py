"""What a captured file really is, judged from its first bytes, and the time the device wrote in it.

The type comes from magic bytes only; a file's name or the browser's content type are never trusted.
WebM and Matroska (what browsers record, and what the viewing room's recorder writes) are known by their
EBML header (``1A 45 DF A3``) and its DocType. Device time is read by the libraries that know the formats:
Pillow for JPEG EXIF (DateTimeOriginal with OffsetTimeOriginal), PyAV (FFmpeg) for the ``creation_time``
of MP4/MOV (``mvhd``), WebM and Matroska (``DateUTC``), pypdf for a PDF's ``/CreationDate``. PNG's ``tIME``
chunk is read by a few lines here, since Pillow skips that chunk (it hands over ``eXIf``, whose EXIF
Pillow parses). A file that carries no readable time simply has none; a malformed header is not an
error, since the time is only corroborating metadata.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, BinaryIO
from zoneinfo import ZoneInfo

from models.rules.errors import Words, words

if TYPE_CHECKING:
    from PIL import Image

SNIFF_BYTES = 64
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class MediaType:
    name: str  # jpeg, png, heic, mp4, mov, webm, matroska, pdf
    kind: str  # photo, video, document
    content_type: str
    extension: str
    aliases: tuple[str, ...] = ()  # other extensions the same content usually carries


JPEG = MediaType("jpeg", "photo", "image/jpeg", "jpg", ("jpeg",))
PNG = MediaType("png", "photo", "image/png", "png")
HEIC = MediaType("heic", "photo", "image/heic", "heic")
MP4 = MediaType("mp4", "video", "video/mp4", "mp4")
MOV = MediaType("mov", "video", "video/quicktime", "mov")
PDF = MediaType("pdf", "document", "application/pdf", "pdf")
WEBM = MediaType("webm", "video", "video/webm", "webm")
MATROSKA = MediaType("matroska", "video", "video/x-matroska", "mkv")
ACCEPTED = (JPEG, PNG, HEIC, MP4, MOV, WEBM, MATROSKA, PDF)


def extensions() -> list[str]:
    """Every file extension of the accepted types, for an uploader to list exactly what is accepted."""
    return [e for m in ACCEPTED for e in (m.extension, *m.aliases)]


def accepted_types() -> Words:
    """The accepted types in words, for a refusal ("photos JPEG, PNG, HEIC; videos MP4, ...")."""
    by_kind: dict[str, list[str]] = {}
    for m in ACCEPTED:
        by_kind.setdefault(m.kind, []).append({"webm": "WebM", "matroska": "Matroska"}.get(m.name, m.name.upper()))
    return words("photos {photo}; videos {video}; documents {document}", **by_kind)


_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_MOV_BRANDS = {b"qt  "}
_MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
               b"MSNV", b"dash", b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"mmp4", b"f4v "}


def sniff(head: bytes) -> MediaType | None:
    """The accepted type these first bytes begin, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(_EBML):
        return _ebml_doctype(head)
    if len(head) >= 12 and head[4:8] == b"ftyp":
        size = struct.unpack(">I", head[:4])[0]
        brands = [head[8:12]] + [head[i:i + 4] for i in range(16, min(size, len(head)) - 3, 4)]
        for brand in brands:  # the major brand decides; compatible brands if it is unknown
            if brand in _HEIC_BRANDS:
                return HEIC
            if brand in _MOV_BRANDS:
                return MOV
            if brand in _MP4_BRANDS:
                return MP4
    return None


_EBML = b"\x1a\x45\xdf\xa3"
_DOCTYPE = b"\x42\x82"


def _ebml_doctype(head: bytes) -> MediaType | None:
    """WebM or Matroska from the DocType element of the EBML header (RFC 8794, RFC 9559), else None."""
    at = head.find(_DOCTYPE, len(_EBML))
    if at < 0 or at + 3 > len(head):
        return None
    first = head[at + 2]
    width = next((i + 1 for i in range(8) if first & (0x80 >> i)), 0)  # a variable-size integer
    if width == 0 or at + 2 + width > len(head):
        return None
    size = first & (0xFF >> width)
    for b in head[at + 3:at + 2 + width]:
        size = (size << 8) | b
    doctype = head[at + 2 + width:at + 2 + width + size]
    return {b"webm": WEBM, b"matroska": MATROSKA}.get(doctype)


def device_time(f: BinaryIO, media: MediaType) -> datetime | None:
    """The capture time the file itself carries (timezone-aware), or None. ``f`` must be seekable."""
    try:
        f.seek(0)
        if media is JPEG:
            return _jpeg_time(f)
        if media is PNG:
            return _png_time(f)
        if media in (MP4, MOV, WEBM, MATROSKA):
            return _video_time(f, media)
        if media is PDF:
            return _pdf_time(f)
        return None  # HEIC keeps EXIF in an item of its meta box: not cheap enough to read here
    except (struct.error, ValueError, OverflowError, IndexError):
        return None
    finally:
        f.seek(0)


def _sane(t: datetime) -> datetime | None:
    return t if 1990 <= t.year <= 2100 else None


#: What Pillow raises for a file that is not the picture it claims to be (UnidentifiedImageError is an OSError).
_NOT_DECODED = (OSError, SyntaxError, ValueError, struct.error, EOFError)


# --- JPEG / EXIF (Pillow) -------------------------------------------------------------------------


def _jpeg_time(f: BinaryIO) -> datetime | None:
    from PIL import Image

    try:
        with Image.open(f, formats=["JPEG"]) as im:  # reads the markers before the image data, not the pixels
            return _exif_time(im.getexif())
    except (*_NOT_DECODED, Image.DecompressionBombError):
        return None


def _exif_time(exif: Image.Exif) -> datetime | None:
    """DateTimeOriginal (else DateTime) with OffsetTimeOriginal (else OffsetTime); China time without one."""
    from PIL import ExifTags

    tags = {**exif, **exif.get_ifd(ExifTags.IFD.Exif)}
    text = _ascii(tags.get(ExifTags.Base.DateTimeOriginal)) or _ascii(tags.get(ExifTags.Base.DateTime))
    if not text:
        return None
    t = datetime.strptime(text, "%Y:%m:%d %H:%M:%S")
    offset = _ascii(tags.get(ExifTags.Base.OffsetTimeOriginal)) or _ascii(tags.get(ExifTags.Base.OffsetTime))
    m = re.fullmatch(r"([+-])(\d{2}):(\d{2})", offset)
    if m:
        sign = 1 if m.group(1) == "+" else -1
        tz = timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
        return _sane(t.replace(tzinfo=tz))
    # No offset written: the phone's local time at the inspection site, which is in China.
    return _sane(t.replace(tzinfo=SHANGHAI))


def _ascii(value: object) -> str:
    """An EXIF ASCII value as text; anything else (a number, bytes of another type) as no text."""
    return value.split("\x00")[0].strip() if isinstance(value, str) else ""


# --- PNG ------------------------------------------------------------------------------------------


def _png_time(f: BinaryIO) -> datetime | None:
    """The ``tIME`` chunk, or the EXIF of an ``eXIf`` chunk, whichever comes first before the image data.
    Pillow does not read ``tIME`` (it skips unknown chunks), hence this short walk over the chunks."""
    f.read(8)
    for _ in range(4096):
        header = f.read(8)
        if len(header) < 8:
            return None
        length, ctype = struct.unpack(">I4s", header)
        if ctype == b"tIME" and length == 7:  # last modification, UTC (PNG spec 11.3.6.1)
            y, mo, d, h, mi, s = struct.unpack(">HBBBBB", f.read(7))
            return _sane(datetime(y, mo, d, h, mi, s, tzinfo=UTC))
        if ctype == b"eXIf":
            return _exif_chunk_time(f.read(length))
        if ctype in (b"IDAT", b"IEND"):
            return None  # metadata chunks worth reading come before the image data in practice
        f.seek(length + 4, 1)
    return None


def _exif_chunk_time(data: bytes) -> datetime | None:
    from PIL import Image

    exif = Image.Exif()
    try:
        exif.load(data)
    except _NOT_DECODED:
        return None
    return _exif_time(exif)


# --- MP4 / MOV / WebM / Matroska (PyAV) -----------------------------------------------------------

_DEMUXER = {"mp4": "mov", "mov": "mov", "webm": "matroska", "matroska": "matroska"}


def _video_time(f: BinaryIO, media: MediaType) -> datetime | None:
    """FFmpeg's ``creation_time``: ``mvhd`` of MP4/MOV (unset when the device wrote 0), ``DateUTC`` of
    WebM/Matroska; always UTC."""
    import av

    try:
        with av.open(f, format=_DEMUXER[media.name], metadata_errors="replace") as container:
            created = container.metadata.get("creation_time")
    except (av.FFmpegError, ValueError, EOFError):
        return None
    if not created:
        return None
    t = datetime.fromisoformat(created)
    return _sane(t if t.tzinfo is not None else t.replace(tzinfo=UTC))


# --- PDF (pypdf) ----------------------------------------------------------------------------------


def _pdf_time(f: BinaryIO) -> datetime | None:
    """``/CreationDate`` of the document information dictionary; a date without a zone is China time."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        info = PdfReader(f).metadata
        created = info.creation_date if info is not None else None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, zlib.error):
        return None  # what a damaged or hostile file makes a parser raise
    if created is None:
        return None
    return _sane(created if created.tzinfo is not None else created.replace(tzinfo=SHANGHAI))


# --- is it really a picture? -----------------------------------------------------------------------


class NotAPicture(ValueError):
    """A file that begins like a photo but does not decode as one (a 3-byte ``FF D8 FF``, a truncated JPEG):
    the reason as a template with named values (``problem``, for the refusal that passes it on)."""

    def __init__(self, template: str, **values: object):
        self.problem = Words(template, values)
        super().__init__(str(self.problem))


def check_photo(f: BinaryIO, media: MediaType) -> None:
    """Decode a JPEG, PNG or HEIC with Pillow (HEIC through pillow-heif; JPEG at its smallest scale, so memory
    stays small). Raise ``NotAPicture`` with the reason otherwise."""
    try:
        f.seek(0)
        if media is HEIC:
            _heic_boxes(f)
            f.seek(0)
            _heif_opener()
        if media in (JPEG, PNG, HEIC):
            _decode(f, media)
    finally:
        f.seek(0)


def _heif_opener() -> None:
    """Teach Pillow to open HEIC/HEIF (iPhone photos), once per process."""
    from pillow_heif import register_heif_opener

    register_heif_opener()


def as_jpeg(data: bytes, *, quality: int = 92) -> bytes:
    """A HEIC photo as JPEG bytes for the parts that read only JPEG and PNG (OpenCV in 以图识图); other
    pictures unchanged. ``NotAPicture`` if it does not decode."""
    if sniff(data[:SNIFF_BYTES]) is not HEIC:
        return data
    check_photo(io.BytesIO(data), HEIC)
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        out = io.BytesIO()
        im.convert("RGB").save(out, format="JPEG", quality=quality)
        return out.getvalue()


def _decode(f: BinaryIO, media: MediaType) -> None:
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(f, formats=["HEIF" if media is HEIC else media.name.upper()]) as im:
                if im.width < 1 or im.height < 1:
                    raise NotAPicture("the picture has no pixels")
                if media is JPEG:
                    im.draft(im.mode, (max(1, im.width // 8), max(1, im.height // 8)))
                im.load()
    except NotAPicture:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise NotAPicture("the picture is too large to decode safely") from None
    except _NOT_DECODED as e:
        # Pillow's own message (``detail``) is English in either language: it names what the decoder tripped on
        raise NotAPicture("it does not decode as a {format} picture ({detail})", format=media.name.upper(),
                          detail=str(e)) from None


def _heic_boxes(f: BinaryIO) -> None:
    boxes = {btype for btype, _body, _end in _boxes(f, 0, None)}
    if not {b"ftyp", b"meta", b"mdat"} <= boxes:
        raise NotAPicture("it is not a complete HEIC picture (its image data is missing)")


def _boxes(f: BinaryIO, start: int, end: int | None) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the ISO-BMFF boxes between ``start`` and ``end``."""
    out = []
    pos = start
    for _ in range(10_000):
        if end is not None and pos + 8 > end:
            break
        f.seek(pos)
        header = f.read(8)
        if len(header) < 8:
            break
        size, btype = struct.unpack(">I4s", header)
        body = pos + 8
        if size == 1:
            size = struct.unpack(">Q", f.read(8))[0]
            body = pos + 16
        elif size == 0:  # to the end of the file
            f.seek(0, 2)
            size = f.tell() - pos
        if size < 8:
            break
        out.append((btype, body, pos + size))
        pos += size
    return out
