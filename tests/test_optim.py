"""pydiffvg.optim: losses, the fit loop and error-driven path placement (tiny sizes)."""
import math

import pytest
import torch

import pydiffvg
from pydiffvg import optim


def _blob_target(size=32):
    """White image with a dark textured square in one corner: the error of a
    white canvas is concentrated in a quarter of the image."""
    image = torch.ones(size, size, 3)
    quarter = size // 2
    ys, xs = torch.meshgrid(torch.arange(quarter), torch.arange(quarter), indexing="ij")
    stripes = 0.5 + 0.4 * torch.sin(xs.float() * 0.9)[..., None] * torch.tensor([1.0, 0.3, -0.6])
    image[:quarter, :quarter] = stripes.clamp(0, 1) * 0.6
    return image


def test_losses_are_zero_for_identical_images_and_positive_otherwise():
    torch.manual_seed(0)
    a = torch.rand(20, 24, 3)
    b = (a + 0.1 * torch.randn_like(a)).clamp(0, 1)
    for kind in optim.LOSSES:
        assert float(optim.image_loss(a, a, kind)) == pytest.approx(0.0, abs=1e-6), kind
        assert float(optim.image_loss(b, a, kind)) > 1e-4, kind
    assert float(optim.ssim(a, a)) == pytest.approx(1.0, abs=1e-6)
    assert optim.psnr(a, a) == math.inf
    assert optim.psnr(torch.zeros(2, 2, 3), torch.full((2, 2, 3), 0.1)) == pytest.approx(20.0)
    with pytest.raises(ValueError, match="kind must be one of"):
        optim.image_loss(a, a, "l3")


def test_ssim_loss_has_gradients():
    a = torch.rand(16, 16, 3, requires_grad=True)
    optim.image_loss(a, torch.rand(16, 16, 3), "ssim").backward()
    assert a.grad is not None and torch.isfinite(a.grad).all() and a.grad.abs().sum() > 0


def test_error_placement_beats_uniform_at_equal_iterations():
    target = _blob_target()
    flat = float((target - 1.0).pow(2).mean())
    losses = {}
    for placement in ("error", "uniform"):
        runs = []
        for seed in (0, 1):
            result = optim.paint(target, 8, num_segments=2, iters=8, background="white", placement=placement,
                                 seed=seed)
            runs.append(result.loss)
        losses[placement] = sum(runs) / len(runs)
    print(f"relative loss after 8 iterations: error {losses['error'] / flat:.3f}, "
          f"uniform {losses['uniform'] / flat:.3f}")
    assert losses["error"] < 0.9 * losses["uniform"], losses


def test_init_paths_lands_in_the_error_region():
    target = _blob_target()
    shapes, groups = optim.init_paths(target, 50, current=torch.ones_like(target), seed=3)
    starts = torch.stack([s.points[0] for s in shapes])
    inside = ((starts < 16).all(dim=1)).float().mean()
    assert inside > 0.9, f"only {inside:.2f} of the paths start where the error is"
    assert all(g.stroke_color.shape == (4,) for g in groups)


def test_fit_lowers_loss_clamps_and_returns_best():
    target = torch.ones(16, 16, 3)
    target[4:12, 4:12] = torch.tensor([0.2, 0.4, 0.8])
    circle = pydiffvg.Circle(radius=torch.tensor(3.0), center=torch.tensor([6.0, 9.0]))
    group = pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=torch.tensor([0.9, 0.1, 0.1, 1.0]))
    seen = []
    result = optim.fit([circle], [group], target, iters=50, lr=2.0,
                       callback=lambda step, loss, psnr, image: seen.append((step, loss)))
    assert [s for s, _ in seen] == list(range(50)) and result.iterations == 50
    assert result.best_step > 0 and result.history[result.best_step] == min(result.history)
    assert result.loss < 0.5 * result.initial_loss, (result.loss, result.initial_loss)
    assert 0.0 <= float(group.fill_color.min()) and float(group.fill_color.max()) <= 1.0
    assert not circle.center.requires_grad


