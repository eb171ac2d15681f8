"""Input validation of pydiffvg.render: wrong input raises ValueError or
TypeError whose message names the argument (DESIGN.md, "Errors"), and
degenerate but valid input renders without error or NaN."""
from __future__ import annotations

import re

import pytest
import torch

import pydiffvg
from pydiffvg import (Circle, Ellipse, FilterType, LinearGradient, OutputType, Path, PixelFilter, Polygon,
                      RadialGradient, Rect, Scene, ShapeGroup)

NAN, INF = float("nan"), float("inf")


def t(x, dtype=torch.float32):
    return torch.tensor(x, dtype=dtype)


def circle(**kw):
    return Circle(radius=t(5.0), center=t([8.0, 8.0]), **kw)


def group(ids=(0,), fill=None, **kw):
    ids = ids if isinstance(ids, torch.Tensor) else torch.tensor(list(ids))
    return ShapeGroup(shape_ids=ids, fill_color=t([1.0, 0.0, 0.0, 1.0]) if fill is None else fill, **kw)


def render(shapes, groups, size=16, **kw):
    return pydiffvg.render(shapes, groups, width=kw.pop("width", size), height=kw.pop("height", size), **kw)


def gradient(**override):
    args = dict(begin=t([0.0, 0.0]), end=t([16.0, 16.0]), offsets=t([0.0, 1.0]),
                stop_colors=t([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0]]))
    args.update(override)
    return LinearGradient(**args)


def expect_error(kinds, names, call):
    """Runs `call`, expecting one of `kinds` with every regex of `names` in the message."""
    with pytest.raises(kinds) as info:
        call()
    message = str(info.value)
    for name in names:
        assert re.search(name, message, re.IGNORECASE), f"message {message!r} does not mention {name!r}"


# ---------------------------------------------------------------------------
# Wrong dtypes and shapes.

