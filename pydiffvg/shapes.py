"""Scene description classes, with diffvg's names, keyword arguments and
defaults, so code written for diffvg runs unchanged.

All coordinates are canvas pixels (origin top-left, x right, y down) unless a
group's ``shape_to_canvas`` maps them. Tensors may live on any device; they are
packed into flat tensors by :mod:`pydiffvg.scene` at render time, so autograd
reaches whatever leaf tensors the user put here.

``stroke_width`` is HALF the SVG ``stroke-width`` (diffvg's convention).
"""
from __future__ import annotations

import enum
import itertools

import torch

__all__ = [
    "Circle", "Ellipse", "Rect", "Polygon", "Path", "ShapeGroup",
    "LinearGradient", "RadialGradient", "PixelFilter", "FilterType", "OutputType",
    "LineCap", "LineJoin",
]


class FilterType(enum.IntEnum):
    """Pixel reconstruction filters (diffvg.FilterType)."""
    box = 0
    tent = 1
    radial_parabolic = 2
    hann = 3


class OutputType(enum.IntEnum):
    """What a render returns: RGBA colour (H, W, 4) or a signed distance (H, W, 1)."""
    color = 1
    sdf = 2


class LineCap(enum.IntEnum):
    """Stroke end caps. diffvg only has round caps, which stay the default."""
    round = 0
    butt = 1
    square = 2


class LineJoin(enum.IntEnum):
    """Stroke joins. diffvg only has round joins, which stay the default."""
    round = 0
    miter = 1
    bevel = 2


def _as_float_tensor(value, name, owner):
    """A tensor argument as given when it is floating point (any float dtype:
    the packer converts to float32 and gradients come back in the leaf's own
    dtype); Python numbers and sequences become float32. Integer, boolean
    and complex tensors are refused: they cannot carry gradients, and a
    silent conversion would drop the imaginary part or the caller's intent."""
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            raise TypeError(f"{owner}: '{name}' must be a floating-point tensor (float16, bfloat16, float32 or "
                            f"float64), got {value.dtype}")
        return value
    try:
        return torch.as_tensor(value, dtype=torch.float32)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{owner}: '{name}' must be a float tensor, got {type(value).__name__}") from exc


_revisions = itertools.count(1)


def _next_revision():
    return None if torch.compiler.is_compiling() else next(_revisions)


class _Revised:
    """Every attribute assignment stamps the object with a fresh number from
    one counter, and so does copying or unpickling it: equal numbers mean
    the same object, not reassigned since. The packer (pydiffvg/scene.py)
    reuses a scene's structure while its objects' numbers stay the same.
    Inside torch.compile the number is None (never reused): the counter
    would be a guard that changes on every call."""
    __slots__ = ()

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        object.__setattr__(self, "_revision", _next_revision())

    def __delattr__(self, name):
        object.__delattr__(self, name)
        object.__setattr__(self, "_revision", _next_revision())

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_revision", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        object.__setattr__(self, "_revision", _next_revision())


def _default_width():
    return torch.tensor(1.0)


class _Shape(_Revised):
    """Stroke style shared by every shape. Not in diffvg: ``line_cap``,
    ``line_join`` and ``miter_limit`` (SVG semantics); defaults keep diffvg's
    round caps and joins."""

    def _init_stroke(self, stroke_width, id):
        self.stroke_width = _as_float_tensor(stroke_width, "stroke_width", type(self).__name__)
        self.id = id
        self.line_cap = LineCap.round
        self.line_join = LineJoin.round
        self.miter_limit = 4.0


class Circle(_Shape):
    """A circle. radius: float tensor (), pixels; center: float tensor (2,)."""

    def __init__(self, radius, center, stroke_width=None, id=""):
        self.radius = _as_float_tensor(radius, "radius", "Circle")
        self.center = _as_float_tensor(center, "center", "Circle")
        self._init_stroke(_default_width() if stroke_width is None else stroke_width, id)


class Ellipse(_Shape):
    """An axis-aligned ellipse. radius: (2,) = (rx, ry); center: (2,)."""

    def __init__(self, radius, center, stroke_width=None, id=""):
        self.radius = _as_float_tensor(radius, "radius", "Ellipse")
        self.center = _as_float_tensor(center, "center", "Ellipse")
        self._init_stroke(_default_width() if stroke_width is None else stroke_width, id)


class Rect(_Shape):
    """An axis-aligned rectangle with corners p_min (2,) and p_max (2,)."""

    def __init__(self, p_min, p_max, stroke_width=None, id=""):
        self.p_min = _as_float_tensor(p_min, "p_min", "Rect")
        self.p_max = _as_float_tensor(p_max, "p_max", "Rect")
        self._init_stroke(_default_width() if stroke_width is None else stroke_width, id)


