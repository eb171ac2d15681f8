"""SVG filter primitives (pydiffvg/filters.py) and their SVG import
(pydiffvg/svg/filters.py): closed forms and numpy references, central-
difference gradients, renders against resvg-py, bad input, and the resvg
fixture pass rate through tests/tree_harness.py."""
import glob
import io
import math
import os
import warnings

import numpy as np
import pytest
import torch

import pydiffvg
from pydiffvg import filters as fx
from pydiffvg.svg.filters import build_filter

import tree_harness as th

HERE = os.path.dirname(__file__)
FIXTURES = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "fixtures", "resvg"))


def ctx_for(img, origin=(0.0, 0.0), scale=(1.0, 1.0)):
    return fx.FilterContext(img.shape[0], img.shape[1], origin, scale, None, img.dtype, img.device)


def square(h=40, w=48, color=(0.2, 0.6, 0.3, 1.0), box=(10, 12, 30, 34)):
    img = torch.zeros(h, w, 4, dtype=torch.float64)
    c = torch.tensor(color, dtype=torch.float64)
    img[box[0]:box[1], box[2]:box[3]] = torch.cat([c[:3] * c[3], c[3:]])
    return img


def rel_close(analytic, numeric, rel, abs_tol=1e-6, what=""):
    err = abs(analytic - numeric)
    assert err <= rel * abs(numeric) + abs_tol, \
        f"{what}: autograd {analytic:.6g} vs central difference {numeric:.6g} (err {err:.3g})"


# ----------------------------------------------------------------------------
# Closed forms and numpy references
# ----------------------------------------------------------------------------

def test_small_blur_is_the_sampled_gaussian():
    img = torch.zeros(1, 41, 1, dtype=torch.float64)
    img[0, 20, 0] = 1.0
    sigma = 1.5
    out = fx.gaussian_blur(img, sigma, 0.0)[0, :, 0].numpy()
    d = np.arange(-20, 21)
    ref = np.exp(-0.5 * (d / sigma) ** 2) * (np.abs(d) <= math.ceil(3 * sigma))
    ref /= ref.sum()
    assert np.abs(out - ref).max() < 1e-12, np.abs(out - ref).max()


