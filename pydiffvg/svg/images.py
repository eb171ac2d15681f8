"""The SVG ``image`` element (and feImage's rasters) -> ``pydiffvg.Layer``.

A raster (PNG, JPEG, GIF, WebP; from a ``data:`` URL, base64 or percent-
encoded, or from a file relative to the SVG) decodes with Pillow into a
premultiplied sRGB float tensor, and a :class:`PlacedImage` filter draws it:
its ``apply`` ignores the (empty) layer content and resamples the raster
into the canvas with ``grid_sample`` (Mitchell bicubic, as Skia's smooth images; nearest for
image-rendering optimizeSpeed / pixelated / crisp-edges), through

    image pixels --viewBox transform (preserveAspectRatio)--> viewport (x, y, w, h)
                 --ctm--> canvas,

clipped to the viewport. ``x`` and ``y`` are tensors: gradients flow to the
placement through the sampling grid.

A nested ``.svg`` image is read with our own ``svg_to_scene``; its shapes
join the scene (ids re-indexed, ``shape_to_canvas`` premultiplied by the
placement) inside a Layer clipped to the viewport.

A missing or undecodable image warns once and is skipped (strict mode:
SVGError). Rasters larger than ``MAX_IMAGE_PIXELS`` are refused the same way.
"""
from __future__ import annotations

import base64
import gzip
import io
import math
import os
import urllib.parse

import numpy as np
import torch
import torch.nn.functional as F

from .errors import SVGError
from .units import parse_aspect_ratio, translate, viewbox_transform

MAX_IMAGE_PIXELS = 8192 * 8192
MAX_NESTED_DEPTH = 4
_DEPTH = [0]   # nesting depth of SVG documents read as images

__all__ = ["PlacedImage", "emit_image", "load_href", "decode_raster", "feimage_painter"]


# ----------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------

def decode_raster(data: bytes) -> torch.Tensor:
    """PNG/JPEG/GIF/WebP bytes -> (H, W, 4) float32 premultiplied sRGB in [0, 1].
    Raises ValueError when Pillow cannot decode it."""
    from PIL import Image as PILImage
    try:
        with PILImage.open(io.BytesIO(data)) as pil:
            if pil.width * pil.height > MAX_IMAGE_PIXELS:
                raise ValueError(f"image of {pil.width} x {pil.height} px exceeds "
                                 f"MAX_IMAGE_PIXELS = {MAX_IMAGE_PIXELS}")
            pil.seek(0)
            rgba = np.asarray(pil.convert("RGBA"), dtype=np.float32) / 255.0
    except (OSError, SyntaxError, PILImage.DecompressionBombError) as exc:
        raise ValueError(f"cannot decode image: {exc}") from None
    img = torch.from_numpy(rgba.copy())
    return torch.cat([img[..., :3] * img[..., 3:4], img[..., 3:4]], dim=-1)


def _is_svg(data: bytes, mime: str = "", name: str = "") -> bool:
    if mime.startswith("image/svg"):
        return True
    if name.lower().endswith((".svg", ".svgz")):
        return True
    head = data[:512].lstrip()
    return head.startswith(b"<") and (b"<svg" in data[:4096] or b"<?xml" in head[:8])


