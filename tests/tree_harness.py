"""A small stand-in for the layer-tree renderer, for filter and image tests.

Until pydiffvg/layers.py rendered trees, this harness (a) wrapped the SVG
loader's walk so that elements with a ``filter`` property become
``Layer(children, filter=...)`` (via ``build_filter``) and ``<image>``
elements go through ``emit_image``, and (b) drew a list of ShapeGroup and
Layer items with ``pydiffvg.render(..., premultiplied=True)`` per run of
groups, applying filters, clip paths and opacity in torch. It is a test
aid only: opacity below a filter is multiplied into paints as the loader
did, and nothing is batched. Now that the loader and pydiffvg.render do
both, ``render_svg`` goes through them; ``draw`` stays as an independent
check of the filter protocol (tests compare the two).
"""
from __future__ import annotations

import contextlib
import copy
import math
import warnings

import numpy as np
import torch

import pydiffvg
from pydiffvg.layers import Layer
from pydiffvg.shapes import Circle, Ellipse, Path, Polygon, Rect, ShapeGroup


def _shape_points(shape):
    if isinstance(shape, Circle):
        c, r = shape.center.detach().double(), float(shape.radius)
        return torch.stack([c - r, c + r, torch.stack([c[0] - r, c[1] + r]),
                            torch.stack([c[0] + r, c[1] - r])])
    if isinstance(shape, Ellipse):
        c, r = shape.center.detach().double(), shape.radius.detach().double()
        return torch.stack([c - r, c + r, torch.stack([c[0] - r[0], c[1] + r[1]]),
                            torch.stack([c[0] + r[0], c[1] - r[1]])])
    if isinstance(shape, Rect):
        a, b = shape.p_min.detach().double(), shape.p_max.detach().double()
        return torch.stack([a, b, torch.stack([a[0], b[1]]), torch.stack([b[0], a[1]])])
    if isinstance(shape, (Path, Polygon)):
        return shape.points.detach().double().reshape(-1, 2)
    return None


def user_bbox(shapes, groups, ctm):
    """Bounding box (x0, y0, x1, y1) in the user space of ``ctm`` of the
    groups' shapes (control points; no stroke), or None."""
    inv = np.linalg.inv(ctm)
    pts = []
    for group in groups:
        matrix = group.shape_to_canvas.detach().double().numpy()
        for sid in group.shape_ids.tolist():
            p = _shape_points(shapes[sid])
            if p is None or p.numel() == 0:
                continue
            p = np.concatenate([p.numpy(), np.ones((p.shape[0], 1))], axis=1)
            pts.append(p @ (inv @ matrix).T)
    if not pts:
        return None
    p = np.concatenate(pts)
    box = (float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max()))
    return box


def native_tree():
    """True once the SVG loader builds filter and image layers itself and
    pydiffvg.render draws trees (then the harness only wraps them)."""
    from pydiffvg.svg import parser
    return hasattr(parser._Loader, "layered")


@contextlib.contextmanager
def patched_loader():
    """Within: svg_to_scene builds Layers for filters and images (a no-op
    once the loader does so itself)."""
    from pydiffvg.svg import parser
    from pydiffvg.svg.filters import build_filter
    from pydiffvg.svg.images import emit_image
    original = parser._Loader.walk
    if getattr(original, "_harness", False) or native_tree():
        yield
        return

    def walk(self, elem, parent_style, ctm, viewport, opacity, chain):
        if not isinstance(elem.tag, str) or not self.is_svg(elem):
            return original(self, elem, parent_style, ctm, viewport, opacity, chain)
        tag = self.local_tag(elem)
        if tag in parser.NOT_RENDERED:
            return original(self, elem, parent_style, ctm, viewport, opacity, chain)
        style = self.compute_style(elem, parent_style)
        if style.get("display", "inline").strip() == "none":
            return
        if tag == "image":
            emit_image(self, elem, style, ctm @ self.element_transform(elem, style, viewport), viewport)
            return
        value = style.get("filter")
        if not value or value.strip() == "none":
            return original(self, elem, parent_style, ctm, viewport, opacity, chain)
        first = len(self.groups)
        elem_ctm = ctm if tag == "svg" else ctm @ self.element_transform(elem, style, viewport)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*property filter.*")
            original(self, elem, parent_style, ctm, viewport, opacity, chain)
        groups = self.groups[first:]
        del self.groups[first:]
        flat = [g for item in groups for g in ([item] if isinstance(item, ShapeGroup) else item.groups())]
        bbox = user_bbox(self.shapes, flat, elem_ctm)
        result = build_filter(self, value, elem, bbox, elem_ctm, viewport)
        if result == "hide":
            return
        self.groups.append(Layer(groups, filter=result))

    walk._harness = True
    parser._Loader.walk = walk
    try:
        yield
    finally:
        parser._Loader.walk = original


