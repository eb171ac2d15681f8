"""BVH traversal speed: closest-hit rays per second through the 3-D tracer's
BVH (rt_trace_rays) on the ~10k-triangle bumpy sphere of bench_render3d.py,
coherent (camera-like, from one point) and incoherent (random origins and
directions) rays. Prints JSON lines. For scale: Embree-class CPU tracers
reach on the order of 10^7 - 10^8 incoherent rays/s per core on such
meshes with SIMD packets; this traversal is one ray at a time, scalar.
Each call also rebuilds the BVH (about 1.5 ms for these 10k triangles).
Reported: best wall seconds and best process CPU seconds (the number to
compare on a shared machine: wall time there includes other load).

    python benchmarks/bench_bvh_rays.py [--rays 1000000] [--threads 1]
"""
import argparse
import json
import math
import time

import torch

import pydiffvg.render3d as r3
from pydiffvg import _core
from pydiffvg._native import CallScope, ptr
from pydiffvg.render3d.render import _Packed

from bench_render3d import bumpy_sphere


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rays", type=int, default=1_000_000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    vertices, faces = bumpy_sphere(51, 100)
    cam = r3.Camera(torch.tensor([0., 0., 4.]), torch.zeros(3), torch.tensor([0., 1., 0.]), 45.0, resolution=(4, 4))
    scene = r3.Scene(cam, [r3.Shape(vertices, faces, 0)], [r3.Material(torch.tensor([.5, .5, .5]))])
    packed = _Packed(scene)
    sd = packed.scene_dict(packed.vertices, packed.normals, packed.diffuse, packed.specular, packed.roughness,
                           packed.intensity)
    g = torch.Generator().manual_seed(0)
    n = args.rays
    targets = torch.rand(n, 3, generator=g) * 2.4 - 1.2
    cases = {"coherent": (torch.tensor([0., 0., 4.]).expand(n, 3).contiguous(), targets),
             "incoherent": (torch.randn(n, 3, generator=g) * 3.0, torch.randn(n, 3, generator=g))}
    for name, (origins, aim) in cases.items():
        dirs = aim - origins
        dirs = (dirs / dirs.norm(dim=1, keepdim=True)).contiguous()
        face = torch.zeros(n, dtype=torch.int32)
        dist = torch.zeros(n)
        best, best_cpu = math.inf, math.inf
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            _core.rt_trace_rays(*CallScope("cpu").context_args(), sd, ptr(origins), ptr(dirs), n, ptr(face),
                                ptr(dist))
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
        # CPU seconds of the process (all threads) are what the rays cost;
        # wall seconds on a shared machine also count other processes' load.
        print(json.dumps({"bench": "bvh_rays", "case": name, "triangles": int(faces.shape[0]), "rays": n,
                          "threads": args.threads, "seconds": round(best, 4), "cpu_seconds": round(best_cpu, 4),
                          "rays_per_second": round(n / best), "rays_per_cpu_second": round(n / best_cpu),
                          "hit_fraction": round(float((face >= 0).float().mean()), 3)}))


if __name__ == "__main__":
    main()
