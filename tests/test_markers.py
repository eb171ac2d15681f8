"""SVG markers (pydiffvg/svg/markers.py): vertex directions against closed
forms, and rendered files against resvg-py (an independent renderer)."""
import io
import math
import warnings

import numpy as np
import pytest

import pydiffvg
from pydiffvg.svg import svg_to_scene
from pydiffvg.svg.markers import paint_order, vertices
from pydiffvg.svg.paths import parse_path_data


def _render_ours(text, size, samples=4):
    cw, ch, shapes, groups = svg_to_scene(text)
    height = max(1, int(round(size * ch / cw)))
    if not shapes:
        return np.ones((height, size, 3))
    image = pydiffvg.render(shapes, groups, width=size, height=height, canvas_width=cw,
                            canvas_height=ch, num_samples=samples, seed=0).detach().double().numpy()
    return image[..., :3] * image[..., 3:] + (1.0 - image[..., 3:])


def _render_resvg(text, size, height):
    resvg_py = pytest.importorskip("resvg_py")
    from PIL import Image
    png = resvg_py.svg_to_bytes(svg_string=text, width=size, height=height)
    rgba = np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGBA"), dtype=np.float64) / 255.0
    return rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])


def _psnr(a, b):
    a8, b8 = np.round(np.clip(a, 0, 1) * 255.0), np.round(np.clip(b, 0, 1) * 255.0)
    mse = float(np.mean((a8 - b8) ** 2))
    return float("inf") if mse == 0.0 else 10.0 * math.log10(255.0 ** 2 / mse)


def _assert_matches_resvg(text, size=150, min_psnr=32.0):
    ours = _render_ours(text, size)
    ref = _render_resvg(text, size, ours.shape[0])
    value = _psnr(ours, ref)
    assert value >= min_psnr, f"PSNR against resvg {value:.2f} dB < {min_psnr}"
    # the markers must have drawn something: the file without them differs
    bare = _render_ours(text.replace("marker-", "data-marker-"), size)
    assert _psnr(bare, ref) < value - 3.0, "the markers made no difference"


def _svg(body, size=100):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'viewBox="0 0 {size} {size}">{body}</svg>')


ARROW = ('<marker id="m" refX="5" refY="5" markerWidth="10" markerHeight="10" orient="{orient}" '
         '{extra}><path d="M 0 0 L 10 5 L 0 10 Z" fill="{fill}"/></marker>')


def _angles(d):
    subpaths, error = parse_path_data(d)
    assert error is None
    return [(tuple(round(c, 9) for c in point), round(angle, 6), where)
            for point, angle, where in vertices(subpaths)]


# ----------------------------------------------------------------------------
# Directions: closed forms
# ----------------------------------------------------------------------------

def test_vertex_angles_are_bisectors_of_lines():
    got = _angles("M 0 0 L 10 0 L 10 10")
    assert got == [((0, 0), 0.0, "start"), ((10, 0), 45.0, "mid"), ((10, 10), 90.0, "end")]


def test_vertex_angles_of_curves_use_the_end_tangents():
    # C: start tangent (1, 2) - (0, 0); end tangent (10, 0) - (6, 3)
    got = _angles("M 0 0 C 1 2 6 3 10 0")
    assert got[0][1] == pytest.approx(math.degrees(math.atan2(2, 1)))
    assert got[1][1] == pytest.approx(math.degrees(math.atan2(-3, 4)))
    # a control point on the start point: the next one gives the direction
    got = _angles("M 0 0 C 0 0 0 5 10 5")
    assert got[0][1] == pytest.approx(90.0)


def test_zero_length_segments_take_the_neighbours_direction():
    # the zero-length L 10 0 starts in the direction of the segment before it
    # and ends in the direction of the one after it
    got = _angles("M 0 0 L 10 0 L 10 0 L 10 10")
    assert [a for _, a, _ in got] == pytest.approx([0.0, 0.0, 90.0, 90.0])
    # a path of zero length points along +x, and a single vertex gets both markers
    assert [(a, w) for _, a, w in _angles("M 5 5 L 5 5")] == [(0.0, "start"), (0.0, "end")]


def test_closed_subpath_has_a_vertex_at_the_close():
    got = _angles("M 0 0 L 10 0 L 10 10 Z")
    assert [p for p, _, _ in got] == [(0, 0), (10, 0), (10, 10), (0, 0)]
    assert got[-1][1] == pytest.approx(-135.0)  # arriving along the closing line


def test_arc_is_one_command():
    got = _angles("M 0 0 A 10 10 0 0 1 20 0")
    assert len(got) == 2
    assert got[0][1] == pytest.approx(-90.0) and got[1][1] == pytest.approx(90.0)


