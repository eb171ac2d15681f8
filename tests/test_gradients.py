"""Finite-difference checks of the 2-D backward pass (issue #3).

Method (after Mitsuba's test_ad_integrators.py): for a scene built from a
few leaf tensors theta, take the scalar loss L = sum(image * Wt) with a fixed
weight field Wt, and compare

    AD = <dL/dtheta, v>                                  (our backward pass)
    FD = (L(theta + h v) - L(theta - h v)) / (2 h)       (two forward renders)

for a fixed random direction v. Both sides render with the same seed and many
samples per pixel. The pixel integrals are smooth in theta (an edge moving by
h changes each pixel's coverage continuously), so h can be a fraction of a
pixel for geometry. The boundary term of the backward pass is sampled; we
raise ``boundary_density`` to keep its noise well below the thresholds.

Every case has its own relative threshold, set from the noise of that
configuration (a few times the error observed over seeds), and prints both
numbers. On failure the FD derivative image d(image)/dh is written as a PNG
next to the rendered image (folder: $PYDIFFVG_TEST_OUT or the temp folder),
so an FD pair that straddles an edge can be told apart from a real bug.
"""
from __future__ import annotations

import math
import os
import statistics
import tempfile

import pytest
import torch

import pydiffvg
from pydiffvg.backward import BACKWARD_OPTIONS
from pydiffvg.shapes import (Circle, Ellipse, FilterType, LinearGradient, OutputType, Path, PixelFilter,
                             LineCap, LineJoin, Polygon, RadialGradient, Rect, ShapeGroup)

SIZE = 48
T = torch.tensor
# Render seed of every check. The thresholds were set by running the suite
# with several values (PYDIFFVG_FD_SEED=0..5) and taking a margin over the
# largest error seen for each case.
FD_SEED = int(os.environ.get("PYDIFFVG_FD_SEED", "0"))


# ----------------------------------------------------------------------------
# Harness
# ----------------------------------------------------------------------------

def smooth_weights(height, width, channels=4, seed=1):
    """A smooth, strictly positive weight field (H, W, C): sums of low
    frequency sinusoids, so that the loss responds to every part of the
    canvas without the per-pixel noise that random weights add."""
    gen = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    planes = []
    for _ in range(channels):
        a = torch.rand(5, generator=gen)
        planes.append(0.6 + 0.5 * torch.sin(x * (0.25 + 0.25 * a[0]) + 6.0 * a[1])
                      * torch.cos(y * (0.25 + 0.25 * a[2]) + 6.0 * a[3]) + 0.2 * a[4])
    return torch.stack(planes, -1)


def broad_weights(height, width, channels=4, seed=1):
    """A low-frequency field (periods of 50-150 px): for paint parameters,
    whose effect spreads over the whole shape and would average out against
    the finer field."""
    gen = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    planes = []
    for _ in range(channels):
        a = torch.rand(5, generator=gen)
        planes.append(0.6 + 0.4 * torch.sin(x * (0.04 + 0.08 * a[0]) + 6.0 * a[1])
                      * torch.cos(y * (0.04 + 0.08 * a[2]) + 6.0 * a[3]) + 0.2 * a[4])
    return torch.stack(planes, -1)


def random_weights(height, width, channels=4, seed=2):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(height, width, channels, generator=gen)


def leaf_maker():
    """(leaves, leaf): leaf(t) returns a copy of t that requires grad and
    appends it to leaves, so a test can compare the gradients of every input."""
    leaves = []

    def leaf(t):
        t = t.clone().requires_grad_(True)
        leaves.append(t)
        return t
    return leaves, leaf


class BackwardOptions:
    """Temporarily overrides pydiffvg.backward.BACKWARD_OPTIONS."""

    def __init__(self, **overrides):
        self.overrides = overrides

    def __enter__(self):
        self.saved = dict(BACKWARD_OPTIONS)
        BACKWARD_OPTIONS.update(self.overrides)

    def __exit__(self, *exc):
        BACKWARD_OPTIONS.clear()
        BACKWARD_OPTIONS.update(self.saved)


def _render(build, params, size, samples, seed, render_kw):
    shapes, groups, extra = build(*params)
    kw = dict(render_kw)
    kw.update(extra)
    return pydiffvg.render(shapes, groups, width=size, height=size, num_samples=samples, seed=seed, **kw)


def directional_derivatives(build, params, *, step, scales=None, samples=16, ad_samples=4, seed=None,
                            size=SIZE, density=32.0, weights="smooth", direction_seed=7, device="cpu",
                            boundary_term=True, render_kw=None, name="case"):
    """Returns (AD, FD, fd_image) for the loss sum(image * Wt) along a random
    direction v of ``params``.

    build(*params) -> (shapes, groups, extra render kwargs). ``scales`` gives
    one factor per parameter for v (so that, e.g., colours and pixel
    coordinates can move by comparable amounts); ``step`` is h.
    """
    seed = FD_SEED if seed is None else seed
    render_kw = dict(render_kw or {})
    params = [p.detach().clone().to(device).requires_grad_(True) for p in params]
    gen = torch.Generator().manual_seed(direction_seed)
    scales = scales or [1.0] * len(params)
    directions = [(torch.randn(p.shape, generator=gen) * s).to(device) for p, s in zip(params, scales)]
    if "background" in render_kw and render_kw["background"] is not None:
        render_kw["background"] = render_kw["background"].to(device)

    with BackwardOptions(boundary_density=density, boundary_term=boundary_term):
        image = _render(build, params, size, ad_samples, seed, render_kw)
        channels = image.shape[-1]
        if weights == "smooth":
            wt = smooth_weights(size, size, channels)
        elif weights == "broad":
            wt = broad_weights(size, size, channels)
        elif weights == "random":
            wt = random_weights(size, size, channels)
        else:
            wt = weights
        wt = wt.to(device)
        (image * wt).sum().backward()
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    for p, g in zip(params, grads):
        assert torch.isfinite(g).all(), f"{name}: non-finite gradient {g}"
    ad = float(sum((g * d).sum() for g, d in zip(grads, directions)))

    with torch.no_grad():
        plus = _render(build, [p + step * d for p, d in zip(params, directions)], size, samples, seed, render_kw)
        minus = _render(build, [p - step * d for p, d in zip(params, directions)], size, samples, seed,
                        render_kw)
    fd_image = (plus - minus) / (2.0 * step)
    fd = float((fd_image * wt).sum())
    return ad, fd, (image.detach(), fd_image)


def relative_error(ad, fd, floor):
    return abs(ad - fd) / max(abs(fd), floor)


def _write_failure_images(name, images):
    folder = os.environ.get("PYDIFFVG_TEST_OUT", tempfile.gettempdir())
    image, fd_image = images
    base = os.path.join(folder, f"pydiffvg_fd_{name}")
    try:
        if image.shape[-1] == 4:
            pydiffvg.imwrite(image.clamp(0, 1).cpu(), base + "_image.png", gamma=1.0)
            pydiffvg.imwrite(fd_image[..., :3].cpu(), base + "_fd.png", gamma=1.0, normalize=True)
        else:
            pydiffvg.imwrite(image[..., 0].cpu(), base + "_image.png", gamma=1.0, normalize=True)
            pydiffvg.imwrite(fd_image[..., 0].cpu(), base + "_fd.png", gamma=1.0, normalize=True)
    except Exception:  # the images are a diagnostic; never hide the real failure
        return None
    return base


