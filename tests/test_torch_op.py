"""pydiffvg's renderers as torch.library operators (issue #19).

torch.compile(fullgraph=True) traces a loss that builds shapes and calls
pydiffvg.render; scenes of one structure compile once; the op's images and
gradients equal the eager autograd.Function's, and the gradients agree with
central finite differences; opcheck accepts the registrations."""
import pytest
import torch
import torch._dynamo.testing

import pydiffvg
from pydiffvg import op

STOPS = torch.tensor([[1.0, 0.2, 0.1, 1.0], [0.1, 0.3, 0.9, 0.6]])


def _scene(center, color, width):
    """Every kind of shape and paint the op flattens: circle, path with a
    per-point width, rect, polygon, solid, linear and radial paints, a
    transform and both fill rules."""
    path_points = torch.stack([center + torch.tensor(d) for d in
                               ([-20.0, 5.0], [-8.0, -18.0], [6.0, 20.0], [18.0, -4.0], [4.0, 14.0])])
    shapes = [
        pydiffvg.Circle(radius=torch.tensor(9.0), center=center),
        pydiffvg.Path(num_control_points=torch.tensor([2, 0]), points=path_points, is_closed=False,
                      stroke_width=width * torch.linspace(0.5, 1.5, 5)),
        pydiffvg.Rect(p_min=torch.tensor([4.0, 30.0]), p_max=torch.tensor([20.0, 44.0])),
        pydiffvg.Polygon(points=torch.stack([center, center + torch.tensor([15.0, 2.0]),
                                             center + torch.tensor([6.0, 16.0])]), is_closed=True),
    ]
    shapes[2].line_join = pydiffvg.LineJoin.miter
    groups = [
        pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=color),
        pydiffvg.ShapeGroup(shape_ids=torch.tensor([1]), fill_color=None,
                            stroke_color=pydiffvg.LinearGradient(begin=center - 10, end=center + 10,
                                                                 offsets=torch.tensor([0.0, 1.0]),
                                                                 stop_colors=STOPS)),
        pydiffvg.ShapeGroup(shape_ids=torch.tensor([2]), fill_color=pydiffvg.RadialGradient(
            center=torch.tensor([12.0, 37.0]), radius=torch.tensor([8.0, 6.0]), offsets=torch.tensor([0.0, 1.0]),
            stop_colors=STOPS), stroke_color=color, use_even_odd_rule=False,
            shape_to_canvas=torch.tensor([[1.0, 0.2, 2.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])),
        pydiffvg.ShapeGroup(shape_ids=torch.tensor([3]), fill_color=color * torch.tensor([1.0, 0.5, 0.5, 0.7])),
    ]
    return shapes, groups


def _loss(center, color, width):
    shapes, groups = _scene(center, color, width)
    image = pydiffvg.render(shapes, groups, width=48, height=48, num_samples=2, seed=5)
    return image[:, :40].sum() + (image[..., 3] * torch.linspace(0, 1, 48)).sum()


def _leaves(k=0):
    return (torch.tensor([24.0 + k, 22.0 - 0.5 * k], requires_grad=True),
            torch.tensor([0.8, 0.4 + 0.01 * k, 0.2, 0.9], requires_grad=True),
            torch.tensor(1.5, requires_grad=True))


def _grads(loss_fn, leaves):
    loss = loss_fn(*leaves)
    return loss.detach(), torch.autograd.grad(loss, leaves)


def test_compile_fullgraph_compiles_once_over_twenty_calls():
    counter = torch._dynamo.testing.CompileCounterWithBackend("aot_eager")
    compiled = torch.compile(_loss, fullgraph=True, backend=counter)
    for k in range(20):  # new values, same structure: the spec string is the same constant
        leaves = _leaves(k)
        eager_loss, eager_grads = _grads(_loss, leaves)
        loss, grads = _grads(compiled, leaves)
        assert torch.allclose(loss, eager_loss, rtol=1e-5), (k, float(loss), float(eager_loss))
        for g, e in zip(grads, eager_grads):
            assert torch.allclose(g, e, rtol=1e-4, atol=1e-4), (k, g, e)
    assert counter.frame_count == 1, f"{counter.frame_count} compilations over 20 calls"
    assert counter.op_count > 0


