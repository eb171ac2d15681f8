"""Fonts: a database of font faces found on disk, CSS font matching, and
per-face metrics and glyph outlines.

Where fonts come from, in this order (earlier folders win ties and are
searched first for per-character fallback):

1. the ``font_dirs`` argument of :func:`font_database` (and of
   ``pydiffvg.text_to_paths`` / ``svg_to_scene``'s callers),
2. the ``PYDIFFVG_FONT_DIRS`` environment variable (folders separated by
   ``os.pathsep``),
3. the system's font folders (``/usr/share/fonts``, ``~/.fonts``, macOS
   and Windows folders).

Files ending in .ttf, .otf, .ttc or .otc are read with fontTools. A file
that fontTools cannot read warns once and is skipped.

Matching follows CSS Fonts 4, 5.2 (simplified): the first family of the
``font-family`` list that names an installed family wins; within the family
the face is chosen by font-stretch, then font-style, then font-weight. The
generic families map to the first installed family of
``GENERIC_FAMILIES[generic]``; with resvg's test fonts present that gives
resvg's mapping (serif -> Noto Serif, sans-serif -> Noto Sans, cursive ->
Yellowtail, fantasy -> Sedgwick Ave Display, monospace -> Noto Mono). When no
family of the list exists, the default family (``serif``) is used and a
warning names the missing families.
"""
from __future__ import annotations

import io
import os
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

FONT_EXTENSIONS = (".ttf", ".otf", ".ttc", ".otc")

#: Generic family -> installed families to try, first present wins.
GENERIC_FAMILIES = {
    "serif": ["Noto Serif", "DejaVu Serif", "Liberation Serif", "Times New Roman", "Times",
              "FreeSerif"],
    "sans-serif": ["Noto Sans", "DejaVu Sans", "Liberation Sans", "Arial", "Helvetica",
                   "FreeSans"],
    "cursive": ["Yellowtail", "Comic Sans MS", "URW Chancery L"],
    "fantasy": ["Sedgwick Ave Display", "Impact", "Papyrus"],
    "monospace": ["Noto Mono", "DejaVu Sans Mono", "Liberation Mono", "Courier New",
                  "Courier", "FreeMono"],
}
#: The family used when no family of a list is installed.
DEFAULT_FAMILY = "serif"

#: font-stretch keywords -> OS/2 usWidthClass (1..9).
STRETCH_KEYWORDS = {"ultra-condensed": 1, "extra-condensed": 2, "condensed": 3,
                    "semi-condensed": 4, "normal": 5, "semi-expanded": 6, "expanded": 7,
                    "extra-expanded": 8, "ultra-expanded": 9}
_STRETCH_PERCENT = [50.0, 62.5, 75.0, 87.5, 100.0, 112.5, 125.0, 150.0, 200.0]

_SYSTEM_DIRS = {
    "linux": ["/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts"],
    "darwin": ["/System/Library/Fonts", "/Library/Fonts", "~/Library/Fonts"],
    "win32": [os.path.join(os.environ.get("WINDIR", "C:\\Windows"), "Fonts")],
}


def system_font_dirs() -> List[str]:
    key = "darwin" if sys.platform == "darwin" else "win32" if sys.platform == "win32" else "linux"
    return [os.path.expanduser(d) for d in _SYSTEM_DIRS[key]]


def stretch_class(value) -> int:
    """font-stretch (keyword, percentage or number of percent) -> usWidthClass."""
    if isinstance(value, (int, float)):
        percent = float(value)
    else:
        text = str(value).strip().lower()
        if text in STRETCH_KEYWORDS:
            return STRETCH_KEYWORDS[text]
        try:
            percent = float(text[:-1]) if text.endswith("%") else float(text)
        except ValueError:
            return 5
    return int(np.argmin([abs(percent - p) for p in _STRETCH_PERCENT])) + 1