BAD_INPUTS = {
    "int fill colour": (TypeError, ["fill_color"],
                        lambda: render([circle()], [group(fill=torch.tensor([1, 0, 0, 1]))])),
    "int stroke colour": (TypeError, ["stroke_color"],
                          lambda: render([circle()], [group(stroke_color=torch.tensor([1, 0, 0, 1]))])),
    "float shape ids": (TypeError, ["shape_ids"], lambda: render([circle()], [group(ids=t([0.0]))])),
    "float num_control_points": (TypeError, ["num_control_points"], lambda: render(
        [Path(num_control_points=t([0.0]), points=t([[3.0, 3.0], [5.0, 5.0]]), is_closed=False)], [group()])),
    "int background": (TypeError, ["background"], lambda: render(
        [circle()], [group()], background=torch.zeros(16, 16, 4, dtype=torch.int32))),
    "shape of wrong type": (TypeError, [r"shapes\[0\]"], lambda: render(["circle"], [group()])),
    "group of wrong type": (TypeError, [r"shape_groups\[0\]"], lambda: render([circle()], ["group"])),
    "paint of wrong type": (TypeError, ["fill_color"], lambda: render([circle()], [group(fill="red")])),
    "centre with 3 entries": (ValueError, ["center"],
                              lambda: render([Circle(radius=t(5.0), center=t([8.0, 8.0, 1.0]))], [group()])),
    "ellipse radius with 3 entries": (ValueError, ["radius"], lambda: render(
        [Ellipse(radius=t([1.0, 2.0, 3.0]), center=t([8.0, 8.0]))], [group()])),
    "points (N, 3)": (ValueError, ["points"],
                      lambda: render([Polygon(points=torch.zeros(4, 3), is_closed=True)], [group()])),
    "path point count": (ValueError, ["points", "num_control_points"], lambda: render(
        [Path(num_control_points=torch.tensor([2]), points=torch.zeros(3, 2), is_closed=False)], [group()])),
    "num_control_points 3": (ValueError, ["num_control_points"], lambda: render(
        [Path(num_control_points=torch.tensor([3]), points=torch.zeros(5, 2), is_closed=False)], [group()])),
    "per-point widths count": (ValueError, ["stroke_width"], lambda: render(
        [Polygon(points=t([[0.0, 0.0], [5.0, 0.0], [5.0, 5.0]]), is_closed=True, stroke_width=t([1.0, 2.0]))],
        [group()])),
    "RGB fill": (ValueError, ["fill_color"], lambda: render([circle()], [group(fill=t([1.0, 0.0, 0.0]))])),
    "stop colours vs offsets": (ValueError, ["stop_colors"], lambda: render(
        [circle()], [group(fill=gradient(stop_colors=t([[1.0, 0.0, 0.0, 1.0]])))])),
    "descending offsets": (ValueError, ["offsets"],
                           lambda: render([circle()], [group(fill=gradient(offsets=t([1.0, 0.0])))])),
    "no stops": (ValueError, ["fill_color"], lambda: render(
        [circle()], [group(fill=gradient(offsets=torch.zeros(0), stop_colors=torch.zeros(0, 4)))])),
    "transform (2, 3)": (ValueError, ["shape_to_canvas"],
                         lambda: render([circle()], [group(shape_to_canvas=torch.eye(3)[:2])])),
    "projective transform": (ValueError, ["shape_to_canvas"], lambda: render(
        [circle()], [group(shape_to_canvas=t([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.1, 0.0, 1.0]]))])),
    "background (H, W-1, 4)": (ValueError, ["background"],
                               lambda: render([circle()], [group()], background=torch.zeros(16, 15, 4))),
    "background (H, W, 3)": (ValueError, ["background"],
                             lambda: render([circle()], [group()], background=torch.zeros(16, 16, 3))),
    "batch background count": (ValueError, ["background"], lambda: pydiffvg.render(
        [Scene(16, 16, [circle()], [group()])] * 2, background=torch.zeros(3, 16, 16, 4))),
    "batch canvas sizes": (ValueError, ["canvas size"], lambda: pydiffvg.render(
        [Scene(16, 16, [circle()], [group()]), Scene(8, 8, [circle()], [group()])])),
    "shapes without groups": (TypeError, ["shape_groups"], lambda: pydiffvg.render([circle()])),
    "num_samples 2.5": (TypeError, ["num_samples"], lambda: render([circle()], [group()], num_samples=2.5)),
    "num_samples (2, 2, 2)": (ValueError, ["num_samples"],
                              lambda: render([circle()], [group()], num_samples=(2, 2, 2))),
    "filter 'box'": (TypeError, ["filter"], lambda: render([circle()], [group()], filter="box")),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_raises_naming_argument(case):
    kinds, names, call = BAD_INPUTS[case]
    expect_error(kinds, names, call)


def test_num_control_points_changed_in_place_is_checked_again():
    # Packing remembers a path's structure by its num_control_points tensor
    # and that tensor's version: an in-place change is read again, checked
    # (a wrong count names the argument) and drawn like a fresh path.
    points = t([[2.0, 2.0], [14.0, 2.0], [14.0, 14.0], [2.0, 14.0]])
    ncp = torch.tensor([0, 0, 0, 0])
    path = Path(num_control_points=ncp, points=points, is_closed=True)
    square = render([path], [group()])
    assert float(square[8, 8, 3]) == 1.0
    ncp[1] = 2  # closed, three lines and a cubic need 6 points, not 4
    expect_error(ValueError, ["num_control_points", "points"], lambda: render([path], [group()]))
    ncp.resize_(3).copy_(torch.tensor([1, 0, 0]))  # a quadratic (control (14, 2)) and two lines: 4 points
    fresh = Path(num_control_points=torch.tensor([1, 0, 0]), points=points, is_closed=True)
    assert torch.equal(render([path], [group()]), render([fresh], [group()]))
    assert not torch.equal(render([path], [group()]), square)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.int16, torch.uint8])
def test_shape_ids_any_integer_dtype(dtype):
    img = render([circle(), circle()], [group(ids=torch.tensor([1], dtype=dtype))])
    ref = render([circle(), circle()], [group(ids=torch.tensor([1]))])
    assert torch.equal(img, ref)


def test_shape_ids_as_list():
    assert torch.equal(render([circle()], [group(ids=[0])]), render([circle()], [group()]))


