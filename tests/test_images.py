"""The SVG ``image`` element (pydiffvg/svg/images.py): decoding, placement
against resvg-py, gradients with respect to the position, nested SVG
images, bad input, and the resvg fixture pass rate (through
tests/tree_harness.py until the tree renderer lands)."""
import base64
import glob
import io
import os
import urllib.parse
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import pydiffvg
from pydiffvg.layers import Layer
from pydiffvg.svg.images import PlacedImage, decode_raster

import tree_harness as th

HERE = os.path.dirname(__file__)
FIXTURES = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "fixtures", "resvg"))
resvg_py = pytest.importorskip("resvg_py")


def pattern_png():
    """A 6 x 4 RGBA test raster with distinct colours and a translucent pixel."""
    rng = np.random.default_rng(0)
    pixels = (rng.random((4, 6, 4)) * 255).astype(np.uint8)
    pixels[..., 3] = 255
    pixels[1, 2, 3] = 128
    return pixels


def png_bytes(pixels, fmt="PNG"):
    buf = io.BytesIO()
    mode = "RGBA" if pixels.shape[-1] == 4 else "RGB"
    Image.fromarray(pixels, mode).save(buf, fmt)
    return buf.getvalue()


def doc(body, w=120, h=90):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'width="{w}" height="{h}" viewBox="0 0 {w} {h}">{body}</svg>')


def resvg_rgba(svg, w, h, resources_dir=None):
    png = resvg_py.svg_to_bytes(svg_string=svg, width=w, height=h,
                                **({"resources_dir": resources_dir} if resources_dir else {}))
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGBA"), dtype=np.float64) / 255.0


def ours_rgba(svg, w):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return th.render_svg(svg, width=w).detach().numpy()


def test_decode_premultiplies():
    pixels = pattern_png()
    img = decode_raster(png_bytes(pixels)).numpy()
    straight = pixels.astype(np.float64) / 255
    assert np.allclose(img[..., 3], straight[..., 3], atol=1e-6)
    assert np.allclose(img[..., :3], straight[..., :3] * straight[..., 3:], atol=1e-6)
    with pytest.raises(ValueError):
        decode_raster(b"\x89PNG not really")


@pytest.mark.parametrize("aspect", ["xMidYMid meet", "xMinYMax meet", "xMaxYMin slice", "none",
                                    "xMidYMid slice"])
def test_raster_placement_matches_resvg(aspect):
    data = base64.b64encode(png_bytes(np.kron(pattern_png(), np.ones((8, 8, 1), np.uint8)))).decode()
    svg = doc(f'<image x="14" y="10" width="90" height="70" preserveAspectRatio="{aspect}" '
              f'xlink:href="data:image/png;base64,{data}"/>')
    value = th.psnr_over_white(ours_rgba(svg, 120), resvg_rgba(svg, 120, 90))
    assert value >= 30.0, f"{aspect}: PSNR {value:.1f} dB against resvg"


def test_percent_encoded_svg_data_and_transform_match_resvg():
    inner = ('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30">'
             '<rect width="40" height="30" fill="#3070c0"/><circle cx="20" cy="15" r="10" fill="gold"/></svg>')
    href = "data:image/svg+xml," + urllib.parse.quote(inner)
    svg = doc(f'<image transform="rotate(10 60 45)" x="20" y="15" width="80" height="60" '
              f'xlink:href="{href}"/>')
    value = th.psnr_over_white(ours_rgba(svg, 120), resvg_rgba(svg, 120, 90))
    assert value >= 30.0, f"nested SVG image: PSNR {value:.1f} dB against resvg"


