#!/usr/bin/env python3
"""Runs the shared diffvg-API benchmark (../shared/bench/diffvg_api_bench.py,
which builds its scenes on the CPU) with its scenes on CUDA, or through the
emulated device path, without changing the shared script:

    python benchmarks/diffvg_api_bench_on_device.py --device cuda [--bench PATH] [bench arguments...]

On CUDA the benchmark module's `torch` is a view of torch whose factory
functions (rand, tensor, linspace, ...) put floating-point results on the
GPU: the same random numbers, drawn from the benchmark's CPU generators,
then moved, so the scenes and checksums are the CPU run's. Integer tensors
(segment counts, shape ids) stay on the CPU, as diffvg code keeps them. Its
clock synchronises the GPU before each read, so the milliseconds include
the kernels. `--device emulated` runs the benchmark inside
pydiffvg.emulate_device(). Prints the benchmark's JSON lines, each with a
"device" field added.
"""
import argparse
import importlib.util
import json
import os
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import pydiffvg  # noqa: E402

DEFAULT_BENCH = os.path.join(ROOT, "..", "shared", "bench", "diffvg_api_bench.py")
FACTORIES = {"rand", "randn", "tensor", "linspace", "arange", "full", "zeros", "ones", "empty"}


class TorchOnDevice:
    """torch, with floating-point results of the factory functions moved to `device`."""

    def __init__(self, device):
        self._device = device

    def __getattr__(self, name):
        attr = getattr(torch, name)
        if name not in FACTORIES:
            return attr

        def make(*args, **kwargs):
            out = attr(*args, **kwargs)
            return out.to(self._device) if out.is_floating_point() else out
        return make


class SynchronisedClock:
    """The `time` module, whose perf_counter waits for the GPU first."""

    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def perf_counter():
        torch.cuda.synchronize()
        return time.perf_counter()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["cpu", "cuda", "emulated"], default="cuda")
    p.add_argument("--bench", default=DEFAULT_BENCH, help="path of diffvg_api_bench.py")
    args, rest = p.parse_known_args()
    if not os.path.isfile(args.bench):
        p.error(f"--bench: {args.bench} not found")
    spec = importlib.util.spec_from_file_location("diffvg_api_bench", args.bench)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    if args.device == "cuda":
        if not (torch.cuda.is_available() and pydiffvg._core.built_with_cuda()):
            p.error("--device cuda: no GPU, or this build of pydiffvg has no CUDA support")
        bench.torch = TorchOnDevice(torch.device("cuda"))
        bench.time = SynchronisedClock()
    real_print = print

    def tagged_print(line, **kwargs):
        record = json.loads(line)
        record["device"] = args.device
        real_print(json.dumps(record), **kwargs)
    bench.print = tagged_print
    sys.argv = [args.bench, *rest]
    with pydiffvg.emulate_device(args.device == "emulated"):
        bench.main()


if __name__ == "__main__":
    main()
