"""SVG import/export tests (pure Python; no renderer needed)."""
import glob
import math
import os
import warnings

import numpy as np
import pytest
import torch

import pydiffvg
from pydiffvg.scene_types import Scene
from pydiffvg.shapes import (Circle, Ellipse, LinearGradient, LineCap, LineJoin, Path, Polygon,
                             RadialGradient, Rect, ShapeGroup)
from pydiffvg.svg import SVGError, load_svg, save_svg, svg_to_scene
from pydiffvg.svg.colors import NAMED_COLORS, parse_color
from pydiffvg.svg.paths import (arc_to_cubics, dash_subpaths, parse_path_data,
                                straighten_flat_curves, subpath_length, Subpath)
from pydiffvg.svg.writer import svg_text

HERE = os.path.dirname(__file__)
DATA = os.path.join(HERE, "data", "resvg")
# ../shared beside the project root (the developers' and CI's layout).
FIXTURES = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "fixtures", "resvg"))


def svg(body, attrs='width="100" height="100"'):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink" {attrs}>{body}</svg>')


def load(body, strict=False, **kw):
    return svg_to_scene(svg(body, **kw), strict=strict)


def one_path(d):
    subpaths, error = parse_path_data(d)
    assert error is None, error
    return [s.to_arrays() for s in subpaths]


def apply(matrix, point):
    m = np.asarray(matrix, dtype=np.float64)
    return (m @ np.array([point[0], point[1], 1.0]))[:2]


# ----------------------------------------------------------------------------
# Path grammar
# ----------------------------------------------------------------------------

def test_module_is_this_worktree():
    assert os.path.dirname(os.path.dirname(pydiffvg.__file__)) == os.path.dirname(HERE)


def test_path_absolute_relative_and_implicit_repeats():
    (ncp, pts, closed), = one_path("M10 20 L30 40 l10 10 20 0 Z")
    assert ncp == [0, 0, 0, 0] and closed
    assert pts == [(10, 20), (30, 40), (40, 50), (60, 50)]
    # implicit lineto after moveto (absolute and relative)
    (ncp, pts, _), = one_path("M0 0 10 0 10 10")
    assert pts == [(0, 0), (10, 0), (10, 10)]
    (ncp, pts, _), = one_path("m5 5 10 0 0 10")
    assert pts == [(5, 5), (15, 5), (15, 15)]


def test_path_h_v_and_number_syntax():
    (ncp, pts, _), = one_path("M1,1H5V7h-2v-1")
    assert pts == [(1, 1), (5, 1), (5, 7), (3, 7), (3, 6)]
    (ncp, pts, _), = one_path("M.5.5L-1-2 1.5e-3,2E1")
    assert pts == [(0.5, 0.5), (-1, -2), (0.0015, 20.0)]


def test_path_s_and_t_reflection():
    (ncp, pts, _), = one_path("M0 0 C10 0 20 10 20 20 S30 40 40 40")
    assert ncp == [2, 2]
    assert pts[4] == (20, 30)  # reflection of (20,10) about (20,20)
    (ncp, pts, _), = one_path("M0 0 Q10 0 10 10 T10 30")
    assert ncp == [1, 1] and pts[3] == (10, 20)
    # S without a previous C: first control point is the current point
    (ncp, pts, _), = one_path("M1 2 S5 5 9 9")
    assert pts[1] == (1, 2)
    # relative t chain
    (ncp, pts, _), = one_path("M0 0 q5 -5 10 0 t10 0")
    assert pts == [(0, 0), (5, -5), (10, 0), (15, 5), (20, 0)]


def test_path_multiple_subpaths_and_z_then_draw():
    arrays = one_path("M0 0 L10 0 L10 10 Z L20 20 M50 50 l1 1")
    assert len(arrays) == 3
    assert arrays[0][2] and arrays[0][1] == [(0, 0), (10, 0), (10, 10)]
    # drawing after Z starts at the previous subpath start
    assert arrays[1][1] == [(0, 0), (20, 20)]
    assert arrays[2][1] == [(50, 50), (51, 51)]


def test_closed_path_ending_on_start_does_not_repeat_point():
    (ncp, pts, closed), = one_path("M0 0 L10 0 L10 10 L0 0 Z")
    assert closed and ncp == [0, 0, 0] and len(pts) == 3


def test_arc_flags_without_separators():
    a = one_path("M10 10 a5 5 0 1 1 10 0")
    b = one_path("M10 10a5 5 0 1110 0")
    assert a == b and a[0][0] == [2, 2]


@pytest.mark.parametrize("bad", ["L10 10", "M10 10 L", "M10 10 X5", "M0 0 A5 5 0 2 0 1 1",
                                 "M0 0 L1e999 0", "M 0 0 L nan 5", "M0 0 Z 5"])
def test_bad_path_data_reports_offset(bad):
    subpaths, error = parse_path_data(bad)
    assert isinstance(error, SVGError) and "offset" in str(error)
    with pytest.raises(SVGError, match="offset"):
        load(f'<path id="p" d="{bad}"/>', strict=True)
    with pytest.warns(UserWarning, match="offset"):  # the default draws what is valid
        load(f'<path id="p" d="{bad}"/>')


def test_bad_path_data_lenient_keeps_prefix():
    with pytest.warns(UserWarning, match="path data"):
        _, _, shapes, groups = svg_to_scene(svg('<path d="M0 0 L10 0 L10 10 L5#5"/>'), strict=False)
    assert shapes[0].points.shape == (3, 2)


# ----------------------------------------------------------------------------
# Arcs
# ----------------------------------------------------------------------------

def _ellipse_point(c, rx, ry, phi, theta):
    x, y = rx * math.cos(theta), ry * math.sin(theta)
    return (c[0] + math.cos(phi) * x - math.sin(phi) * y, c[1] + math.sin(phi) * x + math.cos(phi) * y)


def _sample_cubics(p0, cubics, n=50):
    out, start = [], np.array(p0)
    t = np.linspace(0, 1, n)[:, None]
    for c1, c2, end in cubics:
        c1, c2, end = map(np.array, (c1, c2, end))
        out.append((1 - t) ** 3 * start + 3 * (1 - t) ** 2 * t * c1 + 3 * (1 - t) * t ** 2 * c2
                   + t ** 3 * end)
        start = end
    return np.concatenate(out)


@pytest.mark.parametrize("rx,ry,phi_deg,theta1,delta", [
    (30, 10, 0, 0.3, 2.0), (30, 10, 30, 0.3, -2.0), (25, 40, 75, 1.0, 4.5),
    (25, 40, -120, 2.0, -5.5), (10, 10, 0, 0.0, math.pi * 1.5), (50, 5, 200, -1.0, 0.2)])
def test_arc_to_cubics_accuracy(rx, ry, phi_deg, theta1, delta):
    center, phi = (40.0, -20.0), math.radians(phi_deg)
    p0 = _ellipse_point(center, rx, ry, phi, theta1)
    p1 = _ellipse_point(center, rx, ry, phi, theta1 + delta)
    cubics = arc_to_cubics(p0, rx, ry, phi_deg, abs(delta) > math.pi, delta > 0, p1)
    assert len(cubics) == math.ceil(abs(delta) / (math.pi / 2) - 1e-9)
    samples = _sample_cubics(p0, cubics)
    # into the ellipse frame: q = R(-phi)(p - c); radial error of each sample
    d = samples - np.array(center)
    qx = math.cos(phi) * d[:, 0] + math.sin(phi) * d[:, 1]
    qy = -math.sin(phi) * d[:, 0] + math.cos(phi) * d[:, 1]
    angle = np.arctan2(qy / ry, qx / rx)
    on_ellipse = np.stack([rx * np.cos(angle), ry * np.sin(angle)], 1)
    dist = np.hypot(qx - on_ellipse[:, 0], qy - on_ellipse[:, 1])
    assert dist.max() < 1e-3 * max(rx, ry), dist.max()
    # the right arc: the parametric angle sweeps theta1 -> theta1 + delta monotonically
    unwrapped = np.unwrap(angle)
    unwrapped += (theta1 - unwrapped[0])
    assert abs(unwrapped[-1] - (theta1 + delta)) < 1e-6
    steps = np.diff(unwrapped)
    assert np.all(steps * np.sign(delta) >= -1e-9)


def test_arc_radii_scaled_up_and_degenerate():
    cubics = arc_to_cubics((0.0, 0.0), 1.0, 1.0, 0.0, False, True, (10.0, 0.0))
    samples = _sample_cubics((0.0, 0.0), cubics)
    assert np.allclose(np.hypot(samples[:, 0] - 5, samples[:, 1]), 5, atol=5e-3)
    assert samples[:, 1].min() < -4.9  # sweep=1 from (0,0) to (10,0) goes through y<0
    assert arc_to_cubics((1.0, 1.0), 5, 5, 0, False, False, (1.0, 1.0)) == []
    assert arc_to_cubics((1.0, 1.0), 0, 5, 0, False, False, (4.0, 1.0)) == [((4.0, 1.0),)]


# ----------------------------------------------------------------------------
# Structure, transforms, viewports
# ----------------------------------------------------------------------------

def test_transform_rotate_about_point_and_skew():
    _, _, shapes, groups = load('<g transform="translate(10 5)"><rect transform="rotate(90 10 10) '
                                'skewX(45)" width="4" height="2"/></g>')
    m = groups[0].shape_to_canvas.double().numpy()
    # rotate(90, 10, 10) maps (x, y) -> (20 - y, x); skewX(45): (x, y) -> (x + y, y)
    for x, y in [(0, 0), (4, 0), (4, 2), (1, 3)]:
        sx, sy = x + y, y
        expected = (20 - sy + 10, sx + 5)
        assert np.allclose(apply(m, (x, y)), expected, atol=1e-5)
    _, _, _, groups = load('<rect transform="matrix(1 2 3 4 5 6) skewY(30) scale(2 3)" '
                           'width="1" height="1"/>')
    m = groups[0].shape_to_canvas.double().numpy()
    inner = np.array([[2 * 1, 0, 0], [2 * math.tan(math.radians(30)), 3, 0], [0, 0, 1]])
    assert np.allclose(m, np.array([[1, 3, 5], [2, 4, 6], [0, 0, 1]]) @ inner, atol=1e-5)


@pytest.mark.parametrize("par,expected", [
    ("xMidYMid meet", [[1, 0, 50], [0, 1, 0]]),
    ("xMinYMin meet", [[1, 0, 0], [0, 1, 0]]),
    ("xMaxYMax", [[1, 0, 100], [0, 1, 0]]),
    ("xMidYMid slice", [[2, 0, 0], [0, 2, -50]]),
    ("xMinYMax slice", [[2, 0, 0], [0, 2, -100]]),
    ("none", [[2, 0, 0], [0, 1, 0]]),
])
def test_viewbox_preserve_aspect_ratio(par, expected):
    w, h, _, groups = svg_to_scene(svg('<rect width="10" height="10"/>',
                                       attrs=f'width="200" height="100" viewBox="0 0 100 100" '
                                             f'preserveAspectRatio="{par}"'))
    assert (w, h) == (200, 100)
    assert np.allclose(groups[0].shape_to_canvas.numpy()[:2], expected, atol=1e-5)


