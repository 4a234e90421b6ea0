"""以图识图's computer vision on a small generated set: the right mark is found, a photo without
a mark is answered "no match", and the matched region lands where the mark was printed."""

from __future__ import annotations

import numpy as np
import pytest

from adapters import marks

BRANDS = ["CHANEL", "NIKE", "HERMES", "ADIDAS", "LOUIS VUITTON", "GUCCI", "PRADA", "BURBERRY", "ROLEX"]


@pytest.fixture(scope="module")
def demo_marks() -> list:
    return [marks.synthetic_mark(b, 0) for b in BRANDS]


@pytest.fixture(scope="module")
def index(demo_marks: list) -> marks.MarkIndex:
    extra = [marks.synthetic_mark(w, i) for i, w in enumerate(["VELMORA", "KASTRIN", "ODELUXE", "PRAVON", "GUCANTI"])]
    return marks.MarkIndex.build([(i, marks.mark_features(marks.as_gray(m))) for i, m in enumerate(demo_marks + extra)])


def test_synthetic_marks_are_deterministic_and_distinct(demo_marks: list) -> None:
    assert marks.png_bytes(marks.synthetic_mark("CHANEL", 0)) == marks.png_bytes(demo_marks[0])
    assert len({marks.png_bytes(m) for m in demo_marks}) == len(BRANDS)
    assert all(len(marks.mark_features(marks.as_gray(m))) >= 200 for m in demo_marks)


def test_photos_of_each_demo_mark_find_it_first(demo_marks: list, index: marks.MarkIndex) -> None:
    photos = [(i, marks.synthetic_photo(m, seed=7000 + 10 * i + s)) for i, m in enumerate(demo_marks) for s in range(2)]
    top1 = sum([m.mark for m in index.search(marks.photo_features(p))][:1] == [i] for i, p in photos)
    assert top1 / len(photos) >= 0.85


def test_photos_without_a_mark_are_no_match(index: marks.MarkIndex) -> None:
    found = [index.search(marks.photo_features(marks.synthetic_photo(None, seed=8000 + s))) for s in range(12)]
    assert sum(not f for f in found) >= 11


def test_the_matched_region_covers_the_printed_mark(demo_marks: list) -> None:
    mark = demo_marks[4]
    scene = np.full((600, 800), 90, np.uint8)
    gray = marks.as_gray(mark)
    scene[100:100 + gray.shape[0], 200:200 + gray.shape[1]] = gray
    import cv2

    ok, png = cv2.imencode(".png", scene)
    assert ok
    m = marks.verify(marks.photo_features(png.tobytes()), marks.mark_features(gray), 4)
    assert m is not None
    expected = [(200, 100), (200 + gray.shape[1], 100), (200 + gray.shape[1], 100 + gray.shape[0]),
                (200, 100 + gray.shape[0])]
    assert max(abs(x - ex) + abs(y - ey) for (x, y), (ex, ey) in zip(m.quad, expected)) < 10
    drawn = marks.draw_match(png.tobytes(), m.quad)
    assert drawn.startswith(b"\x89PNG")


def test_an_empty_index_finds_nothing() -> None:
    photo = marks.photo_features(marks.synthetic_photo(None, seed=1))
    assert marks.MarkIndex.build([]).search(photo) == []


def test_bytes_that_are_not_an_image_are_refused() -> None:
    with pytest.raises(marks.UnreadableImage):
        marks.decode(b"\xff\xd8\xff not really a jpeg")
