"""Paint servers: ``linearGradient`` and ``radialGradient`` as pydiffvg
paints, evaluated in the shape's own user space.

* ``href`` / ``xlink:href`` chains inherit attributes (``gradientUnits``,
  ``gradientTransform``, ``spreadMethod`` from any gradient; ``x1``..``y2``
  only from linear ones; ``cx cy r`` only from radial ones) and the stops of
  the first element in the chain that has any. Cycles end the chain.
* ``objectBoundingBox`` coordinates are mapped with the shape's geometric
  bounding box; ``userSpaceOnUse`` percentages resolve against the viewport.
* Linear gradients: the gradient value t(p) is an affine function of the
  position, so any ``gradientTransform`` (and the bounding-box map) folds
  exactly into new begin/end points: with A = bbox ∘ gradientTransform,
  linear part L and gradient vector d = end − begin, t(p) = g·(p − A·begin)
  with g = L⁻ᵀ d / |d|². The folded gradient runs from A·begin to
  A·begin + g / |g|².
* Radial gradients: the renderer has axis-aligned elliptic radii only.
  Translations, axis-aligned scales and 90° rotations fold exactly; for any
  other linear part (rotation by other angles, skew) the radii become the
  half extents of the transformed circle's bounding box (exact for a
  rotated circle or whenever the image of the circle is an axis-aligned
  ellipse; otherwise approximate, with a warning).
* The focal radius ``fr`` with the focal point at the centre is exact: SVG 2
  makes t = (d − fr/r) / (1 − fr/r) with d the distance in units of r, an
  affine function of d, so the stops are re-parametrised onto d. A focal
  point (fx, fy) away from the centre is drawn by the renderer's two-circle
  gradient (RadialGradient ``focal`` and ``focal_radius``). A focal point
  outside the end circle is not moved onto it (SVG 1.1 did that): as in SVG 2
  and resvg, only the cone that the two circles span is painted.
* ``spreadMethod`` reflect/repeat are exact: the gradient parameter's range
  over the painted extent is covered by unrolled periods of stops (up to
  MAX_PERIODS; beyond that, pad with a warning).
* Stops: offsets (number or %) clamped to [0, 1] and made monotone;
  ``stop-color`` and ``stop-opacity`` from attributes, ``style`` or sheets.
  One stop gives a solid colour. No stops, objectBoundingBox units on an
  empty box, or a negative radius make the reference invalid (None: the
  caller uses the paint's fallback colour, or none). A zero-length linear
  gradient or zero radius paints the last stop's colour. A singular
  ``gradientTransform`` is ignored (undefined in SVG; resvg does the same).
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np
import torch

from ..shapes import LinearGradient, RadialGradient
from .units import UnitError, parse_length, parse_transform, translate

_COMMON = ("gradientUnits", "gradientTransform", "spreadMethod")
_SPECIFIC = {"linearGradient": ("x1", "y1", "x2", "y2"),
             "radialGradient": ("cx", "cy", "r", "fx", "fy", "fr")}
_DEFAULTS = {"x1": "0%", "y1": "0%", "x2": "100%", "y2": "0%",
             "cx": "50%", "cy": "50%", "r": "50%"}


def _solid(rgba, alpha_scale: float) -> torch.Tensor:
    return torch.tensor([rgba[0], rgba[1], rgba[2], rgba[3] * alpha_scale], dtype=torch.float32)


def _parse_offset(text: Optional[str]) -> float:
    if text is None:
        return 0.0
    text = text.strip()
    try:
        value = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        return 0.0
    return min(1.0, max(0.0, value)) if math.isfinite(value) else 0.0


def resolve_gradient(loader, element) -> Tuple[str, dict, list]:
    """(tag of the referenced gradient, merged attributes, stop elements)."""
    tag = loader.local_tag(element)
    attrs, stops, seen = {}, None, set()
    node = element
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        node_tag = loader.local_tag(node)
        if node_tag not in _SPECIFIC:
            break
        names = _COMMON + (_SPECIFIC[tag] if node_tag == tag else ())
        for name in names:
            if name not in attrs and node.get(name) is not None:
                attrs[name] = node.get(name)
        if stops is None:
            children = [c for c in node if loader.local_tag(c) == "stop" and loader.is_svg(c)]
            if children:
                stops = children
        node = loader.href_target(node)
    return tag, attrs, stops or []


def gradient_paint(loader, element, bbox, viewport, alpha_scale: float, describe: str,
                   extent=None):
    """The paint for ``fill="url(#id)"``: None, an RGBA tensor (4,), or a
    Linear/RadialGradient in the shape's user space.

    bbox: (xmin, ymin, xmax, ymax) of the shape in user space, or None.
    extent: a box in user space that holds everything the paint covers (the
        bbox grown by the stroke's reach); needed to unroll spreadMethod
        reflect/repeat and focal radii into stops. Defaults to ``bbox``.
    viewport: (width, height) of the nearest viewport for % in userSpaceOnUse.
    alpha_scale: opacity × fill/stroke-opacity, multiplied into stop alphas.
    """
    tag, attrs, stop_elements = resolve_gradient(loader, element)
    offsets, colors = [], []
    for stop in stop_elements:
        offset = _parse_offset(stop.get("offset"))
        if offsets:
            offset = max(offset, offsets[-1])
        style = loader.document_style(stop)
        color = loader.resolve_color(style.get("stop-color", "black"), style)
        if color is None:
            color = (0.0, 0.0, 0.0, 0.0)
        opacity = loader.opacity_value(style.get("stop-opacity", "1"))
        offsets.append(offset)
        colors.append((color[0], color[1], color[2], color[3] * opacity * alpha_scale))
    if not offsets:
        return None
    if len(offsets) == 1:
        return torch.tensor(colors[0], dtype=torch.float32)
    last_color = torch.tensor(colors[-1], dtype=torch.float32)

    spread = (attrs.get("spreadMethod") or "pad").strip()
    if spread not in ("reflect", "repeat"):
        spread = "pad"
    extent = extent if extent is not None else bbox

    units = (attrs.get("gradientUnits") or "").strip()
    object_bbox = units != "userSpaceOnUse"
    try:
        transform = parse_transform(attrs.get("gradientTransform", ""))
    except UnitError as exc:
        loader.warn("gradientTransform", f"{describe}: gradientTransform ignored: {exc}")
        transform = np.eye(3)
    if abs(np.linalg.det(transform[:2, :2])) < 1e-300:
        # A singular gradientTransform is undefined behaviour in SVG; like
        # resvg we ignore it rather than paint nothing.
        loader.warn("gradientTransform", f"{describe}: singular gradientTransform ignored")
        transform = np.eye(3)
    origin = loader.specified(element).get("transform-origin")
    if origin and attrs.get("gradientTransform") is not None:
        # SVG 2: gradientTransform is the gradient's transform property, so
        # transform-origin applies; its reference box is the viewport for
        # userSpaceOnUse and the unit box of bounding-box units otherwise
        ox, oy = loader._transform_origin(origin, (1.0, 1.0) if object_bbox else viewport)
        transform = translate(ox, oy) @ transform @ translate(-ox, -oy)
    if object_bbox:
        if bbox is None:
            return None
        xmin, ymin, xmax, ymax = bbox
        width, height = xmax - xmin, ymax - ymin
        if width <= 0.0 or height <= 0.0:  # SVG: bbox units need a non-empty box
            return None
        to_user = np.array([[width, 0.0, xmin], [0.0, height, ymin], [0.0, 0.0, 1.0]]) @ transform
    else:
        to_user = transform
    view_w, view_h = viewport
    diag = math.sqrt((view_w ** 2 + view_h ** 2) / 2.0)

    def coord(name, axis):
        text = attrs.get(name, _DEFAULTS.get(name, "0"))
        try:
            if object_bbox:
                return parse_length(text, 1.0) if text.strip().endswith("%") else float(text)
            return parse_length(text, {"x": view_w, "y": view_h, "r": diag}[axis])
        except (UnitError, ValueError):
            return parse_length(_DEFAULTS.get(name, "0"), 1.0 if object_bbox else
                                {"x": view_w, "y": view_h, "r": diag}[axis])

    linear_part = to_user[:2, :2]
    offsets_t = torch.tensor(offsets, dtype=torch.float32)
    colors_t = torch.tensor(colors, dtype=torch.float32)
    if tag == "linearGradient":
        begin = np.array([coord("x1", "x"), coord("y1", "y")])
        end = np.array([coord("x2", "x"), coord("y2", "y")])
        direction = end - begin
        length_sq = float(direction @ direction)
        if length_sq == 0.0:
            return last_color
        if abs(np.linalg.det(linear_part)) < 1e-300:
            return None
        grad = np.linalg.inv(linear_part).T @ direction / length_sq
        begin_user = (to_user @ np.array([begin[0], begin[1], 1.0]))[:2]
        end_user = begin_user + grad / float(grad @ grad)
        if spread != "pad":
            # t(p) = grad · (p − begin_user) is affine, so its range over the
            # extent is spanned by the box corners.
            t_values = [float(grad @ (np.array(corner) - begin_user)) for corner in _corners(extent)]
            t_low, t_high = min(t_values), max(t_values)
            unrolled = _unroll(offsets, colors, spread, t_low, t_high)
            if unrolled is None:
                loader.warn("spreadMethod", f"{describe}: spreadMethod='{spread}' repeats more "
                                            f"than {MAX_PERIODS} times over the shape and is "
                                            f"rendered as 'pad'")
            else:
                new_offsets, new_colors = unrolled
                span = end_user - begin_user
                begin_user, end_user = begin_user + t_low * span, begin_user + t_high * span
                offsets_t = torch.tensor(new_offsets, dtype=torch.float32)
                colors_t = torch.tensor(new_colors, dtype=torch.float32)
        return LinearGradient(torch.tensor(begin_user, dtype=torch.float32),
                              torch.tensor(end_user, dtype=torch.float32), offsets_t, colors_t)
    center = np.array([coord("cx", "x"), coord("cy", "y")])
    radius = coord("r", "r")
    if radius < 0.0:
        return None
    if radius == 0.0:
        return last_color
    focal = np.array([coord("fx", "x") if "fx" in attrs else center[0],
                      coord("fy", "y") if "fy" in attrs else center[1]])
    focal_radius = coord("fr", "r") if "fr" in attrs else 0.0
    if focal_radius < 0.0:
        return None
    off_centre = float(np.hypot(*(focal - center))) > 1e-9 * radius
    center_user = (to_user @ np.array([center[0], center[1], 1.0]))[:2]
    (a, b), (c, d) = linear_part
    tol = 1e-12 * max(abs(a), abs(b), abs(c), abs(d), 1e-300)
    if abs(b) <= tol and abs(c) <= tol:
        radii = (abs(a) * radius, abs(d) * radius)
    elif abs(a) <= tol and abs(d) <= tol:
        radii = (abs(b) * radius, abs(c) * radius)
    else:  # half extents of the transformed circle
        radii = (math.hypot(a, b) * radius, math.hypot(c, d) * radius)
        # t = |L⁻¹ (p − c)| equals the axis-aligned form exactly when the
        # rows of L are orthogonal (the ellipse L·circle is axis-aligned)
        if abs(a * c + b * d) > 1e-9 * (a * a + b * b + c * c + d * d):
            loader.warn("radial-skew", f"{describe}: a radial gradient whose ellipse is not "
                                       f"axis-aligned (skew, or rotation with unequal scales) is "
                                       f"not supported; rendered as the axis-aligned ellipse of "
                                       f"the same extent")
    if radii[0] == 0.0 or radii[1] == 0.0:
        return None
    if off_centre:
        return _focal_gradient(loader, describe, center, radius, focal, focal_radius, to_user, radii,
                               spread, offsets, colors, extent)
    if spread != "pad" or focal_radius > 0.0:
        # d(p) = |(p − c) / radii| is the distance in units of r; the
        # renderer's parameter is d / d_max. With a focal circle of radius fr
        # at the centre SVG 2 gives t = (d − f) / (1 − f), f = fr / r, an
        # affine map of d, so the colour as a function of d is the spread
        # colour function of t re-parametrised: stops at d = f + t (1 − f).
        ratio = focal_radius / radius
        d_max = max(math.hypot((x - center_user[0]) / radii[0], (y - center_user[1]) / radii[1])
                    for x, y in _corners(extent))
        d_max = max(d_max, ratio, 1.0)
        unrolled = _unroll_radial(offsets, colors, spread, ratio, d_max)
        if unrolled is None:
            loader.warn("spreadMethod", f"{describe}: spreadMethod='{spread}' repeats more than "
                                        f"{MAX_PERIODS} times over the shape and is rendered as "
                                        f"'pad'")
            unrolled = _unroll_radial(offsets, colors, "pad", ratio, d_max)
        new_offsets, new_colors = unrolled
        radii = (radii[0] * d_max, radii[1] * d_max)
        offsets_t = torch.tensor(new_offsets, dtype=torch.float32)
        colors_t = torch.tensor(new_colors, dtype=torch.float32)
    return RadialGradient(torch.tensor(center_user, dtype=torch.float32),
                          torch.tensor(radii, dtype=torch.float32), offsets_t, colors_t)


#: spreadMethod reflect/repeat is unrolled into at most this many periods.
MAX_PERIODS = 1000


def _focal_gradient(loader, describe, center, radius, focal, focal_radius, to_user, radii, spread,
                    offsets, colors, extent):
    """The two-circle gradient of a focal point away from the centre (SVG 2
    14.3): circle(t) = (focal + t (center - focal), fr + t (r - fr)), drawn
    by the renderer directly. For reflect/repeat the parameter's range
    [t_low, t_high] over the painted extent is unrolled into stops: the
    circles at t_low and t_high span the same family of circles, with the
    parameter s = (t - t_low) / (t_high - t_low)."""
    scale = np.array(radii) / radius  # gradient units -> user units per axis

    def circle(t):  # (centre in user space, radius along x in user units)
        c = focal + t * (center - focal)
        return (to_user @ np.array([c[0], c[1], 1.0]))[:2], (focal_radius + t * (radius - focal_radius)) * scale[0]

    def paint(t0, t1, new_offsets, new_colors):
        (f_user, fr_user), (c_user, r_user) = circle(t0), circle(t1)
        factor = r_user / scale[0] / radius if radius > 0 else 1.0
        return RadialGradient(torch.tensor(c_user, dtype=torch.float32),
                              torch.tensor((radii[0] * factor, radii[1] * factor), dtype=torch.float32),
                              torch.tensor(new_offsets, dtype=torch.float32),
                              torch.tensor(new_colors, dtype=torch.float32),
                              focal=torch.tensor(f_user, dtype=torch.float32),
                              focal_radius=torch.tensor(float(fr_user), dtype=torch.float32))

    if spread == "pad":
        return paint(0.0, 1.0, offsets, colors)
    # t at the extent's corners bounds t over the box: the sublevel sets of t
    # are the discs of the family (convex), so t is quasi-convex and its
    # maximum over a box is at a corner; its minimum is at least the apex
    # t = -fr / (r - fr), where the circles shrink to a point.
    c_user = (to_user @ np.array([center[0], center[1], 1.0]))[:2]
    f_user = (to_user @ np.array([focal[0], focal[1], 1.0]))[:2]
    t_values = [_conical_parameter(np.array(corner), c_user, np.array(radii), f_user, focal_radius / radius)
                for corner in _corners(extent)]
    t_values = [t for t in t_values if t is not None]
    t_low = min([0.0] + t_values)
    if focal_radius < radius:  # inside the focal circle t falls to the apex
        t_low = -focal_radius / (radius - focal_radius)
    t_high = max([1.0] + t_values)
    unrolled = _unroll(offsets, colors, spread, t_low, t_high)
    if unrolled is None:
        loader.warn("spreadMethod", f"{describe}: spreadMethod='{spread}' repeats more than "
                                    f"{MAX_PERIODS} times over the shape and is rendered as 'pad'")
        return paint(0.0, 1.0, offsets, colors)
    return paint(t_low, t_high, *unrolled)


def _conical_parameter(p, c, radii, f, rho):
    """The largest t of the two-circle gradient at p (None where none), in
    units of the radii: end circle (c, 1), focal circle (f, rho)."""
    q, g = (p - f) / radii, (f - c) / radii
    delta = 1.0 - rho
    a, b, c0 = float(g @ g) - delta * delta, rho * delta - float(q @ g), float(q @ q) - rho * rho
    disc = b * b - a * c0
    if disc < 0.0:
        return None
    roots = [c0 / (2.0 * b)] if a == 0.0 and b != 0.0 else (
        [(b + math.sqrt(disc)) / a, (b - math.sqrt(disc)) / a] if a != 0.0 else [])
    valid = [t for t in roots if rho + t * delta >= 0.0]
    return max(valid) if valid else None


def _corners(box):
    xmin, ymin, xmax, ymax = box
    return ((xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax))


def _spread_breakpoints(offsets, colors, spread, t_low, t_high):
    """The colour as a function of the gradient parameter t over
    [t_low, t_high], as (t, rgba) breakpoints in increasing t (a repeated t is
    a jump): pad holds the end colours, repeat uses t − floor(t), reflect
    mirrors every odd period. None past MAX_PERIODS periods."""
    first, last = list(colors[0]), list(colors[-1])
    period = [(0.0, first)] + [(o, list(c)) for o, c in zip(offsets, colors)] + [(1.0, last)]
    if spread == "pad":
        return [(min(t_low, 0.0), first)] + period + [(max(t_high, 1.0), last)]
    k_low, k_high = math.floor(t_low), math.ceil(t_high)
    if k_high - k_low > MAX_PERIODS:
        return None
    points = []
    for k in range(k_low, max(k_high, k_low + 1)):
        if spread == "reflect" and k % 2:
            points += [(k + 1.0 - o, c) for o, c in reversed(period)]
        else:
            points += [(k + o, c) for o, c in period]
    return points


def _sample(points, t, from_right):
    """Colour of the breakpoint list at t (the right or left limit at a jump)."""
    for (t0, c0), (t1, c1) in zip(points[:-1], points[1:]):
        if t0 <= t <= t1 and (t < t1 or not from_right) and t1 > t0:
            w = (t - t0) / (t1 - t0)
            return [a * (1.0 - w) + b * w for a, b in zip(c0, c1)]
    return list(points[0][1] if t <= points[0][0] else points[-1][1])


def _restrict(points, t_low, t_high):
    """Breakpoints restricted to [t_low, t_high], with the colours at both ends."""
    inner = [(t, c) for t, c in points if t_low < t < t_high]
    return ([(t_low, _sample(points, t_low, True))] + inner
            + [(t_high, _sample(points, t_high, False))])


def _unroll(offsets, colors, spread, t_low, t_high):
    """Stops on [0, 1] for a gradient whose parameter runs t_low -> t_high,
    with the spread method applied. None past MAX_PERIODS periods."""
    if t_high <= t_low:
        t_high = t_low + 1e-9
    points = _spread_breakpoints(offsets, colors, spread, t_low, t_high)
    if points is None:
        return None
    points = _restrict(points, t_low, t_high)
    span = t_high - t_low
    return [(t - t_low) / span for t, _ in points], [c for _, c in points]


def _unroll_radial(offsets, colors, spread, ratio, d_max):
    """Stops on [0, 1] over the distance d / d_max for SVG 2's concentric
    focal circle (ratio = fr / r) and spread method."""
    if abs(ratio - 1.0) < 1e-12:
        # fr = r: t jumps from -inf to +inf at d = r; the limit fr -> r from
        # below paints the first colour inside and the last outside
        edge = 1.0 / d_max
        first, last = list(colors[0]), list(colors[-1])
        return [0.0, edge, edge, 1.0], [first, first, last, last]
    # t(d) = (d - ratio) / (1 - ratio) for d in [0, d_max]
    t_at_0, t_at_max = -ratio / (1.0 - ratio), (d_max - ratio) / (1.0 - ratio)
    t_low, t_high = min(t_at_0, t_at_max), max(t_at_0, t_at_max)
    points = _spread_breakpoints(offsets, colors, spread, t_low, t_high)
    if points is None:
        return None
    points = _restrict(points, t_low, t_high)
    stops = [((ratio + t * (1.0 - ratio)) / d_max, c) for t, c in points]
    if ratio > 1.0:  # d decreases as t increases
        stops.reverse()
    stops[0] = (0.0, stops[0][1])
    stops[-1] = (1.0, stops[-1][1])
    return [o for o, _ in stops], [c for _, c in stops]


def transform_paint(loader, paint, matrix, describe):
    """A Linear/RadialGradient defined in one user space, carried into
    another: ``matrix`` (3, 3) maps the first to the second (p' = A p).

    Linear: t(p) = (p − b)·d/|d|² becomes t(p') = (p' − A b)·g' with
    g' = L⁻ᵀ d/|d|² (L the linear part of A), so begin' = A b and
    end' = begin' + g'/|g'|². Radial: centre and focal point map through A;
    the radii become the half extents of the image of the ellipse, exact when
    that image is axis-aligned (otherwise approximate, with a warning)."""
    A = np.asarray(matrix, dtype=np.float64)
    L = A[:2, :2]
    if abs(np.linalg.det(L)) < 1e-300:
        return None

    def point(t):
        v = t.detach().double().cpu().numpy().reshape(2)
        return (A @ np.array([v[0], v[1], 1.0]))[:2]

    if isinstance(paint, LinearGradient):
        b = paint.begin.detach().double().cpu().numpy().reshape(2)
        d = paint.end.detach().double().cpu().numpy().reshape(2) - b
        length_sq = float(d @ d)
        if length_sq == 0.0:
            return paint
        g = np.linalg.inv(L).T @ d / length_sq
        begin = point(paint.begin)
        end = begin + g / float(g @ g)
        return LinearGradient(torch.tensor(begin, dtype=torch.float32), torch.tensor(end, dtype=torch.float32),
                              paint.offsets, paint.stop_colors)
    rx, ry = paint.radius.detach().double().cpu().numpy().reshape(2)
    (a, b), (c, d) = L
    hx, hy = math.hypot(a * rx, b * ry), math.hypot(c * rx, d * ry)
    if abs(a * c * rx * rx + b * d * ry * ry) > 1e-9 * (hx * hx + hy * hy):
        loader.warn("radial-skew", f"{describe}: a radial gradient whose ellipse is not axis-aligned "
                                   f"(skew, or rotation with unequal scales) is not supported; rendered "
                                   f"as the axis-aligned ellipse of the same extent")
    focal = None if paint.focal is None else torch.tensor(point(paint.focal), dtype=torch.float32)
    focal_radius = None
    if paint.focal_radius is not None and rx != 0:
        focal_radius = torch.tensor(float(paint.focal_radius) / rx * hx, dtype=torch.float32)
    return RadialGradient(torch.tensor(point(paint.center), dtype=torch.float32),
                          torch.tensor((hx, hy), dtype=torch.float32), paint.offsets, paint.stop_colors,
                          focal=focal, focal_radius=focal_radius)