def test_compile_with_inductor_matches_eager():
    compiled = torch.compile(_loss, fullgraph=True)  # the default backend
    leaves = _leaves(3)
    eager_loss, eager_grads = _grads(_loss, leaves)
    loss, grads = _grads(compiled, leaves)
    assert torch.allclose(loss, eager_loss, rtol=1e-5), (float(loss), float(eager_loss))
    for g, e in zip(grads, eager_grads):
        assert torch.allclose(g, e, rtol=1e-4, atol=1e-4), (g, e)


def test_a_new_structure_compiles_again_and_renders_right():
    counter = torch._dynamo.testing.CompileCounterWithBackend("aot_eager")

    def loss_fn(points, closed):
        path = pydiffvg.Polygon(points=points, is_closed=closed)
        group = pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=torch.tensor([0.0, 0.0, 0.0, 1.0]),
                                    stroke_color=torch.tensor([1.0, 0.0, 0.0, 1.0]))
        return pydiffvg.render([path], [group], width=32, height=32, num_samples=2)

    compiled = torch.compile(loss_fn, fullgraph=True, backend=counter)
    points = torch.tensor([[4.0, 4.0], [28.0, 6.0], [16.0, 28.0]])
    for closed in (True, False, True):
        assert torch.equal(compiled(points, closed), loss_fn(points, closed)), closed
    assert counter.frame_count == 2


def test_errors_under_compile_name_the_argument():
    compiled = torch.compile(_loss, fullgraph=True, backend="aot_eager")
    center, color, width = _leaves()
    with pytest.raises(ValueError, match=r"shapes\[0\]\.center contains NaN"):
        compiled(torch.tensor([float("nan"), 1.0]), color, width)
    bad = pydiffvg.Path(num_control_points=torch.tensor([2]), points=torch.zeros(3, 2), is_closed=False)
    group = pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=color)
    with pytest.raises(ValueError, match=r"shapes\[0\]\.points holds 3 points"):
        torch.compile(lambda: pydiffvg.render([bad], [group], width=8, height=8), fullgraph=True,
                      backend="aot_eager")()


def _op_render(scenes, background, radius, **kw):
    """The op called directly, in eager mode, as compiled code calls it."""
    filt = pydiffvg.PixelFilter(pydiffvg.FilterType.hann, radius)
    return op.render_op(scenes, 40, 36, 2, 2, kw.get("seed", 7), filt, background, kw.get("premultiplied", True),
                        False, pydiffvg.OutputType.color, torch.device("cpu"))


def test_the_op_in_eager_mode_equals_render_with_every_gradient():
    center, color, width = _leaves()
    radius = torch.tensor(0.8, requires_grad=True)
    background = torch.rand(36, 40, 4, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    shapes, groups = _scene(center, color, width)
    weights = torch.rand(1, 36, 40, 4, generator=torch.Generator().manual_seed(2))
    leaves = [center, color, width, radius, background]
    image = pydiffvg.render(shapes, groups, width=40, height=36, canvas_width=48, canvas_height=48, seed=7,
                            filter=pydiffvg.PixelFilter(pydiffvg.FilterType.hann, radius), background=background,
                            premultiplied=True)
    expected = torch.autograd.grad((image * weights[0]).sum(), leaves)
    shapes, groups = _scene(center, color, width)  # anew: the first graph is spent
    through_op = _op_render([(48, 48, shapes, groups)], background, radius)
    assert torch.equal(through_op[0], image.detach())
    got = torch.autograd.grad((through_op * weights).sum(), leaves)
    for name, g, e in zip(("center", "color", "width", "radius", "background"), got, expected):
        assert torch.allclose(g, e, rtol=1e-4, atol=1e-5), (name, g, e)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64], ids=str)
