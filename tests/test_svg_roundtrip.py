"""SVG round trip: load -> save_svg -> load renders the same image.

Over the resvg fixtures in tests/data/resvg/ and a few hand-written SVGs
(gradients, transforms, nested groups, strokes with caps/joins/dashes,
opacity). Both scenes are rendered at ~100 px over white and must agree to
PSNR >= 40 dB (8-bit scale). The same check over the whole fixture folder is
``benchmarks/svg_fidelity.py FIXTURES --roundtrip``.
"""
import glob
import math
import os
import warnings

import numpy as np
import pytest

import pydiffvg

HERE = os.path.dirname(__file__)
DATA = os.path.join(HERE, "data", "resvg")
SIZE = 100
MIN_PSNR = 40.0


def _svg(body, attrs='width="120" height="90" viewBox="0 0 120 90"'):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink" {attrs}>{body}</svg>')


HAND_WRITTEN = {
    "linear-gradient": _svg(
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        '<stop offset="0" stop-color="#f00"/><stop offset="0.4" stop-color="#0f0" stop-opacity="0.5"/>'
        '<stop offset="1" stop-color="blue"/></linearGradient></defs>'
        '<rect x="10" y="10" width="100" height="70" fill="url(#g)"/>'),
    "radial-gradient-user-space": _svg(
        '<defs><radialGradient id="r" gradientUnits="userSpaceOnUse" cx="60" cy="45" r="40" '
        'fx="50" fy="40" gradientTransform="rotate(20 60 45) scale(1.2 0.8)">'
        '<stop offset="0" stop-color="yellow"/><stop offset="1" stop-color="purple"/>'
        '</radialGradient></defs>'
        '<ellipse cx="60" cy="45" rx="50" ry="35" fill="url(#r)" stroke="url(#r)" stroke-width="4"/>'),
    "transforms": _svg(
        '<g transform="translate(60 45) rotate(30)">'
        '<rect x="-30" y="-15" width="60" height="30" fill="teal"/>'
        '<g transform="scale(0.5) skewX(20)"><circle r="20" fill="orange"/></g></g>'
        '<path transform="matrix(1 0.2 -0.3 1 5 5)" d="M10 70 Q30 40 50 70 T90 70" '
        'fill="none" stroke="navy" stroke-width="3"/>'),
    "multi-shape-groups": _svg(
        '<g fill="crimson" opacity="0.6"><circle cx="30" cy="30" r="20"/>'
        '<rect x="40" y="20" width="40" height="40" fill-opacity="0.5"/>'
        '<g fill="green"><polygon points="80,80 110,80 95,50"/>'
        '<polyline points="10,85 30,60 50,85" fill="none" stroke="black"/></g></g>'
        '<path d="M20 20 h60 v50 h-60 z M35 35 h30 v20 h-30 z" fill="#3366cc" fill-rule="evenodd" '
        'fill-opacity="0.7"/>'),
    "strokes": _svg(
        '<g fill="none" stroke="#222" stroke-width="6">'
        '<path d="M10 20 L50 10 L90 20" stroke-linecap="round" stroke-linejoin="round"/>'
        '<path d="M10 45 L50 35 L90 45" stroke-linecap="square" stroke-linejoin="bevel"/>'
        '<path d="M10 70 L50 60 L90 70" stroke-linecap="butt" stroke-linejoin="miter"/>'
        '<line x1="100" y1="10" x2="110" y2="80" stroke="red" stroke-dasharray="8 4" '
        'stroke-dashoffset="3"/>'
        '<circle cx="60" cy="45" r="12" stroke="blue" stroke-opacity="0.5" stroke-width="3"/></g>'),
}


def _fixtures():
    return sorted(glob.glob(os.path.join(DATA, "*.svg")))


def _load(source):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydiffvg.svg_to_scene(source, strict=False)


def _render(scene):
    cw, ch, shapes, groups = scene
    height = max(1, int(round(SIZE * ch / cw)))
    if not shapes:
        return np.ones((height, SIZE, 3))
    img = pydiffvg.render(shapes, groups, width=SIZE, height=height, canvas_width=cw,
                          canvas_height=ch, num_samples=2, seed=0).detach().cpu().double().numpy()
    rgb, a = img[..., :3], img[..., 3:4]
    return rgb * a + (1.0 - a)


def _psnr(a, b):
    a8, b8 = np.round(a * 255.0), np.round(b * 255.0)
    mse = float(np.mean((a8 - b8) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


def _check_roundtrip(source, tmp_path):
    first = _load(source)
    assert first[2], "scene has no shapes; the round trip would prove nothing"
    out = tmp_path / "roundtrip.svg"
    pydiffvg.save_svg(str(out), first[0], first[1], first[2], first[3])
    second = _load(str(out))
    assert (second[0], second[1]) == (first[0], first[1])
    a, b = _render(first), _render(second)
    assert a.shape == b.shape
    value = _psnr(a, b)
    assert value >= MIN_PSNR, f"round-trip PSNR {value:.2f} dB < {MIN_PSNR} dB"


def test_fixture_folder_present():
    assert len(_fixtures()) == 14


@pytest.mark.parametrize("path", _fixtures(), ids=lambda p: os.path.basename(p)[:-4])
def test_roundtrip_resvg_fixture(path, tmp_path):
    _check_roundtrip(path, tmp_path)


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_roundtrip_hand_written(name, tmp_path):
    _check_roundtrip(HAND_WRITTEN[name], tmp_path)