def check(name, build, params, *, threshold, floor=1e-2, **kw):
    """Asserts |AD - FD| / max(|FD|, floor) <= threshold and prints both numbers."""
    ad, fd, images = directional_derivatives(build, params, name=name, **kw)
    err = relative_error(ad, fd, floor)
    print(f"[{name}] AD={ad:.6g} FD={fd:.6g} rel.err={err:.4f} (threshold {threshold})")
    if not err <= threshold:
        where = _write_failure_images(name, images)
        pytest.fail(f"{name}: backward AD={ad:.6g} vs finite difference FD={fd:.6g}: relative error "
                    f"{err:.4f} > {threshold}" + (f" (images: {where}_*.png)" if where else ""))
    return ad, fd, err


# ----------------------------------------------------------------------------
# Scene builders. Constant parts are fixed here; the arguments are the
# parameters under test.
# ----------------------------------------------------------------------------

RED = T([0.9, 0.2, 0.1, 1.0])
BLUE = T([0.1, 0.3, 0.9, 0.8])


def fill_group(color, ids=(0,), even_odd=True, xform=None):
    return ShapeGroup(shape_ids=T(list(ids)), fill_color=color, use_even_odd_rule=even_odd,
                      shape_to_canvas=xform)


def stroke_group(color, ids=(0,)):
    return ShapeGroup(shape_ids=T(list(ids)), fill_color=None, use_even_odd_rule=False, stroke_color=color)


def closed_path(kind):
    """A closed star-ish loop of 5 segments of one kind (0 line, 1 quad, 2 cubic)."""
    n_seg = 5
    pts = []
    for k in range(n_seg):
        a0 = 2 * math.pi * k / n_seg
        for j in range(kind + 1):
            a = a0 + 2 * math.pi / n_seg * j / (kind + 1)
            r = 15.0 if j == 0 else 19.0 + 2.0 * j
            pts.append([24.0 + r * math.cos(a), 24.0 + r * math.sin(a)])
    return T([kind] * n_seg, dtype=torch.int32), T(pts)


def open_path(kind):
    """An open wiggle of 3 segments of one kind across the canvas. Its
    curvature radius stays above the stroke widths used here: where it does
    not, the offset curve has cusps whose normal velocity 1/(1 - w k) is
    unbounded and the boundary estimate becomes heavy-tailed."""
    n_seg = 3
    pts = [[6.0, 30.0]]
    for k in range(n_seg):
        x0 = 6.0 + 12.0 * k
        for j in range(kind):
            pts.append([x0 + 12.0 * (j + 1) / (kind + 1), 16.0 if (j + k) % 2 == 0 else 34.0])
        pts.append([x0 + 12.0, 24.0 + (4.0 if k % 2 else -4.0)])
    return T([kind] * n_seg, dtype=torch.int32), T(pts)


def build_circle(radius, center):
    return [Circle(radius, center)], [fill_group(RED)], {}


def build_ellipse(radius, center):
    return [Ellipse(radius, center)], [fill_group(BLUE)], {}


def build_rect(p_min, p_max):
    return [Rect(p_min, p_max)], [fill_group(RED)], {}


def build_polygon(points):
    return [Polygon(points, True)], [fill_group(BLUE)], {}


def make_closed_fill_builder(kind):
    ncp, _ = closed_path(kind)

    def build(points):
        return [Path(ncp, points, True, stroke_width=T(0.0))], [fill_group(RED)], {}
    return build


def make_open_stroke_builder(kind, width=2.0):
    ncp, _ = open_path(kind)

    def build(points):
        return [Path(ncp, points, False, stroke_width=T(width))], [stroke_group(BLUE)], {}
    return build


def make_closed_fill_stroke_builder(kind):
    ncp, _ = closed_path(kind)

    def build(points):
        path = Path(ncp, points, True, stroke_width=T(1.5))
        return [path], [ShapeGroup(T([0]), fill_color=RED, stroke_color=BLUE)], {}
    return build


GEOMETRY_STEP = 0.5  # px


# ----------------------------------------------------------------------------
# Shapes
# ----------------------------------------------------------------------------

def test_circle_geometry(device):
    check("circle", build_circle, [T(12.0), T([23.0, 25.0])], step=GEOMETRY_STEP, threshold=0.05,
          samples=32, density=128.0, device=device)


def test_ellipse_geometry(device):
    check("ellipse", build_ellipse, [T([15.0, 9.0]), T([24.0, 23.0])], step=GEOMETRY_STEP, threshold=0.05,
          device=device)


def test_rect_geometry(device):
    check("rect", build_rect, [T([8.3, 11.6]), T([37.2, 33.9])], step=GEOMETRY_STEP, threshold=0.05,
          device=device)


def test_polygon_geometry(device):
    _, pts = closed_path(0)
    check("polygon", build_polygon, [pts], step=GEOMETRY_STEP, threshold=0.07, device=device)


@pytest.mark.parametrize("kind", [0, 1, 2], ids=["line", "quadratic", "cubic"])
def test_closed_path_fill_points(kind, device):
    _, pts = closed_path(kind)
    check(f"closed_fill_{kind}", make_closed_fill_builder(kind), [pts], step=GEOMETRY_STEP, threshold=0.07,
          device=device)


@pytest.mark.parametrize("kind", [0, 1, 2], ids=["line", "quadratic", "cubic"])
def test_open_path_stroke_points(kind, device):
    """Moving a thin stroke sideways gains on one side what it loses on the
    other: the derivative is a small difference of two large boundary
    integrals, so its relative noise is several times that of a fill (about
    6 % standard deviation for the cubic at 1,024 boundary samples per pixel
    of edge). Hence the high density and the wider threshold."""
    _, pts = open_path(kind)
    check(f"open_stroke_{kind}", make_open_stroke_builder(kind), [pts], step=GEOMETRY_STEP, threshold=0.12,
          samples=24, density=128.0, device=device)


@pytest.mark.parametrize("kind", [0, 1, 2], ids=["line", "quadratic", "cubic"])
def test_closed_path_fill_and_stroke_points(kind, device):
    _, pts = closed_path(kind)
    check(f"closed_fill_stroke_{kind}", make_closed_fill_stroke_builder(kind), [pts], step=GEOMETRY_STEP,
          threshold=0.08, device=device)


def test_open_path_fill_points(device):
    """An open path with a fill colour is filled as if closed (diffvg)."""
    ncp, pts = closed_path(2)
    # the same loop as an open path: repeat the first point at the end
    pts = torch.cat([pts, pts[:1] + T([1.5, -2.0])])

    def build(points):
        return [Path(ncp, points, False, stroke_width=T(0.0))], [fill_group(RED)], {}
    check("open_fill_cubic", build, [pts], step=GEOMETRY_STEP, threshold=0.08, device=device)


def test_circle_without_boundary_term_fails(device):
    """The boundary term is what carries geometry gradients of a solid shape:
    with it switched off, the backward pass misses nearly all of dL/dradius,
    and the same check the other tests pass must fail."""
    ad, fd, _ = directional_derivatives(build_circle, [T(12.0), T([23.0, 25.0])], step=GEOMETRY_STEP,
                                        device=device, boundary_term=False)
    err = relative_error(ad, fd, 1e-2)
    print(f"[circle, no boundary term] AD={ad:.6g} FD={fd:.6g} rel.err={err:.4f}")
    assert err > 0.5, f"without the boundary term AD={ad:.6g} should be far from FD={fd:.6g}"
    # ... and the full backward pass is within 5 % on the same case.
    check("circle_with_boundary_term", build_circle, [T(12.0), T([23.0, 25.0])], step=GEOMETRY_STEP,
          threshold=0.05, samples=32, density=128.0, device=device)


