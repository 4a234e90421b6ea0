"""Magic-byte sniffing and device times, on hand-made files and on files written by Pillow, PyAV and pypdf."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime, timedelta, timezone

import pytest

from adapters import media


def _jpeg_with_exif(when: bytes, offset: bytes | None = None, order: str = "<") -> bytes:
    """A small JPEG (written by Pillow) whose APP1 holds a hand-made IFD0 -> Exif IFD -> DateTimeOriginal
    (+ OffsetTimeOriginal), in either byte order."""
    bo = b"II" if order == "<" else b"MM"
    entries = [(0x9003, 2, len(when), when)]
    if offset is not None:
        entries.append((0x9011, 2, len(offset), offset))
    ifd0_at, exif_at = 8, 8 + 2 + 12 + 4
    data_at = exif_at + 2 + 12 * len(entries) + 4
    ifd0 = struct.pack(order + "H", 1) + struct.pack(order + "HHII", 0x8769, 4, 1, exif_at) + b"\x00" * 4
    blobs = b""
    exif = struct.pack(order + "H", len(entries))
    for tag, typ, n, value in entries:
        exif += struct.pack(order + "HHII", tag, typ, n, data_at + len(blobs))
        blobs += value
    exif += b"\x00" * 4
    tiff = bo + struct.pack(order + "HI", 42, ifd0_at) + ifd0 + exif + blobs
    return _real("JPEG", exif=b"Exif\x00\x00" + tiff)


def _mp4(brand: bytes, created: int, version: int = 0, mdat_first: bool = True) -> bytes:
    ftyp = struct.pack(">I4s4sI4s", 20, b"ftyp", brand, 0, brand)
    if version == 0:
        mvhd_body = bytes([0, 0, 0, 0]) + struct.pack(">II", created, created) + b"\x00" * 88
    else:
        mvhd_body = bytes([1, 0, 0, 0]) + struct.pack(">QQ", created, created) + b"\x00" * 88
    mvhd = struct.pack(">I4s", 8 + len(mvhd_body), b"mvhd") + mvhd_body
    moov = struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    mdat = struct.pack(">I4s", 8 + 1000, b"mdat") + b"\x01" * 1000
    return ftyp + (mdat + moov if mdat_first else moov + mdat)


EPOCH_1904 = datetime(1904, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("head,name,kind", [
    (b"\xff\xd8\xff\xe1rest", "jpeg", "photo"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "png", "photo"),
    (struct.pack(">I", 24) + b"ftypheic\x00\x00\x00\x00mif1heic", "heic", "photo"),
    (struct.pack(">I", 20) + b"ftypqt  \x00\x00\x02\x00qt  ", "mov", "video"),
    (struct.pack(">I", 24) + b"ftypisom\x00\x00\x02\x00isomiso2", "mp4", "video"),
    (struct.pack(">I", 24) + b"ftypXXXX\x00\x00\x00\x00mp42isom", "mp4", "video"),  # by compatible brand
    (b"%PDF-1.4\n", "pdf", "document"),
    (bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d4287810442858102") + b"\x18\x53\x80\x67",
     "webm", "video"),  # the EBML header Chrome's MediaRecorder writes
    (bytes.fromhex("1a45dfa3a34286810142f7810142f2810442f3810842828" "86d6174726f736b61") + b"\x42\x87\x81\x04",
     "matroska", "video"),
    (bytes.fromhex("1a45dfa3") + b"\x42\x82\x40\x04webm", "webm", "video"),  # a two-byte size field
])
def test_accepted_types_are_known_by_their_first_bytes(head: bytes, name: str, kind: str) -> None:
    found = media.sniff(head)
    assert found is not None and (found.name, found.kind) == (name, kind)


@pytest.mark.parametrize("head", [
    b"MZ\x90\x00", b"GIF89a", b"<svg xmlns=", b"PK\x03\x04", b"", b"\xff\xd8",  # exe, gif, svg, zip, empty, truncated
    struct.pack(">I", 20) + b"ftypM4A \x00\x00\x00\x00M4A ",  # audio only
    bytes.fromhex("1a45dfa3") + b"\x42\x82\x84XXXX",  # EBML of another DocType
    bytes.fromhex("1a45dfa3") + b"\x42\x82\x88matr",  # a DocType cut short
    bytes.fromhex("1a45dfa3") + b"\x00" * 20,  # no DocType at all
])
def test_everything_else_is_refused(head: bytes) -> None:
    assert media.sniff(head) is None


def test_exif_time_with_its_offset() -> None:
    data = _jpeg_with_exif(b"2026:11:24 10:37:05\x00", b"+08:00\x00")
    t = media.device_time(io.BytesIO(data), media.JPEG)
    assert t == datetime(2026, 11, 24, 10, 37, 5, tzinfo=timezone(timedelta(hours=8)))


def test_exif_time_without_offset_is_taken_as_china_time_in_either_byte_order() -> None:
    data = _jpeg_with_exif(b"2026:11:24 10:37:05\x00", order=">")
    t = media.device_time(io.BytesIO(data), media.JPEG)
    assert t is not None and t.astimezone(UTC) == datetime(2026, 11, 24, 2, 37, 5, tzinfo=UTC)


def test_a_jpeg_without_exif_or_with_garbage_has_no_device_time() -> None:
    assert media.device_time(io.BytesIO(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40), media.JPEG) is None
    broken = _jpeg_with_exif(b"2026:11:24 10:37:05\x00")[:40]
    assert media.device_time(io.BytesIO(broken), media.JPEG) is None


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("mdat_first", [True, False])
def test_mp4_and_mov_creation_time_wherever_the_moov_box_is(version: int, mdat_first: bool) -> None:
    when = datetime(2026, 11, 24, 2, 40, tzinfo=UTC)
    secs = int((when - EPOCH_1904).total_seconds())
    data = _mp4(b"qt  " if version else b"isom", secs, version, mdat_first)
    kind = media.sniff(data[:64])
    assert kind is not None and media.device_time(io.BytesIO(data), kind) == when


def test_an_unset_mp4_time_is_none() -> None:
    assert media.device_time(io.BytesIO(_mp4(b"isom", 0)), media.MP4) is None


def test_png_time_chunk_and_pdf_creation_date() -> None:
    ihdr = struct.pack(">I4s", 13, b"IHDR") + b"\x00" * 13 + b"\x00" * 4
    time_chunk = struct.pack(">I4s", 7, b"tIME") + struct.pack(">HBBBBB", 2026, 11, 24, 2, 41, 0) + b"\x00" * 4
    png = b"\x89PNG\r\n\x1a\n" + ihdr + time_chunk + struct.pack(">I4s", 0, b"IEND") + b"\x00" * 4
    assert media.device_time(io.BytesIO(png), media.PNG) == datetime(2026, 11, 24, 2, 41, tzinfo=UTC)
    pdf = _pdf({"/CreationDate": "D:20261124104200+08'00'"})
    assert media.device_time(io.BytesIO(pdf), media.PDF) == datetime(2026, 11, 24, 2, 42, tzinfo=UTC)


# --- files as the libraries write them --------------------------------------------------------------


def _pdf(info: dict[str, str]) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata(info)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _video(fmt: str, codec: str, creation_time: str | None) -> bytes:
    """Three black frames muxed by PyAV (FFmpeg) into ``fmt``, with ``creation_time`` if given."""
    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as container:
        if creation_time is not None:
            container.metadata["creation_time"] = creation_time
        stream = container.add_stream(codec, rate=5)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def test_a_jpeg_whose_exif_pillow_wrote_gives_its_original_time_over_its_file_time() -> None:
    from PIL import ExifTags, Image

    exif = Image.Exif()
    exif[ExifTags.Base.DateTime] = "2026:11:25 09:00:00"  # IFD0: when the file was last changed
    taken = exif.get_ifd(ExifTags.IFD.Exif)
    taken[ExifTags.Base.DateTimeOriginal] = "2026:11:24 10:37:05"
    taken[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    f = io.BytesIO(_real("JPEG", exif=exif))
    assert media.device_time(f, media.JPEG) == datetime(2026, 11, 24, 2, 37, 5, tzinfo=UTC)
    assert f.tell() == 0  # the stream is left where the store reads it from
    del taken[ExifTags.Base.DateTimeOriginal], taken[ExifTags.Base.OffsetTimeOriginal]
    taken[ExifTags.Base.OffsetTime] = "-05:00"
    assert media.device_time(io.BytesIO(_real("JPEG", exif=exif)), media.JPEG) == datetime(
        2026, 11, 25, 14, 0, tzinfo=UTC)


def test_an_implausible_or_unreadable_exif_time_is_none() -> None:
    from PIL import ExifTags, Image

    for when in ("1970:01:01 00:00:00", "2026:13:45 99:00:00", "yesterday", ""):
        exif = Image.Exif()
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = when
        assert media.device_time(io.BytesIO(_real("JPEG", exif=exif)), media.JPEG) is None, when
    assert media.device_time(io.BytesIO(_real("JPEG")), media.JPEG) is None  # no EXIF at all


def test_a_png_whose_exif_chunk_pillow_wrote_gives_its_time() -> None:
    from PIL import ExifTags, Image

    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Huawei"  # Pillow writes no eXIf chunk for an EXIF whose first IFD is empty
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:11:24 10:37:05"
    png = _real("PNG", exif=exif)
    assert b"eXIf" in png
    assert media.device_time(io.BytesIO(png), media.PNG) == datetime(2026, 11, 24, 2, 37, 5, tzinfo=UTC)
    assert media.device_time(io.BytesIO(_real("PNG")), media.PNG) is None


@pytest.mark.parametrize("fmt,codec,kind", [("mp4", "mpeg4", "mp4"), ("mov", "mpeg4", "mov"),
                                            ("webm", "libvpx", "webm"), ("matroska", "mpeg4", "matroska")])
def test_a_video_pyav_wrote_gives_its_creation_time(fmt: str, codec: str, kind: str) -> None:
    data = _video(fmt, codec, "2026-11-24T02:40:00.000000Z")
    found = media.sniff(data[:media.SNIFF_BYTES])
    assert found is not None and found.name == kind
    f = io.BytesIO(data)
    assert media.device_time(f, found) == datetime(2026, 11, 24, 2, 40, tzinfo=UTC)
    assert f.tell() == 0 and f.read() == data  # PyAV neither closes nor changes the stream
    assert media.device_time(io.BytesIO(_video(fmt, codec, None)), found) is None
    assert media.device_time(io.BytesIO(_video(fmt, codec, "1985-01-01T00:00:00Z")), found) is None


def test_a_damaged_video_has_no_device_time() -> None:
    data = _video("mp4", "mpeg4", "2026-11-24T02:40:00Z")
    for damaged in (data[:40], data[:20] + b"\xff" * 200, b"\x1a\x45\xdf\xa3" + b"\x00" * 100):
        assert media.device_time(io.BytesIO(damaged), media.MP4) is None
        assert media.device_time(io.BytesIO(damaged), media.WEBM) is None


def test_a_pdf_pypdf_wrote_gives_its_creation_date_and_china_time_without_a_zone() -> None:
    assert media.device_time(io.BytesIO(_pdf({"/CreationDate": "D:20261124104200Z"})), media.PDF) == datetime(
        2026, 11, 24, 10, 42, tzinfo=UTC)
    assert media.device_time(io.BytesIO(_pdf({"/CreationDate": "D:20261124104200"})), media.PDF) == datetime(
        2026, 11, 24, 2, 42, tzinfo=UTC)
    assert media.device_time(io.BytesIO(_pdf({"/CreationDate": "D:18991124104200Z"})), media.PDF) is None
    assert media.device_time(io.BytesIO(_pdf({"/CreationDate": "last Tuesday"})), media.PDF) is None
    assert media.device_time(io.BytesIO(_pdf({"/Title": "no date"})), media.PDF) is None


def test_a_damaged_pdf_has_no_device_time() -> None:
    whole = _pdf({"/CreationDate": "D:20261124104200+08'00'"})
    no_trailer = b"%PDF-1.7\n1 0 obj << /CreationDate (D:20261124104200+08'00') >> endobj\n%%EOF"
    for damaged in (whole[:len(whole) // 2], b"%PDF-1.4\n" + b"\x00" * 100, b"%PDF-", no_trailer):
        assert media.device_time(io.BytesIO(damaged), media.PDF) is None


# --- photos are decoded before they are accepted --------------------------------------------------


def _real(fmt: str, **params: object) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(out, format=fmt, **params)
    return out.getvalue()


def test_a_real_jpeg_and_png_decode() -> None:
    media.check_photo(io.BytesIO(_real("JPEG")), media.JPEG)
    media.check_photo(io.BytesIO(_real("PNG")), media.PNG)


@pytest.mark.parametrize(("data", "kind"), [
    (b"\xff\xd8\xff", media.JPEG),  # three magic bytes are not a photo
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"photo-of-inner-card" * 50, media.JPEG),
    (None, media.JPEG),  # a real JPEG cut in half
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, media.PNG),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", media.HEIC),  # a HEIC header with no image
])
def test_what_only_begins_like_a_photo_is_refused(data: bytes | None, kind: media.MediaType) -> None:
    if data is None:
        whole = _real("JPEG")
        data = whole[: len(whole) // 2]
    f = io.BytesIO(data)
    with pytest.raises(media.NotAPicture):
        media.check_photo(f, kind)
    assert f.tell() == 0  # the file is left at its start for whoever reads it next


def test_the_uploader_lists_exactly_the_accepted_types() -> None:
    assert media.extensions() == ["jpg", "jpeg", "png", "heic", "mp4", "mov", "webm", "mkv", "pdf"]
    assert {m.extension for m in media.ACCEPTED} <= set(media.extensions())
    said = str(media.accepted_types())
    assert said == "photos JPEG, PNG, HEIC; videos MP4, MOV, WebM, Matroska; documents PDF", said


def test_a_real_heic_photo_decodes_and_converts_to_jpeg_and_a_damaged_one_is_refused() -> None:
    import io

    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (30, 120, 200)).save(out, format="HEIF")
    heic = out.getvalue()
    media.check_photo(io.BytesIO(heic), media.HEIC)  # decodes
    jpeg = media.as_jpeg(heic)
    assert jpeg[:3] == b"\xff\xd8\xff" and Image.open(io.BytesIO(jpeg)).size == (120, 80)
    assert media.as_jpeg(jpeg) is jpeg  # not a HEIC: unchanged
    damaged = heic[:-40]
    with pytest.raises(media.NotAPicture):
        media.check_photo(io.BytesIO(damaged), media.HEIC)
