"""Text as glyph outlines (issue #17): fonts, shaping, SVG <text> layout,
pydiffvg.text_to_paths, gradients, inverse rendering and bad input.

Fonts: resvg's test fonts in ../shared/fixtures/fonts (relative to the
project root); tests that need them skip when they are absent. Images are
compared with resvg (resvg-py) rendering the same SVG with the same fonts,
an independent reference; the pass mark is 30 dB PSNR over white, as for
the fixture suite.
"""
from __future__ import annotations

import io
import math
import os
import shutil
import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("uharfbuzz")
pytest.importorskip("fontTools")

import pydiffvg  # noqa: E402
from pydiffvg.text import fonts as text_fonts  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "fixtures"))
FONTS = os.path.join(SHARED, "fonts")
TEXT_FIXTURES = os.path.join(SHARED, "resvg", "text")
NOTO = os.path.join(FONTS, "NotoSans-Regular.ttf")

needs_fonts = pytest.mark.skipif(not os.path.exists(NOTO), reason="resvg's test fonts not found")


@pytest.fixture(autouse=True)
def _fixture_fonts(monkeypatch):
    if os.path.isdir(FONTS):
        monkeypatch.setenv("PYDIFFVG_FONT_DIRS", FONTS)
    yield


def over_white(rgba):
    rgba = np.asarray(rgba, dtype=np.float64)
    return rgba[..., :3] * rgba[..., 3:4] + (1.0 - rgba[..., 3:4])


def psnr(a, b):
    a8 = np.clip(np.round(a * 255.0), 0, 255)
    b8 = np.clip(np.round(b * 255.0), 0, 255)
    mse = float(np.mean((a8 - b8) ** 2))
    return 99.0 if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


def resvg_image(svg: str, width: int, height: int):
    resvg_py = pytest.importorskip("resvg_py")
    from PIL import Image
    png = resvg_py.svg_to_bytes(svg_string=svg, width=width, height=height, font_dirs=[FONTS],
                                skip_system_fonts=True, serif_family="Noto Serif",
                                sans_serif_family="Noto Sans")
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGBA"), dtype=np.float64) / 255.0


def render_scene(scene, width, height, samples=4):
    cw, ch, shapes, groups = scene
    img = pydiffvg.render(shapes, groups, width=width, height=height, canvas_width=cw,
                          canvas_height=ch, num_samples=samples, seed=0)
    return img.detach().double().numpy()


# ----------------------------------------------------------------------------
# Fonts and outlines
# ----------------------------------------------------------------------------

@needs_fonts
def test_generic_families_map_as_resvg():
    db = text_fonts.font_database([FONTS])
    expected = {"serif": "Noto Serif", "sans-serif": "Noto Sans", "cursive": "Yellowtail",
                "fantasy": "Sedgwick Ave Display", "monospace": "Noto Mono"}
    for generic, family in expected.items():
        assert db.match([generic]).info.family == family, generic


@needs_fonts
def test_weight_style_matching():
    db = text_fonts.font_database([FONTS])
    pick = lambda **kw: os.path.basename(db.match(["Noto Sans"], **kw).info.path)
    assert pick() == "NotoSans-Regular.ttf"
    assert pick(weight=700) == "NotoSans-Bold.ttf"
    assert pick(weight=650) == "NotoSans-Bold.ttf"      # > 500: heavier first
    assert pick(weight=350) == "NotoSans-Light.ttf"     # < 400: lighter first
    assert pick(weight=900) == "NotoSans-Black.ttf"
    assert pick(style="italic") == "NotoSans-Italic.ttf"
    assert pick(style="oblique") == "NotoSans-Italic.ttf"


@needs_fonts
def test_glyph_outlines_quadratic_and_cubic():
    db = text_fonts.font_database([FONTS])
    face = db.match(["Noto Sans"])
    contours = face.outline(face.font.getGlyphID(face.cmap[ord("O")]))
    assert len(contours) == 2  # outer and inner ring of "O"
    for ncp, points in contours:
        assert len(points) == len(ncp) + int(ncp.sum())  # closed diffvg layout
        assert set(ncp.tolist()) <= {0, 1}               # TrueType: lines and quadratics
    cff = text_fonts.face_from_file(os.path.join(FONTS, "CFF-and-SBIX.otf"))
    outlines = [cff.outline(cff.font.getGlyphID(name)) for name in cff.cmap.values()]
    kinds = {int(k) for contours in outlines for ncp, _ in contours for k in ncp}
    assert 2 in kinds  # CFF: cubics