def test_file_relative_to_the_svg_and_pixelated(tmp_path):
    pixels = pattern_png()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "tile.png").write_bytes(png_bytes(pixels))
    svg = doc('<image x="10" y="5" width="96" height="64" image-rendering="optimizeSpeed" '
              'xlink:href="sub/tile.png"/>')
    path = tmp_path / "doc.svg"
    path.write_text(svg)
    ours = ours_rgba(str(path), 120)
    ref = resvg_rgba(svg, 120, 90, resources_dir=str(tmp_path))
    value = th.psnr_over_white(ours, ref)
    assert value >= 30.0, f"pixelated file image: PSNR {value:.1f} dB against resvg"
    # nearest: each source pixel is a flat 16 x 16 block
    block = ours[5 + 16 * 2 + 4:5 + 16 * 2 + 12, 10 + 16 * 3 + 4:10 + 16 * 3 + 12, :3]
    assert np.ptp(block, axis=(0, 1)).max() < 1e-6


def test_gradient_with_respect_to_position():
    raster = decode_raster(png_bytes(np.kron(pattern_png(), np.ones((4, 4, 1), np.uint8))))
    target = torch.linspace(0, 1, 40 * 50 * 4, dtype=torch.float32).view(40, 50, 4)

    def loss(x, y):
        img = PlacedImage(raster, x, y, 30.0, 20.0).render(40, 50, (0.0, 0.0), (1.0, 1.0))
        return (img * target).sum()

    x = torch.tensor(7.3, requires_grad=True)
    y = torch.tensor(9.6, requires_grad=True)
    loss(x, y).backward()
    h = 1e-2
    for name, grad, f in (("x", x.grad, lambda d: loss(7.3 + d, 9.6)),
                          ("y", y.grad, lambda d: loss(7.3, 9.6 + d))):
        with torch.no_grad():
            numeric = float(f(h) - f(-h)) / (2 * h)
        assert abs(float(grad) - numeric) <= 0.02 * abs(numeric) + 1e-3, \
            f"d/d{name}: autograd {float(grad):.5g} vs central difference {numeric:.5g}"


def test_image_layer_and_nested_ids():
    inner = ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
             '<rect width="10" height="10" fill="red"/></svg>')
    href = "data:image/svg+xml;base64," + base64.b64encode(inner.encode()).decode()
    svg = doc(f'<rect width="5" height="5"/><image x="20" y="20" width="40" height="40" xlink:href="{href}"/>')
    with th.patched_loader():
        _, _, shapes, groups = pydiffvg.svg_to_scene(svg)
    layer = groups[-1]
    assert isinstance(layer, Layer) and layer.clip_path is not None
    ids = sorted(int(i) for g in layer.groups() for i in g.shape_ids)
    assert ids == [1, 2]  # the nested rect and the clip rect, after the outer rect
    assert len(shapes) == 3


def test_missing_and_corrupt_images_warn_or_raise(tmp_path):
    corrupt = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\nbroken").decode()
    for href in ("missing.png", corrupt):
        svg = doc(f'<image width="50" height="50" xlink:href="{href}"/><rect width="5" height="5"/>')
        path = tmp_path / "doc.svg"
        path.write_text(svg)
        with th.patched_loader():
            with pytest.warns(UserWarning, match="cannot read image"):
                _, _, shapes, groups = pydiffvg.svg_to_scene(str(path), strict=False)
            assert len(groups) == 1   # the rect only
            with pytest.raises(pydiffvg.SVGError, match="cannot read image"):
                pydiffvg.svg_to_scene(str(path), strict=True)


def test_recursive_svg_image_terminates(tmp_path):
    path = tmp_path / "self.svg"
    path.write_text(doc('<image width="60" height="40" xlink:href="self.svg"/>'
                        '<rect width="10" height="10" fill="blue"/>'))
    with th.patched_loader():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, _, shapes, groups = pydiffvg.svg_to_scene(str(path), strict=False)
    assert len(shapes) < 20


@pytest.mark.skipif(not os.path.isdir(FIXTURES), reason="resvg fixtures not available")
def test_fixture_pass_rate():
    paths = sorted(glob.glob(os.path.join(FIXTURES, "structure", "image", "*.svg")))
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
    assert passed >= 0.9 * len(paths), f"{passed}/{len(paths)} pass; failures: {failed}"