def test_units_and_viewbox_offset():
    w, h, _, groups = svg_to_scene(svg('<rect x="1" y="1" width="1" height="1"/>',
                                       attrs='width="1in" height="72pt" viewBox="10 20 48 48"'))
    assert (w, h) == (96, 96)
    assert np.allclose(apply(groups[0].shape_to_canvas, (10, 20)), (0, 0), atol=1e-4)
    assert np.allclose(apply(groups[0].shape_to_canvas, (58, 68)), (96, 96), atol=1e-4)
    _, _, shapes, _ = load('<rect width="10mm" height="50%" x="1em"/>')
    assert np.allclose(shapes[0].p_max.numpy(), (16 + 96 / 2.54, 50), atol=1e-4)


def test_nested_svg_use_and_symbol():
    body = ('<defs><symbol id="s" viewBox="0 0 10 10"><rect width="10" height="10"/></symbol>'
            '<circle id="c" r="2"/></defs>'
            '<use href="#s" x="10" y="20" width="40" height="20"/>'
            '<use xlink:href="#c" x="5" transform="translate(1 1)"/>'
            '<svg x="50" y="50" width="20" height="20" viewBox="0 0 2 2"><rect width="1" height="1"/></svg>')
    _, _, shapes, groups = load(body)
    assert len(groups) == 3
    m = groups[0].shape_to_canvas
    # symbol viewBox 10x10 in a 40x20 viewport, xMidYMid meet: scale 2, tx 10 more
    assert np.allclose(apply(m, (0, 0)), (10 + 10, 20), atol=1e-5)
    assert np.allclose(apply(m, (10, 10)), (10 + 30, 40), atol=1e-5)
    assert isinstance(shapes[1], Circle)
    assert np.allclose(apply(groups[1].shape_to_canvas, (0, 0)), (6, 1), atol=1e-5)
    assert np.allclose(apply(groups[2].shape_to_canvas, (1, 1)), (60, 60), atol=1e-5)


def test_use_inherits_style_from_use_not_from_definition():
    body = ('<g fill="red"><rect id="r" width="1" height="1"/></g>'
            '<use href="#r" fill="blue"/>')
    _, _, _, groups = load(body)
    assert torch.allclose(groups[0].fill_color, torch.tensor([1.0, 0, 0, 1]))
    assert torch.allclose(groups[1].fill_color, torch.tensor([0.0, 0, 1, 1]))


def test_display_none_visibility_and_degenerate_shapes():
    body = ('<rect width="1" height="1" display="none"/>'
            '<g visibility="hidden"><rect width="1" height="1"/>'
            '<rect width="2" height="2" visibility="visible"/></g>'
            '<circle r="0"/><rect width="0" height="5"/><ellipse rx="0" ry="3"/>'
            '<polyline points="1 1"/><path d=""/>')
    _, _, shapes, groups = load(body)
    assert len(shapes) == 1 and torch.allclose(shapes[0].p_max, torch.tensor([2.0, 2.0]))


def test_basic_shapes():
    body = ('<rect x="1" y="2" width="3" height="4"/>'
            '<rect x="0" y="0" width="10" height="6" rx="2"/>'
            '<circle cx="5" cy="6" r="7"/><ellipse cx="1" cy="2" rx="3" ry="4"/>'
            '<line x1="0" y1="0" x2="5" y2="5" stroke="black"/>'
            '<polyline points="0,0 1,1 2,0"/><polygon points="0 0 1 1 2 0 5"/>'
            '<path d="M0 0 L1 1 M5 5 L6 6" fill-rule="evenodd"/>')
    _, _, shapes, groups = load(body)
    kinds = [type(s).__name__ for s in shapes]
    assert kinds == ["Rect", "Path", "Circle", "Ellipse", "Polygon", "Polygon", "Polygon",
                     "Path", "Path"]
    assert torch.allclose(shapes[0].p_min, torch.tensor([1.0, 2])) and \
        torch.allclose(shapes[0].p_max, torch.tensor([4.0, 6]))
    rounded = shapes[1]
    assert rounded.is_closed and sorted(set(rounded.num_control_points.tolist())) == [0, 2]
    pts = rounded.points.numpy()
    assert pts[:, 0].min() == 0 and pts[:, 0].max() == 10 and pts[:, 1].max() == 6
    assert float(shapes[2].radius) == 7 and shapes[3].radius.tolist() == [3, 4]
    assert not shapes[4].is_closed and shapes[6].is_closed and shapes[6].points.shape == (3, 2)
    assert groups[-1].use_even_odd_rule and groups[-1].shape_ids.tolist() == [7, 8]
    assert not groups[0].use_even_odd_rule


# ----------------------------------------------------------------------------
# Style: CSS, colours, strokes
# ----------------------------------------------------------------------------

def _fill(group):
    return group.fill_color.tolist()


def test_css_specificity_and_cascade():
    body = ('<style>rect { fill: red } .a { fill: lime } #x { fill: blue } '
            'g > .b { fill: #010203 } g .c, .d { fill: #040506 } * { stroke: black }'
            '.late { fill: red } .late { fill: yellow } .imp { fill: aqua !important }</style>'
            '<rect id="x" class="a" width="1" height="1"/>'
            '<rect class="a" width="1" height="1" fill="red"/>'
            '<g><rect class="b" width="1" height="1"/><g><rect class="c" width="1" height="1"/></g></g>'
            '<rect class="late" width="1" height="1"/>'
            '<rect class="a" style="fill: maroon" width="1" height="1"/>'
            '<rect class="imp" style="fill: maroon" width="1" height="1"/>'
            '<rect width="1" height="1"/>')
    _, _, _, groups = load(body)
    expected = [NAMED_COLORS["blue"], NAMED_COLORS["lime"], (1 / 255, 2 / 255, 3 / 255, 1),
                (4 / 255, 5 / 255, 6 / 255, 1), NAMED_COLORS["yellow"], NAMED_COLORS["maroon"],
                NAMED_COLORS["aqua"], NAMED_COLORS["red"]]
    for group, want in zip(groups, expected):
        assert np.allclose(_fill(group), want, atol=1e-6)
        assert np.allclose(group.stroke_color.tolist(), (0, 0, 0, 1))
    assert len(groups) == len(expected)


@pytest.mark.parametrize("text,rgba", [
    ("#f00", (1, 0, 0, 1)), ("#F008", (1, 0, 0, 0x88 / 255)), ("#102030", (16 / 255, 32 / 255, 48 / 255, 1)),
    ("#10203040", (16 / 255, 32 / 255, 48 / 255, 64 / 255)), ("rgb(255, 128, 0)", (1, 128 / 255, 0, 1)),
    ("rgb(100%, 50%, 0%)", (1, 0.5, 0, 1)), ("rgba(0, 0, 255, 0.25)", (0, 0, 1, 0.25)),
    ("rgb(0 255 0 / 50%)", (0, 1, 0, 0.5)), ("hsl(120, 100%, 25%)", (0, 0.5, 0, 1)),
    ("hsla(240, 100%, 50%, 0.5)", (0, 0, 1, 0.5)), ("hsl(0deg 0% 100%)", (1, 1, 1, 1)),
    ("cornflowerblue", (100 / 255, 149 / 255, 237 / 255, 1)), ("DarkSlateGray", (47 / 255, 79 / 255, 79 / 255, 1)),
    ("lightgoldenrodyellow", (250 / 255, 250 / 255, 210 / 255, 1)), ("rebeccapurple", None),
    ("transparent", (0, 0, 0, 0)), ("rgb(300, -5, 0)", (1, 0, 0, 1))])
def test_colour_syntaxes(text, rgba):
    if rgba is None:  # not one of the 147 SVG 1.1 names
        with pytest.raises(ValueError):
            parse_color(text)
        return
    assert np.allclose(parse_color(text), rgba, atol=1e-6)


def test_named_colour_table():
    assert len(NAMED_COLORS) == 148  # 147 names + transparent
    assert NAMED_COLORS["grey"] == NAMED_COLORS["gray"]
    assert np.allclose(NAMED_COLORS["olivedrab"][:3], (107 / 255, 142 / 255, 35 / 255))


def test_current_color_and_invalid_colours():
    body = ('<g color="green"><rect width="1" height="1" fill="currentColor" stroke="currentColor"/>'
            '<rect width="1" height="1" color="#123456" fill="currentColor"/></g>'
            '<g fill="blue"><rect width="1" height="1" fill="notacolour"/></g>')
    _, _, _, groups = load(body)
    assert np.allclose(_fill(groups[0]), NAMED_COLORS["green"])
    assert np.allclose(groups[0].stroke_color.tolist(), NAMED_COLORS["green"])
    assert np.allclose(_fill(groups[1]), (0x12 / 255, 0x34 / 255, 0x56 / 255, 1))
    assert np.allclose(_fill(groups[2]), NAMED_COLORS["blue"])  # invalid value ignored


def test_stroke_properties():
    _, _, shapes, groups = load('<g stroke-width="4" stroke-linecap="round"><path d="M0 0 L5 5" '
                                'stroke="red" stroke-linejoin="bevel" stroke-miterlimit="7"/></g>'
                                '<rect width="1" height="1" stroke="red" stroke-width="0"/>')
    shape = shapes[0]
    assert float(shape.stroke_width) == 2.0  # half the SVG stroke-width
    assert shape.line_cap == LineCap.round and shape.line_join == LineJoin.bevel
    assert shape.miter_limit == 7.0
    assert groups[1].stroke_color is None


def test_opacity_folding():
    body = ('<g opacity="0.5"><g opacity="0.5"><rect width="1" height="1" fill="red" '
            'fill-opacity="0.5" stroke="blue" stroke-opacity="0.2" opacity="0.8"/></g></g>'
            '<linearGradient id="g"><stop offset="0" stop-color="red" stop-opacity="0.5"/>'
            '<stop offset="1" stop-color="blue"/></linearGradient>'
            '<rect width="1" height="1" fill="url(#g)" opacity="0.5" fill-opacity="50%"/>')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, _, _, groups = load(body)
    # the first rect's fill and stroke overlap: it becomes one layer faded by
    # the product of the opacities (the nested group layers fold into it);
    # the gradient rect has one paint, which is faded itself; nothing warns
    assert [str(w.message) for w in caught] == []
    assert isinstance(groups[0], pydiffvg.Layer) and len(groups[0].children) == 1
    assert math.isclose(float(groups[0].opacity), 0.25 * 0.8, rel_tol=1e-6)
    inner = groups[0].children[0]
    assert math.isclose(inner.fill_color[3].item(), 0.5, rel_tol=1e-6)
    assert math.isclose(inner.stroke_color[3].item(), 0.2, rel_tol=1e-6)
    assert np.allclose(groups[1].fill_color.stop_colors[:, 3].numpy(), [0.125, 0.25])


# ----------------------------------------------------------------------------
# Gradients
# ----------------------------------------------------------------------------