def load_href(loader, href: str):
    """('raster', tensor) | ('svg', bytes, base_dir) | None for an image href."""
    cache = loader.__dict__.setdefault("_image_cache", {})
    if href in cache and _DEPTH[0] == 0:
        return cache[href]
    result = None
    href = href.strip()
    name, mime = "", ""
    data = None
    base_dir = getattr(loader, "base_dir", None) or os.getcwd()
    if href.startswith("data:"):
        header, _, payload = href[5:].partition(",")
        parts = [p.strip() for p in header.split(";")]
        mime = parts[0].lower() if parts else ""
        try:
            if "base64" in [p.lower() for p in parts[1:]]:
                data = base64.b64decode("".join(payload.split()) + "===", validate=False)
            else:
                data = urllib.parse.unquote_to_bytes(payload)
        except ValueError:
            data = None
    elif href and not href.startswith("#") and _DEPTH[0] > 0:
        data = None   # an SVG drawn as an image loads no external files (as resvg)
    elif href and not href.startswith("#"):
        path = href[7:] if href.startswith("file://") else href
        path = urllib.parse.unquote(path)
        path = path if os.path.isabs(path) else os.path.join(base_dir, path)
        name = path
        try:
            if os.path.getsize(path) <= 256 * 1024 * 1024:
                with open(path, "rb") as handle:
                    data = handle.read()
        except OSError:
            data = None
    if data:
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
                result = ("svg", data, os.path.dirname(name) or base_dir)
            except OSError:
                result = None
        elif _is_svg(data, mime, name):
            result = ("svg", data, os.path.dirname(name) or base_dir)
        else:
            try:
                result = ("raster", decode_raster(data))
            except ValueError:
                result = None
    cache[href] = result
    return result


# ----------------------------------------------------------------------------
# Placement
# ----------------------------------------------------------------------------

def _as_tensor(value):
    return value if isinstance(value, torch.Tensor) else torch.tensor(float(value))


def _coverage(center, size, low, high):
    """Fraction of [center - size/2, center + size/2] inside [low, high]."""
    overlap = torch.clamp(center + size / 2, max=high) - torch.clamp(center - size / 2, min=low)
    return (overlap / size).clamp(0.0, 1.0)


def _mitchell(t):
    """Mitchell-Netravali cubic (B = C = 1/3), the filter of Skia's and
    tiny-skia's bicubic sampling: for |x| < 1, 7/6|x|^3 - 2|x|^2 + 8/9; for
    1 <= |x| < 2, -7/18|x|^3 + 2|x|^2 - 10/3|x| + 16/9."""
    x = t.abs()
    near = 7.0 / 6.0 * x ** 3 - 2.0 * x ** 2 + 8.0 / 9.0
    far = -7.0 / 18.0 * x ** 3 + 2.0 * x ** 2 - 10.0 / 3.0 * x + 16.0 / 9.0
    return torch.where(x < 1, near, torch.where(x < 2, far, torch.zeros_like(x)))


def _sample_mitchell(raster, qx, qy):
    """raster (h, w, C) sampled at image coordinates (qx, qy) (pixel corners
    at integers, centres at +0.5) with the Mitchell filter, edges clamped.
    Differentiable in qx and qy through the weights."""
    h, w = raster.shape[:2]
    cx, cy = qx - 0.5, qy - 0.5
    x0, y0 = torch.floor(cx.detach()), torch.floor(cy.detach())
    tx, ty = cx - x0, cy - y0
    flat = raster.reshape(h * w, -1)
    out = 0.0
    for j in range(-1, 3):
        wy = _mitchell(ty - j)
        row = (y0 + j).clamp(0, h - 1).long()
        for i in range(-1, 3):
            wx = _mitchell(tx - i)
            col = (x0 + i).clamp(0, w - 1).long()
            out = out + flat[row * w + col] * (wx * wy).unsqueeze(-1)
    return out