def test_the_op_returns_each_gradient_in_its_leaf_dtype(dtype):
    center = torch.tensor([20.0, 18.0], dtype=dtype, requires_grad=True)
    color = torch.tensor([0.2, 0.6, 0.9, 1.0], dtype=dtype, requires_grad=True)
    shapes = [pydiffvg.Circle(radius=torch.tensor(8.0, dtype=dtype), center=center)]
    groups = [pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=color)]
    compiled = torch.compile(lambda: pydiffvg.render(shapes, groups, width=40, height=36), fullgraph=True,
                             backend="aot_eager")
    image = compiled()
    assert image.dtype == torch.float32
    g_center, g_color = torch.autograd.grad(image[:, :20].sum(), [center, color])
    assert g_center.dtype == dtype and g_color.dtype == dtype
    reference = pydiffvg.render(shapes, groups, width=40, height=36)
    assert torch.equal(image, reference)


def test_the_op_gradient_matches_central_differences():
    """d loss / d centre.x through the op against central differences of the
    rendered loss (prefiltered, so the loss is smooth in the centre)."""
    def loss_of(cx):
        center = torch.stack([cx, torch.tensor(19.0)])
        shapes = [pydiffvg.Circle(radius=torch.tensor(7.0), center=center)]
        groups = [pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=torch.tensor([1.0, 0.5, 0.2, 1.0]))]
        image = op.render_op([(40, 40, shapes, groups)], 40, 40, 1, 1, 0, pydiffvg.PixelFilter(0), None, True,
                             True, pydiffvg.OutputType.color, torch.device("cpu"))
        return (image[0, :, :, 0] * torch.linspace(0, 1, 40)).sum()

    cx = torch.tensor(18.3, requires_grad=True)
    analytic = float(torch.autograd.grad(loss_of(cx), cx)[0])
    h = 0.05
    numeric = float(loss_of(torch.tensor(18.3 + h)) - loss_of(torch.tensor(18.3 - h))) / (2 * h)
    assert abs(analytic - numeric) <= 0.02 * abs(numeric), (analytic, numeric)


def test_opcheck_accepts_the_registrations():
    center, color, width = _leaves()
    shapes, groups = _scene(center, color, width)
    radius = torch.tensor(0.5, requires_grad=True)
    background = torch.rand(24, 24, 4, requires_grad=True)
    tensors, spec = op.flatten_scenes([(48, 48, shapes, groups)], radius, background)
    # Leaves: opcheck runs several backward passes over the same inputs.
    tensors = [t.detach().requires_grad_(t.is_floating_point()) for t in tensors]
    args = (tensors, [t.requires_grad for t in tensors], spec, 24, 24, 2, 2, 0, 0, False, True, False,
            torch.device("cpu"))
    # opcheck compares gradients of separate runs with tight tolerances; on
    # several threads the kernel's atomic gradient sums may differ in their
    # last bits from run to run (seen once in CI), so run on one
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results = torch.library.opcheck(torch.ops.pydiffvg.render2d.default, args)
    finally:
        torch.set_num_threads(threads)
    assert all(v == "SUCCESS" for v in results.values()), results


def test_flatten_and_unflatten_round_trip_the_scene():
    center, color, width = _leaves()
    shapes, groups = _scene(center, color, width)
    tensors, spec = op.flatten_scenes([(48, 40, shapes, groups)], torch.tensor(0.5), None)
    scenes, radius, background = op.unflatten_scenes(tensors, spec)
    (w, h, shapes2, groups2), = scenes
    assert (w, h, background) == (48, 40, None)
    assert [type(s) for s in shapes2] == [type(s) for s in shapes]
    assert shapes2[2].line_join == pydiffvg.LineJoin.miter and not shapes2[1].is_closed
    assert shapes2[1].stroke_width is shapes[1].stroke_width or torch.equal(shapes2[1].stroke_width,
                                                                            shapes[1].stroke_width)
    assert isinstance(groups2[1].stroke_color, pydiffvg.LinearGradient)
    assert isinstance(groups2[2].fill_color, pydiffvg.RadialGradient) and not groups2[2].use_even_odd_rule
    assert groups2[1].fill_color is None


