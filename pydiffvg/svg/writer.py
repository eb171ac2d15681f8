"""Writing pydiffvg scenes as SVG (diffvg's ``save_svg``).

Every shape of every group is written:

* Circle -> ``circle``, Ellipse -> ``ellipse``, Rect -> ``rect``, closed
  Polygon -> ``polygon``, open Polygon -> ``polyline``, Path -> ``path``
  with M/L/Q/C/Z commands. A stroked Rect is written with
  ``stroke-linejoin="round"``, the corners the renderer draws for it (SVG
  import turns a rect with another join into a Path).
* A group with one shape becomes one element carrying the group's paints,
  fill rule and ``transform="matrix(...)"`` (``shape_to_canvas``).
* A group whose shapes are all Paths/Polygons with the same scalar stroke
  style becomes ONE ``path`` with several subpaths, so the group's fill rule
  still applies across them (and it reads back as the same group). Other
  multi-shape groups become a ``g`` holding each shape with the group's
  paint; there the fill rule no longer combines the shapes' winding numbers.
* Paints: solid colours as ``rgb()`` plus ``*-opacity``; gradients as
  ``userSpaceOnUse`` ``linearGradient``/``radialGradient`` in ``defs`` with
  ``stop-color``/``stop-opacity`` (an elliptic radial gradient gets a
  ``gradientTransform`` scale about its centre; a focal circle is written as
  ``fx``, ``fy`` and ``fr``).
* ``stroke-width`` is twice pydiffvg's half width. A Path with a width per
  point is written as its fill (if any) plus one stroked ``path`` per
  segment, each with the average of its two end points' widths: SVG has no
  variable-width strokes, so this is an approximation.
* A pattern layer (pydiffvg/svg/patterns.py) becomes its shape painted with
  a ``pattern`` in ``defs`` holding the tile's content.
* A ``pydiffvg.Layer`` becomes a ``g`` with ``opacity``, ``clip-path``,
  ``mask`` (both in ``defs``, in user space), ``mix-blend-mode`` and
  ``isolation``; a filter is written by its own ``to_svg(id)`` method.
* ``use_gamma=True`` raises colour channels to 1/2.2, as diffvg does.

Numbers are written with 9 significant digits (float32 round-trips). The
file is written to a temporary name in the same folder and renamed, so a
failure never leaves a half-written file.
"""
from __future__ import annotations

import os
import tempfile
from typing import List, Optional
from xml.sax.saxutils import quoteattr

import numpy as np
import torch

from ..layers import Layer
from ..shapes import (Circle, Ellipse, LinearGradient, LineCap, LineJoin, Path, Polygon,
                      RadialGradient, Rect, ShapeGroup)
from .colors import parse_color

_CAPS = {LineCap.round: "round", LineCap.butt: "butt", LineCap.square: "square"}
_JOINS = {LineJoin.round: "round", LineJoin.miter: "miter", LineJoin.bevel: "bevel"}


def _num(value) -> str:
    text = format(float(value), ".9g")
    return "0" if text == "-0" else text


