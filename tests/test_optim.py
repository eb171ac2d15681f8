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
    result = optim.fit([circle], [group], target, iters=25, lr=2.0,
                       callback=lambda step, loss, psnr, image: seen.append((step, loss)))
    assert [s for s, _ in seen] == list(range(25)) and result.iterations == 25
    assert result.loss == min(result.history) and result.loss < 0.5 * result.history[0]
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
