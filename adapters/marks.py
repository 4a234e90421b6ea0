"""以图识图: find recorded trademarks in a photo with classical computer vision (no downloaded weights).

Each mark image is reduced to ORB keypoints and binary descriptors. All descriptors of all marks go
into one FLANN LSH index (approximate Hamming nearest neighbours), so a photo's descriptors vote
for a handful of candidate marks in time that grows slowly with the number of marks; each
candidate is then verified geometrically: descriptor matches with Lowe's ratio test, a RANSAC
homography, and the inliers counted. A mark is reported only if enough inliers agree on a sane
(convex, not degenerate) projection of the mark into the photo; otherwise the answer is "no match".

Also here: ``synthetic_mark``, which draws a distinctive, deterministic mark (shapes and glyphs in
DejaVu Sans) for demo data, tests and the bench, so the project ships no third-party logos.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
#: Marks are described at this size (longest side, pixels), photos at PHOTO_SIDE.
MARK_SIDE = 400
PHOTO_SIDE = 800
MARK_FEATURES = 400
PHOTO_FEATURES = 1500
#: A match needs at least this many RANSAC inliers, and this share of the tentative matches.
MIN_INLIERS = 14
MIN_INLIER_RATIO = 0.25
RATIO_TEST = 0.8
CANDIDATES = 5


class UnreadableImage(ValueError):
    """The bytes are not an image OpenCV can decode."""


@dataclass(frozen=True)
class Features:
    points: np.ndarray  # (n, 2) float32, in the coordinates of the original image
    descriptors: np.ndarray  # (n, 32) uint8
    width: int
    height: int

    def __len__(self) -> int:
        return len(self.points)


@dataclass(frozen=True)
class Match:
    mark: int  # the caller's id of the mark
    score: float  # inliers, weighted by the inlier ratio; higher is better
    inliers: int
    matches: int
    quad: list[tuple[float, float]]  # the mark's corners projected into the photo (photo pixels)


# --- images ---------------------------------------------------------------------------------------


def decode(data: bytes) -> np.ndarray:
    """Grey-scale pixels of an encoded image (JPEG, PNG, ...)."""
    arr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if arr is None or arr.size == 0:
        raise UnreadableImage("the file is not an image that can be read")
    return arr


def image_size(data: bytes) -> tuple[int, int]:
    g = decode(data)
    return int(g.shape[1]), int(g.shape[0])


def _orb(n: int) -> cv2.ORB:
    return cv2.ORB_create(nfeatures=n, scaleFactor=1.2, nlevels=8, edgeThreshold=15, patchSize=31, fastThreshold=12)


def extract(gray: np.ndarray, *, side: int, n: int) -> Features:
    """ORB features of ``gray`` resized so that its longest side is at most ``side``."""
    h, w = gray.shape[:2]
    scale = min(1.0, side / max(h, w))
    small = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else gray
    small = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(small)
    kps, desc = _orb(n).detectAndCompute(small, None)
    if desc is None or not kps:
        return Features(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8), w, h)
    pts = np.array([k.pt for k in kps], dtype=np.float32) / scale
    return Features(pts, desc, w, h)


def mark_features(data: bytes | np.ndarray) -> Features:
    gray = decode(data) if isinstance(data, bytes) else data
    return extract(gray, side=MARK_SIDE, n=MARK_FEATURES)


def photo_features(data: bytes | np.ndarray) -> Features:
    gray = decode(data) if isinstance(data, bytes) else data
    return extract(gray, side=PHOTO_SIDE, n=PHOTO_FEATURES)


# --- verification ---------------------------------------------------------------------------------

_bf = cv2.BFMatcher(cv2.NORM_HAMMING)


def verify(photo: Features, mark: Features, mark_id: int = 0) -> Match | None:
    """The mark's projection into the photo if enough matches agree on one homography, else None."""
    if len(photo) < 8 or len(mark) < 8:
        return None
    pairs = _bf.knnMatch(photo.descriptors, mark.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO_TEST * p[1].distance]
    if len(good) < MIN_INLIERS:
        return None
    src = np.float32([mark.points[m.trainIdx] for m in good]).reshape(-1, 1, 2)
    dst = np.float32([photo.points[m.queryIdx] for m in good]).reshape(-1, 1, 2)
    tol = 0.012 * max(photo.width, photo.height)
    hom, mask = cv2.findHomography(src, dst, cv2.USAC_DEFAULT, tol, maxIters=2000, confidence=0.995)
    if hom is None:
        return None
    inliers = int(mask.sum())
    ratio = inliers / len(good)
    if inliers < MIN_INLIERS or ratio < MIN_INLIER_RATIO:
        return None
    corners = np.float32([[0, 0], [mark.width, 0], [mark.width, mark.height], [0, mark.height]]).reshape(-1, 1, 2)
    quad = cv2.perspectiveTransform(corners, hom).reshape(-1, 2)
    if not _plausible(quad, photo.width, photo.height):
        return None
    return Match(mark=mark_id, score=round(inliers * min(1.0, ratio * 2), 2), inliers=inliers, matches=len(good),
                 quad=[(float(x), float(y)) for x, y in quad])


