"""Elements that become layers: clip-path, mask, group opacity,
mix-blend-mode, isolation and filter (SVG 1.1 14, CSS Masking 1, CSS
Compositing 1).

The loader draws an element's content into a container list of its own;
``wrap`` then makes that list a ``pydiffvg.Layer`` with the element's
effects. Clip paths and masks are Layers too (pydiffvg/layers.py):

* a clip path's children are drawn as opaque white fills with the
  ``clip-rule`` as fill rule and no stroke, so the kernel gives the exact
  coverage of the clip geometry (and its boundary gradients); a child's own
  clip-path, and the clipPath's, nest as clips of those layers;
* a mask's content is drawn as ordinary content, cut to the mask region by a
  clip layer holding the region's rectangle; its luminance (or, with
  ``mask-type: alpha``, its alpha) multiplies the element.

Browsers' recovery, which resvg's suite records: a reference to a missing
element is ignored (the property is as if ``none``), a clip path that
references itself (directly or through a child) ignores that reference, a
clip path without valid children clips everything away, and an element
whose ``objectBoundingBox`` units meet an empty box is not drawn.
"""
from __future__ import annotations

import re

import numpy as np
import torch

from ..layers import BLEND_MODES, Layer, _shape_box
from ..shapes import Rect, ShapeGroup
from . import filters
from .units import UnitError, parse_length

_URL = re.compile(r"^\s*url\(\s*(['\"]?)#([^'\")\s]*)\1\s*\)\s*$")
_SHAPE = re.compile(r"^\s*(circle|ellipse|inset|polygon|path)\((.*)\)\s*([a-z-]*)\s*$", re.DOTALL)
CLIP_CHILDREN = {"circle", "ellipse", "rect", "line", "polyline", "polygon", "path", "text", "use"}


class Effects:
    """What makes an element a layer (None from ``effects`` when nothing)."""
    __slots__ = ("opacity", "clip", "mask", "filter", "blend", "isolate")

    def __init__(self):
        self.opacity, self.clip, self.mask, self.filter = 1.0, None, None, None
        self.blend, self.isolate = "normal", False


def _reference(loader, value, tag):
    """The element ``url(#id)`` names when it is a ``tag``; None otherwise."""
    match = _URL.match(value or "")
    if not match:
        return None
    target = loader.ids.get(match.group(2))
    if target is None or loader.local_tag(target) != tag or not loader.is_svg(target):
        return None
    return target


def effects(loader, elem, style):
    """The element's layer effects, or None when it has none. Inside a clip
    path only ``clip-path`` counts (opacity, masks and filters do not apply
    to clip geometry)."""
    fx = Effects()
    value = (style.get("clip-path") or "none").strip()
    if value != "none":
        fx.clip = _reference(loader, value, "clipPath")
        if fx.clip is None and _SHAPE.match(value):
            fx.clip = ("shape", value)
        if fx.clip is not None and fx.clip in loader.active_refs:
            fx.clip = None  # a clip path that references itself: that reference is ignored
    if loader.clip_depth:
        return fx if fx.clip is not None else None
    fx.opacity = loader.opacity_value(style.get("opacity"))
    value = (style.get("mask") or "none").strip()
    if value != "none":
        fx.mask = _reference(loader, value, "mask")
        if fx.mask is not None and fx.mask in loader.active_refs:
            fx.mask = None
    value = (style.get("filter") or "none").strip()
    if value != "none":
        fx.filter = value
    mode = (style.get("mix-blend-mode") or "normal").strip().lower()
    if mode in BLEND_MODES:
        fx.blend = mode
    elif mode:
        loader.warn("mix-blend-mode", f"{loader.describe(elem)}: unknown mix-blend-mode '{mode}'; normal used")
    fx.isolate = (style.get("isolation") or "auto").strip().lower() == "isolate"
    if (fx.opacity >= 1.0 and fx.clip is None and fx.mask is None and fx.filter is None
            and fx.blend == "normal" and not fx.isolate):
        return None
    return fx