def test_bidi_visual_order():
    from pydiffvg.text.shaping import visual_runs
    text = "abc \u05d0\u05d1\u05d2 123 def"
    runs = visual_runs(text)
    # Hebrew and the number after it form a right-to-left embedding: the
    # number run comes first visually, then the Hebrew (shaped RTL).
    assert runs[0] == (0, 4, False)
    assert runs[-1][2] is False and text[runs[-1][0]:runs[-1][1]].endswith("def")
    rtl = [r for r in runs if r[2]]
    assert any(text[s:e].startswith("\u05d0") for s, e, _ in rtl)
    assert visual_runs("plain") == [(0, 5, False)]


# ----------------------------------------------------------------------------
# Images against resvg
# ----------------------------------------------------------------------------

@needs_fonts
def test_text_to_paths_matches_resvg():
    result = pydiffvg.text_to_paths("Hamburgefonts", font="Noto Sans", size=28.0, x=6.0, y=40.0,
                                    letter_spacing=1.5)
    group = result.shape_group(torch.tensor([0.1, 0.2, 0.6, 1.0]))
    ours = pydiffvg.render(result.shapes, [group], width=240, height=64, num_samples=4, seed=0)
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="240" height="64">'
           '<text x="6" y="40" font-family="Noto Sans" font-size="28" letter-spacing="1.5" '
           'fill="rgb(25.5,51,153)">Hamburgefonts</text></svg>')
    ref = resvg_image(svg, 240, 64)
    value = psnr(over_white(ours.detach().numpy()), over_white(ref))
    print(f"text_to_paths vs resvg: {value:.2f} dB")
    assert value >= 30.0, f"text_to_paths vs resvg: {value:.2f} dB < 30"


SVG_CASES = {
    "tspan-anchor-decoration": """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 120" width="200" height="120" font-family="Noto Sans" font-size="20">
  <text x="100" y="40" text-anchor="middle" text-decoration="underline">Mixed <tspan fill="#c00" font-weight="bold">bold</tspan> text</text>
  <text x="10" y="80" letter-spacing="2" word-spacing="6" fill="none" stroke="#036" stroke-width="1.5">Spaced out words</text>
  <text x="10 30 50" y="110" dy="0 -4 4" rotate="10 -10">ABCDE</text>
</svg>""",
    "textPath-baseline": """<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 200 120" width="200" height="120" font-family="Noto Sans" font-size="16">
  <path id="p" d="M 10 90 C 60 10 140 10 190 90" fill="none"/>
  <text><textPath xlink:href="#p" startOffset="10">Text on a curved path</textPath></text>
  <text x="20" y="110">H<tspan baseline-shift="super" font-size="10">2</tspan>O and x<tspan baseline-shift="sub">i</tspan></text>
</svg>""",
    "vertical-and-length": """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 120" width="200" height="120" font-family="Noto Sans" font-size="16">
  <text x="20" y="10" writing-mode="tb">Vertical</text>
  <text x="50" y="40" textLength="140" lengthAdjust="spacingAndGlyphs">squeezed</text>
  <text x="50" y="80" textLength="140">spread</text>
  <text x="50" y="110" dominant-baseline="central" font-family="serif">serif central</text>
</svg>""",
    "svg-colour-glyph": """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 120" width="200" height="120" font-size="40">
  <text x="10" y="70" font-family="Twitter Color Emoji">😀🦀</text>
  <text x="110" y="70" font-family="Noto Sans, Twitter Color Emoji">a😁</text>
</svg>""",
}


@needs_fonts
@pytest.mark.parametrize("name", sorted(SVG_CASES))
def test_svg_text_matches_resvg(name):
    svg = SVG_CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # everything here is supported: no warning
        scene = pydiffvg.svg_to_scene(svg, strict=False)
    ours = render_scene(scene, 200, 120)
    ref = resvg_image(svg, 200, 120)
    value = psnr(over_white(ours), over_white(ref))
    # The geometry alone: resvg drawing our outlines (written by save_svg)
    # against resvg drawing the text, so rasteriser differences drop out.
    from pydiffvg.svg.writer import svg_text
    outlines = resvg_image(svg_text(*scene), 200, 120)
    geometry = psnr(over_white(outlines), over_white(ref))
    print(f"{name}: render {value:.2f} dB, outlines {geometry:.2f} dB")
    assert value >= 30.0, f"{name}: {value:.2f} dB against resvg < 30"
    assert geometry >= 40.0, f"{name}: our outlines drawn by resvg: {geometry:.2f} dB < 40"


