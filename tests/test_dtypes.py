"""Leaf dtypes and autocast: the kernels compute in float32, every float
dtype goes in, each leaf's gradient comes back in its own dtype, and under
torch.autocast the render runs and returns in float32 (issue #19; autocast
once raised "BFloat16 did not match Float", naming nothing of pydiffvg)."""
import pytest
import torch

import pydiffvg

FLOAT_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def _scene(dtype, device):
    center = torch.tensor([20.0, 17.0], dtype=dtype, device=device, requires_grad=True)
    radius = torch.tensor(9.0, dtype=dtype, device=device, requires_grad=True)
    color = torch.tensor([0.9, 0.3, 0.2, 1.0], dtype=dtype, device=device, requires_grad=True)
    shapes = [pydiffvg.Circle(radius=radius, center=center)]
    groups = [pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=color)]
    return shapes, groups, (center, radius, color)


def _loss(image):
    return image[:, :24, :3].sum() + 0.5 * image[..., 3].sum()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_every_float_dtype_in_gradients_in_its_own_dtype(device, dtype):
    shapes, groups, leaves = _scene(torch.float32, device)
    reference = pydiffvg.render(shapes, groups, width=40, height=32, num_samples=2, seed=3)
    _loss(reference).backward()
    expected = [leaf.grad.clone() for leaf in leaves]

    shapes, groups, leaves = _scene(dtype, device)
    image = pydiffvg.render(shapes, groups, width=40, height=32, num_samples=2, seed=3)
    assert image.dtype == torch.float32
    # The values 20, 17, 9 and the colour are exact in every dtype but the
    # colour's in bfloat16/float16, so the images agree to the colour's rounding.
    assert torch.allclose(image, reference, atol=4e-3), float((image - reference).abs().max())
    _loss(image).backward()
    for leaf, want in zip(leaves, expected):
        assert leaf.grad is not None and leaf.grad.dtype == dtype
        got = leaf.grad.float()
        tolerance = 1e-5 if dtype in (torch.float32, torch.float64) else 2e-2
        assert torch.allclose(got, want, rtol=tolerance, atol=tolerance * want.abs().max()), (got, want)


@pytest.mark.parametrize("autocast_dtype", [torch.bfloat16, torch.float16], ids=str)
def test_autocast_renders_and_returns_float32(device, autocast_dtype):
    # One thread: the gradients are compared at 1e-6, and on several threads
    # the kernel's atomic gradient sums may differ in their last bits from
    # run to run (seen once under load: a few 1e-6 relative).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        shapes, groups, leaves = _scene(torch.float32, device)
        reference = pydiffvg.render(shapes, groups, width=40, height=32, num_samples=2, seed=5)
        _loss(reference).backward()
        expected = [leaf.grad.clone() for leaf in leaves]

        shapes, groups, leaves = _scene(torch.float32, device)
        with torch.autocast(device.type, dtype=autocast_dtype):
            image = pydiffvg.render(shapes, groups, width=40, height=32, num_samples=2, seed=5)
            loss = _loss(image)
        assert image.dtype == torch.float32
        assert torch.equal(image, reference), "autocast changed the image"
        loss.backward()
    finally:
        torch.set_num_threads(threads)
    for leaf, want in zip(leaves, expected):
        assert leaf.grad.dtype == torch.float32 and torch.allclose(leaf.grad, want, rtol=1e-6, atol=1e-6), \
            (leaf.grad, want)


def test_autocast_3d_render_returns_float32():
    from pydiffvg import render3d as r3
    vertices = torch.tensor([[-1.0, -1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 1.0, 0.0]], requires_grad=True)
    light = torch.tensor([[-1.0, -1.0, 4.0], [0.0, 1.0, 4.0], [1.0, -1.0, 4.0]])
    faces = torch.tensor([[0, 1, 2]], dtype=torch.int32)
    camera = r3.Camera(torch.tensor([0.0, 0.0, 3.0]), torch.tensor([0.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]),
                       45.0, resolution=(16, 16))
    scene = r3.Scene(camera, [r3.Shape(vertices, faces, 0), r3.Shape(light, faces, 0)],
                     [r3.Material(torch.tensor([0.8, 0.8, 0.8]))],
                     [r3.AreaLight(1, torch.tensor([5.0, 5.0, 5.0]), two_sided=True)])
    plain = r3.render_pathtracing(scene, num_samples=2, seed=1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        image = r3.render_pathtracing(scene, num_samples=2, seed=1)
    assert image.dtype == torch.float32 and torch.equal(image, plain)
    assert float(image.detach().sum()) > 0, "the triangle is not lit"
    image.sum().backward()
    assert vertices.grad is not None and vertices.grad.dtype == torch.float32
