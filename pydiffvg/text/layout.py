"""SVG text layout: chunks of shaped glyph clusters -> glyph transforms.

The model follows SVG 2's text layout (11.8) in the form resvg implements
it, so that files render as its reference images do:

* a *chunk* starts at every character with an absolute x or y, at the
  start of a ``textPath`` and right after one; each chunk is shaped as a
  whole (so bidi runs and ligatures cross ``tspan`` borders) once per font
  its spans use, and each span takes the clusters of its characters from
  its own font's shaping;
* per cluster: letter-spacing after every cluster but the chunk's last (not
  for cursive scripts), word-spacing after word separators, textLength
  (``spacing`` spreads the difference over the gaps, ``spacingAndGlyphs``
  scales the chunk horizontally), then dx/dy and rotate per character;
* text-anchor shifts the chunk by 0, -1/2 or -1 times its advance;
* baseline: baseline-shift (sub, super, a length or a percentage of the
  font size, summed over the span's ancestors up to the text), then
  dominant-baseline or alignment-baseline from the font's metrics with
  Chrome's fixed ratios (hanging 0.8 ascent, mathematical 0.5 ascent,
  middle 0.5 x-height, central the middle of the em box);
* vertical writing mode rotates the chunk 90 degrees about its start;
  upright characters (CJK and the like) are turned back upright;
* on a ``textPath`` each cluster's middle is put at its distance along the
  path, rotated to the path's tangent; clusters beyond either end are
  hidden.

A glyph's outline (font units, y up) maps to user space by
``span_ts · cluster_ts · scale(size / unitsPerEm) · translate(offset) ·
scale(1, -1)``.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..svg.units import rotate, scale, translate
from .fonts import Face, FontDatabase
from .shaping import Glyph, shape_with_fallback


def rotate_at(degrees: float, cx: float, cy: float) -> np.ndarray:
    return translate(cx, cy) @ rotate(degrees) @ translate(-cx, -cy)


@dataclass
class Span:
    """Characters [start, end) of a chunk sharing one style."""
    start: int
    end: int
    face: Face
    font_size: float
    variations: Dict[str, float] = field(default_factory=dict)
    features: Dict[str, bool] = field(default_factory=dict)
    letter_spacing: float = 0.0
    word_spacing: float = 0.0
    baseline_shift: List[Any] = field(default_factory=list)  # "sub" | "super" | float
    dominant_baseline: str = "auto"
    alignment_baseline: str = "auto"
    text_length: Optional[float] = None
    length_adjust: str = "spacing"
    visible: bool = True
    decorations: Dict[str, Any] = field(default_factory=dict)  # name -> paint payload
    payload: Any = None  # the caller's style record (paints)


@dataclass
class PathFlow:
    """A textPath: its segments measured as resvg measures them
    (``arclength.ResvgPath``) and the start offset in user units."""
    measure: Any
    start_offset: float

    @property
    def length(self) -> float:
        return self.measure.length


@dataclass
class Chunk:
    text: str
    x: Optional[float]
    y: Optional[float]
    anchor: str
    spans: List[Span]
    offset: int                      # index of the chunk's first char in the text
    path: Optional[PathFlow] = None


@dataclass
class Cluster:
    index: int                       # chunk-local char index of its first char
    codepoint: int
    span: Span
    glyphs: List[Tuple[Glyph, float, float]]  # glyph, x offset, y offset (font units)
    width: float
    advance: float
    ascent: float
    descent: float
    transform: np.ndarray = field(default_factory=lambda: np.eye(3))
    path_transform: np.ndarray = field(default_factory=lambda: np.eye(3))
    has_relative_shift: bool = False
    visible: bool = True

    def full_transform(self) -> np.ndarray:
        return self.transform @ self.path_transform


@dataclass
class PlacedGlyph:
    face: Face
    glyph_id: int
    variations: Tuple
    matrix: np.ndarray               # (3, 3): font units (y up) -> user space


@dataclass
class SpanResult:
    span: Span
    glyphs: List[PlacedGlyph]
    decorations: Dict[str, List[np.ndarray]]  # name -> rectangles as (4, 2) corners


@dataclass
class TextLayout:
    spans: List[SpanResult]
    bbox: Optional[Tuple[float, float, float, float]]


# ----------------------------------------------------------------------------
# Metrics helpers
# ----------------------------------------------------------------------------

def _px(face: Face, size: float, value: float) -> float:
    return value * size / face.units_per_em


def alignment_shift(face: Face, size: float, baseline: str) -> float:
    """Chrome's fixed baseline table (resvg does the same): the baseline's
    height above the alphabetic one, in px."""
    ascent, descent = _px(face, size, face.ascent), _px(face, size, face.descent)
    table = {
        "before-edge": ascent, "text-before-edge": ascent,
        "middle": _px(face, size, face.x_height) * 0.5,
        "central": ascent - (ascent - descent) * 0.5,
        "after-edge": descent, "text-after-edge": descent,
        "ideographic": descent, "hanging": ascent * 0.8,
        "mathematical": ascent * 0.5,
    }
    return table.get(baseline, 0.0)


def baseline_offset(span: Span, vertical: bool) -> float:
    """The y shift of a span's glyphs (px, y down)."""
    shift = 0.0
    for item in reversed(span.baseline_shift):
        if item == "sub":
            shift -= _px(span.face, span.font_size, span.face.subscript_offset)
        elif item == "super":
            shift += _px(span.face, span.font_size, span.face.superscript_offset)
        else:
            shift += float(item)
    offset = -shift
    if not vertical:
        if span.alignment_baseline in ("auto", "baseline"):
            dominant = span.dominant_baseline
            dominant = {"use-script": "auto", "no-change": "auto", "reset-size": "auto"}.get(
                dominant, dominant)
            offset += alignment_shift(span.face, span.font_size, dominant)
        else:
            offset += alignment_shift(span.face, span.font_size, span.alignment_baseline)
    return offset


