"""Times the 3-D path tracer: forward and backward at 256x256, 4 spp, a
~10k-triangle mesh on a ground plane, one area light, 1 bounce, CPU.

Prints one JSON line per case with the total seconds and the split between
BVH build, tracing (path tracing / interior + secondary edges) and edge
sampling (edge lists, CDFs and primary edge samples).

    python benchmarks/bench_render3d.py [--resolution 256] [--spp 4] [--repeat 3]
"""
import argparse
import json
import math
import time

import torch

import pydiffvg.render3d as r3
from pydiffvg.render3d import render as render_module


def bumpy_sphere(rings, segments):
    """A UV sphere with a bump pattern: (V, 3) vertices, (F, 3) faces, 2 (rings - 1) segments faces."""
    verts = [[0.0, 1.0, 0.0]]
    for i in range(1, rings):
        theta = math.pi * i / rings
        for j in range(segments):
            phi = 2 * math.pi * j / segments
            r = 1.0 + 0.05 * math.sin(5 * theta) * math.cos(7 * phi)
            verts.append([r * math.sin(theta) * math.cos(phi), r * math.cos(theta), r * math.sin(theta) * math.sin(phi)])
    verts.append([0.0, -1.0, 0.0])
    faces = []
    for j in range(segments):
        faces.append([0, 1 + (j + 1) % segments, 1 + j])
    for i in range(rings - 2):
        a, b = 1 + i * segments, 1 + (i + 1) * segments
        for j in range(segments):
            k = (j + 1) % segments
            faces.append([a + j, a + k, b + j])
            faces.append([a + k, b + k, b + j])
    last, bottom = 1 + (rings - 2) * segments, len(verts) - 1
    for j in range(segments):
        faces.append([last + j, last + (j + 1) % segments, bottom])
    return torch.tensor(verts, dtype=torch.float32), torch.tensor(faces, dtype=torch.int32)


def make_scene(resolution):
    vertices, faces = bumpy_sphere(51, 100)  # 10,000 triangles
    vertices = vertices.clone().requires_grad_(True)
    camera = r3.Camera(torch.tensor([0.0, 1.0, 3.5]), torch.tensor([0.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]),
                       45.0, resolution=(resolution, resolution))
    ground = r3.Shape(torch.tensor([[-5.0, -1, -5], [-5, -1, 5], [5, -1, 5], [5, -1, -5]]),
                      torch.tensor([[0, 1, 2], [0, 2, 3]], dtype=torch.int32), 1)
    light = r3.Shape(torch.tensor([[-1.0, 3, -1], [1, 3, -1], [1, 3, 1], [-1, 3, 1]]),
                     torch.tensor([[0, 1, 2], [0, 2, 3]], dtype=torch.int32), 2)
    materials = [r3.Material(torch.tensor([0.6, 0.3, 0.2]), torch.tensor([0.3, 0.3, 0.3]), torch.tensor(0.3)),
                 r3.Material(torch.tensor([0.5, 0.5, 0.5])), r3.Material(torch.zeros(3))]
    scene = r3.Scene(camera, [r3.Shape(vertices, faces, 0), ground, light], materials,
                     [r3.AreaLight(2, torch.tensor([10.0, 10.0, 10.0]), two_sided=True)])
    return scene, vertices, int(faces.shape[0]) + 4


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--resolution", type=int, default=256)
    p.add_argument("--spp", type=int, default=4)
    p.add_argument("--repeat", type=int, default=3, help="runs per case; the fastest is reported")
    args = p.parse_args()
    scene, vertices, triangles = make_scene(args.resolution)
    best = {}
    for _ in range(args.repeat):
        start = time.perf_counter()
        img = r3.render_pathtracing(scene, num_samples=args.spp, max_bounces=1)
        forward = time.perf_counter() - start
        start = time.perf_counter()
        img.sum().backward()
        backward = time.perf_counter() - start
        vertices.grad = None
        for case, seconds in (("forward", forward), ("backward", backward)):
            split = dict(render_module.last_timings[case])
            if case not in best or seconds < best[case]["seconds"]:
                best[case] = {"seconds": seconds, **{f"{k}_seconds": v for k, v in split.items()}}
    for case in ("forward", "backward"):
        print(json.dumps({"bench": "render3d", "case": case, "resolution": args.resolution, "spp": args.spp,
                          "triangles": triangles, "max_bounces": 1, "device": "cpu",
                          "threads": torch.get_num_threads(), **{k: round(v, 4) for k, v in best[case].items()}}))


if __name__ == "__main__":
    main()
