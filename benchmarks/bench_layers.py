#!/usr/bin/env python
"""Speed of scenes with layers (pydiffvg.Layer): one JSON line per case.

Cases:
* ``clipped200``: a 512 x 512 scene of 200 rects, each under its own clip
  path (a circle), every geometry parameter requiring grad;
* ``masked200``: the same with masks (a gray circle each) instead of clips;
* ``opacity200``: 200 layers of two overlapping rects at opacity 0.6;
* ``flat200``: the 200 rects as a flat scene, for scale.

Each line has the median forward and backward times over ``--runs`` runs
(ms) and the number of kernel calls a forward pass makes.

Usage: python benchmarks/bench_layers.py [--runs 5] [--size 512] [--threads 2]
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pydiffvg  # noqa: E402
from pydiffvg import Circle, Layer, Rect, Scene, ShapeGroup, layers  # noqa: E402

WHITE = torch.tensor([1.0, 1.0, 1.0, 1.0])


def build(kind, n, size, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shapes, groups, leaves = [], [], []
    for i in range(n):
        x, y = (torch.rand(2, generator=gen) * (size - 48)).tolist()
        rect = Rect(torch.tensor([x, y], requires_grad=True), torch.tensor([x + 44, y + 32], requires_grad=True))
        circle = Circle(torch.tensor(19.0, requires_grad=True), torch.tensor([x + 22, y + 16], requires_grad=True))
        leaves += [rect.p_min, rect.p_max, circle.radius, circle.center]
        color = torch.cat([torch.rand(3, generator=gen), torch.ones(1)])
        base = len(shapes)
        shapes += [rect, circle]
        body = ShapeGroup([base], color)
        if kind == "clipped":
            groups.append(Layer([body], clip_path=Layer([ShapeGroup([base + 1], WHITE)])))
        elif kind == "masked":
            gray = torch.tensor([0.6, 0.6, 0.6, 1.0])
            groups.append(Layer([body], mask=Layer([ShapeGroup([base + 1], gray)])))
        elif kind == "opacity":
            groups.append(Layer([body, ShapeGroup([base + 1], torch.tensor([0.9, 0.2, 0.1, 1.0]))], opacity=0.6))
        else:
            groups.append(body)
    return Scene(size, size, shapes, groups), leaves


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for kind in ("clipped", "masked", "opacity", "flat"):
        scene, leaves = build(kind, args.count, args.size)
        forward, backward, calls = [], [], 0
        for run in range(args.runs + 1):  # the first run warms up
            before = layers.KERNEL_CALLS
            t0 = time.perf_counter()
            image = pydiffvg.render(scene, premultiplied=True)
            t1 = time.perf_counter()
            calls = layers.KERNEL_CALLS - before
            image.sum().backward()
            t2 = time.perf_counter()
            for leaf in leaves:
                leaf.grad = None
            if run:
                forward.append((t1 - t0) * 1e3)
                backward.append((t2 - t1) * 1e3)
        print(json.dumps({"case": f"{kind}{args.count}_{args.size}", "forward_ms": round(statistics.median(forward), 1),
                          "backward_ms": round(statistics.median(backward), 1),
                          "kernel_calls": calls if kind != "flat" else 1, "runs": args.runs,
                          "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
