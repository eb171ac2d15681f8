"""`pydiffvg vectorize` and pydiffvg.apps.vectorize (issue #22): the
schedule, the Xing loss (closed form and finite differences), the UDF
weights, the loss over stages, the SVG round trip through our loader and
resvg-py, --simplify, and bad input on the command line.

Sizes are tiny (a 40 px synthetic picture, a few paths, a few steps): the
suite runs on 2 shared CPU cores. The comparison with vtracer is
benchmarks/bench_vectorize.py.
"""
import io
import math

import numpy as np
import pytest
import torch

import pydiffvg
from pydiffvg.apps.vectorize import (circle_points, error_regions, path_schedule, removal_costs, simplify,
                                     udf_weights, vectorize, xing_loss)
from pydiffvg.optim import psnr
from test_cli import run_cli, write_bad_target

iio = pytest.importorskip("imageio.v3")


@pytest.fixture(autouse=True)
def one_thread():
    """The renders here are 40 px: a pool of one thread is faster than two
    on a shared machine (measured: 2.4-4.1 s against 10.7-14.8 s for the
    loss-over-stages case under load), and the images are the same."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _picture(size=40):
    """A flat background with a disc, a rectangle and a triangle of other
    colours: (size, size, 3) float in [0, 1]."""
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    image = torch.tensor([0.85, 0.8, 0.7]).expand(size, size, 3).clone()
    disc = (xs - 0.35 * size) ** 2 + (ys - 0.4 * size) ** 2 < (0.22 * size) ** 2
    image[disc] = torch.tensor([0.8, 0.2, 0.15])
    rect = (xs > 0.55 * size) & (xs < 0.9 * size) & (ys > 0.15 * size) & (ys < 0.45 * size)
    image[rect] = torch.tensor([0.15, 0.35, 0.75])
    triangle = (ys > 0.6 * size) & (ys < 0.92 * size) & ((xs - 0.6 * size).abs() < (ys - 0.6 * size) * 0.9)
    image[triangle] = torch.tensor([0.1, 0.55, 0.25])
    return image


def _segments_cross(p, q, r, s):
    def orient(a, b, c):
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return orient(p, q, r) * orient(p, q, s) < 0 and orient(r, s, p) * orient(r, s, q) < 0


def _closed_path_self_intersects(points, samples_per_segment=64):
    """Does the closed cubic path (3S, 2) cross itself? Checked on a fine
    polyline of the curve (non-adjacent pieces that cross)."""
    pts = points.double()
    count = pts.shape[0] // 3
    t = torch.linspace(0, 1, samples_per_segment + 1, dtype=torch.float64)[:-1, None]
    polyline = []
    for k in range(count):
        a, b, c, d = pts[3 * k], pts[3 * k + 1], pts[3 * k + 2], pts[(3 * k + 3) % pts.shape[0]]
        polyline.append((1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t ** 2 * c + t ** 3 * d)
    line = torch.cat(polyline).tolist()
    n = len(line)
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # the closing piece touches the first one
            if _segments_cross(line[i], line[(i + 1) % n], line[j], line[(j + 1) % n]):
                return True
    return False


# A closed path of two cubic segments. The first, (0,0) (6,4) (-2,4) (4,0),
# has a control polygon whose first and last legs cross: its curve loops.
# The second returns to the start with a convex turn, clear of the kinks.
LOOPED = torch.tensor([[0.0, 0.0], [6.0, 4.0], [-2.0, 4.0], [4.0, 0.0], [4.0, -1.0], [0.5, -1.0]])


def test_path_schedule_doubles_and_adds_up():
    assert path_schedule(15) == [1, 2, 4, 8]
    assert path_schedule(1) == [1]
    for count in (1, 2, 3, 7, 64, 100, 779):
        for stages in (None, 1, 3, 12):
            schedule = path_schedule(count, stages)
            assert sum(schedule) == count and min(schedule) >= 1, (count, stages, schedule)
            assert all(b >= a for a, b in zip(schedule, schedule[1:])), schedule
    assert len(path_schedule(779)) == 10
    with pytest.raises(ValueError, match="num_paths"):
        path_schedule(0)


def test_xing_loss_zero_for_convex_and_positive_for_self_intersecting():
    circle = circle_points(10.0, 12.0, 5.0, 4)
    assert float(xing_loss([circle])) == 0.0
    assert float(xing_loss([circle.flip(0)])) == 0.0  # the other orientation
    convex_polygon = torch.tensor([[0.0, 0.0], [4.0, -1.0], [8.0, 0.0], [9.0, 4.0], [8.0, 8.0], [4.0, 9.0],
                                   [0.0, 8.0], [-1.0, 4.0], [0.0, 1.0]])
    assert float(xing_loss(convex_polygon[None])) == 0.0
    assert _closed_path_self_intersects(LOOPED) and not _closed_path_self_intersects(circle)
    # Segment 1: AB x BC = 32 > 0 (a left turn at B) but sin(AB, CD) = (6*-4 - 4*6) / (|AB| |CD|) = -48/52;
    # segment 2 adds 0; the mean over the two segments.
    expected = 0.5 * 48.0 / 52.0
    value = float(xing_loss([LOOPED]))
    assert value > 0 and abs(value - expected) < 1e-6, (value, expected)
    assert float(xing_loss([LOOPED, circle])) == pytest.approx(expected / 2, abs=1e-6)


def test_xing_loss_gradient_matches_central_differences():
    points = LOOPED.double().clone().requires_grad_(True)
    xing_loss([points]).backward()
    analytic = points.grad.clone()
    step = 1e-6
    numeric = torch.zeros_like(analytic)
    with torch.no_grad():
        for index in range(points.numel()):
            plus, minus = points.detach().clone(), points.detach().clone()
            plus.view(-1)[index] += step
            minus.view(-1)[index] -= step
            numeric.view(-1)[index] = (xing_loss([plus]) - xing_loss([minus])) / (2 * step)
    error = float((analytic - numeric).norm() / numeric.norm())
    assert float(numeric.norm()) > 0.01
    assert error < 1e-6, f"relative error {error:.2e}\nanalytic {analytic.tolist()}\nnumeric {numeric.tolist()}"


def test_udf_weights_fall_from_the_outline():
    size, radius, tau = 48, 12.0, 6.0
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    distance = ((xs - 24) ** 2 + (ys - 24) ** 2).sqrt()
    weights = udf_weights((distance < radius).float(), tau)
    near = (distance - radius).abs() < 0.5
    far = (distance - radius).abs() > tau * math.sqrt(2) + 1.5  # chessboard distance >= euclidean / sqrt(2)
    assert float(weights[near].min()) >= 1.0 - 1.0 / tau and float(weights.max()) == 1.0
    assert float(weights[far].abs().max()) == 0.0
    middle = ((distance - radius).abs() - 3.0).abs() < 0.5
    assert 0.2 < float(weights[middle].mean()) < 0.8


def test_error_regions_find_the_largest_error_first():
    target = _picture(40)
    background = target[0, 0].expand_as(target)
    regions = error_regions(target, background, 3)
    assert len(regions) == 3
    x, y, radius = regions[0]
    # The disc (radius 8.8 px around (14, 16)) has the largest summed error.
    assert math.hypot(x - 14, y - 16) < 2.0 and 5.0 <= radius <= 9.0, regions[0]


def test_loss_falls_over_stages():
    target = _picture(40)
    result = vectorize(target, 7, iters=12, refine_iters=6, seed=1)
    losses = result.stage_losses
    flat = float(((target - target.reshape(-1, 3).mean(0)) ** 2).mean())
    print("flat", flat, "stages", losses)
    assert len(losses) == 4 and len(result.shapes) == 7  # stages of 1, 2 and 4 paths, then the joint fit
    assert losses[0] < flat
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    assert losses[-1] < 0.25 * flat, (losses[-1], flat)  # seen: 0.0101 against 0.0627


def _resvg_rgb(svg_text, width, height):
    resvg_py = pytest.importorskip("resvg_py")
    from PIL import Image
    png = resvg_py.svg_to_bytes(svg_string=svg_text, width=width, height=height)
    rgba = np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGBA")).astype(np.float64) / 255.0
    return torch.from_numpy(rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])).float()


def test_svg_loads_back_to_the_same_image(tmp_path):
    target = _picture(40)
    result = vectorize(target, 7, iters=10, refine_iters=4, seed=2)
    out = tmp_path / "v.svg"
    pydiffvg.save_svg(str(out), 40, 40, result.shapes, result.groups, background=result.background.tolist() + [1.0])
    width, height, shapes, groups = pydiffvg.svg_to_scene(str(out))
    assert (width, height) == (40, 40) and len(shapes) == len(result.shapes) + 1  # the background rect
    ours = pydiffvg.render(shapes, groups, width=40, height=40, num_samples=4, seed=0)[..., :3]
    resvg = _resvg_rgb(out.read_text(), 40, 40)
    ours_db, resvg_db = psnr(ours, result.image), psnr(resvg, result.image)
    print(f"reloaded: ours {ours_db:.1f} dB, resvg {resvg_db:.1f} dB")
    assert ours_db >= 35.0 and resvg_db >= 35.0, (ours_db, resvg_db)


def test_removal_costs_match_full_renders():
    target = _picture(32)
    result = vectorize(target, 3, iters=8, refine_iters=0, seed=3)
    costs = removal_costs(result.shapes, result.groups, target, result.background, samples=4)

    def sse(shapes, groups):
        rgba = pydiffvg.render(shapes, groups, width=32, height=32, num_samples=4, seed=0, premultiplied=True)
        image = rgba[..., :3] + (1 - rgba[..., 3:]) * result.background
        return float(((image - target) ** 2).double().sum())
    full = sse(result.shapes, result.groups)
    for index in range(3):
        keep = [i for i in range(3) if i != index]
        groups = [pydiffvg.ShapeGroup(shape_ids=torch.tensor([k]), fill_color=result.groups[i].fill_color)
                  for k, i in enumerate(keep)]
        expected = sse([result.shapes[i] for i in keep], groups) - full
        print(index, float(costs[index]), expected)
        assert abs(float(costs[index]) - expected) <= 0.03 * abs(expected) + 0.05, (float(costs[index]), expected)


def test_simplify_drops_a_hidden_path():
    target = _picture(32)
    result = vectorize(target, 3, iters=8, refine_iters=0, seed=4)
    # A small path under everything else, of the background's colour: it changes nothing.
    hidden = pydiffvg.Path(num_control_points=torch.full((4,), 2, dtype=torch.int32),
                           points=circle_points(3.0, 3.0, 1.5, 4), is_closed=True, stroke_width=torch.tensor(0.0))
    color = torch.cat([result.background, torch.ones(1)])
    result.shapes.insert(0, hidden)
    result.groups = [pydiffvg.ShapeGroup(shape_ids=torch.tensor([i]), fill_color=c)
                     for i, c in enumerate([color] + [g.fill_color for g in result.groups])]
    simplified = simplify(result, target, threshold_db=0.01, refit_iters=2)
    assert simplified.paths_before == 4 and len(simplified.shapes) == 3, len(simplified.shapes)
    assert all(s is not hidden for s in simplified.shapes)


# ----------------------------------------------------------------------------- the command line

def _write_picture(path, size=24):
    iio.imwrite(path, (_picture(size).numpy() * 255 + 0.5).astype(np.uint8))
    return path


def test_cli_vectorize_writes_the_svg_and_reports_simplify(tmp_path):
    photo = _write_picture(tmp_path / "pic.png")
    out = tmp_path / "pic.svg"
    video = tmp_path / "pic.gif"
    proc = run_cli("vectorize", photo, "-o", out, "--size", 24, "--paths", 3, "--iters", 3, "--refine-iters", 2,
                   "--simplify", "--video", video, "--quiet", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}: " in proc.stdout and "--simplify 0.01 dB: 3 -> " in proc.stdout, proc.stdout
    assert out.exists() and video.exists()
    width, height, shapes, _ = pydiffvg.svg_to_scene(str(out))
    assert (width, height) == (24, 24) and 1 <= len(shapes) <= 4


def test_cli_vectorize_batch_folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        _write_picture(folder / name, 12)
    proc = run_cli("vectorize", folder, "-o", tmp_path / "out", "--size", 12, "--paths", 2, "--iters", 2,
                   "--refine-iters", 0, "--quiet", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.svg", "b.svg"]
    assert proc.stdout.count("pydiffvg vectorize: wrote") == 2


@pytest.mark.parametrize("case, message", [
    ("paths-0", "--paths: expected a positive integer, got '0'"),
    ("not-an-image", "not a readable image"),
    ("1x1", "image is 1x1 pixels; targets need at least 4x4"),
    ("30000x30000", "image is 30000x30000 pixels, more than the limit"),
])
def test_cli_vectorize_bad_input_fails_cleanly(tmp_path, case, message):
    """One line on stderr, a non-zero status, and no output file."""
    target = _write_picture(tmp_path / "target.png", 8)
    out = tmp_path / "out.svg"
    extra = ["--paths", "0"] if case == "paths-0" else ["--paths", "2"]
    if case != "paths-0":
        write_bad_target(target, case)
    proc = run_cli("vectorize", target, "-o", out, *extra, "--iters", 1, "--refine-iters", 0, "--quiet",
                   "--device", "cpu")
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target.png"], list(tmp_path.iterdir())
