"""``pydiffvg.text_to_paths``: a string -> differentiable glyph outline Paths.

One line of text is shaped with HarfBuzz (bidi runs, ligatures, kerning,
per-character font fallback) and laid out as SVG lays out a chunk of
``<text>``: the pen starts at (x, y) on the alphabetic baseline, each
cluster advances by its HarfBuzz advance times ``size / unitsPerEm``, plus
``letter_spacing`` after every cluster but the last (not in cursive
scripts) and ``word_spacing`` after word separators; ``anchor`` shifts the
line by 0, 1/2 or all of its advance.

Glyph geometry as a function of the inputs (derivation): a glyph whose
pen position is ``a`` font units after the start, with n letter gaps and m
word gaps before it, has its origin at

    origin = (x + s·a + n·letter_spacing + m·word_spacing - k·W,  y - s·b)

with s = size / unitsPerEm, b the HarfBuzz y offset, W the line's advance
(s·Σadvance + (N-1)·letter_spacing + M·word_spacing) and k = 0, 1/2, 1 for
start, middle, end; an outline point (u, v) in font units (y up) lands at
origin + s·(u, -v). Every point is therefore linear in x, y, letter_spacing
and word_spacing and in size, and the code below builds exactly this
expression with torch ops, so autograd gives the exact derivatives.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from ..shapes import Path, ShapeGroup
from .fonts import Face, FontDatabase, face_from_file, font_database, stretch_class, warn_once
from .layout import _NO_LETTER_SPACING, _in_ranges, _is_word_separator
from .shaping import shape_with_fallback

#: The most characters one call converts (bounded time and memory).
MAX_TEXT_CHARS = 20_000

_file_faces: Dict[str, Face] = {}


@dataclass
class GlyphPlacement:
    """Where one glyph went.

    text: the characters of its cluster; cluster: index of the cluster's
    first character in the string; glyph_id: the glyph in ``family``'s font;
    shapes: the slice of ``TextPaths.shapes`` holding its contours (empty
    for a space); origin: float tensor (2,), the pen position (px) on the
    baseline; advance: float, the pen advance (px) including spacing.
    """
    text: str
    cluster: int
    glyph_id: int
    family: str
    font_path: str
    shapes: slice
    origin: torch.Tensor
    advance: float


@dataclass
class TextPaths:
    """The result of :func:`text_to_paths`.

    shapes: list of closed :class:`pydiffvg.Path`, one per glyph contour,
        in canvas pixels (y down), float32 points on ``device``.
    glyphs: one :class:`GlyphPlacement` per glyph, in visual order.
    advance: float tensor (), the line's total advance in px.
    ascent, descent: the first font's ascent and descent in px (descent < 0).
    """
    shapes: List[Path]
    glyphs: List[GlyphPlacement]
    advance: torch.Tensor
    ascent: float
    descent: float

    def shape_group(self, fill_color=None, stroke_color=None, shape_to_canvas=None,
                    offset: int = 0) -> ShapeGroup:
        """One ShapeGroup over all shapes (nonzero fill rule, as SVG text);
        ``offset`` is the index of ``shapes[0]`` in the list you render."""
        if fill_color is None and stroke_color is None:
            fill_color = torch.tensor([0.0, 0.0, 0.0, 1.0])
        ids = torch.arange(offset, offset + len(self.shapes), dtype=torch.int32)
        return ShapeGroup(ids, fill_color, use_even_odd_rule=False, stroke_color=stroke_color,
                          shape_to_canvas=shape_to_canvas)


def _resolve_face(font: str, weight: int, style: str, stretch: int, database: FontDatabase
                  ) -> Face:
    if os.path.isfile(font):
        path = os.path.abspath(font)
        face = _file_faces.get(path)
        if face is None:
            try:
                face = face_from_file(path)
            except ValueError as exc:
                raise ValueError(f"text_to_paths(): font: {exc}") from None
            _file_faces[path] = face
        return face
    from .svg import parse_families
    families = parse_families(font) or ["sans-serif"]
    face = database.match(families, weight, style, stretch)
    if face is None:
        raise ValueError("text_to_paths(): no fonts were found; pass font= a font file, or "
                         "font_dirs=, or set PYDIFFVG_FONT_DIRS")
    return face


def _number(value, name):
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"text_to_paths(): {name} must be a scalar, got shape "
                             f"{tuple(value.shape)}")
        if not torch.isfinite(value.detach()).all():
            raise ValueError(f"text_to_paths(): {name} must be finite, got {value}")
        return value.reshape(())
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"text_to_paths(): {name} must be a number or a tensor, got "
                        f"{type(value).__name__}") from None
    if not math.isfinite(number):
        raise ValueError(f"text_to_paths(): {name} must be finite, got {number}")
    return number


def text_to_paths(text: str, font: str = "sans-serif", size=48.0, x=0.0, y=0.0,
                  letter_spacing=0.0, word_spacing=0.0, anchor: str = "start",
                  weight: int = 400, style: str = "normal", stretch="normal",
                  features: Optional[Dict[str, bool]] = None,
                  variations: Optional[Dict[str, float]] = None,
                  font_dirs: Optional[Sequence[str]] = None,
                  device: Optional[Union[str, torch.device]] = None) -> TextPaths:
    """Convert one line of text into glyph outline Paths.

    text: str, at most ``MAX_TEXT_CHARS`` characters (ValueError beyond).
    font: a font file path (.ttf/.otf/.ttc), or a CSS font-family list such
        as ``"Noto Sans, sans-serif"`` matched against the fonts found in
        ``font_dirs``, ``PYDIFFVG_FONT_DIRS`` and the system folders. A
        family that is not installed falls back to the default family with
        one warning per family per process; characters the font lacks come
        from another installed font that has them.
    size: font size in px (float or scalar tensor), > 0.
    x, y: the start of the baseline in px (floats or scalar tensors).
    letter_spacing, word_spacing: extra advance in px (floats or scalar
        tensors), as CSS letter-spacing and word-spacing.
    anchor: "start", "middle" or "end" (SVG text-anchor).
    weight, style ("normal" | "italic" | "oblique"), stretch (CSS keyword or
        percentage): face selection within the family.
    features: HarfBuzz features, e.g. ``{"kern": False, "liga": False}``.
    variations: variable-font axes, e.g. ``{"wght": 700}``.
    device: where the points go (default: the device of a tensor argument,
        else CPU).

    Returns a :class:`TextPaths`: ``shapes`` (closed Paths, one per contour,
    float32 points (N, 2) in px, y down) and ``glyphs`` (placements).

    Gradients: when none of size, x, y, letter_spacing, word_spacing is a
    tensor that requires grad, every path's ``points`` is a fresh leaf
    tensor: call ``requires_grad_()`` on it to optimise the outline
    directly (Word-As-Image). When some of them require grad, the points
    are differentiable (non-leaf) functions of them, built as the exact
    linear expression in the module docstring, so a loss on the rendered
    image back-propagates to the position, size and spacing.
    """
    if not isinstance(text, str):
        raise TypeError(f"text_to_paths(): text must be a str, got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text_to_paths(): text has {len(text)} characters, more than the "
                         f"limit of {MAX_TEXT_CHARS}")
    if anchor not in ("start", "middle", "end"):
        raise ValueError(f"text_to_paths(): anchor must be 'start', 'middle' or 'end', got "
                         f"{anchor!r}")
    if not isinstance(font, (str, os.PathLike)):
        raise TypeError(f"text_to_paths(): font must be a path or a family list, got "
                        f"{type(font).__name__}")
    values = {"size": _number(size, "size"), "x": _number(x, "x"), "y": _number(y, "y"),
              "letter_spacing": _number(letter_spacing, "letter_spacing"),
              "word_spacing": _number(word_spacing, "word_spacing")}
    size_value = float(values["size"].detach() if isinstance(values["size"], torch.Tensor)
                       else values["size"])
    if not size_value > 0:
        raise ValueError(f"text_to_paths(): size must be > 0, got {size_value}")
    tensors = [v for v in values.values() if isinstance(v, torch.Tensor)]
    if device is None:
        device = tensors[0].device if tensors else torch.device("cpu")
    device = torch.device(device)
    database = font_database(font_dirs)
    face = _resolve_face(os.fspath(font), int(weight), style, stretch_class(stretch), database)
    warn = lambda kind, message: warn_once(kind + ":" + message, message, stacklevel=4)
    glyphs = shape_with_fallback(text, face, database, features or {}, variations, warn)

    # Per glyph, in font units / counts: pen position a, y offset b, gaps n, m.
    pen = 0.0
    letters = words = 0
    clusters = sorted({g.cluster for g in glyphs})
    last_cluster = None
    records = []
    for glyph in glyphs:
        if last_cluster is not None and glyph.cluster != last_cluster:
            char = ord(text[last_cluster])
            if not _in_ranges(char, _NO_LETTER_SPACING):
                letters += 1
            if _is_word_separator(char):
                words += 1
        last_cluster = glyph.cluster
        scale_units = 1.0 / glyph.face.units_per_em
        records.append((glyph, pen + glyph.x_offset * scale_units,
                        glyph.y_offset * scale_units, letters, words))
        pen += glyph.x_advance * scale_units
    total_em = pen
    visual = [g.cluster for i, g in enumerate(glyphs) if i == 0 or glyphs[i - 1].cluster != g.cluster]
    gaps_letters = sum(1 for c in visual[:-1] if not _in_ranges(ord(text[c]), _NO_LETTER_SPACING))
    gaps_words = sum(1 for c in visual if _is_word_separator(ord(text[c])))

    # Outline points of all glyphs, in em (y up), with the glyph each belongs to.
    contour_sizes, ncps, em_points, owner = [], [], [], []
    slices = []
    for index, (glyph, _, _, _, _) in enumerate(records):
        first = len(ncps)
        inv = 1.0 / glyph.face.units_per_em
        for ncp, points in glyph.face.outline(glyph.glyph_id, glyph.variations):
            ncps.append(ncp)
            em_points.append(points * inv)
            contour_sizes.append(len(points))
            owner.append(np.full(len(points), index, dtype=np.int64))
        slices.append(slice(first, len(ncps)))

    anchor_k = {"start": 0.0, "middle": 0.5, "end": 1.0}[anchor]
    table = np.array([[r[1], r[2], r[3], r[4]] for r in records], dtype=np.float64).reshape(-1, 4)
    differentiable = any(t.requires_grad for t in tensors)
    dtype = torch.float32

    def as_tensor(value):
        if isinstance(value, torch.Tensor):
            return value.to(device=device, dtype=dtype)
        return torch.tensor(value, device=device, dtype=dtype)

    with torch.set_grad_enabled(differentiable):
        s = as_tensor(values["size"])
        ls, ws = as_tensor(values["letter_spacing"]), as_tensor(values["word_spacing"])
        width = s * total_em + ls * gaps_letters + ws * gaps_words
        pen_em = torch.as_tensor(table[:, 0], dtype=dtype, device=device)
        drop_em = torch.as_tensor(table[:, 1], dtype=dtype, device=device)
        n_letters = torch.as_tensor(table[:, 2], dtype=dtype, device=device)
        n_words = torch.as_tensor(table[:, 3], dtype=dtype, device=device)
        origin_x = as_tensor(values["x"]) + s * pen_em + ls * n_letters + ws * n_words \
            - anchor_k * width
        origin_y = as_tensor(values["y"]) - s * drop_em
        origins = torch.stack([origin_x, origin_y], dim=-1).reshape(-1, 2)
        shapes: List[Path] = []
        if em_points:
            em = torch.as_tensor(np.concatenate(em_points), dtype=dtype, device=device)
            index = torch.as_tensor(np.concatenate(owner), device=device)
            flip = torch.tensor([1.0, -1.0], dtype=dtype, device=device)
            points = origins.index_select(0, index) + s * em * flip
            pieces = torch.split(points, contour_sizes)
            for ncp, piece in zip(ncps, pieces):
                piece = piece if differentiable else piece.detach().clone()
                shapes.append(Path(torch.from_numpy(ncp).to(device), piece, True))
    placements = []
    xs = origins[:, 0].detach().cpu().double().numpy()
    # the line ends one advance after its start (origin of glyph 0 less its x offset)
    end_x = float(xs[0] - table[0, 0] * size_value + float(width.detach())) if records else 0.0
    for index, (glyph, _, _, _, _) in enumerate(records):
        advance = float((xs[index + 1] if index + 1 < len(records) else end_x) - xs[index])
        start = glyph.cluster
        ends = [c for c in clusters if c > start]
        placements.append(GlyphPlacement(
            text[start:ends[0] if ends else len(text)], start, glyph.glyph_id,
            glyph.face.info.family, glyph.face.info.path, slices[index],
            origins[index] if differentiable else origins[index].detach().clone(), advance))
    upem = face.units_per_em
    return TextPaths(shapes, placements, width if differentiable else width.detach(),
                     face.ascent * size_value / upem, face.descent * size_value / upem)