def content_bbox(loader, groups, ctm):
    """The object bounding box (geometry, no stroke) of drawn ``groups`` in
    the user space of ``ctm``, as (x0, y0, x1, y1), or None when empty."""
    try:
        inverse = np.linalg.inv(np.asarray(ctm, dtype=np.float64))
    except np.linalg.LinAlgError:
        return None
    box = None

    def add(pts):
        nonlocal box
        lo, hi = pts[:, :2].min(axis=0), pts[:, :2].max(axis=0)
        box = (lo[0], lo[1], hi[0], hi[1]) if box is None else (
            min(box[0], lo[0]), min(box[1], lo[1]), max(box[2], hi[0]), max(box[3], hi[1]))

    def visit(items):
        nonlocal box
        for item in items:
            if isinstance(item, Layer):
                visit(item.children)
                if not item.children:
                    # [filters] a layer that paints without children: a pattern fill
                    # (its clip holds the shape) or an image (its placement's corners)
                    corners = getattr(item.filter, "canvas_corners", None)
                    if item.clip_path is not None:
                        visit(item.clip_path.children)
                    elif corners is not None:
                        pts = np.concatenate([np.asarray(corners, dtype=np.float64),
                                              np.ones((len(corners), 1))], axis=1)
                        add(pts @ inverse.T)
                continue
            m = inverse @ item.shape_to_canvas.detach().double().numpy()
            for i in item.shape_ids.reshape(-1).tolist():
                b = _shape_box(loader.shapes[i])
                if b is None:
                    continue
                pts = np.array([[b[0], b[1], 1.0], [b[2], b[1], 1.0], [b[2], b[3], 1.0], [b[0], b[3], 1.0]]) @ m.T
                lo, hi = pts[:, :2].min(axis=0), pts[:, :2].max(axis=0)
                box = (lo[0], lo[1], hi[0], hi[1]) if box is None else (
                    min(box[0], lo[0]), min(box[1], lo[1]), max(box[2], hi[0]), max(box[3], hi[1]))

    visit(groups)
    return box


def _bbox_matrix(bbox):
    x0, y0, x1, y1 = bbox
    return np.array([[x1 - x0, 0.0, x0], [0.0, y1 - y0, y0], [0.0, 0.0, 1.0]])


def _has_size(bbox):
    return bbox is not None and bbox[2] > bbox[0] and bbox[3] > bbox[1]


def wrap(loader, elem, style, ctm, viewport, content, fx):
    """``content`` (the element's drawn groups and layers) as a Layer with
    the effects ``fx``, or None when the element draws nothing."""
    bbox = content_bbox(loader, content, ctm) if (fx.clip is not None or fx.mask is not None
                                                  or fx.filter is not None) else None
    layer_filter = None
    if fx.filter is not None:
        layer_filter = filters.build_filter(loader, fx.filter, elem, bbox, ctm, viewport)
        if isinstance(layer_filter, str) and layer_filter == "hide":
            return None
    if not content and layer_filter is None:
        return None
    clip = mask = None
    mask_type = "luminance"
    if isinstance(fx.clip, tuple):
        clip = basic_shape_clip(loader, fx.clip[1], elem, style, bbox, ctm, viewport)
        if clip is None:
            return None
        if isinstance(clip, str):  # invalid: no clip
            clip = None
    elif fx.clip is not None:
        clip = build_clip(loader, fx.clip, bbox, ctm, viewport)
        if clip is None:
            return None  # everything clipped away
    if fx.mask is not None:
        built = build_mask(loader, fx.mask, bbox, ctm, viewport)
        if built is None:
            return None
        mask, mask_type = built
    return Layer(content, opacity=fx.opacity, clip_path=clip, mask=mask, mask_type=mask_type,
                 filter=layer_filter, blend_mode=fx.blend, isolate=fx.isolate, id=elem.get("id") or "")


def _referenced(loader, target):
    """Context manager marking ``target`` as being built (cycle guard)."""
    class _Guard:
        def __enter__(self):
            loader.active_refs.append(target)

        def __exit__(self, *exc):
            loader.active_refs.pop()
    return _Guard()


def build_clip(loader, clip_elem, bbox, ctm, viewport):
    """The clip path ``clip_elem`` applied to an element with object
    bounding box ``bbox`` in the user space of ``ctm``: a Layer whose alpha
    is the coverage, or None when it clips everything away."""
    clip_style = loader.document_style(clip_elem)
    base = np.asarray(ctm) @ loader.element_transform(clip_elem, clip_style, viewport)
    if (clip_elem.get("clipPathUnits") or "").strip() == "objectBoundingBox":
        if not _has_size(bbox):
            return None
        base = base @ _bbox_matrix(bbox)
    saved = loader.groups
    loader.groups = []
    loader.clip_depth += 1
    try:
        with _referenced(loader, clip_elem):
            for child in clip_elem:
                if not isinstance(child.tag, str) or not loader.is_svg(child):
                    continue
                tag = loader.local_tag(child)
                if tag not in CLIP_CHILDREN:
                    continue  # g, image, ... are not valid clip path children
                if tag == "use":
                    target = loader.href_target(child)
                    if target is None or loader.local_tag(target) not in CLIP_CHILDREN - {"use"}:
                        continue  # a use in a clip path must point at a shape or text
                loader.walk(child, clip_style, base, viewport, 1.0, (clip_elem,))
            content = loader.groups
            if not content:
                return None
            own = None
            value = (clip_style.get("clip-path") or "none").strip()
            target = _reference(loader, value, "clipPath") if value != "none" else None
            if target is not None and target not in loader.active_refs:
                own = build_clip(loader, target, bbox, ctm, viewport)
                if own is None:
                    return None
    finally:
        loader.clip_depth -= 1
        loader.groups = saved
    return Layer(content, clip_path=own, id=clip_elem.get("id") or "")


