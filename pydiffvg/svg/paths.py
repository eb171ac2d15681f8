"""SVG path data: the grammar, elliptical arcs as cubic Béziers, dashing, and
bounding boxes.

A parsed path is a list of :class:`Subpath`. Each segment is a tuple of 1, 2
or 3 points: (end,) for a line, (control, end) for a quadratic, (control1,
control2, end) for a cubic, so ``len(segment) - 1`` is diffvg's
``num_control_points``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .errors import SVGError

Point = Tuple[float, float]

#: Coordinates beyond this magnitude are rejected as hostile or broken input.
MAX_COORDINATE = 1e15


@dataclass
class Subpath:
    """One subpath: ``start`` point, segments (see module doc), closed flag."""
    start: Point
    segments: List[Tuple[Point, ...]] = field(default_factory=list)
    closed: bool = False
    #: segments per path command, for markers (an arc gives several cubics,
    #: a zero-length arc none); empty: one command per segment
    commands: List[int] = field(default_factory=list, compare=False)

    def end(self) -> Point:
        return self.segments[-1][-1] if self.segments else self.start

    def to_arrays(self) -> Tuple[List[int], List[Point], bool]:
        """diffvg layout: (num_control_points (S,), points (N, 2), is_closed).
        A closed subpath ends its last segment at point 0, which is not
        repeated; a closing line is added when the last point is elsewhere."""
        segments = list(self.segments)
        if self.closed and segments[-1][-1] != self.start:
            segments.append((self.start,))
        points = [self.start]
        for segment in segments:
            points.extend(segment)
        if self.closed:
            points.pop()
        return [len(s) - 1 for s in segments], points, self.closed


# ----------------------------------------------------------------------------
# Grammar
# ----------------------------------------------------------------------------

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
#: white space, a number (group 1), then comma-white-space
_NUMBER_ARG = re.compile(r"[ \t\r\n\f]*(" + _NUMBER + r")[ \t\r\n\f]*(?:,[ \t\r\n\f]*)?")
_ARG_COUNTS = {"m": 2, "l": 2, "h": 1, "v": 1, "c": 6, "s": 4, "q": 4, "t": 2, "a": 7, "z": 0}
_WSP = " \t\r\n\f"


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def error(self, problem: str, pos: Optional[int] = None) -> SVGError:
        pos = self.pos if pos is None else pos
        snippet = self.text[max(0, pos - 10):pos + 10]
        return SVGError(f"path data: {problem} at offset {pos} (near '{snippet}')")

    def skip_wsp(self):
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in _WSP:
            pos += 1
        self.pos = pos

    def skip_comma_wsp(self):
        self.skip_wsp()
        if self.pos < len(self.text) and self.text[self.pos] == ",":
            self.pos += 1
            self.skip_wsp()

    def at_number(self) -> bool:
        self.skip_wsp()
        return self.pos < len(self.text) and self.text[self.pos] in "+-.0123456789"

    def number(self) -> float:
        # one match takes the white space before, the number, and the
        # comma-white-space after (most of a path's parse time was here)
        match = _NUMBER_ARG.match(self.text, self.pos)
        if not match:
            self.skip_wsp()
            raise self.error("expected a number")
        value = float(match.group(1))
        if not math.isfinite(value) or abs(value) > MAX_COORDINATE:
            self.pos = match.start(1)
            raise self.error(f"number {match.group(1)} out of range")
        self.pos = match.end()
        return value

    def flag(self) -> bool:
        self.skip_wsp()
        if self.pos >= len(self.text) or self.text[self.pos] not in "01":
            raise self.error("expected an arc flag 0 or 1")
        value = self.text[self.pos] == "1"
        self.pos += 1
        self.skip_comma_wsp()
        return value


def parse_path_data(text: str) -> Tuple[List[Subpath], Optional[SVGError]]:
    """Parse the ``d`` attribute.

    Returns (subpaths, error). On a syntax error the subpaths hold everything
    before the bad command (SVG 1.1 F.2 error handling) and ``error`` says
    where it went wrong; the caller decides whether to raise it.
    Subpaths without segments (a lone moveto) are dropped.
    """
    scanner = _Scanner(text)
    subpaths: List[Subpath] = []
    current: Optional[Subpath] = None
    cur = (0.0, 0.0)
    start = (0.0, 0.0)
    last_cubic_ctrl: Optional[Point] = None
    last_quad_ctrl: Optional[Point] = None
    command = None
    error: Optional[SVGError] = None

    def open_subpath(point):
        nonlocal current
        current = Subpath(point)
        subpaths.append(current)

    try:
        scanner.skip_wsp()
        while scanner.pos < len(text):
            char = text[scanner.pos]
            if char.isalpha():
                if char.lower() not in _ARG_COUNTS:
                    raise scanner.error(f"unknown command '{char}'")
                command = char
                scanner.pos += 1
                scanner.skip_wsp()
            elif command is None:
                raise scanner.error("path data must start with a moveto")
            elif command in "zZ" or not scanner.at_number():
                raise scanner.error(f"unexpected '{char}'")
            if command is None or (not subpaths and command not in "mM"):
                raise scanner.error("path data must start with a moveto")
            lower = command.lower()
            relative = command.islower()
            args = []
            if lower == "a":
                for index in range(7):
                    args.append(scanner.flag() if index in (3, 4) else scanner.number())
            else:
                for _ in range(_ARG_COUNTS[lower]):
                    args.append(scanner.number())
            ox, oy = cur if relative else (0.0, 0.0)
            reflect_cubic, reflect_quad = last_cubic_ctrl, last_quad_ctrl
            last_cubic_ctrl = last_quad_ctrl = None
            if lower == "m":
                cur = (args[0] + ox, args[1] + oy)
                start = cur
                open_subpath(cur)
                command = "l" if relative else "L"  # implicit lineto repeats
                continue
            if lower == "z":
                if current is not None:
                    current.closed = True
                cur = start
                current = None
                command = None  # "Z" takes no arguments; a number after it is an error
                scanner.skip_wsp()
                continue
            if current is None:  # drawing after Z starts a subpath at the last start
                open_subpath(start)
            before = len(current.segments)
            if lower == "l":
                end = (args[0] + ox, args[1] + oy)
                current.segments.append((end,))
            elif lower == "h":
                end = (args[0] + ox, cur[1])
                current.segments.append((end,))
            elif lower == "v":
                end = (cur[0], args[0] + (cur[1] if relative else 0.0))
                current.segments.append((end,))
            elif lower == "c":
                c1 = (args[0] + ox, args[1] + oy)
                c2 = (args[2] + ox, args[3] + oy)
                end = (args[4] + ox, args[5] + oy)
                current.segments.append((c1, c2, end))
                last_cubic_ctrl = c2
            elif lower == "s":
                # first control point: reflection of the previous C/S second control
                c1 = (2 * cur[0] - reflect_cubic[0], 2 * cur[1] - reflect_cubic[1]) \
                    if reflect_cubic else cur
                c2 = (args[0] + ox, args[1] + oy)
                end = (args[2] + ox, args[3] + oy)
                current.segments.append((c1, c2, end))
                last_cubic_ctrl = c2
            elif lower == "q":
                ctrl = (args[0] + ox, args[1] + oy)
                end = (args[2] + ox, args[3] + oy)
                current.segments.append((ctrl, end))
                last_quad_ctrl = ctrl
            elif lower == "t":
                ctrl = (2 * cur[0] - reflect_quad[0], 2 * cur[1] - reflect_quad[1]) \
                    if reflect_quad else cur
                end = (args[0] + ox, args[1] + oy)
                current.segments.append((ctrl, end))
                last_quad_ctrl = ctrl
            else:  # arc
                end = (args[5] + ox, args[6] + oy)
                current.segments.extend(
                    arc_to_cubics(cur, args[0], args[1], args[2], args[3], args[4], end))
            current.commands.append(len(current.segments) - before)
            cur = end
    except SVGError as exc:
        error = exc
    return [s for s in subpaths if s.segments], error


# ----------------------------------------------------------------------------
# Elliptical arcs (SVG 1.1 implementation notes F.6)
# ----------------------------------------------------------------------------

def _vector_angle(ux, uy, vx, vy) -> float:
    return math.atan2(ux * vy - uy * vx, ux * vx + uy * vy)


def arc_to_cubics(p0: Point, rx: float, ry: float, x_axis_rotation_deg: float,
                  large_arc: bool, sweep: bool, p1: Point) -> List[Tuple[Point, Point, Point]]:
    """Cubic segments approximating the SVG arc from ``p0`` to ``p1``.

    Endpoint to center conversion per F.6.5, out-of-range radii scaled up per
    F.6.6, then at most 90° per cubic with the tangent length
    k = 4/3 tan(Δ/4) (max radial error ≈ 2.7e-4 of the radius at 90°).
    A zero radius gives a straight line; equal endpoints give nothing.
    """
    if p0 == p1:
        return []
    rx, ry = abs(rx), abs(ry)
    if rx == 0.0 or ry == 0.0:
        return [(p1,)]
    phi = math.radians(x_axis_rotation_deg % 360.0)
    cos_phi, sin_phi = math.cos(phi), math.sin(phi)
    # F.6.5.1: (x1', y1') = R(-phi) (p0 - p1) / 2
    dx2, dy2 = (p0[0] - p1[0]) / 2.0, (p0[1] - p1[1]) / 2.0
    x1p = cos_phi * dx2 + sin_phi * dy2
    y1p = -sin_phi * dx2 + cos_phi * dy2
    # F.6.6.2: scale radii up when no ellipse fits through both end points
    lam = (x1p / rx) ** 2 + (y1p / ry) ** 2
    if lam > 1.0:
        scale = math.sqrt(lam)
        rx, ry = rx * scale, ry * scale
    # F.6.5.2: center in the rotated frame
    num = rx * rx * ry * ry - rx * rx * y1p * y1p - ry * ry * x1p * x1p
    den = rx * rx * y1p * y1p + ry * ry * x1p * x1p
    coef = math.sqrt(max(0.0, num / den)) if den > 0 else 0.0
    if large_arc == sweep:
        coef = -coef
    cxp = coef * rx * y1p / ry
    cyp = -coef * ry * x1p / rx
    # F.6.5.3: back to user space
    cx = cos_phi * cxp - sin_phi * cyp + (p0[0] + p1[0]) / 2.0
    cy = sin_phi * cxp + cos_phi * cyp + (p0[1] + p1[1]) / 2.0
    # F.6.5.5-6: start angle and sweep
    ux, uy = (x1p - cxp) / rx, (y1p - cyp) / ry
    vx, vy = (-x1p - cxp) / rx, (-y1p - cyp) / ry
    theta1 = _vector_angle(1.0, 0.0, ux, uy)
    delta = _vector_angle(ux, uy, vx, vy)
    if not sweep and delta > 0:
        delta -= 2 * math.pi
    elif sweep and delta < 0:
        delta += 2 * math.pi

    def to_user(x, y):  # unit-circle point -> ellipse in user space
        x, y = x * rx, y * ry
        return (cos_phi * x - sin_phi * y + cx, sin_phi * x + cos_phi * y + cy)

    count = max(1, int(math.ceil(abs(delta) / (math.pi / 2) - 1e-9)))
    step = delta / count
    k = 4.0 / 3.0 * math.tan(step / 4.0)
    out = []
    angle = theta1
    for index in range(count):
        a, b = angle, angle + step
        ca, sa, cb, sb = math.cos(a), math.sin(a), math.cos(b), math.sin(b)
        c1 = to_user(ca - k * sa, sa + k * ca)
        c2 = to_user(cb + k * sb, sb - k * cb)
        end = p1 if index == count - 1 else to_user(cb, sb)
        out.append((c1, c2, end))
        angle = b
    return out


def ellipse_subpath(cx: float, cy: float, rx: float, ry: float) -> Subpath:
    """A closed 4-cubic ellipse, starting at (cx + rx, cy), clockwise on screen
    (the direction SVG 2 specifies for circle/ellipse, which matters for dashes)."""
    k = 4.0 / 3.0 * math.tan(math.pi / 8.0)
    pts = [(1, 0), (0, 1), (-1, 0), (0, -1), (1, 0)]
    segments = []
    for (ax, ay), (bx, by) in zip(pts[:-1], pts[1:]):
        c1 = (cx + rx * (ax - k * ay), cy + ry * (ay + k * ax))
        c2 = (cx + rx * (bx + k * by), cy + ry * (by - k * bx))
        segments.append((c1, c2, (cx + rx * bx, cy + ry * by)))
    return Subpath((cx + rx, cy), segments, True)


def rounded_rect_subpath(x: float, y: float, w: float, h: float, rx: float, ry: float) -> Subpath:
    """The SVG 2 rounded rectangle path (lines and quarter-ellipse cubics),
    starting at (x + rx, y) and running clockwise on screen."""
    k = 4.0 / 3.0 * math.tan(math.pi / 8.0)
    kx, ky = k * rx, k * ry
    r, b = x + w, y + h
    segs = [
        ((r - rx, y),),
        ((r - rx + kx, y), (r, y + ry - ky), (r, y + ry)),
        ((r, b - ry),),
        ((r, b - ry + ky), (r - rx + kx, b), (r - rx, b)),
        ((x + rx, b),),
        ((x + rx - kx, b), (x, b - ry + ky), (x, b - ry)),
        ((x, y + ry),),
        ((x, y + ry - ky), (x + rx - kx, y), (x + rx, y)),
    ]
    # drop zero-length straight sides (rx = w/2 or ry = h/2)
    out, prev = [], (x + rx, y)
    for seg in segs:
        if len(seg) == 1 and seg[0] == prev:
            continue
        out.append(seg)
        prev = seg[-1]
    return Subpath((x + rx, y), out, True)


# ----------------------------------------------------------------------------
# Bézier helpers: evaluation, splitting, arc length, bounds
# ----------------------------------------------------------------------------

def segment_controls(start: Point, segment: Sequence[Point]) -> np.ndarray:
    """Control polygon (degree + 1, 2) of a segment starting at ``start``."""
    return np.array((start,) + tuple(segment), dtype=np.float64)


def _derivative_controls(ctrl: np.ndarray) -> np.ndarray:
    return (len(ctrl) - 1) * (ctrl[1:] - ctrl[:-1])


def _bezier_eval(ctrl: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Evaluate a Bézier (any degree) at parameters t (M,) -> (M, 2) by de Casteljau."""
    pts = np.broadcast_to(ctrl, (len(t),) + ctrl.shape).copy()
    t = t[:, None]
    for level in range(len(ctrl) - 1, 0, -1):
        pts = pts[:, :level] * (1 - t[:, :, None]) + pts[:, 1:level + 1] * t[:, :, None]
    return pts[:, 0]