_NO_LETTER_SPACING = [(0x0600, 0x06FF), (0x0700, 0x074F), (0x0750, 0x077F), (0x07C0, 0x07FF),
                      (0x0840, 0x085F), (0x08A0, 0x08FF), (0x0900, 0x0A7F), (0x1680, 0x169F),
                      (0x1800, 0x18AF), (0xA840, 0xA87F), (0xA800, 0xA82F), (0xFB50, 0xFDFF),
                      (0xFE70, 0xFEFF), (0x10AC0, 0x10AFF), (0x10B80, 0x10BAF),
                      (0x11080, 0x110CF), (0x11180, 0x111DF), (0x11480, 0x114DF),
                      (0x11600, 0x1165F)]
#: Characters whose Unicode Vertical_Orientation is U (upright); the
#: transformed ones (Tu, Tr: CJK punctuation, brackets, small kana) are
#: turned sideways with the rest, as resvg does.
_UPRIGHT = [(0x1100, 0x11FF), (0x2E80, 0x2FFF), (0x3000, 0x303F), (0x3040, 0x31FF),
            (0x3200, 0xA4CF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFE10, 0xFE1F),
            (0xFE30, 0xFE4F), (0xFF00, 0xFF60), (0xFFE0, 0xFFE7), (0x1F000, 0x1FAFF),
            (0x20000, 0x3FFFD), (0x00A7, 0x00A7), (0x00A9, 0x00A9), (0x00AE, 0x00AE),
            (0x00B1, 0x00B1), (0x00BC, 0x00BE), (0x00D7, 0x00D7), (0x00F7, 0x00F7)]


_TRANSFORMED = set([0x3001, 0x3002, 0x3030, 0x30A0, 0x30FC, 0xFF08, 0xFF09, 0xFF0C, 0xFF0E,
                    0xFF1A, 0xFF1B, 0xFF1F, 0xFF3B, 0xFF3D, 0xFF3F, 0xFFE3]
                   + list(range(0x3008, 0x3012)) + list(range(0x3014, 0x3020))
                   + list(range(0xFF5B, 0xFF61)) + list(range(0x31F0, 0x3200))
                   + [0x3041, 0x3043, 0x3045, 0x3047, 0x3049, 0x3063, 0x3083, 0x3085, 0x3087,
                      0x308E, 0x3095, 0x3096, 0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9, 0x30C3,
                      0x30E3, 0x30E5, 0x30E7, 0x30EE, 0x30F5, 0x30F6])


def is_upright(codepoint: int) -> bool:
    return codepoint not in _TRANSFORMED and _in_ranges(codepoint, _UPRIGHT)


def _in_ranges(codepoint: int, ranges) -> bool:
    return any(low <= codepoint <= high for low, high in ranges)


def _is_word_separator(codepoint: int) -> bool:
    return codepoint in (0x20, 0xA0, 0x1361, 0x10100, 0x10101, 0x1039F, 0x1091F)