@pytest.mark.parametrize("sigma", [2.0, 5.0, 12.3])
def test_box_blur_has_the_gaussian_variance_and_mass(sigma):
    n = 301
    img = torch.zeros(1, n, 1, dtype=torch.float64)
    img[0, n // 2, 0] = 1.0
    out = fx.gaussian_blur(img, sigma, 0.0)[0, :, 0].numpy()
    d = np.arange(n) - n // 2
    mass = out.sum()
    variance = (out * d ** 2).sum() / mass
    assert abs(mass - 1.0) < 1e-9, mass
    assert abs(variance - sigma ** 2) < 1e-6 * sigma ** 2, (variance, sigma ** 2)
    assert (out >= -1e-15).all()


def test_huge_blur_radius_is_bounded_and_finite():
    img = square(64, 64)
    out = fx.gaussian_blur(img, 1e6, 1e6)
    assert torch.isfinite(out).all()
    # a box of width ~2e6 over a 64-px image: each pass keeps mass/width
    assert float(out.abs().max()) < 1e-9
    big = torch.rand(1024, 1024, 4)
    assert torch.isfinite(fx.gaussian_blur(big, 1e6, 3e5)).all()


def test_offset_integer_shift_is_exact():
    img = square()
    out = fx.Offset(3.0, -2.0).run(ctx_for(img), [img], None)
    ref = torch.zeros_like(img)
    ref[:-2, 3:] = img[2:, :-3]
    assert torch.equal(out, ref)


def test_composite_operators_match_porter_duff():
    a = square(color=(0.9, 0.1, 0.1, 0.8), box=(5, 25, 5, 25))
    b = square(color=(0.1, 0.2, 0.9, 0.6), box=(15, 35, 15, 40))
    aa, ab = a[..., 3:], b[..., 3:]
    refs = {"over": a + b * (1 - aa), "in": a * ab, "out": a * (1 - ab),
            "atop": a * ab + b * (1 - aa), "xor": a * (1 - ab) + b * (1 - aa)}
    for op, ref in refs.items():
        out = fx.Composite(op).run(ctx_for(a), [a, b], None)
        assert torch.allclose(out, ref, atol=1e-12), op
    k = (0.5, 0.3, 0.4, 0.05)
    out = fx.Composite("arithmetic", k).run(ctx_for(a), [a, b], None)
    ref = (k[0] * a * b + k[1] * a + k[2] * b + k[3]).clamp(0, 1)
    ref[..., :3] = torch.minimum(ref[..., :3], ref[..., 3:])
    assert torch.allclose(out, ref, atol=1e-12)


def test_color_matrix_kinds():
    rgb = np.array([0.8, 0.3, 0.1])
    img = torch.tensor(np.concatenate([rgb * 0.5, [0.5]]), dtype=torch.float64).view(1, 1, 4)
    ctx = ctx_for(img)
    s = 0.4
    sat = np.array([[0.213 + 0.787 * s, 0.715 - 0.715 * s, 0.072 - 0.072 * s],
                    [0.213 - 0.213 * s, 0.715 + 0.285 * s, 0.072 - 0.072 * s],
                    [0.213 - 0.213 * s, 0.715 - 0.715 * s, 0.072 + 0.928 * s]])
    out = fx.ColorMatrix(fx.color_matrix_for("saturate", s).double()).run(ctx, [img], None)
    assert np.allclose(out[0, 0, :3].numpy() / 0.5, np.clip(sat @ rgb, 0, 1), atol=1e-6)
    lum = fx.ColorMatrix(fx.color_matrix_for("luminanceToAlpha").double()).run(ctx, [img], None)
    assert abs(float(lum[0, 0, 3]) - float(np.dot([0.2125, 0.7154, 0.0721], rgb))) < 1e-6
    assert float(lum[0, 0, :3].abs().max()) == 0.0
    # hueRotate(0) is the identity
    out = fx.ColorMatrix(fx.color_matrix_for("hueRotate", 0.0).double()).run(ctx, [img], None)
    assert torch.allclose(out, img, atol=1e-6)


def test_component_transfer_functions():
    c = torch.linspace(0, 1, 11, dtype=torch.float64)
    table = fx.ComponentTransfer.transfer(c, ("table", [0.0, 1.0, 0.5]))
    ref = np.interp(c.numpy(), [0, 0.5, 1.0], [0.0, 1.0, 0.5])
    assert np.allclose(table.numpy(), ref)
    disc = fx.ComponentTransfer.transfer(c, ("discrete", [0.2, 0.8]))
    assert np.allclose(disc.numpy(), np.where(c.numpy() < 0.5, 0.2, 0.8))
    gamma = fx.ComponentTransfer.transfer(c, ("gamma", 2.0, 3.0, 0.1))
    assert np.allclose(gamma.numpy(), 2.0 * c.numpy() ** 3 + 0.1)


def test_blend_modes_against_formulas():
    rng = np.random.default_rng(1)
    cs, cb = rng.random((8, 3)), rng.random((8, 3))
    a_s, a_b = rng.random((8, 1)), rng.random((8, 1))
    src = torch.tensor(np.concatenate([cs * a_s, a_s], 1))
    dst = torch.tensor(np.concatenate([cb * a_b, a_b], 1))
    forms = {"multiply": cb * cs, "screen": cb + cs - cb * cs, "darken": np.minimum(cb, cs),
             "lighten": np.maximum(cb, cs), "difference": np.abs(cb - cs),
             "exclusion": cb + cs - 2 * cb * cs}
    for mode, b in forms.items():
        out = fx.blend_images(dst, src, mode).numpy()
        ref_rgb = (1 - a_b) * cs * a_s + (1 - a_s) * cb * a_b + a_s * a_b * b
        assert np.allclose(out[:, :3], ref_rgb, atol=1e-6), mode
        assert np.allclose(out[:, 3:], a_s + a_b - a_s * a_b)


def test_morphology_matches_min_max_filter():
    rng = np.random.default_rng(2)
    img = torch.tensor(rng.random((12, 14, 4)))
    for op in ("erode", "dilate"):
        out = fx.Morphology(op, 2.0, 1.0).run(ctx_for(img), [img], None).numpy()
        pad = np.zeros((12 + 4, 14 + 6, 4))
        pad[2:-2, 3:-3] = img.numpy()
        ref = np.empty_like(out)
        for y in range(12):
            for x in range(14):
                # window offsets -r .. r - 1 (resvg), transparent outside
                win = np.zeros((2, 4, 4))
                for dy in range(-1, 1):
                    for dx in range(-2, 2):
                        yy, xx = y + dy, x + dx
                        inside = 0 <= yy < 12 and 0 <= xx < 14
                        win[dy + 1, dx + 2] = img.numpy()[yy, xx] if inside else 0.0
                ref[y, x] = win.reshape(-1, 4).min(0) if op == "erode" else win.reshape(-1, 4).max(0)
        assert np.allclose(out, ref), op


def test_convolve_matrix_against_direct_sum():
    rng = np.random.default_rng(3)
    src = rng.random((9, 11, 4))
    src[..., :3] *= src[..., 3:]
    img = torch.tensor(src)
    kernel = rng.random((3, 2))
    prim = fx.ConvolveMatrix(kernel, divisor=2.0, bias=0.0, target=(1, 2), edge_mode="none")
    out = prim.run(ctx_for(img), [img], None).numpy()
    ref = np.zeros_like(src)
    for y in range(9):
        for x in range(11):
            acc = np.zeros(4)
            for i in range(3):
                for j in range(2):
                    yy, xx = y - 2 + i, x - 1 + j
                    if 0 <= yy < 9 and 0 <= xx < 11:
                        acc += src[yy, xx] * kernel[2 - i, 1 - j]
            ref[y, x] = acc / 2.0
    ref[..., 3] = np.clip(ref[..., 3], 0, 1)
    ref[..., :3] = np.minimum(np.clip(ref[..., :3], 0, None), ref[..., 3:])
    assert np.allclose(out, ref, atol=1e-9)


def _noise2_scalar(channel, x, y, selector, gradient):
    """The spec's noise2 for one point (no stitching), written plainly."""
    t = x + 4096
    bx0 = int(t) & 255
    bx1 = (bx0 + 1) & 255
    rx0 = t - int(t)
    rx1 = rx0 - 1
    t = y + 4096
    by0 = int(t) & 255
    by1 = (by0 + 1) & 255
    ry0 = t - int(t)
    ry1 = ry0 - 1
    i, j = selector[bx0], selector[bx1]
    b00, b10, b01, b11 = selector[i + by0], selector[j + by0], selector[i + by1], selector[j + by1]
    sx, sy = rx0 * rx0 * (3 - 2 * rx0), ry0 * ry0 * (3 - 2 * ry0)
    g = gradient[channel]
    u, v = rx0 * g[b00][0] + ry0 * g[b00][1], rx1 * g[b10][0] + ry0 * g[b10][1]
    a = u + sx * (v - u)
    u, v = rx0 * g[b01][0] + ry1 * g[b01][1], rx1 * g[b11][0] + ry1 * g[b11][1]
    b = u + sx * (v - u)
    return a + sy * (b - a)


def test_turbulence_vectorised_equals_scalar_reference():
    from pydiffvg import filter_effects as fe
    selector, gradient = fe._lattice(7)
    assert sorted(selector[:256].tolist()) == list(range(256))
    rng = np.random.default_rng(4)
    px, py = rng.random(50) * 300, rng.random(50) * 300
    for channel in range(4):
        vec = fe._noise2(channel, px * 0.05, py * 0.05, selector, gradient, None)
        ref = [_noise2_scalar(channel, x * 0.05, y * 0.05, selector, gradient) for x, y in zip(px, py)]
        assert np.allclose(vec, ref, atol=1e-12)


# ----------------------------------------------------------------------------
# Gradients (central differences)
# ----------------------------------------------------------------------------

def _loss(img):
    weights = torch.linspace(0.2, 1.0, img.numel(), dtype=img.dtype).view_as(img)
    return (img * weights).sum()


@pytest.mark.parametrize("sigma0", [1.3, 3.7])
def test_blur_std_deviation_gradient(sigma0):
    img = square()
    sigma = torch.tensor(sigma0, dtype=torch.float64, requires_grad=True)
    graph = fx.FilterGraph([fx.GaussianBlur(sigma, color_space="sRGB")])
    loss = _loss(graph.apply(img))
    loss.backward()
    h = 1e-4
    with torch.no_grad():
        plus = _loss(fx.FilterGraph([fx.GaussianBlur(sigma0 + h, color_space="sRGB")]).apply(img))
        minus = _loss(fx.FilterGraph([fx.GaussianBlur(sigma0 - h, color_space="sRGB")]).apply(img))
    rel_close(float(sigma.grad), float(plus - minus) / (2 * h), 1e-3, what=f"d/dsigma at {sigma0}")


def test_color_matrix_values_gradient():
    img = square(color=(0.7, 0.4, 0.2, 0.9))
    values = torch.tensor(np.eye(4, 5).reshape(-1) * 0.8 + 0.05, dtype=torch.float64,
                          requires_grad=True)
    loss = _loss(fx.FilterGraph([fx.ColorMatrix(values.view(4, 5))]).apply(img))
    loss.backward()
    h = 1e-6
    for k in (0, 1, 4, 6, 12, 18):
        with torch.no_grad():
            vp, vm = values.clone(), values.clone()
            vp[k] += h
            vm[k] -= h
            numeric = (_loss(fx.FilterGraph([fx.ColorMatrix(vp.view(4, 5))]).apply(img)) -
                       _loss(fx.FilterGraph([fx.ColorMatrix(vm.view(4, 5))]).apply(img))) / (2 * h)
        rel_close(float(values.grad[k]), float(numeric), 1e-4, what=f"matrix value {k}")


def test_offset_dx_gradient():
    img = fx.gaussian_blur(square(), 1.5, 1.5)   # smooth content: the shift is differentiable
    dx = torch.tensor(2.3, dtype=torch.float64, requires_grad=True)
    loss = _loss(fx.FilterGraph([fx.Offset(dx, 0.0, color_space="sRGB")]).apply(img))
    loss.backward()
    h = 1e-5

    def at(v):
        t = torch.tensor(v, dtype=torch.float64, requires_grad=True)
        return float(_loss(fx.FilterGraph([fx.Offset(t, 0.0, color_space="sRGB")]).apply(img)).detach())
    rel_close(float(dx.grad), (at(2.3 + h) - at(2.3 - h)) / (2 * h), 1e-4, what="d/ddx")


def test_flood_color_and_drop_shadow_gradients():
    img = square()
    color = torch.tensor([0.2, 0.5, 0.7, 0.8], dtype=torch.float64, requires_grad=True)
    std = torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
    graph = fx.FilterGraph([fx.DropShadow(3.0, 2.0, std, None, color)])
    _loss(graph.apply(img)).backward()
    h = 1e-6
    for k in range(4):
        c1, c2 = color.detach().clone(), color.detach().clone()
        c1[k] += h
        c2[k] -= h
        numeric = (_loss(fx.FilterGraph([fx.DropShadow(3.0, 2.0, 2.5, None, c1)]).apply(img)) -
                   _loss(fx.FilterGraph([fx.DropShadow(3.0, 2.0, 2.5, None, c2)]).apply(img))) / (2 * h)
        rel_close(float(color.grad[k]), float(numeric), 1e-4, what=f"shadow colour {k}")
    h = 1e-4
    numeric = (_loss(fx.FilterGraph([fx.DropShadow(3.0, 2.0, 2.5 + h, None, color.detach())]).apply(img)) -
               _loss(fx.FilterGraph([fx.DropShadow(3.0, 2.0, 2.5 - h, None, color.detach())]).apply(img))) / (2 * h)
    rel_close(float(std.grad), float(numeric), 1e-3, what="shadow stdDeviation")


def test_gradient_reaches_the_source_through_lighting():
    img = fx.gaussian_blur(square(), 2.0, 2.0).requires_grad_(True)
    prim = fx.DiffuseLighting(fx.PointLight(24.0, 20.0, 30.0), surface_scale=3.0, color_space="sRGB")
    graph = fx.FilterGraph([prim])
    _loss(graph.apply(img)).backward()
    k = (20, 11, 3)
    h = 1e-6
    with torch.no_grad():
        a, b = img.detach().clone(), img.detach().clone()
        a[k] += h
        b[k] -= h
        numeric = (_loss(graph.apply(a)) - _loss(graph.apply(b))) / (2 * h)
    rel_close(float(img.grad[k]), float(numeric), 1e-3, abs_tol=1e-5, what="lighting source alpha")


# ----------------------------------------------------------------------------
# SVG import against resvg-py (an independent renderer)
# ----------------------------------------------------------------------------

resvg_py = pytest.importorskip("resvg_py")


def resvg_rgba(svg, w, h):
    from PIL import Image
    png = resvg_py.svg_to_bytes(svg_string=svg, width=w, height=h)
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGBA"), dtype=np.float64) / 255.0


def doc(defs, body, w=120, h=100):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'width="{w}" height="{h}" viewBox="0 0 {w} {h}"><defs>{defs}</defs>{body}</svg>')