def split_bezier(ctrl: np.ndarray, t: float) -> Tuple[np.ndarray, np.ndarray]:
    """de Casteljau split at t: the control polygons of [0, t] and [t, 1]."""
    left, right = [ctrl[0]], [ctrl[-1]]
    pts = ctrl
    while len(pts) > 1:
        pts = pts[:-1] * (1 - t) + pts[1:] * t
        left.append(pts[0])
        right.append(pts[-1])
    return np.array(left), np.array(right[::-1])


def sub_bezier(ctrl: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """Control polygon of the piece of the curve between t0 and t1 (t0 <= t1)."""
    if t0 > 0.0:
        _, ctrl = split_bezier(ctrl, t0)
        t1 = (t1 - t0) / (1.0 - t0) if t0 < 1.0 else 1.0
    if t1 < 1.0:
        ctrl, _ = split_bezier(ctrl, min(max(t1, 0.0), 1.0))
    return ctrl


_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)
_TABLE_INTERVALS = 16


def _speed(dctrl: np.ndarray, t: np.ndarray) -> np.ndarray:
    if len(dctrl) == 1:
        return np.full(len(t), float(np.hypot(*dctrl[0])))
    return np.hypot(*_bezier_eval(dctrl, t).T)


def _length_between(dctrl, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
    """∫_{t0}^{t1} |B'(t)| dt by 8-point Gauss–Legendre, vectorised over intervals."""
    half = (t1 - t0) / 2.0
    mid = (t1 + t0) / 2.0
    ts = (mid[:, None] + half[:, None] * _GL_X[None, :]).ravel()
    speeds = _speed(dctrl, ts).reshape(len(t0), len(_GL_X))
    return half * (speeds @ _GL_W)


class ArcLengthTable:
    """Cumulative arc length of one segment on a uniform parameter grid, with
    inversion s -> t by Newton's method on the containing interval."""

    def __init__(self, ctrl: np.ndarray):
        self.ctrl = ctrl
        self.dctrl = _derivative_controls(ctrl)
        grid = np.linspace(0.0, 1.0, _TABLE_INTERVALS + 1)
        pieces = _length_between(self.dctrl, grid[:-1], grid[1:])
        self.grid = grid
        self.cumulative = np.concatenate([[0.0], np.cumsum(pieces)])
        self.length = float(self.cumulative[-1])

    def param_at(self, s: float) -> float:
        if s <= 0.0:
            return 0.0
        if s >= self.length:
            return 1.0
        idx = int(np.searchsorted(self.cumulative, s, side="right") - 1)
        idx = min(max(idx, 0), _TABLE_INTERVALS - 1)
        lo, hi = self.grid[idx], self.grid[idx + 1]
        s_lo, s_hi = self.cumulative[idx], self.cumulative[idx + 1]
        t = lo + (hi - lo) * ((s - s_lo) / (s_hi - s_lo) if s_hi > s_lo else 0.0)
        # Newton on f(t) = s_lo + ∫_lo^t |B'| - s, kept inside [lo, hi]
        for _ in range(8):
            f = s_lo + _length_between(self.dctrl, np.array([lo]), np.array([t]))[0] - s
            if abs(f) < 1e-12 * max(1.0, self.length):
                break
            speed = _speed(self.dctrl, np.array([t]))[0]
            if speed <= 1e-300:
                break
            t = min(max(t - f / speed, lo), hi)
        return float(t)


def subpath_segments(subpath: Subpath) -> List[np.ndarray]:
    """Control polygons of every segment, including the closing line."""
    out, prev = [], subpath.start
    for segment in subpath.segments:
        out.append(segment_controls(prev, segment))
        prev = segment[-1]
    if subpath.closed and prev != subpath.start:
        out.append(segment_controls(prev, (subpath.start,)))
    return out


def subpath_length(subpath: Subpath) -> float:
    return sum(ArcLengthTable(c).length for c in subpath_segments(subpath))


def _in_line(ctrl: Sequence[Point]) -> bool:
    """Whether every control point lies within sqrt(1e-5) times the polygon's
    size of the line through its two farthest-apart points (Skia's
    ``cubic_in_line``/``quad_in_line`` test, with its tolerance).

    Plain float arithmetic on a few points: numpy calls on arrays this small
    cost more than the math (this test once took a third of a large file's
    parse time)."""
    count = len(ctrl)
    far, size = (0, 1), -1.0
    for i in range(count):
        xi, yi = ctrl[i]
        for j in range(i + 1, count):
            extent = max(abs(ctrl[j][0] - xi), abs(ctrl[j][1] - yi))
            if extent > size:  # the first pair of the largest extent, as max() picks
                far, size = (i, j), extent
    if size == 0.0:
        return True
    (ox, oy), (fx, fy) = ctrl[far[0]], ctrl[far[1]]
    ax, ay = fx - ox, fy - oy
    axis_sq = ax * ax + ay * ay
    for k in range(count):
        if k in far:
            continue
        dx, dy = ctrl[k][0] - ox, ctrl[k][1] - oy
        # squared distance to the line: |offset - (offset . axis / |axis|^2) axis|^2
        along = (dx * ax + dy * ay) / axis_sq
        ex, ey = dx - along * ax, dy - along * ay
        if ex * ex + ey * ey > 1e-5 * size * size:
            return False
    return True


def _speed_extrema(ctrl: np.ndarray) -> List[float]:
    """Parameters t in (0, 1) where B'(t) . B''(t) = 0 (the speed is extremal:
    for a flat curve, where it turns back or bends), as Skia's
    ``SkFindCubicMaxCurvature``/``SkFindQuadMaxCurvature`` find them."""
    if len(ctrl) == 3:
        # B' = 2(A + B t), A = P1 - P0, B = P0 - 2 P1 + P2: (A + B t) . B = 0
        a, b = ctrl[1] - ctrl[0], ctrl[0] - 2 * ctrl[1] + ctrl[2]
        denominator = float(b @ b)
        t = -float(a @ b) / denominator if denominator > 0.0 else 0.0
        return [t] if 0.0 < t < 1.0 else []
    # B'/3 = A + 2 B t + C t^2 and B''/6 = B + C t with A = P1 - P0,
    # B = P2 - 2 P1 + P0, C = P3 - 3 P2 + 3 P1 - P0:
    # (A + 2 B t + C t^2) . (B + C t) = C.C t^3 + 3 B.C t^2 + (2 B.B + A.C) t + A.B
    a = ctrl[1] - ctrl[0]
    b = ctrl[2] - 2 * ctrl[1] + ctrl[0]
    c = ctrl[3] - 3 * ctrl[2] + 3 * ctrl[1] - ctrl[0]
    coefficients = np.array([c @ c, 3 * (b @ c), 2 * (b @ b) + a @ c, a @ b], dtype=np.float64)
    scale = float(np.max(np.abs(coefficients)))
    if scale == 0.0:
        return []
    coefficients = np.trim_zeros(coefficients / scale, "f")
    if len(coefficients) < 2:
        return []
    roots = np.roots(coefficients)
    return sorted({float(r.real) for r in roots if abs(r.imag) <= 1e-9 and 0.0 < r.real < 1.0})


def straighten_flat_curves(subpath: Subpath) -> Subpath:
    """The subpath with every quadratic or cubic whose control points are
    all (nearly) on one line replaced by lines: from its start through the
    points where its speed is extremal to its end.

    This is how Skia (and so resvg and Chrome) strokes such curves: a flat
    curve's end tangents can point anywhere (a control point 1e-4 from its
    end point, or a tiny hook at the end), while the drawn stroke follows
    the line, so its caps and joins are those of the lines. The points
    move by at most sqrt(1e-5) times the curve's size (Skia's tolerance).
    Only needed where caps or joins are not round.
    """
    out = Subpath(subpath.start, [], subpath.closed)
    prev = subpath.start
    for segment in subpath.segments:
        if len(segment) > 1 and _in_line((prev,) + tuple(segment)):
            ctrl = segment_controls(prev, segment)
            ts = _speed_extrema(ctrl)
            stops = _bezier_eval(ctrl, np.array(ts)) if ts else []
            # a stop next to the previous point or the end would make a
            # line too short to have a meaningful direction (Skia's float
            # parameters round such roots to 0 or 1 and drop them)
            near = 1e-5 * float(np.max(np.ptp(ctrl, axis=0)))
            last = ctrl[0]
            for stop in stops:
                if np.max(np.abs(stop - last)) > near and np.max(np.abs(stop - ctrl[-1])) > near:
                    out.segments.append(((float(stop[0]), float(stop[1])),))
                    last = stop
            out.segments.append((segment[-1],))
            prev = segment[-1]
            continue
        out.segments.append(segment)
        prev = segment[-1]
    return out


class TooManyDashes(Exception):
    pass


def dash_subpaths(subpaths: List[Subpath], pattern: Sequence[float], offset: float,
                  max_dashes: int = 100000) -> List[Subpath]:
    """Cut subpaths into open dashes (SVG stroke-dasharray / stroke-dashoffset).

    ``pattern``: non-negative lengths with a positive sum (odd counts must
    already be repeated). The pattern restarts at each subpath. Zero-length
    dashes come out as one degenerate line so that round/square caps still
    draw a dot. Raises TooManyDashes past ``max_dashes``.

    On a closed subpath a dash that runs through the start point is one
    dash: when the pattern is inside a dash at the start and inside one at
    the end, the last and first pieces are joined (the last one continued by
    the first), so the stroke has a join there instead of two caps, as in
    Skia/resvg (SkDashPath) and browsers.
    """
    total = float(sum(pattern))
    out: List[Subpath] = []
    for subpath in subpaths:
        # position within the pattern at the start of the subpath
        phase = offset % total
        index = 0
        # terminates: phase < total = sum(pattern)
        while phase > pattern[index] or (phase == pattern[index] and pattern[index] > 0):
            phase -= pattern[index]
            index = (index + 1) % len(pattern)
        remaining = pattern[index] - phase
        first = len(out)
        starts_in_dash = index % 2 == 0 and remaining > 0.0
        ends_in_dash = False  # the last dash reaches the end of the subpath
        dash: Optional[Subpath] = None
        segments = subpath_segments(subpath)
        for number, ctrl in enumerate(segments):
            table = ArcLengthTable(ctrl)
            last_segment = number == len(segments) - 1
            pos = 0.0
            while True:
                on = index % 2 == 0
                step = min(remaining, table.length - pos)
                if on and step > 0.0:
                    t0, t1 = table.param_at(pos), table.param_at(pos + step)
                    piece = sub_bezier(ctrl, t0, t1)
                    if dash is None:
                        dash = Subpath(tuple(piece[0]))
                    dash.segments.append(tuple(tuple(p) for p in piece[1:]))
                pos += step
                remaining -= step
                if remaining > 1e-12 * max(1.0, total):
                    break  # segment exhausted inside this pattern entry
                # move to the next pattern entry
                if on:
                    if dash is None:  # zero-length dash: a dot
                        point = tuple(sub_bezier(ctrl, table.param_at(pos), 1.0)[0])
                        dash = Subpath(point, [(point,)])
                    out.append(dash)
                    ends_in_dash = last_segment and table.length - pos <= 1e-12 * max(1.0, total)
                    dash = None
                    if len(out) > max_dashes:
                        raise TooManyDashes(f"more than {max_dashes} dashes")
                index = (index + 1) % len(pattern)
                remaining = pattern[index]
                if pos >= table.length and remaining > 0.0:
                    break
        if dash is not None:
            out.append(dash)
            ends_in_dash = True
        if subpath.closed and starts_in_dash and ends_in_dash and len(out) - first >= 2:
            head, tail = out.pop(first), out.pop()
            out.append(Subpath(tail.start, tail.segments + head.segments))
    return out


def _axis_extrema(ctrl_1d: Sequence[float]) -> List[float]:
    """Parameters in (0, 1) where one coordinate of a quadratic/cubic has
    zero derivative (the roots of the derivative polynomial)."""
    degree = len(ctrl_1d) - 1
    if degree == 2:
        den = ctrl_1d[0] - 2 * ctrl_1d[1] + ctrl_1d[2]
        return [(ctrl_1d[0] - ctrl_1d[1]) / den] if den != 0 else []
    if degree == 3:
        # B'(t)/3 = a t^2 + b t + c
        p0, p1, p2, p3 = ctrl_1d
        a = -p0 + 3 * p1 - 3 * p2 + p3
        b = 2 * (p0 - 2 * p1 + p2)
        c = p1 - p0
        if abs(a) < 1e-12 * max(1.0, abs(b), abs(c)):
            return [-c / b] if b != 0 else []
        disc = b * b - 4 * a * c
        if disc < 0:
            return []
        root = math.sqrt(disc)
        return [(-b + root) / (2 * a), (-b - root) / (2 * a)]
    return []


def _casteljau(ctrl: Sequence[Point], t: float) -> Point:
    """One point of a Bézier (any degree) by de Casteljau, in plain floats."""
    xs = [p[0] for p in ctrl]
    ys = [p[1] for p in ctrl]
    u = 1 - t
    for level in range(len(ctrl) - 1, 0, -1):
        xs = [xs[k] * u + xs[k + 1] * t for k in range(level)]
        ys = [ys[k] * u + ys[k + 1] * t for k in range(level)]
    return xs[0], ys[0]


def subpaths_bbox(subpaths: List[Subpath]) -> Optional[Tuple[float, float, float, float]]:
    """Tight geometric bounding box (xmin, ymin, xmax, ymax), no stroke.

    Plain float arithmetic: this runs once per shape of a file, on a few
    points per segment, where numpy's per-call cost dominated."""
    xs: List[float] = []
    ys: List[float] = []
    for subpath in subpaths:
        prev = subpath.start
        segments = list(subpath.segments)
        if subpath.closed and segments and segments[-1][-1] != subpath.start:
            segments.append((subpath.start,))
        for segment in segments:
            ctrl = (prev,) + tuple(segment)
            xs.extend((prev[0], segment[-1][0]))
            ys.extend((prev[1], segment[-1][1]))
            if len(ctrl) > 2:
                for axis in (0, 1):
                    for t in _axis_extrema([p[axis] for p in ctrl]):
                        if 0.0 < t < 1.0:
                            x, y = _casteljau(ctrl, t)
                            xs.append(x)
                            ys.append(y)
            prev = segment[-1]
        if not subpath.segments:
            xs.append(subpath.start[0])
            ys.append(subpath.start[1])
    if not xs:
        return None
    return (float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys)))


