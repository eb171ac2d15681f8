#!/usr/bin/env python3
"""Painterly rendering throughput: `pydiffvg paint`'s loop at diffvg's
painterly_rendering.py settings (256 px astronaut, 512 open strokes of 4
cubic segments, 2x2 samples, L2 loss, Adam) on the CPU.

    python benchmarks/bench_paint.py [--iters 100] [--size 256] [--paths 512] [--threads 2] [--device cpu]

Prints one JSON line: seconds per iteration (render + backward + Adam step,
measured over the loop after path initialisation), the total, and the final
loss and PSNR so that two runs can be compared. diffvg's own painterly loop
takes about 1.8 s per iteration at these settings on the 2-core CI machine.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pydiffvg import optim  # noqa: E402
from pydiffvg.cli import resize_longest  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--paths", type=int, default=512)
    parser.add_argument("--segments", type=int, default=4)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import skimage.data
    photo = torch.as_tensor(skimage.data.astronaut().copy()).float() / 255.0
    target = resize_longest(photo, args.size).to(args.device)
    start = time.perf_counter()
    result = optim.paint(target, args.paths, num_segments=args.segments, iters=args.iters, max_width=2.0,
                         num_samples=args.samples, seed=0, device=args.device)
    total = time.perf_counter() - start
    print(json.dumps({
        "bench": "paint", "device": args.device, "threads": args.threads, "size": args.size,
        "paths": args.paths, "segments": args.segments, "samples": args.samples, "iters": result.iterations,
        "seconds_per_iter": round(result.seconds / max(1, result.iterations), 4),
        "loop_seconds": round(result.seconds, 2), "total_seconds": round(total, 2),
        "loss": round(result.loss, 6), "psnr": round(result.psnr, 3)}))


if __name__ == "__main__":
    main()
