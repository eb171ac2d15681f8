"""Inverse rendering: recover hidden scene parameters from a rendered target
with Adam (issue #3). Small canvases and <= 150 iterations keep each test
under a few seconds; the asserted tolerances are what a correct gradient
reaches comfortably, and what a gradient with a wrong sign, scale or a
missing boundary term does not."""
from __future__ import annotations

import math

import torch

import pydiffvg
from pydiffvg.shapes import Circle, LinearGradient, Path, Rect, ShapeGroup

T = torch.tensor


def render(shapes, groups, size, seed=0, samples=2, **kw):
    return pydiffvg.render(shapes, groups, width=size, height=size, num_samples=samples, seed=seed, **kw)


def optimize(make_image, target, params, lrs, iterations, report=""):
    """Adam on the mean squared error, a new sampling seed each step (so the
    optimiser sees unbiased, decorrelated noise). Returns the loss history."""
    opt = torch.optim.Adam([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)])
    history = []
    for it in range(iterations):
        opt.zero_grad()
        loss = (make_image(it + 1) - target).pow(2).mean()
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
    print(f"{report}: loss {history[0]:.5f} -> {history[-1]:.5f} in {iterations} iterations")
    return history


def test_recover_circle(device):
    size = 48
    hidden = dict(radius=T(9.0), center=T([19.0, 28.0]), color=T([0.85, 0.3, 0.15, 1.0]))
    bg = torch.ones(size, size, 4, device=device)
    with torch.no_grad():
        target = render([Circle(hidden["radius"].to(device), hidden["center"].to(device))],
                        [ShapeGroup(T([0]), hidden["color"].to(device))], size, samples=4, background=bg)

    radius = T(13.0, device=device, requires_grad=True)
    center = T([27.0, 21.0], device=device, requires_grad=True)
    # RGB only: over an opaque background, (rgb, alpha) is not identifiable
    # from the composite (alpha * rgb + (1 - alpha) * bg).
    rgb = T([0.4, 0.5, 0.6], device=device, requires_grad=True)
    alpha = T([1.0], device=device)

    def image(seed):
        color = torch.cat([rgb, alpha])
        return render([Circle(radius, center)], [ShapeGroup(T([0]), color)], size, seed=seed, background=bg)

    history = optimize(image, target, [radius, center, rgb], [0.3, 0.5, 0.05], 150, "circle")
    print(f"circle: radius {radius.item():.3f} (hidden 9), center {center.tolist()} (hidden [19, 28]), "
          f"colour {rgb.tolist()} (hidden [0.85, 0.3, 0.15])")
    assert history[-1] < 0.05 * history[0]
    assert abs(radius.item() - 9.0) < 0.3
    assert torch.dist(center.detach().cpu(), hidden["center"]) < 0.3
    assert torch.allclose(rgb.detach().cpu(), hidden["color"][:3], atol=0.03)


def blob_points(center, radius, wobble, phase):
    """Control points of a closed 4-segment cubic blob (12 points)."""
    pts = []
    for k in range(4):
        for j in range(3):
            a = 2 * math.pi * (k + j / 3) / 4 + phase
            r = radius * (1.0 + (wobble if j == 0 else -0.5 * wobble) * math.cos(2 * a))
            pts.append([center[0] + r * math.cos(a), center[1] + r * math.sin(a)])
    return T(pts)


def test_recover_closed_cubic_points(device):
    size = 48
    ncp = T([2, 2, 2, 2], dtype=torch.int32)
    hidden = blob_points((24.0, 24.0), 14.0, 0.25, 0.3)
    gen = torch.Generator().manual_seed(0)
    start = hidden + 2.0 * (torch.rand(hidden.shape, generator=gen) * 2 - 1)
    color = T([0.2, 0.4, 0.9, 1.0], device=device)
    bg = torch.ones(size, size, 4, device=device)
    with torch.no_grad():
        target = render([Path(ncp, hidden.to(device), True, stroke_width=T(0.0))], [ShapeGroup(T([0]), color)],
                        size, samples=4, background=bg)

    points = start.clone().to(device).requires_grad_(True)

    def image(seed):
        return render([Path(ncp, points, True, stroke_width=T(0.0))], [ShapeGroup(T([0]), color)], size,
                      seed=seed, background=bg)

    history = optimize(image, target, [points], [0.1], 150, "closed cubic")
    err = (points.detach().cpu() - hidden).norm(dim=1)
    start_err = (start - hidden).norm(dim=1)
    print(f"closed cubic: mean point error {float(start_err.mean()):.3f} -> {float(err.mean()):.3f} px, "
          f"max {float(err.max()):.3f} px")
    assert history[-1] < 0.1 * history[0]
    # End points are pinned by the outline; tangent handles less so.
    assert float(err.mean()) < 0.5 * float(start_err.mean())
    assert float(err[0::3].max()) < 0.75


def test_recover_stroke_width(device):
    size = 40
    ncp = T([2, 2], dtype=torch.int32)
    pts = T([[5.0, 30.0], [12.0, 6.0], [20.0, 10.0], [22.0, 20.0], [24.0, 32.0], [32.0, 34.0], [36.0, 12.0]],
            device=device)
    color = T([0.1, 0.1, 0.1, 1.0], device=device)
    groups = [ShapeGroup(T([0]), fill_color=None, stroke_color=color)]
    with torch.no_grad():
        target = render([Path(ncp, pts, False, stroke_width=T(2.5, device=device))], groups, size, samples=4)

    width = T(1.0, device=device, requires_grad=True)

    def image(seed):
        return render([Path(ncp, pts, False, stroke_width=width)], groups, size, seed=seed)

    history = optimize(image, target, [width], [0.05], 80, "stroke width")
    print(f"stroke width: {width.item():.4f} (hidden 2.5)")
    assert history[-1] < 0.05 * history[0]
    assert abs(width.item() - 2.5) < 0.1


def test_recover_linear_gradient_stops(device):
    size = 32
    begin, end = T([4.0, 6.0], device=device), T([28.0, 25.0], device=device)
    hidden_offsets = T([0.0, 0.35, 1.0])
    hidden_stops = T([[0.9, 0.1, 0.2, 1.0], [0.2, 0.8, 0.3, 1.0], [0.1, 0.2, 0.9, 1.0]])
    rect = Rect(T([0.0, 0.0], device=device), T([32.0, 32.0], device=device))

    def scene(offsets, stops):
        return [rect], [ShapeGroup(T([0]), LinearGradient(begin, end, offsets, stops))]

    with torch.no_grad():
        target = render(*scene(hidden_offsets.to(device), hidden_stops.to(device)), size, samples=4)

    stops = T([[0.5, 0.5, 0.5, 1.0]] * 3, device=device, requires_grad=True)
    middle = T([0.55], device=device, requires_grad=True)
    zero, one = T([0.0], device=device), T([1.0], device=device)

    def image(seed):
        return render(*scene(torch.cat([zero, middle, one]), stops), size, seed=seed)

    history = optimize(image, target, [stops, middle], [0.03, 0.01], 150, "linear gradient")
    print(f"linear gradient: middle offset {middle.item():.4f} (hidden 0.35), stops {stops.tolist()}")
    assert history[-1] < 0.02 * history[0]
    assert abs(middle.item() - 0.35) < 0.03
    assert torch.allclose(stops.detach().cpu()[:, :3], hidden_stops[:, :3], atol=0.06)