class Path(_Shape):
    """A path of line, quadratic and cubic Bézier segments.

    num_control_points: int tensor (S,), one entry per segment: 0 line,
        1 quadratic, 2 cubic (the number of control points between end points).
    points: float tensor (N, 2). Segment k starts at the end of segment k-1;
        an open path has N = S + 1 + sum(num_control_points) points, a closed
        one N = S + sum(num_control_points) (the last segment ends at point 0).
    is_closed: bool.
    stroke_width: float tensor () or (N,) for a width per point (half widths).
    use_distance_approx: accepted for diffvg compatibility; distances are
        always exact here.
    """

    def __init__(self, num_control_points, points, is_closed, stroke_width=None, id="",
                 use_distance_approx=False):
        if not isinstance(num_control_points, torch.Tensor):
            num_control_points = torch.as_tensor(num_control_points, dtype=torch.int32)
        self.num_control_points = num_control_points
        self.points = _as_float_tensor(points, "points", "Path")
        self.is_closed = bool(is_closed)
        self.use_distance_approx = use_distance_approx
        self._init_stroke(_default_width() if stroke_width is None else stroke_width, id)


class Polygon(_Shape):
    """A polygon (is_closed=True) or polyline (False) through points (N, 2)."""

    def __init__(self, points, is_closed, stroke_width=None, id=""):
        self.points = _as_float_tensor(points, "points", "Polygon")
        self.is_closed = bool(is_closed)
        self._init_stroke(_default_width() if stroke_width is None else stroke_width, id)


class LinearGradient(_Revised):
    """A linear gradient from ``begin`` (2,) to ``end`` (2,) in the shape's
    coordinates, with ``offsets`` (K,) in [0, 1] ascending and ``stop_colors``
    (K, 4) straight (not premultiplied) RGBA. Pads outside [0, 1]."""

    def __init__(self, begin, end, offsets, stop_colors):
        self.begin = _as_float_tensor(begin, "begin", "LinearGradient")
        self.end = _as_float_tensor(end, "end", "LinearGradient")
        self.offsets = _as_float_tensor(offsets, "offsets", "LinearGradient")
        self.stop_colors = _as_float_tensor(stop_colors, "stop_colors", "LinearGradient")


class RadialGradient(_Revised):
    """A radial gradient centred at ``center`` (2,) with elliptic ``radius``
    (2,) = (rx, ry): offset 1 lies on that ellipse. ``offsets`` (K,),
    ``stop_colors`` (K, 4) as for LinearGradient.

    Optional focal circle (SVG 2's two-circle gradient): ``focal`` (2,), its
    centre, in the same coordinates as ``center`` (None: at the centre), and
    ``focal_radius`` (), its radius along x in the same units as
    ``radius[0]`` (None: 0; the focal ellipse has the aspect rx : ry of the
    end ellipse). Offset t lies on the circle whose centre and radius
    interpolate linearly from the focal circle (t = 0) to the end circle
    (t = 1); each point takes the largest t whose circle (radius >= 0) passes
    through it, and where none does (outside the cone of a focal circle that
    is not inside the end circle) nothing is painted. All of ``center``,
    ``radius``, ``focal`` and ``focal_radius`` receive gradients."""

    def __init__(self, center, radius, offsets, stop_colors, focal=None, focal_radius=None):
        self.center = _as_float_tensor(center, "center", "RadialGradient")
        self.radius = _as_float_tensor(radius, "radius", "RadialGradient")
        self.offsets = _as_float_tensor(offsets, "offsets", "RadialGradient")
        self.stop_colors = _as_float_tensor(stop_colors, "stop_colors", "RadialGradient")
        self.focal = None if focal is None else _as_float_tensor(focal, "focal", "RadialGradient")
        self.focal_radius = (None if focal_radius is None
                             else _as_float_tensor(focal_radius, "focal_radius", "RadialGradient"))


class ShapeGroup(_Revised):
    """Shapes drawn together with one fill and one stroke paint.

    shape_ids: int tensor (k,) (int32 or int64) of indices into the shape list.
    fill_color, stroke_color: None, an RGBA tensor (4,) (straight alpha), a
        LinearGradient or a RadialGradient. The fill is drawn first, then the
        stroke (SVG order).
    use_even_odd_rule: fill rule over the winding number summed across the
        group's shapes; False means nonzero.
    shape_to_canvas: float tensor (3, 3), an affine map (last row 0 0 1).
    """

    def __init__(self, shape_ids, fill_color, use_even_odd_rule=True, stroke_color=None,
                 shape_to_canvas=None, id=""):
        if not isinstance(shape_ids, torch.Tensor):
            shape_ids = torch.as_tensor(shape_ids)
        self.shape_ids = shape_ids
        self.fill_color = fill_color
        self.use_even_odd_rule = use_even_odd_rule
        self.stroke_color = stroke_color
        self.shape_to_canvas = torch.eye(3) if shape_to_canvas is None else shape_to_canvas
        self.id = id


class PixelFilter:
    """The pixel reconstruction filter: ``type`` a FilterType, ``radius`` a
    float tensor () in pixels (box 0.5 covers exactly one pixel)."""

    def __init__(self, type, radius=None):
        self.type = FilterType(int(type))
        self.radius = _as_float_tensor(torch.tensor(0.5) if radius is None else radius,
                                       "radius", "PixelFilter")