class PlacedImage:
    """A raster drawn into the canvas; a filter object (see pydiffvg/layers.py)
    whose ``apply`` ignores its source.

    raster: (h, w, 4) premultiplied sRGB float tensor.
    x, y: viewport position in user units (floats or 0-d tensors; gradients
        flow to them). width, height: viewport size in user units.
    aspect: (align, "meet" | "slice") as parse_aspect_ratio returns.
    ctm: (3, 3) numpy user-to-canvas matrix. smooth: bilinear if True, else nearest.
    clip: clip to the viewport (SVG does for images; always harmless for meet).
    """

    def __init__(self, raster, x, y, width, height, aspect=("xmidymid", "meet"), ctm=None,
                 smooth=True, clip=True):
        self.raster = raster
        self.x, self.y = _as_tensor(x), _as_tensor(y)
        self.width, self.height = float(width), float(height)
        self.aspect = aspect
        self.ctm = np.eye(3) if ctm is None else np.asarray(ctm, dtype=np.float64)
        self.smooth = bool(smooth)
        self.clip = bool(clip)
        corners = np.array([[0, 0, 1], [self.width, 0, 1], [0, self.height, 1],
                            [self.width, self.height, 1]], dtype=np.float64)
        offset = np.array([float(self.x.detach()), float(self.y.detach()), 0.0])
        pts = (corners + offset) @ self.ctm.T
        #: canvas corners of the viewport (the element's bounding box, for filters on it)
        self.canvas_corners = pts[:, :2]
        self.region = (math.floor(pts[:, 0].min()), math.floor(pts[:, 1].min()),
                       math.ceil(pts[:, 0].max()), math.ceil(pts[:, 1].max()))

    def render(self, height, width, origin, scale, dtype=torch.float32, device=None):
        """(height, width, 4) premultiplied sRGB image of the raster over the
        grid whose pixel (0, 0) has its top-left corner at canvas ``origin``."""
        ih, iw = self.raster.shape[:2]
        vb = viewbox_transform((0.0, 0.0, float(iw), float(ih)), self.width, self.height,
                               self.aspect)
        inv_ctm = np.linalg.inv(self.ctm)
        cols = (np.arange(width) + 0.5) / scale[0] + origin[0]
        rows = (np.arange(height) + 0.5) / scale[1] + origin[1]
        px, py = np.meshgrid(cols, rows)
        # canvas -> user (constant), then user -> viewport-relative -> image pixels
        ux = inv_ctm[0, 0] * px + inv_ctm[0, 1] * py + inv_ctm[0, 2]
        uy = inv_ctm[1, 0] * px + inv_ctm[1, 1] * py + inv_ctm[1, 2]
        ux = torch.tensor(ux, dtype=dtype, device=device)
        uy = torch.tensor(uy, dtype=dtype, device=device)
        vx = ux - self.x.to(dtype=dtype, device=device)
        vy = uy - self.y.to(dtype=dtype, device=device)
        qx = (vx - vb[0, 2]) / vb[0, 0]
        qy = (vy - vb[1, 2]) / vb[1, 1]
        raster = self.raster.to(dtype=dtype, device=device)
        if self.smooth:
            out = _sample_mitchell(raster, qx, qy)
        else:
            grid = torch.stack([qx / iw * 2 - 1, qy / ih * 2 - 1], dim=-1).unsqueeze(0)
            out = F.grid_sample(raster.permute(2, 0, 1).unsqueeze(0), grid, mode="nearest",
                                padding_mode="border", align_corners=False)
            out = out.squeeze(0).permute(1, 2, 0)
        alpha = out[..., 3:4].clamp(0, 1)   # bicubic overshoots; keep a valid premultiplied image
        out = torch.cat([torch.minimum(out[..., :3].clamp_min(0), alpha), alpha], dim=-1)
        # coverage of each pixel by the image rectangle [0, iw] x [0, ih]: the
        # overlap of the pixel's footprint (its size in image pixels along
        # each axis, d) with the rectangle, smooth in the placement x, y
        lin = np.linalg.inv(self.ctm[:2, :2])
        dx = max(1e-6, float(np.hypot(lin[0, 0], lin[1, 0])) / scale[0] / abs(vb[0, 0]))
        dy = max(1e-6, float(np.hypot(lin[0, 1], lin[1, 1])) / scale[1] / abs(vb[1, 1]))
        cover = _coverage(qx, dx, 0.0, iw) * _coverage(qy, dy, 0.0, ih)
        if self.clip:  # the viewport, in user units (footprints d * |vb scale|)
            cover = cover * _coverage(vx, dx * abs(vb[0, 0]), 0.0, self.width) * \
                _coverage(vy, dy * abs(vb[1, 1]), 0.0, self.height)
        return out * cover.unsqueeze(-1)

    def apply(self, source, origin=(0.0, 0.0), scale=(1.0, 1.0), render_layer=None):
        h, w = source.shape[:2]
        return self.render(h, w, origin, scale, source.dtype, source.device)

    def to_svg(self, ident: str) -> str:
        """For save_svg: a ``<filter>`` whose feImage draws the raster (a PNG
        data URL) over the viewport's canvas box. Exact for axis-aligned
        placements up to feImage's whole-pixel origin; a rotated or skewed
        image is written over its bounding box (approximate)."""
        import base64
        from PIL import Image as PILImage
        from xml.sax.saxutils import quoteattr
        rgba = self.raster.detach().float().cpu()
        alpha = rgba[..., 3:4]
        rgb = torch.where(alpha > 0, rgba[..., :3] / alpha.clamp_min(1e-8), torch.zeros_like(rgba[..., :3]))
        pixels = (torch.cat([rgb, alpha], -1).clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
        buffer = io.BytesIO()
        PILImage.fromarray(pixels, "RGBA").save(buffer, "PNG")
        href = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
        x0, y0 = self.canvas_corners.min(axis=0)
        x1, y1 = self.canvas_corners.max(axis=0)
        box = f'x="{x0:.9g}" y="{y0:.9g}" width="{x1 - x0:.9g}" height="{y1 - y0:.9g}"'
        align, mode = self.aspect
        names = {"none": "none", "xminymin": "xMinYMin", "xmidymin": "xMidYMin", "xmaxymin": "xMaxYMin",
                 "xminymid": "xMinYMid", "xmidymid": "xMidYMid", "xmaxymid": "xMaxYMid",
                 "xminymax": "xMinYMax", "xmidymax": "xMidYMax", "xmaxymax": "xMaxYMax"}
        aspect = names.get(align, "xMidYMid") + ("" if align == "none" else f" {mode}")
        rendering = "" if self.smooth else ' image-rendering="pixelated"'
        return (f'<filter id={quoteattr(ident)} filterUnits="userSpaceOnUse" primitiveUnits="userSpaceOnUse" '
                f'{box}><feImage {box} preserveAspectRatio="{aspect}"{rendering} '
                f'href={quoteattr(href)}/></filter>')


def _placement(loader, elem, viewport):
    x = loader.length(elem, "x", viewport[0])
    y = loader.length(elem, "y", viewport[1])
    return x, y


def _size(loader, elem, name, percent_of):
    text = elem.get(name)
    if text is None or text.strip() in ("", "auto"):
        return None
    return loader.length(elem, name, percent_of)


def _smooth(loader, style, elem):
    """False for image-rendering optimizeSpeed / pixelated / crisp-edges (an
    inherited property: the nearest ancestor that sets it decides)."""
    value = style.get("image-rendering") if style else None
    node = elem
    while value is None and node is not None and isinstance(node.tag, str):
        value = loader.specified(node).get("image-rendering", node.get("image-rendering"))
        if value is not None and value.strip() == "inherit":
            value = None
        node = loader.parent.get(id(node))
    return (value or "").strip() not in ("optimizeSpeed", "pixelated", "crisp-edges")


def _href(elem):
    for key, value in elem.attrib.items():
        if key == "href" or key.endswith("}href"):
            return value
    return None


def _fail(loader, elem, kind, message):
    message = f"{loader.describe(elem)}: {message}"
    if loader.strict:
        raise SVGError(message)
    loader.warn("image:" + kind, message + " (skipped)")


def _read_nested(data, base_dir):
    """svg_to_scene of a nested SVG image (depth-limited: images of images)."""
    from . import parser
    if _DEPTH[0] >= MAX_NESTED_DEPTH:
        raise SVGError(f"images nested deeper than {MAX_NESTED_DEPTH}")
    _DEPTH[0] += 1
    try:
        return parser.svg_to_scene(data, strict=False, base_dir=base_dir)
    finally:
        _DEPTH[0] -= 1


def _nested_layer(loader, shapes, groups, placement, clip_box):
    """Layer of a nested SVG image's shapes and groups; ``placement`` maps
    its canvas to ours; clipped to the viewport ``clip_box``."""
    from ..layers import Layer
    from ..shapes import Rect, ShapeGroup
    offset = len(loader.shapes)
    loader.shapes.extend(shapes)
    matrix = torch.tensor(placement, dtype=torch.float32)
    seen = set()

    def fix(group):
        if id(group) in seen:
            return
        seen.add(id(group))
        group.shape_ids = group.shape_ids + offset
        group.shape_to_canvas = matrix @ group.shape_to_canvas

    for item in groups:
        if isinstance(item, ShapeGroup):
            fix(item)
        else:
            for group in item.groups():
                fix(group)
    cx, cy, cw, ch, clip_ctm = clip_box
    loader.shapes.append(Rect(torch.tensor([cx, cy], dtype=torch.float32),
                              torch.tensor([cx + cw, cy + ch], dtype=torch.float32)))
    clip_group = ShapeGroup(torch.tensor([len(loader.shapes) - 1], dtype=torch.int32),
                            torch.tensor([1.0, 1.0, 1.0, 1.0]),
                            shape_to_canvas=torch.tensor(clip_ctm, dtype=torch.float32))
    return Layer(groups, clip_path=Layer([clip_group]))


def emit_image(loader, elem, style, ctm, viewport):
    """Appends what an ``<image>`` draws to ``loader.groups`` (the current
    container: a Layer, or nothing when the image cannot be drawn)."""
    from ..layers import Layer
    href = _href(elem)
    if href is None or not href.strip():
        return
    if style and style.get("visibility", "visible").strip() in ("hidden", "collapse"):
        return
    loaded = load_href(loader, href)
    if loaded is None:
        _fail(loader, elem, "unreadable", f"cannot read image '{href[:60]}'")
        return
    ctm = np.asarray(ctm, dtype=np.float64)
    x, y = _placement(loader, elem, viewport)
    if loaded[0] == "raster":
        raster = loaded[1]
        natural = (float(raster.shape[1]), float(raster.shape[0]))
    else:
        try:
            width, height, shapes, groups = _read_nested(loaded[1], loaded[2])
        except SVGError as exc:
            _fail(loader, elem, "svg", f"nested SVG image cannot be read: {exc}")
            return
        natural = (float(width), float(height))
    w = _size(loader, elem, "width", viewport[0])
    h = _size(loader, elem, "height", viewport[1])
    if w is None and h is None:
        w, h = natural
    elif w is None:
        w = h * natural[0] / natural[1]
    elif h is None:
        h = w * natural[1] / natural[0]
    if w <= 0 or h <= 0:
        return
    aspect = parse_aspect_ratio(elem.get("preserveAspectRatio"))
    if loaded[0] == "raster":
        placed = PlacedImage(raster, x, y, w, h, aspect, ctm, smooth=_smooth(loader, style, elem))
        loader.groups.append(Layer([], filter=placed, id=elem.get("id") or ""))
        return
    vb = viewbox_transform((0.0, 0.0, natural[0], natural[1]), w, h, aspect)
    placement = ctm @ translate(x, y) @ vb
    loader.groups.append(_nested_layer(loader, shapes, groups, placement, (x, y, w, h, ctm)))


def _feimage_matrix(env, sub):
    """resvg's placement for feImage: the referenced content in user units,
    scaled by the ctm's scale factors (no rotation), with its origin at the
    top-left pixel of the primitive subregion."""
    corners = np.array([[sub[0], sub[1], 1.0], [sub[0] + sub[2], sub[1], 1.0],
                        [sub[0], sub[1] + sub[3], 1.0], [sub[0] + sub[2], sub[1] + sub[3], 1.0]])
    pts = corners @ env.ctm.T
    x0 = math.floor(pts[:, 0].min() + 1e-4)
    y0 = math.floor(pts[:, 1].min() + 1e-4)
    return np.array([[env.sx, 0.0, x0], [0.0, env.sy, y0], [0.0, 0.0, 1.0]])


def feimage_painter(env, child, sub):
    """A painter(ctx) for feImage (see pydiffvg.filters.Image), or None.
    sub: the primitive subregion (x, y, w, h) in user units."""
    loader = env.loader
    href = _href(child)
    if href is None:
        return None
    href = href.strip()
    matrix = _feimage_matrix(env, sub)
    if href.startswith("#"):
        return _element_painter(env, child, href[1:], matrix)
    loaded = load_href(loader, href)
    if loaded is None:
        loader.warn("feImage:unreadable", f"{loader.describe(child)}: cannot read '{href[:60]}'")
        return None
    aspect = parse_aspect_ratio(child.get("preserveAspectRatio"))
    if loaded[0] == "svg":
        try:
            width, height, shapes, groups = _read_nested(loaded[1], loaded[2])
        except SVGError as exc:
            loader.warn("feImage:svg", f"{loader.describe(child)}: nested SVG: {exc}")
            return None
        vb = viewbox_transform((0.0, 0.0, float(width), float(height)), sub[2], sub[3], aspect)
        layer = _nested_layer(loader, shapes, groups, matrix @ vb, (0.0, 0.0, sub[2], sub[3], matrix))

        def paint_svg(ctx):
            if ctx.render_layer is None:
                return None
            return ctx.render_layer(layer, ctx.origin, ctx.scale, (ctx.width, ctx.height))
        return paint_svg
    placed = PlacedImage(loaded[1], 0.0, 0.0, sub[2], sub[3], aspect, matrix,
                         smooth=_smooth(loader, None, child))

    def paint(ctx):
        return placed.render(ctx.height, ctx.width, ctx.origin, ctx.scale, ctx.dtype, ctx.device)
    return paint


_ELEMENT_DEPTH = [0]


def _element_painter(env, child, ident, matrix):
    """feImage referencing an element: the element drawn through ``matrix``
    (see _feimage_matrix), via ``render_layer`` of the filter protocol."""
    from ..layers import Layer
    loader = env.loader
    target = loader.ids.get(ident)
    if target is None or _ELEMENT_DEPTH[0] >= MAX_NESTED_DEPTH:
        return None
    # filters of what feImage draws are ignored (as resvg does), so nothing
    # recurses; an feImage of the filtered element itself (or of an
    # ancestor) makes resvg draw the element unfiltered
    node = env.elem
    while node is not None:
        if node is target:
            env.self_reference = True
            return None
        node = loader.parent.get(id(node))
    saved = loader.groups
    loader.groups = []
    _ELEMENT_DEPTH[0] += 1
    try:
        parent = loader.parent.get(id(target))
        parent_style = loader.document_style(parent) if parent is not None else {}
        loader.walk(target, parent_style, matrix, env.viewport, 1.0, ())
        groups = loader.groups
    except (TypeError, AttributeError, RecursionError) as exc:
        loader.warn("feImage:element", f"{loader.describe(child)}: cannot draw #{ident}: {exc}")
        groups = []
    finally:
        _ELEMENT_DEPTH[0] -= 1
        loader.groups = saved
    if not groups:
        return None
    layer = Layer(groups)

    def paint(ctx):
        if ctx.render_layer is None:
            return None
        return ctx.render_layer(layer, ctx.origin, ctx.scale, (ctx.width, ctx.height))
    return paint