def _gradient_t(paint, p):
    b, e = paint.begin.double().numpy(), paint.end.double().numpy()
    d = e - b
    return float((np.asarray(p) - b) @ d / (d @ d))


def test_linear_gradient_href_bbox_and_transform_folding():
    body = ('<linearGradient id="base" x1="0.1" y1="0.2" gradientTransform="rotate(30) skewX(20)">'
            '<stop offset="0.2" stop-color="red"/><stop offset="10%" stop-color="lime"/>'
            '<stop offset="2" stop-color="blue" stop-opacity="0.5"/></linearGradient>'
            '<linearGradient id="g" href="#base" x2="0.7" y2="0.9"/>'
            '<rect x="10" y="20" width="40" height="10" fill="url(#g)"/>')
    _, _, _, groups = load(body)
    paint = groups[0].fill_color
    assert isinstance(paint, LinearGradient)
    assert np.allclose(paint.offsets.numpy(), [0.2, 0.2, 1.0])  # clamped and monotone
    assert np.allclose(paint.stop_colors.numpy()[2], [0, 0, 1, 0.5])
    # SVG spec value: map p back to gradient space, project onto (x1,y1)->(x2,y2)
    bbox = np.array([[40, 0, 10], [0, 10, 20], [0, 0, 1]], dtype=np.float64)
    c, s, k = math.cos(math.radians(30)), math.sin(math.radians(30)), math.tan(math.radians(20))
    gt = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.array([[1, k, 0], [0, 1, 0], [0, 0, 1]])
    inv = np.linalg.inv(bbox @ gt)
    begin, end = np.array([0.1, 0.2]), np.array([0.7, 0.9])
    for p in [(10, 20), (50, 30), (23, 27.5), (-5, 60)]:
        q = apply(inv, p)
        expected = (q - begin) @ (end - begin) / ((end - begin) @ (end - begin))
        assert abs(_gradient_t(paint, p) - expected) < 1e-4


def test_user_space_gradient_defaults_and_stops_from_other_gradient():
    body = ('<radialGradient id="r"><stop offset="0" stop-color="#fff"/>'
            '<stop offset="1" stop-color="#000"/></radialGradient>'
            '<linearGradient id="g" xlink:href="#r" gradientUnits="userSpaceOnUse" x2="50%"/>'
            '<rect x="10" y="10" width="20" height="20" fill="url(#g)"/>')
    _, _, _, groups = svg_to_scene(svg(body, attrs='width="200" height="100"'))
    paint = groups[0].fill_color
    assert paint.begin.tolist() == [0, 0] and paint.end.tolist() == [100, 0]
    assert paint.stop_colors.shape == (2, 4)


def test_radial_gradient_bbox_and_transform():
    body = ('<radialGradient id="r" cx="0.5" cy="0.25" r="0.5" gradientTransform="translate(0.1 0) '
            'scale(2 1)"><stop offset="0" stop-color="red"/><stop offset="1" stop-color="blue"/>'
            '</radialGradient><rect x="0" y="0" width="40" height="20" fill="url(#r)"/>'
            '<radialGradient id="one"><stop offset="0.5" stop-color="lime"/></radialGradient>'
            '<radialGradient id="none"/>'
            '<rect width="1" height="1" fill="url(#one)"/><rect width="1" height="1" fill="url(#none) red"/>'
            '<rect width="1" height="1" fill="url(#none)" stroke="black"/>')
    _, _, _, groups = load(body)
    paint = groups[0].fill_color
    assert isinstance(paint, RadialGradient)
    # gradient space (0.5, 0.25) -> scale(2,1) -> (1, .25) -> +0.1 -> (1.1, .25) -> bbox (44, 5)
    assert np.allclose(paint.center.numpy(), [44, 5]) and np.allclose(paint.radius.numpy(), [40, 10])
    assert np.allclose(_fill(groups[1]), NAMED_COLORS["lime"])  # one stop: solid
    # zero stops: the reference is invalid, so the fallback colour paints (as in
    # resvg); without a fallback the fill is none and the stroked rect keeps its stroke
    assert len(groups) == 4
    assert np.allclose(_fill(groups[2]), NAMED_COLORS["red"])
    assert groups[3].fill_color is None and groups[3].stroke_color is not None


def test_spread_method_past_the_period_cap_warns_once():
    from pydiffvg.svg.paints import MAX_PERIODS
    body = ('<linearGradient id="g" spreadMethod="reflect" x2="{}"><stop offset="0"/>'
            '<stop offset="1"/></linearGradient><rect width="1" height="1" fill="url(#g)"/>'
            '<rect width="1" height="1" fill="url(#g)"/>')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, _, _, groups = load(body.format(0.5 / MAX_PERIODS))
    assert len([w for w in caught if "spreadMethod" in str(w.message)]) == 1
    assert len(groups[0].fill_color.offsets) == 2  # rendered as pad
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, _, _, groups = load(body.format(2.0 / MAX_PERIODS))
    assert not [w for w in caught if "spreadMethod" in str(w.message)]
    assert len(groups[0].fill_color.offsets) > MAX_PERIODS


# ----------------------------------------------------------------------------
# Dashes
# ----------------------------------------------------------------------------

def test_dash_expansion_on_a_line():
    _, _, shapes, groups = load('<line x1="0" y1="0" x2="100" y2="0" stroke="black" '
                                'stroke-dasharray="10 5"/>')
    assert len(groups) == 1 and groups[0].fill_color is None
    starts = [float(s.points[0, 0]) for s in shapes]
    lengths = [float(s.points[-1, 0] - s.points[0, 0]) for s in shapes]
    assert starts == pytest.approx([0, 15, 30, 45, 60, 75, 90])
    assert lengths == pytest.approx([10] * 7)


def test_dash_expansion_on_curves_with_offset_and_odd_count():
    # circle r=10: circumference 62.83; odd count "3" repeats as "3 3", offset 1
    _, _, shapes, groups = load('<circle r="10" cx="50" cy="50" fill="red" stroke="blue" '
                                'stroke-dasharray="3" stroke-dashoffset="1"/>')
    assert len(groups) == 2 and groups[0].stroke_color is None and groups[1].fill_color is None
    assert isinstance(shapes[0], Circle)
    dashes = shapes[1:]
    circumference = 2 * math.pi * 10
    total = 0.0
    for dash in dashes:
        pts = dash.points.double().numpy()
        sub = Subpath(tuple(pts[0]), [tuple(map(tuple, pts[1:]))], False)
        assert dash.num_control_points.tolist() == [2] or len(dash.num_control_points) > 1
        arrays_len = 0.0
        ncp, idx = dash.num_control_points.tolist(), 0
        segs = []
        for k in ncp:
            segs.append(tuple(map(tuple, pts[idx + 1:idx + k + 2])))
            idx += k + 1
        sub = Subpath(tuple(pts[0]), segs, False)
        arrays_len = subpath_length(sub)
        total += arrays_len
        assert arrays_len <= 3 + 1e-3
        # every dash point lies on the circle
        # (the 4-cubic circle itself is within 2.7e-4 r of the true circle)
        assert np.allclose(np.hypot(pts[[0, -1], 0] - 50, pts[[0, -1], 1] - 50), 10, atol=3e-3)
    # on-length: first dash 2 (offset 1), then 3 per 6, last partial
    expected = 2 + sum(min(3, max(0, circumference - s)) for s in np.arange(5, circumference, 6))
    assert abs(total - expected) < 1e-3


def test_dash_invalid_patterns_are_solid():
    for pattern in ("5 -1", "0 0", "none"):
        _, _, shapes, groups = load(f'<path d="M0 0 H50" stroke="black" stroke-dasharray="{pattern}"/>')
        assert len(shapes) == 1 and len(groups) == 1


def test_dash_zero_length_dots_and_direct_api():
    sub = Subpath((0.0, 0.0), [((10.0, 0.0),)], False)
    dots = dash_subpaths([sub], [0.0, 5.0], 0.0)
    assert [d.start for d in dots] == [(0, 0), (5, 0), (10, 0)]


# ----------------------------------------------------------------------------
# Warnings for unsupported elements
# ----------------------------------------------------------------------------

def test_unsupported_elements_warn_once_per_kind():
    body = ('<foreignObject/><g><foreignObject/></g><hatch/><hatch/><rect width="2" height="2"/>')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, _, shapes, _ = load(body)
    messages = [str(w.message) for w in caught]
    for kind in ("<foreignObject>", "<hatch>"):
        assert len([m for m in messages if kind in m]) == 1, (kind, messages)
    assert len(shapes) == 1
    with warnings.catch_warnings(record=True) as caught:  # once per load, not per process
        warnings.simplefilter("always")
        load(body)
    assert len([w for w in caught if "<foreignObject>" in str(w.message)]) == 1


# ----------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------

BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">'
                            for i in range(1, 10))
                  + ']><svg xmlns="http://www.w3.org/2000/svg"><text>&lol9;</text></svg>')


@pytest.mark.parametrize("text,match", [
    ('<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>', "line 1, column"),
    ("", "empty"), ("   \n ", "empty"),
    (BILLION_LAUGHS, "refused"),
    ('<html/>', "root element"),
    (b'<?xml version="1.0" encoding="no-such-codec"?><svg/>', "encoding"),
])
@pytest.mark.parametrize("strict", [False, True])
def test_bad_input_raises_svgerror_quickly(text, match, strict):
    """Not XML, not SVG or hostile: SVGError in both modes."""
    with pytest.raises(SVGError, match=match):
        svg_to_scene(text, strict=strict)


VALID_RECT = '<rect id="ok" x="50" y="50" width="10" height="10" fill="blue"/>'


