"""BVH traversal speed: closest-hit rays per second through the 3-D tracer's
BVH (rt_trace_rays) on the ~10k-triangle bumpy sphere of bench_render3d.py,
coherent (camera-like, from one point) and incoherent (random origins and
directions) rays. Prints JSON lines. For scale: Embree-class CPU tracers
reach on the order of 10^7 - 10^8 incoherent rays/s per core on such
meshes with SIMD packets; this traversal is one ray at a time, scalar.
Each call also rebuilds the BVH (about 1.5 ms for these 10k triangles).
Reported: best wall seconds and best process CPU seconds (the number to
compare on a shared machine: wall time there includes other load).

    python benchmarks/bench_bvh_rays.py [--rays 1000000] [--threads 1] [--mitsuba]

--mitsuba also traces the same rays through Mitsuba 3 (llvm_ad_rgb, whose
CPU ray queries go through Embree when the wheel says MI_ENABLE_EMBREE):
scene.ray_intersect_preliminary, steady state, process CPU time over all
its threads. Set DRJIT_LIBLLVM_PATH (see bench_vs_mitsuba.py).
"""
import argparse
import json
import math
import os
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
    p.add_argument("--mitsuba", action="store_true", help="also time Mitsuba 3 / Embree on the same rays")
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
        if args.mitsuba:
            print(json.dumps({"bench": "bvh_rays", "case": name, "tracer": "mitsuba", "rays": n,
                              **mitsuba_rays(vertices, faces, origins, dirs, args.repeat)}))


def mitsuba_rays(vertices, faces, origins, dirs, repeat):
    import numpy as np
    os.environ.setdefault("DRJIT_LIBLLVM_PATH", "/usr/lib/x86_64-linux-gnu/libLLVM-19.so")
    import drjit as dr
    import mitsuba as mi
    mi.set_variant("llvm_ad_rgb")
    mesh = mi.Mesh("mesh", vertices.shape[0], faces.shape[0])
    params = mi.traverse(mesh)
    params["vertex_positions"] = mi.Float(vertices.numpy().ravel())
    params["faces"] = mi.UInt32(faces.numpy().astype(np.uint32).ravel())
    params.update()
    scene = mi.load_dict({"type": "scene", "mesh": mesh})
    ray = mi.Ray3f(mi.Point3f(*[mi.Float(origins[:, k].numpy().copy()) for k in range(3)]),
                   mi.Vector3f(*[mi.Float(dirs[:, k].numpy().copy()) for k in range(3)]))
    dr.eval(ray)
    best, best_cpu, t = math.inf, math.inf, None
    for _ in range(repeat + 1):  # the first run compiles the kernel
        start, start_cpu = time.perf_counter(), time.process_time()
        si = scene.ray_intersect_preliminary(ray)
        dr.eval(si.t)
        dr.sync_thread()  # the LLVM backend runs kernels asynchronously
        t = np.array(si.t)
        if _ > 0:
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
    n = len(t)
    return {"embree": bool(getattr(mi, "MI_ENABLE_EMBREE", False)), "seconds": round(best, 4),
            "cpu_seconds": round(best_cpu, 4), "rays_per_second": round(n / best),
            "rays_per_cpu_second": round(n / best_cpu), "hit_fraction": round(float(np.isfinite(t).mean()), 3)}


if __name__ == "__main__":
    main()
