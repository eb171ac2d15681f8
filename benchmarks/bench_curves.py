#!/usr/bin/env python3
"""Time forward and backward rendering of many cubic curves at a large size:
by default 2040x1344 with 2048 cubic Béziers, open (stroked) and closed
(filled), the setting in which the Bézier Splatting paper (2025) compares
against diffvg on an RTX 4090 (its figures are printed beside ours).

    python benchmarks/bench_curves.py [--device cuda|cpu|emulated] [--small]
                                      [--width 2040] [--height 1344] [--curves 2048]
                                      [--kinds open,closed] [--runs 3] [--samples 2] [--threads 2]

--small is 510x336 with 256 curves, for a CPU. `emulated` runs the CUDA
code path on the CPU (pydiffvg.emulate_device). Prints one JSON line per
kind: the median forward and backward milliseconds over --runs runs after
one warm-up (CUDA timings synchronise before each clock read), and the
image's checksum, which is the same on every device for the same scene.

Scenes (seeded, built on the CPU and moved): an open curve is one cubic
segment spanning about a twentieth of the image, stroked 1.5 to 3.5 px wide;
a closed curve is a blob of four cubic segments, 1 to 5 per cent of the
shorter side in radius, filled. Colours are random with alpha 0.5 to 1. The
loss is the mean squared error against a fixed random image.
"""
import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pydiffvg  # noqa: E402

# Bézier Splatting (2025), Table: ms per forward / backward pass on an RTX 4090.
PUBLISHED_RTX4090_MS = {
    "open": {"diffvg": [141.3, 701.3], "bezier_splatting": [4.5, 4.7]},
    "closed": {"diffvg": [85.2, 448.3], "bezier_splatting": [14.1, 24.6]},
}


def make_curves(kind, count, width, height, seed=0):
    """(shapes, groups): `count` open or closed cubic curves."""
    gen = torch.Generator().manual_seed(seed)
    size = torch.tensor([float(width), float(height)])
    shorter = float(min(width, height))
    shapes, groups, leaves = [], [], []
    for i in range(count):
        colour = torch.cat([torch.rand(3, generator=gen), 0.5 + 0.5 * torch.rand(1, generator=gen)])
        if kind == "open":
            start = torch.rand(2, generator=gen) * size
            steps = (torch.rand(3, 2, generator=gen) - 0.5) * (0.05 * float(max(width, height)))
            points = torch.cat([start[None], start[None] + torch.cumsum(steps, 0)])
            width_px = torch.tensor(1.5 + 2.0 * float(torch.rand(1, generator=gen)))
            shape = pydiffvg.Path(num_control_points=torch.tensor([2], dtype=torch.int32), points=points,
                                  is_closed=False, stroke_width=width_px)
            group = pydiffvg.ShapeGroup(shape_ids=torch.tensor([i]), fill_color=None, stroke_color=colour)
        else:
            centre = torch.rand(2, generator=gen) * size
            radius = shorter * (0.01 + 0.04 * float(torch.rand(1, generator=gen)))
            angles = torch.linspace(0, 2 * math.pi, 13)[:-1]
            radii = radius * (0.7 + 0.6 * torch.rand(12, generator=gen))
            points = torch.stack([centre[0] + radii * torch.cos(angles), centre[1] + radii * torch.sin(angles)], 1)
            shape = pydiffvg.Path(num_control_points=torch.full((4,), 2, dtype=torch.int32), points=points,
                                  is_closed=True, stroke_width=torch.tensor(0.0))
            group = pydiffvg.ShapeGroup(shape_ids=torch.tensor([i]), fill_color=colour)
        shapes.append(shape)
        groups.append(group)
    return shapes, groups


def _to_device(shapes, groups, device):
    """Moves every float tensor to `device` as a leaf that wants its gradient."""
    leaves = []

    def leaf(t):
        out = t.detach().to(device).requires_grad_(True)
        leaves.append(out)
        return out
    for s in shapes:
        s.points = leaf(s.points)
        s.stroke_width = leaf(s.stroke_width)
    for g in groups:
        if g.fill_color is not None:
            g.fill_color = leaf(g.fill_color)
        if g.stroke_color is not None:
            g.stroke_color = leaf(g.stroke_color)
    return leaves


def run(kind, args):
    device = torch.device("cuda" if args.device == "cuda" else "cpu")
    shapes, groups = make_curves(kind, args.curves, args.width, args.height)
    leaves = _to_device(shapes, groups, device)
    target = torch.rand(args.height, args.width, 4, generator=torch.Generator().manual_seed(1)).to(device)
    synchronise = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    emulation = pydiffvg.emulate_device() if args.device == "emulated" else contextlib.nullcontext()

    def once():
        synchronise()
        t0 = time.perf_counter()
        image = pydiffvg.render(shapes, groups, width=args.width, height=args.height, num_samples=args.samples)
        synchronise()
        t1 = time.perf_counter()
        loss = ((image - target) ** 2).mean()
        loss.backward()
        synchronise()
        t2 = time.perf_counter()
        for p in leaves:
            p.grad = None
        return (t1 - t0) * 1e3, (t2 - t1) * 1e3, float(image.detach().sum())

    with emulation:
        once()
        forward, backward = [], []
        for _ in range(args.runs):
            f, b, checksum = once()
            forward.append(f)
            backward.append(b)
    return {"bench": "curves", "kind": kind, "device": args.device,
            "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
            "width": args.width, "height": args.height, "curves": args.curves, "spp": args.samples ** 2,
            "threads": args.threads, "runs": args.runs,
            "fwd_ms": round(statistics.median(forward), 2), "bwd_ms": round(statistics.median(backward), 2),
            "image_sum": round(checksum, 2),
            "published_rtx4090_fwd_bwd_ms": PUBLISHED_RTX4090_MS[kind]}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   choices=["cpu", "cuda", "emulated"])
    p.add_argument("--small", action="store_true", help="510x336 with 256 curves (for a CPU)")
    p.add_argument("--width", type=int, default=2040)
    p.add_argument("--height", type=int, default=1344)
    p.add_argument("--curves", type=int, default=2048)
    p.add_argument("--kinds", default="open,closed")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--samples", type=int, default=2, help="samples per pixel per axis")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    if args.small:
        args.width, args.height, args.curves = 510, 336, 256
    torch.set_num_threads(args.threads)
    for kind in args.kinds.split(","):
        if kind not in PUBLISHED_RTX4090_MS:
            p.error(f"--kinds: unknown kind {kind!r} (open, closed)")
        print(json.dumps(run(kind, args)), flush=True)


if __name__ == "__main__":
    main()