@pytest.mark.parametrize("body,match,kept", [
    ('<g id="a"><use href="#a"/></g>', "cycle", 1),
    ('<use id="u1" href="#u2"/><use id="u2" href="#u1"/>', "cycle", 1),
    ('<rect width="-1" height="5"/>', "negative", 1),
    ('<circle r="-3"/>', "negative radius", 1),
    ('<circle r="NaN"/>', "circle", 1),
    ('<rect width="1e999" height="5"/>', "rect", 1),
    ('<polygon points="0 0 10 0 1e400 3 4 4"/>', "points", 2),  # drawn up to the error
    ('<path d="M 0 0 L 10 0 L 10 10 X 4"/>', "path data", 2),
    ('<svg viewBox="0 0 nan 10" width="10" height="10"><rect width="5" height="5"/></svg>', "viewBox", 2),
])
def test_recoverable_errors_warn_by_default_and_raise_when_strict(body, match, kept):
    """Errors browsers recover from: by default the rest renders with one
    warning; strict=True raises SVGError naming the problem."""
    text = svg(body + VALID_RECT)
    with pytest.raises(SVGError, match=match):
        svg_to_scene(text, strict=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, _, shapes, groups = svg_to_scene(text)
    assert any(match in str(w.message) for w in caught), [str(w.message) for w in caught]
    assert len(groups) == kept and groups[-1].id == "ok"


def test_invalid_root_size_renders_nothing_by_default():
    text = svg(VALID_RECT, attrs='width="-10" height="10"')
    with pytest.raises(SVGError, match="negative"):
        svg_to_scene(text, strict=True)
    with pytest.warns(UserWarning, match="negative"):
        width, height, shapes, groups = svg_to_scene(text)
    assert (width, height) == (100, 10) and shapes == [] and groups == []


def test_use_explosion_is_bounded():
    # 10 uses of the previous level, 8 levels: 10^8 elements if expanded
    body = '<defs><rect id="l0" width="1" height="1"/>'
    for level in range(1, 9):
        body += f'<g id="l{level}">' + f'<use href="#l{level - 1}"/>' * 10 + "</g>"
    body += '</defs><use href="#l8"/>'
    # Expanded, this would take hours; the element budget stops it.
    with pytest.raises(SVGError, match="elements"):
        load(body)


def test_deep_nesting_is_svgerror():
    with pytest.raises(SVGError, match="nested"):
        load("<g>" * 5000 + "</g>" * 5000)


def test_missing_file_is_svgerror(tmp_path):
    with pytest.raises(SVGError):
        svg_to_scene(tmp_path / "nope.svg")


def test_lenient_mode_skips_cycles():
    with pytest.warns(UserWarning, match="cycle"):
        _, _, shapes, _ = svg_to_scene(svg('<use id="u" href="#u"/><rect width="1" height="1"/>'),
                                       strict=False)
    assert len(shapes) == 1


# ----------------------------------------------------------------------------
# Writing and round trips
# ----------------------------------------------------------------------------

def _scene_signature(shapes, groups):
    """Flatten a scene into (name, tensor) pairs for comparison."""
    out = []
    for shape in shapes:
        out.append(("type", type(shape).__name__))
        for name in ("points", "center", "radius", "p_min", "p_max", "stroke_width"):
            if hasattr(shape, name):
                out.append((name, getattr(shape, name).double()))
        if hasattr(shape, "num_control_points"):
            out.append(("ncp", shape.num_control_points.tolist()))
        if hasattr(shape, "is_closed"):
            out.append(("closed", shape.is_closed))
        out.append(("style", (int(shape.line_cap), int(shape.line_join), shape.miter_limit)))
    for group in groups:
        if isinstance(group, pydiffvg.Layer):
            out.append(("layer", (float(group.opacity), group.blend_mode, group.mask_type,
                                  group.clip_path is not None, group.mask is not None)))
            out.extend(_scene_signature([], group.children))
            for sub in (group.clip_path, group.mask):
                if sub is not None:
                    out.extend(_scene_signature([], [sub]))
            continue
        out.append(("ids", group.shape_ids.tolist()))
        out.append(("rule", bool(group.use_even_odd_rule)))
        out.append(("xform", group.shape_to_canvas.double()))
        for paint in (group.fill_color, group.stroke_color):
            if paint is None:
                out.append(("paint", None))
            elif isinstance(paint, torch.Tensor):
                out.append(("solid", paint.double()))
            else:
                out.append(("grad", type(paint).__name__))
                for name in ("begin", "end", "center", "radius", "offsets", "stop_colors"):
                    if hasattr(paint, name):
                        out.append((name, getattr(paint, name).double()))
    return out


def _assert_same_scene(a, b):
    sa, sb = _scene_signature(*a), _scene_signature(*b)
    assert [k for k, _ in sa] == [k for k, _ in sb]
    for (name, va), (_, vb) in zip(sa, sb):
        if isinstance(va, torch.Tensor):
            assert va.shape == vb.shape, name
            assert torch.allclose(va, vb, atol=1e-4, rtol=1e-5), (name, va, vb)
        else:
            assert va == vb, name


ROUND_TRIP_BODIES = [
    '<rect x="1.25" y="2" width="30" height="40" fill="#123456" stroke="rgba(10,20,30,0.5)" '
    'stroke-width="3" stroke-linejoin="bevel" stroke-linecap="square" stroke-miterlimit="9"/>',
    '<circle cx="50" cy="50" r="20.123457" fill="red" fill-opacity="0.3"/>'
    '<ellipse cx="5" cy="6" rx="7" ry="8" fill="none" stroke="green" transform="rotate(33 5 5)"/>',
    '<path d="M10 10 Q 20 0 30 10 T 50 10 C 60 20 70 20 80 10 S 90 0 95 10 Z m 5 5 l 5 5 h 3 z" '
    'fill-rule="evenodd" fill="blue"/>',
    '<path d="M10 80 A 30 20 20 1 0 60 80 a 10 10 0 0 1 20 0" fill="none" stroke="black"/>',
    '<polygon points="1,1 20,5 10,30"/><polyline points="1 1 2 5 7 7" fill="none" stroke="red"/>'
    '<line x1="0" y1="5" x2="90" y2="5" stroke="black" stroke-dasharray="7 3"/>',
    '<linearGradient id="g" x1="0.1" y2="1" gradientTransform="skewX(10)"><stop offset="0" '
    'stop-color="red" stop-opacity="0.4"/><stop offset="0.5" stop-color="lime"/><stop offset="1" '
    'stop-color="blue"/></linearGradient><rect x="10" y="10" width="50" height="30" fill="url(#g)"/>',
    '<radialGradient id="r" cx="0.4" cy="0.6" r="0.3"><stop offset="0" stop-color="yellow"/>'
    '<stop offset="1" stop-color="purple"/></radialGradient>'
    '<ellipse cx="50" cy="50" rx="40" ry="20" fill="url(#r)" stroke="url(#r)" stroke-width="4"/>',
    '<g transform="translate(10 10) scale(1.5)"><rect width="10" height="10" rx="3" '
    'fill="orange"/></g>',
]


@pytest.mark.parametrize("body", ROUND_TRIP_BODIES)
def test_round_trip_bodies(body, tmp_path):
    first = svg_to_scene(svg(body, attrs='width="120" height="90" viewBox="0 0 100 75"'))
    out = tmp_path / "out.svg"
    save_svg(str(out), first[0], first[1], first[2], first[3])
    second = svg_to_scene(out)
    assert second[:2] == first[:2]
    _assert_same_scene(first[2:], second[2:])


def _fixture_files():
    return sorted(glob.glob(os.path.join(DATA, "*.svg")))


@pytest.mark.parametrize("path", _fixture_files(), ids=os.path.basename)
def test_round_trip_resvg_fixtures(path, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = svg_to_scene(path)
    assert first[2], "fixture should produce shapes"
    out = tmp_path / "out.svg"
    save_svg(out, *first)
    second = svg_to_scene(out)
    _assert_same_scene(first[2:], second[2:])


def test_save_svg_writes_every_shape_kind_and_group(tmp_path):
    shapes = [
        Circle(torch.tensor(5.0), torch.tensor([10.0, 10.0])),
        Rect(torch.tensor([1.0, 2.0]), torch.tensor([5.0, 6.0])),
        Path(torch.tensor([0, 1, 2]), torch.tensor([[0.0, 0], [5, 0], [6, 1], [7, 2], [8, 3],
                                                    [9, 4], [10, 5]]), False,
             stroke_width=torch.tensor([1.0, 2, 3, 4, 5, 6, 7])),
        Ellipse(torch.tensor([3.0, 4.0]), torch.tensor([1.0, 1.0])),
        Polygon(torch.tensor([[0.0, 0], [1, 1], [2, 0]]), True),
    ]
    groups = [
        ShapeGroup(torch.tensor([0, 1]), torch.tensor([1.0, 0, 0, 0.5]), use_even_odd_rule=False,
                   stroke_color=torch.tensor([0.0, 0, 1, 1])),
        ShapeGroup(torch.tensor([2]), None, stroke_color=RadialGradient(
            torch.tensor([5.0, 5]), torch.tensor([4.0, 2]), torch.tensor([0.0, 1]),
            torch.tensor([[1.0, 1, 1, 1], [0, 0, 0, 0.5]]))),
        ShapeGroup(torch.tensor([3, 4]), torch.tensor([0.0, 1, 0, 1]),
                   shape_to_canvas=torch.tensor([[2.0, 0, 1], [0, 2, 3], [0, 0, 1]])),
    ]
    out = tmp_path / "scene.svg"
    save_svg(str(out), 64, 48, shapes, groups, background="white")
    text = out.read_text()
    for token in ("<circle", "<rect", "<ellipse", "<polygon", "<g ", "radialGradient",
                  'stroke-linecap="round"', 'transform="matrix(2 0 0 2 1 3)"', "gradientTransform"):
        assert token in text, token
    # the per-point-width path: 3 segment paths, widths = 2 * average of end points
    assert text.count('fill="none" stroke-width') == 3
    w, h, back_shapes, back_groups = svg_to_scene(out)
    assert (w, h) == (64, 48)
    widths = sorted(float(s.stroke_width) * 2 for s in back_shapes if isinstance(s, Path))
    # segments (end points 0-1, 1-3, 3-6): 2 × average of the end points' half widths
    assert widths == pytest.approx([1 + 2, 2 + 4, 4 + 7])
    # background + 2 + 3 segment paths + 2
    assert len(back_shapes) == 1 + 2 + 3 + 2
    assert torch.allclose(back_groups[1].fill_color, torch.tensor([1.0, 0, 0, 0.5]))
    radial = back_groups[3].stroke_color
    assert np.allclose(radial.radius.numpy(), [4, 2]) and np.allclose(radial.center.numpy(), [5, 5])


def test_save_svg_gamma_and_atomic_write(tmp_path):
    shapes = [Rect(torch.tensor([0.0, 0]), torch.tensor([1.0, 1]))]
    groups = [ShapeGroup(torch.tensor([0]), torch.tensor([0.25, 0.5, 1.0, 1.0]))]
    text = svg_text(2, 2, shapes, groups, use_gamma=True)
    _, _, _, back = svg_to_scene(text)
    assert np.allclose(back[0].fill_color[:3].numpy(), np.array([0.25, 0.5, 1.0]) ** (1 / 2.2), atol=1e-5)
    out = tmp_path / "keep.svg"
    out.write_text("old")
    with pytest.raises(ValueError):
        save_svg(out, 2, 2, shapes, [ShapeGroup(torch.tensor([5]), None)])
    assert out.read_text() == "old" and os.listdir(tmp_path) == ["keep.svg"]


def test_load_svg_scene_dataclass():
    scene = load_svg(svg('<rect width="1" height="1"/>'))
    assert isinstance(scene, Scene)
    w, h, shapes, groups = scene
    assert (w, h) == (100, 100) and len(shapes) == 1 and len(groups) == 1


# ----------------------------------------------------------------------------
# Fuzzing
# ----------------------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_PATH_ALPHABET = "MmLlHhVvCcSsQqTtAaZz0123456789.-+eE ,\t"


@settings(max_examples=200, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=_PATH_ALPHABET, max_size=60))
def test_fuzz_path_data(data):
    try:
        svg_to_scene(svg(f'<path d="{data}" stroke="black" stroke-dasharray="3 1"/>'))
    except SVGError:
        pass


_SEED_DOC = svg(
    '<style>.a{fill:red} g > rect{stroke:blue}</style>'
    '<linearGradient id="g" x2="1"><stop offset="0"/><stop offset="1" stop-color="red"/></linearGradient>'
    '<g transform="rotate(10 5 5)" opacity="0.5"><rect class="a" x="1" y="1" width="10" height="5" '
    'rx="2"/><circle cx="5" cy="5" r="3" fill="url(#g)"/></g><use href="#c"/>'
    '<path id="c" d="M0 0 L10 10 A5 5 0 0 1 20 20 Z" stroke-dasharray="2,1"/>'
    '<polygon points="1 2 3 4 5 6"/>', attrs='width="50" height="50" viewBox="0 0 20 20"')


@settings(max_examples=200, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_SEED_DOC) - 1), st.integers(0, 5),
                          st.text(alphabet='<>/="#.()-0123456789e ;:abcdefg', max_size=4)),
                min_size=1, max_size=4))
