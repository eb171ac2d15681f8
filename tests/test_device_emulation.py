"""The emulated device path (pydiffvg.emulate_device) against the CPU path.

The emulated path runs the branches a CUDA build takes (per-pixel walks,
counted layer storage, device-side scans, CUDA's launch shape, device
atomics) on the CPU's threads. Both paths draw the same pixel and boundary
samples, so images agree to float rounding and gradients to the rounding of
their summation order: these checks are far tighter than the finite-difference
thresholds of the device-parametrised tests, which run the emulated case too.
"""
import pytest
import torch

import pydiffvg
from pydiffvg import _core
from pydiffvg._native import CallScope

IMAGE_TOLERANCE = 2e-5     # absolute, on [0, 1] colours
GRADIENT_TOLERANCE = 2e-4  # |g_emulated - g_cpu| / max |g_cpu|, per tensor


def _t(values):
    return torch.tensor(values, dtype=torch.float32)


def _paths(count, width, height, seed, closed, alpha, stroke_width=2.0):
    gen = torch.Generator().manual_seed(seed)
    shapes, groups = [], []
    for i in range(count):
        points = torch.rand(7 if closed else 4, 2, generator=gen) * _t([width, height])
        if closed:
            points = points[:6]
        segments = torch.full((2 if closed else 1,), 2, dtype=torch.int32)
        shapes.append(pydiffvg.Path(num_control_points=segments, points=points, is_closed=closed,
                                    stroke_width=torch.tensor(stroke_width)))
        colour = torch.cat([torch.rand(3, generator=gen), torch.tensor([alpha])])
        groups.append(pydiffvg.ShapeGroup(shape_ids=torch.tensor([i]), fill_color=colour if closed else None,
                                          stroke_color=None if closed else colour))
    return shapes, groups


def _mixed_scene():
    """Every shape kind, both paint gradients, fills and styled strokes."""
    shapes = [
        pydiffvg.Circle(radius=_t(9.0), center=_t([14.0, 15.0]), stroke_width=_t(2.0)),
        pydiffvg.Ellipse(radius=_t([11.0, 6.0]), center=_t([34.0, 12.0])),
        pydiffvg.Rect(p_min=_t([6.0, 24.0]), p_max=_t([22.0, 38.0]), stroke_width=_t(1.5)),
        pydiffvg.Polygon(points=_t([[26.0, 22.0], [44.0, 26.0], [36.0, 39.0]]), is_closed=True),
        pydiffvg.Path(num_control_points=torch.tensor([1, 2], dtype=torch.int32),
                      points=_t([[4.0, 4.0], [20.0, 1.0], [30.0, 8.0], [36.0, 30.0], [42.0, 2.0], [46.0, 20.0]]),
                      is_closed=False, stroke_width=_t(3.0)),
    ]
    shapes[4].line_cap = pydiffvg.LineCap.square
    shapes[4].line_join = pydiffvg.LineJoin.miter
    linear = pydiffvg.LinearGradient(begin=_t([0.0, 0.0]), end=_t([30.0, 20.0]), offsets=_t([0.0, 1.0]),
                                     stop_colors=_t([[1.0, 0.2, 0.1, 0.9], [0.1, 0.3, 1.0, 0.7]]))
    radial = pydiffvg.RadialGradient(center=_t([34.0, 12.0]), radius=_t([10.0, 8.0]), offsets=_t([0.0, 0.6, 1.0]),
                                     stop_colors=_t([[1, 1, 0, 1], [0, 1, 0.5, 0.6], [0.2, 0, 1, 0.8]]))
    groups = [
        pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=_t([0.9, 0.3, 0.2, 0.8]),
                            stroke_color=_t([0.1, 0.1, 0.6, 0.9])),
        pydiffvg.ShapeGroup(shape_ids=torch.tensor([1]), fill_color=radial),
        pydiffvg.ShapeGroup(shape_ids=torch.tensor([2]), fill_color=linear, stroke_color=_t([0, 0, 0, 1.0])),
        pydiffvg.ShapeGroup(shape_ids=torch.tensor([3]), fill_color=_t([0.2, 0.8, 0.3, 0.5]),
                            use_even_odd_rule=False),
        pydiffvg.ShapeGroup(shape_ids=torch.tensor([4]), fill_color=None, stroke_color=_t([0.5, 0.2, 0.7, 0.6])),
    ]
    return shapes, groups