def _plausible(quad: np.ndarray, width: int, height: int) -> bool:
    """A real print of a mark projects to a convex quadrilateral of a sensible size and shape."""
    if not np.all(np.isfinite(quad)):
        return False
    q = quad.reshape(-1, 1, 2).astype(np.float32)
    if not cv2.isContourConvex(q):
        return False
    area = abs(cv2.contourArea(q))
    if area < 0.004 * width * height or area > 16 * width * height:
        return False
    sides = [float(np.linalg.norm(quad[i] - quad[(i + 1) % 4])) for i in range(4)]
    return min(sides) > 0.08 * max(sides)


# --- the index ------------------------------------------------------------------------------------


_TABLES = 12
_KEY_BITS = 24


def _key_bits() -> np.ndarray:
    """Which descriptor bits make each table's key: fixed, so an index is the same on every machine."""
    rnd = np.random.default_rng(17)
    return np.stack([rnd.choice(256, _KEY_BITS, replace=False) for _ in range(_TABLES)])


_BITS = _key_bits()


def hash_keys(descriptors: np.ndarray) -> np.ndarray:
    """(n, _TABLES) int64 bucket keys of binary descriptors: table t's key is _KEY_BITS chosen bits."""
    n = len(descriptors)
    bits = np.take(np.unpackbits(descriptors, axis=1), _BITS.ravel(), axis=1)  # (n, _TABLES * _KEY_BITS)
    packed = np.packbits(bits, axis=1, bitorder="little").reshape(n, _TABLES, -1)
    keys = np.zeros((n, _TABLES), np.int64)
    for i in range(packed.shape[2]):
        keys |= packed[:, :, i].astype(np.int64) << (8 * i)
    return keys + (np.arange(_TABLES, dtype=np.int64) << _KEY_BITS)[None, :]


def _distinct(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values (by sorting: numpy's hash-based ``unique`` is slower on large int arrays)."""
    a = np.sort(a, kind="stable")
    return a[np.concatenate(([True], a[1:] != a[:-1]))] if len(a) else a


@dataclass
class MarkIndex:
    """An inverted index from hashed descriptor buckets to marks (multi-table LSH over ORB bits).

    A photo's descriptors vote, through their buckets, for the marks that share them, each vote
    weighted by how rare the bucket is (an IDF); the best-voted marks are verified geometrically.
    Lookup cost grows with the number of descriptors landing in the photo's buckets, not with a scan
    of every mark."""

    marks: dict[int, Features] = field(default_factory=dict)
    _keys: np.ndarray | None = None  # sorted bucket keys, one per (descriptor, table)
    _owners: np.ndarray | None = None  # the mark (position) of each key
    _ids: np.ndarray | None = None  # position -> the caller's mark id
    _norm: np.ndarray | None = None  # per mark: sqrt(descriptor count)

    @classmethod
    def build(cls, marks: Sequence[tuple[int, Features]]) -> MarkIndex:
        idx = cls({mid: f for mid, f in marks if len(f) > 0})
        if idx.marks:
            ids = np.array(list(idx.marks), np.int64)
            counts = np.array([len(f) for f in idx.marks.values()], np.int64)
            keys = hash_keys(np.concatenate([f.descriptors for f in idx.marks.values()])).ravel()
            owners = np.repeat(np.repeat(np.arange(len(ids)), counts), _TABLES)
            # One vote per (mark, bucket): a mark with a repeated texture must not outvote the others.
            pairs = _distinct(keys * len(ids) + owners)
            idx._keys, idx._owners = pairs // len(ids), (pairs % len(ids)).astype(np.int32)
            idx._ids, idx._norm = ids, np.sqrt(counts.astype(np.float32))
        return idx

    def __len__(self) -> int:
        return len(self.marks)

    def nbytes(self) -> int:
        """Memory held by the index and the marks' features."""
        own = sum(a.nbytes for a in (self._keys, self._owners, self._ids, self._norm) if a is not None)
        return own + sum(f.points.nbytes + f.descriptors.nbytes for f in self.marks.values())

    def candidates(self, photo: Features, k: int = CANDIDATES) -> list[int]:
        """The ``k`` marks that share the most (rarity-weighted) descriptor buckets with the photo."""
        if self._keys is None or len(photo) == 0:
            return []
        if len(self.marks) <= k:
            return list(self.marks)
        q = _distinct(hash_keys(photo.descriptors).ravel())
        lo = np.searchsorted(self._keys, q, "left")
        hi = np.searchsorted(self._keys, q, "right")
        sizes = hi - lo
        hit = sizes > 0
        lo, sizes = lo[hit], sizes[hit]
        if not len(lo):
            return []
        # Positions lo[i] .. lo[i]+sizes[i]-1 for every bucket, without a Python loop.
        starts = np.repeat(lo - np.cumsum(sizes) + sizes, sizes)
        pos = starts + np.arange(sizes.sum())
        weights = np.repeat(np.log1p(len(self.marks) / sizes), sizes)
        votes = np.bincount(self._owners[pos], weights=weights, minlength=len(self._ids)) / self._norm
        best = np.argpartition(-votes, k)[:k]
        best = best[np.argsort(-votes[best])]
        return [int(self._ids[b]) for b in best if votes[b] > 0]  # type: ignore[index]

    def search(self, photo: Features, *, top: int = 3, k: int = CANDIDATES) -> list[Match]:
        """The verified marks in ``photo``, best first (empty: no match)."""
        found = [m for mid in self.candidates(photo, k) if (m := verify(photo, self.marks[mid], mid)) is not None]
        return sorted(found, key=lambda m: -m.score)[:top]


def draw_match(data: bytes, quad: Sequence[tuple[float, float]]) -> bytes:
    """The photo as PNG with the matched mark's outline drawn on it."""
    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise UnreadableImage("the file is not an image that can be read")
    pts = np.int32([[round(x), round(y)] for x, y in quad]).reshape(-1, 1, 2)
    cv2.polylines(img, [pts], True, (0, 200, 0), max(2, round(max(img.shape[:2]) / 200)), cv2.LINE_AA)
    ok, png = cv2.imencode(".png", img)
    assert ok
    return png.tobytes()


# --- synthetic marks ------------------------------------------------------------------------------

_PALETTE = [(20, 20, 20), (150, 20, 30), (20, 60, 140), (10, 110, 60), (120, 70, 10), (90, 20, 110), (0, 100, 110)]


def _font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSerif-Bold.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), size)


