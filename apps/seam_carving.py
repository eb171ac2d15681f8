"""Vector seam carving: narrow an SVG by removing low-energy seams.

Each round renders the scene, carves --seams-per-round vertical seams out of
the raster (gradient-magnitude energy, dynamic programming), warps the
shapes by the same seams and optimises their geometry toward the carved
raster on the narrower canvas (see pydiffvg.apps.seam).

    python apps/seam_carving.py in.svg --width 120 -o out.svg [--frames frames/]

Writes OUT.svg and OUT.png (the final render); with --frames, one PNG per round.
"""
import argparse
import os
import sys
import time

import torch
from tqdm import tqdm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pydiffvg  # noqa: E402
from pydiffvg.apps import seam  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="input SVG")
    p.add_argument("--width", type=int, required=True, help="target canvas width in pixels")
    p.add_argument("-o", "--output", required=True, help="output SVG (a PNG is written beside it)")
    p.add_argument("--frames", help="folder for one PNG per round")
    p.add_argument("--seams-per-round", type=int, default=4, help="seams carved between optimisations")
    p.add_argument("--steps", type=int, default=20, help="Adam steps per round")
    p.add_argument("--lr", type=float, default=0.3, help="learning rate in pixels")
    p.add_argument("--smoothness", type=float, default=0.01, help="weight of the anti-tangling regulariser")
    p.add_argument("--samples", type=int, default=2, help="samples per pixel side")
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    width, height, shapes, groups = pydiffvg.svg_to_scene(args.input)
    if not 1 <= args.width <= width:
        raise SystemExit(f"seam_carving: --width must be in [1, {width}] (the input's width), got {args.width}")
    if args.frames:
        os.makedirs(args.frames, exist_ok=True)
    rounds = [0]

    def on_round(current_shapes, current_width, target):
        rounds[0] += 1
        if args.frames:
            img = pydiffvg.render(current_shapes, groups, width=current_width, height=height,
                                  num_samples=args.samples, seed=0)
            pydiffvg.imwrite(seam.composite_rgb(img), os.path.join(args.frames, f"round_{rounds[0]:03d}.png"),
                             gamma=1.0)

    start = time.perf_counter()
    with tqdm(total=width - args.width, desc="seams", unit="seam") as bar:
        shapes, final_width = seam.carve_scene(
            shapes, groups, width, height, args.width, seams_per_round=args.seams_per_round, steps=args.steps,
            lr=args.lr, smoothness=args.smoothness, num_samples=args.samples, progress=bar, on_round=on_round)
    pydiffvg.save_svg(args.output, final_width, height, shapes, groups)
    img = pydiffvg.render(shapes, groups, width=final_width, height=height, num_samples=args.samples, seed=0)
    png = os.path.splitext(args.output)[0] + ".png"
    pydiffvg.imwrite(seam.composite_rgb(img), png, gamma=1.0)
    print(f"{width}x{height} -> {final_width}x{height} in {rounds[0]} rounds, "
          f"{time.perf_counter() - start:.1f} s; wrote {args.output} and {png}")


if __name__ == "__main__":
    main()