def _leaves(shapes, groups):
    """Every float tensor of the scene, made a leaf that wants its gradient."""
    found = []

    def visit(obj, names):
        for name in names:
            value = getattr(obj, name, None)
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                leaf = value.detach().clone().requires_grad_(True)
                setattr(obj, name, leaf)
                found.append(leaf)
            elif isinstance(value, (pydiffvg.LinearGradient, pydiffvg.RadialGradient)):
                visit(value, ("begin", "end", "center", "radius", "offsets", "stop_colors"))
    for s in shapes:
        visit(s, ("points", "center", "radius", "p_min", "p_max", "stroke_width"))
    for g in groups:
        visit(g, ("fill_color", "stroke_color"))
    return found


def _render_and_grad(shapes, groups, width, height, emulated, **kw):
    leaves = _leaves(shapes, groups)
    weights = torch.rand(height, width, 1, generator=torch.Generator().manual_seed(3))
    with pydiffvg.emulate_device(emulated):
        image = pydiffvg.render(shapes, groups, width=width, height=height, **kw)
        grads = torch.autograd.grad((image * weights).sum(), leaves, allow_unused=True)
    return image.detach(), [g if g is not None else torch.zeros_like(p) for g, p in zip(grads, leaves)]


def _compare(build, width, height, image_tolerance=IMAGE_TOLERANCE, gradient_tolerance=GRADIENT_TOLERANCE, **kw):
    image_cpu, grads_cpu = _render_and_grad(*build(), width, height, False, **kw)
    image_emu, grads_emu = _render_and_grad(*build(), width, height, True, **kw)
    image_error = (image_cpu - image_emu).abs().max().item()
    assert image_error <= image_tolerance, f"image: max |cpu - emulated| = {image_error:.3g}"
    for i, (a, b) in enumerate(zip(grads_cpu, grads_emu)):
        scale = a.abs().max().item()
        error = (a - b).abs().max().item() / max(scale, 1e-12)
        assert error <= gradient_tolerance, (f"gradient of leaf {i}: relative max error {error:.3g} "
                                             f"(cpu max |g| {scale:.4g}, emulated {b.abs().max().item():.4g})")
    return image_cpu


