#!/usr/bin/env python3
"""`pydiffvg vectorize` against vtracer at the same path count, and against
itself at two path counts (issue #22).

    python benchmarks/bench_vectorize.py [--photos astronaut,coffee,chelsea,rocket,camera] [--size 256]
                                         [--ladder 64,256] [--threads 2]

For each scikit-image photo, resized so that its longer side is ``--size``
pixels and rounded to 8 bits (the one target both tools see):

* vtracer (``pip install vtracer``; a benchmark-only dependency, imported
  here and nowhere else) traces it with its default colour settings; its
  ``<path>`` elements are counted;
* ``vectorize`` gets the same count of drawn elements: that many paths less
  one, plus its background rect;
* both SVGs are rendered by resvg-py at the target's size (over white where
  transparent) and compared with the target: PSNR in dB.

One JSON line per photo (both PSNRs, both counts, seconds of each), then one
per photo and ``--ladder`` count (vectorize alone), then a summary line
saying whether vectorize won on every photo and whether its PSNR rose with
the count on every photo. ``--ladder ''`` skips the ladder.
"""
import argparse
import io
import json
import os
import re
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pydiffvg.apps.vectorize import vectorize  # noqa: E402
from pydiffvg.cli import resize_longest  # noqa: E402
from pydiffvg.svg.writer import svg_text  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera")


def photo_target(name, size):
    """(H, W, 3) uint8 array: the photo, longer side ``size``, area-resized."""
    import skimage.data
    image = np.asarray(getattr(skimage.data, name)())
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    resized = resize_longest(torch.as_tensor(image[..., :3].copy()).float() / 255.0, size)
    return (resized.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).numpy()


def resvg_rgb(svg, width, height):
    """The SVG text rendered by resvg-py, over white, as float (H, W, 3)."""
    import resvg_py
    from PIL import Image
    png = resvg_py.svg_to_bytes(svg_string=svg, width=width, height=height)
    rgba = np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGBA")).astype(np.float64) / 255.0
    return rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])


def psnr(image, target_u8):
    mse = float(np.mean((image - target_u8.astype(np.float64) / 255.0) ** 2))
    return 10.0 * np.log10(1.0 / max(mse, 1e-12))


def run_vtracer(target_u8):
    import vtracer
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(target_u8).save(buffer, format="PNG")
    start = time.perf_counter()
    svg = vtracer.convert_raw_image_to_svg(buffer.getvalue(), img_format="png")
    seconds = time.perf_counter() - start
    return svg, len(re.findall(r"<path\b", svg)), seconds


def run_vectorize(target_u8, paths, seed=0):
    target = torch.as_tensor(target_u8).float() / 255.0
    start = time.perf_counter()
    result = vectorize(target, paths, seed=seed)
    seconds = time.perf_counter() - start
    height, width = target_u8.shape[:2]
    svg = svg_text(width, height, result.shapes, result.groups, False, result.background.tolist() + [1.0])
    return svg, len(result.shapes), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", default=",".join(PHOTOS))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--ladder", default="64,256", help="path counts of the self-comparison ('' for none)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-vtracer", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    photos = [p for p in args.photos.split(",") if p]
    ladder = [int(n) for n in args.ladder.split(",") if n]
    wins, rises = [], []
    for name in photos:
        target = photo_target(name, args.size)
        height, width = target.shape[:2]
        if not args.skip_vtracer:
            vt_svg, vt_paths, vt_seconds = run_vtracer(target)
            vt_psnr = psnr(resvg_rgb(vt_svg, width, height), target)
            ours_svg, ours_paths, ours_seconds = run_vectorize(target, max(1, vt_paths - 1), args.seed)
            ours_psnr = psnr(resvg_rgb(ours_svg, width, height), target)
            wins.append(ours_psnr > vt_psnr)
            print(json.dumps({"bench": "vectorize_vs_vtracer", "photo": name, "size": [width, height],
                              "vtracer_paths": vt_paths, "vectorize_paths": ours_paths,
                              "vectorize_elements": ours_paths + 1,
                              "vtracer_psnr": round(vt_psnr, 3), "vectorize_psnr": round(ours_psnr, 3),
                              "vtracer_seconds": round(vt_seconds, 3), "vectorize_seconds": round(ours_seconds, 2),
                              "threads": args.threads}), flush=True)
        values = []
        for count in ladder:
            svg, paths, seconds = run_vectorize(target, count, args.seed)
            values.append(psnr(resvg_rgb(svg, width, height), target))
            print(json.dumps({"bench": "vectorize_ladder", "photo": name, "size": [width, height], "paths": paths,
                              "psnr": round(values[-1], 3), "seconds": round(seconds, 2),
                              "threads": args.threads}), flush=True)
        if len(values) > 1:
            rises.append(all(b > a for a, b in zip(values, values[1:])))
    print(json.dumps({"bench": "vectorize_summary", "photos": photos,
                      "wins_on_every_photo": all(wins) if wins else None,
                      "psnr_rises_with_paths_on_every_photo": all(rises) if rises else None}), flush=True)


if __name__ == "__main__":
    main()