def _grey_square_on_black():
    target = torch.zeros(8, 8, 3)
    rect = pydiffvg.Rect(p_min=torch.tensor([2.0, 2.0]), p_max=torch.tensor([6.0, 6.0]))
    group = pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=torch.tensor([0.5, 0.5, 0.5, 1.0]))
    return target, rect, group


def test_fit_stops_on_keyboard_interrupt_with_best_so_far():
    target, rect, group = _grey_square_on_black()

    def interrupt(step, loss, psnr, image):
        if step == 2:
            raise KeyboardInterrupt

    result = optim.fit([rect], [group], target, iters=50, callback=interrupt, what=["colors"])
    assert result.interrupted and result.iterations == 2 and len(result.history) == 3


def test_fit_stops_on_ctrl_c_even_when_the_exception_is_lost():
    # C code that swallows exceptions can eat the KeyboardInterrupt that
    # Ctrl-C raises; fit must still stop at its next step. Here the callback
    # receives the signal and swallows the exception itself.
    import os
    import signal
    import time
    target, rect, group = _grey_square_on_black()

    def ctrl_c_swallowed(step, loss, psnr, image):
        if step == 3:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # the handler runs here
            except KeyboardInterrupt:
                pass

    result = optim.fit([rect], [group], target, iters=50, callback=ctrl_c_swallowed, what=["colors"])
    assert result.interrupted and result.iterations == 4, (result.interrupted, result.iterations)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "fit left its SIGINT handler installed"


# ----------------------------------------------------------------------------- step sizes, schedule, never worse

def test_lr_schedule_warms_up_then_decays_to_a_tenth():
    steps = 100
    factors = [optim.lr_factor("cosine", i, steps) for i in range(steps)]
    warmup = round(optim.WARMUP_FRACTION * steps)
    assert factors[0] == pytest.approx(1.0 / warmup) and factors[warmup - 1] == pytest.approx(1.0, abs=0.01)
    assert all(a >= b for a, b in zip(factors[warmup:], factors[warmup + 1:])), "not decreasing after the warm-up"
    assert factors[-1] == pytest.approx(optim.FINAL_LR_FACTOR)
    assert factors[steps // 2] == pytest.approx(optim.FINAL_LR_FACTOR + (1 - optim.FINAL_LR_FACTOR) * 0.5, abs=0.02)
    assert [optim.lr_factor("constant", i, steps) for i in (0, 50, 99)] == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="schedule must be one of"):
        optim.fit([], [], torch.ones(8, 8, 3), iters=1, schedule="linear")


def test_step_sizes_are_in_output_pixels():
    """A point step of 0.5 px moves a point by 0.5 output pixels, whatever
    the group's transform and the canvas-to-image scale: in user units it
    is 0.5 / (group scale x image scale)."""
    path = pydiffvg.Path(num_control_points=torch.tensor([0, 0]), points=torch.tensor([[0., 0.], [4., 0.], [4., 4.]]),
                         is_closed=False, stroke_width=torch.tensor(1.0))
    group = pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=None,
                                stroke_color=torch.tensor([0., 0., 0., 1.]),
                                shape_to_canvas=torch.tensor([[4., 0., 0.], [0., 4., 0.], [0., 0., 1.]]))
    groups = optim.parameter_groups([path], [group], ["points", "widths", "colors"],
                                    lr={"points": 0.5, "widths": 0.2}, pixels_per_unit=0.5)
    rates = {g["name"]: g["lr"] for g in groups}
    assert rates["points"] == pytest.approx(0.5 / (4 * 0.5))
    assert rates["widths"] == pytest.approx(0.2 / (4 * 0.5))
    assert rates["colors"] == pytest.approx(optim.DEFAULT_STEPS["colors"])
    with pytest.raises(ValueError, match="lr has unknown kind 'radius'"):
        optim.parameter_groups([path], [group], ["points"], lr={"radius": 1.0})


