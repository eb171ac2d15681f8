#!/usr/bin/env python3
"""Batched rendering vs a Python loop: 64 MNIST-sized (28x28) scenes of 8
open cubic strokes each, the workload of a generative model's decoder.

    python benchmarks/bench_batch.py [--batch 64] [--strokes 8] [--runs 5] [--threads 2] [--samples 2]

Prints one JSON line per (mode, pass): the median milliseconds over --runs
runs after one warm-up, for `pydiffvg.render(list_of_scenes)` ("batched")
and for a loop of single-scene renders ("loop"), forward only and
forward + backward (a sum-of-pixels loss). A checksum of the image lets two
runs be compared.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pydiffvg  # noqa: E402


def make_scenes(batch, strokes, size, seed=0, requires_grad=False):
    """`batch` scenes of `strokes` open cubic strokes; one leaf tensor of
    points (batch, strokes, 4, 2) and widths (batch, strokes)."""
    gen = torch.Generator().manual_seed(seed)
    start = torch.rand(batch, strokes, 1, 2, generator=gen) * size
    steps = (torch.rand(batch, strokes, 3, 2, generator=gen) - 0.5) * 0.5 * size
    points = torch.cat([start, start + torch.cumsum(steps, 2)], 2).requires_grad_(requires_grad)
    widths = (0.6 + torch.rand(batch, strokes, generator=gen)).requires_grad_(requires_grad)
    ncp = torch.tensor([2], dtype=torch.int32)
    color = torch.tensor([1.0, 1.0, 1.0, 1.0])
    scenes = []
    for b in range(batch):
        shapes = [pydiffvg.Path(num_control_points=ncp, points=points[b, i], is_closed=False,
                                stroke_width=widths[b, i]) for i in range(strokes)]
        groups = [pydiffvg.ShapeGroup(shape_ids=torch.tensor([i]), fill_color=None, stroke_color=color)
                  for i in range(strokes)]
        scenes.append(pydiffvg.Scene(size, size, shapes, groups))
    return scenes, (points, widths)


def timed(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--strokes", type=int, default=8)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    kw = dict(num_samples=args.samples, seed=0)

    for backward in (False, True):
        scenes, leaves = make_scenes(args.batch, args.strokes, args.size, requires_grad=backward)

        def batched():
            img = pydiffvg.render(scenes, **kw)
            if backward:
                for leaf in leaves:
                    leaf.grad = None
                img.sum().backward()
            return img.detach()

        def loop():
            imgs = []
            for s in scenes:
                img = pydiffvg.render(s, **kw)
                if backward:
                    img.sum().backward()
                imgs.append(img.detach())
            if backward:
                for leaf in leaves:
                    leaf.grad = None
            return torch.stack(imgs)

        for mode, fn in (("batched", batched), ("loop", loop)):
            record = {"bench": "batch", "mode": mode, "pass": "forward+backward" if backward else "forward",
                      "batch": args.batch, "strokes": args.strokes, "size": args.size,
                      "samples": args.samples, "threads": args.threads, "runs": args.runs}
            try:
                ms, img = timed(fn, args.runs)
                record.update(ms=round(ms, 3), per_image_ms=round(ms / args.batch, 4),
                              checksum=round(float(img.double().sum()), 4))
            except Exception as exc:  # backward may be unavailable on some builds
                record.update(error=f"{type(exc).__name__}: {exc}")
            print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