# ----------------------------------------------------------------------------
# Clipping fills to half-planes (nested <svg> / <symbol> viewports)
# ----------------------------------------------------------------------------

#: A half-plane a·x + b·y <= c in some user space, as (a, b, c).
HalfPlane = Tuple[float, float, float]


def _roots_in_unit_interval(values: np.ndarray) -> List[float]:
    """Parameters t in (0, 1) where the Bézier polynomial with Bernstein
    coefficients ``values`` (degree 1 to 3) is zero, sorted."""
    degree = len(values) - 1
    # Bernstein -> power basis, highest power first (np.roots convention)
    if degree == 1:
        coefficients = [values[1] - values[0], values[0]]
    elif degree == 2:
        d0, d1, d2 = values
        coefficients = [d0 - 2 * d1 + d2, 2 * (d1 - d0), d0]
    else:
        d0, d1, d2, d3 = values
        coefficients = [-d0 + 3 * d1 - 3 * d2 + d3, 3 * d0 - 6 * d1 + 3 * d2, 3 * (d1 - d0), d0]
    scale = max(abs(v) for v in values)
    if scale == 0.0:
        return []
    roots = np.roots(np.array(coefficients) / scale)
    out = sorted(float(r.real) for r in roots
                 if abs(r.imag) <= 1e-9 and 1e-12 < r.real < 1.0 - 1e-12)
    return out