def test_path_without_boundary_term_fails(device):
    _, pts = closed_path(2)
    ad, fd, _ = directional_derivatives(make_closed_fill_builder(2), [pts], step=GEOMETRY_STEP, device=device,
                                        boundary_term=False)
    err = relative_error(ad, fd, 1e-2)
    print(f"[cubic path, no boundary term] AD={ad:.6g} FD={fd:.6g} rel.err={err:.4f}")
    assert err > 0.5


def test_random_weights(device):
    """Per-pixel random weights instead of a smooth field (noisier boundary
    term, hence the wider threshold)."""
    _, pts = closed_path(2)
    check("cubic_random_weights", make_closed_fill_builder(2), [pts], step=GEOMETRY_STEP, threshold=0.10,
          weights="random", density=32.0, device=device)


# ----------------------------------------------------------------------------
# Stroke widths
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", [0, 2], ids=["line", "cubic"])
def test_scalar_stroke_width(kind, device):
    ncp, pts = open_path(kind)

    def build(width):
        return [Path(ncp, pts, False, stroke_width=width)], [stroke_group(BLUE)], {}
    check(f"stroke_width_{kind}", build, [T(2.0)], step=0.1, threshold=0.05, device=device)


def test_per_point_stroke_width(device):
    ncp, pts = open_path(2)
    widths = torch.linspace(1.0, 3.5, pts.shape[0])

    def build(width):
        return [Path(ncp, pts, False, stroke_width=width)], [stroke_group(BLUE)], {}
    check("per_point_width", build, [widths], step=0.1, threshold=0.08, device=device)


def test_per_point_width_and_points(device):
    ncp, pts = open_path(1)
    widths = torch.linspace(3.0, 1.2, pts.shape[0])

    def build(points, width):
        return [Path(ncp, points, False, stroke_width=width)], [stroke_group(BLUE)], {}
    check("per_point_width_points", build, [pts, widths], scales=[1.0, 0.3], step=GEOMETRY_STEP, threshold=0.08,
          device=device)


def test_circle_and_rect_stroke(device):
    def build(radius, center, p_min, p_max, width):
        shapes = [Circle(radius, center, stroke_width=width), Rect(p_min, p_max, stroke_width=width)]
        groups = [ShapeGroup(T([0]), fill_color=None, stroke_color=RED),
                  ShapeGroup(T([1]), fill_color=BLUE, stroke_color=RED)]
        return shapes, groups, {}
    check("circle_rect_stroke", build, [T(10.0), T([17.0, 18.0]), T([24.0, 26.0]), T([42.0, 41.0]), T(1.5)],
          scales=[1, 1, 1, 1, 0.3], step=GEOMETRY_STEP, threshold=0.07, device=device)


# ----------------------------------------------------------------------------
# Paints
# ----------------------------------------------------------------------------

def test_solid_colors(device):
    ncp, pts = closed_path(2)

    def build(fill, stroke):
        path = Path(ncp, pts, True, stroke_width=T(1.5))
        return [path], [ShapeGroup(T([0]), fill_color=fill, stroke_color=stroke)], {}
    check("solid_colors", build, [T([0.7, 0.3, 0.2, 0.6]), T([0.1, 0.8, 0.3, 0.9])], step=0.05, threshold=0.02,
          density=1.0, ad_samples=16, device=device)


LIN_OFFSETS = T([0.0, 0.45, 1.0])
LIN_STOPS = T([[0.9, 0.1, 0.1, 1.0], [0.2, 0.9, 0.3, 0.7], [0.1, 0.2, 0.9, 1.0]])


def make_linear_builder(begin=T([8.0, 10.0]), end=T([40.0, 36.0]), offsets=LIN_OFFSETS, stops=LIN_STOPS):
    def build(begin=begin, end=end, offsets=offsets, stops=stops):
        paint = LinearGradient(begin, end, offsets, stops)
        return [Rect(T([4.0, 5.0]), T([44.0, 43.0]))], [fill_group(paint)], {}
    return build


# Paint-only cases render the backward pass with the FD's samples
# (ad_samples=16): their derivatives are area integrals, so both sides then
# estimate the same sum and the thresholds can be tight.

def test_linear_gradient_stop_colors(device):
    build = make_linear_builder()
    check("linear_stop_colors", lambda s: build(stops=s), [LIN_STOPS], step=0.05, threshold=0.02,
          ad_samples=16, device=device)


def test_linear_gradient_offsets(device):
    build = make_linear_builder()
    check("linear_offsets", lambda o: build(offsets=o), [LIN_OFFSETS], step=0.01, threshold=0.05,
          weights="broad", ad_samples=16, device=device)


def test_linear_gradient_begin_end(device):
    build = make_linear_builder()
    check("linear_begin_end", lambda b, e: build(begin=b, end=e), [T([8.0, 10.0]), T([40.0, 36.0])], step=0.5,
          threshold=0.05, weights="broad", ad_samples=16, device=device)


RAD_OFFSETS = T([0.0, 0.5, 1.0])
RAD_STOPS = T([[1.0, 0.9, 0.2, 1.0], [0.8, 0.2, 0.3, 0.8], [0.1, 0.1, 0.6, 1.0]])


def make_radial_builder(center=T([22.0, 25.0]), radius=T([14.0, 10.0]), offsets=RAD_OFFSETS, stops=RAD_STOPS):
    def build(center=center, radius=radius, offsets=offsets, stops=stops):
        paint = RadialGradient(center, radius, offsets, stops)
        return [Rect(T([3.0, 4.0]), T([45.0, 44.0]))], [fill_group(paint)], {}
    return build


def test_radial_gradient_stop_colors(device):
    build = make_radial_builder()
    check("radial_stop_colors", lambda s: build(stops=s), [RAD_STOPS], step=0.05, threshold=0.02,
          ad_samples=16, device=device)


def test_radial_gradient_offsets(device):
    build = make_radial_builder()
    check("radial_offsets", lambda o: build(offsets=o), [RAD_OFFSETS], step=0.01, threshold=0.05, weights="broad",
          ad_samples=16, device=device)


def test_radial_gradient_center(device):
    """diffvg returns wrong gradients for a radial gradient's centre."""
    build = make_radial_builder()
    check("radial_center", lambda c: build(center=c), [T([22.0, 25.0])], step=0.5, threshold=0.05,
          weights="broad", ad_samples=16, device=device)


def test_radial_gradient_radius(device):
    """diffvg returns wrong gradients for a radial gradient's radius."""
    build = make_radial_builder()
    check("radial_radius", lambda r: build(radius=r), [T([14.0, 10.0])], step=0.5, threshold=0.05,
          weights="broad", ad_samples=16, device=device)


def make_focal_builder(center=T([24.0, 25.0]), radius=T([16.0, 13.0]), focal=T([19.0, 21.0]),
                       focal_radius=T(3.0)):
    """A two-circle (SVG 2 focal) radial gradient: focal circle inside the end circle."""
    def build(center=center, radius=radius, focal=focal, focal_radius=focal_radius):
        paint = RadialGradient(center, radius, RAD_OFFSETS, RAD_STOPS, focal=focal, focal_radius=focal_radius)
        return [Rect(T([3.0, 4.0]), T([45.0, 44.0]))], [fill_group(paint)], {}
    return build