# ----------------------------------------------------------------------------
# Faces
# ----------------------------------------------------------------------------

@dataclass
class FaceInfo:
    """What matching needs to know about one face, read at scan time."""
    path: str
    index: int
    families: Tuple[str, ...]        # lower case, name IDs 1 and 16, all languages
    family: str                      # a display name
    weight: int                      # OS/2 usWeightClass
    style: str                       # normal | italic | oblique
    stretch: int                     # OS/2 usWidthClass
    order: int                       # scan order


class Face:
    """A loaded face: fontTools font, HarfBuzz font, metrics and an outline
    cache keyed by glyph id (and variation location).

    Metrics are in font units (y up), as the font stores them:
    units_per_em, ascent, descent (negative below the baseline), x_height,
    underline_position, underline_thickness, line_through_position,
    subscript_offset, superscript_offset.
    """

    def __init__(self, info: FaceInfo):
        from fontTools.ttLib import TTFont
        import uharfbuzz as hb

        self.info = info
        with open(info.path, "rb") as handle:
            data = handle.read()
        self.font = TTFont(io.BytesIO(data), fontNumber=info.index, lazy=True)
        self.hb_face = hb.Face(hb.Blob(data), info.index)
        self.hb_font = hb.Font(self.hb_face)
        self.lock = threading.Lock()
        self._cmap = None
        self._outlines: Dict[Tuple, List[Tuple[np.ndarray, np.ndarray]]] = {}
        self._glyph_sets: Dict[Tuple, object] = {}
        self._hb_fonts: Dict[Tuple, object] = {}
        self._svg_docs: Optional[Dict[int, str]] = None
        self.svg_scenes: Dict[int, object] = {}  # glyph id -> parsed document (text/svg.py)
        self.axes = {a.axisTag: (a.minValue, a.defaultValue, a.maxValue)
                     for a in self.font["fvar"].axes} if "fvar" in self.font else {}
        self.glyph_order = self.font.getGlyphOrder()
        self._read_metrics()

    def _read_metrics(self):
        font = self.font
        upem = int(font["head"].unitsPerEm)
        if not 16 <= upem <= 16384:
            raise ValueError(f"unitsPerEm {upem} out of range")
        self.units_per_em = upem
        os2 = font["OS/2"] if "OS/2" in font else None
        hhea = font["hhea"] if "hhea" in font else None
        use_typo = os2 is not None and bool(os2.fsSelection & (1 << 7))
        if use_typo:
            ascent, descent = os2.sTypoAscender, os2.sTypoDescender
        elif hhea is not None and (hhea.ascent or hhea.descent):
            ascent, descent = hhea.ascent, hhea.descent
        elif os2 is not None:
            ascent, descent = os2.usWinAscent, -os2.usWinDescent
        else:
            ascent, descent = 0.8 * upem, -0.2 * upem
        self.ascent, self.descent = float(ascent), float(descent)
        x_height = getattr(os2, "sxHeight", 0) if os2 is not None else 0
        # Without an x-height, 45% of the height (as Firefox and resvg do).
        self.x_height = float(x_height) if x_height and x_height > 0 else round(
            (self.ascent - self.descent) * 0.45)
        if os2 is not None and getattr(os2, "yStrikeoutSize", 0) > 0:
            self.line_through_position = float(os2.yStrikeoutPosition)
        else:
            self.line_through_position = float(int(self.x_height) // 2)
        post = font["post"] if "post" in font else None
        if post is not None and post.underlineThickness > 0:
            self.underline_position = float(post.underlinePosition)
            self.underline_thickness = float(post.underlineThickness)
        else:
            self.underline_position = float(-(upem // 9))
            self.underline_thickness = float(upem // 12)
        # 0.2 and 0.4 em are the generic offsets when OS/2 gives none.
        self.subscript_offset = float(os2.ySubscriptYOffset) if os2 is not None else 0.2 * upem
        self.superscript_offset = (float(os2.ySuperscriptYOffset) if os2 is not None
                                   else 0.4 * upem)

    # -- characters ----------------------------------------------------------
    @property
    def cmap(self) -> Dict[int, str]:
        if self._cmap is None:
            with self.lock:
                try:
                    self._cmap = self.font.getBestCmap() or {}
                except Exception:  # a broken cmap: the face covers nothing
                    self._cmap = {}
        return self._cmap

    def has_char(self, codepoint: int) -> bool:
        return codepoint in self.cmap

    # -- shaping fonts ---------------------------------------------------------
    def variation_key(self, variations: Optional[Dict[str, float]]) -> Tuple:
        if not variations or not self.axes:
            return ()
        items = []
        for tag, value in sorted(variations.items()):
            if tag in self.axes:
                low, default, high = self.axes[tag]
                value = min(max(float(value), low), high)
                if value != default:
                    items.append((tag, value))
        return tuple(items)

    def shaping_font(self, key: Tuple):
        """The HarfBuzz font at the variation location ``key`` (font units)."""
        if not key:
            return self.hb_font
        font = self._hb_fonts.get(key)
        if font is None:
            import uharfbuzz as hb
            font = hb.Font(self.hb_face)
            font.set_variations(dict(key))
            self._hb_fonts[key] = font
        return font

    # -- SVG glyphs (colour fonts with an 'SVG ' table) ---------------------------
    def svg_document(self, glyph_id: int) -> Optional[str]:
        """The SVG document that draws ``glyph_id`` (font units, y down, origin
        on the baseline), or None."""
        if self._svg_docs is None:
            docs: Dict[int, str] = {}
            try:
                if "SVG " in self.font:
                    for entry in self.font["SVG "].docList:
                        data = entry.data if hasattr(entry, "data") else entry[0]
                        start = entry.startGlyphID if hasattr(entry, "startGlyphID") else entry[1]
                        end = entry.endGlyphID if hasattr(entry, "endGlyphID") else entry[2]
                        if isinstance(data, bytes):
                            data = data.decode("utf-8", "replace")
                        if end - start <= 64:  # one document per glyph (or a few)
                            for gid in range(start, end + 1):
                                docs[gid] = data
            except Exception:  # a broken table: draw the plain outlines
                docs = {}
            self._svg_docs = docs
        return self._svg_docs.get(glyph_id)

    # -- outlines --------------------------------------------------------------
    def outline(self, glyph_id: int, key: Tuple = ()) -> List[Tuple[np.ndarray, np.ndarray]]:
        """The glyph's contours in font units (y up): a list of
        (num_control_points int32 (S,), points float64 (N, 2)) closed paths
        in diffvg's layout (N = S + sum(num_control_points)). Cached."""
        cache_key = (glyph_id, key)
        contours = self._outlines.get(cache_key)
        if contours is not None:
            return contours
        with self.lock:
            contours = self._outlines.get(cache_key)
            if contours is not None:
                return contours
            pen = None
            if 0 <= glyph_id < len(self.glyph_order):
                if key not in self._glyph_sets:
                    try:
                        self._glyph_sets[key] = self.font.getGlyphSet(
                            location=dict(key) if key else None)
                    except Exception:  # no outlines (a bitmap-only font)
                        self._glyph_sets[key] = None
                glyph_set = self._glyph_sets[key]
                pen = ContourPen(glyph_set)
                try:
                    if glyph_set is not None:
                        glyph_set[self.glyph_order[glyph_id]].draw(pen)
                except Exception:  # a damaged glyph draws nothing
                    pen.contours = []
                    pen._points, pen._ncp = [], []
            pen = pen or ContourPen()
            pen.finish()
            contours = pen.contours
            self._outlines[cache_key] = contours
        return contours


_PEN_CLASS = None


def ContourPen(glyph_set=None):
    """A fontTools pen that records closed contours as diffvg paths
    (made on first use, so that importing pydiffvg does not need fontTools).

    BasePen splits TrueType's implied on-curve points (qCurveTo with many
    off-curve points) into single quadratics and poly-cubics into cubics,
    so only _moveTo, _lineTo, _qCurveToOne and _curveToOne are needed.
    """
    global _PEN_CLASS
    if _PEN_CLASS is None:
        from fontTools.pens.basePen import BasePen
        methods = {k: v for k, v in vars(_ContourPenMethods).items()
                   if k == "__init__" or not k.startswith("__")}
        _PEN_CLASS = type("ContourPen", (BasePen,), methods)
    return _PEN_CLASS(glyph_set)


class _ContourPenMethods:
    def __init__(self, glyph_set=None):
        type(self).__mro__[1].__init__(self, glyphSet=glyph_set)  # components draw through it
        self.contours: List[Tuple[np.ndarray, np.ndarray]] = []
        self._ncp: List[int] = []
        self._points: List[Tuple[float, float]] = []

    def _moveTo(self, pt):
        self._flush()
        self._points = [pt]
        self._ncp = []

    def _lineTo(self, pt):
        self._ncp.append(0)
        self._points.append(pt)

    def _qCurveToOne(self, pt1, pt2):
        self._ncp.append(1)
        self._points.extend((pt1, pt2))

    def _curveToOne(self, pt1, pt2, pt3):
        self._ncp.append(2)
        self._points.extend((pt1, pt2, pt3))

    def _closePath(self):
        self._flush()

    def _endPath(self):
        self._flush()

    def _flush(self):
        if not self._ncp:
            self._points, self._ncp = [], []
            return
        points = np.asarray(self._points, dtype=np.float64)
        ncp = list(self._ncp)
        # Closed diffvg path: the last segment ends at point 0. If the
        # outline already returns to its start, drop that end point;
        # otherwise a line segment closes it.
        if np.allclose(points[-1], points[0]):
            points = points[:-1]
        else:
            ncp.append(0)
        if len(points) >= 2 or any(ncp):
            self.contours.append((np.asarray(ncp, dtype=np.int32), points))
        self._points, self._ncp = [], []

    def finish(self):
        self._flush()


# ----------------------------------------------------------------------------
# The database
# ----------------------------------------------------------------------------

_warned: set = set()
_warned_lock = threading.Lock()


def warn_once(key: str, message: str, stacklevel: int = 3):
    """warnings.warn once per process per ``key`` (used outside an SVG load)."""
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(message, stacklevel=stacklevel)


class FontDatabase:
    """Faces found in a list of folders, with CSS matching and fallback.

    dirs: folders searched recursively, in priority order.
    warn: called as warn(kind, message) for unreadable files; defaults to
        one warnings.warn per file per process.
    """

    def __init__(self, dirs: Sequence[str], warn: Optional[Callable[[str, str], None]] = None):
        self.dirs = [os.path.abspath(os.path.expanduser(d)) for d in dirs]
        self.faces: List[FaceInfo] = []
        self.by_family: Dict[str, List[FaceInfo]] = {}
        self._loaded: Dict[Tuple[str, int], Optional[Face]] = {}
        self._lock = threading.Lock()
        self._warn = warn or (lambda kind, message: warn_once(kind, message, stacklevel=5))
        seen = set()
        for folder in self.dirs:
            for path in _font_files(folder):
                real = os.path.realpath(path)
                if real in seen:
                    continue
                seen.add(real)
                self._scan(path)

    def _scan(self, path: str):
        from fontTools.ttLib import TTFont
        from fontTools.ttLib.ttCollection import TTCollection
        try:
            if path.lower().endswith((".ttc", ".otc")):
                collection = TTCollection(path, lazy=True)
                count = len(collection.fonts)
                collection.close()
            else:
                count = 1
            for index in range(count):
                font = TTFont(path, fontNumber=index, lazy=True)
                try:
                    self._add(font, path, index)
                finally:
                    font.close()
        except Exception as exc:  # fontTools raises many kinds for bad files
            self._warn("font-file:" + path, f"font file '{path}' cannot be read ({exc}); skipped")
            return exc
        return None

    def _add(self, font, path, index):
        names = font["name"]
        families = []
        for record in names.names:
            if record.nameID in (16, 1):
                try:
                    text = record.toUnicode().strip()
                except Exception:
                    continue
                if text and text.lower() not in families:
                    families.append(text.lower())
        if not families:
            families = [os.path.splitext(os.path.basename(path))[0].lower()]
        display = names.getDebugName(16) or names.getDebugName(1) or families[0]
        weight, style, stretch = 400, "normal", 5
        if "OS/2" in font:
            os2 = font["OS/2"]
            weight = int(os2.usWeightClass) or 400
            stretch = min(9, max(1, int(os2.usWidthClass) or 5))
            if os2.fsSelection & 1:
                style = "italic"
            elif os2.fsSelection & (1 << 9):
                style = "oblique"
        elif "head" in font and font["head"].macStyle & 2:
            style = "italic"
        if weight < 10:  # some fonts store 1..9
            weight *= 100
        info = FaceInfo(path, index, tuple(families), display, weight, style, stretch,
                        len(self.faces))
        self.faces.append(info)
        for name in families:
            self.by_family.setdefault(name, []).append(info)

    # -- loading ---------------------------------------------------------------
    def load(self, info: FaceInfo) -> Optional[Face]:
        key = (info.path, info.index)
        with self._lock:
            if key in self._loaded:
                return self._loaded[key]
        try:
            face = Face(info)
        except Exception as exc:
            self._warn("font-file:" + info.path,
                       f"font file '{info.path}' cannot be read ({exc}); skipped")
            face = None
        with self._lock:
            self._loaded.setdefault(key, face)
            return self._loaded[key]

    # -- matching --------------------------------------------------------------
    def resolve_family(self, name: str) -> Optional[str]:
        """A family name or generic keyword -> an installed family (lower case)."""
        low = name.strip().lower()
        if low in GENERIC_FAMILIES:
            for candidate in GENERIC_FAMILIES[low]:
                if candidate.lower() in self.by_family:
                    return candidate.lower()
            return None
        return low if low in self.by_family else None

    def match(self, families: Sequence[str], weight: int = 400, style: str = "normal",
              stretch: int = 5, warn: Optional[Callable[[str, str], None]] = None
              ) -> Optional[Face]:
        """The best face for a font-family list (CSS Fonts 4 5.2), falling
        back to the default family and then to any face. None when the
        database is empty or no face loads."""
        for name in families:
            family = self.resolve_family(name)
            if family is not None:
                face = self._best_in_family(family, weight, style, stretch)
                if face is not None:
                    return face
        fallback = self.resolve_family(DEFAULT_FAMILY) or self.resolve_family("sans-serif")
        candidates = [fallback] if fallback else []
        candidates += [f for f in self.by_family if f not in candidates]
        for family in candidates:
            face = self._best_in_family(family, weight, style, stretch)
            if face is not None:
                (warn or self._warn)("font-missing:" + ",".join(families),
                                     f"no installed font for font-family "
                                     f"'{', '.join(families)}'; using '{face.info.family}'")
                return face
        return None

    def _best_in_family(self, family: str, weight: int, style: str, stretch: int
                        ) -> Optional[Face]:
        faces = list(self.by_family.get(family, ()))
        while faces:
            info = _css_pick(faces, weight, style, stretch)
            face = self.load(info)
            if face is not None:
                return face
            faces.remove(info)
        return None

    def fallback(self, codepoint: int, exclude: Sequence[Face], like: Optional[Face]
                 ) -> Optional[Face]:
        """A face (not in ``exclude``) that has ``codepoint``; faces of the
        same style as ``like`` first, in database order."""
        excluded = {(f.info.path, f.info.index) for f in exclude}
        ordered = self.faces
        if like is not None:
            same = [f for f in ordered if f.style == like.info.style]
            ordered = same + [f for f in ordered if f.style != like.info.style]
        for info in ordered:
            if (info.path, info.index) in excluded:
                continue
            face = self.load(info)
            if face is not None and face.has_char(codepoint):
                return face
        return None


def _css_pick(faces: List[FaceInfo], weight: int, style: str, stretch: int) -> FaceInfo:
    """CSS Fonts 4, 5.2 step 4: narrow by stretch, then style, then weight."""
    # font-stretch: nearest, narrower first for <= normal, wider first otherwise
    widths = sorted({f.stretch for f in faces})
    if stretch in widths:
        best_w = stretch
    elif stretch <= 5:
        narrower = [w for w in widths if w < stretch]
        best_w = max(narrower) if narrower else min(widths)
    else:
        wider = [w for w in widths if w > stretch]
        best_w = min(wider) if wider else max(widths)
    faces = [f for f in faces if f.stretch == best_w]
    # font-style
    order = {"italic": ["italic", "oblique", "normal"], "oblique": ["oblique", "italic", "normal"],
             "normal": ["normal", "oblique", "italic"]}.get(style, ["normal", "oblique", "italic"])
    for wanted in order:
        chosen = [f for f in faces if f.style == wanted]
        if chosen:
            faces = chosen
            break
    # font-weight
    weights = sorted({f.weight for f in faces})

    def rank(w):
        if weight == w:
            return (0, 0)
        if 400 <= weight <= 500:
            if weight <= w <= 500:
                return (1, w - weight)
            if w < weight:
                return (2, weight - w)
            return (3, w - weight)
        if weight < 400:
            return (1, weight - w) if w < weight else (2, w - weight)
        return (1, w - weight) if w > weight else (2, weight - w)

    best = min(weights, key=rank)
    return min((f for f in faces if f.weight == best), key=lambda f: f.order)


def _font_files(folder: str) -> List[str]:
    out = []
    if not os.path.isdir(folder):
        return out
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(FONT_EXTENSIONS):
                out.append(os.path.join(root, name))
    return out


_databases: Dict[Tuple[str, ...], FontDatabase] = {}
_databases_lock = threading.Lock()


def font_dirs_in_force(font_dirs: Optional[Sequence[str]] = None) -> List[str]:
    """The folders searched: ``font_dirs``, then PYDIFFVG_FONT_DIRS, then
    the system's."""
    dirs = list(font_dirs or [])
    env = os.environ.get("PYDIFFVG_FONT_DIRS", "")
    dirs += [d for d in env.split(os.pathsep) if d]
    dirs += system_font_dirs()
    return dirs


def font_database(font_dirs: Optional[Sequence[str]] = None) -> FontDatabase:
    """The (cached) database for ``font_dirs`` + PYDIFFVG_FONT_DIRS + system
    folders. A font file given directly (not a folder) is added first."""
    dirs = font_dirs_in_force(font_dirs)
    key = tuple(os.path.abspath(os.path.expanduser(d)) for d in dirs)
    with _databases_lock:
        database = _databases.get(key)
        if database is None:
            database = FontDatabase(dirs)
            _databases[key] = database
        return database


def face_from_file(path: str, database: Optional[FontDatabase] = None) -> Face:
    """Load one font file (its first face) directly. Raises ValueError when
    fontTools cannot read it."""
    database = database or FontDatabase([], warn=lambda kind, message: None)
    before = len(database.faces)
    error = database._scan(path)
    if error is not None or len(database.faces) == before:
        raise ValueError(f"font file '{path}' cannot be read: {error}")
    face = database.load(database.faces[before])
    if face is None:
        raise ValueError(f"font file '{path}' cannot be read")
    return face