@needs_fonts
@pytest.mark.skipif(not os.path.isdir(TEXT_FIXTURES), reason="resvg fixtures not found")
def test_fixture_text_folder_pass_rate():
    """Every third file of resvg's text folder (the benchmark runs them all)."""
    from PIL import Image
    files = []
    for root, _, names in os.walk(TEXT_FIXTURES):
        files += [os.path.join(root, n) for n in names if n.endswith(".svg")]
    files = sorted(files)[::3]
    passed = 0
    for path in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                scene = pydiffvg.svg_to_scene(path, strict=False)
            except pydiffvg.SVGError:
                continue
        ref = np.asarray(Image.open(path[:-4] + ".png").convert("RGBA"), dtype=np.float64) / 255.0
        if not scene[2]:
            continue
        ours = render_scene(scene, ref.shape[1], ref.shape[0], samples=3)
        passed += psnr(over_white(ours), over_white(ref)) >= 30.0
    rate = passed / len(files)
    print(f"text fixtures: {passed}/{len(files)} = {rate:.3f} at >= 30 dB")
    assert rate >= 0.65, f"text fixture pass rate {rate:.3f} < 0.65"


# ----------------------------------------------------------------------------
# Gradients against central differences
# ----------------------------------------------------------------------------

def _weights(height, width):
    y, x = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    w = 0.6 + 0.5 * torch.sin(0.31 * x + 0.4) * torch.cos(0.27 * y + 1.1)
    return torch.stack([w, 1.2 - w * 0.5, w * 0.7, 0.3 + 0 * w], -1)


def _fd_check(name, build, params, direction, step, threshold, size=(96, 64), floor=1.0):
    from pydiffvg.backward import BACKWARD_OPTIONS
    width, height = size
    weights = _weights(height, width)
    saved = dict(BACKWARD_OPTIONS)
    BACKWARD_OPTIONS["boundary_density"] = 512.0  # glyphs have long boundaries: sample densely
    try:
        leaves = [p.detach().clone().requires_grad_(True) for p in params]
        shapes, groups = build(*leaves)
        image = pydiffvg.render(shapes, groups, width=width, height=height, num_samples=4, seed=AD_SEED)
        (image * weights).sum().backward()
        ad = float(sum((p.grad * d).sum() for p, d in zip(leaves, direction) if p.grad is not None))
        with torch.no_grad():
            def loss(sign):
                moved = [p + sign * step * d for p, d in zip(params, direction)]
                shapes, groups = build(*moved)
                img = pydiffvg.render(shapes, groups, width=width, height=height, num_samples=32,
                                      seed=1)
                return float((img * weights).sum())
            fd = (loss(1.0) - loss(-1.0)) / (2.0 * step)
    finally:
        BACKWARD_OPTIONS.clear()
        BACKWARD_OPTIONS.update(saved)
    err = abs(ad - fd) / max(abs(fd), floor)
    print(f"[{name}] AD={ad:.6g} FD={fd:.6g} rel.err={err:.4f} (threshold {threshold})")
    assert err <= threshold, f"{name}: AD={ad:.6g} vs FD={fd:.6g}: rel. error {err:.4f} > {threshold}"


def _text_builder(text="Hi"):
    def build(x, y, size, spacing):
        result = pydiffvg.text_to_paths(text, font=NOTO, size=size, x=x, y=y,
                                        letter_spacing=spacing)
        return result.shapes, [result.shape_group(torch.tensor([0.2, 0.3, 0.8, 1.0]))]
    return build


T = torch.tensor
AD_SEED = int(os.environ.get("PYDIFFVG_FD_SEED", "0")) + 1


@needs_fonts
@pytest.mark.parametrize("name,direction,step,threshold", [
    ("x", [1.0, 0.0, 0.0, 0.0], 1.0, 0.08),
    ("y", [0.0, 1.0, 0.0, 0.0], 1.0, 0.08),
    ("font-size", [0.0, 0.0, 1.0, 0.0], 0.5, 0.08),
    ("letter-spacing", [0.0, 0.0, 0.0, 1.0], 1.0, 0.08),
])
def test_text_gradients(name, direction, step, threshold):
    params = [T(12.3), T(47.6), T(40.0), T(3.0)]  # edges off the pixel grid
    _fd_check(name, _text_builder(), params, [T(d) for d in direction], step, threshold)


