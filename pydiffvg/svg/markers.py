"""SVG markers (SVG 2, 11.6): ``marker-start``, ``marker-mid`` and
``marker-end`` (and the ``marker`` shorthand in CSS) on ``path``, ``line``,
``polyline`` and ``polygon``.

Each vertex of the path gets one instance of the marker's content, walked
by the loader like the shadow tree of a ``use``, with the transform

    ctm · translate(vertex) · rotate(angle) · scale(s) · translate(-V·ref) · V

where s is the stroke width for ``markerUnits="strokeWidth"`` (the default)
and 1 for ``userSpaceOnUse``, V maps the marker's ``viewBox`` onto its
``markerWidth`` × ``markerHeight`` viewport (with ``preserveAspectRatio``)
and ref = (refX, refY) is in the content's coordinates. Unless ``overflow``
is ``visible`` or ``auto`` the content is clipped to the viewBox (or to the
viewport without one), the way nested viewports clip: fills exactly, strokes
that cross the edge unclipped with a warning.

Vertex directions follow SVG 2's path directionality (9.5 and 11.6.2): a
segment's direction at its start is the tangent leaving its start point (the
first control point that differs from it), at its end the tangent arriving
at its end point; a zero-length segment takes the direction at the end of
the nearest non-zero segment before it, else at the start of the nearest one
after it (and symmetrically for its end); a path of zero length points along
+x. ``orient="auto"`` uses the bisector of the incoming and outgoing
directions at a vertex; the first and last vertex of an open subpath have only
one of them, also when the subpath is closed (as resvg draws them; SVG 2
would bisect the closing and the first segment there). The vertex at a Z is
a marker vertex only when it ends the path (resvg's end marker). ``auto-start-reverse`` turns the start marker
by 180°. An angle (deg, rad, grad, turn; a number is degrees) is used as is.

The content inherits style from the marker's ancestors, not from the shape;
``context-fill`` and ``context-stroke`` in it are the shape's fill and
stroke. A marker that references itself (directly or through its content) is
not drawn again inside itself. ``paint-order`` may put the markers before or
between the shape's fill and stroke.
"""
from __future__ import annotations

import math
import re
from typing import List, Optional, Tuple

import numpy as np

from ..layers import Layer
from . import context as context_frames
from .paths import Subpath, subpaths_bbox
from .units import UnitError, parse_aspect_ratio, translate, viewbox_transform

#: Elements that take markers: SVG 2's "markable elements" (path, line,
#: polyline, polygon) and, as resvg draws them, the basic shapes, whose
#: outlines are their equivalent paths (SVG 2 10.1).
MARKABLE = ("path", "line", "polyline", "polygon", "circle", "ellipse", "rect")
_URL = re.compile(r"^\s*url\(\s*(['\"]?)#([^'\")\s]*)\1\s*\)\s*$")
_ANGLE = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(deg|rad|grad|turn)?\s*$")
_TO_DEGREES = {None: 1.0, "deg": 1.0, "rad": 180.0 / math.pi, "grad": 0.9, "turn": 360.0}


def paint_order(style) -> List[str]:
    """The order of fill, stroke and markers from ``paint-order`` (SVG 2
    13.6): the keywords given, then the missing ones in the normal order. An
    unknown or repeated keyword makes the value invalid (normal)."""
    normal = ["fill", "stroke", "markers"]
    words = style.get("paint-order", "normal").split()
    if not words or words == ["normal"] or any(w not in normal for w in words) \
            or len(set(words)) != len(words):
        return normal
    return words + [w for w in normal if w not in words]


# ----------------------------------------------------------------------------
# Vertices and their directions
# ----------------------------------------------------------------------------

def _commands(subpath: Subpath):
    """The path commands of a subpath as (start point, [segments]); a closed
    subpath ends with its closing line (zero-length when it ends at the start)."""
    counts = subpath.commands or [1] * len(subpath.segments)
    out, index, point = [], 0, subpath.start
    for count in counts:
        segments = subpath.segments[index:index + count]
        out.append((point, segments))
        index += count
        if segments:
            point = segments[-1][-1]
    if subpath.closed:
        out.append((point, [(subpath.start,)]))
    return out


def _start_direction(start, segments) -> Optional[Tuple[float, float]]:
    point = start
    for segment in segments:
        for control in segment:
            if control != point:
                return (control[0] - point[0], control[1] - point[1])
        point = segment[-1]
    return None


def _end_direction(start, segments) -> Optional[Tuple[float, float]]:
    for k in range(len(segments) - 1, -1, -1):
        segment = segments[k]
        end = segment[-1]
        before = [start if k == 0 else segments[k - 1][-1]] + list(segment[:-1])
        for control in reversed(before):
            if control != end:
                return (end[0] - control[0], end[1] - control[1])
    return None


