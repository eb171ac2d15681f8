"""The ``pattern`` paint server as a layer: the tile drawn once by the kernel,
then repeated over the painted region with torch ops.

A shape filled (or stroked) with a pattern becomes

    Layer([], filter=PatternTile(...), clip_path=Layer([the shape in white]),
          opacity=fill-opacity)

``PatternTile`` follows the filter protocol of pydiffvg/layers.py: it
ignores its (empty) source, draws the tile's content layer into a tile image
through ``render_layer``, and samples that image, repeated, at every pixel
of its frame (bilinear, with 2 x 2 samples per pixel). The clip layer gives
the shape's exact coverage and edge gradients; the tile's content gets its
gradients through the sampling.

Geometry. With C the element's user-to-canvas matrix and P the
patternTransform, a canvas point q has pattern-space coordinates
u = (C P)^-1 q. The tile is the rectangle (x, y, w, h) in pattern space
(patternUnits objectBoundingBox maps it through the element's bounding box),
repeated with period (w, h). Its content is in pattern space through the
viewBox (with preserveAspectRatio), or scaled by the bounding box with
patternContentUnits objectBoundingBox, or as it is, in each case from the
tile's corner (x, y). The tile image has
k_x, k_y pixels per pattern unit, chosen from C P ; the content is
drawn in tile units, diag(k) translate(-x, -y) (content transform) with k
the canvas units per pattern unit, and ``apply`` draws it at OVERSAMPLE
pixels per output pixel (at most MAX_TILE pixels a side). With ROUND_TILES
(the default, as resvg) the tile is round(extent x scale) output pixels and
that rounded size is the period.

``href`` chains inherit the attributes and the children of the first
pattern in the chain that has any. A zero-size tile paints nothing; a
pattern whose content references the pattern itself draws that reference
as none.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..layers import Layer
from .units import UnitError, parse_aspect_ratio, parse_length, parse_transform, viewbox_transform

#: Largest tile image side, in pixels.
MAX_TILE = 2048
#: Round the tile to whole output pixels, repeating at that rounded period
#: (as resvg does), instead of the exact period.
ROUND_TILES = True
_ATTRS = ("patternUnits", "patternContentUnits", "patternTransform", "x", "y", "width", "height",
          "viewBox", "preserveAspectRatio")


class PatternRef:
    """What ``paint()`` returns for ``url(#pattern)``; resolved by
    ``pattern_layer`` once the element's transform is known."""

    def __init__(self, element, bbox, viewport, alpha):
        self.element, self.bbox, self.viewport, self.alpha = element, bbox, viewport, alpha


def _chain(loader, element):
    """(attributes, element whose children are the content), through href."""
    attrs, content, seen = {}, None, set()
    node = element
    while node is not None and id(node) not in seen and loader.local_tag(node) == "pattern":
        seen.add(id(node))
        for name in _ATTRS:
            if name not in attrs and node.get(name) is not None:
                attrs[name] = node.get(name)
        if content is None and any(isinstance(c.tag, str) for c in node):
            content = node
        node = loader.href_target(node)
    return attrs, content


def usable(loader, element, bbox):
    """False when the pattern cannot paint the element, so that the paint's
    fallback colour applies: no content, or objectBoundingBox units (tile or
    content) on an empty box."""
    attrs, content = _chain(loader, element)
    if content is None:
        return False
    needs_box = attrs.get("patternUnits", "objectBoundingBox").strip() != "userSpaceOnUse" or (
        attrs.get("patternContentUnits", "").strip() == "objectBoundingBox" and attrs.get("viewBox") is None)
    return not needs_box or (bbox is not None and bbox[2] > bbox[0] and bbox[3] > bbox[1])


def _number(text, reference, obb):
    text = (text or "0").strip()
    if obb:
        try:
            return float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
        except ValueError:
            return 0.0
    try:
        return parse_length(text, reference)
    except UnitError:
        return 0.0


def pattern_layer(loader, ref, ctm, clip):
    """The layer painting ``clip`` (a Layer holding the shape in white) with
    the pattern ``ref``, or None when the pattern paints nothing."""
    attrs, content = _chain(loader, ref.element)
    if content is None or ref.element in loader.active_refs:
        return None
    obb = attrs.get("patternUnits", "objectBoundingBox").strip() != "userSpaceOnUse"
    bbox = ref.bbox
    vw, vh = ref.viewport
    x, y = _number(attrs.get("x"), vw, obb), _number(attrs.get("y"), vh, obb)
    w, h = _number(attrs.get("width"), vw, obb), _number(attrs.get("height"), vh, obb)
    if obb:
        if bbox is None or bbox[2] <= bbox[0] or bbox[3] <= bbox[1]:
            return None
        bw, bh = bbox[2] - bbox[0], bbox[3] - bbox[1]
        x, y, w, h = bbox[0] + x * bw, bbox[1] + y * bh, w * bw, h * bh
    if not (w > 0 and h > 0) or not all(math.isfinite(v) for v in (x, y, w, h)):
        return None
    transform = np.eye(3)
    if attrs.get("patternTransform"):
        try:
            transform = parse_transform(attrs["patternTransform"])
        except UnitError:
            transform = np.eye(3)
        origin = loader.document_style(ref.element).get("transform-origin")
        if origin:  # CSS transform-origin applies to patternTransform too
            ox, oy = loader._transform_origin(origin, ref.viewport)
            transform = np.array([[1.0, 0, ox], [0, 1.0, oy], [0, 0, 1]]) @ transform @ np.array(
                [[1.0, 0, -ox], [0, 1.0, -oy], [0, 0, 1]])
    to_canvas = np.asarray(ctm, dtype=np.float64) @ transform
    det = abs(to_canvas[0, 0] * to_canvas[1, 1] - to_canvas[0, 1] * to_canvas[1, 0])
    if det < 1e-12:
        return None
    # canvas units per pattern unit along each tile axis: the lengths of C P's
    # columns; the content is drawn in these "tile units", and apply() picks
    # the pixels per tile unit from the output's scale
    kx = max(math.hypot(to_canvas[0, 0], to_canvas[1, 0]), 1e-6)
    ky = max(math.hypot(to_canvas[0, 1], to_canvas[1, 1]), 1e-6)
    # the content's origin is the tile's corner (x, y)
    content_matrix = np.array([[1.0, 0, x], [0, 1.0, y], [0, 0, 1.0]])
    box = loader.viewbox_of(attrs.get("viewBox"), ref.element)
    if box is not None:
        content_matrix = content_matrix @ viewbox_transform(
            box, w, h, parse_aspect_ratio(attrs.get("preserveAspectRatio")))
    elif attrs.get("patternContentUnits", "").strip() == "objectBoundingBox":
        if bbox is None or bbox[2] <= bbox[0] or bbox[3] <= bbox[1]:
            return None
        content_matrix = content_matrix @ np.diag([bbox[2] - bbox[0], bbox[3] - bbox[1], 1.0])
    tile_matrix = np.array([[kx, 0, -kx * x], [0, ky, -ky * y], [0, 0, 1.0]]) @ content_matrix
    saved, saved_clips = loader.groups, loader.clips
    loader.groups, loader.clips = [], []  # the tile has no viewport clips of the painted element
    loader.active_refs.append(ref.element)
    try:
        style = loader.document_style(content)
        for child in content:
            loader.walk(child, style, tile_matrix, (w, h) if box is None else (box[2], box[3]), 1.0,
                        (content,))
        tile = Layer(loader.groups)
    finally:
        loader.active_refs.pop()
        loader.groups, loader.clips = saved, saved_clips
    tiler = PatternTile(tile, (w * kx, h * ky), (x, y), (w, h), np.linalg.inv(to_canvas))
    return Layer([], opacity=ref.alpha, filter=tiler, clip_path=clip, id=ref.element.get("id") or "")


class PatternTile:
    """Filter-protocol object: the tile image repeated over the frame."""

    region = None  # the clip's box decides the frame
    #: tile pixels per output pixel, and samples per output pixel per axis
    OVERSAMPLE = 2
    SAMPLES = 3

    def __init__(self, tile, extent, offset, period, to_pattern):
        self.tile = tile              # Layer in tile units
        self.extent = extent          # (w, h) of one tile in tile units
        self.offset = offset          # (x, y) of the tile in pattern space
        self.period = period          # (w, h) in pattern space
        self.to_pattern = to_pattern  # 3x3 canvas -> pattern space

    def apply(self, source, origin, scale, render_layer):
        period = self.period
        if ROUND_TILES:
            # resvg: the tile image has round(extent x scale) pixels at the
            # exact scale, and that image is the period
            tw = max(1, min(MAX_TILE, int(round(self.extent[0] * scale[0]))))
            th = max(1, min(MAX_TILE, int(round(self.extent[1] * scale[1]))))
            f = self.OVERSAMPLE
            tile = render_layer(self.tile, (0.0, 0.0), (scale[0] * f, scale[1] * f), (tw * f, th * f))
            period = (period[0] * tw / (self.extent[0] * scale[0]), period[1] * th / (self.extent[1] * scale[1]))
            density = (tw * f / period[0], th * f / period[1])
        else:
            f = self.OVERSAMPLE * max(scale[0], scale[1])
            tw = max(1, min(MAX_TILE, int(math.ceil(self.extent[0] * f))))
            th = max(1, min(MAX_TILE, int(math.ceil(self.extent[1] * f))))
            # whole pixels per tile: the image is exactly one period
            tile = render_layer(self.tile, (0.0, 0.0), (tw / self.extent[0], th / self.extent[1]), (tw, th))
            density = (tw / period[0], th / period[1])
        height, width = source.shape[0], source.shape[1]
        device = source.device
        m = torch.tensor(self.to_pattern, dtype=torch.float64, device=device)
        n = self.SAMPLES
        out = None
        for sy in range(n):
            for sx in range(n):
                cx = origin[0] + (torch.arange(width, dtype=torch.float64, device=device) + (sx + 0.5) / n) / scale[0]
                cy = origin[1] + (torch.arange(height, dtype=torch.float64, device=device) + (sy + 0.5) / n) / scale[1]
                gy, gx = torch.meshgrid(cy, cx, indexing="ij")
                u = m[0, 0] * gx + m[0, 1] * gy + m[0, 2]
                v = m[1, 0] * gx + m[1, 1] * gy + m[1, 2]
                px = torch.remainder(u - self.offset[0], period[0]) * density[0] - 0.5
                py = torch.remainder(v - self.offset[1], period[1]) * density[1] - 0.5
                value = _bilinear_wrap(tile, px, py)
                out = value if out is None else out + value
        return out / (n * n)


def _bilinear_wrap(image, px, py):
    """``image`` (h, w, C) sampled at pixel coordinates (centres at integers),
    wrapping around at its edges."""
    h, w = image.shape[0], image.shape[1]
    x0, y0 = torch.floor(px), torch.floor(py)
    fx = (px - x0).to(image.dtype).unsqueeze(-1)
    fy = (py - y0).to(image.dtype).unsqueeze(-1)
    x0, y0 = x0.long(), y0.long()
    xs = (torch.remainder(x0, w), torch.remainder(x0 + 1, w))
    ys = (torch.remainder(y0, h), torch.remainder(y0 + 1, h))
    flat = image.reshape(h * w, -1)

    def at(yy, xx):
        return flat[(yy * w + xx).reshape(-1)].reshape(*px.shape, -1)

    top = at(ys[0], xs[0]) * (1 - fx) + at(ys[0], xs[1]) * fx
    bottom = at(ys[1], xs[0]) * (1 - fx) + at(ys[1], xs[1]) * fx
    return top * (1 - fy) + bottom * fy