def _array(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


class _Writer:
    def __init__(self, use_gamma: bool):
        self.use_gamma = use_gamma
        self.defs: List[str] = []
        self.body: List[str] = []
        self.in_clip = 0

    def color(self, rgba):
        rgba = _array(rgba).reshape(-1)
        rgb = np.clip(rgba[:3], 0.0, 1.0)
        if self.use_gamma:
            rgb = rgb ** (1.0 / 2.2)
        alpha = float(np.clip(rgba[3], 0.0, 1.0)) if len(rgba) > 3 else 1.0
        return "rgb({},{},{})".format(*(_num(c * 255.0) for c in rgb)), alpha

    def paint(self, paint, name: str) -> List[str]:
        """Attributes for fill or stroke; gradients go to defs."""
        if paint is None:
            return [f'{name}="none"']
        if isinstance(paint, (LinearGradient, RadialGradient)):
            ident = f"{name}_{len(self.defs)}"
            stops = []
            offsets = _array(paint.offsets).reshape(-1)
            colors = _array(paint.stop_colors).reshape(-1, 4)
            for offset, rgba in zip(offsets, colors):
                text, alpha = self.color(rgba)
                stops.append(f'<stop offset="{_num(offset)}" stop-color="{text}" '
                             f'stop-opacity="{_num(alpha)}"/>')
            if isinstance(paint, LinearGradient):
                begin, end = _array(paint.begin), _array(paint.end)
                head = (f'<linearGradient id="{ident}" gradientUnits="userSpaceOnUse" '
                        f'x1="{_num(begin[0])}" y1="{_num(begin[1])}" '
                        f'x2="{_num(end[0])}" y2="{_num(end[1])}">')
                tail = "</linearGradient>"
            else:
                center, radius = _array(paint.center), _array(paint.radius).reshape(-1)
                rx, ry = float(radius[0]), float(radius[-1])
                cx, cy = _num(center[0]), _num(center[1])
                extra = ""
                if rx != ry and rx > 0:
                    extra = (f' gradientTransform="translate({cx} {cy}) scale(1 {_num(ry / rx)}) '
                             f'translate({_num(-center[0])} {_num(-center[1])})"')
                focal = getattr(paint, "focal", None)
                focal_radius = getattr(paint, "focal_radius", None)
                if focal is not None:
                    # in the gradient's own coordinates (before the y scale)
                    f = _array(focal).reshape(-1)
                    fy = center[1] + (f[1] - center[1]) * (rx / ry if rx != ry and rx > 0 and ry != 0 else 1.0)
                    extra += f' fx="{_num(f[0])}" fy="{_num(fy)}"'
                if focal_radius is not None:
                    extra += f' fr="{_num(float(_array(focal_radius).reshape(-1)[0]))}"'
                head = (f'<radialGradient id="{ident}" gradientUnits="userSpaceOnUse" '
                        f'cx="{cx}" cy="{cy}" r="{_num(rx if rx > 0 else ry)}"{extra}>')
                tail = "</radialGradient>"
            self.defs.append(head + "".join(stops) + tail)
            return [f'{name}="url(#{ident})"']
        text, alpha = self.color(paint)
        return [f'{name}="{text}"', f'{name}-opacity="{_num(alpha)}"']


    def group(self, group, shapes, where, extra=()) -> List[str]:
        """The elements of one ShapeGroup (``extra``: attributes added to
        each element, as clip paths need: they cannot hold a ``g``)."""
        out: List[str] = []
        ids = [int(i) for i in _array(group.shape_ids).astype(np.int64).reshape(-1)]
        members = []
        for i in ids:
            if not 0 <= i < len(shapes):
                raise ValueError(f"save_svg(): {where}.shape_ids holds {i}, "
                                 f"but there are {len(shapes)} shapes")
            members.append(shapes[i])
        if not members:
            return out
        fill = self.paint(group.fill_color, "fill")
        stroke = self.paint(group.stroke_color, "stroke")
        rule_name = "evenodd" if group.use_even_odd_rule else "nonzero"
        rule = [f'fill-rule="{rule_name}"'] + ([f'clip-rule="{rule_name}"'] if self.in_clip else [])
        transform = _transform_attr(group)
        ident = [f"id={quoteattr(group.id)}"] if getattr(group, "id", "") else []
        ident += list(extra or ())
        has_stroke = group.stroke_color is not None
        mergeable = len(members) > 1 and all(
            isinstance(s, (Path, Polygon)) and not _per_point(s) for s in members) and \
            len({_stroke_key(s) for s in members}) == 1
        if mergeable:
            data = " ".join(_path_data(s) for s in members)
            attrs = ident + [f'd="{data}"'] + fill + stroke + rule + \
                _stroke_attrs(members[0]) + transform
            out.append("<path " + " ".join(attrs) + "/>")
            return out
        elements = []
        for shape in members:
            if _per_point(shape) and has_stroke:
                if group.fill_color is not None:
                    elements.append(f'<path d="{_path_data(shape)}" stroke="none"/>')
                for data, half in _segment_paths(shape):
                    elements.append(f'<path d="{data}" fill="none" '
                                    + " ".join(_stroke_attrs(shape, half)) + "/>")
                continue
            tag, geometry = _geometry(shape)
            elements.append(f"<{tag} " + " ".join(geometry + _stroke_attrs(shape, stroked=has_stroke))
                            + "/>")
        if len(elements) == 1 and len(members) == 1:
            out.append(elements[0][:-2] + " " + " ".join(ident + fill + stroke + rule + transform) + "/>")
        elif self.in_clip:  # no g in a clip path: every element carries the group's attributes
            out.extend(e[:-2] + " " + " ".join(ident + fill + stroke + rule + transform) + "/>"
                       for e in elements)
        else:
            out.append("<g " + " ".join(ident + fill + stroke + rule + transform) + ">"
                       + "".join(elements) + "</g>")
        return out

    def node(self, node, shapes, where, extra=()) -> List[str]:
        """A ShapeGroup, or a Layer as a ``g`` with its effects (clip paths
        and masks go to defs)."""
        if not isinstance(node, Layer):
            return self.group(node, shapes, where, extra)
        painted = self.pattern_paint(node, shapes, where)
        if painted is not None:
            return painted
        attrs = [f"id={quoteattr(node.id)}"] if node.id else []
        opacity = float(node.opacity.detach()) if isinstance(node.opacity, torch.Tensor) else float(node.opacity)
        if opacity != 1.0:
            attrs.append(f'opacity="{_num(opacity)}"')
        if node.clip_path is not None:
            attrs.append(f'clip-path="url(#{self.clip(node.clip_path, shapes, where)})"')
        if node.mask is not None:
            attrs.append(f'mask="url(#{self.mask(node.mask, node.mask_type, shapes, where)})"')
        if node.filter is not None:
            to_svg = getattr(node.filter, "to_svg", None)
            if to_svg is None:
                raise ValueError(f"save_svg(): {where} has a filter ({type(node.filter).__name__}) that cannot "
                                 f"be written as SVG (it has no to_svg method)")
            ident = f"filter_{len(self.defs)}"
            self.defs.append(to_svg(ident))
            attrs.append(f'filter="url(#{ident})"')
        styles = []
        if node.blend_mode != "normal":
            styles.append(f"mix-blend-mode:{node.blend_mode}")
        if node.isolate:
            styles.append("isolation:isolate")
        if styles:
            attrs.append(f'style="{";".join(styles)}"')
        children = [e for k, child in enumerate(node.children)
                    for e in self.node(child, shapes, f"{where}.children[{k}]")]
        if self.in_clip:  # a clip path cannot hold a g: the clip goes on each element
            own = [a for a in attrs if a.startswith("clip-path=")]
            return [e[:-2] + " " + " ".join(own) + "/>" if own else e for e in children]
        return ["<g " + " ".join(attrs) + ">" + "".join(children) + "</g>"] if attrs else children

    def pattern_paint(self, node, shapes, where) -> Optional[List[str]]:
        """A pattern layer (patterns.py: no children, a PatternTile, the
        painted shape in white as its clip) as that shape painted with a
        ``pattern`` in defs; None for any other layer."""
        from .patterns import PatternTile
        tiler = node.filter
        clip = node.clip_path
        if not isinstance(tiler, PatternTile) or node.children or clip is None or len(clip.children) != 1 \
                or isinstance(clip.children[0], Layer) or node.mask is not None:
            return None
        shape = clip.children[0]
        ident = f"pattern_{len(self.defs)}"
        self.defs.append("")
        slot = len(self.defs) - 1
        # tile units -> canvas, and the painted shape's space -> canvas
        x, y = tiler.offset
        kx, ky = tiler.extent[0] / tiler.period[0], tiler.extent[1] / tiler.period[1]
        tile_to_canvas = np.linalg.inv(tiler.to_pattern) @ np.array([[1 / kx, 0, x], [0, 1 / ky, y], [0, 0, 1.0]])
        shape_to_canvas = _array(shape.shape_to_canvas).reshape(3, 3)
        m = np.linalg.solve(shape_to_canvas, tile_to_canvas)
        body = [e for k, child in enumerate(tiler.tile.children)
                for e in self.node(child, shapes, f"{where}.pattern[{k}]")]
        self.defs[slot] = (f'<pattern id="{ident}" patternUnits="userSpaceOnUse" x="0" y="0" '
                           f'width="{_num(tiler.extent[0])}" height="{_num(tiler.extent[1])}" '
                           f'patternTransform="matrix({_num(m[0, 0])} {_num(m[1, 0])} {_num(m[0, 1])} '
                           f'{_num(m[1, 1])} {_num(m[0, 2])} {_num(m[1, 2])})">' + "".join(body) + "</pattern>")
        part = "stroke" if shape.fill_color is None else "fill"
        paint = f'url(#{ident})'
        group = ShapeGroup(shape.shape_ids, None, shape.use_even_odd_rule, None, shape.shape_to_canvas, shape.id)
        elements = self.group(group, shapes, where)
        opacity = float(node.opacity.detach()) if isinstance(node.opacity, torch.Tensor) else float(node.opacity)
        extra = f'{part}="{paint}"' + (f' {part}-opacity="{_num(opacity)}"' if opacity != 1.0 else "")
        return [e.replace(f'{part}="none"', extra, 1) for e in elements]

    def clip(self, layer, shapes, where) -> str:
        ident = f"clip_{len(self.defs)}"
        self.defs.append("")  # reserve the slot (nested defs come first)
        slot = len(self.defs) - 1
        own = ""
        if layer.clip_path is not None:
            own = f' clip-path="url(#{self.clip(layer.clip_path, shapes, where)})"'
        self.in_clip += 1
        try:
            body = [e for k, child in enumerate(layer.children)
                    for e in self.node(child, shapes, f"{where}.clip_path.children[{k}]")]
        finally:
            self.in_clip -= 1
        self.defs[slot] = f'<clipPath id="{ident}" clipPathUnits="userSpaceOnUse"{own}>' + "".join(body) \
            + "</clipPath>"
        return ident

    def mask(self, layer, mask_type, shapes, where) -> str:
        ident = f"mask_{len(self.defs)}"
        self.defs.append("")
        slot = len(self.defs) - 1
        body = "".join(self.node(layer, shapes, f"{where}.mask"))
        kind = ' mask-type="alpha"' if mask_type == "alpha" else ""
        self.defs[slot] = (f'<mask id="{ident}" maskUnits="userSpaceOnUse" x="-1e6" y="-1e6" width="2e6" '
                           f'height="2e6"{kind}>' + body + "</mask>")
        return ident

def _stroke_attrs(shape, width: Optional[float] = None, stroked: bool = False) -> List[str]:
    if width is None:
        width = float(_array(shape.stroke_width).reshape(-1)[0])
    cap = _CAPS.get(getattr(shape, "line_cap", LineCap.round), "round")
    join = _JOINS.get(getattr(shape, "line_join", LineJoin.round), "round")
    if stroked and isinstance(shape, Rect):
        # The renderer strokes a Rect with round corners whatever its
        # line_join; a <rect> with another join would load as a Path with
        # sharp corners and render differently.
        join = "round"
    limit = float(getattr(shape, "miter_limit", 4.0))
    return [f'stroke-width="{_num(2.0 * width)}"', f'stroke-linecap="{cap}"',
            f'stroke-linejoin="{join}"', f'stroke-miterlimit="{_num(limit)}"']


def _path_data(shape) -> str:
    """M/L/Q/C/Z data of a Path or Polygon."""
    points = _array(shape.points).reshape(-1, 2)
    if isinstance(shape, Polygon):
        if len(points) == 0:
            return ""
        parts = [f"M{_num(points[0][0])} {_num(points[0][1])}"]
        parts += [f"L{_num(x)} {_num(y)}" for x, y in points[1:]]
        return " ".join(parts) + (" Z" if shape.is_closed else "")
    counts = _array(shape.num_control_points).astype(np.int64).reshape(-1)
    parts, index = [f"M{_num(points[0][0])} {_num(points[0][1])}"], 0
    for count in counts:
        ids = [(index + k) % len(points) for k in range(1, count + 2)]
        letter = {0: "L", 1: "Q", 2: "C"}[int(count)]
        parts.append(letter + " ".join(f"{_num(points[i][0])} {_num(points[i][1])}" for i in ids))
        index += int(count) + 1
    return " ".join(parts) + (" Z" if shape.is_closed else "")


def _segment_paths(shape):
    """(path data, average half width) per segment of a per-point-width Path."""
    points = _array(shape.points).reshape(-1, 2)
    widths = _array(shape.stroke_width).reshape(-1)
    counts = _array(shape.num_control_points).astype(np.int64).reshape(-1)
    index = 0
    for count in counts:
        ids = [(index + k) % len(points) for k in range(0, count + 2)]
        letter = {0: "L", 1: "Q", 2: "C"}[int(count)]
        data = (f"M{_num(points[ids[0]][0])} {_num(points[ids[0]][1])} " + letter +
                " ".join(f"{_num(points[i][0])} {_num(points[i][1])}" for i in ids[1:]))
        yield data, 0.5 * (widths[ids[0]] + widths[ids[-1]])
        index += int(count) + 1


def _geometry(shape):
    """(tag, geometry attributes) of one shape."""
    if isinstance(shape, Circle):
        center = _array(shape.center)
        return "circle", [f'cx="{_num(center[0])}"', f'cy="{_num(center[1])}"',
                          f'r="{_num(_array(shape.radius).reshape(-1)[0])}"']
    if isinstance(shape, Ellipse):
        center, radius = _array(shape.center), _array(shape.radius).reshape(-1)
        return "ellipse", [f'cx="{_num(center[0])}"', f'cy="{_num(center[1])}"',
                           f'rx="{_num(radius[0])}"', f'ry="{_num(radius[-1])}"']
    if isinstance(shape, Rect):
        p_min, p_max = _array(shape.p_min), _array(shape.p_max)
        low, high = np.minimum(p_min, p_max), np.maximum(p_min, p_max)
        return "rect", [f'x="{_num(low[0])}"', f'y="{_num(low[1])}"',
                        f'width="{_num(high[0] - low[0])}"', f'height="{_num(high[1] - low[1])}"']
    if isinstance(shape, Polygon):
        points = _array(shape.points).reshape(-1, 2)
        text = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
        return ("polygon" if shape.is_closed else "polyline"), [f'points="{text}"']
    if isinstance(shape, Path):
        return "path", [f'd="{_path_data(shape)}"']
    raise TypeError(f"save_svg(): unsupported shape type {type(shape).__name__}")


def _per_point(shape) -> bool:
    return isinstance(shape, Path) and _array(shape.stroke_width).size > 1


def _stroke_key(shape):
    return (float(_array(shape.stroke_width).reshape(-1)[0]), getattr(shape, "line_cap", None),
            getattr(shape, "line_join", None), float(getattr(shape, "miter_limit", 4.0)))


def _transform_attr(group) -> List[str]:
    matrix = _array(group.shape_to_canvas).reshape(3, 3)
    if np.allclose(matrix, np.eye(3), atol=0, rtol=0):
        return []
    a, c, e = matrix[0]
    b, d, f = matrix[1]
    return [f'transform="matrix({_num(a)} {_num(b)} {_num(c)} {_num(d)} {_num(e)} {_num(f)})"']


def svg_text(width, height, shapes, shape_groups, use_gamma=False, background=None) -> str:
    """The SVG document :func:`save_svg` writes, as a string."""
    writer = _Writer(use_gamma)
    width, height = float(width), float(height)
    if background is not None:
        rgba = parse_color(background) if isinstance(background, str) else background
        if rgba is not None:
            text, alpha = writer.color(rgba)
            writer.body.append(f'<rect x="0" y="0" width="{_num(width)}" height="{_num(height)}" '
                               f'fill="{text}" fill-opacity="{_num(alpha)}" stroke="none"/>')
    for group_index, group in enumerate(shape_groups):
        writer.body.extend(writer.node(group, shapes, f"shape_groups[{group_index}]"))
    lines = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}" '
             f'height="{_num(height)}" viewBox="0 0 {_num(width)} {_num(height)}">']
    if writer.defs:
        lines.append("<defs>" + "".join(writer.defs) + "</defs>")
    lines.extend(writer.body)
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def save_svg(filename, width, height, shapes, shape_groups, use_gamma=False, background=None):
    """Write a scene as an SVG file (diffvg's signature).

    filename: str or os.PathLike. width, height: canvas size in pixels.
    shapes, shape_groups: as for rendering (shapes in their own coordinates,
        each group's ``shape_to_canvas`` written as a matrix transform).
    use_gamma: raise RGB channels to 1/2.2 before writing, as diffvg does.
    background: None, an RGBA sequence/tensor (4,) in [0, 1], or a CSS colour
        string, painted as a full-canvas rect under everything.

    Text is written as paths: SVG ``<text>`` loaded by :func:`load_svg` and
    the output of :func:`pydiffvg.text_to_paths` are glyph outline Paths,
    and they are saved as ``<path>`` elements (no ``<text>``, no fonts
    needed to read the file back).
    """
    text = svg_text(width, height, shapes, shape_groups, use_gamma, background)
    folder = os.path.dirname(os.path.abspath(os.fspath(filename)))
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, suffix=".svg.tmp",
                                         delete=False)
    try:
        with handle:
            handle.write(text)
        # NamedTemporaryFile creates the file 0600; give it the permissions a
        # plainly created file would get (0666 less the umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)
        os.replace(handle.name, filename)
    except BaseException:
        try:
            os.unlink(handle.name)
        except OSError:
            pass
        raise
