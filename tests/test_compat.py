"""diffvg call patterns run unchanged with ``import pydiffvg`` (issue #3).

Each test follows the way a published diffvg application drives the
renderer (CLIPDraw, LIVE, CLIPasso, Word-As-Image): global device setters,
``RenderFunction.serialize_scene`` + ``RenderFunction.apply``, leaf tensors
with ``requires_grad`` set after construction, Adam, in-place ``.data``
clamps, ``save_svg`` / ``svg_to_scene`` and ``imwrite``. CLIP is replaced by
an image loss against a target, so the tests need no model weights; they
check the loop runs and the loss goes down.
"""
from __future__ import annotations

import math
import random

import pytest
import torch

import pydiffvg

render = pydiffvg.RenderFunction.apply


@pytest.fixture(autouse=True)
def diffvg_globals():
    """diffvg scripts set global state; restore it afterwards."""
    saved = pydiffvg.get_use_gpu()
    pydiffvg.set_print_timing(False)
    pydiffvg.set_use_gpu(torch.cuda.is_available())
    yield
    pydiffvg.set_use_gpu(saved)


def white_composite(img):
    """What these scripts do: over a white background, by hand."""
    return img[:, :, 3:4] * img[:, :, :3] + \
        torch.ones(img.shape[0], img.shape[1], 3, device=pydiffvg.get_device()) * (1 - img[:, :, 3:4])


def target_image(size, device):
    """A soft dark disc on white: something strokes and fills can match."""
    y, x = torch.meshgrid(torch.arange(size, device=device) + 0.5, torch.arange(size, device=device) + 0.5,
                          indexing="ij")
    r = torch.sqrt((x - size * 0.45) ** 2 + (y - size * 0.55) ** 2)
    dark = torch.sigmoid((size * 0.3 - r) * 0.8)[..., None]
    color = torch.tensor([0.2, 0.1, 0.6], device=device)
    return dark * color + (1 - dark) * torch.ones(3, device=device)


def decreased(losses, factor=0.9):
    head = sum(losses[:2]) / 2
    tail = sum(losses[-2:]) / 2
    return tail < factor * head


