"""SVG filter effects as differentiable torch ops.

Every primitive works on images of shape (H, W, 4), float, premultiplied
RGBA in the colour space of its ``color_space`` ("linearRGB" or "sRGB"),
over the filter region: pixel (0, 0) has its top-left corner at the canvas
point ``origin`` and there are ``scale = (sx, sy)`` pixels per canvas unit
(see the filter protocol in pydiffvg/layers.py). Primitive parameters are
stored in *canvas units* (the SVG importer converts user units through the
element's transform, as resvg does: lengths scale by the column norms of
the transform), so one filter object renders at any resolution.

Parameters that are float tensors (stdDeviation, offsets, matrix values,
flood colour, k1..k4, transfer-function values, lighting constants, ...)
may have ``requires_grad``; autograd carries gradients through every
primitive to them and to the source image.

Semantics follow the Filter Effects Module Level 1 and, where the spec
leaves room, resvg (whose PNGs are the test references): the filter
region and subregions round outwards to whole pixels, a result that names
an unknown ``in`` falls back to the previous result (so result cycles
cannot exist: a primitive only sees results defined before it), and each
result carries its colour space, converted on use.

Memory: a filter region holds at most ``MAX_FILTER_PIXELS`` pixels
(4096 x 4096); ``FilterGraph.apply`` raises ``ValueError`` past it and the
SVG importer refuses such a filter beforehand (SVGError in strict mode,
else a warning and the element drawn unfiltered). Blur cost is bounded for
any stdDeviation: kernels longer than the image are cut to the image's
extent (nothing further can reach a pixel) and long kernels run by FFT.
"""
from __future__ import annotations

import math
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F

from .filter_effects import (turbulence_image, lighting_image, DistantLight, PointLight,
                             SpotLight)

MAX_FILTER_PIXELS = 4096 * 4096
#: primitives x region pixels of one filter (the SVG importer refuses more)
MAX_FILTER_WORK = 16 * MAX_FILTER_PIXELS
SPACES = ("linearRGB", "sRGB")
_EPS = 1e-8

__all__ = ["MAX_FILTER_PIXELS", "MAX_FILTER_WORK", "FilterGraph", "FilterContext", "GaussianBlur", "Offset", "Flood",
           "ColorMatrix", "ComponentTransfer", "Composite", "Blend", "Merge", "Morphology", "Tile",
           "Image", "DropShadow", "Turbulence", "ConvolveMatrix", "DisplacementMap",
           "DiffuseLighting", "SpecularLighting", "DistantLight", "PointLight", "SpotLight",
           "gaussian_blur", "shift_image", "blend_images", "srgb_to_linear", "linear_to_srgb",
           "convert_space", "color_matrix_for"]


# ----------------------------------------------------------------------------
# Colour helpers
# ----------------------------------------------------------------------------

def _tensor(value, like=None) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    dtype = like.dtype if like is not None else torch.float32
    device = like.device if like is not None else None
    return torch.tensor(value, dtype=dtype, device=device)


def _f(value) -> float:
    """A Python float of a number or 0-d tensor (detached: only for control flow)."""
    return float(value.detach()) if isinstance(value, torch.Tensor) else float(value)


def srgb_to_linear(c: torch.Tensor) -> torch.Tensor:
    """sRGB transfer function inverse (IEC 61966-2-1) on straight values in [0, 1]."""
    c = c.clamp(0.0, 1.0)
    return torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055).clamp_min(_EPS) ** 2.4)


def linear_to_srgb(c: torch.Tensor) -> torch.Tensor:
    c = c.clamp(0.0, 1.0)
    return torch.where(c <= 0.0031308, c * 12.92, 1.055 * c.clamp_min(_EPS) ** (1 / 2.4) - 0.055)