CASES = {
    "mixed": dict(),
    "mixed_tent_filter": dict(filter=pydiffvg.PixelFilter(pydiffvg.FilterType.tent, torch.tensor(1.2))),
    "mixed_hann_filter": dict(filter=pydiffvg.PixelFilter(pydiffvg.FilterType.hann, torch.tensor(0.8))),
    "mixed_premultiplied": dict(premultiplied=True, num_samples=3),
    "mixed_prefiltered": dict(use_prefiltering=True, num_samples=1),
    "mixed_background": dict(background=torch.rand(40, 48, 4, generator=torch.Generator().manual_seed(5))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mixed_scene_matches_cpu(case):
    _compare(_mixed_scene, 48, 40, **CASES[case])


def test_sdf_output_matches_cpu():
    _compare(_mixed_scene, 48, 40, output_type=pydiffvg.OutputType.sdf, num_samples=1)


def test_batch_matches_cpu():
    def build():
        a, b = _mixed_scene(), _paths(12, 48, 40, seed=4, closed=True, alpha=0.6)
        return a, b
    leaves_cpu, leaves_emu = [], []
    images = []
    for emulated, bucket in ((False, leaves_cpu), (True, leaves_emu)):
        (sa, ga), (sb, gb) = build()
        leaves = _leaves(sa, ga) + _leaves(sb, gb)
        scenes = [pydiffvg.Scene(48, 40, sa, ga), pydiffvg.Scene(48, 40, sb, gb)]
        with pydiffvg.emulate_device(emulated):
            image = pydiffvg.render(scenes, num_samples=2)
            bucket.extend(torch.autograd.grad(image[..., :3].sum() + image[1].pow(2).sum(), leaves,
                                              allow_unused=True))
        images.append(image.detach())
    assert (images[0] - images[1]).abs().max().item() <= IMAGE_TOLERANCE
    for a, b in zip(leaves_cpu, leaves_emu):
        if a is None:
            assert b is None
            continue
        assert (a - b).abs().max().item() <= GRADIENT_TOLERANCE * max(a.abs().max().item(), 1e-12)


def test_600_translucent_strokes_render_and_differentiate_without_a_layer_cap():
    """600 overlapping strokes of alpha 0.3 stack hundreds of translucent
    layers at each sample (the old device path stopped at 16): the emulated
    device path (its counted second pass) gives the CPU's image and
    gradients."""
    width = height = 24
    build = lambda: _paths(600, width, height, seed=11, closed=False, alpha=0.3, stroke_width=6.0)  # noqa: E731
    shapes, _ = build()
    image = _compare(build, width, height, num_samples=1, gradient_tolerance=1e-3)
    # The stack is deep: the stroke (half width 3) of most curves covers
    # the centre sample, far more than 16 of them.
    t = torch.linspace(0, 1, 200)[:, None]
    basis = torch.cat([(1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t ** 2 * (1 - t), t ** 3], dim=1)  # (200, 4)
    curves = torch.stack([s.points.detach() for s in shapes])  # (600, 4, 2)
    along = torch.einsum("tk,skd->std", basis, curves)
    nearest = (along - torch.tensor([width / 2, height / 2])).norm(dim=-1).min(dim=1).values
    covering = int((nearest < 2.9).sum())
    assert covering > 100, covering
    assert image[..., 3].min().item() > 0.99


def test_context_backend_argument_is_checked():
    scope = CallScope("cpu")
    args = list(scope.context_args())
    args[0] = 7
    with pytest.raises(ValueError, match="unknown backend 7"):
        _core.rt_project_points(*args, 0, {"width": 1, "height": 1}, 0, 0, 0)


def test_emulation_is_scoped():
    with pydiffvg.emulate_device(False):  # whatever PYDIFFVG_EMULATE_DEVICE says
        assert not pydiffvg.device_emulated()
        assert CallScope("cpu").context_args()[0] == 0
        with pydiffvg.emulate_device():
            assert pydiffvg.device_emulated()
            assert CallScope("cpu").context_args()[0] == 2
            with pydiffvg.emulate_device(False):
                assert CallScope("cpu").context_args()[0] == 0
            assert pydiffvg.device_emulated()
        assert CallScope("cpu").context_args()[0] == 0


def test_path_tracer_matches_cpu():
    """The 3-D tracer's device branches (launch shape, device-side edge
    weights and CDFs, host/device copies): the same samples give the CPU's
    image and, to summation order, its gradients."""
    import pydiffvg.render3d as r3

    def T(*rows):
        return torch.tensor(rows[0] if len(rows) == 1 else rows, dtype=torch.float32)

    def run(emulated):
        blocker = T([-.5, 1, -.5], [-.5, 1, .5], [.5, 1, 0.]).requires_grad_(True)
        rough = T(.3).requires_grad_(True)
        position = T(0., .8, 2.5).requires_grad_(True)
        cam = r3.Camera(position, T(0., 0., 0.), T(0., 1., 0.), T(30.), resolution=(20, 20))
        ground = r3.Shape(T([-20, 0, -20], [-20, 0, 20], [20, 0, 20], [20, 0, -20]),
                          torch.tensor([[0, 1, 2], [0, 2, 3]], dtype=torch.int32), 0)
        shapes = [ground, r3.Shape(blocker, torch.tensor([[0, 1, 2]], dtype=torch.int32), 0),
                  r3.Shape(T([-.5, 2.5, -.5], [-.5, 2.5, .5], [.5, 2.5, 0.]),
                           torch.tensor([[0, 2, 1]], dtype=torch.int32), 1)]
        scene = r3.Scene(cam, shapes, [r3.Material(T(.6, .6, .6), T(.4, .4, .4), rough),
                                       r3.Material(T(0., 0., 0.))], [r3.AreaLight(2, T(8., 8., 8.))])
        weights = torch.rand(20, 20, 3, generator=torch.Generator().manual_seed(2))
        with pydiffvg.emulate_device(emulated):
            image = r3.render_pathtracing(scene, num_samples=16, max_bounces=2, seed=4)
            grads = torch.autograd.grad((image * weights).sum(), [blocker, rough, position])
        return image.detach(), grads

    image_cpu, grads_cpu = run(False)
    image_emu, grads_emu = run(True)
    assert (image_cpu - image_emu).abs().max().item() <= IMAGE_TOLERANCE * image_cpu.abs().max().item()
    for name, a, b in zip(("blocker", "roughness", "camera"), grads_cpu, grads_emu):
        error = (a - b).abs().max().item() / max(a.abs().max().item(), 1e-12)
        assert error <= GRADIENT_TOLERANCE, f"{name}: relative max error {error:.3g} ({a.tolist()} vs {b.tolist()})"