def vertices(subpaths: List[Subpath]):
    """Every marker vertex of a path as (point, angle in degrees for
    orient=auto, position) with position "start", "mid" or "end"."""
    commands = []  # (subpath index, start point, segments)
    for index, subpath in enumerate(subpaths):
        for start, segments in _commands(subpath):
            commands.append((index, start, segments))
    if not commands:
        return []
    starts = [_start_direction(s, segs) for _, s, segs in commands]
    ends = [_end_direction(s, segs) for _, s, segs in commands]
    nonzero = [i for i, d in enumerate(starts) if d is not None]
    if not nonzero:
        starts = ends = [(1.0, 0.0)] * len(commands)
    else:
        filled_start, filled_end = list(starts), list(ends)
        for i in range(len(commands)):
            if starts[i] is not None:
                continue
            before = [k for k in nonzero if k < i]
            after = [k for k in nonzero if k > i]
            filled_start[i] = ends[before[-1]] if before else starts[after[0]]
            filled_end[i] = starts[after[0]] if after else ends[before[-1]]
        starts, ends = filled_start, filled_end

    out = []
    for index, subpath in enumerate(subpaths):
        mine = [k for k, (owner, _, _) in enumerate(commands) if owner == index]
        if not mine:
            continue
        first = mine[0]
        points = [commands[first][1]] + [_command_end(commands[k]) for k in mine]
        if subpath.closed and index != len(subpaths) - 1:
            # resvg places no vertex at a Z inside the path (only a last Z
            # carries the end marker)
            points = points[:-1]
        for j, point in enumerate(points):
            # the first and last vertex of a subpath have one direction, also
            # when it is closed (as resvg draws them; SVG 2 would bisect the
            # closing and the first segment's directions there)
            incoming = ends[mine[j - 1]] if j > 0 else None
            outgoing = starts[mine[j]] if j < len(mine) else None
            out.append([point, _bisector(incoming, outgoing), "mid"])
    out[0][2] = "start"
    out[-1][2] = "end" if len(out) > 1 else out[-1][2]
    if len(out) == 1:  # one vertex: both start and end
        out.append([out[0][0], out[0][1], "end"])
    return [tuple(v) for v in out]


def _command_end(command):
    _, start, segments = command
    return segments[-1][-1] if segments else start


def _bisector(incoming, outgoing) -> float:
    """Angle (degrees) of the bisector of two directions (either may be None)."""
    if incoming is None and outgoing is None:
        return 0.0
    if incoming is None:
        return math.degrees(math.atan2(outgoing[1], outgoing[0]))
    if outgoing is None:
        return math.degrees(math.atan2(incoming[1], incoming[0]))
    a_in = math.atan2(incoming[1], incoming[0])
    a_out = math.atan2(outgoing[1], outgoing[0])
    if abs(a_out - a_in) > math.pi:
        a_out += -2.0 * math.pi if a_out > a_in else 2.0 * math.pi
    return math.degrees((a_in + a_out) / 2.0)


# ----------------------------------------------------------------------------
# Instantiation
# ----------------------------------------------------------------------------

def _rotation(degrees: float) -> np.ndarray:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _orient(text: Optional[str]):
    """"auto", "auto-start-reverse" or a fixed angle in degrees."""
    text = (text or "0").strip()
    if text in ("auto", "auto-start-reverse"):
        return text
    match = _ANGLE.match(text)
    if not match:
        return 0.0
    value = float(match.group(1)) * _TO_DEGREES[match.group(2)]
    return value if math.isfinite(value) else 0.0


def _marker_element(loader, value: Optional[str]):
    if not value:
        return None
    match = _URL.match(value)
    if not match:
        return None
    target = loader.ids.get(match.group(2))
    if target is None or not loader.is_svg(target) or loader.local_tag(target) != "marker":
        return None
    return target


def draw_markers(loader, elem, tag, style, ctm, viewport, opacity, chain, first_group: int):
    """Draws the markers of shape ``elem`` (after its fill and stroke, which
    start at group ``first_group``), then reorders the groups for
    ``paint-order``. Called by the loader's walk for every shape."""
    if tag not in MARKABLE:
        return
    refs = {pos: _marker_element(loader, style.get("marker-" + pos)) for pos in ("start", "mid", "end")}
    if not any(refs.values()):
        return
    if style.get("visibility", "visible").strip() in ("hidden", "collapse"):
        return
    if abs(ctm[0][0] * ctm[1][1] - ctm[0][1] * ctm[1][0]) < 1e-12:
        return
    try:
        geometry = loader.geometry(elem, tag, viewport)
    except UnitError:
        return
    if geometry is None:
        return
    subpaths = geometry[2]
    stroke_width = loader.stroke_width(style, viewport)
    shape_end = len(loader.groups)
    bbox = subpaths_bbox(subpaths)
    stack = getattr(loader, "marker_stack", None)
    if stack is None:
        stack = loader.marker_stack = []
    context = (loader.context_paint(style.get("fill", "black"), style),
               loader.context_paint(style.get("stroke", "none"), style))
    from .parser import MAX_USE_EXPANDED
    sizes = {}
    for point, angle, position in vertices(subpaths):
        marker = refs[position]
        if marker is None or marker in stack:
            continue
        if marker not in sizes:
            sizes[marker] = sum(1 for _ in marker.iter())
        if loader.use_expanded + sizes[marker] > MAX_USE_EXPANDED:
            # the same budget as use expansion; the shape and the markers so
            # far are drawn, the rest are left out
            loader.warn("marker-limit", f"{loader.describe(elem)}: more than {MAX_USE_EXPANDED} "
                                        f"elements instantiated through markers and use; the "
                                        f"remaining markers are not drawn")
            break
        _instance(loader, marker, point, angle, position, stroke_width, ctm, viewport, opacity, chain,
                  context, stack, bbox)
    _reorder(loader, style, first_group, shape_end)