def unpremultiply(img: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(H, W, 4) premultiplied -> straight rgb (H, W, 3), alpha (H, W, 1); rgb = 0 where alpha = 0."""
    alpha = img[..., 3:4]
    safe = alpha.clamp_min(1e-6)
    rgb = torch.where(alpha > 1e-6, img[..., :3] / safe, torch.zeros_like(img[..., :3]))
    return rgb.clamp(0.0, 1.0), alpha


def premultiply(rgb: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    return torch.cat([rgb * alpha, alpha], dim=-1)


def convert_space(img: torch.Tensor, source: str, target: str) -> torch.Tensor:
    """Premultiplied image from colour space ``source`` to ``target``:
    unpremultiply, apply the transfer curve, premultiply again."""
    if source == target:
        return img
    rgb, alpha = unpremultiply(img)
    rgb = srgb_to_linear(rgb) if target == "linearRGB" else linear_to_srgb(rgb)
    return premultiply(rgb, alpha)


def _clamp_premultiplied(img: torch.Tensor) -> torch.Tensor:
    alpha = img[..., 3:4].clamp(0.0, 1.0)
    rgb = torch.minimum(img[..., :3].clamp_min(0.0), alpha)
    return torch.cat([rgb, alpha], dim=-1)


# ----------------------------------------------------------------------------
# Image ops
# ----------------------------------------------------------------------------

_FFT_KERNEL = 97  # kernels longer than this run through an FFT


def _blur_axis(img: torch.Tensor, sigma: torch.Tensor, dim: int) -> torch.Tensor:
    """1-D Gaussian blur along ``dim`` (0: rows/y, 1: columns/x), zero outside.

    The kernel is exp(-d^2 / (2 sigma^2)) over d in [-R, R], R = ceil(3 sigma),
    normalised to sum 1. When R exceeds the image length N the kernel is cut to
    |d| <= N - 1 (no pixel is further away) and normalised analytically by
    1 / (sqrt(2 pi) sigma), which is the untruncated sum for sigma >= 1; the
    cost is then O(N log N) per line whatever sigma is."""
    moved = img.movedim(dim, -2)                       # (..., N, C) with N along the axis
    shape = moved.shape
    n = shape[-2]
    lines = moved.movedim(-2, -1).reshape(-1, 1, n)    # (B, 1, N)
    full_radius = int(math.ceil(3.0 * _f(sigma)))
    radius = min(full_radius, n - 1)
    d = torch.arange(-radius, radius + 1, dtype=img.dtype, device=img.device)
    weights = torch.exp(-0.5 * (d / sigma) ** 2)
    if radius >= full_radius:
        weights = weights / weights.sum()
    else:
        weights = weights / (sigma * math.sqrt(2.0 * math.pi))
    size = 2 * radius + 1
    if size <= _FFT_KERNEL:
        out = F.conv1d(lines, weights.view(1, 1, -1), padding=radius)
    else:
        length = n + size - 1
        spectrum = torch.fft.rfft(lines, n=length) * torch.fft.rfft(weights, n=length)
        out = torch.fft.irfft(spectrum, n=length)[..., radius:radius + n]
    out = out.reshape(*shape[:-2], shape[-1], n).movedim(-1, -2)
    return out.movedim(-2, dim)


BOX_BLUR_SIGMA = 2.0  # from this sigma (px) on, box blurs replace the Gaussian
BOX_BLUR_PASSES = 5   # as resvg (its reference PNGs show the border losses of 5 passes)


def _box_axis(img: torch.Tensor, width: torch.Tensor, dim: int) -> torch.Tensor:
    """Box blur of real ``width`` >= 1 px along ``dim``, zero outside.

    The kernel is [f, 1, ..., 1, f] / width with 2r + 1 ones,
    r = floor((width - 1) / 2) and f = (width - 1 - 2r) / 2 (a box of odd
    integer width when f = 0), so the result is smooth in ``width``. Running
    sums make the cost O(N) whatever the width."""
    moved = img.movedim(dim, -1)                       # (..., N)
    n = moved.shape[-1]
    r = int(math.floor((_f(width) - 1.0) / 2.0))
    frac = (width - 1.0 - 2 * r) / 2.0
    reach = min(r, n)
    pad = reach + 2
    padded = F.pad(moved.to(torch.float64), (pad, pad))
    sums = torch.cat([torch.zeros_like(padded[..., :1]), padded.cumsum(-1)], dim=-1)
    # output i sits at padded index i + pad; the sum of
    # padded[i + pad - reach .. i + pad + reach] = sums[i + pad + reach + 1] - sums[i + pad - reach]
    hi, lo = pad + reach + 1, pad - reach
    center = sums[..., hi:hi + n] - sums[..., lo:lo + n]
    out = center.to(img.dtype)
    if r < n:
        ends = padded[..., hi:hi + n] + padded[..., lo - 1:lo - 1 + n]
        out = out + frac.to(img.dtype) * ends.to(img.dtype)
    return (out / width.to(img.dtype)).movedim(-1, dim)


def _fractional_box_width(target: torch.Tensor) -> torch.Tensor:
    """Width w of the fractional box (see _box_axis) whose variance is ``target``.

    With r ones on each side of the centre and end weights f, the variance is
    V = (r (r + 1) (2r + 1) / 3 + 2 f (r + 1)^2) / (2r + 1 + 2f). At f = 0 it
    is r (r + 1) / 3, so r is the largest integer with r (r + 1) / 3 <= T,
    and V = T solves to
    f = (T (2r + 1) - r (r + 1) (2r + 1) / 3) / (2 ((r + 1)^2 - T))."""
    t = _f(target)
    r = int(math.floor((-1.0 + math.sqrt(1.0 + 12.0 * max(t, 0.0))) / 2.0))
    while r > 0 and r * (r + 1) / 3.0 > t:
        r -= 1
    while (r + 1) * (r + 2) / 3.0 <= t:
        r += 1
    ones = 2 * r + 1
    frac = (target * ones - r * (r + 1) * ones / 3.0) / (2.0 * ((r + 1) ** 2 - target))
    return ones + 2.0 * frac


def _box_widths(sigma: torch.Tensor):
    """Widths of the BOX_BLUR_PASSES boxes for ``sigma`` (px).

    The first passes use the odd integer widths of the classic "boxes for
    Gauss" split that resvg uses (wl = the odd floor of sqrt(12 s^2 / n + 1),
    wu = wl + 2, m passes of wl); the last pass is a fractional box whose
    width makes the total variance exactly sigma^2, which keeps the blur
    differentiable in sigma (and equal to resvg's boxes up to that last
    width)."""
    n = BOX_BLUR_PASSES
    s = _f(sigma)
    ideal = math.sqrt(12.0 * s * s / n + 1.0)
    wl = int(math.floor(ideal))
    wl -= 1 if wl % 2 == 0 else 0
    wu = wl + 2
    m = int(round((12.0 * s * s - n * wl * wl - 4.0 * n * wl - 3.0 * n) / (-4.0 * wl - 4.0)))
    sizes = [wl if i < m else wu for i in range(n)]
    rest = sigma * sigma - sum((w * w - 1) / 12.0 for w in sizes[:-1])
    if _f(rest) <= 0.0:   # cannot happen for sigma >= 2; equal boxes then
        width = _fractional_box_width(sigma * sigma / n)
        return [width] * n
    return [torch.tensor(float(w), dtype=sigma.dtype, device=sigma.device) for w in sizes[:-1]] + \
        [_fractional_box_width(rest)]


def gaussian_blur(img: torch.Tensor, sigma_x, sigma_y) -> torch.Tensor:
    """Separable Gaussian blur of (H, W, C) by standard deviations in pixels
    (floats or 0-d tensors). An axis with sigma < 0.05 px is not blurred.

    From sigma = 2 px on, as the Filter Effects spec allows (and resvg does),
    the Gaussian is five successive box blurs (widths from ``_box_widths``:
    resvg's, with the last made fractional so that the variance is exactly
    sigma^2 and the result differentiable in sigma), each truncated at the
    image border as resvg's are.
    Cost: O(H W) for any sigma (a 1e6 px radius included)."""
    out = img
    for sigma, dim in ((sigma_x, 1), (sigma_y, 0)):
        value = _f(sigma)
        if value < 0.05:
            continue
        sigma = _tensor(sigma, img)
        if value < BOX_BLUR_SIGMA:
            out = _blur_axis(out, sigma, dim)
            continue
        for width in _box_widths(sigma):
            out = _box_axis(out, width, dim)
    return out


def _shift_int(img: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """out[y, x] = img[y - dy, x - dx], zero where that falls outside."""
    h, w = img.shape[:2]
    out = torch.zeros_like(img)
    if abs(dx) >= w or abs(dy) >= h:
        return out
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = img[ys, xs]
    return out


def shift_image(img: torch.Tensor, dx, dy) -> torch.Tensor:
    """Translate (H, W, C) by (dx, dy) pixels (floats or 0-d tensors), zero
    fill. Fractional parts interpolate bilinearly between the four integer
    shifts, so the result is differentiable in dx and dy."""
    dx_t, dy_t = _tensor(dx, img), _tensor(dy, img)
    ix, iy = math.floor(_f(dx_t)), math.floor(_f(dy_t))
    fx, fy = dx_t - ix, dy_t - iy
    out = None
    for ox, wx in ((0, 1 - fx), (1, fx)):
        for oy, wy in ((0, 1 - fy), (1, fy)):
            if (ox and _f(fx) == 0.0) or (oy and _f(fy) == 0.0):
                continue
            term = _shift_int(img, ix + ox, iy + oy) * (wx * wy)
            out = term if out is None else out + term
    return out


def _offset_pixels(img, dx, dy):
    """Offsets of feOffset/feDropShadow: whole pixels (truncated toward zero,
    as resvg does) unless dx or dy require grad; then bilinear (see shift_image)."""
    if (isinstance(dx, torch.Tensor) and dx.requires_grad) or \
            (isinstance(dy, torch.Tensor) and dy.requires_grad):
        return shift_image(img, dx, dy)
    return _shift_int(img, int(_f(dx)), int(_f(dy)))


def _over(top: torch.Tensor, bottom: torch.Tensor) -> torch.Tensor:
    return top + bottom * (1.0 - top[..., 3:4])


def _lum(c):
    return 0.3 * c[..., 0:1] + 0.59 * c[..., 1:2] + 0.11 * c[..., 2:3]


def _clip_color(c):
    lum = _lum(c)
    low = c.min(dim=-1, keepdim=True).values
    high = c.max(dim=-1, keepdim=True).values
    c = torch.where(low < 0, lum + (c - lum) * lum / (lum - low).clamp_min(_EPS), c)
    c = torch.where(high > 1, lum + (c - lum) * (1 - lum) / (high - lum).clamp_min(_EPS), c)
    return c


def _set_lum(c, lum):
    return _clip_color(c + (lum - _lum(c)))


def _sat(c):
    return c.max(dim=-1, keepdim=True).values - c.min(dim=-1, keepdim=True).values


def _set_sat(c, sat):
    high = c.max(dim=-1, keepdim=True).values
    low = c.min(dim=-1, keepdim=True).values
    span = high - low
    scaled = (c - low) * sat / span.clamp_min(_EPS)
    return torch.where(span > _EPS, scaled, torch.zeros_like(c))


def _blend_function(cb, cs, mode):
    """B(Cb, Cs) of W3C Compositing and Blending Level 1, section 10, on straight colours."""
    if mode == "normal":
        return cs
    if mode == "multiply":
        return cb * cs
    if mode == "screen":
        return cb + cs - cb * cs
    if mode == "overlay":
        return _blend_function(cs, cb, "hard-light")
    if mode == "darken":
        return torch.minimum(cb, cs)
    if mode == "lighten":
        return torch.maximum(cb, cs)
    if mode == "color-dodge":
        dodge = torch.minimum(torch.ones_like(cb), cb / (1 - cs).clamp_min(_EPS))
        return torch.where(cb <= 0, torch.zeros_like(cb), torch.where(cs >= 1, torch.ones_like(cb), dodge))
    if mode == "color-burn":
        burn = 1 - torch.minimum(torch.ones_like(cb), (1 - cb) / cs.clamp_min(_EPS))
        return torch.where(cb >= 1, torch.ones_like(cb), torch.where(cs <= 0, torch.zeros_like(cb), burn))
    if mode == "hard-light":
        return torch.where(cs <= 0.5, cb * 2 * cs, _blend_function(cb, 2 * cs - 1, "screen"))
    if mode == "soft-light":
        d = torch.where(cb <= 0.25, ((16 * cb - 12) * cb + 4) * cb, cb.clamp_min(0).sqrt())
        return torch.where(cs <= 0.5, cb - (1 - 2 * cs) * cb * (1 - cb), cb + (2 * cs - 1) * (d - cb))
    if mode == "difference":
        return (cb - cs).abs()
    if mode == "exclusion":
        return cb + cs - 2 * cb * cs
    if mode == "hue":
        return _set_lum(_set_sat(cs, _sat(cb)), _lum(cb))
    if mode == "saturation":
        return _set_lum(_set_sat(cb, _sat(cs)), _lum(cb))
    if mode == "color":
        return _set_lum(cs, _lum(cb))
    if mode == "luminosity":
        return _set_lum(cb, _lum(cs))
    raise ValueError(f"blend_images: unknown mode {mode!r}")


def blend_images(backdrop: torch.Tensor, source: torch.Tensor, mode: str = "normal") -> torch.Tensor:
    """``source`` blended onto ``backdrop`` (both premultiplied (..., 4)):
    co = (1 - ab) cs_p + (1 - as) cb_p + as ab B(Cb, Cs), ao = as + ab - as ab."""
    if mode == "normal":
        return _over(source, backdrop)
    cs, a_s = unpremultiply(source)
    cb, a_b = unpremultiply(backdrop)
    mixed = _blend_function(cb, cs, mode).clamp(0.0, 1.0)
    rgb = (1 - a_b) * source[..., :3] + (1 - a_s) * backdrop[..., :3] + a_s * a_b * mixed
    return torch.cat([rgb, a_s + a_b - a_s * a_b], dim=-1)


def color_matrix_for(kind: str, values=None) -> torch.Tensor:
    """The (4, 5) feColorMatrix for ``kind`` (matrix, saturate, hueRotate,
    luminanceToAlpha); ``values`` is a tensor/list (20 values) or a number."""
    if kind == "matrix":
        return _tensor(values).reshape(4, 5)
    if kind == "luminanceToAlpha":
        m = torch.zeros(4, 5)
        m[3, :3] = torch.tensor([0.2125, 0.7154, 0.0721])
        return m
    if kind == "saturate":
        s = _tensor(values)
        rows = [[0.213 + 0.787 * s, 0.715 - 0.715 * s, 0.072 - 0.072 * s],
                [0.213 - 0.213 * s, 0.715 + 0.285 * s, 0.072 - 0.072 * s],
                [0.213 - 0.213 * s, 0.715 - 0.715 * s, 0.072 + 0.928 * s]]
    elif kind == "hueRotate":
        a = _tensor(values) * (math.pi / 180.0)
        c, s = torch.cos(a), torch.sin(a)
        rows = [[0.213 + c * 0.787 - s * 0.213, 0.715 - c * 0.715 - s * 0.715, 0.072 - c * 0.072 + s * 0.928],
                [0.213 - c * 0.213 + s * 0.143, 0.715 + c * 0.285 + s * 0.140, 0.072 - c * 0.072 - s * 0.283],
                [0.213 - c * 0.213 - s * 0.787, 0.715 - c * 0.715 + s * 0.715, 0.072 + c * 0.928 + s * 0.072]]
    else:
        raise ValueError(f"color_matrix_for: unknown kind {kind!r}")
    top = torch.stack([torch.stack([_tensor(v) for v in row]) for row in rows])   # (3, 3)
    m = torch.zeros(4, 5, dtype=top.dtype)
    m = m.index_put((torch.arange(3).repeat_interleave(3), torch.arange(3).repeat(3)), top.reshape(-1))
    m[3, 3] = 1.0
    return m


# ----------------------------------------------------------------------------
# Graph machinery
# ----------------------------------------------------------------------------

class FilterContext:
    """Where a filter runs: the region's pixel grid and helpers to map canvas
    rectangles and points into it."""

    def __init__(self, height, width, origin, scale, render_layer, dtype, device):
        self.height, self.width = height, width
        self.origin = (float(origin[0]), float(origin[1]))
        self.scale = (float(scale[0]), float(scale[1]))
        self.render_layer = render_layer
        self.dtype, self.device = dtype, device

    def pixel_rect(self, rect) -> Tuple[int, int, int, int]:
        """Canvas rectangle (x0, y0, x1, y1) -> pixel rectangle (origin
        floored, size ceiled) clipped to the image; None -> the whole image."""
        if rect is None:
            return 0, 0, self.width, self.height
        ox, oy = self.origin
        sx, sy = self.scale
        # tiny-skia's to_int_rect (resvg): floor the origin, ceil the size
        x0 = math.floor((rect[0] - ox) * sx + 1e-4)
        y0 = math.floor((rect[1] - oy) * sy + 1e-4)
        x1 = x0 + math.ceil((rect[2] - rect[0]) * sx - 1e-4)
        y1 = y0 + math.ceil((rect[3] - rect[1]) * sy - 1e-4)
        x0, x1 = max(0, min(self.width, x0)), max(0, min(self.width, x1))
        y0, y1 = max(0, min(self.height, y0)), max(0, min(self.height, y1))
        return x0, y0, max(x0, x1), max(y0, y1)

    def to_pixels(self, x, y):
        """Canvas point -> pixel coordinates of this grid (corner convention)."""
        return (x - self.origin[0]) * self.scale[0], (y - self.origin[1]) * self.scale[1]

    def zeros(self):
        return torch.zeros(self.height, self.width, 4, dtype=self.dtype, device=self.device)

    def rect_mask(self, rect) -> torch.Tensor:
        x0, y0, x1, y1 = rect
        mask = torch.zeros(self.height, self.width, 1, dtype=self.dtype, device=self.device)
        mask[y0:y1, x0:x1] = 1.0
        return mask


class Primitive:
    """Base of the filter primitives.

    inputs: names of the inputs (``in``, ``in2``): None (the previous result,
        or SourceGraphic for the first primitive), "SourceGraphic",
        "SourceAlpha", or the ``result`` name of an earlier primitive.
    result: the name this primitive's output is stored under, or None.
    subregion: (x0, y0, x1, y1) in canvas units, or None for the filter region.
    color_space: "linearRGB" (SVG's default) or "sRGB": the inputs are
        converted to it, and the output is in it.
    """
    n_inputs = 1

    def __init__(self, inputs=(None,), result=None, subregion=None, color_space="linearRGB"):
        if color_space not in SPACES:
            raise ValueError(f"{type(self).__name__}: color_space must be 'linearRGB' or 'sRGB', "
                             f"got {color_space!r}")
        self.inputs = list(inputs)
        self.result = result
        self.subregion = subregion
        self.color_space = color_space

    #: the colour space the output is tagged with (None: ``color_space``)
    output_space = None
    #: True for colour-neutral primitives (feOffset, feTile): the input is not
    #: converted and the output keeps the input's colour space, as in resvg
    passthrough = False

    def run(self, ctx: FilterContext, images: List[torch.Tensor], rects) -> torch.Tensor:
        raise NotImplementedError


class GaussianBlur(Primitive):
    """feGaussianBlur: std_x, std_y in canvas units (float or 0-d tensor)."""

    def __init__(self, std_x, std_y=None, **kw):
        super().__init__(**kw)
        self.std_x = _tensor(std_x)
        self.std_y = self.std_x if std_y is None else _tensor(std_y)

    def run(self, ctx, images, rects):
        sx = self.std_x * ctx.scale[0]
        sy = self.std_y * ctx.scale[1]
        if _f(sx) <= 0 and _f(sy) <= 0:
            return images[0]
        return gaussian_blur(images[0], sx, sy)


class Offset(Primitive):
    """feOffset: dx, dy in canvas units (whole pixels unless they require grad)."""
    passthrough = True

    def __init__(self, dx=0.0, dy=0.0, **kw):
        super().__init__(**kw)
        self.dx, self.dy = _tensor(dx), _tensor(dy)

    def run(self, ctx, images, rects):
        return _offset_pixels(images[0], self.dx * ctx.scale[0], self.dy * ctx.scale[1])


class Flood(Primitive):
    """feFlood: color (4,) straight sRGB RGBA (opacity folded into alpha)."""
    n_inputs = 0

    def __init__(self, color=(0.0, 0.0, 0.0, 1.0), **kw):
        kw.setdefault("inputs", ())
        super().__init__(**kw)
        self.color = _tensor(color)

    output_space = "sRGB"  # the colour as given; converted where it is used

    def run(self, ctx, images, rects):
        color = self.color.to(device=ctx.device, dtype=ctx.dtype)
        pixel = torch.cat([color[:3] * color[3], color[3:4]])
        return pixel.expand(ctx.height, ctx.width, 4)


class ColorMatrix(Primitive):
    """feColorMatrix: matrix (4, 5) tensor applied to straight [r, g, b, a, 1]
    (use ``color_matrix_for`` to build saturate/hueRotate/luminanceToAlpha)."""

    def __init__(self, matrix, **kw):
        super().__init__(**kw)
        self.matrix = _tensor(matrix)

    def run(self, ctx, images, rects):
        rgb, alpha = unpremultiply(images[0])
        straight = torch.cat([rgb, alpha], dim=-1)
        m = self.matrix.to(device=ctx.device, dtype=ctx.dtype)
        out = straight @ m[:, :4].T + m[:, 4]
        out = out.clamp(0.0, 1.0)
        return premultiply(out[..., :3], out[..., 3:4])


class ComponentTransfer(Primitive):
    """feComponentTransfer: functions is a list of four (R, G, B, A) entries,
    each None/("identity",), ("table", values), ("discrete", values),
    ("linear", slope, intercept) or ("gamma", amplitude, exponent, offset);
    values may be tensors."""

    def __init__(self, functions, **kw):
        super().__init__(**kw)
        self.functions = list(functions) + [None] * (4 - len(functions))

    @staticmethod
    def transfer(c, func):
        if func is None or func[0] == "identity":
            return c
        kind = func[0]
        if kind in ("table", "discrete"):
            values = _tensor(func[1], c)
            n = values.numel()
            if n == 0:
                return c
            if kind == "discrete":
                k = (c * n).floor().clamp(0, n - 1).long()
                return values[k]
            if n == 1:
                return values[0].expand_as(c)
            k = (c * (n - 1)).floor().clamp(0, n - 2).long()
            frac = c * (n - 1) - k
            return values[k] + frac * (values[k + 1] - values[k])
        if kind == "linear":
            return _tensor(func[1], c) * c + _tensor(func[2], c)
        if kind == "gamma":
            return _tensor(func[1], c) * c.clamp_min(0) ** _tensor(func[2], c) + _tensor(func[3], c)
        raise ValueError(f"ComponentTransfer: unknown function type {kind!r}")

    def run(self, ctx, images, rects):
        rgb, alpha = unpremultiply(images[0])
        channels = torch.cat([rgb, alpha], dim=-1)
        out = [self.transfer(channels[..., k], self.functions[k]).clamp(0.0, 1.0) for k in range(4)]
        out = torch.stack(out, dim=-1)
        return premultiply(out[..., :3], out[..., 3:4])


class Composite(Primitive):
    """feComposite: operator over/in/out/atop/xor/arithmetic (k = (k1..k4))."""
    n_inputs = 2
    OPERATORS = ("over", "in", "out", "atop", "xor", "arithmetic")

    def __init__(self, operator="over", k=(0.0, 0.0, 0.0, 0.0), **kw):
        kw.setdefault("inputs", (None, None))
        super().__init__(**kw)
        if operator not in self.OPERATORS:
            raise ValueError(f"Composite: operator must be one of {self.OPERATORS}, got {operator!r}")
        self.operator = operator
        self.k = _tensor(k)

    def run(self, ctx, images, rects):
        a, b = images
        aa, ab = a[..., 3:4], b[..., 3:4]
        op = self.operator
        if op == "over":
            return _over(a, b)
        if op == "in":
            return a * ab
        if op == "out":
            return a * (1 - ab)
        if op == "atop":
            return a * ab + b * (1 - aa)
        if op == "xor":
            return a * (1 - ab) + b * (1 - aa)
        k = self.k.to(device=ctx.device, dtype=ctx.dtype)
        return _clamp_premultiplied(k[0] * a * b + k[1] * a + k[2] * b + k[3])


class Blend(Primitive):
    """feBlend: ``in`` (source) blended onto ``in2`` (backdrop) with ``mode``."""
    n_inputs = 2

    def __init__(self, mode="normal", **kw):
        kw.setdefault("inputs", (None, None))
        super().__init__(**kw)
        self.mode = mode

    def run(self, ctx, images, rects):
        return blend_images(images[1], images[0], self.mode)


class Merge(Primitive):
    """feMerge: the inputs composited with "over", first at the bottom."""

    def __init__(self, inputs, **kw):
        super().__init__(inputs=inputs, **kw)
        self.n_inputs = len(self.inputs)

    def run(self, ctx, images, rects):
        out = ctx.zeros()
        for img in images:
            out = _over(img, out)
        return out


class Morphology(Primitive):
    """feMorphology: erode (min) or dilate (max) over a window of 2*ceil(r)
    pixels per axis (resvg's window: offsets -ceil(r) .. ceil(r) - 1),
    transparent outside the image. rx, ry in canvas units."""

    def __init__(self, operator="erode", rx=0.0, ry=None, **kw):
        super().__init__(**kw)
        self.operator = operator
        self.rx = float(rx)
        self.ry = self.rx if ry is None else float(ry)

    def run(self, ctx, images, rects):
        img = images[0]
        rx, ry = self.rx * ctx.scale[0], self.ry * ctx.scale[1]
        if not (rx > 0 and ry > 0):
            return torch.zeros_like(img)
        h, w = img.shape[:2]
        cols = min(int(math.ceil(rx)) * 2, w)
        rows = min(int(math.ceil(ry)) * 2, h)
        x = img.permute(2, 0, 1).unsqueeze(0)          # (1, 4, H, W)
        sign = -1.0 if self.operator == "erode" else 1.0
        # max over the window of sign*x, with zero (transparent) padding;
        # erode: min(x) = -max(-x) and the padding's -0 acts as transparent
        x = sign * x
        tx, ty = cols // 2, rows // 2
        x = F.pad(x, (tx, cols - tx, ty, rows - ty), value=0.0)
        x = F.max_pool2d(x, (rows, cols), stride=1)[..., :h, :w]
        return (sign * x).squeeze(0).permute(1, 2, 0)


class Tile(Primitive):
    """feTile: the input's subregion repeated over the whole region."""
    passthrough = True

    def run(self, ctx, images, rects):
        img = images[0]
        x0, y0, x1, y1 = rects[0]
        tw, th = x1 - x0, y1 - y0
        if tw <= 0 or th <= 0:
            return torch.zeros_like(img)
        cols = (torch.arange(ctx.width, device=img.device) - x0) % tw + x0
        rows = (torch.arange(ctx.height, device=img.device) - y0) % th + y0
        return img[rows][:, cols]


class Image(Primitive):
    """feImage: ``painter(ctx) -> (H, W, 4)`` premultiplied sRGB image over the
    region (a placed raster, or a layer drawn through ``ctx.render_layer``)."""
    n_inputs = 0
    output_space = "sRGB"

    def __init__(self, painter, **kw):
        kw.setdefault("inputs", ())
        super().__init__(**kw)
        self.painter = painter

    def run(self, ctx, images, rects):
        img = self.painter(ctx)
        return ctx.zeros() if img is None else img


class DropShadow(Primitive):
    """feDropShadow: blur(alpha of the input) * colour, offset, under the input."""

    def __init__(self, dx=2.0, dy=2.0, std_x=2.0, std_y=None, color=(0, 0, 0, 1), **kw):
        super().__init__(**kw)
        self.dx, self.dy = _tensor(dx), _tensor(dy)
        self.std_x = _tensor(std_x)
        self.std_y = self.std_x if std_y is None else _tensor(std_y)
        self.color = _tensor(color)

    def run(self, ctx, images, rects):
        img = images[0]
        alpha = img[..., 3:4]
        sx, sy = self.std_x * ctx.scale[0], self.std_y * ctx.scale[1]
        if _f(sx) > 0 or _f(sy) > 0:
            alpha = gaussian_blur(alpha, sx.clamp_min(0), sy.clamp_min(0))
        color = self.color.to(device=ctx.device, dtype=ctx.dtype)
        rgb = srgb_to_linear(color[:3]) if self.color_space == "linearRGB" else color[:3]
        a = alpha * color[3]
        shadow = torch.cat([rgb * a, a], dim=-1)
        shadow = _offset_pixels(shadow, self.dx * ctx.scale[0], self.dy * ctx.scale[1])
        return _over(img, shadow)


class Turbulence(Primitive):
    """feTurbulence (the spec's reference Perlin noise): base_frequency (fx, fy)
    per user unit; canvas_to_user (3, 3) numpy matrix maps canvas points to
    the user space the noise is evaluated in; stitch: stitchTiles="stitch"
    (the tile as resvg takes it, see filter_effects.turbulence_image)."""
    n_inputs = 0

    def __init__(self, base_frequency=(0.0, 0.0), num_octaves=1, seed=0, stitch=False,
                 fractal=False, canvas_to_user=None, **kw):
        kw.setdefault("inputs", ())
        super().__init__(**kw)
        self.base_frequency = (float(base_frequency[0]), float(base_frequency[1]))
        self.num_octaves = int(num_octaves)
        self.seed = int(seed)
        self.stitch = bool(stitch)
        self.fractal = bool(fractal)
        self.canvas_to_user = canvas_to_user

    def run(self, ctx, images, rects):
        return turbulence_image(self, ctx)


class ConvolveMatrix(Primitive):
    """feConvolveMatrix: kernel (order_y, order_x) tensor, divisor, bias,
    target (tx, ty), edge_mode duplicate/wrap/none, preserve_alpha."""

    def __init__(self, kernel, divisor=None, bias=0.0, target=None, edge_mode="duplicate",
                 preserve_alpha=False, **kw):
        super().__init__(**kw)
        self.kernel = _tensor(kernel)
        rows, cols = self.kernel.shape
        if divisor is None:
            total = _f(self.kernel.sum())
            divisor = total if abs(total) > 1e-6 else 1.0
        self.divisor = _tensor(divisor)
        self.bias = _tensor(bias)
        self.target = target if target is not None else (cols // 2, rows // 2)
        self.edge_mode = edge_mode
        self.preserve_alpha = bool(preserve_alpha)

    def run(self, ctx, images, rects):
        img = images[0]
        if self.preserve_alpha:
            rgb, alpha = unpremultiply(img)
            img = torch.cat([rgb, alpha], dim=-1)
        h, w = img.shape[:2]
        rows, cols = self.kernel.shape
        tx, ty = self.target
        # result(x, y) = sum_{i,j} src(x - tx + j, y - ty + i) * K[rows-1-i, cols-1-j]
        x = img.permute(2, 0, 1).unsqueeze(0)
        pad = (tx, cols - 1 - tx, ty, rows - 1 - ty)
        mode = {"duplicate": "replicate", "wrap": "circular", "none": "constant"}[self.edge_mode]
        if mode == "circular" and (max(pad[0], pad[1]) > w or max(pad[2], pad[3]) > h):
            # wrap more than once around: index arithmetic instead of padding
            xs = (torch.arange(-tx, w + cols - 1 - tx, device=img.device)) % w
            ys = (torch.arange(-ty, h + rows - 1 - ty, device=img.device)) % h
            x = x[:, :, ys][:, :, :, xs]
        else:
            x = F.pad(x, pad, mode=mode) if mode != "constant" else F.pad(x, pad, value=0.0)
        kernel = torch.flip(self.kernel.to(device=ctx.device, dtype=ctx.dtype), dims=(0, 1))
        weight = kernel.view(1, 1, rows, cols).expand(4, 1, rows, cols)
        out = F.conv2d(x, weight, groups=4).squeeze(0).permute(1, 2, 0)
        divisor = self.divisor.to(device=ctx.device, dtype=ctx.dtype)
        bias = self.bias.to(device=ctx.device, dtype=ctx.dtype)
        if self.preserve_alpha:
            alpha = img[..., 3:4]
            rgb = (out[..., :3] / divisor + bias * alpha).clamp(0, 1) * alpha
            return torch.cat([rgb, alpha], dim=-1)
        alpha = (out[..., 3:4] / divisor + bias).clamp(0, 1)
        rgb = torch.minimum((out[..., :3] / divisor + bias * alpha).clamp_min(0), alpha)
        return torch.cat([rgb, alpha], dim=-1)


class DisplacementMap(Primitive):
    """feDisplacementMap: P'(x, y) = P(x + s (XC(x, y) - 1/2), y + s (YC(x, y) - 1/2)),
    channels from the straight ``in2``; scale in canvas units (bilinear)."""
    n_inputs = 2

    def __init__(self, scale=0.0, x_channel="A", y_channel="A", **kw):
        kw.setdefault("inputs", (None, None))
        super().__init__(**kw)
        self.scale = _tensor(scale)
        self.x_channel, self.y_channel = x_channel, y_channel

    def run(self, ctx, images, rects):
        img, displacement = images
        rgb, alpha = unpremultiply(displacement)
        straight = torch.cat([rgb, alpha], dim=-1)
        index = {"R": 0, "G": 1, "B": 2, "A": 3}
        h, w = img.shape[:2]
        dx = (straight[..., index[self.x_channel]] - 0.5) * self.scale * ctx.scale[0]
        dy = (straight[..., index[self.y_channel]] - 0.5) * self.scale * ctx.scale[1]
        ys, xs = torch.meshgrid(torch.arange(h, dtype=img.dtype, device=img.device),
                                torch.arange(w, dtype=img.dtype, device=img.device), indexing="ij")
        gx = (xs + dx + 0.5) / w * 2 - 1
        gy = (ys + dy + 0.5) / h * 2 - 1
        grid = torch.stack([gx, gy], dim=-1).unsqueeze(0)
        out = F.grid_sample(img.permute(2, 0, 1).unsqueeze(0), grid, mode="nearest",
                            padding_mode="zeros", align_corners=False)
        return out.squeeze(0).permute(1, 2, 0)


class DiffuseLighting(Primitive):
    """feDiffuseLighting: surface_scale, constant (kd), color (3,) sRGB values
    (used as given, as resvg does), light: DistantLight/PointLight/SpotLight
    with positions in canvas units."""

    def __init__(self, light, surface_scale=1.0, constant=1.0, color=(1.0, 1.0, 1.0), **kw):
        super().__init__(**kw)
        self.light = light
        self.surface_scale = _tensor(surface_scale)
        self.constant = _tensor(constant)
        self.color = _tensor(color)

    def run(self, ctx, images, rects):
        return lighting_image(self, ctx, images[0], specular=False)


class SpecularLighting(DiffuseLighting):
    """feSpecularLighting: as DiffuseLighting plus exponent; alpha = max(r, g, b)."""

    def __init__(self, light, surface_scale=1.0, constant=1.0, exponent=1.0, color=(1.0, 1.0, 1.0),
                 **kw):
        super().__init__(light, surface_scale, constant, color, **kw)
        self.exponent = _tensor(exponent)

    def run(self, ctx, images, rects):
        return lighting_image(self, ctx, images[0], specular=True)


class FilterGraph:
    """A ``filter`` element: primitives run in order with in/in2/result routing.

    primitives: list of Primitive.
    region: (x0, y0, x1, y1) filter region in canvas units (None: the canvas).

    ``apply(source, origin, scale, render_layer)`` follows the protocol of
    pydiffvg/layers.py: ``source`` (H, W, 4) premultiplied sRGB over the region;
    returns the last primitive's result, premultiplied sRGB, same shape.
    """

    def __init__(self, primitives: Sequence[Primitive], region=None):
        self.primitives = list(primitives)
        self.region = None if region is None else tuple(float(v) for v in region)
        for k, prim in enumerate(self.primitives):
            if not isinstance(prim, Primitive):
                raise TypeError(f"FilterGraph: primitives[{k}] must be a Primitive, "
                                f"got {type(prim).__name__}")

    def apply(self, source, origin=(0.0, 0.0), scale=(1.0, 1.0), render_layer=None):
        if source.dim() != 3 or source.shape[-1] != 4:
            raise ValueError(f"FilterGraph.apply: source must have shape (H, W, 4), "
                             f"got {tuple(source.shape)}")
        h, w = source.shape[:2]
        if not self.primitives or h == 0 or w == 0:
            return torch.zeros_like(source)
        if self.region is not None:
            # a source larger than this filter's region (a chain of filters):
            # run on the region's pixels only, transparent elsewhere
            outer = FilterContext(h, w, origin, scale, render_layer, source.dtype, source.device)
            x0, y0, x1, y1 = outer.pixel_rect(self.region)
            if (x0, y0, x1, y1) != (0, 0, w, h):
                out = torch.zeros_like(source)
                if x1 > x0 and y1 > y0:
                    inner_origin = (origin[0] + x0 / outer.scale[0], origin[1] + y0 / outer.scale[1])
                    out[y0:y1, x0:x1] = self._run(source[y0:y1, x0:x1], inner_origin, scale,
                                                  render_layer)
                return out
        return self._run(source, origin, scale, render_layer)

    def _run(self, source, origin, scale, render_layer):
        h, w = source.shape[:2]
        if h * w > MAX_FILTER_PIXELS:
            raise ValueError(f"FilterGraph.apply: the filter region has {h}x{w} pixels, more than "
                             f"MAX_FILTER_PIXELS = {MAX_FILTER_PIXELS}")
        ctx = FilterContext(h, w, origin, scale, render_layer, source.dtype, source.device)
        full = (0, 0, w, h)
        standard = {"SourceGraphic": (source, "sRGB", full)}
        alpha_only = torch.cat([torch.zeros_like(source[..., :3]), source[..., 3:4]], dim=-1)
        standard["SourceAlpha"] = (alpha_only, "sRGB", full)
        results: Dict[str, tuple] = {}
        previous = None
        for prim in self.primitives:
            entries = []
            for name in prim.inputs:
                if name in standard:
                    entries.append(standard[name])
                elif name is not None and name in results:
                    entries.append(results[name])
                else:  # unset or unknown: the previous result (resvg, usvg)
                    entries.append(previous if previous is not None else standard["SourceGraphic"])
            if prim.passthrough:   # colour-neutral: keeps its input's colour space
                images = [img for img, _, _ in entries]
                out_space = entries[0][1]
            else:
                images = [convert_space(img, space, prim.color_space) for img, space, _ in entries]
                out_space = prim.output_space or prim.color_space
            rects = [rect for _, _, rect in entries]
            out = prim.run(ctx, images, rects)
            rect = ctx.pixel_rect(prim.subregion)
            if isinstance(prim, Offset):
                # resvg: feOffset is not clipped, and keeps its input's subregion
                if prim.inputs and prim.inputs[0] in results:
                    rect = results[prim.inputs[0]][2]
            elif rect != full:
                out = out * ctx.rect_mask(rect)
            previous = (out, out_space, rect)
            if prim.result:
                results[prim.result] = previous
        out, space, _ = previous
        return convert_space(out, space, "sRGB").contiguous()

    def to_svg(self, ident: str) -> str:
        """The ``<filter>`` element for save_svg (see pydiffvg/svg/filter_writer.py)."""
        from .svg.filter_writer import filter_to_svg
        return filter_to_svg(self, ident)

    def __repr__(self):
        names = ", ".join(type(p).__name__ for p in self.primitives)
        return f"FilterGraph([{names}], region={self.region})"
