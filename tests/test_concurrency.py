"""Renders from several Python threads at once (issue #19): the kernels run
with the GIL released, and each call owns its scratch memory, so concurrent
renders give exactly the images and gradients of serial ones.
(benchmarks/bench_threads.py times 2 threads against 1.)"""
import threading

import torch

import pydiffvg


def _scene(seed, device="cpu"):
    generator = torch.Generator().manual_seed(seed)
    shapes, groups = [], []
    for i in range(24):
        points = (torch.rand(7, 2, generator=generator) * 64).to(device).requires_grad_(True)
        shapes.append(pydiffvg.Path(num_control_points=torch.tensor([2, 2]), points=points, is_closed=False,
                                    stroke_width=torch.tensor(1.5, device=device)))
        color = torch.rand(4, generator=generator).to(device)
        groups.append(pydiffvg.ShapeGroup(shape_ids=torch.tensor([i]), fill_color=None, stroke_color=color))
    return shapes, groups


def _render_and_grad(seed, out):
    shapes, groups = _scene(seed)
    image = pydiffvg.render(shapes, groups, width=64, height=64, num_samples=2, seed=seed)
    image[..., :3].mean().backward()
    out[seed] = (image.detach(), torch.cat([s.points.grad for s in shapes]))


def test_four_threads_render_what_serial_calls_render():
    serial, concurrent, errors = {}, {}, []
    for seed in range(4):
        _render_and_grad(seed, serial)

    def worker(seed):
        try:
            for _ in range(3):  # several rounds, so that the calls overlap
                _render_and_grad(seed, concurrent)
        except Exception as exc:  # reported below: an exception in a thread would vanish
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads), "a render thread hung"
    for seed in range(4):
        assert torch.equal(concurrent[seed][0], serial[seed][0]), f"image {seed} differs"
        # Gradients are sums over threads of the pool: equal up to their order.
        assert torch.allclose(concurrent[seed][1], serial[seed][1], rtol=1e-5, atol=1e-7), f"gradient {seed} differs"


def test_an_error_inside_the_released_kernel_reaches_the_calling_thread(monkeypatch):
    """The kernel takes the GIL back for each scratch allocation. A Python
    exception raised there crosses the released region and comes back to the
    calling thread as itself; the next render in that thread works."""
    from pydiffvg import _native

    def failing_allocate(self, nbytes):
        raise MemoryError(f"test allocator refused {nbytes} bytes")

    shapes, groups = _scene(0)
    outcome = []

    def calls():
        try:
            with monkeypatch.context() as patch:
                patch.setattr(_native.CallScope, "allocate", failing_allocate)
                pydiffvg.render(shapes, groups, width=64, height=64, num_samples=2)
            outcome.append("no error")
        except MemoryError as exc:
            outcome.append(str(exc))
        outcome.append(pydiffvg.render(shapes, groups, width=64, height=64, num_samples=2).shape)

    thread = threading.Thread(target=calls)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the render thread hung"
    assert len(outcome) == 2 and "test allocator refused" in outcome[0], outcome
    assert tuple(outcome[1]) == (64, 64, 4), outcome