def test_clipdraw_loop(tmp_path):
    random.seed(1)
    torch.manual_seed(1)
    device = pydiffvg.get_device()
    canvas_width, canvas_height = 48, 48
    num_paths, max_width = 12, 8.0

    shapes, shape_groups = [], []
    for _ in range(num_paths):
        num_segments = random.randint(1, 3)
        num_control_points = torch.zeros(num_segments, dtype=torch.int32) + 2
        points = []
        p0 = (random.random(), random.random())
        points.append(p0)
        for _ in range(num_segments):
            radius = 0.3
            p1 = (p0[0] + radius * (random.random() - 0.5), p0[1] + radius * (random.random() - 0.5))
            p2 = (p1[0] + radius * (random.random() - 0.5), p1[1] + radius * (random.random() - 0.5))
            p3 = (p2[0] + radius * (random.random() - 0.5), p2[1] + radius * (random.random() - 0.5))
            points.extend([p1, p2, p3])
            p0 = p3
        points = torch.tensor(points)
        points[:, 0] *= canvas_width
        points[:, 1] *= canvas_height
        path = pydiffvg.Path(num_control_points=num_control_points, points=points, stroke_width=torch.tensor(1.0),
                             is_closed=False)
        shapes.append(path)
        path_group = pydiffvg.ShapeGroup(shape_ids=torch.tensor([len(shapes) - 1]), fill_color=None,
                                         stroke_color=torch.tensor([random.random(), random.random(),
                                                                    random.random(), random.random()]))
        shape_groups.append(path_group)

    points_vars, stroke_width_vars, color_vars = [], [], []
    for path in shapes:
        path.points.requires_grad = True
        points_vars.append(path.points)
        path.stroke_width.requires_grad = True
        stroke_width_vars.append(path.stroke_width)
    for group in shape_groups:
        group.stroke_color.requires_grad = True
        color_vars.append(group.stroke_color)

    points_optim = torch.optim.Adam(points_vars, lr=0.5)
    width_optim = torch.optim.Adam(stroke_width_vars, lr=0.1)
    color_optim = torch.optim.Adam(color_vars, lr=0.02)
    target = target_image(canvas_width, device)

    losses = []
    for t in range(25):
        points_optim.zero_grad()
        width_optim.zero_grad()
        color_optim.zero_grad()
        scene_args = pydiffvg.RenderFunction.serialize_scene(canvas_width, canvas_height, shapes, shape_groups)
        img = render(canvas_width, canvas_height, 2, 2, t, None, *scene_args)
        img = white_composite(img)
        if t % 10 == 0:
            pydiffvg.imwrite(img.cpu(), str(tmp_path / f"iter_{t // 10}.png"), gamma=2.2)
        img = img[:, :, :3].unsqueeze(0).permute(0, 3, 1, 2)  # NHWC -> NCHW, as fed to CLIP
        loss = (img - target.permute(2, 0, 1).unsqueeze(0)).pow(2).mean()
        loss.backward()
        points_optim.step()
        width_optim.step()
        color_optim.step()
        for path in shapes:
            path.stroke_width.data.clamp_(1.0, max_width)
        for group in shape_groups:
            group.stroke_color.data.clamp_(0.0, 1.0)
        losses.append(float(loss.detach()))

    print(f"CLIPDraw-style loss {losses[0]:.5f} -> {losses[-1]:.5f}")
    assert all(math.isfinite(v) for v in losses)
    assert decreased(losses)
    for path in shapes:
        assert 1.0 <= path.stroke_width.item() <= max_width
        assert torch.isfinite(path.points).all()
    assert (tmp_path / "iter_0.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Save the result and read it back: the same picture.
    pydiffvg.save_svg(str(tmp_path / "final.svg"), canvas_width, canvas_height, shapes, shape_groups)
    w, h, shapes2, groups2 = pydiffvg.svg_to_scene(str(tmp_path / "final.svg"))
    assert (w, h) == (canvas_width, canvas_height) and len(shapes2) == num_paths
    with torch.no_grad():
        a = render(w, h, 4, 4, 0, None, *pydiffvg.RenderFunction.serialize_scene(
            canvas_width, canvas_height, shapes, shape_groups))
        b = render(w, h, 4, 4, 0, None, *pydiffvg.RenderFunction.serialize_scene(w, h, shapes2, groups2))
    err = (a.cpu() - b.cpu()).abs().mean()
    print(f"save_svg/svg_to_scene round trip: mean abs difference {float(err):.2e}")
    assert err < 1e-3


def test_live_style_closed_paths():
    """LIVE: closed cubic paths with fill colours and zero stroke width,
    ``shape_ids=torch.LongTensor([i])``, a learned background colour
    composited by hand."""
    torch.manual_seed(2)
    device = pydiffvg.get_device()
    w = h = 40
    shapes, shape_groups = [], []
    for i in range(3):
        n_seg = 4
        cx, cy, radius = 12 + 8 * i, 14 + 6 * i, 7.0
        pts = []
        for k in range(3 * n_seg):
            a = 2 * math.pi * k / (3 * n_seg)
            pts.append([cx + radius * math.cos(a), cy + radius * math.sin(a)])
        path = pydiffvg.Path(num_control_points=torch.LongTensor([2] * n_seg), points=torch.FloatTensor(pts),
                             stroke_width=torch.tensor(0.0), is_closed=True)
        shapes.append(path)
        group = pydiffvg.ShapeGroup(shape_ids=torch.LongTensor([i]),
                                    fill_color=torch.FloatTensor([0.5, 0.5, 0.5, 0.9]))
        shape_groups.append(group)
    for path in shapes:
        path.points = path.points.to(device).requires_grad_(True)
    for group in shape_groups:
        group.fill_color = group.fill_color.to(device).requires_grad_(True)
    para_bg = torch.tensor([1.0, 1.0, 1.0], requires_grad=False, device=device)

    optim = torch.optim.Adam([{"params": [p.points for p in shapes], "lr": 0.5},
                              {"params": [g.fill_color for g in shape_groups], "lr": 0.02}])
    target = target_image(w, device)
    losses = []
    for t in range(30):
        optim.zero_grad()
        scene_args = pydiffvg.RenderFunction.serialize_scene(w, h, shapes, shape_groups)
        img = render(w, h, 2, 2, t, None, *scene_args)
        img = img[:, :, 3:4] * img[:, :, :3] + para_bg * (1 - img[:, :, 3:4])
        loss = ((img - target) ** 2).mean()
        loss.backward()
        optim.step()
        for group in shape_groups:
            group.fill_color.data.clamp_(0.0, 1.0)
        losses.append(float(loss.detach()))
    print(f"LIVE-style loss {losses[0]:.5f} -> {losses[-1]:.5f}")
    assert all(math.isfinite(v) for v in losses)
    assert decreased(losses, 0.8)


def test_clipasso_style_strokes():
    """CLIPasso: black open cubic strokes, ``stroke_color`` only,
    ``fill_color=None``, ``use_even_odd_rule=False``; only points learn."""
    torch.manual_seed(3)
    device = pydiffvg.get_device()
    w = h = 40
    shapes, shape_groups = [], []
    for i in range(6):
        p0 = torch.rand(2) * 30 + 5
        points = torch.stack([p0 + torch.randn(2) * 3 * k for k in range(4)]).clamp(1, 39)
        path = pydiffvg.Path(num_control_points=torch.tensor([2]), points=points, stroke_width=torch.tensor(1.5),
                             is_closed=False)
        shapes.append(path)
        shape_groups.append(pydiffvg.ShapeGroup(shape_ids=torch.tensor([len(shapes) - 1]), fill_color=None,
                                                stroke_color=torch.tensor([0.0, 0.0, 0.0, 1.0]),
                                                use_even_odd_rule=False))
    point_vars = []
    for path in shapes:
        path.points.requires_grad = True
        point_vars.append(path.points)
    optim = torch.optim.Adam(point_vars, lr=0.4)
    target = target_image(w, device)
    losses = []
    for t in range(30):
        optim.zero_grad()
        scene_args = pydiffvg.RenderFunction.serialize_scene(w, h, shapes, shape_groups)
        img = render(w, h, 2, 2, 0, None, *scene_args)
        img = white_composite(img)
        loss = ((img - target) ** 2).mean()
        loss.backward()
        optim.step()
        losses.append(float(loss.detach()))
    print(f"CLIPasso-style loss {losses[0]:.5f} -> {losses[-1]:.5f}")
    assert decreased(losses)


GLYPH_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48" viewBox="0 0 48 48">
  <path fill="#000000" fill-rule="evenodd" d="M 10 40 C 10 20 14 8 24 8 C 34 8 38 20 38 40
    L 31 40 C 31 32 29 27 24 27 C 19 27 17 32 17 40 Z
    M 24 13 C 20 13 18 17 18 22 L 30 22 C 30 17 28 13 24 13 Z"/>
</svg>"""


def test_word_as_image_style(tmp_path):
    """Word-As-Image: glyph outlines (closed cubics with a hole) read from an
    SVG with svg_to_scene; points optimised in place; result saved."""
    device = pydiffvg.get_device()
    svg_path = tmp_path / "glyph.svg"
    svg_path.write_text(GLYPH_SVG)
    w, h, shapes, shape_groups = pydiffvg.svg_to_scene(str(svg_path))
    assert (w, h) == (48, 48) and len(shapes) >= 1

    def rasterize(step):
        scene_args = pydiffvg.RenderFunction.serialize_scene(w, h, shapes, shape_groups)
        img = render(w, h, 2, 2, step, None, *scene_args)
        return white_composite(img)

    with torch.no_grad():
        original = rasterize(0)
    # The target: the glyph moved 1.5 px right and 1 px down.
    init_points = []
    for path in shapes:
        init_points.append(path.points.clone())
        path.points = path.points.to(device)
    saved = [p.points.clone() for p in shapes]
    for path in shapes:
        path.points = path.points + torch.tensor([1.5, 1.0], device=device)
    with torch.no_grad():
        target = rasterize(0)
    for path, pts in zip(shapes, saved):
        path.points = pts
        path.points.requires_grad = True

    optim = torch.optim.Adam([p.points for p in shapes], lr=0.2)
    losses = []
    for step in range(40):
        optim.zero_grad()
        img = rasterize(step)
        loss = ((img - target) ** 2).mean()
        loss.backward()
        optim.step()
        losses.append(float(loss.detach()))
    shift = torch.cat([(p.points.detach() - q.to(device)) for p, q in zip(shapes, init_points)]).mean(0)
    print(f"Word-As-Image-style loss {losses[0]:.5f} -> {losses[-1]:.5f}, mean point shift {shift.tolist()}")
    assert float((original - target).abs().mean()) > 0.01
    assert decreased(losses, 0.5)
    assert abs(float(shift[0]) - 1.5) < 0.5 and abs(float(shift[1]) - 1.0) < 0.5
    pydiffvg.save_svg(str(tmp_path / "out.svg"), w, h, shapes, shape_groups)
    assert pydiffvg.svg_to_scene(str(tmp_path / "out.svg"))[2]