@pytest.mark.parametrize("ids", [[1], [-1], [0, 5]])
@pytest.mark.parametrize("dtype", [torch.int32, torch.int64])
def test_shape_ids_out_of_range(ids, dtype):
    expect_error(ValueError, ["shape_ids", "range"],
                 lambda: render([circle()], [group(ids=torch.tensor(ids, dtype=dtype))]))


def test_shape_ids_out_of_range_in_batch_names_scene():
    scenes = [Scene(16, 16, [circle()], [group()]), Scene(16, 16, [circle()], [group(ids=[1])])]
    expect_error(ValueError, [r"scenes\[1\]", "shape_ids"], lambda: pydiffvg.render(scenes))


def test_float64_geometry_is_converted_and_int_or_complex_tensors_refused():
    ref = render([circle()], [group()])
    f64 = Circle(radius=t(5.0, torch.float64), center=t([8.0, 8.0], torch.float64))
    assert torch.equal(render([f64], [group()]), ref)
    assert render([f64], [group()]).dtype == torch.float32
    assert torch.equal(render([Circle(radius=5, center=[8, 8])], [group()]), ref), "Python numbers are fine"
    for bad in (torch.tensor(5), torch.tensor(5.0 + 0j), torch.tensor(True)):
        with pytest.raises(TypeError, match=rf"Circle: 'radius' must be a floating-point tensor .*got {bad.dtype}"):
            Circle(radius=bad, center=t([8.0, 8.0]))
    with pytest.raises(TypeError, match="Circle: 'center' must be a floating-point tensor"):
        Circle(radius=t(5.0), center=torch.tensor([8, 8]))


# ---------------------------------------------------------------------------
# NaN and inf.

