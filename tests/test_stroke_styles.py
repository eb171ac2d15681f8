"""Stroke caps (butt, square, round) and joins (miter with stroke-miterlimit,
bevel, round): images against resvg and closed forms, prefiltering against
sampling, the signed distance against an exact polygon distance, finite
difference gradients, and degenerate input (zero-length segments, coincident
points, 180° turns, huge miter limits) that must stay finite."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import pydiffvg
from pydiffvg import LineCap, LineJoin, OutputType, Path, ShapeGroup
from test_gradients import OPAQUE_BG, PREFILTER_STEP, check, stroke_group
from test_render_images import coverage_sum_tolerance, psnr, save_diff

T = torch.tensor
BLUE = T([0.1, 0.3, 0.9, 1.0])
CAPS = {"butt": LineCap.butt, "square": LineCap.square, "round": LineCap.round}
JOINS = {"miter": LineJoin.miter, "bevel": LineJoin.bevel, "round": LineJoin.round}


def styled_path(points, cap="butt", join="miter", limit=4.0, closed=False, width=2.0, ncp=None):
    points = points if isinstance(points, torch.Tensor) else T(points, dtype=torch.float32)
    n_seg = points.shape[0] if closed else points.shape[0] - 1
    ncp = T([0] * n_seg, dtype=torch.int32) if ncp is None else ncp
    width = width if isinstance(width, torch.Tensor) else T(float(width))
    path = Path(ncp, points, closed, stroke_width=width)
    path.line_cap, path.line_join, path.miter_limit = CAPS[cap], JOINS[join], limit
    return path


def render_strokes(shapes, size, **kw):
    groups = [ShapeGroup(T([i]), fill_color=None, stroke_color=BLUE) for i in range(len(shapes))]
    return pydiffvg.render(shapes, groups, width=size, height=size, **kw)


# ---------------------------------------------------------------------------
# Against resvg (8 x 8 samples per pixel).

resvg_py = pytest.importorskip("resvg_py")
from test_render_images import ours_image, resvg_image, svg_doc  # noqa: E402

POLYLINE = '<path d="M 10 80 L 30 20 L 50 70 L 60 30 L 88 75" fill="none" stroke="#1a4de6" stroke-width="8" {}/>'
CURVE = ('<path d="M 12 60 C 20 10 60 10 50 50 Q 45 80 85 70 L 70 20" fill="none" stroke="#1a4de6" '
         'stroke-width="7" {}/>')
CLOSED = '<path d="M 20 20 L 75 30 L 50 80 Z" fill="none" stroke="#1a4de6" stroke-width="9" {}/>'
# A turn whose miter ratio is 1/sin(11.3°) = 5.1: bevelled at limit 4, mitred at 6.
SHARP = '<path d="M 10 30 L 85 45 L 10 60" fill="none" stroke="#1a4de6" stroke-width="6" {}/>'


def style_attrs(cap="butt", join="miter", limit=4):
    return f'stroke-linecap="{cap}" stroke-linejoin="{join}" stroke-miterlimit="{limit}"'


def compare_with_resvg(name, body, min_db=35.0):
    svg = svg_doc(body)
    ours = ours_image(svg, 96, 96)
    ref = resvg_image(svg, 96, 96)
    value = psnr(ours, ref)
    if value < min_db:
        where = save_diff(f"resvg_{name}", ours, ref)
        pytest.fail(f"{name}: PSNR vs resvg {value:.2f} dB < {min_db} dB (images in {where})")
    return ours, value


@pytest.mark.parametrize("join", ["miter", "bevel", "round"])
@pytest.mark.parametrize("cap", ["butt", "square", "round"])
def test_polyline_matches_resvg(cap, join):
    compare_with_resvg(f"polyline_{cap}_{join}", POLYLINE.format(style_attrs(cap, join)))


@pytest.mark.parametrize("join", ["miter", "bevel", "round"])
@pytest.mark.parametrize("cap", ["butt", "square", "round"])
def test_curves_match_resvg(cap, join):
    compare_with_resvg(f"curve_{cap}_{join}", CURVE.format(style_attrs(cap, join)))


@pytest.mark.parametrize("join", ["miter", "bevel", "round"])
def test_closed_joins_match_resvg(join):
    compare_with_resvg(f"closed_{join}", CLOSED.format(style_attrs("butt", join)))


@pytest.mark.parametrize("limit, expect", [(4, "bevel"), (6, "miter"), (1e9, "miter")])
def test_miter_limit_matches_resvg(limit, expect):
    """The limit decides between the miter and the bevel: ours must match
    resvg with the given limit and must not match the other outcome."""
    ours, value = compare_with_resvg(f"sharp_{limit}", SHARP.format(style_attrs("butt", "miter", limit)))
    other = "miter" if expect == "bevel" else "bevel"
    other_ref = resvg_image(svg_doc(SHARP.format(style_attrs("butt", other, 1e9))), 96, 96)
    assert psnr(ours, other_ref) < value - 5.0, (limit, psnr(ours, other_ref), value)


@pytest.mark.parametrize("cap", ["butt", "square", "round"])
def test_caps_differ_from_each_other(cap):
    """Each cap matches resvg's image of that cap better than the other caps'."""
    line = '<path d="M 20 30 L 70 60" fill="none" stroke="#1a4de6" stroke-width="14" {}/>'
    ours, value = compare_with_resvg(f"line_{cap}", line.format(style_attrs(cap)))
    for other in CAPS:
        if other != cap:
            ref = resvg_image(svg_doc(line.format(style_attrs(other))), 96, 96)
            assert psnr(ours, ref) < value - 5.0, (cap, other, psnr(ours, ref), value)


@pytest.mark.parametrize("cap", ["square", "round"])
def test_zero_length_subpath_dot_matches_resvg(cap):
    compare_with_resvg(f"dot_{cap}", f'<path d="M 40 50 L 40 50" fill="none" stroke="#1a4de6" '
                                     f'stroke-width="20" stroke-linecap="{cap}"/>')


# ---------------------------------------------------------------------------
# Closed forms: alpha sums of axis-aligned strokes (MC error only).

def alpha_sum(shape, n=4, size=64, **kw):
    img = render_strokes([shape], size, num_samples=n, seed=3, **kw)
    return float(img[..., 3].double().sum())


@pytest.mark.parametrize("w", [1.3, 3.0])
@pytest.mark.parametrize("cap", ["butt", "square", "round"])
def test_line_cap_areas(cap, w):
    length = 37.3
    path = styled_path([[11.2, 30.4], [11.2 + length, 30.4]], cap=cap, width=w)
    area = {"butt": 2 * w * length, "square": 2 * w * (length + 2 * w),
            "round": 2 * w * length + math.pi * w * w}[cap]
    tol = coverage_sum_tolerance(2 * length + 8 * w, 4)
    total = alpha_sum(path)
    assert abs(total - area) <= tol, (cap, w, total, area, tol)


@pytest.mark.parametrize("join", ["miter", "bevel", "round"])
def test_right_angle_join_areas(join):
    """(x0, y0) -> (x0 + L, y0) -> (x0 + L, y0 + L), butt caps, half width w:
    the two rectangles overlap in a w x w square; the outer w x w corner is
    filled by the miter, half filled by the bevel, a quarter disc by round."""
    x0, y0, length, w = 10.3, 12.6, 35.0, 3.2
    path = styled_path([[x0, y0], [x0 + length, y0], [x0 + length, y0 + length]], join=join, width=w)
    corner = {"miter": w * w, "bevel": w * w / 2, "round": math.pi * w * w / 4}[join]
    area = 4 * w * length - w * w + corner
    tol = coverage_sum_tolerance(4 * length + 8 * w, 4)
    total = alpha_sum(path)
    assert abs(total - area) <= tol, (join, total, area, tol)


def test_miter_limit_cuts_to_bevel():
    # A right angle has miter ratio sqrt(2): limit 1.4 bevels, 1.42 mitres.
    x0, y0, length, w = 10.3, 12.6, 35.0, 3.2
    pts = [[x0, y0], [x0 + length, y0], [x0 + length, y0 + length]]
    tol = coverage_sum_tolerance(4 * length + 8 * w, 4)
    bevel = alpha_sum(styled_path(pts, join="miter", limit=1.40, width=w))
    miter = alpha_sum(styled_path(pts, join="miter", limit=1.42, width=w))
    base = 4 * w * length - w * w
    assert abs(bevel - (base + w * w / 2)) <= tol, (bevel, base + w * w / 2)
    assert abs(miter - (base + w * w)) <= tol, (miter, base + w * w)


def test_closed_square_has_joins_not_caps():
    """A closed axis-aligned square stroked with miter joins is the frame
    between two squares: (s + 2w)^2 - (s - 2w)^2 = 8 s w."""
    x0, y0, s, w = 12.4, 10.7, 30.0, 2.5
    pts = [[x0, y0], [x0 + s, y0], [x0 + s, y0 + s], [x0, y0 + s]]
    tol = coverage_sum_tolerance(8 * s, 4)
    for cap in CAPS:  # caps must not matter on a closed path
        total = alpha_sum(styled_path(pts, cap=cap, join="miter", closed=True, width=w))
        assert abs(total - 8 * s * w) <= tol, (cap, total, 8 * s * w, tol)


# ---------------------------------------------------------------------------
# Prefiltering and the signed distance.

@pytest.mark.parametrize("join", ["miter", "bevel", "round"])
@pytest.mark.parametrize("cap", ["butt", "square", "round"])
def test_prefiltered_agrees_with_sampled(cap, join):
    pts = [[8.5, 50.2], [22.3, 10.6], [36.1, 47.4], [44.2, 19.5], [58.3, 52.1]]
    path = styled_path(pts, cap=cap, join=join, width=3.5)
    sampled = render_strokes([path], 64, num_samples=8, seed=1, background=OPAQUE_BG[:1, :1].expand(64, 64, 4))
    prefiltered = render_strokes([path], 64, num_samples=1, use_prefiltering=True,
                                 background=OPAQUE_BG[:1, :1].expand(64, 64, 4))
    value = psnr(prefiltered[..., :3].double().numpy(), sampled[..., :3].double().numpy())
    worst = float((prefiltered - sampled).abs().max())
    assert value >= 30.0 and worst < 0.6, (cap, join, value, worst)


def polygon_signed_distance(poly, points):
    """Exact signed distance (negative inside) from points (N, 2) to a simple polygon."""
    poly = np.asarray(poly, dtype=np.float64)
    a, b = poly, np.roll(poly, -1, axis=0)
    d = np.full(len(points), np.inf)
    inside = np.zeros(len(points), dtype=bool)
    for (ax, ay), (bx, by) in zip(a, b):
        ex, ey = bx - ax, by - ay
        px, py = points[:, 0] - ax, points[:, 1] - ay
        f = np.clip((px * ex + py * ey) / (ex * ex + ey * ey), 0.0, 1.0)
        d = np.minimum(d, np.hypot(px - f * ex, py - f * ey))
        crosses = (ay > points[:, 1]) != (by > points[:, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = ax + (points[:, 1] - ay) * ex / ey
        inside ^= crosses & (points[:, 0] < x_at)
    return np.where(inside, -d, d)


@pytest.mark.parametrize("join", ["miter", "bevel"])
def test_sdf_of_polygonal_stroke_is_exact(join):
    """A 90° turn with butt caps is a polygon; its SDF is the polygon's,
    inside (including the wedge at the concave inner corner) and outside."""
    x0, y0, length, w = 10.3, 12.6, 35.0, 3.2
    path = styled_path([[x0, y0], [x0 + length, y0], [x0 + length, y0 + length]], join=join, width=w)
    x1 = x0 + length
    corner = [[x1, y0 - w], [x1 + w, y0 - w]] if join == "miter" else [[x1, y0 - w]]
    poly = [[x0, y0 - w]] + corner + [[x1 + w, y0], [x1 + w, y0 + length], [x1 - w, y0 + length],
                                       [x1 - w, y0 + w], [x0, y0 + w]]
    size = 64
    # use_prefiltering puts the one sample at the pixel centre.
    sdf = render_strokes([path], size, num_samples=1, output_type=OutputType.sdf,
                         use_prefiltering=True)[..., 0].double().numpy()
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    pts = np.stack([xs.ravel(), ys.ravel()], 1)
    exact = polygon_signed_distance(poly, pts).reshape(size, size)
    err = np.abs(sdf - exact)
    assert err.max() < 2e-3, (join, float(err.max()), np.unravel_index(err.argmax(), err.shape))
    assert np.all(np.sign(sdf[np.abs(exact) > 1e-3]) == np.sign(exact[np.abs(exact) > 1e-3]))


# ---------------------------------------------------------------------------
# Finite-difference gradients.

ZIGZAG = [[6.3, 34.1], [17.2, 12.5], [28.4, 33.7], [41.6, 14.2]]


def zigzag_builder(cap, join, limit=4.0, closed=False, bg=False):
    def build(points, width):
        path = styled_path(points, cap=cap, join=join, limit=limit, closed=closed, width=width)
        return [path], [stroke_group(BLUE)], ({"background": OPAQUE_BG} if bg else {})
    return build


STYLES = [("butt", "miter"), ("square", "bevel"), ("butt", "bevel"), ("square", "miter"), ("round", "miter")]


@pytest.mark.parametrize("cap, join", STYLES)
def test_styled_stroke_gradients_sampled(cap, join, device):
    check(f"styled_{cap}_{join}", zigzag_builder(cap, join), [T(ZIGZAG), T(2.5)], scales=[1, 0.3],
          step=0.5, threshold=0.08, device=device)


@pytest.mark.parametrize("cap, join", STYLES)
def test_styled_stroke_gradients_per_point_width(cap, join, device):
    check(f"styled_ppw_{cap}_{join}", zigzag_builder(cap, join), [T(ZIGZAG), T([2.0, 3.0, 2.4, 1.6])],
          scales=[1, 0.3], step=0.5, threshold=0.08, device=device)


@pytest.mark.parametrize("join", ["miter", "bevel"])
def test_closed_styled_stroke_gradients(join, device):
    pts = T([[10.2, 12.3], [38.5, 9.7], [30.1, 38.4], [14.6, 30.2]])
    check(f"styled_closed_{join}", zigzag_builder("butt", join, closed=True), [pts, T(2.2)], scales=[1, 0.3],
          step=0.5, threshold=0.08, device=device)


# Prefiltering is deterministic (one sample at the pixel centre), so these
# errors are bias, not noise. With round caps the finite difference itself
# does not converge as the step shrinks (the same holds for round-round
# strokes, which this change does not touch: 12-19% on this scene), hence the
# wider threshold for the round cap.
@pytest.mark.parametrize("cap, join, threshold", [(c, j, 0.15 if c == "round" else 0.08) for c, j in STYLES])
def test_styled_stroke_gradients_prefiltered(cap, join, threshold, device):
    check(f"styled_pf_{cap}_{join}", zigzag_builder(cap, join, bg=True), [T(ZIGZAG), T(2.5)], scales=[1, 0.3],
          step=PREFILTER_STEP, threshold=threshold, samples=1, ad_samples=1, device=device,
          render_kw={"use_prefiltering": True})


# The SDF is continuous but curved in the parameters (through the
# tangents): a small step. Constant width: with per-point widths the inner
# corner of a join is not a candidate (see architecture.md) and the depth
# just inside it is overestimated.
@pytest.mark.parametrize("cap, join", [("butt", "miter"), ("square", "bevel"), ("square", "round")])
def test_styled_stroke_gradients_sdf(cap, join, device):
    check(f"styled_sdf_{cap}_{join}", zigzag_builder(cap, join), [T(ZIGZAG), T(2.5)],
          scales=[1, 0.3], step=0.1, threshold=0.05, samples=2, ad_samples=2, device=device,
          render_kw={"output_type": OutputType.sdf})


def test_styled_stroke_curve_gradients(device):
    ncp = T([2, 0], dtype=torch.int32)
    pts = T([[6.2, 30.3], [14.1, 4.2], [30.5, 22.1], [42.3, 9.6], [36.0, 40.2]])

    def build(points, width):
        path = styled_path(points, cap="square", join="miter", width=width, ncp=ncp)
        return [path], [stroke_group(BLUE)], {}
    check("styled_curve", build, [pts, T(2.0)], scales=[1, 0.3], step=0.25, threshold=0.1, device=device)


# ---------------------------------------------------------------------------
# Degenerate input stays finite.

DEGENERATE = {
    "zero_length_segment": ([[10.0, 20.0], [30.0, 20.0], [30.0, 20.0], [30.0, 40.0]], False),
    "all_coincident": ([[24.0, 24.0], [24.0, 24.0], [24.0, 24.0]], False),
    "u_turn": ([[8.0, 24.0], [40.0, 24.0], [12.0, 24.0]], False),
    "u_turn_diagonal": ([[8.0, 8.0], [40.0, 40.0], [12.0, 12.0]], False),
    "nearly_u_turn": ([[8.0, 24.0], [40.0, 24.0], [8.0, 24.001]], False),
    "closed_with_duplicate": ([[10.0, 10.0], [38.0, 12.0], [38.0, 12.0], [20.0, 36.0], [10.0, 10.0]], True),
    "closed_u_turn": ([[10.0, 20.0], [40.0, 20.0]], True),
}


@pytest.mark.parametrize("mode", ["sampled", "prefiltered", "sdf"])
@pytest.mark.parametrize("limit", [4.0, 1e30])
@pytest.mark.parametrize("cap, join", [("butt", "miter"), ("square", "bevel"), ("round", "miter"),
                                       ("square", "round")])
@pytest.mark.parametrize("case", list(DEGENERATE))
def test_degenerate_strokes_are_finite(case, cap, join, limit, mode):
    pts, closed = DEGENERATE[case]
    points = T(pts, requires_grad=True)
    width = T([2.0] * len(pts), requires_grad=True)
    path = styled_path(points, cap=cap, join=join, limit=limit, closed=closed, width=width)
    kw = {"num_samples": 2, "seed": 0}
    if mode == "prefiltered":
        kw.update(use_prefiltering=True, background=OPAQUE_BG)
    if mode == "sdf":
        kw.update(output_type=OutputType.sdf)
    img = render_strokes([path], 48, **kw)
    assert torch.isfinite(img).all(), (case, cap, join, mode)
    (img * torch.rand(img.shape, generator=torch.Generator().manual_seed(0))).sum().backward()
    assert torch.isfinite(points.grad).all() and torch.isfinite(width.grad).all(), (case, points.grad, width.grad)


def test_u_turn_miter_falls_back_to_bevel():
    """At a 180° turn the miter would be infinite; with any limit it bevels,
    which for a U-turn adds nothing beyond the butt end at the vertex."""
    w, length = 3.0, 30.0
    pts = [[8.3, 24.2], [8.3 + length, 24.2], [18.3, 24.2]]
    tol = coverage_sum_tolerance(4 * length, 4)
    total = alpha_sum(styled_path(pts, cap="butt", join="miter", limit=1e30, width=w))
    assert abs(total - 2 * w * length) <= tol, (total, 2 * w * length)


def test_zero_length_subpath_dots():
    """SVG: a zero-length subpath draws a disc (round), an axis-aligned square
    (square) or nothing (butt)."""
    w = 4.0
    tol = coverage_sum_tolerance(8 * w, 4)
    for cap, area in (("round", math.pi * w * w), ("square", 4 * w * w), ("butt", 0.0)):
        total = alpha_sum(styled_path([[20.3, 22.6], [20.3, 22.6]], cap=cap, width=w))
        assert abs(total - area) <= tol, (cap, total, area)