# ----------------------------------------------------------------------------
# Shaping a chunk
# ----------------------------------------------------------------------------

def _span_at(chunk: Chunk, index: int) -> Optional[Span]:
    for span in chunk.spans:
        if span.start <= index < span.end:
            return span
    return None


def _font_key(span: Span):
    return (id(span.face), tuple(sorted(span.variations.items())),
            tuple(sorted(span.features.items())))


def shape_chunk(chunk: Chunk, database: Optional[FontDatabase], warn) -> List[Cluster]:
    """Clusters of the chunk in visual order, each from its span's font."""
    shaped: Dict[Any, List[Tuple[int, List[Glyph]]]] = {}
    base = None
    for span in chunk.spans:
        key = _font_key(span)
        if key in shaped:
            continue
        glyphs = shape_with_fallback(chunk.text, span.face, database, span.features,
                                     span.variations, warn)
        groups: List[Tuple[int, List[Glyph]]] = []
        for glyph in glyphs:
            if groups and groups[-1][0] == glyph.cluster:
                groups[-1][1].append(glyph)
            else:
                groups.append((glyph.cluster, [glyph]))
        shaped[key] = groups
        if base is None:
            base = key
    if base is None:
        return []
    # per font: cluster start -> (glyphs, end, visual position); end = the
    # next cluster start in logical order
    lookup, starts_of = {}, {}
    for key, groups in shaped.items():
        starts = sorted({start for start, _ in groups})
        following = dict(zip(starts, starts[1:] + [len(chunk.text)]))
        lookup[key] = {start: (glyphs, following[start], position)
                       for position, (start, glyphs) in enumerate(groups)}
        starts_of[key] = starts
    base_starts = starts_of[base]
    base_end = dict(zip(base_starts, base_starts[1:] + [len(chunk.text)]))
    picked: List[Tuple[int, Span, List[Glyph]]] = []
    covered_until: Dict[Any, int] = {}  # font key -> end of its last cluster used
    for index, base_glyphs in shaped[base]:
        span = _span_at(chunk, index)
        if span is None:
            continue
        key = _font_key(span)
        if key == base:
            picked.append((index, span, base_glyphs))
            continue
        # the span font's clusters that start inside this base cluster, in
        # that font's visual order (a ligature may instead cover several
        # base clusters: those are then skipped)
        low, high = index, base_end[index]
        starts = starts_of[key]
        lo = bisect.bisect_left(starts, low)
        hi = bisect.bisect_left(starts, high)
        inside = sorted((lookup[key][st] + (st,) for st in starts[lo:hi]
                         if span.start <= st < span.end), key=lambda e: e[2])
        if inside:
            for glyphs, end_char, _, st in inside:
                picked.append((st, span, glyphs))
                covered_until[key] = max(covered_until.get(key, -1), end_char)
        elif covered_until.get(key, -1) <= index:
            picked.append((index, span, base_glyphs))
    clusters = []
    for index, span, glyphs in picked:
        size = span.font_size
        x, width, advance = 0.0, 0.0, 0.0
        placed = []
        for glyph in glyphs:
            placed.append((glyph, x + glyph.x_offset, glyph.y_offset))
            x += glyph.x_advance
            glyph_width = _px(glyph.face, size, glyph.x_advance)
            advance += glyph_width
            width = max(width, glyph_width)
        face = glyphs[0].face
        clusters.append(Cluster(index, ord(chunk.text[index]), span, placed, width, advance,
                                _px(face, size, face.ascent), _px(face, size, face.descent)))
    return clusters


# ----------------------------------------------------------------------------
# Spacing, lengthAdjust, writing mode
# ----------------------------------------------------------------------------

def apply_writing_mode(clusters: List[Cluster]):
    for cluster in clusters:
        middle = (cluster.ascent + cluster.descent) / 2.0
        if is_upright(cluster.codepoint):
            # centre the glyph on the vertical axis, then turn it upright
            cluster.path_transform = translate(0.0, middle) @ rotate_at(
                -90.0, cluster.width / 2.0, -middle)
            cluster.ascent, cluster.descent = cluster.width / 2.0, -cluster.width / 2.0
        else:
            cluster.transform = cluster.transform @ translate(0.0, middle)


