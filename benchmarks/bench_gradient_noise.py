#!/usr/bin/env python3
"""Gradient noise against backward time (issue #3: "report the gradient noise
at equal time").

For scenes of the shared diffvg-API benchmark, takes one fixed random
direction v over the geometry parameters (or every parameter, --all-params), and over --seeds render seeds measures the
directional derivative D = <dL/dθ, v> of the benchmark's loss, for several
boundary-sample densities (pydiffvg.backward.BACKWARD_OPTIONS). Prints one
JSON line per (case, density):

    bwd_ms            median backward time
    mean, std         of D over seeds
    rel_std           std / |mean|
    std_at_1s         std · sqrt(bwd_s): the standard deviation a 1-second
                      budget would give, averaging runs of this density. A
                      Monte Carlo estimator's variance falls as 1/time, so this
                      compares densities (and implementations) at equal time.

    python benchmarks/bench_gradient_noise.py [--cases circles64_256_mc2,...]
        [--densities 0.25,0.5,1,2] [--seeds 16] [--threads 2]

The loss is linear in the image, L = Σ w · image / (W·H) with fixed smooth
weights w, so its adjoint does not depend on the seed and the spread over
seeds is the spread of the gradient estimator (area and boundary sampling).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "bench"))

import pydiffvg  # noqa: E402
from pydiffvg import backward as backward_options  # noqa: E402

try:
    import diffvg_api_bench as bench  # noqa: E402
except ImportError:  # pragma: no cover - the shared folder is next to the repository
    sys.exit("bench_gradient_noise.py: ../shared/bench/diffvg_api_bench.py not found next to the repository")


def directional_derivatives(name, density, seeds, geometry_only):
    kind, n, size, spp, prefilter = bench.CASES[name]
    shapes, groups = bench.make_scene(kind, n, size, size)
    params = bench.params_of(shapes, groups)
    geometry = {id(getattr(s, name)) for s in shapes for name in ("points", "center", "radius", "stroke_width")
                if isinstance(getattr(s, name, None), torch.Tensor)}
    gen = torch.Generator().manual_seed(7)
    direction = [torch.randn(p.shape, generator=gen) for p in params]
    if geometry_only:  # boundary-term parameters only: points, centres, radii, widths
        direction = [d if id(p) in geometry else torch.zeros_like(d) for p, d in zip(params, direction)]
    norm = math.sqrt(sum(float((d * d).sum()) for d in direction))
    direction = [d / norm for d in direction]
    # A linear loss L = Σ w · image with fixed smooth weights: its adjoint does
    # not depend on the render seed, so the spread over seeds is the spread of
    # the gradient estimator itself (as in the finite-difference tests).
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    weights = torch.stack([torch.sin(6 * xx + 1), torch.cos(5 * yy), torch.sin(4 * (xx + yy)), 0.5 + 0 * xx], -1)
    saved = dict(backward_options.BACKWARD_OPTIONS)
    backward_options.BACKWARD_OPTIONS["boundary_density"] = density
    values, times = [], []
    try:
        for seed in range(seeds):
            args = pydiffvg.RenderFunction.serialize_scene(size, size, shapes, groups, use_prefiltering=prefilter)
            img = pydiffvg.RenderFunction.apply(size, size, spp, spp, seed, None, *args)
            loss = (img * weights).sum() / (size * size)
            t0 = time.perf_counter()
            loss.backward()
            times.append(time.perf_counter() - t0)
            values.append(sum(float((p.grad * d).sum()) for p, d in zip(params, direction) if p.grad is not None))
            for p in params:
                p.grad = None
    finally:
        backward_options.BACKWARD_OPTIONS.clear()
        backward_options.BACKWARD_OPTIONS.update(saved)
    return values, times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="circles64_256_mc2,fills256_256_mc2,strokes256_224_mc2")
    ap.add_argument("--densities", default="0.25,0.5,1,2")
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--all-params", action="store_true",
                    help="direction over every parameter (default: geometry only, where the boundary term acts)")
    a = ap.parse_args()
    if a.seeds < 2:
        ap.error("--seeds: need at least 2 seeds for a spread")
    torch.set_num_threads(a.threads)
    for name in a.cases.split(","):
        if name not in bench.CASES:
            ap.error(f"--cases: unknown case {name!r} (known: {', '.join(bench.CASES)})")
        for density in (float(d) for d in a.densities.split(",")):
            values, times = directional_derivatives(name, density, a.seeds, not a.all_params)
            mean, std = statistics.fmean(values), statistics.stdev(values)
            bwd = statistics.median(times)
            print(json.dumps({"case": name, "boundary_density": density, "seeds": a.seeds,
                              "direction": "all" if a.all_params else "geometry",
                              "bwd_ms": round(bwd * 1e3, 2), "mean": mean, "std": std,
                              "rel_std": std / abs(mean) if mean else None,
                              "std_at_1s": std * math.sqrt(bwd)}), flush=True)


if __name__ == "__main__":
    main()