def synthetic_mark(text: str, seed: int, side: int = 360) -> Image.Image:
    """A distinctive, deterministic mark: an emblem of random shapes over the word ``text``."""
    rnd = random.Random(f"{text}|{seed}")
    w, h = side, round(side * 0.8)
    ink = rnd.choice(_PALETTE)
    accent = rnd.choice([c for c in _PALETTE if c != ink])
    img = Image.new("RGB", (w, h), (250, 248, 240))
    d = ImageDraw.Draw(img)
    d.rectangle([4, 4, w - 5, h - 5], outline=ink, width=rnd.choice([3, 5, 7]))
    # The emblem: a few polygons, circles and bars in the upper part.
    ex0, ey0, ex1, ey1 = w * 0.18, h * 0.08, w * 0.82, h * 0.56
    for _ in range(rnd.randint(4, 7)):
        kind = rnd.choice(["poly", "circle", "bar", "star", "ring"])
        cx, cy = rnd.uniform(ex0, ex1), rnd.uniform(ey0, ey1)
        r = rnd.uniform(h * 0.05, h * 0.16)
        colour = rnd.choice([ink, accent])
        if kind == "poly":
            n = rnd.randint(3, 6)
            pts = [(cx + r * np.cos(a), cy + r * np.sin(a))
                   for a in sorted(rnd.uniform(0, 2 * np.pi) for _ in range(n))]
            d.polygon(pts, fill=colour)
        elif kind == "circle":
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        elif kind == "ring":
            d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=colour, width=max(3, round(r / 4)))
        elif kind == "bar":
            d.rectangle([cx - r * 1.6, cy - r / 3, cx + r * 1.6, cy + r / 3], fill=colour)
        else:
            pts = [(cx + (r if i % 2 == 0 else r / 2.3) * np.cos(i * np.pi / 5 + 0.3),
                    cy + (r if i % 2 == 0 else r / 2.3) * np.sin(i * np.pi / 5 + 0.3)) for i in range(10)]
            d.polygon(pts, fill=colour)
    # A monogram glyph inside the emblem, then the word, then a small motto.
    letters = "".join(c for c in text if c.isalpha()) or "M"
    mono = _font(round(h * 0.22), bold=rnd.random() < 0.5)
    d.text((rnd.uniform(ex0, ex1 - h * 0.2), rnd.uniform(ey0, ey1 - h * 0.2)),
           letters[0] + rnd.choice(letters), font=mono, fill=(250, 248, 240) if rnd.random() < 0.3 else accent)
    word = text.upper()
    size = round(h * 0.2)
    font = _font(size, bold=rnd.random() < 0.6)
    while size > 10 and d.textlength(word, font=font) > w * 0.86:
        size -= 2
        font = _font(size, bold=True)
    tw = d.textlength(word, font=font)
    d.text(((w - tw) / 2, h * 0.62), word, font=font, fill=ink)
    motto = f"{rnd.choice(['EST', 'SINCE', 'ANNO', 'FONDÉ'])} {rnd.randint(1837, 1999)}"
    small = _font(round(h * 0.07), bold=False)
    d.text(((w - d.textlength(motto, font=small)) / 2, h * 0.86), motto, font=small, fill=accent)
    return img


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def as_gray(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("L"))