def _render_groups(shapes, groups, origin, size, k, samples):
    h, w = size
    if not groups:
        return torch.zeros(h, w, 4)
    shift = torch.tensor([[1.0, 0.0, -origin[0]], [0.0, 1.0, -origin[1]], [0.0, 0.0, 1.0]])
    moved = []
    for group in groups:
        g = copy.copy(group)
        g.shape_to_canvas = shift @ group.shape_to_canvas
        moved.append(g)
    return pydiffvg.render(shapes, moved, width=w, height=h, canvas_width=w / k, canvas_height=h / k,
                           num_samples=samples, premultiplied=True)


def draw(shapes, items, origin, size, k, samples=2):
    """Premultiplied (H, W, 4) of ``items`` over the pixel grid of ``size``
    whose top-left corner is canvas point ``origin``, k pixels per unit."""
    out = torch.zeros(size[0], size[1], 4)
    run = []

    def flush():
        nonlocal out
        if run:
            img = _render_groups(shapes, run, origin, size, k, samples)
            out = img + out * (1 - img[..., 3:4])
            run.clear()

    for item in items:
        if isinstance(item, ShapeGroup):
            run.append(item)
            continue
        flush()
        img = draw_layer(shapes, item, origin, size, k, samples)
        out = img + out * (1 - img[..., 3:4])
    flush()
    return out


def draw_layer(shapes, layer, origin, size, k, samples=2):
    f = layer.filter

    def render_layer(sub, sub_origin, scale, sub_size):
        # the protocol's size is (width, height), as pydiffvg/layers.py takes it
        return draw(shapes, sub.children, sub_origin, (sub_size[1], sub_size[0]), scale[0], samples)

    if f is not None and f.region is not None:
        # the region on this grid's pixels, rounded outwards
        gx0 = math.floor((f.region[0] - origin[0]) * k + 1e-6)
        gy0 = math.floor((f.region[1] - origin[1]) * k + 1e-6)
        # tiny-skia's to_int_rect: floor the origin, ceil the size
        gx1 = gx0 + math.ceil((f.region[2] - f.region[0]) * k - 1e-6)
        gy1 = gy0 + math.ceil((f.region[3] - f.region[1]) * k - 1e-6)
        pw, ph = gx1 - gx0, gy1 - gy0
        x0, y0 = origin[0] + gx0 / k, origin[1] + gy0 / k
        content = draw(shapes, layer.children, (x0, y0), (ph, pw), k, samples)
        result = f.apply(content, (x0, y0), (k, k), render_layer)
        img = torch.zeros(size[0], size[1], 4)
        ox, oy = gx0, gy0
        sx0, sy0 = max(0, -ox), max(0, -oy)
        dx0, dy0 = max(0, ox), max(0, oy)
        wcopy = min(pw - sx0, size[1] - dx0)
        hcopy = min(ph - sy0, size[0] - dy0)
        if wcopy > 0 and hcopy > 0:
            img[dy0:dy0 + hcopy, dx0:dx0 + wcopy] = result[sy0:sy0 + hcopy, sx0:sx0 + wcopy]
    else:
        img = draw(shapes, layer.children, origin, size, k, samples)
        if f is not None:
            img = f.apply(img, origin, (k, k), render_layer)
    if layer.clip_path is not None:
        img = img * draw(shapes, layer.clip_path.children, origin, size, k, samples)[..., 3:4]
    opacity = layer.opacity
    return img * opacity


def render_svg(source, width=None, samples=4):
    """(H, W, 4) straight RGBA float of an SVG: through pydiffvg.render once
    it draws trees, else through the harness's own drawing."""
    with patched_loader():
        cw, ch, shapes, groups = pydiffvg.svg_to_scene(source, strict=False)
    width = width or cw
    k = width / cw
    height = int(round(ch * k))
    if native_tree():
        return pydiffvg.render(shapes, groups, width=width, height=height, canvas_width=cw,
                               canvas_height=ch, num_samples=samples, seed=0)
    img = draw(shapes, groups, (0.0, 0.0), (height, width), k, samples)
    a = img[..., 3:4]
    rgb = torch.where(a > 0, img[..., :3] / a.clamp_min(1e-8), torch.zeros_like(img[..., :3]))
    return torch.cat([rgb.clamp(0, 1), a.clamp(0, 1)], dim=-1)


def psnr_over_white(rgba, reference_rgba):
    """PSNR (dB, 8-bit scale) of two straight RGBA arrays composited over white."""
    a = np.asarray(rgba, dtype=np.float64)
    b = np.asarray(reference_rgba, dtype=np.float64)
    fa = a[..., :3] * a[..., 3:4] + 1 - a[..., 3:4]
    fb = b[..., :3] * b[..., 3:4] + 1 - b[..., 3:4]
    mse = float(np.mean((np.round(fa * 255) - np.round(fb * 255)) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255 ** 2 / mse)