def test_the_op_takes_a_few_tensors_however_many_shapes():
    """The scene crosses the op boundary as buckets (one tensor per dtype,
    device and trailing shape), not one tensor per attribute, and the
    pieces come back intact, with their gradients."""
    generator = torch.Generator().manual_seed(3)
    points = (torch.rand(64 * 4, 2, generator=generator) * 40).requires_grad_(True)
    widths = (torch.rand(64, generator=generator) + 0.5).requires_grad_(True)
    colors = torch.rand(64, 4, generator=generator).requires_grad_(True)

    def scene():
        shapes = [pydiffvg.Path(num_control_points=torch.tensor([2]), points=points[4 * i:4 * i + 4],
                                is_closed=False, stroke_width=widths[i]) for i in range(64)]
        groups = [pydiffvg.ShapeGroup(shape_ids=torch.tensor([i]), fill_color=None, stroke_color=colors[i])
                  for i in range(64)]
        return shapes, groups

    shapes, groups = scene()
    tensors, spec = op.flatten_scenes([(40, 40, shapes, groups)], torch.tensor(0.5), None)
    assert len(tensors) <= 8, [tuple(t.shape) for t in tensors]
    (_, _, shapes2, groups2), = op.unflatten_scenes(tensors, spec)[0]
    assert torch.equal(shapes2[5].points, points[20:24]) and torch.equal(shapes2[5].stroke_width, widths[5])
    assert torch.equal(groups2[7].stroke_color, colors[7]) and groups2[7].fill_color is None
    assert shapes2[5].num_control_points.tolist() == [2] and groups2[7].shape_ids.tolist() == [7]
    weights = torch.rand(1, 40, 40, 4, generator=generator)
    image = op.render_op([(40, 40, shapes, groups)], 40, 40, 2, 2, 1, pydiffvg.PixelFilter(0), None, False, False,
                         pydiffvg.OutputType.color, torch.device("cpu"))
    got = torch.autograd.grad((image * weights).sum(), [points, widths, colors])
    shapes, groups = scene()
    reference = pydiffvg.render(shapes, groups, width=40, height=40, num_samples=2, seed=1)
    assert torch.equal(image[0], reference.detach())
    expected = torch.autograd.grad((reference * weights[0]).sum(), [points, widths, colors])
    for name, g, e in zip(("points", "widths", "colors"), got, expected):
        assert torch.allclose(g, e, rtol=1e-4, atol=1e-5), (name, (g - e).abs().max())


# ----------------------------------------------------------------- the 3-D path tracer

def _scene3d(z):
    import pydiffvg.render3d as r3
    camera = r3.Camera(torch.tensor([0.0, 0.0, 3.0]), torch.zeros(3), torch.tensor([0.0, 1.0, 0.0]), 45.0,
                       resolution=(12, 16))
    quad = torch.tensor([[-1.0, -1.0, 0.0], [1.0, -1.0, 0.0], [1.0, 1.0, 0.0], [-1.0, 1.0, 0.0]])
    light = torch.tensor([[-0.4, -0.4, 1.5], [0.4, -0.4, 1.5], [0.0, 0.5, 1.5]])
    tri = torch.stack([torch.tensor([-0.5, -0.3, 0.0]), torch.tensor([0.6, -0.2, 0.0]),
                       torch.tensor([0.0, 0.6, 0.0])]) + torch.stack([torch.zeros(3), torch.zeros(3), z])
    shapes = [r3.Shape(quad, torch.tensor([[0, 1, 2], [0, 2, 3]], dtype=torch.int32), 0),
              r3.Shape(tri, torch.tensor([[0, 1, 2]], dtype=torch.int32), 1),
              r3.Shape(light, torch.tensor([[0, 2, 1]], dtype=torch.int32), 0)]
    materials = [r3.Material(torch.tensor([0.6, 0.6, 0.6])), r3.Material(torch.tensor([0.8, 0.2, 0.1]))]
    return r3.Scene(camera, shapes, materials, [r3.AreaLight(2, torch.tensor([4.0, 4.0, 4.0]), two_sided=True)])


