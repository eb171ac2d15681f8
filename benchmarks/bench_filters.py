"""Filter primitives (pydiffvg/filters.py): forward and backward time per case.

Prints one JSON line per case: primitive, image size, parameter, forward
and forward+backward wall time (median of --repeats runs). Blur cost must
not grow with stdDeviation past the image size (the 1e6 case).

    python benchmarks/bench_filters.py [--size 512] [--repeats 3] [--device cpu]
"""
import argparse
import json
import statistics
import time

import torch

from pydiffvg import filters as fx


def cases(size):
    yield "blur", {"std": 1.5}, lambda p: fx.GaussianBlur(p, color_space="sRGB")
    yield "blur", {"std": 8.0}, lambda p: fx.GaussianBlur(p, color_space="sRGB")
    yield "blur", {"std": 1e6}, lambda p: fx.GaussianBlur(p, color_space="sRGB")
    yield "blur-linearRGB", {"std": 8.0}, lambda p: fx.GaussianBlur(p)
    yield "offset", {"dx": 3.5}, lambda p: fx.Offset(p, 2.0)
    yield "color-matrix", {"s": 0.4}, lambda p: fx.ColorMatrix(fx.color_matrix_for("saturate", p))
    yield "morphology", {"r": 4.0}, lambda p: fx.Morphology("dilate", 4.0)
    yield "drop-shadow", {"std": 4.0}, lambda p: fx.DropShadow(4.0, 4.0, p)
    yield "diffuse-point", {"ss": 3.0}, lambda p: fx.DiffuseLighting(fx.PointLight(size / 2, size / 2, 50.0), p)
    yield "turbulence+composite", {"k2": 0.5}, lambda p: _turbulence_mix(p)


def _turbulence_mix(k2):
    # the noise has no gradient; the arithmetic composite carries one to the source
    return [fx.Turbulence((0.05, 0.05), 3, 1, inputs=(), result="noise"),
            fx.Composite("arithmetic", torch.stack([k2 * 0, k2, 1 - k2, k2 * 0]),
                         inputs=("noise", "SourceGraphic"))]


def _as_list(made):
    return made if isinstance(made, list) else [made]


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    generator = torch.Generator().manual_seed(0)
    base = torch.rand(args.size, args.size, 4, generator=generator)
    base[..., :3] *= base[..., 3:]
    base = base.to(device)
    for name, params, make in cases(args.size):
        value = next(iter(params.values()))
        param = torch.tensor(value, device=device, requires_grad=True)

        def forward():
            with torch.no_grad():
                fx.FilterGraph(_as_list(make(param.detach()))).apply(base)

        def backward():
            source = base.clone().requires_grad_(True)
            out = fx.FilterGraph(_as_list(make(param))).apply(source)
            out.sum().backward()   # reaches the source (and the parameter, where it is used)

        line = {"bench": "filters", "primitive": name, "size": args.size, **params,
                "device": str(device), "forward_s": round(timed(forward, args.repeats), 5),
                "forward_backward_s": round(timed(backward, args.repeats), 5)}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