@needs_fonts
def test_glyph_control_point_gradients():
    base = pydiffvg.text_to_paths("a", font=NOTO, size=48.0, x=20.0, y=50.0)
    assert all(s.points.is_leaf and not s.points.requires_grad for s in base.shapes)
    points0 = [s.points.clone() for s in base.shapes]
    gen = torch.Generator().manual_seed(3)
    direction = [torch.randn(p.shape, generator=gen) for p in points0]

    def build(*points):
        shapes = [pydiffvg.Path(s.num_control_points, p, True) for s, p in zip(base.shapes, points)]
        group = pydiffvg.ShapeGroup(torch.arange(len(shapes), dtype=torch.int32),
                                    torch.tensor([0.1, 0.5, 0.3, 1.0]), use_even_odd_rule=False)
        return shapes, [group]
    _fd_check("glyph control points", build, points0, direction, 0.1, 0.08, size=(64, 64))


# ----------------------------------------------------------------------------
# Inverse rendering (Word-As-Image style)
# ----------------------------------------------------------------------------

@needs_fonts
def test_deform_word_toward_target_shape(tmp_path):
    torch.manual_seed(0)
    word = pydiffvg.text_to_paths("ok", font=NOTO, size=44.0, x=8.0, y=44.0)
    size = 64
    # target: a filled disc where the word sits (the letters must bulge into it)
    yy, xx = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    inside = (((xx - 30.0) / 24.0) ** 2 + ((yy - 32.0) / 22.0) ** 2 <= 1.0).float()
    target = torch.stack([inside * 0.0, inside * 0.0, inside * 0.0, inside], -1)
    points = [s.points.clone().requires_grad_(True) for s in word.shapes]
    shapes = [pydiffvg.Path(s.num_control_points, p, True) for s, p in zip(word.shapes, points)]
    group = word.shape_group(torch.tensor([0.0, 0.0, 0.0, 1.0]))
    optimizer = torch.optim.Adam(points, lr=0.6)
    losses = []
    for step in range(40):
        optimizer.zero_grad()
        img = pydiffvg.render(shapes, [group], width=size, height=size, num_samples=2, seed=step)
        loss = ((img[..., 3] - target[..., 3]) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    assert losses[-1] < 0.6 * losses[0], f"loss did not fall enough: {losses[0]} -> {losses[-1]}"
    assert all(torch.isfinite(p).all() for p in points)
    out = tmp_path / "word.svg"
    pydiffvg.save_svg(str(out), size, size, shapes, [group])
    cw, ch, shapes2, groups2 = pydiffvg.svg_to_scene(str(out))
    assert (cw, ch) == (size, size) and len(shapes2) == len(shapes)
    again = pydiffvg.render(shapes2, groups2, width=size, height=size, num_samples=2, seed=0)
    first = pydiffvg.render(shapes, [group], width=size, height=size, num_samples=2, seed=0)
    assert psnr(over_white(again.detach().numpy()), over_white(first.detach().numpy())) > 35.0
    ref = resvg_image(out.read_text(), size, size)  # an independent reader accepts it
    assert psnr(over_white(ref), over_white(first.detach().numpy())) > 25.0


# ----------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------

@needs_fonts
def test_missing_family_falls_back_and_warns_once():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = pydiffvg.text_to_paths("abc", font="No Such Family 7f3a", size=20.0)
        second = pydiffvg.text_to_paths("abc", font="No Such Family 7f3a", size=20.0)
    messages = [str(w.message) for w in caught if "No Such Family 7f3a" in str(w.message)]
    assert len(messages) == 1, messages
    assert first.shapes and len(first.shapes) == len(second.shapes)
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="60" height="30">'
           '<text y="20" font-family="Missing A">x</text><text y="25" font-family="Missing A">y'
           '</text></svg>')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scene = pydiffvg.svg_to_scene(svg, strict=False)
    assert len([w for w in caught if "Missing A" in str(w.message)]) == 1
    assert len(scene[2]) >= 2


@needs_fonts
def test_corrupt_font_file_warns_and_is_skipped(tmp_path):
    (tmp_path / "broken.ttf").write_bytes(b"\x00\x01\x00\x00" + b"garbage" * 100)
    shutil.copy(NOTO, tmp_path / "NotoSans-Regular.ttf")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        db = text_fonts.FontDatabase([str(tmp_path)])
    assert any("broken.ttf" in str(w.message) for w in caught)
    assert [os.path.basename(f.path) for f in db.faces] == ["NotoSans-Regular.ttf"]
    with pytest.raises(ValueError, match="font"):
        pydiffvg.text_to_paths("x", font=str(tmp_path / "broken.ttf"))


def test_a_million_characters_hit_a_clear_limit():
    text = "a" * 1_000_000
    with pytest.raises(ValueError, match="limit"):
        pydiffvg.text_to_paths(text)
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>{text}</text></svg>'
    with pytest.raises(pydiffvg.SVGError, match="limit"):
        pydiffvg.svg_to_scene(svg, strict=False)