def clip_subpaths(subpaths: List[Subpath], half_planes: Sequence[HalfPlane]) -> List[Subpath]:
    """The fill region of ``subpaths`` (each implicitly closed) intersected
    with the convex region where every half-plane a·x + b·y <= c holds.

    Sutherland–Hodgman on curves, one half-plane at a time: every segment is
    split where it crosses the boundary line (the roots of the Bernstein
    polynomial a·B(t) + b·B(t) − c, whose coefficients are the control
    points' signed values), pieces inside are kept, and each piece outside is
    replaced by the straight segment between the projections of its end
    points onto the boundary line. The replaced curve differs from the kept
    one by closed loops that lie in the closed outside half-plane, so the
    winding number of every point strictly inside is unchanged (both fill
    rules stay exact) and every point outside gets winding number 0. Edges
    that run along the boundary both ways enclose no area.
    """
    current = [Subpath(s.start, list(s.segments), True) for s in subpaths if s.segments]
    for a, b, c in half_planes:
        norm_sq = a * a + b * b
        if norm_sq == 0.0:
            if c < 0.0:
                return []  # 0 <= c fails everywhere
            continue

        def signed(point, a=a, b=b, c=c):
            return a * point[0] + b * point[1] - c

        def project(point, a=a, b=b, norm_sq=norm_sq):
            excess = signed(point)
            return (point[0] - excess * a / norm_sq, point[1] - excess * b / norm_sq)

        clipped: List[Subpath] = []
        for subpath in current:
            controls = subpath_segments(subpath)
            scale = max(1.0, max(float(np.abs(ctrl).max()) for ctrl in controls))
            tolerance = 1e-12 * scale * math.sqrt(norm_sq)
            values = [[signed(p) for p in ctrl] for ctrl in controls]
            if all(v <= tolerance for vals in values for v in vals):
                clipped.append(subpath)  # entirely inside
                continue
            if all(v >= -tolerance for vals in values for v in vals):
                continue  # entirely outside (or on the line): no area left
            pieces: List[np.ndarray] = []
            for ctrl, vals in zip(controls, values):
                cuts = [0.0] + _roots_in_unit_interval(np.array(vals)) + [1.0]
                for t0, t1 in zip(cuts[:-1], cuts[1:]):
                    piece = sub_bezier(ctrl, t0, t1)
                    middle = _bezier_eval(piece, np.array([0.5]))[0]
                    if signed(middle) <= tolerance:
                        pieces.append(piece)
                    else:  # outside: the chord along the boundary line
                        pieces.append(np.array([project(piece[0]), project(piece[-1])]))
            start = tuple(float(v) for v in pieces[0][0])
            segments = [tuple(tuple(float(v) for v in p) for p in piece[1:]) for piece in pieces]
            clipped.append(Subpath(start, segments, True))
        current = clipped
    return current


def bbox_side(bbox: Tuple[float, float, float, float], half_planes: Sequence[HalfPlane]) -> str:
    """'inside' when the box lies in every half-plane, 'outside' when it lies
    outside one of them, else 'partial'. The box is convex, so testing its
    four corners is exact for the box (and conservative for what it bounds)."""
    xmin, ymin, xmax, ymax = bbox
    corners = ((xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax))
    inside = True
    for a, b, c in half_planes:
        values = [a * x + b * y - c for x, y in corners]
        if min(values) >= 0.0:  # at most touching the boundary: no area inside
            return "outside"
        if max(values) > 0.0:
            inside = False
    return "inside" if inside else "partial"