SHAPES = ('<rect x="20" y="20" width="50" height="40" fill="seagreen"/>'
          '<circle cx="75" cy="55" r="22" fill="#e08020" fill-opacity="0.8"/>')

CASES = {
    "blur": '<feGaussianBlur stdDeviation="3 1.5"/>',
    "offset-flood-composite": '<feFlood flood-color="navy" flood-opacity="0.6" result="f"/>'
                              '<feOffset in="SourceGraphic" dx="6" dy="4" result="o"/>'
                              '<feComposite in="f" in2="o" operator="in"/>',
    "color-matrix": '<feColorMatrix type="hueRotate" values="120"/>',
    "component-transfer": '<feComponentTransfer><feFuncR type="gamma" amplitude="1.2" exponent="0.6"/>'
                          '<feFuncB type="table" tableValues="1 0 0.5"/></feComponentTransfer>',
    "merge-blend": '<feGaussianBlur stdDeviation="2" result="b"/><feOffset dx="5" result="o"/>'
                   '<feBlend in="o" in2="SourceGraphic" mode="multiply" result="m"/>'
                   '<feMerge><feMergeNode in="b"/><feMergeNode in="m"/></feMerge>',
    "morphology": '<feMorphology operator="dilate" radius="2 1"/>',
    "turbulence": '<feTurbulence type="fractalNoise" baseFrequency="0.05" numOctaves="2" seed="3"/>',
    "diffuse-point": '<feDiffuseLighting surfaceScale="4" lighting-color="#ffeecc">'
                     '<fePointLight x="40" y="30" z="40"/></feDiffuseLighting>',
    "specular-distant": '<feSpecularLighting in="SourceAlpha" surfaceScale="3" specularExponent="8" '
                        'result="s"><feDistantLight azimuth="45" elevation="40"/></feSpecularLighting>'
                        '<feComposite in="s" in2="SourceGraphic" operator="in"/>',
    "drop-shadow": '<feDropShadow dx="4" dy="3" stdDeviation="2" flood-color="purple"/>',
    "subregion": '<feFlood flood-color="gold" x="30" y="25" width="40" height="30"/>',
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_filter_renders_like_resvg(name):
    svg = doc(f'<filter id="f" x="0" y="0" width="120" height="100" filterUnits="userSpaceOnUse">'
              f'{CASES[name]}</filter>', f'<g filter="url(#f)">{SHAPES}</g>')
    ref = resvg_rgba(svg, 120, 100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = th.render_svg(svg, width=120).detach().numpy()
    value = th.psnr_over_white(ours, ref)
    assert value >= 30.0, f"{name}: PSNR {value:.1f} dB against resvg"


# ----------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------

def _loader(svg, strict=False):
    from pydiffvg.svg.parser import _Loader
    from pydiffvg.svg.xmlsource import parse_xml, read_source
    root = parse_xml(read_source(svg))
    return _Loader(root, strict), root


def _elem(loader, root, ident):
    return loader.ids[ident]


def test_result_cycles_fall_back_to_the_previous_result():
    # b names "a", defined after it; a names "b": neither forms a cycle, an
    # unknown (or later) result is the previous result (resvg, usvg)
    svg = doc('<filter id="f"><feOffset in="b" dx="1" result="a"/>'
              '<feOffset in="a" dx="2" result="b"/><feOffset in="c" dx="4"/></filter>',
              '<rect id="r" x="10" y="10" width="20" height="20" filter="url(#f)"/>')
    loader, root = _loader(svg)
    graph = build_filter(loader, "url(#f)", _elem(loader, root, "r"), (10, 10, 30, 30), np.eye(3),
                         (120, 100))
    inputs = [p.inputs[0] for p in graph.primitives]
    assert inputs == ["SourceGraphic", "a", "b"]
    out = graph.apply(torch.rand(30, 30, 4) * 0.5, origin=graph.region[:2])
    assert torch.isfinite(out).all()


def test_missing_filter_hides_and_bad_list_is_ignored():
    svg = doc('', '<rect id="r" x="10" y="10" width="20" height="20"/>')
    loader, root = _loader(svg)
    elem = _elem(loader, root, "r")
    with pytest.warns(UserWarning):
        assert build_filter(loader, "url(#nope)", elem, (10, 10, 30, 30), np.eye(3), (120, 100)) == "hide"
    with pytest.warns(UserWarning):
        assert build_filter(loader, "blur(-3px)", elem, (10, 10, 30, 30), np.eye(3), (120, 100)) is None
    assert build_filter(loader, "none", elem, (10, 10, 30, 30), np.eye(3), (120, 100)) is None


def test_huge_filter_region_is_refused_past_the_limit():
    defs = '<filter id="f" filterUnits="userSpaceOnUse" x="-50000" y="-50000" width="100000" ' \
           'height="100000"><feFlood flood-color="red"/></filter>'
    # a small canvas clips the region to 5 canvas sizes: allowed
    small = doc(defs, '<rect id="r" width="10" height="10" filter="url(#f)"/>')
    loader, root = _loader(small, strict=True)
    graph = build_filter(loader, "url(#f)", _elem(loader, root, "r"), (0, 0, 10, 10), np.eye(3),
                         (120, 100))
    x0, y0, x1, y1 = graph.region
    assert (x1 - x0) * (y1 - y0) <= fx.MAX_FILTER_PIXELS
    # a 3000 x 3000 canvas: 15000^2 px after clipping -> refused
    big = doc(defs, '<rect id="r" width="10" height="10" filter="url(#f)"/>', 3000, 3000)
    loader, root = _loader(big, strict=True)
    with pytest.raises(pydiffvg.SVGError, match="MAX_FILTER_PIXELS"):
        build_filter(loader, "url(#f)", _elem(loader, root, "r"), (0, 0, 10, 10), np.eye(3),
                     (3000, 3000))
    loader, root = _loader(big, strict=False)
    with pytest.warns(UserWarning, match="MAX_FILTER_PIXELS"):
        assert build_filter(loader, "url(#f)", _elem(loader, root, "r"), (0, 0, 10, 10), np.eye(3),
                            (3000, 3000)) is None
    with pytest.raises(ValueError, match="MAX_FILTER_PIXELS"):
        fx.FilterGraph([fx.Flood()]).apply(torch.zeros(4097, 4097, 4))


def test_huge_blur_in_svg_draws_in_bounded_time():
    svg = doc('<filter id="f"><feGaussianBlur stdDeviation="1000000"/></filter>',
              '<rect x="20" y="20" width="60" height="50" fill="green" filter="url(#f)"/>')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        img = th.render_svg(svg, width=120)
    assert torch.isfinite(img).all()
    assert float(img[..., 3].max()) < 1e-3   # spread over ~1e6 px: nothing visible


def test_zero_sized_region_hides():
    svg = doc('<filter id="f" width="0"><feFlood/></filter>',
              '<rect id="r" x="10" y="10" width="20" height="20"/>')
    loader, root = _loader(svg)
    with pytest.warns(UserWarning, match="region"):
        assert build_filter(loader, "url(#f)", _elem(loader, root, "r"), (10, 10, 30, 30),
                            np.eye(3), (120, 100)) == "hide"


# ----------------------------------------------------------------------------
# The resvg fixtures (through the harness until the tree renderer lands)
# ----------------------------------------------------------------------------

@pytest.mark.skipif(not os.path.isdir(FIXTURES), reason="resvg fixtures not available")
@pytest.mark.parametrize("folder,rate", [("feGaussianBlur", 0.85), ("feTurbulence", 0.85),
                                         ("feComposite", 0.8), ("filter-functions", 0.75)])
def test_fixture_pass_rate(folder, rate):
    from PIL import Image
    paths = sorted(glob.glob(os.path.join(FIXTURES, "filters", folder, "*.svg")))
    passed, failed = 0, []
    for path in paths:
        ref = np.asarray(Image.open(path[:-4] + ".png").convert("RGBA"), dtype=np.float64) / 255
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = th.render_svg(path, width=ref.shape[1], samples=4).detach().numpy()
        value = th.psnr_over_white(img, ref) if img.shape == ref.shape else 0.0
        passed += value >= 30.0
        if value < 30.0:
            failed.append(f"{os.path.basename(path)}: {value:.1f} dB")
    assert passed >= rate * len(paths), f"{folder}: {passed}/{len(paths)} pass; failures: {failed}"


def test_hostile_primitive_parameters_are_bounded():
    prims = ('<feTurbulence baseFrequency="0.05" numOctaves="1000000000"/>'
             '<feConvolveMatrix order="40" kernelMatrix="' + " ".join(["1"] * 1600) + '"/>')
    svg = doc(f'<filter id="f">{prims}</filter>', '<rect id="r" x="10" y="10" width="20" height="20"/>')
    loader, root = _loader(svg)
    with pytest.warns(UserWarning, match="entries"):
        graph = build_filter(loader, "url(#f)", _elem(loader, root, "r"), (10, 10, 30, 30),
                             np.eye(3), (120, 100))
    turbulence, convolve = graph.primitives
    assert turbulence.num_octaves == 32
    assert isinstance(convolve, fx.Flood) and float(convolve.color[3]) == 0.0


def test_many_primitives_over_a_large_region_are_refused():
    prims = '<feOffset dx="1"/>' * 40
    svg = doc(f'<filter id="f" filterUnits="userSpaceOnUse" x="0" y="0" width="4000" height="4000">'
              f'{prims}</filter>', '<rect id="r" width="10" height="10"/>', 4000, 4000)
    loader, root = _loader(svg, strict=True)
    with pytest.raises(pydiffvg.SVGError, match="MAX_FILTER_WORK"):
        build_filter(loader, "url(#f)", _elem(loader, root, "r"), (0, 0, 10, 10), np.eye(3),
                     (4000, 4000))


def test_inverse_rendering_recovers_a_blur_std_deviation():
    circle = pydiffvg.Circle(radius=torch.tensor(14.0), center=torch.tensor([32.0, 30.0]))
    group = pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=torch.tensor([0.2, 0.5, 0.8, 1.0]))
    content = pydiffvg.render([circle], [group], width=64, height=64, num_samples=2,
                              premultiplied=True).detach()
    target = fx.FilterGraph([fx.GaussianBlur(4.0)]).apply(content).detach()
    sigma = torch.tensor(2.6, requires_grad=True)
    optimizer = torch.optim.Adam([sigma], lr=0.1)
    for _ in range(80):
        optimizer.zero_grad()
        loss = ((fx.FilterGraph([fx.GaussianBlur(sigma)]).apply(content) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
    found = float(sigma.detach())
    assert abs(found - 4.0) < 0.05, f"recovered stdDeviation {found:.4f}, expected 4.0"


@pytest.mark.skipif(not th.native_tree(), reason="the tree renderer is not there yet")
@pytest.mark.parametrize("name", ["blur", "turbulence", "merge-blend", "subregion"])
def test_tree_renderer_and_harness_agree(name):
    """The filter protocol as pydiffvg/layers.py drives it and as the
    harness drives it give the same image."""
    svg = doc(f'<filter id="f">{CASES[name]}</filter>', f'<g filter="url(#f)">{SHAPES}</g>')
    cw, ch, shapes, groups = pydiffvg.svg_to_scene(svg)
    tree = pydiffvg.render(shapes, groups, width=180, height=150, canvas_width=cw, canvas_height=ch,
                           num_samples=4, premultiplied=True)
    harness = th.draw(shapes, groups, (0.0, 0.0), (150, 180), 1.5, samples=4)
    a, b = tree.detach().numpy(), harness.detach().numpy()
    mse = float(np.mean((a - b) ** 2))
    value = 10 * math.log10(1.0 / max(mse, 1e-12))
    assert value >= 35.0, f"{name}: tree vs harness PSNR {value:.1f} dB"


@pytest.mark.skipif(not th.native_tree(), reason="the tree renderer is not there yet")
def test_gradients_through_the_tree_renderer():
    """d(loss)/d(stdDeviation) and d/d(flood colour) through pydiffvg.render
    of a Layer carrying a FilterGraph, against central differences."""
    from pydiffvg.layers import Layer
    rect = pydiffvg.Rect(p_min=torch.tensor([20.0, 16.0]), p_max=torch.tensor([44.0, 40.0]))
    group = pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=torch.tensor([0.2, 0.6, 0.3, 1.0]))
    weights = torch.linspace(0.1, 1.0, 64 * 64 * 4).view(64, 64, 4)

    def loss(sigma, color):
        graph = fx.FilterGraph([fx.Flood(color, result="f"),
                                fx.GaussianBlur(sigma, inputs=("SourceGraphic",), result="b"),
                                fx.Composite("over", inputs=("b", "f"))], region=(4.0, 4.0, 60.0, 60.0))
        img = pydiffvg.render([rect], [Layer([group], filter=graph)], width=64, height=64,
                              num_samples=2, premultiplied=True)
        return (img * weights).sum()

    sigma = torch.tensor(3.3, requires_grad=True)
    color = torch.tensor([0.8, 0.7, 0.2, 0.4], requires_grad=True)
    loss(sigma, color).backward()
    with torch.no_grad():
        h = 1e-2
        numeric = (loss(torch.tensor(3.3 + h), color) - loss(torch.tensor(3.3 - h), color)) / (2 * h)
    rel_close(float(sigma.grad), float(numeric), 2e-2, abs_tol=1e-2, what="tree d/dsigma")
    for k in range(4):
        with torch.no_grad():
            c1, c2 = color.detach().clone(), color.detach().clone()
            c1[k] += 1e-2
            c2[k] -= 1e-2
            numeric = (loss(torch.tensor(3.3), c1) - loss(torch.tensor(3.3), c2)) / 2e-2
        rel_close(float(color.grad[k]), float(numeric), 2e-2, abs_tol=1e-2, what=f"tree d/dflood[{k}]")


@pytest.mark.skipif(not th.native_tree(), reason="the tree renderer is not there yet")
@pytest.mark.parametrize("name", sorted(set(CASES) - {"turbulence"}) + ["chain"])
def test_save_svg_round_trip_keeps_filters(name, tmp_path):
    body = CASES.get(name, "")
    value = "url(#f) blur(1.5px)" if name == "chain" else "url(#f)"
    body = CASES["merge-blend"] if name == "chain" else body
    svg = doc(f'<filter id="f">{body}</filter>',
              f'<g transform="translate(3 2) scale(0.9)" style="filter: {value}">{SHAPES}</g>')
    cw, ch, shapes, groups = pydiffvg.svg_to_scene(svg)
    first = pydiffvg.render(shapes, groups, width=120, height=100, num_samples=2, seed=0)
    path = tmp_path / "out.svg"
    pydiffvg.save_svg(str(path), cw, ch, shapes, groups)
    cw2, ch2, shapes2, groups2 = pydiffvg.svg_to_scene(str(path))
    second = pydiffvg.render(shapes2, groups2, width=120, height=100, num_samples=2, seed=0)
    value = th.psnr_over_white(first.numpy(), second.numpy())
    assert value >= 40.0, f"{name}: round trip PSNR {value:.1f} dB"