@needs_fonts
def test_font_dirs_argument(tmp_path, monkeypatch):
    monkeypatch.delenv("PYDIFFVG_FONT_DIRS", raising=False)
    shutil.copy(os.path.join(FONTS, "Yellowtail-Regular.ttf"), tmp_path / "Yellowtail-Regular.ttf")
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="60" height="30">'
           '<text y="20" font-family="Yellowtail">Ab</text></svg>')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scene = pydiffvg.svg_to_scene(svg, font_dirs=[str(tmp_path)])
    assert not [w for w in caught if "Yellowtail" in str(w.message)]
    direct = pydiffvg.text_to_paths("Ab", font="Yellowtail", size=16.0, font_dirs=[str(tmp_path)])
    assert direct.glyphs[0].family == "Yellowtail"
    assert len(scene[2]) == len(direct.shapes)


@needs_fonts
def test_text_path_pointing_at_nothing():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
           'width="100" height="40" font-family="Noto Sans">'
           '<text x="5" y="30">ok <textPath xlink:href="#nothing">lost</textPath></text>'
           '<text><textPath xlink:href="#t2">self</textPath></text><g id="t2"/></svg>')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scene = pydiffvg.svg_to_scene(svg, strict=False)
    assert any("textPath" in str(w.message) for w in caught)
    ok = pydiffvg.text_to_paths("ok", font="Noto Sans")
    assert len(scene[2]) == len(ok.shapes)  # only "ok" is drawn


@needs_fonts
def test_unknown_scripts_warn_and_draw_the_rest():
    text = "A\U00010600\U0010FFFD\u1C5AB"  # Linear A, private use, Ol Chiki: in no font here
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pydiffvg.text_to_paths(text, font=NOTO, size=20.0)
    assert any("no installed font has the character" in str(w.message) for w in caught)
    assert result.shapes and all(torch.isfinite(s.points).all() for s in result.shapes)
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="80" height="30"><text y="20" font-family="Noto Sans">{text}</text></svg>'
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert pydiffvg.svg_to_scene(svg, strict=False)[2]


@needs_fonts
def test_recursive_tref_terminates():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
           'width="100" height="40" font-family="Noto Sans">'
           '<text id="a" x="5" y="20">A<tref xlink:href="#b"/></text>'
           '<text id="b" x="5" y="35">B<tref xlink:href="#a"/><tref xlink:href="#b"/></text></svg>')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scene = pydiffvg.svg_to_scene(svg, strict=False)
    # "A" + "B" (b's character data) and "B" + "A" + "B": a tref takes the
    # character data only, without expanding the trefs inside it
    expected = sum(len(pydiffvg.text_to_paths(t, font="Noto Sans").shapes) for t in ("AB", "BAB"))
    assert len(scene[2]) == expected


def test_text_to_paths_argument_errors():
    with pytest.raises(TypeError, match="text"):
        pydiffvg.text_to_paths(12)
    with pytest.raises(ValueError, match="anchor"):
        pydiffvg.text_to_paths("a", anchor="left")
    with pytest.raises(ValueError, match="size"):
        pydiffvg.text_to_paths("a", size=-3.0)
    with pytest.raises(ValueError, match="x"):
        pydiffvg.text_to_paths("a", x=float("nan"))


@needs_fonts
def test_points_are_leaves_or_differentiable():
    plain = pydiffvg.text_to_paths("Hi", font=NOTO, size=30.0, x=1.0, y=40.0)
    assert all(s.points.is_leaf and not s.points.requires_grad for s in plain.shapes)
    plain.shapes[0].points.requires_grad_(True)  # optimisable directly
    x = torch.tensor(1.0, requires_grad=True)
    tied = pydiffvg.text_to_paths("Hi", font=NOTO, size=30.0, x=x, y=40.0)
    assert all(s.points.requires_grad for s in tied.shapes)
    for a, b in zip(plain.shapes, tied.shapes):
        assert torch.allclose(a.points.detach(), b.points.detach())
    sum(s.points[:, 0].sum() for s in tied.shapes).backward()
    assert float(x.grad) == sum(len(s.points) for s in tied.shapes)  # d(point x)/dx = 1
    anchored = pydiffvg.text_to_paths("Hi", font=NOTO, size=30.0, x=50.0, y=40.0, anchor="middle")
    xs = torch.cat([s.points[:, 0] for s in anchored.shapes])
    ends = torch.cat([s.points[:, 0].detach() for s in plain.shapes])
    width = float(plain.advance)
    assert abs(float(xs.min()) - (float(ends.min()) - 1.0 + 50.0 - width / 2.0)) < 1e-3