@pytest.mark.parametrize("name", ["focal", "focal_radius", "center", "radius"])
def test_focal_radial_gradient(device, name):
    """Gradients of every parameter of a focal radial gradient, through the
    implicit differentiation of its quadratic (shade_backward.h)."""
    build = make_focal_builder()
    start = {"focal": T([19.0, 21.0]), "focal_radius": T(3.0), "center": T([24.0, 25.0]),
             "radius": T([16.0, 13.0])}[name]
    check("focal_" + name, lambda v: build(**{name: v}), [start], step=0.5, threshold=0.05,
          weights="broad", ad_samples=16, device=device)


def test_focal_radial_default_is_centred(device):
    """focal=None, focal_radius=None draws exactly what focal=center, fr=0 draws."""
    center, radius = T([22.0, 25.0]), T([14.0, 10.0])
    images = []
    for kw in ({}, {"focal": center.clone(), "focal_radius": T(0.0)}):
        paint = RadialGradient(center, radius, RAD_OFFSETS, RAD_STOPS, **kw)
        group = fill_group(paint)
        images.append(pydiffvg.render([Rect(T([3.0, 4.0]), T([45.0, 44.0]))], [group], width=SIZE, height=SIZE,
                                      num_samples=2, seed=0).to("cpu"))
    assert torch.equal(images[0], images[1])


def _conical_closed_form(points, center, r, focal, fr):
    """(t clamped to [0, 1], painted) of the two-circle gradient at points (N, 2):
    the largest root t of |p - f - t (c - f)| = fr + t (r - fr) with fr + t (r - fr) >= 0."""
    import numpy as np
    q = points - np.asarray(focal)
    d = np.asarray(center) - np.asarray(focal)
    dr = r - fr
    a = d @ d - dr * dr
    b = q @ d + fr * dr
    c = (q * q).sum(1) - fr * fr
    disc = b * b - a * c
    s = np.sqrt(np.maximum(disc, 0.0))
    best = np.full(len(points), -np.inf)
    for t in ((b + s) / a, (b - s) / a):
        ok = (disc >= 0) & (fr + t * dr >= 0)
        best = np.where(ok & (t > best), t, best)
    painted = np.isfinite(best)
    return np.clip(np.where(painted, best, 0.0), 0.0, 1.0), painted