def _instance(loader, marker, point, angle, position, stroke_width, ctm, viewport, opacity, chain,
              context, stack, shape_bbox):
    vw, vh = viewport
    units = (marker.get("markerUnits") or "strokeWidth").strip()
    scale = 1.0 if units == "userSpaceOnUse" else stroke_width
    if not scale > 0.0:
        return
    width = loader.length(marker, "markerWidth", vw, "3")
    height = loader.length(marker, "markerHeight", vh, "3")
    if width < 0 or height < 0:
        loader.fail(marker, f"negative markerWidth/markerHeight {width} x {height}")
        return
    if width == 0 or height == 0:
        return
    orient = _orient(marker.get("orient"))
    if orient == "auto":
        rotation = angle
    elif orient == "auto-start-reverse":
        rotation = angle + 180.0 if position == "start" else angle
    else:
        rotation = orient
    box = loader.viewbox(marker)
    if box is not None:
        to_viewport = viewbox_transform(box, width, height,
                                        parse_aspect_ratio(marker.get("preserveAspectRatio")))
        inner = (box[2], box[3])
        clip_origin, clip_size = box[:2], box[2:]
    else:
        to_viewport = np.eye(3)
        inner = (width, height)
        clip_origin, clip_size = (0.0, 0.0), (width, height)
    # percentages of refX/refY resolve against the shape's viewport, as resvg
    ref = to_viewport @ np.array([loader.length(marker, "refX", vw), loader.length(marker, "refY", vh), 1.0])
    placement = (np.asarray(ctm) @ translate(point[0], point[1]) @ _rotation(rotation)
                 @ np.diag([scale, scale, 1.0]) @ translate(-ref[0], -ref[1]))
    content = placement @ to_viewport
    marker_style = loader.document_style(marker)
    clips = (loader.specified(marker).get("overflow", "hidden").strip().lower()
             not in ("visible", "auto"))
    if clips:
        loader.clips.append((content @ translate(clip_origin[0], clip_origin[1]), clip_size[0], clip_size[1]))
    stack.append(marker)
    loader.contexts.append(context)
    context_frames.push(loader, ctm, shape_bbox)
    loader.use_depth += 1  # instances count against the use expansion limit
    try:
        for child in marker:
            loader.walk(child, marker_style, content, inner, opacity, chain + (marker,))
    finally:
        loader.use_depth -= 1
        loader.contexts.pop()
        context_frames.pop(loader)
        stack.pop()
        if clips:
            loader.clips.pop()


def _reorder(loader, style, first: int, shape_end: int):
    """Moves the marker groups (shape_end onwards) to their paint-order place
    among the shape's fill and stroke groups [first, shape_end)."""
    order = paint_order(style)
    if order[-1] == "markers" or len(loader.groups) == shape_end:
        return
    shape_groups = loader.groups[first:shape_end]
    marker_groups = loader.groups[shape_end:]
    if order[0] == "markers":
        merged = marker_groups + shape_groups
    else:  # markers between the first and the last of fill and stroke
        before, after = [], []
        for group in shape_groups:
            if isinstance(group, Layer):  # a pattern or clipped-stroke layer says which part it is
                parts = [(group, getattr(group, "paint_part", "fill"))]
            elif group.fill_color is not None and group.stroke_color is not None:  # split it
                parts = [(_copy_group(group, fill=True), "fill"), (_copy_group(group, fill=False), "stroke")]
            else:
                parts = [(group, "fill" if group.fill_color is not None else "stroke")]
            for part, kind in parts:
                (before if kind == order[0] else after).append(part)
        merged = before + marker_groups + after
    loader.groups[first:] = merged


def _copy_group(group, fill: bool):
    from ..shapes import ShapeGroup
    return ShapeGroup(group.shape_ids, group.fill_color if fill else None,
                      use_even_odd_rule=group.use_even_odd_rule,
                      stroke_color=None if fill else group.stroke_color,
                      shape_to_canvas=group.shape_to_canvas, id=group.id)