NON_FINITE = {
    "polygon points": (["points"], lambda v: render(
        [Polygon(points=t([[0.0, 0.0], [v, 1.0], [3.0, 3.0]]), is_closed=True)], [group()])),
    "path points": (["points"], lambda v: render(
        [Path(num_control_points=torch.tensor([2]), points=t([[0.0, 0.0], [1.0, v], [2.0, 2.0], [3.0, 0.0]]),
              is_closed=False)], [group()])),
    "circle centre": (["center"], lambda v: render([Circle(radius=t(5.0), center=t([v, 8.0]))], [group()])),
    "circle radius": (["radius"], lambda v: render([Circle(radius=t(v), center=t([8.0, 8.0]))], [group()])),
    "rect corner": (["p_max"], lambda v: render([Rect(p_min=t([1.0, 1.0]), p_max=t([v, 5.0]))], [group()])),
    "stroke width": (["stroke_width"], lambda v: render(
        [circle(stroke_width=t(v))], [group(stroke_color=t([0.0, 1.0, 0.0, 1.0]))])),
    "fill colour": (["fill_color"], lambda v: render([circle()], [group(fill=t([v, 0.0, 0.0, 1.0]))])),
    "stroke colour": (["stroke_color"], lambda v: render([circle()], [group(stroke_color=t([0.0, 0.0, 0.0, v]))])),
    "gradient stop": (["fill_color"], lambda v: render([circle()], [group(fill=gradient(offsets=t([0.0, v])))])),
    "gradient centre": (["fill_color"], lambda v: render([circle()], [group(fill=RadialGradient(
        center=t([v, 2.0]), radius=t([1.0, 1.0]), offsets=t([0.0, 1.0]),
        stop_colors=t([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0]])))])),
    "transform translation": (["shape_to_canvas", "nan|inf|finite"], lambda v: render(
        [circle()], [group(shape_to_canvas=t([[1.0, 0.0, v], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))])),
    "transform linear part": (["shape_to_canvas"], lambda v: render(
        [circle()], [group(shape_to_canvas=t([[v, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))])),
    "background": (["background"], lambda v: render(
        [circle()], [group()], background=torch.zeros(16, 16, 4).index_fill_(0, torch.tensor([3]), v))),
    "filter radius": (["filter"], lambda v: render([circle()], [group()], filter=PixelFilter(FilterType.tent,
                                                                                              t(v)))),
}


@pytest.mark.parametrize("value", [NAN, INF, -INF], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("case", sorted(NON_FINITE))
def test_non_finite_raises_naming_argument(case, value):
    names, call = NON_FINITE[case]
    expect_error(ValueError, names, lambda: call(value))


# ---------------------------------------------------------------------------
# Sizes, sample counts, transforms.

@pytest.mark.parametrize("width,height", [(0, 16), (16, 0), (-3, 16), (16, -1)])
def test_zero_or_negative_size(width, height):
    expect_error(ValueError, ["width|height"], lambda: render([circle()], [group()], width=width, height=height))


@pytest.mark.parametrize("canvas", [(0, 16), (16, -2)])
def test_zero_canvas_size(canvas):
    expect_error(ValueError, ["canvas"], lambda: pydiffvg.render([circle()], [group()], width=16, height=16,
                                                                 canvas_width=canvas[0], canvas_height=canvas[1]))


@pytest.mark.parametrize("num_samples", [0, -1, (2, 0), (-2, 2)])
def test_non_positive_sample_counts(num_samples):
    expect_error(ValueError, ["num_samples"], lambda: render([circle()], [group()], num_samples=num_samples))


@pytest.mark.parametrize("radius", [0.0, -1.0])
def test_non_positive_filter_radius(radius):
    expect_error(ValueError, ["filter"], lambda: render([circle()], [group()],
                                                        filter=PixelFilter(FilterType.box, t(radius))))


@pytest.mark.parametrize("matrix", [
    [[1.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 1.0]],   # rank 1
    [[0.0, 0.0, 4.0], [0.0, 0.0, 2.0], [0.0, 0.0, 1.0]],   # zero linear part
])
def test_singular_transform(matrix):
    expect_error(ValueError, ["shape_to_canvas", "singular"],
                 lambda: render([circle()], [group(shape_to_canvas=t(matrix))]))


def test_compat_apply_validates_too():
    args = pydiffvg.RenderFunction.serialize_scene(16, 16, [circle()], [group(ids=[3])])
    expect_error(ValueError, ["shape_ids"], lambda: pydiffvg.RenderFunction.apply(16, 16, 2, 2, 0, None, *args))
    args = pydiffvg.RenderFunction.serialize_scene(16, 16, [circle()], [group()])
    expect_error(ValueError, ["num_samples|sample count"], lambda: pydiffvg.RenderFunction.apply(16, 16, 0, 2, 0, None, *args))


# ---------------------------------------------------------------------------
# Empty scenes and degenerate shapes render.

def assert_finite(img):
    assert bool(torch.isfinite(img).all()), f"{int((~torch.isfinite(img)).sum())} non-finite values"


@pytest.mark.parametrize("prefilter", [False, True])
def test_empty_scene_is_transparent(prefilter):
    img = render([], [], num_samples=2, use_prefiltering=prefilter)
    assert img.shape == (16, 16, 4) and bool((img == 0).all())


@pytest.mark.parametrize("premultiplied", [False, True])
def test_empty_scene_returns_background(premultiplied):
    bg = torch.rand(16, 16, 4, generator=torch.Generator().manual_seed(0))
    img = render([], [], background=bg, premultiplied=premultiplied)
    want = torch.cat([bg[..., :3] * bg[..., 3:], bg[..., 3:]], -1) if premultiplied else bg
    assert float((img - want).abs().max()) <= 1e-6


def test_shapes_without_groups_render_nothing():
    assert bool((render([circle(), circle()], []) == 0).all())


def test_group_with_no_shapes_and_no_paint():
    img = render([circle()], [group(ids=torch.zeros(0, dtype=torch.int64)),
                              ShapeGroup(shape_ids=torch.tensor([0]), fill_color=None)])
    assert bool((img == 0).all())


def test_empty_batch_entry():
    img = pydiffvg.render([Scene(16, 16, [], []), Scene(16, 16, [circle()], [group()])])
    assert img.shape == (2, 16, 16, 4)
    assert bool((img[0] == 0).all()) and float(img[1, ..., 3].sum()) > 50


def test_empty_scene_sdf_is_finite():
    img = render([], [], output_type=OutputType.sdf, use_prefiltering=True, num_samples=1)
    assert img.shape == (16, 16, 1)
    assert_finite(img)
    assert bool((img > 0).all()), "no shape: every pixel is outside"


STROKE = t([0.0, 1.0, 0.0, 1.0])

DEGENERATE = {
    "zero-radius circle": lambda: Circle(radius=t(0.0), center=t([8.0, 8.0]), stroke_width=t(1.0)),
    "zero-radius ellipse": lambda: Ellipse(radius=t([0.0, 3.0]), center=t([8.0, 8.0]), stroke_width=t(1.0)),
    "zero-area rect": lambda: Rect(p_min=t([4.0, 4.0]), p_max=t([4.0, 12.0]), stroke_width=t(1.0)),
    "coincident path points": lambda: Path(num_control_points=torch.tensor([2, 0, 1]),
                                           points=t([[3.0, 3.0]] * 6), is_closed=True, stroke_width=t(1.0)),
    "coincident cubic controls": lambda: Path(num_control_points=torch.tensor([2]),
                                              points=t([[2.0, 2.0], [2.0, 2.0], [12.0, 12.0], [12.0, 12.0]]),
                                              is_closed=False, stroke_width=t(1.0)),
    "one-point path": lambda: Path(num_control_points=torch.zeros(0, dtype=torch.int32), points=t([[3.0, 3.0]]),
                                   is_closed=False, stroke_width=t(1.0)),
    "empty path": lambda: Path(num_control_points=torch.zeros(0, dtype=torch.int32), points=torch.zeros(0, 2),
                               is_closed=True, stroke_width=t(1.0)),
    "empty polygon": lambda: Polygon(points=torch.zeros(0, 2), is_closed=True),
    "one-point polygon": lambda: Polygon(points=t([[3.0, 3.0]]), is_closed=True),
    "two-point closed polygon": lambda: Polygon(points=t([[3.0, 3.0], [12.0, 9.0]]), is_closed=True),
    "collinear polygon": lambda: Polygon(points=t([[1.0, 1.0], [5.0, 5.0], [9.0, 9.0]]), is_closed=True),
    "zero stroke width": lambda: Polygon(points=t([[1.0, 1.0], [14.0, 3.0], [9.0, 12.0]]), is_closed=False,
                                         stroke_width=t(0.0)),
    "zero per-point widths": lambda: Path(num_control_points=torch.tensor([0, 0]),
                                          points=t([[1.0, 1.0], [14.0, 3.0], [9.0, 12.0]]), is_closed=False,
                                          stroke_width=t([0.0, 2.0, 0.0])),
    "shape far off canvas": lambda: Circle(radius=t(3.0), center=t([-500.0, 900.0]), stroke_width=t(1.0)),
}


@pytest.mark.parametrize("prefilter", [False, True])
@pytest.mark.parametrize("case", sorted(DEGENERATE))
def test_degenerate_shape_renders(case, prefilter):
    shape = DEGENERATE[case]()
    kw = dict(num_samples=1 if prefilter else 2, use_prefiltering=prefilter)
    img = render([shape], [group(stroke_color=STROKE)], **kw)
    assert_finite(img)
    assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0 + 1e-6
    sdf = render([shape], [group(stroke_color=STROKE)], output_type=OutputType.sdf, **kw)
    assert not bool(torch.isnan(sdf).any())


def test_coincident_path_with_stroke_draws_a_dot():
    # A closed path whose points all coincide, stroked with half width 1:
    # the stroke is a disc of radius 1 (area pi), like a round-capped dot.
    shape = DEGENERATE["coincident path points"]()
    img = render([shape], [ShapeGroup(shape_ids=torch.tensor([0]), fill_color=None, stroke_color=STROKE)],
                 num_samples=8)
    total = float(img[..., 3].sum())
    assert abs(total - torch.pi) <= 0.15, f"alpha sum {total:.4f}, disc area {torch.pi:.4f}"


@pytest.mark.parametrize("paint", ["linear begin == end", "radial zero radius"])
def test_degenerate_gradient_is_finite(paint):
    stops = dict(offsets=t([0.0, 1.0]), stop_colors=t([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0]]))
    fill = (LinearGradient(begin=t([8.0, 8.0]), end=t([8.0, 8.0]), **stops) if paint.startswith("linear")
            else RadialGradient(center=t([8.0, 8.0]), radius=t([0.0, 0.0]), **stops))
    img = render([circle()], [group(fill=fill)], num_samples=2)
    assert_finite(img)
    assert float(img[..., 3].sum()) > 50


def test_many_shapes_overlapping_one_pixel():
    # No fixed cap on the shapes that overlap a pixel: 2000 circles over the
    # centre, each in its own group of alpha 0.01. "Over" of n layers of
    # alpha a has alpha 1 - (1 - a)^n.
    n, a = 2000, 0.01
    shapes = [Circle(radius=t(3.0), center=t([8.0, 8.0])) for _ in range(n)]
    groups = [group(ids=[i], fill=t([0.2, 0.4, 0.6, a])) for i in range(n)]
    img = render(shapes, groups, num_samples=2)
    assert_finite(img)
    want = 1.0 - (1.0 - a) ** n
    got = float(img[8, 8, 3])
    assert abs(got - want) <= 1e-4, f"alpha at the centre {got}, closed form {want}"
    # And in one nonzero group: winding number 2000, still filled.
    one = render(shapes, [group(ids=list(range(n)), use_even_odd_rule=False)], num_samples=2)
    assert float(one[8, 8, 3]) == 1.0
    even = render(shapes, [group(ids=list(range(n)), use_even_odd_rule=True)], num_samples=2)
    assert float(even[8, 8, 3]) == 0.0, "even-odd with an even winding number 2000 leaves the pixel empty"


@pytest.mark.parametrize("prefilter", [False, True])
def test_huge_coordinates(prefilter):
    shapes = [Polygon(points=t([[-1e8, -1e8], [1e8, -1e8], [0.0, 1e8]]), is_closed=True),
              Circle(radius=t(1e8), center=t([1e8, 1e8])),
              Path(num_control_points=torch.tensor([2]), points=t([[-1e8, 8.0], [0.0, -1e8], [0.0, 1e8],
                                                                   [1e8, 8.0]]), is_closed=False,
                   stroke_width=t(2.0)),
              Rect(p_min=t([-1e8, -1e8]), p_max=t([1e8, 1e8]))]
    groups = [group(ids=[i], fill=t([0.25 * i, 0.5, 0.5, 0.5]), stroke_color=STROKE if i == 2 else None)
              for i in range(4)]
    kw = dict(num_samples=1 if prefilter else 2, use_prefiltering=prefilter)
    img = render(shapes, groups, **kw)
    assert_finite(img)
    # The rect covers the whole canvas: every pixel is at least half opaque.
    assert float(img[..., 3].min()) >= 0.5 - 1e-6
    sdf = render(shapes[3:], [group()], output_type=OutputType.sdf, **kw)
    assert_finite(sdf)


_FORK_SCRIPT = r"""
import os, sys, torch, pydiffvg
torch.set_num_threads(2)
shapes = [pydiffvg.Circle(torch.tensor(80.0), torch.tensor([128.0, 120.0]))]
groups = [pydiffvg.ShapeGroup(torch.tensor([0]), fill_color=torch.tensor([0.2, 0.5, 0.9, 1.0]))]

def render():
    # numpy sums: torch's own CPU ops may hang in a fork child (libgomp), which is not ours to test
    image = pydiffvg.render(shapes, groups, width=256, height=256, num_samples=2)  # big enough for 2 threads
    return float(image.numpy()[..., 3].sum())

parent = render()
pid = os.fork()
if pid == 0:
    os._exit(0 if abs(render() - parent) < 1e-3 else 3)
_, status = os.waitpid(pid, 0)
print("child exit", os.waitstatus_to_exitcode(status), "parent again", abs(render() - parent) < 1e-3)
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_render_in_a_fork_child_after_rendering_in_the_parent():
    # The parent's worker threads do not exist in a fork child: the render
    # there must start its own instead of waiting on them forever.
    import subprocess
    import sys
    try:
        result = subprocess.run([sys.executable, "-c", _FORK_SCRIPT], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("rendering in a fork child hung")
    assert result.returncode == 0, result.stderr
    assert "child exit 0 parent again True" in result.stdout, result.stdout + result.stderr
