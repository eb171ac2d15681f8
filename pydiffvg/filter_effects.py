"""The generative and lighting filter primitives: feTurbulence and
feDiffuseLighting / feSpecularLighting (used by pydiffvg/filters.py).

Turbulence follows the reference algorithm of Filter Effects Module Level 1,
section 15.19 (Perlin noise over a 256-entry lattice, seeded by the Park-
Miller generator), evaluated for all pixels at once with numpy. It has no
gradients (its parameters are discrete or enter through floor()).

Lighting follows section 15.14: the surface is Z = surfaceScale * A(x, y);
its normal comes from Sobel-like kernels whose edge variants the spec lists;
diffuse: kd * (N.L) * colour, alpha 1; specular: ks * (N.H)^exp * colour,
alpha = max(r, g, b). It is differentiable in the input's alpha and in the
constants and colour.
"""
from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["DistantLight", "PointLight", "SpotLight", "turbulence_image", "lighting_image"]


class DistantLight:
    """feDistantLight: azimuth, elevation in degrees."""

    def __init__(self, azimuth=0.0, elevation=0.0):
        self.azimuth, self.elevation = float(azimuth), float(elevation)


class PointLight:
    """fePointLight: position (x, y) in canvas units, z in canvas units."""

    def __init__(self, x=0.0, y=0.0, z=0.0):
        self.x, self.y, self.z = float(x), float(y), float(z)


class SpotLight:
    """feSpotLight: position and pointsAt in canvas units, specular exponent,
    limiting cone angle in degrees (None: no cone)."""

    def __init__(self, x=0.0, y=0.0, z=0.0, at_x=0.0, at_y=0.0, at_z=0.0, exponent=1.0,
                 cone=None):
        self.x, self.y, self.z = float(x), float(y), float(z)
        self.at_x, self.at_y, self.at_z = float(at_x), float(at_y), float(at_z)
        self.exponent = float(exponent)
        self.cone = None if cone is None else float(cone)


# ----------------------------------------------------------------------------
# feTurbulence
# ----------------------------------------------------------------------------

_B = 0x100
_BM = 0xFF
_PERLIN_N = 0x1000
_RAND_M, _RAND_A, _RAND_Q, _RAND_R = 2147483647, 16807, 127773, 2836