def test_clamp_changes_only_invalid_values():
    """Thin strokes stay thin: only negative widths and radii and colours
    outside [0, 1] are clamped (fit once clamped every half width under 0.5
    up to 0.5 before its first step)."""
    thin = pydiffvg.Path(num_control_points=torch.tensor([0]), points=torch.tensor([[0., 0.], [8., 8.]]),
                         is_closed=False, stroke_width=torch.tensor(0.1))
    bad = pydiffvg.Circle(radius=torch.tensor(-1.0), center=torch.tensor([4., 4.]))
    bad.stroke_width = torch.tensor(-0.3)
    groups = [pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=None,
                                  stroke_color=torch.tensor([0.2, 0.3, 0.4, 1.0])),
              pydiffvg.ShapeGroup(shape_ids=torch.tensor([1]), fill_color=torch.tensor([1.2, -0.1, 0.5, 1.0]),
                                  stroke_color=torch.tensor([0., 0., 0., 1.]))]
    optim.parameter_groups([thin, bad], groups, optim.PARAMETER_KINDS)
    optim.clamp_scene([thin, bad], groups)
    assert float(thin.stroke_width.detach()) == pytest.approx(0.1)
    assert float(bad.stroke_width.detach()) == 0.0 and float(bad.radius.detach()) == 0.0
    assert groups[0].stroke_color.detach().tolist() == pytest.approx([0.2, 0.3, 0.4, 1.0])
    assert groups[1].fill_color.detach().tolist() == pytest.approx([1.0, 0.0, 0.5, 1.0])
    optim.clamp_scene([thin, bad], groups, min_width=0.5, pixel_scales=[2.0, 1.0])
    assert float(thin.stroke_width.detach()) == pytest.approx(0.25), "0.5 px at 2 px per unit is 0.25 units"


def test_fit_to_its_own_render_returns_a_scene_no_worse():
    """Thin strokes and a small circle fitted to their own render (other
    samples): the result is the input or better by fit's own measure, and
    the fit's returned tensors are exactly the chosen step's."""
    path = pydiffvg.Path(num_control_points=torch.tensor([2]), points=torch.tensor([[4., 20.], [10., 2.], [20., 30.], [28., 8.]]),
                         is_closed=False, stroke_width=torch.tensor(0.3))
    circle = pydiffvg.Circle(radius=torch.tensor(2.5), center=torch.tensor([22.0, 22.0]))
    groups = [pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=None,
                                  stroke_color=torch.tensor([0.1, 0.2, 0.6, 1.0])),
              pydiffvg.ShapeGroup(shape_ids=torch.tensor([1]), fill_color=torch.tensor([0.8, 0.3, 0.1, 1.0]))]
    with torch.no_grad():
        target = optim.composite(pydiffvg.render([path, circle], groups, width=32, height=32, num_samples=8, seed=5,
                                                 premultiplied=True), torch.ones(3), premultiplied=True)
    start = [path.points.clone(), float(path.stroke_width), circle.center.clone()]
    result = optim.fit([path, circle], groups, target, iters=30)
    print(f"input {result.initial_psnr:.2f} dB, result {result.psnr:.2f} dB at step {result.best_step}")
    assert result.initial_psnr >= 35.0
    assert result.psnr >= result.initial_psnr and result.loss <= result.initial_loss
    if result.best_step == 0:
        assert torch.equal(path.points, start[0]) and float(path.stroke_width) == start[1]
        assert torch.equal(circle.center, start[2])
    assert float(path.stroke_width) > 0.2, "the thin stroke was widened or lost"


def test_old_app_module_names_still_import_with_a_warning():
    import importlib
    import sys
    from pydiffvg.apps import seam
    sys.modules.pop("pydiffvg.seam", None)
    with pytest.warns(DeprecationWarning, match="pydiffvg.seam moved to pydiffvg.apps.seam"):
        old = importlib.import_module("pydiffvg.seam")
    assert old is seam
