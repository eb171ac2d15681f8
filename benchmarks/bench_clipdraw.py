#!/usr/bin/env python3
"""Time CLIPDraw steps: an open_clip architecture with RANDOM weights (the
cost does not depend on the weights; nothing is downloaded), CLIPDraw's
random strokes, one render per step and --views augmented views.

    python benchmarks/bench_clipdraw.py [--model ViT-B-32] [--paths 256] [--size 224] [--views 4]
                                        [--steps 5] [--threads 2] [--device cpu]

Prints one JSON line: median seconds per step after one warm-up step, and
the renderer's forward and backward share of the step (pydiffvg.apps.generative.StepTimer).
"""
import argparse
import json
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pydiffvg.apps import clipdraw  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="ViT-B-32")
    p.add_argument("--paths", type=int, default=256)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--views", type=int, default=4)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--samples", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    clip = clipdraw.load_clip(args.model, None, device=args.device, allow_random=True)
    generator = torch.Generator().manual_seed(0)
    loss = clipdraw.ClipDrawLoss(clip, "a drawing of a cat", num_views=args.views, generator=generator)
    strokes = clipdraw.init_strokes(args.paths, args.size, args.size, generator=generator, device=args.device)
    clipdraw.draw(strokes, loss, iters=1, num_samples=args.samples)  # warm-up
    steps, renders, forwards, backwards = [], [], [], []
    for k in range(args.steps):
        timer = clipdraw.draw(strokes, loss, iters=1, num_samples=args.samples, seed=k + 1).timer
        if args.device != "cpu":
            torch.cuda.synchronize()
        steps.append(timer.step)
        forwards.append(timer.render_forward)
        backwards.append(timer.render_backward)
        renders.append(timer.render_share())
    print(json.dumps({"bench": "clipdraw_step", "model": args.model, "paths": args.paths, "size": args.size,
                      "views": args.views, "threads": args.threads, "device": args.device,
                      "s_per_step": round(statistics.median(steps), 4),
                      "render_forward_s": round(statistics.median(forwards), 4),
                      "render_backward_s": round(statistics.median(backwards), 4),
                      "render_share": round(statistics.median(renders), 3)}))


if __name__ == "__main__":
    main()
