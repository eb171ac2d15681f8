"""Shape elements -> pydiffvg shapes and groups: each shape's geometry, its
fill and stroke paints, stroke widths, caps, joins and dashes, and the
groups they go into. ``ShapeEmitter`` is the half of the SVG loader
(``parser._Loader``) that draws; the loader walks the document and calls
``emit_shape`` for every shape element (see parser.py for what each element
becomes)."""
from __future__ import annotations

import math
import re
from typing import List, Tuple

import numpy as np
import torch

from ..layers import Layer
from ..shapes import Circle, Ellipse, LineCap, LineJoin, Path, Polygon, Rect, ShapeGroup
from . import context, markers, masking, paints, patterns
from .errors import SVGError
from .paths import (Subpath, TooManyDashes, bbox_side, clip_subpaths, dash_subpaths, ellipse_subpath,
                    parse_path_data, rounded_rect_subpath, straighten_flat_curves, subpaths_bbox)
from .units import UnitError, parse_length

_PAINT_URL = re.compile(r"^\s*url\(\s*(['\"]?)#([^'\")\s]*)\1\s*\)\s*(.*)$", re.DOTALL)


class ShapeEmitter:
    """The drawing half of the SVG loader (a mixin of parser._Loader)."""

    def geometry(self, elem, tag, viewport):
        """(kind, parameters, subpaths) in user units, or None when the SVG
        spec says the element is not rendered."""
        vw, vh = viewport
        diag = math.sqrt((vw * vw + vh * vh) / 2.0)
        if tag == "circle":
            cx, cy = self.length(elem, "cx", vw), self.length(elem, "cy", vh)
            r = self.length(elem, "r", diag)
            if r < 0:
                self.fail(elem, f"negative radius {r}")
            if r <= 0:
                return None
            return "circle", (cx, cy, r), [ellipse_subpath(cx, cy, r, r)]
        if tag == "ellipse":
            cx, cy = self.length(elem, "cx", vw), self.length(elem, "cy", vh)
            rx = self.length(elem, "rx", vw, "auto") if elem.get("rx") not in (None, "auto") else None
            ry = self.length(elem, "ry", vh, "auto") if elem.get("ry") not in (None, "auto") else None
            # SVG 2 (geometry properties): a negative rx/ry is invalid, so it
            # is ignored and the property is 'auto' (the other radius), as
            # for rect
            rx = None if rx is not None and rx < 0 else rx
            ry = None if ry is not None and ry < 0 else ry
            rx, ry = (rx if rx is not None else ry), (ry if ry is not None else rx)
            if rx is None or rx <= 0 or ry <= 0:
                return None
            return "ellipse", (cx, cy, rx, ry), [ellipse_subpath(cx, cy, rx, ry)]
        if tag == "rect":
            x, y = self.length(elem, "x", vw), self.length(elem, "y", vh)
            w, h = self.length(elem, "width", vw), self.length(elem, "height", vh)
            if w < 0 or h < 0:
                self.fail(elem, f"negative width/height {w} x {h}")
                return None
            if w == 0 or h == 0:
                return None
            rx = self.length(elem, "rx", vw) if elem.get("rx") not in (None, "auto") else None
            ry = self.length(elem, "ry", vh) if elem.get("ry") not in (None, "auto") else None
            rx = None if rx is not None and rx < 0 else rx
            ry = None if ry is not None and ry < 0 else ry
            rx, ry = (rx if rx is not None else ry), (ry if ry is not None else rx)
            rx, ry = min(rx or 0.0, w / 2.0), min(ry or 0.0, h / 2.0)
            if rx > 0 and ry > 0:
                subpath = rounded_rect_subpath(x, y, w, h, rx, ry)
                return "path", None, [subpath]
            corners = [(x + w, y), (x + w, y + h), (x, y + h), (x, y)]
            return "rect", (x, y, w, h), [Subpath((x, y), [(p,) for p in corners], True)]
        if tag == "line":
            p0 = (self.length(elem, "x1", vw), self.length(elem, "y1", vh))
            p1 = (self.length(elem, "x2", vw), self.length(elem, "y2", vh))
            return "polyline", [p0, p1], [Subpath(p0, [(p1,)], False)]
        if tag in ("polyline", "polygon"):
            text = elem.get("points") or ""
            numbers = re.findall(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|\S", text.replace(",", " "))
            values = []
            for token in numbers:  # render up to the first error (SVG 1.1 F.2)
                try:
                    value = float(token)
                except ValueError:
                    break
                if not math.isfinite(value) or abs(value) > 1e15:
                    self.fail(elem, f"points: number '{token}' out of range")
                    break  # drawn up to the error
                values.append(value)
            points = list(zip(values[0::2], values[1::2]))
            if len(points) < 2:
                return None
            closed = tag == "polygon"
            return tag, points, [Subpath(points[0], [(p,) for p in points[1:]], closed)]
        # path
        subpaths, error = parse_path_data(elem.get("d") or "")
        if error is not None:
            if self.strict:
                raise SVGError(f"{self.describe(elem)}: {error}")
            self.warn("path-data", f"{self.describe(elem)}: {error}; rendering up to the error")
        if not subpaths:
            return None
        return "path", None, subpaths

    def paint(self, value: str, style, bbox, viewport, alpha, elem, extent=None):
        value = value.strip()
        low = value.lower()
        if low == "none":
            return None
        match = _PAINT_URL.match(value)
        if match:
            # The fallback colour is used when the reference is invalid: a
            # missing element, one that is not a paint server, or a gradient
            # that cannot paint (no stops, or objectBoundingBox units on an
            # empty box); without a fallback the paint is none.
            target = self.ids.get(match.group(2))
            fallback = match.group(3).strip()
            if target is not None and self.local_tag(target) in ("linearGradient", "radialGradient"):
                server = paints.gradient_paint(self, target, bbox, viewport, alpha,
                                               self.describe(target), extent)
                if server is not None:
                    return server
            if target is not None and self.local_tag(target) == "pattern" and patterns.usable(self, target, bbox):
                return patterns.PatternRef(target, bbox, viewport, alpha)
            if not fallback:
                return None
            value = fallback
            if fallback.lower() == "none":
                return None
        color = self.resolve_color(value, style)
        if color is None:
            return None
        return torch.tensor([color[0], color[1], color[2], color[3] * alpha], dtype=torch.float32)

    def fill_and_stroke(self, elem, style, bbox, viewport, opacity, ctm=None):
        """The stroke's width, (cap, join, miter limit), the box the stroke
        can reach, and the fill and stroke paints (None: not drawn) of an
        element with ``style`` over ``bbox``. With ``ctm``, a context paint
        naming a gradient is deferred to the context's space (markers)."""
        stroke_width = self.stroke_width(style, viewport)
        stroke_style = self.stroke_style(style)
        reach = self.stroke_reach(stroke_width, stroke_style)
        extent = (bbox[0] - reach, bbox[1] - reach, bbox[2] + reach, bbox[3] + reach)
        paints = []
        for prop, default, box in (("fill", "black", bbox), ("stroke", "none", extent)):
            raw = style.get(prop, default)
            value, value_style = self.context_paint(raw, style)
            alpha = opacity * self.opacity_value(style.get(prop + "-opacity"))
            paint = None
            if ctm is not None:
                paint = context.deferred_paint(self, raw, value, value_style, alpha, elem, ctm, box, viewport)
            if paint is None:
                paint = self.paint(value, value_style, bbox, viewport, alpha, elem, box)
            paints.append(paint)
        fill, stroke = paints
        if stroke_width <= 0:
            stroke = None
        return stroke_width, stroke_style, extent, fill, stroke

    def add_shape_group(self, shapes, fill, stroke, stroke_width, stroke_style, even_odd, matrix, ident, ctm):
        """Appends ``shapes`` with the stroke's geometry and one group that
        paints them with ``fill`` and ``stroke`` under ``matrix``."""
        first = len(self.shapes)
        for shape in shapes:
            shape.stroke_width = torch.tensor(stroke_width / 2.0)
            shape.line_cap, shape.line_join, shape.miter_limit = stroke_style
            self.shapes.append(shape)
        ids = torch.arange(first, len(self.shapes), dtype=torch.int32)
        self.append_group(ShapeGroup(ids, fill, use_even_odd_rule=even_odd, stroke_color=stroke,
                                     shape_to_canvas=matrix.clone(), id=ident), ctm)

    def emit_shape(self, elem, tag, style, ctm, viewport, opacity):
        try:
            geometry = self.geometry(elem, tag, viewport)
        except UnitError as exc:
            self.fail(elem, f"invalid geometry: {exc}")
            return
        if geometry is None or style.get("visibility", "visible").strip() in ("hidden", "collapse"):
            return
        kind, params, subpaths = geometry
        bbox = subpaths_bbox(subpaths)
        vw, vh = viewport
        diag = math.sqrt((vw * vw + vh * vh) / 2.0)
        stroke_width, stroke_style, extent, fill, stroke = self.fill_and_stroke(
            elem, style, bbox, viewport, opacity, ctm)
        if tag == "line":  # a line has no interior
            fill = None
        if fill is None and stroke is None:
            return
        if kind == "rect" and stroke is not None and stroke_style[1] != LineJoin.round:
            # Rect strokes have round corners; the same outline as a Path gets
            # the miter or bevel join. The Path's fill is the Rect's.
            kind = "path"
        # Flat curves stroke as lines (Skia, resvg, browsers), which decides
        # their caps and joins; round ones do not depend on it. Dashes are
        # cut from the curves as they are, then straightened.
        straighten = stroke is not None and (stroke_style[0], stroke_style[1]) != (
            LineCap.round, LineJoin.round)
        curve_subpaths = subpaths
        if kind == "path" and straighten:
            subpaths = [straighten_flat_curves(subpath) for subpath in subpaths]
        # A non-invertible transform (e.g. scale(0)) disables rendering of
        # the element (SVG 1.1, 7.5): it draws nothing rather than failing.
        if abs(ctm[0][0] * ctm[1][1] - ctm[0][1] * ctm[1][0]) < 1e-12:
            return
        ident = elem.get("id") or ""
        fill_shapes = None  # None: the element's own shapes
        clip_stroke = False
        half_planes = self.clip_half_planes(ctm)
        if half_planes and fill is not None:
            side = bbox_side(bbox, half_planes)
            if side == "outside":
                fill = None
            elif side == "partial":  # exact: the fill region cut to the viewport
                pieces = clip_subpaths(subpaths, half_planes)
                fill_shapes = [_path_shape(piece, ident) for piece in pieces]
                fill = fill if fill_shapes else None
        if half_planes and stroke is not None:
            side = bbox_side(extent, half_planes)
            if side == "outside":
                stroke = None
            elif side == "partial":  # a stroke cannot be cut: a layer clipped to the viewports
                clip_stroke = True
        if fill is None and stroke is None:
            return
        even_odd = style.get("fill-rule", "nonzero").strip() == "evenodd"
        matrix = torch.tensor(ctm, dtype=torch.float32)
        dashes = self.dash_pattern(elem, style, diag) if stroke is not None else None

        def add_group(shapes, fill_paint, stroke_paint):
            self.add_shape_group(shapes, fill_paint, stroke_paint, stroke_width, stroke_style, even_odd,
                                 matrix, ident, ctm)

        stroke_shapes = None  # None: the element's own shapes
        if dashes is not None:
            try:
                pieces = dash_subpaths(curve_subpaths, dashes[0], dashes[1])
            except TooManyDashes as exc:
                self.warn("dashes", f"{self.describe(elem)}: {exc}; stroke drawn solid")
                pieces = None
            if pieces is not None:
                if straighten:
                    pieces = [straighten_flat_curves(piece) for piece in pieces]
                stroke_shapes = [_path_shape(piece, ident) for piece in pieces]
        stroke_first = self.stroke_before_fill(style)
        one_group = fill_shapes is None and stroke_shapes is None and not clip_stroke and not (
            stroke_first and fill is not None and stroke is not None)
        if one_group:
            add_group(_make_shapes(kind, params, subpaths, ident), fill, stroke)
            return
        parts = [("fill", fill, fill_shapes), ("stroke", stroke, stroke_shapes)]
        if stroke_first:
            parts.reverse()
        for name, paint_value, shapes in parts:
            if paint_value is None:
                continue
            if shapes is None:
                shapes = _make_shapes(kind, params, subpaths, ident)
            if not shapes:
                continue
            if name == "stroke" and clip_stroke:
                saved = self.groups
                self.groups = []
                add_group(shapes, None, paint_value)
                content, self.groups = self.groups, saved
                layer = Layer(content, clip_path=self.viewport_clip())
                layer.paint_part = "stroke"  # for paint-order (markers.py)
                self.groups.append(layer)
                continue
            add_group(shapes, paint_value if name == "fill" else None,
                      paint_value if name == "stroke" else None)

    def append_group(self, group, ctm):
        """Appends a ShapeGroup to the current container; a pattern paint in
        it becomes a pattern layer clipped to what that paint covers, in
        fill-then-stroke order (``ctm``: the group's user space)."""
        parts = [("fill", group.fill_color), ("stroke", group.stroke_color)]
        if not any(isinstance(p, patterns.PatternRef) for _, p in parts):
            self.groups.append(group)
            return
        for name, paint_value in parts:
            if paint_value is None:
                continue
            white = torch.ones(4)
            is_pattern = isinstance(paint_value, patterns.PatternRef)
            fill = (white if is_pattern else paint_value) if name == "fill" else None
            stroke = (white if is_pattern else paint_value) if name == "stroke" else None
            part = ShapeGroup(group.shape_ids, fill, group.use_even_odd_rule, stroke, group.shape_to_canvas,
                              group.id)
            if not is_pattern:
                self.groups.append(part)
                continue
            layer = patterns.pattern_layer(self, paint_value, ctm, Layer([part]))
            if layer is not None:
                layer.paint_part = name  # for paint-order (markers.py)
                self.groups.append(layer)

    def viewport_clip(self):
        """A clip Layer for the viewport rectangles in force (each one a
        white rect, nested as clips of one another)."""
        clip = None
        for origin, width, height in self.clips:
            layer = masking._rect_layer(self, 0.0, 0.0, width, height, origin)
            layer.clip_path = clip
            clip = layer
        return clip

    def clip_half_planes(self, ctm) -> List[Tuple[float, float, float]]:
        """The viewport clip rectangles in force as half-planes a·x + b·y <= c
        in the user space that ``ctm`` maps to the canvas (4 per rectangle).
        A viewport with a singular transform shows nothing: (0, 0, -1)."""
        planes = []
        for origin, width, height in self.clips:
            if abs(origin[0][0] * origin[1][1] - origin[0][1] * origin[1][0]) < 1e-300:
                return [(0.0, 0.0, -1.0)]
            to_viewport = np.linalg.solve(origin, ctm)  # user -> viewport coordinates
            for row, size in ((to_viewport[0], width), (to_viewport[1], height)):
                planes.append((float(row[0]), float(row[1]), float(size - row[2])))
                planes.append((float(-row[0]), float(-row[1]), float(row[2])))
        return planes

    def stroke_width(self, style, viewport) -> float:
        """The computed stroke-width in user units (percentages of the
        viewport's normalised diagonal); 1 when invalid."""
        vw, vh = viewport
        try:
            return parse_length(style.get("stroke-width", "1"), math.sqrt((vw * vw + vh * vh) / 2.0),
                                self._font_px(style), self.root_font_px)
        except UnitError:
            return 1.0

    @staticmethod
    def stroke_reach(stroke_width: float, stroke_style) -> float:
        """How far the stroke can reach from the path: half the width, times
        the miter limit for miter joins (the miter length is at most
        miterlimit × stroke-width, centred on the vertex) or √2 for square caps."""
        cap, join, miter_limit = stroke_style
        return max(stroke_width, 0.0) / 2.0 * max(
            miter_limit if join == LineJoin.miter else 1.0,
            math.sqrt(2.0) if cap == LineCap.square else 1.0)

    @staticmethod
    def stroke_before_fill(style) -> bool:
        order = markers.paint_order(style)
        return order.index("stroke") < order.index("fill")

    @staticmethod
    def stroke_style(style):
        cap = {"butt": LineCap.butt, "round": LineCap.round, "square": LineCap.square}.get(
            style.get("stroke-linecap", "butt").strip(), LineCap.butt)
        join = {"miter": LineJoin.miter, "miter-clip": LineJoin.miter, "arcs": LineJoin.miter,
                "round": LineJoin.round, "bevel": LineJoin.bevel}.get(
            style.get("stroke-linejoin", "miter").strip(), LineJoin.miter)
        try:
            limit = float(style.get("stroke-miterlimit", "4"))
            limit = limit if math.isfinite(limit) and limit >= 1.0 else 4.0
        except ValueError:
            limit = 4.0
        return cap, join, limit

    def dash_pattern(self, elem, style, diag):
        """(pattern, offset) or None for a solid stroke (``none``, negative
        values, zero sum, or unparsable lists, as SVG specifies)."""
        text = style.get("stroke-dasharray", "none").strip()
        if text in ("none", ""):
            return None
        try:
            font = (self._font_px(style), self.root_font_px)
            values = [parse_length(t, diag, *font) for t in re.split(r"[\s,]+", text) if t]
            offset = parse_length(style.get("stroke-dashoffset", "0"), diag, *font)
        except UnitError:
            return None
        if not values or any(v < 0 for v in values) or sum(values) <= 0:
            return None
        if len(values) % 2:
            values = values * 2
        return values, offset


def _path_shape(subpath: Subpath, ident: str) -> Path:
    ncp, points, closed = subpath.to_arrays()
    return Path(torch.tensor(ncp, dtype=torch.int32),
                torch.tensor(points, dtype=torch.float32).reshape(-1, 2), closed, id=ident)


def _make_shapes(kind, params, subpaths, ident):
    if kind == "circle":
        cx, cy, r = params
        return [Circle(torch.tensor(float(r)), torch.tensor([cx, cy], dtype=torch.float32), id=ident)]
    if kind == "ellipse":
        cx, cy, rx, ry = params
        return [Ellipse(torch.tensor([rx, ry], dtype=torch.float32),
                        torch.tensor([cx, cy], dtype=torch.float32), id=ident)]
    if kind == "rect":
        x, y, w, h = params
        return [Rect(torch.tensor([x, y], dtype=torch.float32),
                     torch.tensor([x + w, y + h], dtype=torch.float32), id=ident)]
    if kind in ("polyline", "polygon"):
        return [Polygon(torch.tensor(params, dtype=torch.float32), kind == "polygon", id=ident)]
    return [_path_shape(subpath, ident) for subpath in subpaths]