def test_focal_radial_closed_form():
    """Pixel averages against the closed form of the two-circle parameter, on
    an 8 x 8 grid per pixel, for a focal circle inside the end circle and one
    outside it (which paints nothing outside the cone of the two circles)."""
    import numpy as np
    offsets, stops = T([0.0, 1.0]), T([[0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    sub = (np.arange(8) + 0.5) / 8.0
    ys, xs = np.meshgrid(np.arange(SIZE), np.arange(SIZE), indexing="ij")
    px, py = np.broadcast_arrays(xs[..., None, None] + sub[None, None, None, :],
                                 ys[..., None, None] + sub[None, None, :, None])
    pts = np.stack([px, py], -1).reshape(-1, 2)
    for center, r, focal, fr in (((24.0, 24.0), 18.0, (17.0, 30.0), 4.0), ((24.0, 24.0), 8.0, (40.0, 24.0), 2.0)):
        paint = RadialGradient(T(center), T([r, r]), offsets, stops, focal=T(focal), focal_radius=T(fr))
        img = pydiffvg.render([Rect(T([0.0, 0.0]), T([48.0, 48.0]))], [fill_group(paint)], width=SIZE,
                              height=SIZE, num_samples=16, seed=0, premultiplied=True).cpu().numpy()
        t, painted = _conical_closed_form(pts, center, r, focal, fr)
        want_rgb = (t * painted).reshape(SIZE, SIZE, 64).mean(-1)
        want_alpha = painted.reshape(SIZE, SIZE, 64).mean(-1)
        err_rgb, err_alpha = np.abs(img[..., 0] - want_rgb), np.abs(img[..., 3] - want_alpha)
        print(center, focal, "max/mean error rgb", err_rgb.max(), err_rgb.mean(), "alpha", err_alpha.max())
        assert err_rgb.mean() < 3e-3 and err_rgb.max() < 0.06, (center, focal, err_rgb.max(), err_rgb.mean())
        assert err_alpha.mean() < 3e-3 and err_alpha.max() < 0.08, (center, focal, err_alpha.max())
        if focal == (40.0, 24.0):
            assert want_alpha.min() == 0.0  # the cone case leaves pixels unpainted


def test_radial_gradient_center_on_circle(device):
    """Radial gradient inside a circle: paint and geometry move together."""
    def build(center, radius, gcenter, gradius):
        paint = RadialGradient(gcenter, gradius, RAD_OFFSETS, RAD_STOPS)
        return [Circle(radius, center)], [fill_group(paint)], {}
    check("radial_on_circle", build, [T([24.0, 23.0]), T(16.0), T([21.0, 26.0]), T([12.0, 15.0])],
          step=GEOMETRY_STEP, threshold=0.06, device=device)


def test_gradient_stroke_paint(device):
    ncp, pts = open_path(2)

    def build(points, begin, end, stops):
        paint = LinearGradient(begin, end, LIN_OFFSETS, stops)
        return [Path(ncp, points, False, stroke_width=T(2.5))], [stroke_group(paint)], {}
    check("linear_stroke", build, [pts, T([6.0, 8.0]), T([42.0, 40.0]), LIN_STOPS], scales=[1, 1, 1, 0.1],
          step=GEOMETRY_STEP, threshold=0.08, device=device)


# ----------------------------------------------------------------------------
# Transforms, background, overlaps, filters
# ----------------------------------------------------------------------------

def test_shape_to_canvas(device):
    """The top two rows of a group's affine map; linear entries move by
    ~0.01 per unit step (a fraction of a pixel at the shape's extent),
    translations by one pixel."""
    ncp, pts = closed_path(2)
    pts = pts - 24.0  # the shape sits around the origin; the transform places it

    def build(top_rows):
        xform = torch.cat([top_rows, T([[0.0, 0.0, 1.0]], device=top_rows.device)], 0)
        path = Path(ncp, pts, True, stroke_width=T(1.0))
        return [path], [ShapeGroup(T([0]), fill_color=RED, stroke_color=BLUE, shape_to_canvas=xform)], {}
    top = T([[0.9, 0.25, 24.0], [-0.2, 0.85, 23.0]])
    scale = T([[0.01, 0.01, 1.0], [0.01, 0.01, 1.0]])
    check("shape_to_canvas", build, [top], scales=[scale], step=GEOMETRY_STEP, threshold=0.06, device=device)


def test_background(device):
    """The background alone (an area term only: nearly exact), then the
    shape's points over that background."""
    gen = torch.Generator().manual_seed(3)
    background = torch.rand(SIZE, SIZE, 4, generator=gen) * 0.5 + 0.25
    ncp, pts = closed_path(2)

    def build(bg, points):
        return [Path(ncp, points, True, stroke_width=T(0.0))], [fill_group(BLUE)], {"background": bg}
    check("background", build, [background, pts], scales=[0.02, 0.0], step=1.0, threshold=0.01,
          weights="broad", ad_samples=16, device=device)
    # A small derivative for this direction (|FD| ~ 5, against ~ 60 for the
    # fill alone): a denser estimate and a wider threshold.
    check("points_over_background", build, [background, pts], scales=[0.0, 1.0], step=GEOMETRY_STEP,
          threshold=0.12, samples=32, density=128.0, device=device)


@pytest.mark.parametrize("even_odd", [True, False], ids=["even_odd", "nonzero"])
def test_overlapping_shapes_one_group(even_odd, device):
    """Two overlapping loops in one group: the fill rule decides the overlap
    (a hole under even-odd), and only some of the edges there are visible."""
    ncp, pts = closed_path(2)
    pts_b = pts * 0.8 + T([14.0, 2.0])

    def build(a, b):
        shapes = [Path(ncp, a, True, stroke_width=T(0.0)), Path(ncp, b, True, stroke_width=T(0.0))]
        return shapes, [fill_group(RED, ids=(0, 1), even_odd=even_odd)], {}
    # Under even-odd the overlap's edges count with opposite signs, and the
    # derivative is a small difference (about 5 % standard deviation at
    # 2,048 boundary samples per pixel of edge): wider threshold.
    check(f"overlap_group_{'eo' if even_odd else 'nz'}", build, [pts, pts_b], step=GEOMETRY_STEP,
          threshold=0.15 if even_odd else 0.07, samples=32, density=128.0, device=device)


@pytest.mark.parametrize("even_odd", [True, False], ids=["even_odd", "nonzero"])
def test_overlapping_groups_alpha(even_odd, device):
    """Translucent groups over each other: occluded edges contribute partly."""
    def build(radius, center, p_min, p_max, color):
        shapes = [Circle(radius, center), Rect(p_min, p_max)]
        groups = [fill_group(T([0.2, 0.7, 0.3, 1.0]), ids=(1,), even_odd=even_odd),
                  fill_group(color, ids=(0,), even_odd=even_odd)]
        return shapes, groups, {}
    check(f"overlap_groups_{'eo' if even_odd else 'nz'}", build,
          [T(13.0), T([20.0, 22.0]), T([18.0, 16.0]), T([42.0, 40.0]), T([0.8, 0.2, 0.5, 0.6])],
          scales=[1, 1, 1, 1, 0.05], step=GEOMETRY_STEP, threshold=0.06, device=device)


def test_self_intersecting_path_rules(device):
    """A pentagram (self-intersecting) under both rules in two groups."""
    pts = T([[24 + 18 * math.cos(a), 24 + 18 * math.sin(a)] for a in
             [-math.pi / 2 + 4 * math.pi * k / 5 for k in range(5)]])

    def build(points_eo, points_nz):
        ncp = T([0] * 5, dtype=torch.int32)
        shapes = [Path(ncp, points_eo, True, stroke_width=T(0.0)), Path(ncp, points_nz, True, stroke_width=T(0.0))]
        groups = [fill_group(RED, ids=(0,), even_odd=True),
                  fill_group(T([0.1, 0.4, 0.9, 0.5]), ids=(1,), even_odd=False)]
        return shapes, groups, {}
    check("pentagram_rules", build, [pts, pts * 0.7 + 7.0], step=GEOMETRY_STEP, threshold=0.07, device=device)


def test_tent_filter_radius(device):
    ncp, pts = closed_path(2)

    def build(radius):
        shapes = [Path(ncp, pts, True, stroke_width=T(0.0))]
        return shapes, [fill_group(RED)], {"filter": PixelFilter(FilterType.tent, radius)}
    # d/dr sum(W * (k_r * f)) = sum(f * (dk_r/dr * W)) nearly vanishes for a
    # smooth W, so this case weights pixels at random.
    # Backward renders with the same samples as FD: the radius derivative is
    # an area integral over the filter footprint, noisy at few samples.
    check("tent_radius", build, [T(1.2)], step=0.05, threshold=0.15, floor=1e-3, weights="random", ad_samples=16,
          device=device)


def test_tent_filter_geometry(device):
    ncp, pts = closed_path(2)

    def build(points):
        shapes = [Path(ncp, points, True, stroke_width=T(0.0))]
        return shapes, [fill_group(RED)], {"filter": PixelFilter(FilterType.tent, T(1.0))}
    check("tent_geometry", build, [pts], step=GEOMETRY_STEP, threshold=0.07, device=device)


def test_premultiplied_output(device):
    ncp, pts = closed_path(1)

    def build(points, color):
        return [Path(ncp, points, True, stroke_width=T(0.0))], [fill_group(color)], {}
    check("premultiplied", build, [pts, T([0.4, 0.7, 0.2, 0.5])], scales=[1, 0.05], step=GEOMETRY_STEP,
          threshold=0.06, device=device, render_kw={"premultiplied": True})


# ----------------------------------------------------------------------------
# Prefiltering and SDF output
# ----------------------------------------------------------------------------
# With use_prefiltering=True and NO background, the default (un-premultiplied)
# output is colour / coverage, which jumps where the prefiltered coverage
# reaches 0 (outside it is 0, just inside it is the full colour). No area
# derivative captures that jump, so prefiltering is tested over an opaque
# background (composited before un-premultiplying) or with premultiplied=True,
# where the output is continuous.

OPAQUE_BG = torch.ones(SIZE, SIZE, 4) * T([0.9, 0.9, 0.8, 1.0])
# One sample at the pixel centre, so both sides are deterministic; the
# prefiltered coverage clamp(0.5 - d) has kinks at |d| = 0.5 px, so the step
# stays well below that.
PREFILTER_STEP = 0.05


def test_prefiltered_circle_over_background(device):
    """diffvg gets the circle's radius and centre gradients wrong with
    prefiltering; the pixel integral is a smooth function of both."""
    def build(radius, center):
        return [Circle(radius, center)], [fill_group(RED)], {"background": OPAQUE_BG}
    check("prefilter_circle_bg", build, [T(12.0), T([23.0, 25.0])], step=PREFILTER_STEP, threshold=0.05,
          samples=1, ad_samples=1, device=device, render_kw={"use_prefiltering": True})


def test_prefiltered_circle_radius_only(device):
    def build(radius):
        return [Circle(radius, T([23.4, 24.7]))], [fill_group(RED)], {"background": OPAQUE_BG}
    check("prefilter_circle_radius", build, [T(11.3)], step=PREFILTER_STEP, threshold=0.05, samples=1,
          ad_samples=1, device=device, render_kw={"use_prefiltering": True})


def test_prefiltered_circle_premultiplied(device):
    check("prefilter_circle_premul", build_circle, [T(12.0), T([23.0, 25.0])], step=PREFILTER_STEP,
          threshold=0.05, samples=1, ad_samples=1, device=device,
          render_kw={"use_prefiltering": True, "premultiplied": True})


@pytest.mark.parametrize("kind", [0, 2], ids=["line", "cubic"])
def test_prefiltered_path_points(kind, device):
    _, pts = closed_path(kind)
    build = make_closed_fill_builder(kind)

    def with_bg(points):
        shapes, groups, _ = build(points)
        return shapes, groups, {"background": OPAQUE_BG}
    check(f"prefilter_path_{kind}", with_bg, [pts], step=PREFILTER_STEP, threshold=0.07, samples=1,
          ad_samples=1, device=device, render_kw={"use_prefiltering": True})


def test_prefiltered_stroke(device):
    ncp, pts = open_path(2)

    def build(points, width):
        return [Path(ncp, points, False, stroke_width=width)], [stroke_group(BLUE)], {}
    check("prefilter_stroke", build, [pts, T(2.0)], scales=[1, 0.3], step=PREFILTER_STEP, threshold=0.07,
          samples=1, ad_samples=1, device=device, render_kw={"use_prefiltering": True, "premultiplied": True})


def test_sdf_circle(device):
    check("sdf_circle", build_circle, [T(12.0), T([23.0, 25.0])], step=GEOMETRY_STEP, threshold=0.03,
          samples=2, ad_samples=2, device=device, render_kw={"output_type": OutputType.sdf})


@pytest.mark.parametrize("kind", [0, 1, 2], ids=["line", "quadratic", "cubic"])
def test_sdf_closed_path(kind, device):
    _, pts = closed_path(kind)
    check(f"sdf_path_{kind}", make_closed_fill_builder(kind), [pts], step=GEOMETRY_STEP, threshold=0.05,
          samples=2, ad_samples=2, device=device, render_kw={"output_type": OutputType.sdf})


def test_sdf_stroke_width(device):
    ncp, pts = open_path(2)

    def build(points, width):
        return [Path(ncp, points, False, stroke_width=width)], [stroke_group(BLUE)], {}
    check("sdf_stroke", build, [pts, T(2.0)], scales=[1, 0.3], step=GEOMETRY_STEP, threshold=0.05, samples=2,
          ad_samples=2, device=device, render_kw={"output_type": OutputType.sdf})


# ----------------------------------------------------------------------------
# Random scenes
# ----------------------------------------------------------------------------

def random_scene(seed):
    """2-4 shapes of random kinds, each in its own group with a random paint
    (solid, linear or radial; fill and/or stroke). Returns (build, params,
    scales): every float of the scene is a parameter."""
    gen = torch.Generator().manual_seed(seed)

    def rnd(*shape, lo=0.0, hi=1.0):
        return torch.rand(*shape, generator=gen) * (hi - lo) + lo

    def rint(n):
        return int(torch.randint(n, (1,), generator=gen))

    layout, params, scales = [], [], []

    def add(t, scale):
        params.append(t)
        scales.append(scale)
        return len(params) - 1

    for _ in range(2 + rint(3)):
        kind = rint(5)
        entry = {"kind": kind}
        c = rnd(2, lo=12.0, hi=36.0)
        if kind == 0:
            entry["p"] = [add(rnd(1, lo=6.0, hi=14.0)[0], 1.0), add(c, 1.0)]
        elif kind == 1:
            entry["p"] = [add(rnd(2, lo=5.0, hi=14.0), 1.0), add(c, 1.0)]
        elif kind == 2:
            size = rnd(2, lo=8.0, hi=22.0)
            entry["p"] = [add(c - size / 2, 1.0), add(c + size / 2, 1.0)]
        else:
            n_seg = 3 + rint(3)
            ncp = torch.randint(3, (n_seg,), generator=gen, dtype=torch.int32)
            closed = kind == 3
            n_pts = int(ncp.sum()) + n_seg + (0 if closed else 1)
            angles = torch.sort(rnd(n_pts, hi=2 * math.pi))[0]
            radii = rnd(n_pts, lo=6.0, hi=16.0)
            pts = torch.stack([c[0] + radii * torch.cos(angles), c[1] + radii * torch.sin(angles)], -1)
            entry["ncp"], entry["closed"] = ncp, closed
            entry["p"] = [add(pts, 1.0)]
        entry["width"] = add(rnd(1, lo=0.5, hi=2.5)[0], 0.3)
        # paints
        has_fill = kind != 4 and rint(4) != 0
        has_stroke = kind == 4 or rint(2) == 0
        for role, present in (("fill", has_fill), ("stroke", has_stroke)):
            if not present:
                entry[role] = None
                continue
            paint_kind = rint(3)
            alpha_lo = 0.5
            if paint_kind == 0:
                col = torch.cat([rnd(3), rnd(1, lo=alpha_lo)])
                entry[role] = ("solid", add(col, 0.05))
            elif paint_kind == 1:
                stops = torch.cat([rnd(2, 3), rnd(2, 1, lo=alpha_lo)], 1)
                entry[role] = ("linear", add(c - 10.0, 0.5), add(c + rnd(2, lo=5.0, hi=15.0), 0.5),
                               add(T([0.0, 1.0]), 0.0), add(stops, 0.05))
            else:
                stops = torch.cat([rnd(3, 3), rnd(3, 1, lo=alpha_lo)], 1)
                entry[role] = ("radial", add(c + rnd(2, lo=-3.0, hi=3.0), 0.5), add(rnd(2, lo=6.0, hi=14.0), 0.5),
                               add(T([0.0, 0.4 + 0.2 * float(rnd(1)), 1.0]), 0.01), add(stops, 0.05))
        entry["even_odd"] = bool(rint(2))
        layout.append(entry)

    def paint(spec, p):
        if spec is None:
            return None
        if spec[0] == "solid":
            return p[spec[1]]
        if spec[0] == "linear":
            return LinearGradient(p[spec[1]], p[spec[2]], p[spec[3]], p[spec[4]])
        return RadialGradient(p[spec[1]], p[spec[2]], p[spec[3]], p[spec[4]])

    def build(*p):
        shapes, groups = [], []
        for i, e in enumerate(layout):
            width = p[e["width"]]
            k = e["kind"]
            if k == 0:
                shapes.append(Circle(p[e["p"][0]], p[e["p"][1]], stroke_width=width))
            elif k == 1:
                shapes.append(Ellipse(p[e["p"][0]], p[e["p"][1]], stroke_width=width))
            elif k == 2:
                shapes.append(Rect(p[e["p"][0]], p[e["p"][1]], stroke_width=width))
            else:
                shapes.append(Path(e["ncp"], p[e["p"][0]], e["closed"], stroke_width=width))
            groups.append(ShapeGroup(T([i]), fill_color=paint(e["fill"], p), use_even_odd_rule=e["even_odd"],
                                     stroke_color=paint(e["stroke"], p)))
        return shapes, groups, {}
    return build, params, scales


def test_random_scene_sweep(device):
    """16 random scenes mixing shape kinds and paints, all parameters moved
    at once. Single scenes may straddle a near-degenerate configuration; the
    median relative error must stay <= 0.10 and no scene may be wildly off."""
    errors = []
    for seed in range(16):
        build, params, scales = random_scene(seed)
        # A small step: all parameters move at once, some strokes are thin
        # (0.5 px) and the random direction can be 2-3x the unit scale.
        ad, fd, _ = directional_derivatives(build, params, scales=scales, step=0.2, device=device,
                                            samples=16, density=8.0, direction_seed=100 + seed,
                                            name=f"random_{seed}")
        err = relative_error(ad, fd, 1e-1)
        print(f"[random scene {seed}] AD={ad:.6g} FD={fd:.6g} rel.err={err:.4f}")
        errors.append(err)
    median = statistics.median(errors)
    print(f"random scenes: median rel.err {median:.4f}, max {max(errors):.4f}")
    assert median <= 0.10, f"median relative error {median:.4f} > 0.10 over random scenes: {errors}"
    assert max(errors) <= 0.5, f"a random scene is off by {max(errors):.4f}: {errors}"


# ----------------------------------------------------------------------------
# Degenerate inputs: the backward pass must stay finite
# ----------------------------------------------------------------------------

def _degenerate_scenes():
    """(name, build, params) for inputs where a naive backward pass divides
    by a zero length, width, radius or gradient extent."""
    p = T([[10.0, 10.0], [30.0, 12.0], [34.0, 34.0], [12.0, 30.0]])
    same = T([[20.0, 20.0]] * 4)
    cubic = T([2], dtype=torch.int32)

    def stroke(points, width, ncp=cubic, closed=False):
        return [Path(ncp, points, closed, stroke_width=width)], [stroke_group(BLUE)], {}

    def fill_stroke(points, width, ncp, closed=True):
        return [Path(ncp, points, closed, stroke_width=width)], [ShapeGroup(T([0]), RED, stroke_color=BLUE)], {}

    return [
        # cubic whose four control points coincide: a zero-length stroke (a dot)
        ("zero_length_stroke", lambda pts, w: stroke(pts, w), [same, T(2.0)]),
        # cubic with coincident inner control points (degenerate tangents at both ends)
        ("coincident_handles", lambda pts, w: stroke(pts, w),
         [T([[8.0, 8.0], [8.0, 8.0], [40.0, 40.0], [40.0, 40.0]]), T(2.0)]),
        # a line segment of zero length inside a closed polygon path
        ("zero_length_segment", lambda pts, w: fill_stroke(pts, w, T([0, 0, 0, 0, 0], dtype=torch.int32)),
         [torch.cat([p[:2], p[1:2], p[2:]]), T(1.0)]),
        # quadratic with its control point on an end point
        ("quad_control_on_end", lambda pts, w: fill_stroke(pts, w, T([1, 0, 0], dtype=torch.int32)),
         [T([[10.0, 10.0], [10.0, 10.0], [36.0, 14.0], [20.0, 38.0]]), T(1.0)]),
        # a closed path whose points all coincide
        ("all_points_coincide", lambda pts, w: fill_stroke(pts, w, T([2], dtype=torch.int32)),
         [T([[20.0, 20.0]] * 3), T(1.0)]),
        # zero stroke width on a stroked open path, and per-point widths with zeros
        ("zero_width_stroke", lambda pts, w: stroke(pts, w), [p, T(0.0)]),
        ("zero_per_point_width", lambda pts, w: stroke(pts, w), [p, T([0.0, 1.5, 0.0, 2.0])]),
        # zero-radius circle and ellipse, stroked and filled
        ("zero_radius_circle", lambda r, c: ([Circle(r, c, stroke_width=T(1.0))],
                                             [ShapeGroup(T([0]), RED, stroke_color=BLUE)], {}),
         [T(0.0), T([24.0, 24.0])]),
        ("zero_radius_ellipse", lambda r, c: ([Ellipse(r, c, stroke_width=T(1.0))],
                                              [ShapeGroup(T([0]), RED, stroke_color=BLUE)], {}),
         [T([0.0, 5.0]), T([24.0, 24.0])]),
        ("empty_rect", lambda a, b: ([Rect(a, b)], [fill_group(RED)], {}), [T([20.0, 20.0]), T([20.0, 30.0])]),
        # linear gradient with begin == end, radial gradient with zero radius
        ("linear_begin_eq_end", lambda b, e, s: ([Rect(T([4.0, 4.0]), T([44.0, 44.0]))],
                                                 [fill_group(LinearGradient(b, e, LIN_OFFSETS, s))], {}),
         [T([24.0, 24.0]), T([24.0, 24.0]), LIN_STOPS]),
        ("radial_zero_radius", lambda c, r, s: ([Rect(T([4.0, 4.0]), T([44.0, 44.0]))],
                                                [fill_group(RadialGradient(c, r, RAD_OFFSETS, s))], {}),
         [T([24.0, 24.0]), T([0.0, 0.0]), RAD_STOPS]),
        # coincident gradient stops
        ("coincident_offsets", lambda o, s: ([Rect(T([4.0, 4.0]), T([44.0, 44.0]))],
                                             [fill_group(LinearGradient(T([8.0, 8.0]), T([40.0, 40.0]), o, s))],
                                             {}),
         [T([0.0, 0.5, 0.5]), LIN_STOPS]),
    ]


@pytest.mark.parametrize("mode", ["color", "prefiltered", "sdf"])
def test_degenerate_inputs_give_finite_gradients(mode, device):
    render_kw = {"color": {}, "prefiltered": {"use_prefiltering": True, "premultiplied": True},
                 "sdf": {"output_type": OutputType.sdf}}[mode]
    bad = []
    for name, build, params in _degenerate_scenes():
        params = [q.clone().to(device).requires_grad_(True) for q in params]
        image = _render(build, params, 48, 2, 0, render_kw)
        if not torch.isfinite(image).all():
            bad.append(f"{name}: non-finite image")
            continue
        weights = smooth_weights(48, 48, image.shape[-1]).to(device)
        (image * weights).sum().backward()
        for i, q in enumerate(params):
            if q.grad is not None and not torch.isfinite(q.grad).all():
                bad.append(f"{name}: parameter {i} gradient {q.grad.tolist()}")
    assert not bad, "non-finite values in the backward pass:\n" + "\n".join(bad)


# ----------------------------------------------------------------------------
# The forward pass's layer log
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("prefiltering", [False, True])
def test_layer_log_replay_matches_recomputation(monkeypatch, prefiltering):
    # On the CPU the backward area term replays the layers the forward pass
    # logged at each sample instead of finding them again. Replaying must give
    # exactly the gradients of finding them again: fills, strokes, both paint
    # kinds, an opaque layer, translucency, a background and a batch of two.
    # With prefiltering the log also carries each partly covered layer's
    # coverage and closest boundary point (circle, rect and path boundaries,
    # a round stroke).
    import importlib
    render_module = importlib.import_module("pydiffvg.render")  # the module, not pydiffvg.render the function

    def grads(keep_log):
        monkeypatch.setattr(render_module, "KEEP_LAYER_LOG", keep_log)
        torch.manual_seed(3)
        leaves, leaf = leaf_maker()
        scenes = []
        for b in range(2):
            shapes = [Circle(leaf(T(9.0 + b)), leaf(T([20.0, 22.0]))),
                      Polygon(leaf(T([[4.0, 30.0], [40.0, 6.0], [44.0, 40.0], [10.0, 44.0]])), True,
                              stroke_width=leaf(T(2.0))),
                      Rect(leaf(T([26.0, 26.0])), leaf(T([46.0, 40.0])))]
            groups = [ShapeGroup(T([0]), fill_color=leaf(T([0.9, 0.2, 0.1, 1.0]))),
                      ShapeGroup(T([1]), fill_color=LinearGradient(leaf(T([0.0, 0.0])), leaf(T([48.0, 48.0])),
                                                                   T([0.0, 1.0]), leaf(torch.rand(2, 4))),
                                 stroke_color=leaf(T([0.1, 0.3, 0.9, 0.7])), use_even_odd_rule=False),
                      ShapeGroup(T([2]), fill_color=RadialGradient(leaf(T([36.0, 33.0])), leaf(T([9.0, 6.0])),
                                                                   T([0.0, 1.0]), leaf(torch.rand(2, 4))))]
            scenes.append(pydiffvg.Scene(SIZE, SIZE, shapes, groups))
        background = leaf(torch.rand(2, SIZE, SIZE, 4))
        image = pydiffvg.render(scenes, num_samples=1 if prefiltering else 3, seed=FD_SEED, background=background,
                                use_prefiltering=prefiltering)
        (image * smooth_weights(SIZE, SIZE)).sum().backward()
        return [t.grad.clone() for t in leaves]

    replayed, recomputed = grads(True), grads(False)
    for i, (a, b) in enumerate(zip(replayed, recomputed)):
        scale = b.abs().max().item() + 1e-6
        err = (a - b).abs().max().item()
        # Rounding only: the two paths composite the same layers, but inlined
        # at different sites the compiler may fuse a*b + c differently.
        assert err <= 1e-4 * scale, f"leaf {i}: replayed {a.flatten()[:6].tolist()} recomputed {b.flatten()[:6].tolist()}"


@pytest.mark.parametrize("box_filter", [True, False])
def test_boundary_cell_programs_match_tile_walk(box_filter):
    # On the CPU the boundary term shades each boundary sample through the
    # program of its 4x4-pixel cell (groups whose bounds reach the cell,
    # constant entries folded) rather than by walking its tile's list. Both
    # must give the same jumps, so the same gradients up to summation order:
    # shapes across tile and cell borders, a two-shape even-odd group (the
    # hole's cells lie wholly inside the circle, whose winding is folded), round
    # strokes, both gradient kinds, translucency, a rotated group, a
    # background, and a filter wider than a pixel.
    def grads(cell_programs):
        torch.manual_seed(5)
        leaves, leaf = leaf_maker()
        angle = 0.3
        rotation = T([[math.cos(angle), -math.sin(angle), 14.0], [math.sin(angle), math.cos(angle), -6.0],
                      [0.0, 0.0, 1.0]])
        shapes = [Circle(leaf(T(13.0)), leaf(T([17.0, 15.5]))),
                  Rect(leaf(T([12.0, 20.0])), leaf(T([40.0, 33.0]))),
                  Polygon(leaf(T([[3.0, 44.0], [31.5, 2.0], [45.0, 30.0], [16.0, 16.0]])), True,
                          stroke_width=leaf(T(1.5))),
                  Ellipse(leaf(T([6.0, 4.0])), leaf(T([19.0, 17.0]))),  # a hole in the circle
                  Path(T([2, 2]), leaf(T([[4.0, 8.0], [20.0, -4.0], [30.0, 20.0], [44.0, 12.0], [40.0, 40.0],
                                         [24.0, 46.0], [10.0, 36.0]])), False, stroke_width=leaf(T(2.5)))]
        groups = [ShapeGroup(T([0, 3]), fill_color=leaf(T([0.9, 0.2, 0.1, 0.8])), use_even_odd_rule=True),
                  ShapeGroup(T([1]), fill_color=LinearGradient(leaf(T([0.0, 0.0])), leaf(T([48.0, 40.0])),
                                                               T([0.0, 1.0]), leaf(torch.rand(2, 4))),
                             shape_to_canvas=rotation),
                  ShapeGroup(T([2]), fill_color=leaf(T([0.2, 0.7, 0.3, 0.5])),
                             stroke_color=RadialGradient(leaf(T([24.0, 24.0])), leaf(T([20.0, 14.0])),
                                                         T([0.0, 1.0]), leaf(torch.rand(2, 4))),
                             use_even_odd_rule=False),
                  ShapeGroup(T([4]), fill_color=None, stroke_color=leaf(T([0.1, 0.3, 0.9, 1.0])))]
        background = leaf(torch.rand(SIZE, SIZE, 4))
        kw = {} if box_filter else {"filter": PixelFilter(FilterType.tent, T(1.5))}
        with BackwardOptions(area_term=False, cell_programs=cell_programs, boundary_density=4.0):
            image = pydiffvg.render(shapes, groups, width=SIZE, height=SIZE, num_samples=2, seed=FD_SEED,
                                    background=background, **kw)
            (image * smooth_weights(SIZE, SIZE)).sum().backward()
        return [t.grad.clone() for t in leaves]

    programs, walks = grads(True), grads(False)
    assert any(b.abs().max().item() > 0 for b in walks[:-1]), "the boundary term gave no gradient at all"
    for i, (a, b) in enumerate(zip(programs, walks)):
        scale = b.abs().max().item() + 1e-6
        err = (a - b).abs().max().item()
        assert err <= 1e-5 * scale, \
            f"leaf {i}: programs {a.flatten()[:6].tolist()} tile walks {b.flatten()[:6].tolist()}"


def test_boundary_jumps_from_the_top_match_the_tile_walk():
    # Through a cell program that holds an opaque solid paint, a boundary
    # sample's jump is found from the top down: an opaque layer covering the
    # point above the owner makes it 0, and the first one below the owner
    # ends the walk there. The tile walk (no programs) goes bottom-up through
    # every group; the gradients must agree to rounding. The scene stacks an
    # opaque backdrop, translucent and opaque owners, a styled (miter) stroke,
    # and an opaque bar on top that hides part of them.
    def grads(cell_programs):
        leaves, leaf = leaf_maker()
        shapes = [Rect(leaf(T([2.0, 3.0])), leaf(T([45.0, 44.0]))),                       # opaque backdrop
                  Circle(leaf(T(12.0)), leaf(T([18.0, 20.0]))),                           # translucent
                  Polygon(leaf(T([[8.0, 40.0], [30.0, 6.0], [42.0, 34.0]])), True, stroke_width=leaf(T(2.0))),
                  Path(T([0, 0]), leaf(T([[6.0, 10.0], [24.0, 28.0], [40.0, 12.0]])), False,
                       stroke_width=leaf(T(1.5))),
                  Rect(leaf(T([20.0, 22.0])), leaf(T([46.0, 29.0])))]                     # opaque bar on top
        shapes[3].line_join, shapes[3].line_cap = LineJoin.miter, LineCap.square
        groups = [ShapeGroup(T([0]), fill_color=leaf(T([0.3, 0.4, 0.8, 1.0]))),
                  ShapeGroup(T([1]), fill_color=leaf(T([0.9, 0.2, 0.1, 0.6]))),
                  ShapeGroup(T([2]), fill_color=leaf(T([0.2, 0.7, 0.3, 1.0])),
                             stroke_color=leaf(T([0.0, 0.0, 0.0, 1.0]))),
                  ShapeGroup(T([3]), fill_color=None, stroke_color=leaf(T([0.9, 0.9, 0.1, 1.0]))),
                  ShapeGroup(T([4]), fill_color=leaf(T([0.1, 0.1, 0.1, 1.0])))]
        with BackwardOptions(area_term=False, cell_programs=cell_programs, boundary_density=4.0):
            image = pydiffvg.render(shapes, groups, width=SIZE, height=SIZE, num_samples=2, seed=FD_SEED)
            (image * smooth_weights(SIZE, SIZE)).sum().backward()
        return [t.grad.clone() for t in leaves]

    programs, walks = grads(True), grads(False)
    # the ten geometry leaves (two per shape); the colours get no boundary term
    assert all(b.abs().max().item() > 0 for b in walks[:10]), "a shape got no boundary gradient"
    for i, (a, b) in enumerate(zip(programs, walks)):
        scale = b.abs().max().item() + 1e-6
        err = (a - b).abs().max().item()
        assert err <= 1e-5 * scale, \
            f"leaf {i}: top-down {a.flatten()[:6].tolist()} tile walk {b.flatten()[:6].tolist()}"


def test_layer_log_kept_only_where_it_applies():
    from pydiffvg import _core
    seen = []
    original = _core.render_forward

    def spy(*args):
        original(*args)
        seen.append(args[-1])
    circle = Circle(T(8.0, requires_grad=True), T([20.0, 20.0]))
    group = ShapeGroup(T([0]), fill_color=T([0.5, 0.5, 0.5, 1.0]))
    try:
        _core.render_forward = spy
        pydiffvg.render([circle], [group], width=32, height=32)
        pydiffvg.render([circle], [group], width=32, height=32, use_prefiltering=True)
        pydiffvg.render([circle], [group], width=32, height=32, filter=PixelFilter(FilterType.tent, T(1.5)))
        with torch.no_grad():
            pydiffvg.render([circle], [group], width=32, height=32)
    finally:
        _core.render_forward = original
    assert seen[0] is not None and seen[0].complete and seen[0].nbytes > 0, "sampled CPU render kept no log"
    assert seen[1] is not None and seen[1].complete and seen[1].nbytes > 0, "prefiltered CPU render kept no log"
    assert seen[2] is not None and not seen[2].complete and seen[2].nbytes == 0, \
        "a filter wider than the pixel kept a log"
    assert seen[3] is None, "a render without gradients asked for a log"