def _region(loader, elem, units_attr, bbox, viewport, default_units):
    """x, y, width, height of a mask or filter region in user units, or
    None when objectBoundingBox units meet an empty box."""
    units = (elem.get(units_attr) or default_units).strip()
    vw, vh = viewport
    defaults = {"x": "-10%", "y": "-10%", "width": "120%", "height": "120%"}
    values = {}
    for name in ("x", "y", "width", "height"):
        text = elem.get(name, defaults[name]).strip()
        if units == "objectBoundingBox":
            try:
                value = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
            except ValueError:
                value = float(defaults[name][:-1]) / 100.0
        else:
            ref = vw if name in ("x", "width") else vh
            try:
                value = parse_length(text, ref)
            except UnitError:
                value = parse_length(defaults[name], ref)
        values[name] = value
    x, y, w, h = values["x"], values["y"], values["width"], values["height"]
    if units == "objectBoundingBox":
        if not _has_size(bbox):
            return None
        bx, by = bbox[0], bbox[1]
        bw, bh = bbox[2] - bbox[0], bbox[3] - bbox[1]
        x, y, w, h = bx + x * bw, by + y * bh, w * bw, h * bh
    return x, y, w, h


def _rect_layer(loader, x, y, w, h, ctm):
    """A Layer holding one opaque white rectangle (a clip region)."""
    loader.shapes.append(Rect(torch.tensor([x, y], dtype=torch.float32),
                              torch.tensor([x + w, y + h], dtype=torch.float32)))
    group = ShapeGroup(torch.tensor([len(loader.shapes) - 1], dtype=torch.int32),
                       torch.tensor([1.0, 1.0, 1.0, 1.0]), use_even_odd_rule=False,
                       shape_to_canvas=torch.tensor(np.asarray(ctm), dtype=torch.float32))
    return Layer([group])


def build_mask(loader, mask_elem, bbox, ctm, viewport):
    """(mask Layer, mask type) for ``mask_elem`` applied to an element with
    object bounding box ``bbox``; None when the element is not drawn."""
    region = _region(loader, mask_elem, "maskUnits", bbox, viewport, "objectBoundingBox")
    if region is None or region[2] <= 0 or region[3] <= 0:
        return None
    mask_style = loader.document_style(mask_elem)
    base = np.asarray(ctm)
    if (mask_elem.get("maskContentUnits") or "").strip() == "objectBoundingBox":
        if not _has_size(bbox):
            return None
        base = base @ _bbox_matrix(bbox)
    saved = loader.groups
    loader.groups = []
    try:
        with _referenced(loader, mask_elem):
            for child in mask_elem:
                loader.walk(child, mask_style, base, viewport, 1.0, (mask_elem,))
            content = loader.groups
            inner = None
            value = (mask_style.get("mask") or "none").strip()
            target = _reference(loader, value, "mask") if value != "none" else None
            if target is not None and target not in loader.active_refs:
                inner = build_mask(loader, target, bbox, ctm, viewport)
                if inner is None:
                    return None
    finally:
        loader.groups = saved
    kind = (mask_style.get("mask-type") or mask_elem.get("mask-type") or "luminance").strip().lower()
    layer = Layer(content, clip_path=_rect_layer(loader, *region, ctm),
                  mask=inner[0] if inner is not None else None,
                  mask_type=inner[1] if inner is not None else "luminance", id=mask_elem.get("id") or "")
    return layer, ("alpha" if kind == "alpha" else "luminance")


# ----------------------------------------------------------------------------
# CSS basic shapes (CSS Shapes 1) as clip paths
# ----------------------------------------------------------------------------

def _reference_box(loader, kind, style, bbox, viewport):
    """The reference box of a basic shape on an SVG element (CSS Masking 1:
    the CSS boxes map to fill-box, stroke-box and view-box; the default,
    border-box, is the stroke box)."""
    if kind == "view-box":
        return (0.0, 0.0, float(viewport[0]), float(viewport[1]))
    if bbox is None:
        return None
    if kind in ("fill-box", "content-box", "padding-box"):
        return bbox
    half = 0.0
    if (style.get("stroke") or "none").strip() != "none":
        try:
            half = parse_length(style.get("stroke-width", "1"), 1.0) / 2.0
        except UnitError:
            half = 0.5
    return (bbox[0] - half, bbox[1] - half, bbox[2] + half, bbox[3] + half)