def test_fuzz_mutated_svg(mutations):
    text = _SEED_DOC
    for position, cut, insert in mutations:
        position = min(position, len(text))
        text = text[:position] + insert + text[position + cut:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            svg_to_scene(text)
        except SVGError:
            pass


# ----------------------------------------------------------------------------
# The whole resvg fixture folder
# ----------------------------------------------------------------------------

#: Share of the fixtures that load (the rest raise SVGError, never anything else).
LOAD_RATE = 0.97


@pytest.mark.skipif(not os.path.isdir(FIXTURES), reason="resvg fixtures not available")
def test_all_resvg_fixtures_load_or_fail_cleanly():
    files = sorted(glob.glob(os.path.join(FIXTURES, "**", "*.svg"), recursive=True))
    assert len(files) >= 100, f"only {len(files)} SVGs under {FIXTURES}"
    loaded = 0
    for path in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                svg_to_scene(path)
                loaded += 1
            except SVGError:
                pass
    rate = loaded / len(files)
    assert rate >= LOAD_RATE, f"{loaded} of {len(files)} fixtures load ({rate:.1%}; need {LOAD_RATE:.0%})"


def test_save_svg_file_gets_default_permissions(tmp_path):
    import stat
    from pydiffvg import Circle, ShapeGroup, save_svg
    path = tmp_path / "c.svg"
    save_svg(path, 10, 10, [Circle(torch.tensor(3.0), torch.tensor([5.0, 5.0]))],
             [ShapeGroup(torch.tensor([0]), torch.tensor([1.0, 0.0, 0.0, 1.0]))])
    umask = os.umask(0)
    os.umask(umask)
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o666 & ~umask, oct(mode)


def test_non_invertible_transform_draws_nothing():
    """SVG disables rendering of an element whose transform is singular."""
    import pydiffvg
    w, h, shapes, groups = svg_to_scene(
        '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">'
        '<rect width="10" height="10" transform="matrix(0 0 0 0 5 5)"/>'
        '<rect width="4" height="4" transform="scale(0)"/><circle cx="5" cy="5" r="3"/></svg>')
    assert len(groups) == 1
    image = pydiffvg.render(shapes, groups, width=w, height=h, num_samples=1)
    assert torch.isfinite(image).all()


# ----------------------------------------------------------------------------
# Fidelity against resvg: helpers
# ----------------------------------------------------------------------------

def _over_white(rgba):
    rgb, alpha = rgba[..., :3], rgba[..., 3:4]
    return rgb * alpha + (1.0 - alpha)


def _render_ours(text, size, samples=4):
    """Load ``text`` and render it at ``size`` px wide, RGB over white (float64)."""
    cw, ch, shapes, groups = svg_to_scene(text)
    height = max(1, int(round(size * ch / cw)))
    if not shapes:
        return np.ones((height, size, 3))
    image = pydiffvg.render(shapes, groups, width=size, height=height, canvas_width=cw,
                            canvas_height=ch, num_samples=samples, seed=0)
    return _over_white(image.detach().double().numpy())


def _render_resvg(text, size, height):
    resvg_py = pytest.importorskip("resvg_py")
    from PIL import Image
    import io
    png = resvg_py.svg_to_bytes(svg_string=text, width=size, height=height)
    rgba = np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGBA"), dtype=np.float64) / 255.0
    return _over_white(rgba)


def _psnr(a, b):
    a8, b8 = np.round(np.clip(a, 0, 1) * 255.0), np.round(np.clip(b, 0, 1) * 255.0)
    mse = float(np.mean((a8 - b8) ** 2))
    return float("inf") if mse == 0.0 else 10.0 * math.log10(255.0 ** 2 / mse)


def _assert_matches_resvg(text, size=120, min_psnr=35.0):
    ours = _render_ours(text, size)
    ref = _render_resvg(text, size, ours.shape[0])
    value = _psnr(ours, ref)
    assert value >= min_psnr, f"PSNR against resvg {value:.2f} dB < {min_psnr}"
    return value


def _closed_area(subpaths):
    """Signed area enclosed by closed Bézier subpaths, by Green's theorem
    (1/2 ∮ x dy − y dx) with 16-point Gauss–Legendre on every segment."""
    from pydiffvg.svg.paths import subpath_segments
    nodes, weights = np.polynomial.legendre.leggauss(16)
    t = (nodes + 1.0) / 2.0
    total = 0.0
    for subpath in subpaths:
        closed = Subpath(subpath.start, subpath.segments, True)
        for ctrl in subpath_segments(closed):
            n = len(ctrl) - 1
            basis = np.stack([math.comb(n, k) * t ** k * (1 - t) ** (n - k) for k in range(n + 1)], 1)
            dbasis = np.stack([math.comb(n - 1, k) * t ** k * (1 - t) ** (n - 1 - k)
                               for k in range(n)], 1) if n > 0 else None
            point = basis @ ctrl
            velocity = n * (dbasis @ (ctrl[1:] - ctrl[:-1]))
            integrand = point[:, 0] * velocity[:, 1] - point[:, 1] * velocity[:, 0]
            total += 0.5 * float(weights @ integrand) / 2.0
    return total


# ----------------------------------------------------------------------------
# Nested viewports clip their content
# ----------------------------------------------------------------------------

def test_clip_subpaths_areas_against_closed_forms():
    from pydiffvg.svg.paths import clip_subpaths, ellipse_subpath
    square = Subpath((0.0, 0.0), [((4.0, 0.0),), ((4.0, 4.0),), ((0.0, 4.0),)], True)
    # the square cut by x <= 1 and by the diagonal x + y <= 4 (a triangle)
    assert _closed_area(clip_subpaths([square], [(1.0, 0.0, 1.0)])) == pytest.approx(4.0)
    assert _closed_area(clip_subpaths([square], [(1.0, 1.0, 4.0)])) == pytest.approx(8.0)
    assert clip_subpaths([square], [(1.0, 0.0, -1.0)]) == []
    # a unit circle cut by x <= 0.5: pi - (acos(0.5) - 0.5 sqrt(0.75)), the
    # 4-cubic circle is within 3e-4 of the true circle
    circle = ellipse_subpath(0.0, 0.0, 1.0, 1.0)
    segment = math.acos(0.5) - 0.5 * math.sqrt(0.75)
    area = _closed_area(clip_subpaths([circle], [(1.0, 0.0, 0.5)]))
    assert area == pytest.approx(math.pi - segment, rel=1e-3)
    # cut by a rotated square: |x| + |y| <= 1 inside the unit circle is the square, area 2
    diamond = [(1.0, 1.0, 1.0), (-1.0, 1.0, 1.0), (1.0, -1.0, 1.0), (-1.0, -1.0, 1.0)]
    assert _closed_area(clip_subpaths([circle], diamond)) == pytest.approx(2.0, rel=1e-9)


def test_clip_subpaths_keeps_winding_numbers_of_holes():
    from pydiffvg.svg.paths import clip_subpaths
    outer = Subpath((0.0, 0.0), [((10.0, 0.0),), ((10.0, 10.0),), ((0.0, 10.0),)], True)
    hole = Subpath((3.0, 3.0), [((3.0, 7.0),), ((7.0, 7.0),), ((7.0, 3.0),)], True)  # reversed
    # keep x <= 5: the outer half (50) minus half of the hole (8)
    pieces = clip_subpaths([outer, hole], [(1.0, 0.0, 5.0)])
    assert _closed_area(pieces) == pytest.approx(42.0)


@pytest.mark.parametrize("name", [
    "structure_svg_nested-svg-with-rect.svg",
    "structure_symbol_with-custom-use-size.svg",
])
def test_nested_viewport_clip_matches_resvg_fixture(name):
    path = os.path.join(DATA, name)
    ours = _render_ours(path, 300)
    from PIL import Image
    ref = _over_white(np.asarray(Image.open(path[:-4] + ".png").convert("RGBA"),
                                 dtype=np.float64) / 255.0)
    value = _psnr(ours, ref)
    assert value >= 40.0, f"{name}: PSNR {value:.2f} dB"


def test_nested_viewport_clip_rotated_with_viewbox_matches_resvg():
    text = svg('<g transform="rotate(20 50 50)"><svg x="20" y="15" width="50" height="60" '
               'viewBox="0 0 100 60" preserveAspectRatio="xMinYMax slice">'
               '<circle cx="50" cy="30" r="45" fill="#2b8a3e"/>'
               '<path d="M-20 0 C 40 90 80 -30 140 60 Z" fill="#1971c2" fill-opacity="0.7"'
               ' fill-rule="evenodd"/></svg></g>')
    _assert_matches_resvg(text, min_psnr=38.0)


def test_nested_viewport_overflow_visible_does_not_clip():
    body = ('<svg x="10" y="10" width="20" height="20" overflow="{}">'
            '<rect x="-5" y="-5" width="60" height="60"/></svg>')
    for value, expect_rect in (("visible", True), ("auto", True), ("hidden", False),
                               ("scroll", False)):
        _, _, shapes, _ = load(body.format(value))
        assert isinstance(shapes[0], Rect) == expect_rect, value
    _, _, shapes, _ = load('<svg x="10" y="10" width="20" height="20" style="overflow:visible">'
                           '<rect x="-5" y="-5" width="60" height="60"/></svg>')
    assert isinstance(shapes[0], Rect)


def test_nested_viewport_keeps_inside_drops_outside_and_clips_cut_strokes():
    body = ('<svg x="10" y="10" width="40" height="40">'
            '<circle cx="20" cy="20" r="5"/>'                      # inside: kept as a Circle
            '<rect x="100" y="100" width="5" height="5"/>'          # outside: dropped
            '<circle cx="40" cy="20" r="10" fill="none" stroke="red" stroke-width="30"/>'
            '<circle cx="-10" cy="20" r="3" fill="none" stroke="red"/></svg>')  # stroke outside
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, _, shapes, groups = load(body)
    assert [str(w.message) for w in caught] == []
    assert isinstance(shapes[0], Circle) and len(groups) == 2
    # the stroke that crosses the edge: a layer clipped to the viewport
    assert isinstance(groups[1], pydiffvg.Layer) and groups[1].clip_path is not None
    stroke = groups[1].children[0]
    assert stroke.fill_color is None and stroke.stroke_color is not None
    image = pydiffvg.render(pydiffvg.Scene(100, 100, shapes, groups))
    assert float(image[30, 45, 3]) > 0.9 and float(image[30, 55, 3]) == 0.0  # cut at x = 50


# ----------------------------------------------------------------------------
# Paint references, fallbacks and colour syntax
# ----------------------------------------------------------------------------

GRADIENT = ('<linearGradient id="g"><stop offset="0" stop-color="white"/>'
            '<stop offset="1" stop-color="black"/></linearGradient><linearGradient id="empty"/>')


@pytest.mark.parametrize("fill,expected", [
    ("url(#empty) green", (0, 128 / 255, 0, 1)),          # no stops: invalid, fallback
    ("url(#missing) green", (0, 128 / 255, 0, 1)),
    ("url(#empty) currentColor", (1, 0, 0, 1)),           # color="red" on the rect
    ("url(#r) blue", (0, 0, 1, 1)),                       # not a paint server
    ("url(#g) green", LinearGradient),                    # valid: the fallback is unused
    ("  url(  #g   )  ", LinearGradient),                 # FuncIRI with inner spaces
    ("url('#g')", LinearGradient),
    ("url(#g) green icc-color(p, 0.1, 0.2, 0.3)", LinearGradient),
    ("url(#empty)", None), ("url(#empty) none", None),  # no fallback: none
    ("url(#g) notacolour", (1, 1, 0, 1)),                 # invalid value: inherited (yellow)
])
def test_paint_fallback_is_used_only_for_invalid_references(fill, expected):
    _, _, _, groups = load(GRADIENT + f'<g fill="yellow"><rect id="r" width="10" height="10" '
                                      f'color="red" fill="{fill}"/></g>')
    if expected is None:
        assert groups == []
    elif expected is LinearGradient:
        assert isinstance(groups[0].fill_color, LinearGradient)
    else:
        assert groups[0].fill_color.tolist() == pytest.approx(list(expected))


def test_singular_gradient_transform_is_ignored():
    body = ('<linearGradient id="a" {}><stop offset="0" stop-color="white"/>'
            '<stop offset="1" stop-color="green"/></linearGradient>'
            '<rect x="10" y="10" width="80" height="40" fill="url(#a)"/>')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, _, _, singular = load(body.format('gradientTransform="matrix(0 0 0 0 0 0)"'))
    assert any("singular gradientTransform" in str(w.message) for w in caught)
    _, _, _, plain = load(body.format(""))
    assert singular[0].fill_color.begin.tolist() == plain[0].fill_color.begin.tolist() == [10, 10]
    assert singular[0].fill_color.end.tolist() == plain[0].fill_color.end.tolist() == [90, 10]


@pytest.mark.parametrize("text,rgba", [
    ("rgba(0, 127, 0, 50%)", (0, 127 / 255, 0, 0.5)),     # CSS Color 4 percentage alpha
    ("rgb(0 50% 0)", (0, 0.5, 0, 1)),                     # space syntax may mix
    ("rgb(0%, 50%, 0%)", (0, 0.5, 0, 1)),
    ("#ff0000 icc-color(acmecmyk, 0.11, 0.48, 0.83, 0.00)", (1, 0, 0, 1)),
])
def test_colour_syntax_css_color_4(text, rgba):
    assert parse_color(text) == pytest.approx(rgba)


@pytest.mark.parametrize("text", ["rgba(0, 50%, 0, 0.5)", "rgb(0%, 50, 0)", "hsl(120, 50, 50%)",
                                  "icc-color(p, 1, 0, 0)"])
def test_colour_comma_syntax_does_not_mix_numbers_and_percentages(text):
    from pydiffvg.svg.colors import ColorSyntaxError
    with pytest.raises(ColorSyntaxError):
        parse_color(text)


# ----------------------------------------------------------------------------
# context-fill / context-stroke (SVG 2 13.2)
# ----------------------------------------------------------------------------

def test_context_paint_is_the_use_elements_paint():
    body = ('<defs><rect id="r" width="10" height="10" fill="context-stroke" '
            'stroke="context-fill"/>'
            '<g id="g"><circle cx="5" cy="5" r="2" fill="context-fill"/></g></defs>'
            '<use id="u2" href="#r" fill="context-fill" stroke="context-stroke"/>'
            '<use href="#u2" fill="blue" stroke="green" color="red"/>'
            '<use href="#g" fill="currentColor" color="red"/>'
            '<rect width="3" height="3" fill="context-fill" stroke="context-stroke"/>')
    _, _, _, groups = load(body)
    # rect through u2 through the outer use: fill = u2's stroke = green, stroke = blue
    assert _fill(groups[0]) == pytest.approx(NAMED_COLORS["green"])
    assert groups[0].stroke_color.tolist() == pytest.approx(list(NAMED_COLORS["blue"]))
    # currentColor in the context paint uses the use element's colour
    assert _fill(groups[1]) == pytest.approx(NAMED_COLORS["red"])
    # outside any context element the keywords are none
    assert len(groups) == 2


# ----------------------------------------------------------------------------
# spreadMethod reflect/repeat and the focal radius fr, unrolled into stops
# ----------------------------------------------------------------------------

def _pad_colour(offsets, colours, t):
    """Colour of pad-mode stops at t (the renderer's rule, in NumPy)."""
    offsets, colours = np.asarray(offsets, float), np.asarray(colours, float)
    out = np.empty((len(t), colours.shape[1]))
    for index, value in enumerate(t):
        if value <= offsets[0]:
            out[index] = colours[0]
        elif value >= offsets[-1]:
            out[index] = colours[-1]
        else:
            k = np.searchsorted(offsets, value, side="right") - 1
            w = (value - offsets[k]) / (offsets[k + 1] - offsets[k])
            out[index] = colours[k] * (1 - w) + colours[k + 1] * w
    return out


def _spread_reference(offsets, colours, t, spread):
    if spread == "repeat":
        t = t - np.floor(t)
    elif spread == "reflect":
        t = np.abs(((t + 1.0) % 2.0) - 1.0)
    return _pad_colour(offsets, colours, t)


STOPS = ('<stop offset="0.2" stop-color="#ff0000"/><stop offset="0.5" stop-color="#00ff00" '
         'stop-opacity="0.5"/><stop offset="0.7" stop-color="#0000ff"/>')
STOP_OFFSETS = [0.2, 0.5, 0.7]
STOP_COLOURS = [[1, 0, 0, 1], [0, 1, 0, 0.5], [0, 0, 1, 1]]


@pytest.mark.parametrize("spread", ["pad", "reflect", "repeat"])
def test_linear_spread_method_unrolled_exactly(spread):
    body = (f'<linearGradient id="g" gradientUnits="userSpaceOnUse" x1="30" y1="40" x2="45" y2="48" '
            f'spreadMethod="{spread}" gradientTransform="rotate(25 50 50)">{STOPS}</linearGradient>'
            f'<rect x="5" y="10" width="90" height="70" fill="url(#g)"/>')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, _, _, groups = load(body)
    paint = groups[0].fill_color
    rng = np.random.default_rng(1)
    points = rng.uniform([5, 10], [95, 80], size=(500, 2))
    # the spec: t from the transformed gradient vector
    from pydiffvg.svg.units import parse_transform
    matrix = parse_transform("rotate(25 50 50)")
    inverse = np.linalg.inv(matrix)
    local = (inverse[:2, :2] @ points.T).T + inverse[:2, 2]
    begin, end = np.array([30.0, 40.0]), np.array([45.0, 48.0])
    t = (local - begin) @ (end - begin) / float((end - begin) @ (end - begin))
    expected = _spread_reference(STOP_OFFSETS, STOP_COLOURS, t, spread)
    b, e = paint.begin.double().numpy(), paint.end.double().numpy()
    t_ours = (points - b) @ (e - b) / float((e - b) @ (e - b))
    ours = _pad_colour(paint.offsets.double().numpy(), paint.stop_colors.double().numpy(), t_ours)
    assert np.abs(ours - expected).max() < 1e-4


@pytest.mark.parametrize("spread,fr", [("pad", 0.2), ("reflect", 0.0), ("repeat", 0.1),
                                       ("reflect", 0.25), ("pad", 0.7), ("repeat", 0.8)])
def test_radial_spread_and_focal_radius_unrolled_exactly(spread, fr):
    body = (f'<radialGradient id="g" cx="0.5" cy="0.4" r="0.3" fr="{fr}" spreadMethod="{spread}">'
            f'{STOPS}</radialGradient>'
            f'<ellipse cx="50" cy="40" rx="45" ry="30" fill="url(#g)" stroke="url(#g)" '
            f'stroke-width="6"/>')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, _, _, groups = load(body)
    rng = np.random.default_rng(2)
    # the fill paint only has to be right inside the bbox, the stroke paint
    # also within the stroke's reach (3 × miter limit 4) around it
    for paint, low, high in ((groups[0].fill_color, [5, 10], [95, 70]),
                             (groups[0].stroke_color, [-7, -2], [107, 82])):
        points = rng.uniform(low, high, size=(500, 2))
        # bbox (5, 10)-(95, 70): centre (50, 34), radii (27, 18) in user space
        d = np.hypot((points[:, 0] - 50.0) / 27.0, (points[:, 1] - 34.0) / 18.0)  # units of r
        ratio = fr / 0.3
        t = (d - ratio) / (1.0 - ratio)  # SVG 2, concentric focal circle
        expected = _spread_reference(STOP_OFFSETS, STOP_COLOURS, t, spread)
        c, radii = paint.center.double().numpy(), paint.radius.double().numpy()
        t_ours = np.hypot((points[:, 0] - c[0]) / radii[0], (points[:, 1] - c[1]) / radii[1])
        ours = _pad_colour(paint.offsets.double().numpy(), paint.stop_colors.double().numpy(),
                           t_ours)
        assert np.abs(ours - expected).max() < 1e-4


def test_spread_and_focal_radius_render_like_resvg():
    text = svg('<linearGradient id="l" x1="0.3" x2="0.45" spreadMethod="reflect">'
               '<stop offset="0.1" stop-color="#e03131"/><stop offset="0.9" stop-color="#1971c2"/>'
               '</linearGradient><radialGradient id="r" r="0.25" fr="0.1" spreadMethod="repeat">'
               '<stop offset="0" stop-color="#2b8a3e"/><stop offset="1" stop-color="#ffd43b"/>'
               '</radialGradient><rect x="5" y="5" width="90" height="40" fill="url(#l)"/>'
               '<rect x="5" y="50" width="90" height="45" fill="url(#r)"/>')
    _assert_matches_resvg(text, min_psnr=30.0)


@pytest.mark.parametrize("attrs", ['fx="0.3" fy="0.35"', 'fx="0.7" fy="0.5" fr="0.1"',
                                   'fx="0.35" fy="0.4" spreadMethod="reflect" r="0.25"',
                                   'fx="0.6" fy="0.55" fr="0.05" spreadMethod="repeat" r="0.3"',
                                   'gradientUnits="userSpaceOnUse" cx="30" cy="30" r="25" fx="70" fy="65"'])
def test_focal_radial_gradient_renders_like_resvg(attrs):
    """Focal points away from the centre (inside and outside the end circle,
    with fr and spread methods, on a non-square bbox) against resvg."""
    text = svg(f'<radialGradient id="g" {attrs}><stop offset="0.1" stop-color="#e03131"/>'
               f'<stop offset="0.5" stop-color="#ffd43b"/><stop offset="0.9" stop-color="#1971c2"/>'
               f'</radialGradient><rect x="5" y="10" width="90" height="80" fill="url(#g)"/>')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svg_to_scene(text)
    _assert_matches_resvg(text, min_psnr=30.0)


def test_focal_radial_gradient_round_trips(tmp_path):
    """save_svg writes fx, fy and fr; loading it back gives the same paint."""
    paint = RadialGradient(torch.tensor([40.0, 50.0]), torch.tensor([30.0, 20.0]), torch.tensor([0.0, 1.0]),
                           torch.tensor([[1.0, 0, 0, 1], [0, 0, 1, 1]]), focal=torch.tensor([35.0, 46.0]),
                           focal_radius=torch.tensor(4.0))
    shape = Rect(torch.tensor([0.0, 0.0]), torch.tensor([100.0, 100.0]))
    group = pydiffvg.ShapeGroup(torch.tensor([0]), paint)
    out = tmp_path / "focal.svg"
    save_svg(str(out), 100, 100, [shape], [group])
    _, _, _, groups = svg_to_scene(str(out))
    again = groups[0].fill_color
    # compare where the two paints place a few points' parameters
    a = pydiffvg.render([shape], [group], width=50, height=50, canvas_width=100, canvas_height=100, num_samples=2)
    b = pydiffvg.render([shape], groups, width=50, height=50, canvas_width=100, canvas_height=100, num_samples=2)
    assert isinstance(again, RadialGradient) and again.focal is not None
    assert float((a - b).abs().max()) < 2e-3


# ----------------------------------------------------------------------------
# Font-relative units: em, ex, rem against the computed font-size
# ----------------------------------------------------------------------------

def test_font_relative_units_follow_the_computed_font_size():
    body = ('<g font-size="40"><rect id="ex" x="1ex" y="0.5em" width="8ex" height="2em"/>'
            '<g font-size="50%"><rect width="1em" height="1rem"/></g>'
            '<g font-size="2em"><rect width="1em" height="1rem" font-size="large"/></g></g>'
            '<circle r="1em" stroke="black" stroke-width="0.25em" font-size="8" fill="none"/>'
            '<rect width="1em" height="1em" font-size="bogus"/>')
    _, _, shapes, groups = load(body, attrs='width="100" height="100" font-size="12"')
    assert shapes[0].p_min.tolist() == [20, 20] and shapes[0].p_max.tolist() == [180, 100]
    assert shapes[1].p_max.tolist() == [20, 12]              # 50% of 40; rem: the root's 12
    assert shapes[2].p_max.tolist() == pytest.approx([19.2, 12])  # large = 1.2 × 16
    assert float(shapes[3].radius) == 8 and float(shapes[3].stroke_width) == 1.0  # half of 2
    assert shapes[4].p_max.tolist() == [12, 12]              # invalid: inherited


def test_units_absolute():
    from pydiffvg.svg.units import parse_length
    assert parse_length("4Q") == pytest.approx(96.0 / 25.4)   # CSS: 1Q = 1/4 mm
    assert parse_length("1in") == 96.0 and parse_length("3pt") == 4.0
    assert parse_length("2em", font_size=10) == 20 and parse_length("2ex", font_size=10) == 10


def test_negative_ellipse_radius_is_auto():
    """SVG 2: a negative rx/ry is invalid and ignored, i.e. 'auto' (the other radius)."""
    _, _, shapes, _ = load('<ellipse cx="50" cy="50" rx="30" ry="-10"/>'
                           '<ellipse cx="50" cy="50" rx="-3" ry="-10"/>'
                           '<ellipse cx="50" cy="50" rx="-3" ry="7"/>')
    assert len(shapes) == 2
    assert shapes[0].radius.tolist() == [30, 30] and shapes[1].radius.tolist() == [7, 7]


def test_unknown_element_subtree_is_not_rendered_but_can_be_used():
    body = ('<random id="q"><rect id="inner" width="5" height="5"/></random>'
            '<use href="#inner" x="10"/><use href="#q"/><hatch/>')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, _, shapes, groups = load(body)
    messages = [str(w.message) for w in caught]
    assert len(shapes) == 1 and apply(groups[0].shape_to_canvas, (0, 0)).tolist() == [10, 0]
    assert len([m for m in messages if "<random> is not an SVG element" in m]) == 1, messages
    assert any("<hatch> is not supported" in m for m in messages), messages


def test_root_background_color_paints_the_canvas():
    text = svg('<rect x="20" y="20" width="60" height="60" fill="green"/>',
               attrs='width="100" height="50" viewBox="-50 0 100 50" '
                     'style="background-color: #0000ff80"')
    _, _, shapes, groups = svg_to_scene(text)
    assert shapes[0].p_min.tolist() == [0, 0] and shapes[0].p_max.tolist() == [100, 50]
    assert groups[0].fill_color.tolist() == pytest.approx([0, 0, 1, 128 / 255])
    assert np.allclose(groups[0].shape_to_canvas.numpy(), np.eye(3))
    image = _render_ours(text, 100)
    assert image[5, 5] == pytest.approx([127 / 255, 127 / 255, 1.0], abs=1e-2)


@pytest.mark.parametrize("body,layered", [
    ('<g opacity="0.5"><circle cx="20" cy="20" r="10"/><circle cx="30" cy="20" r="10"/></g>', True),
    ('<rect x="10" y="10" width="20" height="20" opacity="0.5" stroke="red"/>', True),
    ('<rect x="10" y="10" width="20" height="20" opacity="0.5" fill-opacity="0.5"/>', False),
    ('<g opacity="0.5"><g opacity="0.5"><circle cx="20" cy="20" r="10"/></g>'
     '<circle cx="25" cy="20" r="10"/></g>', True),
])
def test_group_opacity_is_a_layer(body, layered):
    """Opacity over more than one paint makes a Layer (drawn opaque, then
    faded); over one paint it is folded into that paint, which is exact.
    Neither warns."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, _, _, groups = load(body)
    assert [str(w.message) for w in caught] == []
    assert isinstance(groups[0], pydiffvg.Layer) == layered
    if layered:
        assert math.isclose(float(groups[0].opacity), 0.5)


# ----------------------------------------------------------------------------
# Internal entities: simple ones expand, anything that could blow up is refused
# ----------------------------------------------------------------------------

def _entity_doc(declarations, body):
    return (f'<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
            f'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [{declarations}]>'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">{body}</svg>')


def test_simple_internal_entities_expand():
    text = _entity_doc('<!ENTITY shape "<rect width=\'4\' height=\'4\'/>"><!ENTITY c "green">',
                       '&shape;<circle r="2" fill="&c;"/>&shape;')
    _, _, shapes, groups = svg_to_scene(text)
    assert [type(s).__name__ for s in shapes] == ["Rect", "Circle", "Rect"]
    assert _fill(groups[1]) == pytest.approx(NAMED_COLORS["green"])


@pytest.mark.parametrize("declarations,body", [
    ('<!ENTITY a "x"><!ENTITY b "&a;&a;">', "&b;"),                        # nested
    ('<!ENTITY a "&#38;b;"><!ENTITY b "x">', "&a;"),                       # hidden nesting
    ('<!ENTITY a SYSTEM "file:///etc/passwd">', "&a;"),                    # external
    ('<!ENTITY % p "x">', ""),                                             # parameter
    ('<!ENTITY big "' + "x" * 20000 + '">', "&big;" * 100),                # 2 MB expansion
])
def test_unsafe_entities_are_refused(declarations, body):
    with pytest.raises(SVGError, match="refused"):
        svg_to_scene(_entity_doc(declarations, f"<desc>{body}</desc>"))


def test_transform_origin_applies_to_gradient_transform():
    """SVG 2: gradientTransform is the gradient's transform, so transform-origin
    (here the centre of the 100 × 100 viewport) moves its fixed point."""
    body = ('<radialGradient id="g" gradientUnits="userSpaceOnUse" cx="50" cy="50" r="10" '
            'gradientTransform="scale(2)" transform-origin="center"><stop offset="0"/>'
            '<stop offset="1" stop-color="red"/></radialGradient>'
            '<rect width="100" height="100" fill="url(#g)"/>')
    _, _, _, groups = load(body)
    paint = groups[0].fill_color
    assert paint.center.tolist() == [50, 50] and paint.radius.tolist() == [20, 20]
    _, _, _, groups = load(body.replace(' transform-origin="center"', ""))
    assert groups[0].fill_color.center.tolist() == [100, 100]


# ----------------------------------------------------------------------------
# Stroke caps and joins of basic shapes
# ----------------------------------------------------------------------------

_STROKED_RECT = ('<rect x="25" y="20" width="50" height="60" fill="#f4a261" stroke="#1d3557" '
                 'stroke-width="14" stroke-opacity="0.8" {}/>')


@pytest.mark.parametrize("join", ["miter", "bevel", "round", None])
def test_stroked_rect_joins_match_resvg(join):
    """SVG strokes a rect with miter joins by default; a Rect shape strokes
    with round corners, so a non-round join must come in as a Path."""
    style = f'stroke-linejoin="{join}"' if join else ""
    text = svg(_STROKED_RECT.format(style))
    _, _, shapes, _ = svg_to_scene(text)
    assert type(shapes[0]) is (Rect if join == "round" else Path)
    # right: >= 39.5 dB; a wrong join (e.g. round corners for miter): <= 28.8 dB
    _assert_matches_resvg(text, min_psnr=36.0)


def test_stroked_rect_miter_limit_bevels_like_resvg():
    # a right-angle miter is sqrt(2) stroke widths long: limit 1.2 bevels it
    _assert_matches_resvg(svg(_STROKED_RECT.format('stroke-miterlimit="1.2"')), min_psnr=36.0)


def test_rect_as_path_has_the_rect_fill():
    _, _, shapes, groups = load('<rect x="10.5" y="20" width="30" height="40" fill="red" '
                                'stroke="blue" stroke-width="0.001"/>')
    path = shapes[0]
    assert isinstance(path, Path) and path.is_closed
    assert path.num_control_points.tolist() == [0, 0, 0, 0]
    assert path.line_join == LineJoin.miter
    rect = Rect(torch.tensor([10.5, 20.0]), torch.tensor([40.5, 60.0]))
    fill_only = [ShapeGroup(torch.tensor([0], dtype=torch.int32), groups[0].fill_color)]
    images = [pydiffvg.render([shape], fill_only, width=64, height=72, num_samples=2, seed=1)
              for shape in (rect, path)]
    assert torch.equal(images[0], images[1])


def test_fill_only_and_round_rects_stay_rect_circles_stay_circles():
    body = ('<rect width="10" height="10"/>'
            '<rect width="10" height="10" stroke="none" stroke-linejoin="bevel"/>'
            '<rect width="10" height="10" stroke="red" stroke-width="0"/>'
            '<rect width="10" height="10" fill="none" stroke="red" stroke-linejoin="round"/>'
            '<circle r="5" stroke="red"/><ellipse rx="5" ry="3" stroke="red" '
            'stroke-linejoin="bevel"/>')
    _, _, shapes, _ = load(body)
    assert [type(s).__name__ for s in shapes] == ["Rect", "Rect", "Rect", "Rect", "Circle",
                                                  "Ellipse"]


@pytest.mark.parametrize("cap", ["butt", "square", "round"])
def test_stroked_line_caps_match_resvg(cap):
    text = svg(f'<line x1="20" y1="30" x2="75" y2="70" stroke="#2a9d8f" stroke-width="16" '
               f'stroke-linecap="{cap}"/><line x1="15" y1="85" x2="85" y2="85" stroke="black" '
               f'stroke-width="8" stroke-linecap="{cap}" transform="skewX(-20) translate(25)"/>')
    # right: >= 35.9 dB (antialiasing of the slanted edges); a wrong cap: <= 26.3 dB
    _assert_matches_resvg(text, min_psnr=33.0)


def test_dash_through_the_start_of_a_closed_path_is_one_dash():
    square = Subpath((0.0, 0.0), [((10.0, 0.0),), ((10.0, 10.0),), ((0.0, 10.0),)], True)
    dashes = dash_subpaths([square], [5.0, 0.0], 0.0)
    # 8 dashes of 5; the last (0,5)->(0,0) and the first (0,0)->(5,0) are one
    assert len(dashes) == 7
    assert dashes[-1].start == (0.0, 5.0) and [s[-1] for s in dashes[-1].segments] == [
        (0.0, 0.0), (5.0, 0.0)]
    # starting in a gap (offset 5 of "5 5"), or an open subpath: nothing joined
    assert len(dash_subpaths([square], [5.0, 5.0], 5.0)) == 4
    open_square = Subpath(square.start, square.segments + [((0.0, 0.0),)], False)
    assert len(dash_subpaths([open_square], [5.0, 0.0], 0.0)) == 8


def test_dashed_rect_corner_at_the_start_matches_resvg():
    # resvg fixture painting/stroke-dasharray/n-0: the start corner is a miter
    text = svg('<rect x="20" y="20" width="60" height="60" fill="none" stroke="green" '
               'stroke-width="10" stroke-dasharray="20 0"/>')
    _assert_matches_resvg(text, min_psnr=38.0)


def test_save_svg_writes_the_round_corners_of_a_stroked_rect(tmp_path):
    rect = Rect(torch.tensor([10.0, 10.0]), torch.tensor([50.0, 40.0]),
                stroke_width=torch.tensor(6.0))
    rect.line_join = LineJoin.miter  # not drawn: a Rect strokes with round corners
    groups = [ShapeGroup(torch.tensor([0], dtype=torch.int32), torch.tensor([0.0, 0.5, 0, 1]),
                         stroke_color=torch.tensor([0.0, 0, 1, 1]))]
    out = tmp_path / "rect.svg"
    save_svg(out, 60, 50, [rect], groups)
    assert 'stroke-linejoin="round"' in out.read_text()
    _, _, shapes, groups2 = svg_to_scene(out)
    assert isinstance(shapes[0], Rect)
    images = [pydiffvg.render(s, g, width=60, height=50, num_samples=2, seed=0)
              for s, g in (([rect], groups), (shapes, groups2))]
    assert torch.allclose(images[0], images[1], atol=1e-6)


_FLAT_CURVES = ('<path d="M 15 80 C 15.0001 80 80 15 80.0001 15" fill="none" stroke="#264653" '
                'stroke-width="12"/>'
                '<path d="M 90 10 C 90 20 90.06 90 90 90 H 20" fill="none" stroke="#e76f51" '
                'stroke-width="10" stroke-linejoin="bevel"/>')


def test_flat_curves_stroke_as_lines_like_resvg():
    """A cubic with a handle 1e-4 from its end, or a tiny hook at its end, is
    stroked as lines by resvg (Skia): butt caps across the line, a bevel at
    the corner. The curves' own end tangents would turn them sideways."""
    # right: 38.3 dB; with the curves' end tangents: 27.6 dB
    _assert_matches_resvg(svg(_FLAT_CURVES), min_psnr=35.0)


def test_straighten_flat_curves_only_where_caps_or_joins_show():
    (line_like,), _ = parse_path_data("M 20 160 C 20.0001 160 160 20 160.0001 20")
    straight = straighten_flat_curves(line_like)
    assert all(len(segment) == 1 for segment in straight.segments)
    assert straight.segments[-1] == ((160.0001, 20.0),)
    for point, in straight.segments[:-1]:  # on the chord
        assert abs(point[0] + point[1] - 180.0) < 1e-3
    (curve,), _ = parse_path_data("M 0 0 C 10 1 20 -1 30 0 Q 40 5 50 0")
    assert straighten_flat_curves(curve) == curve
    # a flat curve that turns back keeps its turning point
    (hook,), _ = parse_path_data("M0 0 Q 20 0 10 0")
    assert straighten_flat_curves(hook).segments == [((40.0 / 3.0, 0.0),), ((10.0, 0.0),)]
    # the importer straightens only stroked paths whose caps or joins are not round
    path = 'd="M 20 80 C 20.0001 80 80 20 80.0001 20"'
    for style, curves in (('stroke="red"', False), ('stroke="red" stroke-linecap="round" '
                                                    'stroke-linejoin="round"', True),
                          ('fill="blue"', True)):
        _, _, shapes, _ = load(f'<path {path} {style}/>')
        assert (shapes[0].num_control_points.tolist() == [2]) == curves, style


# ----------------------------------------------------------------------------
# switch and conditional processing, encodings and namespaces (issue #17)
# ----------------------------------------------------------------------------

def _ids(text, **kw):
    return [g.id for g in svg_to_scene(text, **kw)[3]]


@pytest.mark.parametrize("attr,languages,drawn", [
    ('systemLanguage="en"', ["en"], "a"),
    ('systemLanguage="en-US"', ["en"], "a"),      # "en" matches "en-US" and back
    ('systemLanguage="en-GB"', ["en"], "a"),
    ('systemLanguage="en"', ["en-US"], "a"),
    ('systemLanguage="ru, en"', ["en"], "a"),
    ('systemLanguage="ru-RU"', ["en"], "b"),
    ('systemLanguage="ru-RU"', ["ru"], "a"),
    ('systemLanguage="fr"', ["de", "fr-CA"], "a"),
    ('systemLanguage=""', ["en"], "b"),
    ('requiredFeatures="http://www.w3.org/TR/SVG11/feature#Shape"', ["en"], "a"),
    ('requiredExtensions="http://example.org/bogus"', ["en"], "b"),
])
def test_switch_draws_the_first_child_whose_conditions_hold(attr, languages, drawn):
    body = (f'<switch><!-- a comment --><unknown/><rect id="a" width="5" height="5" {attr}/>'
            f'<rect id="b" width="5" height="5"/><rect id="c" width="5" height="5"/></switch>')
    assert _ids(svg(body), languages=languages) == [drawn]


def test_switch_chooses_a_hidden_child_and_draws_nothing():
    body = ('<switch><rect id="a" width="5" height="5" display="none"/>'
            '<rect id="b" width="5" height="5"/></switch>')
    assert _ids(svg(body)) == []


def test_conditional_attributes_outside_switch():
    body = ('<rect id="a" width="5" height="5" systemLanguage="de"/>'
            '<g systemLanguage="en"><rect id="b" width="5" height="5"/></g>')
    assert _ids(svg(body)) == ["b"]
    assert _ids(svg(body), languages=["de", "en"]) == ["a", "b"]
    assert _ids(svg(body), languages="de") == ["a"]


def test_switch_renders_like_resvg():
    text = svg('<switch fill="green" transform="scale(1.5)">'
               '<rect x="5" y="5" width="40" height="40" fill="red" systemLanguage="ru"/>'
               '<g><rect x="5" y="5" width="40" height="40"/><circle cx="40" cy="40" r="10" fill="blue"/></g>'
               '<rect x="5" y="5" width="40" height="40" fill="red"/></switch>')
    _assert_matches_resvg(text)


@pytest.mark.parametrize("encoding,text", [
    ("windows-1251", "Привет"), ("koi8-r", "Привет"), ("iso-8859-1", "café"), ("utf-16", "日本"),
    ("utf-16-be", "日本"), ("utf-32", "日本"), ("shift_jis", "日本"), ("gb2312", "日本"), ("utf-8", "日本")])
def test_any_declared_encoding(encoding, text):
    """The declared encoding decides how the bytes decode (expat alone knows
    only UTF-8, UTF-16 and single-byte encodings)."""
    source = (f'<?xml version="1.0" encoding="{encoding}"?>'
              f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
              f'<rect id="{text}" width="5" height="5"/></svg>')
    assert _ids(source.encode(encoding)) == [text]
    assert _ids(source) == [text]  # text already decoded: the declaration no longer applies


def test_byte_order_mark_and_bad_bytes():
    source = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect id="x" width="5" height="5"/></svg>'
    assert _ids(b"\xef\xbb\xbf" + source.encode()) == ["x"]
    assert _ids(b"\xff\xfe" + source.encode("utf-16-le")) == ["x"]
    with pytest.raises(SVGError, match="not valid"):
        svg_to_scene(b'<?xml version="1.0" encoding="shift_jis"?>' + source.encode()[:-6] + b"\xff\xff</svg>")


def test_prefixed_and_mixed_namespaces():
    text = ('<svg:svg xmlns:svg="http://www.w3.org/2000/svg" xmlns:foo="urn:foo" '
            'xmlns:l="http://www.w3.org/1999/xlink" width="100" height="100">'
            '<svg:rect id="a" width="10" height="10"/>'
            '<foo:group><svg:rect id="hidden" width="10" height="10"/></foo:group>'
            '<g xmlns="http://www.w3.org/2000/svg"><circle id="b" cx="5" cy="5" r="4"/>'
            '<use id="c" l:href="#a" x="20"/></g></svg:svg>')
    assert _ids(text) == ["a", "b", "a"]


def test_svg_without_size_takes_the_viewbox_or_100_percent():
    assert svg_to_scene('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 30"/>')[:2] == (40, 30)
    assert svg_to_scene('<svg xmlns="http://www.w3.org/2000/svg" width="50%" viewBox="0 0 40 30"/>')[:2] \
        == (20, 30)
    assert svg_to_scene('<svg xmlns="http://www.w3.org/2000/svg"/>')[:2] == (100, 100)
    text = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 30"><rect width="20" height="30"/></svg>'
    _assert_matches_resvg(text, size=80)


def test_languages_argument_is_checked():
    with pytest.raises(TypeError, match="languages"):
        svg_to_scene(svg(""), languages=5)
