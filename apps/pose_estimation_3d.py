"""Recover the rotation and translation of a procedural mesh from a target
image with the differentiable path tracer (pydiffvg.render3d).

The object is three boxes of different colours (asymmetric, so the pose is
identifiable), lit by an area light. The target is rendered at the true pose;
the optimisation starts from a perturbed pose and minimises the image MSE
with Adam. Gradients w.r.t. the pose come from shading (interior term) and
from the silhouettes (primary edge sampling).

    python apps/pose_estimation_3d.py --iterations 150 --resolution 48
"""
import argparse
import math
import time

import torch

import pydiffvg.render3d as r3


def box(center, size):
    """(8, 3) vertices and (12, 3) int32 faces of an axis-aligned box, outward normals."""
    c = torch.tensor(center, dtype=torch.float32)
    s = torch.tensor(size, dtype=torch.float32) / 2
    corners = torch.tensor([[x, y, z] for z in (-1, 1) for y in (-1, 1) for x in (-1, 1)], dtype=torch.float32)
    faces = torch.tensor([[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6], [0, 1, 4], [1, 5, 4],
                          [2, 6, 3], [3, 6, 7], [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]], dtype=torch.int32)
    return c + corners * s, faces


PARTS = [  # center, size, colour
    ((0.0, 0.0, 0.0), (1.0, 0.35, 0.35), (0.8, 0.2, 0.2)),
    ((0.4, 0.35, 0.0), (0.2, 0.5, 0.25), (0.2, 0.8, 0.2)),
    ((-0.4, 0.0, 0.3), (0.25, 0.25, 0.4), (0.2, 0.3, 0.9)),
]
OBJECT_SIZE = 1.0  # longest extent of the object, for relative errors


def rotation_matrix(axis_angle):
    """Rodrigues' formula, differentiable: R = I + sin θ K + (1 - cos θ) K²."""
    theta = axis_angle.norm() + 1e-12
    k = axis_angle / theta
    zero = torch.zeros((), dtype=axis_angle.dtype)
    K = torch.stack([torch.stack([zero, -k[2], k[1]]), torch.stack([k[2], zero, -k[0]]),
                     torch.stack([-k[1], k[0], zero])])
    return torch.eye(3) + torch.sin(theta) * K + (1 - torch.cos(theta)) * (K @ K)


def make_scene(axis_angle, translation, resolution):
    camera = r3.Camera(torch.tensor([0.0, 0.6, 3.0]), torch.tensor([0.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]),
                       40.0, resolution=(resolution, resolution))
    R = rotation_matrix(axis_angle)
    shapes, materials = [], []
    for i, (center, size, colour) in enumerate(PARTS):
        v, f = box(center, size)
        shapes.append(r3.Shape(v @ R.T + translation, f, i))
        materials.append(r3.Material(torch.tensor(colour)))
    light_v = torch.tensor([[-2.0, 3.0, 1.0], [2.0, 3.0, 1.0], [2.0, 3.0, 4.0], [-2.0, 3.0, 4.0]])
    shapes.append(r3.Shape(light_v, torch.tensor([[0, 1, 2], [0, 2, 3]], dtype=torch.int32), len(materials)))
    materials.append(r3.Material(torch.zeros(3)))
    lights = [r3.AreaLight(len(shapes) - 1, torch.tensor([6.0, 6.0, 6.0]), two_sided=True)]
    return r3.Scene(camera, shapes, materials, lights)


def rotation_error_degrees(a, b):
    R = rotation_matrix(a) @ rotation_matrix(b).T
    cos = ((torch.trace(R) - 1) / 2).clamp(-1, 1)
    return math.degrees(math.acos(float(cos)))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--resolution", type=int, default=40, help="image height and width in pixels")
    p.add_argument("--iterations", type=int, default=120)
    p.add_argument("--spp", type=int, default=4, help="samples per pixel (forward and backward)")
    p.add_argument("--lr", type=float, default=0.03)
    p.add_argument("--perturb-degrees", type=float, default=12.0, help="initial rotation error")
    p.add_argument("--perturb-translation", type=float, default=0.15, help="initial translation error")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def run(args):
    torch.manual_seed(args.seed)
    true_rotation = torch.tensor([0.3, 0.5, -0.2])
    true_translation = torch.tensor([0.05, -0.05, 0.1])
    target = r3.render_pathtracing(make_scene(true_rotation, true_translation, args.resolution), num_samples=64,
                                   seed=12345).detach()
    axis = torch.randn(3)
    axis = axis / axis.norm()
    # Compose the true rotation with a perturbation of the requested angle.
    start_R = rotation_matrix(axis * math.radians(args.perturb_degrees)) @ rotation_matrix(true_rotation)
    angle = math.acos(max(-1.0, min(1.0, (float(torch.trace(start_R)) - 1) / 2)))
    vec = torch.stack([start_R[2, 1] - start_R[1, 2], start_R[0, 2] - start_R[2, 0], start_R[1, 0] - start_R[0, 1]])
    rotation = (vec / (2 * math.sin(angle)) * angle).clone().requires_grad_(True)
    direction = torch.randn(3)
    translation = (true_translation + direction / direction.norm() * args.perturb_translation).requires_grad_(True)
    optimizer = torch.optim.Adam([rotation, translation], lr=args.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.iterations, eta_min=args.lr * 0.05)
    start = time.time()
    for it in range(args.iterations):
        optimizer.zero_grad()
        img = r3.render_pathtracing(make_scene(rotation, translation, args.resolution), num_samples=args.spp,
                                    seed=it)
        loss = ((img - target) ** 2).mean()
        loss.backward()
        optimizer.step()
        schedule.step()
        if not args.quiet and (it % 20 == 0 or it == args.iterations - 1):
            print(f"iter {it:4d} loss {loss.item():.6f} rotation error "
                  f"{rotation_error_degrees(rotation.detach(), true_rotation):.3f} deg, translation error "
                  f"{float((translation.detach() - true_translation).norm()):.4f}")
    result = {
        "rotation_error_degrees": rotation_error_degrees(rotation.detach(), true_rotation),
        "translation_error_relative": float((translation.detach() - true_translation).norm()) / OBJECT_SIZE,
        "initial_rotation_error_degrees": args.perturb_degrees,
        "seconds": time.time() - start,
    }
    if not args.quiet:
        print(result)
    return result


if __name__ == "__main__":
    run(parse_args())