# --- synthetic photos (tests and the bench) -------------------------------------------------------


def _background(rnd: random.Random, w: int, h: int) -> np.ndarray:
    """A cluttered but mark-free scene: gradient, noise texture, random shapes and stray letters."""
    nrnd = np.random.default_rng(rnd.randrange(2**32))
    base = np.array([rnd.randint(40, 220) for _ in range(3)], np.float32)
    grad = np.linspace(rnd.uniform(0.6, 1.0), rnd.uniform(0.8, 1.3), w, dtype=np.float32)[None, :, None]
    img = np.clip(base[None, None, :] * grad + nrnd.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)
    pil = Image.fromarray(img)
    d = ImageDraw.Draw(pil)
    for _ in range(rnd.randint(3, 10)):
        x, y, r = rnd.uniform(0, w), rnd.uniform(0, h), rnd.uniform(10, 120)
        colour = tuple(rnd.randint(0, 255) for _ in range(3))
        if rnd.random() < 0.5:
            d.rectangle([x - r, y - r / 2, x + r, y + r / 2], fill=colour)
        else:
            d.ellipse([x - r, y - r, x + r, y + r], outline=colour, width=rnd.randint(2, 8))
    for _ in range(rnd.randint(0, 3)):
        word = "".join(rnd.choice("ABCDEFGHKLMNPRSTUVWXYZ") for _ in range(rnd.randint(3, 7)))
        d.text((rnd.uniform(0, w * 0.8), rnd.uniform(0, h * 0.9)), word, font=_font(rnd.randint(14, 40), False),
               fill=tuple(rnd.randint(0, 255) for _ in range(3)))
    return np.asarray(pil)


def synthetic_photo(mark: Image.Image | None, seed: int, size: tuple[int, int] = (1024, 768)) -> bytes:
    """A JPEG 'phone photo': the mark (if any) printed on a background, seen in perspective, rotated,
    scaled, blurred, lit unevenly and compressed."""
    rnd = random.Random(seed)
    w, h = size
    scene = _background(rnd, w, h).copy()
    if mark is not None:
        m = np.asarray(mark.convert("RGB"))
        mh, mw = m.shape[:2]
        scale = rnd.uniform(0.3, 0.65) * min(w, h) / max(mw, mh)
        tw, th = mw * scale, mh * scale
        cx, cy = rnd.uniform(tw * 0.6, w - tw * 0.6), rnd.uniform(th * 0.6, h - th * 0.6)
        angle = np.radians(rnd.uniform(-35, 35))
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        corners = np.array([[-tw / 2, -th / 2], [tw / 2, -th / 2], [tw / 2, th / 2], [-tw / 2, th / 2]])
        jitter = np.array([[rnd.uniform(-0.12, 0.12) * tw, rnd.uniform(-0.12, 0.12) * th] for _ in range(4)])
        dst = (corners + jitter) @ rot.T + np.array([cx, cy])
        src = np.float32([[0, 0], [mw, 0], [mw, mh], [0, mh]])
        hom = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
        warped = cv2.warpPerspective(m, hom, (w, h))
        mask = cv2.warpPerspective(np.full((mh, mw), 255, np.uint8), hom, (w, h)) > 0
        scene[mask] = warped[mask]
    # Lighting: a smooth gain field; blur; sensor noise; JPEG.
    yy, xx = np.mgrid[0:h:8, 0:w:8].astype(np.float32)
    lx, ly = rnd.uniform(0, w), rnd.uniform(0, h)
    spot = np.exp(-((xx - lx) ** 2 + (yy - ly) ** 2) / (2 * (w / 2) ** 2))
    gain = rnd.uniform(0.65, 1.0) + rnd.uniform(0.0, 0.35) * spot
    out = scene.astype(np.float32) * cv2.resize(gain, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    k = rnd.choice([0, 1, 3, 3, 5])
    if k:
        out = cv2.GaussianBlur(out, (k, k), 0)
    out += np.random.default_rng(seed).standard_normal(out.shape, np.float32) * rnd.uniform(2, 7)
    ok, jpg = cv2.imencode(".jpg", np.clip(out, 0, 255).astype(np.uint8)[..., ::-1],
                           [cv2.IMWRITE_JPEG_QUALITY, rnd.randint(55, 90)])
    assert ok
    return jpg.tobytes()
