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
  rotated circle, approximate otherwise). ``fx``/``fy``/``fr`` are ignored:
  the renderer has no focal point or focal radius.
* ``spreadMethod`` reflect/repeat render as pad, with one warning per load.
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
from .units import UnitError, parse_length, parse_transform

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


def gradient_paint(loader, element, bbox, viewport, alpha_scale: float, describe: str):
    """The paint for ``fill="url(#id)"``: None, an RGBA tensor (4,), or a
    Linear/RadialGradient in the shape's user space.

    bbox: (xmin, ymin, xmax, ymax) of the shape in user space, or None.
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
    if spread in ("reflect", "repeat"):
        loader.warn("spreadMethod", f"{describe}: spreadMethod='{spread}' is rendered as 'pad'")

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
        return LinearGradient(torch.tensor(begin_user, dtype=torch.float32),
                              torch.tensor(end_user, dtype=torch.float32), offsets_t, colors_t)
    center = np.array([coord("cx", "x"), coord("cy", "y")])
    radius = coord("r", "r")
    if radius < 0.0:
        return None
    if radius == 0.0:
        return last_color
    center_user = (to_user @ np.array([center[0], center[1], 1.0]))[:2]
    (a, b), (c, d) = linear_part
    tol = 1e-12 * max(abs(a), abs(b), abs(c), abs(d), 1e-300)
    if abs(b) <= tol and abs(c) <= tol:
        radii = (abs(a) * radius, abs(d) * radius)
    elif abs(a) <= tol and abs(d) <= tol:
        radii = (abs(b) * radius, abs(c) * radius)
    else:  # approximation: half extents of the transformed circle
        radii = (math.hypot(a, b) * radius, math.hypot(c, d) * radius)
    if radii[0] == 0.0 or radii[1] == 0.0:
        return None
    return RadialGradient(torch.tensor(center_user, dtype=torch.float32),
                          torch.tensor(radii, dtype=torch.float32), offsets_t, colors_t)
