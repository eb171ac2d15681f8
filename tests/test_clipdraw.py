"""CLIP-guided drawing (pydiffvg.apps.clipdraw, apps/clipdraw.py).

A tiny open_clip architecture (registered from a config file, random
weights) goes through the same loading code as a real one; no weights are
downloaded. Skipped where open-clip-torch is not installed."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest
import torch

import pydiffvg

pytestmark = pytest.mark.skipif(importlib.util.find_spec("open_clip") is None,
                                reason="open-clip-torch is not installed (see README: CLIP drawing)")

from pydiffvg.apps import clipdraw  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "apps", "clipdraw.py")
TINY_NAME = "pydiffvg-test-tiny-clip"
TINY_CONFIG = {"embed_dim": 32,
               "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
               "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # The models here are tiny: one thread avoids OpenMP barrier stalls on a
    # loaded 2-core machine (measured 16 ms/step with 1 thread, up to 750 with 2).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(config path, checkpoint path, ClipModel) of the tiny architecture."""
    folder = tmp_path_factory.mktemp("tiny_clip")
    config = folder / f"{TINY_NAME}.json"
    config.write_text(json.dumps(TINY_CONFIG))
    clipdraw.import_open_clip().add_model_config(str(config))
    torch.manual_seed(0)
    model = clipdraw.load_clip(TINY_NAME, None, allow_random=True)
    checkpoint = folder / "tiny.pt"
    torch.save(model.model.state_dict(), checkpoint)
    return config, checkpoint, model