def basic_shape_clip(loader, value, elem, style, bbox, ctm, viewport):
    """``clip-path: circle(...) | ellipse(...) | inset(...) | polygon(...)
    | path(...)`` with an optional reference box: a clip Layer, None when
    the shape clips everything away (or the box is empty), or "invalid"
    (the declaration is ignored, as CSS ignores an invalid one)."""
    from ..shapes import Circle, Ellipse, Polygon
    from .paths import parse_path_data
    match = _SHAPE.match(value)
    kind, args, box_kind = match.group(1), match.group(2).strip(), match.group(3) or "border-box"
    box = _reference_box(loader, box_kind, style, bbox, viewport)
    if box is None or box[2] <= box[0] or box[3] <= box[1]:
        return None
    x0, y0, w, h = box[0], box[1], box[2] - box[0], box[3] - box[1]
    try:
        if kind in ("circle", "ellipse"):
            radii, _, position = args.partition(" at ")
            cx, cy = x0 + w / 2, y0 + h / 2
            if position.strip():
                parts = position.split()
                named = {"left": "0%", "top": "0%", "center": "50%", "right": "100%", "bottom": "100%"}
                px = named.get(parts[0], parts[0])
                py = named.get(parts[1], parts[1]) if len(parts) > 1 else "50%"
                cx, cy = x0 + parse_length(px, w), y0 + parse_length(py, h)
            sides = (cx - x0, x0 + w - cx, cy - y0, y0 + h - cy)
            tokens = radii.split()
            if kind == "circle":
                token = tokens[0] if tokens else "closest-side"
                if token == "closest-side":
                    r = min(sides)
                elif token == "farthest-side":
                    r = max(sides)
                else:
                    r = parse_length(token, (w * w + h * h) ** 0.5 / 2 ** 0.5)
                shape = Circle(torch.tensor(float(r)), torch.tensor([cx, cy], dtype=torch.float32))
            else:
                tokens = (tokens + ["closest-side", "closest-side"])[:2]
                rr = []
                for token, (a, b), ref in zip(tokens, ((sides[0], sides[1]), (sides[2], sides[3])), (w, h)):
                    rr.append(min(a, b) if token == "closest-side" else max(a, b) if token == "farthest-side"
                              else parse_length(token, ref))
                shape = Ellipse(torch.tensor(rr, dtype=torch.float32), torch.tensor([cx, cy], dtype=torch.float32))
        elif kind == "inset":  # (corner rounding is not drawn)
            values = _expand4(args.split(" round ")[0].split())
            top, right, bottom, left = [parse_length(t, ref) for t, ref in zip(values, (h, w, h, w))]
            points = [[x0 + left, y0 + top], [x0 + w - right, y0 + top], [x0 + w - right, y0 + h - bottom],
                      [x0 + left, y0 + h - bottom]]
            shape = Polygon(torch.tensor(points, dtype=torch.float32), True)
        elif kind == "polygon":
            rule = "nonzero"
            items = [item.strip() for item in args.split(",")]
            if items and items[0] in ("nonzero", "evenodd"):
                rule = items.pop(0)
            points = []
            for item in items:
                px, py = item.split()
                points.append([x0 + parse_length(px, w), y0 + parse_length(py, h)])
            if len(points) < 3:
                return None
            shape = Polygon(torch.tensor(points, dtype=torch.float32), True)
        else:  # path("..."): in the reference box's coordinates
            text = args.strip().strip("'\"")
            subpaths, _ = parse_path_data(text)
            if not subpaths:
                return None
            from .drawing import _path_shape
            shapes = [_path_shape(sp, "") for sp in subpaths]
            first = len(loader.shapes)
            loader.shapes.extend(shapes)
            matrix = np.asarray(ctm) @ np.array([[1.0, 0, x0], [0, 1.0, y0], [0, 0, 1]])
            group = ShapeGroup(torch.arange(first, len(loader.shapes), dtype=torch.int32), torch.ones(4),
                               use_even_odd_rule=False,
                               shape_to_canvas=torch.tensor(matrix, dtype=torch.float32))
            return Layer([group])
    except (UnitError, ValueError, IndexError):
        loader.warn("clip-path-shape", f"{loader.describe(elem)}: invalid clip-path '{value}'; ignored")
        return "invalid"
    loader.shapes.append(shape)
    group = ShapeGroup(torch.tensor([len(loader.shapes) - 1], dtype=torch.int32), torch.ones(4),
                       use_even_odd_rule=False, shape_to_canvas=torch.tensor(np.asarray(ctm), dtype=torch.float32))
    return Layer([group])


def _expand4(values):
    """CSS 1-4 value shorthand to (top, right, bottom, left)."""
    if len(values) == 1:
        return values * 4
    if len(values) == 2:
        return [values[0], values[1], values[0], values[1]]
    if len(values) == 3:
        return [values[0], values[1], values[2], values[1]]
    return values[:4]