def test_paint_order_keywords():
    assert paint_order({"paint-order": "markers"}) == ["markers", "fill", "stroke"]
    assert paint_order({"paint-order": "stroke markers"}) == ["stroke", "markers", "fill"]
    assert paint_order({"paint-order": "stroke stroke"}) == ["fill", "stroke", "markers"]
    assert paint_order({"paint-order": "stroke qwe"}) == ["fill", "stroke", "markers"]


# ----------------------------------------------------------------------------
# Rendering against resvg
# ----------------------------------------------------------------------------

PATH = ('<path d="M 15 20 C 40 5 60 35 85 20 L 80 80 Q 50 95 20 80" fill="none" stroke="black" '
        'stroke-width="2" marker-start="url(#m)" marker-mid="url(#m)" marker-end="url(#m)"/>')


@pytest.mark.parametrize("orient", ["auto", "auto-start-reverse", "30", "0.5rad", "auto"])
def test_orient_like_resvg(orient):
    text = _svg(ARROW.format(orient=orient, extra="", fill="blue") + PATH)
    _assert_matches_resvg(text)


@pytest.mark.parametrize("extra", ['markerUnits="userSpaceOnUse"',
                                   'viewBox="0 0 20 10" preserveAspectRatio="xMidYMid meet"',
                                   'viewBox="0 0 20 10" preserveAspectRatio="none"',
                                   'overflow="visible"'])
def test_marker_viewport_like_resvg(extra):
    marker = ('<marker id="m" refX="5" refY="5" markerWidth="10" markerHeight="10" orient="auto" '
              f'{extra}><rect x="-4" y="-2" width="18" height="14" fill="green" opacity="0.8"/>'
              '<circle cx="5" cy="5" r="3" fill="red"/></marker>')
    _assert_matches_resvg(_svg(marker + PATH))


def test_context_fill_and_stroke_in_markers_like_resvg():
    marker = ('<marker id="m" refX="5" refY="5" markerWidth="12" markerHeight="12" orient="auto">'
              '<path d="M 1 1 L 9 5 L 1 9 Z" fill="context-stroke" stroke="context-fill"/></marker>')
    shape = ('<polyline points="15,15 50,40 85,15 85,85" fill="yellow" stroke="purple" stroke-width="3" '
             'marker-start="url(#m)" marker-mid="url(#m)" marker-end="url(#m)"/>')
    _assert_matches_resvg(_svg(marker + shape))


@pytest.mark.parametrize("shape", [
    '<line x1="10" y1="10" x2="90" y2="60" stroke="black" {m}/>',
    '<polygon points="20,20 80,30 50,85" fill="#ccc" stroke="black" {m}/>',
    '<path d="M 20 20 L 80 20 L 80 80 Z M 30 50 L 60 50" fill="none" stroke="black" {m}/>',
    '<path d="M 20 50 L 20 50 L 80 50" fill="none" stroke="black" stroke-width="3" {m}/>',
])
def test_markable_elements_like_resvg(shape):
    m = 'marker-start="url(#m)" marker-mid="url(#m)" marker-end="url(#m)"'
    text = _svg(ARROW.format(orient="auto", extra="", fill="blue") + shape.format(m=m))
    _assert_matches_resvg(text)


@pytest.mark.parametrize("order", ["markers", "stroke markers fill", "fill markers stroke"])
def test_paint_order_with_markers_like_resvg(order):
    marker = ('<marker id="m" refX="5" refY="5" markerWidth="10" markerHeight="10" '
              'markerUnits="userSpaceOnUse"><rect width="10" height="10" fill="blue"/></marker>')
    shape = (f'<path d="M 20 20 L 80 20 L 80 80" fill="orange" stroke="green" stroke-width="8" '
             f'paint-order="{order}" marker-start="url(#m)" marker-mid="url(#m)" marker-end="url(#m)"/>')
    _assert_matches_resvg(_svg(marker + shape))


def test_marker_shorthand_in_css_and_inheritance():
    """``marker`` in a style sheet sets all three, inherited from a group: the
    same image as the three attributes on the path."""
    head = ARROW.format(orient="auto", extra="", fill="blue")
    path = '<path d="M 20 20 L 80 50 L 20 80" fill="none" stroke="black"{}/>'
    text = _svg('<style>g { marker: url(#m) }</style>' + head + '<g>' + path.format("") + '</g>')
    explicit = _svg(head + path.format(' marker-start="url(#m)" marker-mid="url(#m)" marker-end="url(#m)"'))
    _assert_matches_resvg(explicit)
    assert np.array_equal(_render_ours(text, 100), _render_ours(explicit, 100))