def test_image_rendering_is_inherited():
    data = base64.b64encode(png_bytes(pattern_png())).decode()
    body = f'<image x="0" y="0" width="96" height="64" xlink:href="data:image/png;base64,{data}"/>'
    flat = ours_rgba(doc(f'<g style="image-rendering: pixelated">{body}</g>'), 120)
    smooth = ours_rgba(doc(f'<g>{body}</g>'), 120)
    block = (slice(16 + 3, 32 - 3), slice(32 + 3, 48 - 3), slice(0, 3))
    assert np.ptp(flat[block], axis=(0, 1)).max() < 1e-6
    assert np.ptp(smooth[block], axis=(0, 1)).max() > 1e-3


def test_filter_on_an_image_uses_its_bounding_box():
    # objectBoundingBox filter units need the image's box (its viewport)
    data = base64.b64encode(png_bytes(np.kron(pattern_png(), np.ones((8, 8, 1), np.uint8)))).decode()
    svg = doc('<filter id="f"><feGaussianBlur stdDeviation="2"/></filter>'
              f'<image filter="url(#f)" x="14" y="10" width="90" height="70" '
              f'xlink:href="data:image/png;base64,{data}"/>')
    ours = ours_rgba(svg, 120)
    assert ours[..., 3].max() > 0.5, "the filtered image was hidden"
    value = th.psnr_over_white(ours, resvg_rgba(svg, 120, 90))
    assert value >= 30.0, f"blurred image: PSNR {value:.1f} dB against resvg"


@pytest.mark.skipif(not th.native_tree(), reason="the tree renderer is not there yet")
def test_position_gradient_through_the_tree_renderer():
    raster = decode_raster(png_bytes(np.kron(pattern_png(), np.ones((4, 4, 1), np.uint8))))
    weights = torch.linspace(0.1, 1.0, 48 * 56 * 4).view(48, 56, 4)
    anchor = pydiffvg.Rect(p_min=torch.tensor([0.0, 0.0]), p_max=torch.tensor([1.0, 1.0]))
    dot = pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=torch.tensor([0.0, 0.0, 0.0, 0.5]))

    def loss(x, y):
        layer = Layer([], filter=PlacedImage(raster, x, y, 30.0, 20.0))
        img = pydiffvg.render([anchor], [dot, layer], width=56, height=48, num_samples=2,
                              premultiplied=True)
        return (img * weights).sum()

    x = torch.tensor(9.3, requires_grad=True)
    y = torch.tensor(11.6, requires_grad=True)
    loss(x, y).backward()
    with torch.no_grad():
        h = 1e-2
        t = torch.tensor
        dx = float(loss(t(9.3 + h), t(11.6)) - loss(t(9.3 - h), t(11.6))) / (2 * h)
        dy = float(loss(t(9.3), t(11.6 + h)) - loss(t(9.3), t(11.6 - h))) / (2 * h)
    for name, grad, numeric in (("x", x.grad, dx), ("y", y.grad, dy)):
        assert abs(float(grad) - numeric) <= 0.02 * abs(numeric) + 1e-2, \
            f"tree d/d{name}: autograd {float(grad):.5g} vs central difference {numeric:.5g}"


@pytest.mark.skipif(not th.native_tree(), reason="the tree renderer is not there yet")
def test_save_svg_round_trip_keeps_images(tmp_path):
    data = base64.b64encode(png_bytes(np.kron(pattern_png(), np.ones((8, 8, 1), np.uint8)))).decode()
    svg = doc(f'<image x="14" y="10" width="90" height="70" preserveAspectRatio="xMinYMid meet" '
              f'xlink:href="data:image/png;base64,{data}"/><rect x="5" y="5" width="20" height="20"/>')
    cw, ch, shapes, groups = pydiffvg.svg_to_scene(svg)
    first = pydiffvg.render(shapes, groups, width=120, height=90, num_samples=2, seed=0)
    path = tmp_path / "out.svg"
    pydiffvg.save_svg(str(path), cw, ch, shapes, groups)
    second = pydiffvg.render(*pydiffvg.svg_to_scene(str(path))[2:], width=120, height=90, num_samples=2,
                             seed=0)
    value = th.psnr_over_white(first.numpy(), second.numpy())
    assert value >= 40.0, f"image round trip PSNR {value:.1f} dB"