def _run_script(*args, env=None):
    return subprocess.run([sys.executable, SCRIPT, *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=300)


# ----------------------------------------------------------------------------- augmentations

def test_homography_maps_the_four_points():
    gen = torch.Generator().manual_seed(0)
    source = torch.rand(3, 4, 2, generator=gen, dtype=torch.float64)
    target = torch.rand(3, 4, 2, generator=gen, dtype=torch.float64)
    mapped = torch.cat([source, torch.ones(3, 4, 1, dtype=torch.float64)], -1) @ clipdraw.homography(
        source, target).transpose(1, 2)
    torch.testing.assert_close(mapped[..., :2] / mapped[..., 2:], target)


def test_views_without_distortion_or_crop_are_the_image():
    image = torch.rand(20, 24, 3, generator=torch.Generator().manual_seed(1))
    views = clipdraw.random_views(image, 2, (20, 24), distortion=0.0, crop_scale=(1.0, 1.0), crop_ratio=(1.2, 1.2))
    torch.testing.assert_close(views, image.permute(2, 0, 1).expand(2, -1, -1, -1), atol=1e-5, rtol=0)


def test_views_fill_outside_white_and_pass_gradients():
    image = torch.zeros(32, 32, 3, requires_grad=True)
    views = clipdraw.random_views(image, 4, (16, 16), generator=torch.Generator().manual_seed(2))
    assert views.shape == (4, 3, 16, 16)
    per_view = views.detach().flatten(1)
    # Every view shows the black image and, where the perspective pulls from
    # outside it, the white fill.
    assert bool((per_view.amin(1) == 0.0).all()) and bool((per_view.amax(1) > 0.99).all()), per_view.amax(1)
    unwarped = clipdraw.random_views(image, 4, (16, 16), distortion=0.0, generator=torch.Generator().manual_seed(2))
    assert float(unwarped.detach().abs().max()) < 1e-6
    views.sum().backward()
    assert float(image.grad.abs().sum()) > 0


# ----------------------------------------------------------------------------- open_clip and its loader

def test_torchvision_stand_in_lives_only_during_the_import():
    if importlib.util.find_spec("torchvision") is not None:
        pytest.skip("a real torchvision is installed and used")
    open_clip = clipdraw.import_open_clip()
    assert not any(name == "torchvision" or name.startswith("torchvision.") for name in sys.modules)
    with pytest.raises(ImportError, match="stand-in"):
        open_clip.transform.Resize(224)


def test_loader_needs_an_explicit_opt_in_for_random_weights(tiny):
    with pytest.raises(ValueError, match="allow_random"):
        clipdraw.load_clip(TINY_NAME, None)
    with pytest.raises(clipdraw.WeightsNotFoundError, match="no such file"):
        clipdraw.load_clip(TINY_NAME, "/nonexistent/path/weights.pt")


def test_checkpoint_path_loads_the_same_model(tiny):
    _, checkpoint, model = tiny
    loaded = clipdraw.load_clip(TINY_NAME, str(checkpoint))
    torch.testing.assert_close(loaded.encode_text(["a red circle"]), model.encode_text(["a red circle"]))
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    plain, _ = loaded.encode_image(images)
    with_layers, intermediates = loaded.encode_image(images, [0, 1])
    torch.testing.assert_close(plain, with_layers, atol=1e-5, rtol=1e-5)
    assert [tuple(f.shape) for f in intermediates] == [(2, 64, 4, 4)] * 2


# ----------------------------------------------------------------------------- loss and loop

def _per_path(strokes, grad):
    return torch.stack([grad[int(a):int(b)].abs().sum() for a, b in zip(strokes.offsets[:-1], strokes.offsets[1:])])


@pytest.mark.parametrize("with_style", [False, True])
def test_gradients_reach_every_stroke_parameter(tiny, with_style):
    _, _, model = tiny
    # Long segments (radius 0.6) in the middle half of the canvas: with
    # CLIPDraw's short zigzags (radius 0.1) some segments lie wholly inside
    # their own path's stroke, or outside every crop, and rightly get no
    # gradient (verified: with 0.3-pixel strokes every segment gets one).
    strokes = clipdraw.init_strokes(12, 32, 32, radius=0.6, generator=torch.Generator().manual_seed(4))
    strokes.points.mul_(0.5).add_(8.0)
    strokes.requires_grad_()
    style = torch.rand(40, 40, 3, generator=torch.Generator().manual_seed(5)) if with_style else None
    loss_fn = clipdraw.ClipDrawLoss(model, "a red circle", negative_prompts=["a blue square"], style_image=style,
                                    generator=torch.Generator().manual_seed(6))
    losses = loss_fn(clipdraw.render_strokes(strokes, seed=1))
    assert ("style" in losses) == with_style and all(torch.isfinite(v) for v in losses.values())
    (losses["style"] if with_style else losses["loss"]).backward()
    point_rows = strokes.points.grad.abs().sum(1)
    print(f"smallest |grad|: point row {float(point_rows.min()):.3g}, width "
          f"{float(strokes.widths.grad.abs().min()):.3g}, colour {float(strokes.colors.grad.abs().min()):.3g}")
    assert bool((point_rows > 0).all()) and bool((_per_path(strokes, strokes.points.grad) > 0).all())
    assert bool((strokes.widths.grad != 0).all())
    assert bool((strokes.colors.grad != 0).all())


def test_clip_loss_falls_over_twenty_steps(tiny):
    _, _, model = tiny
    strokes = clipdraw.init_strokes(16, 32, 32, generator=torch.Generator().manual_seed(0))
    loss_fn = clipdraw.ClipDrawLoss(model, "a red circle", generator=torch.Generator().manual_seed(0))

    def held_out_loss():  # the same 16 views before and after
        probe = clipdraw.ClipDrawLoss(model, "a red circle", num_views=16, generator=torch.Generator().manual_seed(99))
        with torch.no_grad():
            return float(probe(clipdraw.render_strokes(strokes, seed=0))["clip"])

    before = held_out_loss()
    # The random tiny CLIP's similarities span ~0.1, so use 5x CLIPDraw's step sizes.
    result = clipdraw.draw(strokes, loss_fn, iters=20, lr_scale=5.0)
    after = held_out_loss()
    print(f"CLIP loss {before:.4f} -> {after:.4f}; {result.timer.summary()}")
    assert len(result.history) == 20 and 0.0 < result.timer.render_share() <= 1.0
    assert after < before - 0.02, (before, after)
    widths, colors = strokes.widths.detach(), strokes.colors.detach()
    assert float(widths.min()) >= 1.0 and 0.0 <= float(colors.min()) <= float(colors.max()) <= 1.0


# ----------------------------------------------------------------------------- the script

def test_help_runs():
    result = _run_script("--help")
    assert result.returncode == 0 and "--pretrained" in result.stdout and "--no-deps" in result.stdout


def test_missing_weights_exit_with_one_line(tmp_path):
    out = tmp_path / "out.svg"
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")}
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))  # nothing cached, no network attempt
    for pretrained in ("/nonexistent/path", "laion2b_s34b_b79k"):
        result = _run_script("a cat", "-o", out, "--pretrained", pretrained, env=env)
        lines = result.stderr.strip().splitlines()
        print(result.stderr)
        assert result.returncode == 1 and len(lines) == 1 and pretrained in lines[0], result.stderr
        assert "Traceback" not in result.stderr
        assert not out.exists() and not (tmp_path / "out.png").exists()


def test_script_writes_svg_png_and_frames(tiny, tmp_path):
    config, checkpoint, _ = tiny
    out = tmp_path / "drawing.svg"
    style = tmp_path / "style.png"
    pydiffvg.imwrite(torch.rand(24, 24, 3, generator=torch.Generator().manual_seed(7)), str(style), gamma=1.0)
    result = _run_script("a red circle", "-o", out, "--model-config", config, "--model", TINY_NAME,
                         "--pretrained", checkpoint, "--size", 32, "--paths", 6, "--iters", 4, "--views", 2,
                         "--frames", tmp_path / "frames", "--frame-every", 2, "--style", style, "--threads", 1)
    assert result.returncode == 0, result.stderr
    width, height, shapes, groups = pydiffvg.svg_to_scene(str(out))
    assert (width, height) == (32, 32) and len(shapes) == 7  # the white background rect + 6 strokes
    assert all(g.stroke_color is not None for g in groups[1:])
    assert (tmp_path / "drawing.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path / "frames")) == ["iter_00002.png", "iter_00004.png"]