def test_recursive_marker_terminates():
    text = _svg('<marker id="m" refX="5" refY="5" markerWidth="10" markerHeight="10" overflow="visible">'
                '<path d="M 0 0 L 10 10" stroke="red" marker-end="url(#m)"/></marker>'
                '<path d="M 20 20 L 80 80" stroke="black" marker-end="url(#m)"/>')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, _, shapes, groups = svg_to_scene(text)
    assert len(groups) == 2  # the path and one marker instance, not an endless nest


def test_zero_stroke_width_draws_no_markers():
    """markerUnits=strokeWidth scales by the stroke width: 0 draws nothing."""
    text = _svg(ARROW.format(orient="auto", extra="", fill="blue")
                + '<path d="M 20 20 L 80 80 L 20 80" stroke="black" stroke-width="{}" marker-end="url(#m)"/>')
    assert len(svg_to_scene(text.format(0))[3]) == 1  # the path's fill only
    assert len(svg_to_scene(text.format(1))[3]) == 2  # its fill and stroke, and the marker


def test_marker_fixtures_pass_rate():
    """painting/marker fixtures: at least 90% at >= 30 dB (issue #17)."""
    import os
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    folder = os.path.normpath(os.path.join(here, "..", "..", "shared", "fixtures", "resvg", "painting",
                                           "marker"))
    if not os.path.isdir(folder):
        pytest.skip("resvg fixtures not present")
    sys.path.insert(0, os.path.join(here, "..", "benchmarks"))
    try:
        import svg_fidelity as fidelity
    finally:
        sys.path.pop(0)
    passed = total = 0
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".svg"):
            continue
        total += 1
        path = os.path.join(folder, name)
        scene, reason, warns = fidelity.load_scene(path)
        if scene is None or any(fidelity.is_unsupported_warning(w) for w in warns):
            continue
        ref = fidelity.load_png(path[:-4] + ".png")
        img = fidelity.render_scene(scene, ref.shape[1], 4)
        if img.shape[:2] == ref.shape[:2] and fidelity.psnr(fidelity.over_white(img),
                                                            fidelity.over_white(ref)) >= 30.0:
            passed += 1
    assert total > 0 and passed / total >= 0.9, f"{passed}/{total} marker fixtures pass"


@pytest.mark.parametrize("gradient", [
    '<linearGradient id="g" gradientTransform="rotate(90)"><stop offset="0" stop-color="white"/>'
    '<stop offset="0.5" stop-color="red"/><stop offset="1" stop-color="green"/></linearGradient>',
    '<radialGradient id="g" fx="0.4" fy="0.3"><stop offset="0" stop-color="yellow"/>'
    '<stop offset="1" stop-color="blue"/></radialGradient>'])
def test_context_gradient_uses_the_context_elements_space(gradient):
    """A context paint naming a gradient is drawn in the context element's
    user space and bounding box (SVG 2 context paint): the use element's for
    its shadow tree, the shape's for its markers."""
    use = ('<defs><g id="c"><rect x="10" y="10" width="30" height="30" fill="context-fill"/>'
           '<path transform="rotate(90 50 50)" d="M 30 20 L 70 30 L 40 60 Z" fill="context-fill"/></g></defs>'
           '<use href="#c" fill="url(#g)"/>')
    marker = ('<marker id="m" markerWidth="30" markerHeight="30" refX="15" refY="15" markerUnits="userSpaceOnUse">'
              '<rect width="30" height="30" fill="context-stroke"/></marker>'
              '<path d="M 60 60 L 85 85" stroke="url(#g)" stroke-width="4" marker-end="url(#m)"/>')
    _assert_matches_resvg(_svg(gradient + use + marker), min_psnr=30.0)


def test_marker_expansion_is_bounded():
    """A polyline with 30,000 vertices and a marker on each: the markers stop
    at the use/marker expansion budget with a warning; nothing raises."""
    from pydiffvg.svg.parser import MAX_USE_EXPANDED
    points = " ".join(f"{i % 100},{(i // 100) % 100}" for i in range(30000))
    text = _svg('<marker id="m" markerWidth="2" markerHeight="2"><rect width="1" height="1"/></marker>'
                f'<polyline points="{points}" fill="none" stroke="black" marker-mid="url(#m)"/>')
    with pytest.warns(UserWarning, match="markers"):
        _, _, shapes, groups = svg_to_scene(text)
    assert 1000 < len(groups) <= MAX_USE_EXPANDED + 1