def apply_spacing(clusters: List[Cluster]):
    if any(c.span.letter_spacing != 0.0 for c in clusters):
        last = len(clusters) - 1
        for i, cluster in enumerate(clusters):
            if _in_ranges(cluster.codepoint, _NO_LETTER_SPACING):
                continue
            if i != last:
                cluster.advance += cluster.span.letter_spacing
            if cluster.advance < 0.0 or not math.isfinite(cluster.advance):
                cluster.width, cluster.advance, cluster.glyphs = 0.0, 0.0, []
    if any(c.span.word_spacing != 0.0 for c in clusters):
        for cluster in clusters:
            if _is_word_separator(cluster.codepoint):
                cluster.advance += cluster.span.word_spacing


def apply_length_adjust(chunk: Chunk, clusters: List[Cluster]):
    for span in chunk.spans:
        if span.text_length is None:
            continue
        members = [c for c in clusters if span.start <= c.index < span.end]
        if not members:
            continue
        width = sum(c.width for c in members)
        if span.length_adjust == "spacing":
            gap = (span.text_length - width) / (len(members) - 1) if len(members) > 1 else 0.0
            for cluster in members:
                cluster.advance = cluster.width + gap
        else:
            factor = span.text_length / width if width > 0 else 0.0
            if factor < 0.001:
                continue
            for cluster in members:
                cluster.transform = cluster.transform @ scale(factor, 1.0)
                if chunk.path is not None:
                    cluster.advance *= factor
                    cluster.width *= factor


def anchor_shift(anchor: str, length: float) -> float:
    return {"middle": -length / 2.0, "end": -length}.get(anchor, 0.0)


# ----------------------------------------------------------------------------
# Positions
# ----------------------------------------------------------------------------

def _get(values: Sequence[float], index: int) -> Optional[float]:
    return values[index] if 0 <= index < len(values) else None


def position_linear(chunk: Chunk, clusters: List[Cluster], dx, dy, rotations,
                    vertical: bool) -> Tuple[float, float]:
    x = anchor_shift(chunk.anchor, sum(c.advance for c in clusters))
    y = 0.0
    for cluster in clusters:
        char = chunk.offset + cluster.index
        ddx, ddy = _get(dx, char), _get(dy, char)
        if ddx is not None and ddy is not None:
            if vertical:
                y -= ddx
                x += ddy
            else:
                x += ddx
                y += ddy
            cluster.has_relative_shift = ddx != 0.0 or ddy != 0.0
        cluster.transform = cluster.transform @ translate(x, y)
        angle = _get(rotations, char)
        if angle:
            cluster.transform = cluster.transform @ rotate(angle)
            cluster.has_relative_shift = True
        x += cluster.advance
    return x, y


def position_on_path(chunk: Chunk, clusters: List[Cluster], dx, dy, rotations,
                     vertical: bool) -> Tuple[float, float]:
    flow = chunk.path
    start = (chunk.x if not vertical else chunk.y) or 0.0
    start += flow.start_offset + anchor_shift(chunk.anchor, sum(c.advance for c in clusters))
    # arc length at each cluster's middle
    offsets, advance = [], start
    for cluster in clusters:
        advance += _get(dx, chunk.offset + cluster.index) or 0.0
        offsets.append(advance + cluster.width / 2.0)
        advance += cluster.advance
    placements = flow.measure.place(offsets)
    last = (0.0, 0.0)
    acc_dy = 0.0
    for cluster, placement in zip(clusters, placements):
        if placement is None:
            cluster.visible = False
            continue
        point, angle = placement
        cluster.has_relative_shift = True
        original = cluster.transform
        half = cluster.width / 2.0
        transform = translate(point[0] - half, point[1]) @ rotate_at(angle, half, 0.0)
        char = chunk.offset + cluster.index
        acc_dy += _get(dy, char) or 0.0
        shift = baseline_offset(cluster.span, vertical)
        if acc_dy != 0.0 or shift != 0.0:
            transform = transform @ translate(0.0, acc_dy + shift)
        angle = _get(rotations, char)
        if angle:
            transform = transform @ rotate(angle)
        cluster.transform = transform @ original
        last = (point[0] + cluster.advance, point[1])
    return last


# ----------------------------------------------------------------------------
# The whole text
# ----------------------------------------------------------------------------