def test_pathtrace_is_a_registered_op_that_opcheck_accepts():
    from pydiffvg.render3d.render import _Packed
    packed = _Packed(_scene3d(torch.tensor([0.0, 0.0, 0.3])))
    floats = [t.detach().requires_grad_(True) for t in (packed.vertices, packed.camera_params, packed.diffuse,
                                                          packed.specular, packed.roughness, packed.intensity)]
    vertices, camera, diffuse, specular, roughness, intensity = floats
    args = (vertices, None, camera, diffuse, specular, roughness, intensity, packed.uvs, packed.texels, packed.envmap,
            *packed.structure(), 16, 12, 2, 2, 1, 0, False, 0.01, True, True)
    results = torch.library.opcheck(torch.ops.pydiffvg.pathtrace.default, args)
    assert all(v == "SUCCESS" for v in results.values()), results


def test_compiled_path_tracing_equals_eager():
    import pydiffvg.render3d as r3

    def loss_fn(z):
        return r3.render_pathtracing(_scene3d(z), num_samples=2, max_bounces=1, seed=3)[..., 0].sum()

    z = torch.tensor([0.0, 0.0, 0.3], requires_grad=True)
    eager = loss_fn(z)
    eager_grad, = torch.autograd.grad(eager, z)
    compiled = torch.compile(loss_fn, backend="aot_eager")
    loss = compiled(z)
    grad, = torch.autograd.grad(loss, z)
    assert torch.allclose(loss, eager, rtol=1e-5), (float(loss), float(eager))
    assert torch.allclose(grad, eager_grad, rtol=1e-4, atol=1e-5), (grad, eager_grad)
    assert float(grad.abs().sum()) > 0


def test_the_hand_over_from_forward_to_backward_never_changes_a_gradient():
    """Two forwards before one backward, and a second backward with
    retain_graph (which finds nothing handed over and packs again), give
    the eager gradients; entries go with their images."""
    center, color, width = _leaves()
    shapes, groups = _scene(center, color, width)
    reference = torch.autograd.grad(_loss(center, color, width), [center, color, width])

    def through_op(seed):
        shapes, groups = _scene(center, color, width)
        image = op.render_op([(48, 48, shapes, groups)], 48, 48, 2, 2, seed, pydiffvg.PixelFilter(0), None, False,
                             False, pydiffvg.OutputType.color, torch.device("cpu"))[0]
        return image[:, :40].sum() + (image[..., 3] * torch.linspace(0, 1, 48)).sum()

    first, second = through_op(5), through_op(6)
    assert len(op._HANDOVER) >= 2
    expected_second = torch.autograd.grad(_loss_with_seed(center, color, width, 6), [center, color, width])
    both = torch.autograd.grad(first + second, [center, color, width], retain_graph=True)
    again = torch.autograd.grad(first + second, [center, color, width])
    for b, a, r, s in zip(both, again, reference, expected_second):
        assert torch.allclose(b, r + s, rtol=1e-4, atol=1e-4), (b, r + s)
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6), (a, b)
    del first, second, both, again
    through_op(7)  # forwards sweep out the entries of dead images: only the last is left
    through_op(8)
    assert len(op._HANDOVER) == 1, f"{len(op._HANDOVER)} entries outlived their images"


def _loss_with_seed(center, color, width, seed):
    shapes, groups = _scene(center, color, width)
    image = pydiffvg.render(shapes, groups, width=48, height=48, num_samples=2, seed=seed)
    return image[:, :40].sum() + (image[..., 3] * torch.linspace(0, 1, 48)).sum()