def _next_random(seed: int) -> int:
    # Park and Miller's minimal standard generator, Schrage's method
    result = _RAND_A * (seed % _RAND_Q) - _RAND_R * (seed // _RAND_Q)
    return result + _RAND_M if result <= 0 else result


def _lattice(seed: int):
    """The permutation (2B + 2) and the four gradient tables (4, 2B + 2, 2)."""
    if seed <= 0:  # the spec's -(seed % (m - 1)) + 1 with C's truncating %
        seed = (-seed) % (_RAND_M - 1) + 1
    if seed > _RAND_M - 1:
        seed = _RAND_M - 1
    selector = list(range(_B)) + [0] * (_B + 2)
    gradient = np.zeros((4, 2 * _B + 2, 2))
    for k in range(4):
        for i in range(_B):
            for j in range(2):
                seed = _next_random(seed)
                gradient[k, i, j] = ((seed % (_B + _B)) - _B) / _B
            norm = math.hypot(gradient[k, i, 0], gradient[k, i, 1])
            if norm > 0:
                gradient[k, i] /= norm
    for i in range(_B - 1, 0, -1):
        seed = _next_random(seed)
        j = seed % _B
        selector[i], selector[j] = selector[j], selector[i]
    for i in range(_B + 2):
        selector[_B + i] = selector[i]
        gradient[:, _B + i] = gradient[:, i]
    return np.array(selector, dtype=np.int64), gradient


def _noise2(channel, vx, vy, selector, gradient, stitch):
    tx = vx + _PERLIN_N
    ty = vy + _PERLIN_N
    ix = tx.astype(np.int64)      # C's (int) truncation; the values are positive
    iy = ty.astype(np.int64)
    bx0, by0 = ix & _BM, iy & _BM
    bx1, by1 = (bx0 + 1) & _BM, (by0 + 1) & _BM
    rx0, ry0 = tx - ix, ty - iy
    rx1, ry1 = rx0 - 1.0, ry0 - 1.0
    if stitch is not None:
        width, height, wrap_x, wrap_y = stitch
        bx0 = np.where(bx0 >= wrap_x, bx0 - width, bx0)
        bx1 = np.where(bx1 >= wrap_x, bx1 - width, bx1)
        by0 = np.where(by0 >= wrap_y, by0 - height, by0)
        by1 = np.where(by1 >= wrap_y, by1 - height, by1)
    bx0, bx1, by0, by1 = bx0 & _BM, bx1 & _BM, by0 & _BM, by1 & _BM
    i, j = selector[bx0], selector[bx1]
    b00, b10 = selector[i + by0], selector[j + by0]
    b01, b11 = selector[i + by1], selector[j + by1]
    sx = rx0 * rx0 * (3.0 - 2.0 * rx0)
    sy = ry0 * ry0 * (3.0 - 2.0 * ry0)
    g = gradient[channel]
    u = rx0 * g[b00, 0] + ry0 * g[b00, 1]
    v = rx1 * g[b10, 0] + ry0 * g[b10, 1]
    a = u + sx * (v - u)
    u = rx0 * g[b01, 0] + ry1 * g[b01, 1]
    v = rx1 * g[b11, 0] + ry1 * g[b11, 1]
    b = u + sx * (v - u)
    return a + sy * (b - a)


def turbulence_values(px, py, base_x, base_y, octaves, seed, stitch_tile, fractal):
    """(..., 4) straight RGBA in [0, 1] at user points (px, py) (numpy arrays).
    stitch_tile: None or (x, y, w, h) of the tile (x and y may be arrays
    shaped like px)."""
    selector, gradient = _lattice(seed)
    stitch = None
    if stitch_tile is not None:
        tile_x, tile_y, tile_w, tile_h = stitch_tile
        if base_x != 0.0:
            lo = math.floor(tile_w * base_x) / tile_w
            hi = math.ceil(tile_w * base_x) / tile_w
            base_x = lo if lo > 0 and base_x / lo < hi / base_x else hi
        if base_y != 0.0:
            lo = math.floor(tile_h * base_y) / tile_h
            hi = math.ceil(tile_h * base_y) / tile_h
            base_y = lo if lo > 0 and base_y / lo < hi / base_y else hi
        width = int(tile_w * base_x + 0.5)
        height = int(tile_h * base_y + 0.5)
        stitch = [width, height, np.trunc(tile_x * base_x + _PERLIN_N + width).astype(np.int64),
                  np.trunc(tile_y * base_y + _PERLIN_N + height).astype(np.int64)]
    out = np.zeros(px.shape + (4,))
    for channel in range(4):
        total = np.zeros(px.shape)
        vx, vy = px * base_x, py * base_y
        ratio = 1.0
        info = None if stitch is None else list(stitch)
        for _ in range(octaves):
            n = _noise2(channel, vx, vy, selector, gradient, info)
            total += (n if fractal else np.abs(n)) / ratio
            vx, vy, ratio = vx * 2, vy * 2, ratio * 2
            if info is not None:
                info = [info[0] * 2, info[1] * 2, 2 * info[2] - _PERLIN_N, 2 * info[3] - _PERLIN_N]
        out[..., channel] = (total + 1.0) / 2.0 if fractal else total
    return np.clip(out, 0.0, 1.0)


def turbulence_image(prim, ctx):
    """The premultiplied (H, W, 4) image of a Turbulence primitive."""
    h, w = ctx.height, ctx.width
    cols = np.arange(w, dtype=np.float64)
    rows = np.arange(h, dtype=np.float64)
    # pixel corner -> canvas -> user space
    cx = ctx.origin[0] + cols[None, :] / ctx.scale[0]
    cy = ctx.origin[1] + rows[:, None] / ctx.scale[1]
    cx, cy = np.broadcast_to(cx, (h, w)), np.broadcast_to(cy, (h, w))
    m = prim.canvas_to_user if prim.canvas_to_user is not None else np.eye(3)
    ux = m[0, 0] * cx + m[0, 1] * cy + m[0, 2]
    uy = m[1, 0] * cx + m[1, 1] * cy + m[1, 2]
    fx, fy = prim.base_frequency
    tile = None
    if prim.stitch:
        # resvg's tile: x, y = the pixel itself, w, h = the region in pixels
        # (what its reference images show)
        tile = (np.broadcast_to(cols[None, :], (h, w)), np.broadcast_to(rows[:, None], (h, w)),
                float(w), float(h))
    values = turbulence_values(ux, uy, fx, fy, prim.num_octaves, prim.seed, tile, prim.fractal)
    img = torch.tensor(values, dtype=ctx.dtype, device=ctx.device)
    return torch.cat([img[..., :3] * img[..., 3:4], img[..., 3:4]], dim=-1)


# ----------------------------------------------------------------------------
# Lighting
# ----------------------------------------------------------------------------

def _surface_normal(alpha: torch.Tensor, surface_scale):
    """(Nx, Ny) of the spec's kernels (section 15.14, "normal vector").

    Interior: Nx = -ss/4 * Sobel_x(A). At the border the spec uses one-sided
    differences and two-row smoothing; all its variants equal
        N = -ss * 2 * D / (sum of smoothing weights * difference distance)
    where D is the difference of [1 2 1]-smoothed alpha (weights of the rows
    that exist), so the normal is written once with masks for the border."""
    def component(a):
        # smooth across rows (dim 0) with zero padding, remember the weights
        padded = torch.nn.functional.pad(a[None, None], (0, 0, 1, 1))[0, 0]
        smooth = padded[:-2] + 2 * padded[1:-1] + padded[2:]
        ones = torch.nn.functional.pad(torch.ones_like(a)[None, None], (0, 0, 1, 1))[0, 0]
        weight = ones[:-2] + 2 * ones[1:-1] + ones[2:]
        # difference along columns (dim 1), one-sided at the ends
        right = torch.cat([smooth[:, 1:], smooth[:, -1:]], dim=1)
        left = torch.cat([smooth[:, :1], smooth[:, :-1]], dim=1)
        distance = torch.full((a.shape[1],), 2.0, dtype=a.dtype, device=a.device)
        distance[0] = 1.0
        distance[-1] = 1.0
        return -surface_scale * 2.0 * (right - left) / (weight * distance)

    nx = component(alpha)
    ny = component(alpha.T).T
    return nx, ny


def lighting_image(prim, ctx, source: torch.Tensor, specular: bool) -> torch.Tensor:
    """Premultiplied (H, W, 4) light of a Diffuse/SpecularLighting primitive."""
    h, w = source.shape[:2]
    if h < 3 or w < 3:
        return torch.zeros_like(source)
    dtype, device = source.dtype, source.device
    alpha = source[..., 3]
    ss = prim.surface_scale.to(device=device, dtype=dtype)
    nx, ny = _surface_normal(alpha, ss)
    normal = torch.stack([nx, ny, torch.ones_like(nx)], dim=-1)
    normal = normal / normal.norm(dim=-1, keepdim=True)
    color = prim.color.to(device=device, dtype=dtype).view(1, 1, 3).expand(h, w, 3)
    light = prim.light
    mean_scale = math.sqrt((ctx.scale[0] ** 2 + ctx.scale[1] ** 2) / 2.0)
    if isinstance(light, (PointLight, SpotLight)):
        lx, ly = ctx.to_pixels(light.x, light.y)
        lz = light.z * mean_scale
        ys, xs = torch.meshgrid(torch.arange(h, dtype=dtype, device=device),
                                torch.arange(w, dtype=dtype, device=device), indexing="ij")
        to_light = torch.stack([lx - xs, ly - ys, lz - ss * alpha], dim=-1)
        to_light = to_light / to_light.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        if isinstance(light, SpotLight):
            ax, ay = ctx.to_pixels(light.at_x, light.at_y)
            direction = torch.tensor([ax - lx, ay - ly, light.at_z * mean_scale - lz],
                                     dtype=dtype, device=device)
            direction = direction / direction.norm().clamp_min(1e-12)
            minus_l_dot_s = -(to_light * direction).sum(-1, keepdim=True)
            factor = minus_l_dot_s.clamp_min(0) ** light.exponent
            lit = minus_l_dot_s > 0
            if light.cone is not None:
                lit = lit & (minus_l_dot_s >= math.cos(math.radians(light.cone)))
            color = (color * torch.where(lit, factor, torch.zeros_like(factor))).clamp(0, 1)
    else:
        az, el = math.radians(light.azimuth), math.radians(light.elevation)
        to_light = torch.tensor([math.cos(az) * math.cos(el), math.sin(az) * math.cos(el),
                                 math.sin(el)], dtype=dtype, device=device).expand(h, w, 3)
    constant = prim.constant.to(device=device, dtype=dtype)
    if specular:
        half = to_light + torch.tensor([0.0, 0.0, 1.0], dtype=dtype, device=device)
        half = half / half.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        n_dot_h = (normal * half).sum(-1, keepdim=True).clamp_min(0)
        rgb = (constant * n_dot_h ** prim.exponent.to(device=device, dtype=dtype) * color).clamp(0, 1)
        a = rgb.max(dim=-1, keepdim=True).values
        return torch.cat([rgb, a], dim=-1)
    n_dot_l = (normal * to_light).sum(-1, keepdim=True)
    rgb = (constant * n_dot_l * color).clamp(0, 1)
    return torch.cat([rgb, torch.ones_like(rgb[..., :1])], dim=-1)