def layout_text(chunks: List[Chunk], dx, dy, rotations, vertical: bool,
                database: Optional[FontDatabase], warn) -> TextLayout:
    """Lay out the chunks of one text element (see the module docstring)."""
    results: List[SpanResult] = []
    last_x = last_y = 0.0
    boxes = []
    for chunk in chunks:
        if chunk.path is None:
            x = chunk.x if chunk.x is not None else last_x
            y = chunk.y if chunk.y is not None else last_y
        else:
            x = y = 0.0
        clusters = shape_chunk(chunk, database, warn)
        if not clusters:
            continue
        if vertical:
            apply_writing_mode(clusters)
        apply_spacing(clusters)
        apply_length_adjust(chunk, clusters)
        if chunk.path is None:
            position = position_linear(chunk, clusters, dx, dy, rotations, vertical)
        else:
            position = position_on_path(chunk, clusters, dx, dy, rotations, vertical)
        text_ts = rotate_at(90.0, x, y) if vertical and chunk.path is None else np.eye(3)
        for span in chunk.spans:
            span_ts = text_ts @ translate(x, y)
            if chunk.path is None:
                span_ts = span_ts @ translate(0.0, baseline_offset(span, vertical))
            members = [c for c in clusters if span.start <= c.index < span.end]
            if not members:
                continue
            placed = []
            for cluster in members:
                if not cluster.visible:
                    continue
                cluster_ts = span_ts @ cluster.full_transform()
                box = np.array([[0.0, -cluster.ascent], [max(cluster.advance, 1.0), -cluster.ascent],
                                [max(cluster.advance, 1.0), -cluster.descent],
                                [0.0, -cluster.descent]])
                boxes.append(box @ cluster_ts[:2, :2].T + cluster_ts[:2, 2])
                for glyph, ox, oy in cluster.glyphs:
                    s = span.font_size / glyph.face.units_per_em
                    matrix = cluster_ts @ scale(s, s) @ translate(ox, -oy) @ scale(1.0, -1.0)
                    placed.append(PlacedGlyph(glyph.face, glyph.glyph_id, glyph.variations,
                                              matrix))
            decorations = _decorations(span, clusters, span_ts, vertical)
            results.append(SpanResult(span, placed, decorations))
        if vertical and chunk.path is None:
            position = (position[1], position[0])
        last_x, last_y = x + position[0], y + position[1]
    bbox = None
    if boxes:
        stacked = np.concatenate(boxes)
        bbox = (float(stacked[:, 0].min()), float(stacked[:, 1].min()),
                float(stacked[:, 0].max()), float(stacked[:, 1].max()))
    return TextLayout(results, bbox)


def _decorations(span: Span, clusters: List[Cluster], span_ts: np.ndarray, vertical: bool
                 ) -> Dict[str, List[np.ndarray]]:
    """Underline, overline and line-through as rectangles (font metrics:
    post.underlinePosition/Thickness, OS/2 yStrikeoutPosition, ascent)."""
    if not span.decorations:
        return {}
    # runs of the span's clusters, broken where a character is moved alone
    runs, current = [], None
    for cluster in clusters:
        inside = span.start <= cluster.index < span.end
        if inside:
            if current is not None and cluster.has_relative_shift:
                runs.append(current)
                current = None
            if current is None:
                current = [cluster.advance, cluster.transform]
            else:
                current[0] += cluster.advance
        elif current is not None:
            runs.append(current)
            current = None
    if current is not None:
        runs.append(current)
    face, size = span.face, span.font_size
    thickness = _px(face, size, face.underline_thickness)
    height = _px(face, size, face.ascent - face.descent)
    offsets = {
        "underline": height / 2.0 if vertical else -_px(face, size, face.underline_position),
        "overline": -height / 2.0 if vertical else -_px(face, size, face.ascent),
        "line-through": 0.0 if vertical else -_px(face, size, face.line_through_position),
    }
    out = {}
    for name in span.decorations:
        rects = []
        for width, transform in runs:
            if width <= 0 or thickness <= 0:
                continue
            corners = np.array([[0.0, -thickness / 2.0], [width, -thickness / 2.0],
                                [width, thickness / 2.0], [0.0, thickness / 2.0]])
            matrix = span_ts @ transform @ translate(0.0, offsets[name])
            rects.append(corners @ matrix[:2, :2].T + matrix[:2, 2])
        if rects:
            out[name] = rects
    return out


def glyph_contours(glyph: PlacedGlyph) -> List[Tuple[np.ndarray, np.ndarray]]:
    """The glyph's closed contours in user space: (num_control_points,
    points (N, 2) float64) pairs."""
    matrix = glyph.matrix
    out = []
    for ncp, points in glyph.face.outline(glyph.glyph_id, glyph.variations):
        out.append((ncp, points @ matrix[:2, :2].T + matrix[:2, 2]))
    return out
