"""Shadow-edge (secondary visibility) gradients at contact: a cube resting on
a floor, or a small gap above it, 1 or 2 bounces. For each case: the backward
pass's directional derivative over many seeds (mean, standard error of the
mean, and the standard deviation of one estimate) against central finite
differences (mean and standard error over seeds), plus the time per backward.

    python benchmarks/bench_shadow_contact.py [--seeds 24] [--spp 128] [--resolution 32]

Prints one JSON line per case.
"""
import argparse
import json
import os
import statistics
import time

import torch

import pydiffvg.render3d as r3


def T(*rows):
    return torch.tensor(rows[0] if len(rows) == 1 else rows, dtype=torch.float32)


CUBE_FACES = torch.tensor([[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
                           [2, 3, 7], [2, 7, 6], [1, 2, 6], [1, 6, 5], [0, 4, 7], [0, 7, 3]], dtype=torch.int32)


def cube_vertices(gap):
    """Unit cube with its bottom face at height `gap` above the floor y = 0."""
    v = torch.tensor([[-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1],
                      [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]], dtype=torch.float32) * 0.5
    return v + torch.tensor([0.0, 0.5 + gap, 0.0])


def contact_scene(offset, gap, resolution):
    cam = r3.Camera(T(1.2, 1.6, 2.6), T(0., 0.3, 0.), T(0., 1., 0.), T(40.), resolution=(resolution, resolution))
    floor = r3.Shape(T([-6, 0, -6], [-6, 0, 6], [6, 0, 6], [6, 0, -6]),
                     torch.tensor([[0, 1, 2], [0, 2, 3]], dtype=torch.int32), 0)
    cube = r3.Shape(cube_vertices(gap) + offset, CUBE_FACES, 1)
    # A low light to the side: a long shadow that starts at the contact line.
    light = r3.Shape(T([-2, 2, -.5], [-2, 2, .5], [-1, 2, .5], [-1, 2, -.5]),
                     torch.tensor([[0, 2, 1], [0, 3, 2]], dtype=torch.int32), 2)
    materials = [r3.Material(T(.6, .6, .6)), r3.Material(T(.7, .5, .3)), r3.Material(T(0., 0., 0.))]
    return r3.Scene(cam, [floor, cube, light], materials, [r3.AreaLight(2, T(12., 12., 12.))])


CASES = {  # name: (gap, direction of the offset)
    "contact": (0.0, (1.0, 0.0, 0.5)),
    "gap_0.02": (0.02, (1.0, 0.0, 0.5)),
    "gap_0.02_vertical": (0.02, (0.0, 1.0, 0.0)),
}


def loss_weights(resolution, kind="random"):
    """Per-pixel weights w of the loss Σ w ⊙ image: uniform random, or a
    ramp along the image's columns (less cancellation: the loss follows the
    brightness centroid, which any move of the cube and its shadow shifts)."""
    if kind == "ramp":
        ramp = (torch.arange(resolution, dtype=torch.float32) + 0.5) / resolution
        return ramp.reshape(1, -1, 1).expand(resolution, resolution, 3).contiguous()
    return torch.rand(resolution, resolution, 3, generator=torch.Generator().manual_seed(5))


def derivative(gap, direction, bounces, spp, seed, resolution, edge_sampling=True, weights="random"):
    offset = torch.zeros(3, requires_grad=True)
    img = r3.render_pathtracing(contact_scene(offset, gap, resolution), num_samples=spp, max_bounces=bounces,
                                seed=seed, _edge_sampling=edge_sampling)
    (img * loss_weights(resolution, weights)).sum().backward()
    return float((offset.grad * direction).sum())


def finite_difference(gap, direction, bounces, spp, seed, resolution, h=1e-2, weights="random"):
    w = loss_weights(resolution, weights)
    with torch.no_grad():
        def loss(sign):
            img = r3.render_pathtracing(contact_scene(sign * h * direction, gap, resolution), num_samples=spp,
                                        max_bounces=bounces, seed=seed)
            return float((img * w).sum())
        return (loss(1) - loss(-1)) / (2 * h)


def mean_se(values):
    m = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    return m, sd / len(values) ** 0.5, sd


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=24)
    p.add_argument("--fd-seeds", type=int, default=4)
    p.add_argument("--spp", type=int, default=128)
    p.add_argument("--fd-spp", type=int, default=2048)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--cases", default="contact,gap_0.02,gap_0.02_vertical")
    p.add_argument("--h", type=float, default=1e-2, help="finite-difference step (half of it for vertical moves)")
    p.add_argument("--fd-cache", default=None, help="JSON file: finite differences are read from it if there, "
                   "else computed and written (to compare builds on the same reference)")
    p.add_argument("--bounces", default="1,2")
    args = p.parse_args()
    cache = {}
    if args.fd_cache and os.path.exists(args.fd_cache):
        with open(args.fd_cache) as f:
            cache = json.load(f)
    for name in args.cases.split(","):
        gap, direction = CASES[name]
        direction = torch.tensor(direction) / torch.tensor(direction).norm()
        for bounces in (int(b) for b in args.bounces.split(",")):
            key = f"{name}/{bounces}/{args.resolution}/{args.fd_spp}/{args.fd_seeds}/{args.h}"
            if key not in cache:
                h = args.h / 2 if direction[1] > 0 else args.h  # stays clear of the floor at gap 0.02
                cache[key] = [finite_difference(gap, direction, bounces, args.fd_spp, 1000 + s, args.resolution, h)
                              for s in range(args.fd_seeds)]
                if args.fd_cache:
                    with open(args.fd_cache, "w") as f:
                        json.dump(cache, f)
            fds = cache[key]
            start = time.perf_counter()
            ads = [derivative(gap, direction, bounces, args.spp, s, args.resolution) for s in range(args.seeds)]
            seconds = (time.perf_counter() - start) / args.seeds
            fd, fd_se, _ = mean_se(fds)
            ad, ad_se, ad_sd = mean_se(ads)
            print(json.dumps({"bench": "shadow_contact", "case": name, "bounces": bounces, "spp": args.spp,
                              "resolution": args.resolution, "seeds": args.seeds,
                              "ad_mean": round(ad, 4), "ad_se": round(ad_se, 4), "ad_sd_one_estimate": round(ad_sd, 4),
                              "fd_mean": round(fd, 4), "fd_se": round(fd_se, 4),
                              "relative_error": round(abs(ad - fd) / abs(fd), 4),
                              "sd_over_fd": round(ad_sd / abs(fd), 4),
                              "ad_min": round(min(ads), 3), "ad_max": round(max(ads), 3),
                              "seconds_per_backward": round(seconds, 3)}), flush=True)


if __name__ == "__main__":
    main()
