"""Move a blocker so that its shadow matches a target image.

A square blocker hangs between an area light and a ground plane. The camera
sees only the ground, so the blocker's position is known to the optimiser
only through its shadow: the gradient comes from secondary edge sampling
(shadow boundaries) in pydiffvg.render3d.

    python apps/shadow_optimization.py --iterations 80
"""
import argparse
import time

import torch

import pydiffvg.render3d as r3

BLOCKER_SIZE = 0.6


def make_scene(offset, resolution):
    """offset: (2,) blocker centre in the ground plane's x and z."""
    camera = r3.Camera(torch.tensor([0.0, 0.7, 3.0]), torch.tensor([0.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]),
                       35.0, resolution=(resolution, resolution))
    ground = r3.Shape(torch.tensor([[-20.0, 0, -20], [-20, 0, 20], [20, 0, 20], [20, 0, -20]]),
                      torch.tensor([[0, 1, 2], [0, 2, 3]], dtype=torch.int32), 0)
    h = BLOCKER_SIZE / 2
    square = torch.tensor([[-h, 1.0, -h], [-h, 1.0, h], [h, 1.0, h], [h, 1.0, -h]])
    shift = torch.stack([offset[0], torch.zeros(()), offset[1]])
    blocker = r3.Shape(square + shift, torch.tensor([[0, 1, 2], [0, 2, 3]], dtype=torch.int32), 0)
    light = r3.Shape(torch.tensor([[-0.3, 2.5, -0.3], [0.3, 2.5, -0.3], [0.3, 2.5, 0.3], [-0.3, 2.5, 0.3]]),
                     torch.tensor([[0, 1, 2], [0, 2, 3]], dtype=torch.int32), 1)
    materials = [r3.Material(torch.tensor([0.7, 0.7, 0.7]), two_sided=True), r3.Material(torch.zeros(3))]
    return r3.Scene(camera, [ground, blocker, light], materials, [r3.AreaLight(2, torch.tensor([10.0, 10.0, 10.0]))])


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--resolution", type=int, default=32, help="image height and width in pixels")
    p.add_argument("--iterations", type=int, default=80)
    p.add_argument("--spp", type=int, default=8, help="samples per pixel (forward and backward)")
    p.add_argument("--lr", type=float, default=0.03)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def run(args):
    torch.manual_seed(args.seed)
    true_offset = torch.tensor([0.1, -0.15])
    target = r3.render_pathtracing(make_scene(true_offset, args.resolution), num_samples=128, seed=999).detach()
    offset = torch.tensor([-0.2, 0.15], requires_grad=True)
    optimizer = torch.optim.Adam([offset], lr=args.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.iterations, eta_min=args.lr * 0.05)
    start = time.time()
    for it in range(args.iterations):
        optimizer.zero_grad()
        img = r3.render_pathtracing(make_scene(offset, args.resolution), num_samples=args.spp, seed=it)
        loss = ((img - target) ** 2).mean()
        loss.backward()
        optimizer.step()
        schedule.step()
        if not args.quiet and (it % 10 == 0 or it == args.iterations - 1):
            print(f"iter {it:4d} loss {loss.item():.6f} offset {offset.detach().tolist()} "
                  f"error {float((offset.detach() - true_offset).norm()):.4f}")
    error = float((offset.detach() - true_offset).norm())
    result = {"position_error": error, "position_error_relative_to_size": error / BLOCKER_SIZE,
              "initial_error_relative_to_size": float((torch.tensor([-0.2, 0.15]) - true_offset).norm()) / BLOCKER_SIZE,
              "seconds": time.time() - start}
    if not args.quiet:
        print(result)
    return result


if __name__ == "__main__":
    run(parse_args())
