"""Renders from Python threads: the kernels release the GIL, so two threads
each rendering their own scene finish in about the time of one when the
extension's own pool has one thread each (torch.set_num_threads(1)).

Prints one JSON line per case: the wall time of N renders (forward and
backward) from one thread, the same work split over 2 threads, and the
speedup. With the GIL held during the kernel the speedup would be about 1.

    python benchmarks/bench_threads.py [--renders 20] [--size 256]
"""
import argparse
import json
import threading
import time

import torch

import pydiffvg


def scene(seed, size):
    generator = torch.Generator().manual_seed(seed)
    shapes, groups = [], []
    for i in range(64):
        points = (torch.rand(6, 2, generator=generator) * size).requires_grad_(True)
        shapes.append(pydiffvg.Path(num_control_points=torch.tensor([2, 2]), points=points, is_closed=True))
        groups.append(pydiffvg.ShapeGroup(shape_ids=torch.tensor([i]), fill_color=torch.rand(4, generator=generator)))
    return shapes, groups


def work(shapes, groups, size, renders):
    for k in range(renders):
        image = pydiffvg.render(shapes, groups, width=size, height=size, num_samples=2, seed=k)
        image.sum().backward()


def timed(threads_work):
    threads = [threading.Thread(target=fn) for fn in threads_work]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=20, help="renders per thread")
    parser.add_argument("--size", type=int, default=256, help="image side in pixels")
    args = parser.parse_args()
    torch.set_num_threads(1)
    scenes = [scene(seed, args.size) for seed in range(2)]
    work(*scenes[0], args.size, 2)  # warm-up
    one = timed([lambda: [work(*s, args.size, args.renders) for s in scenes]])
    two = timed([lambda s=s: work(*s, args.size, args.renders) for s in scenes])
    print(json.dumps({"bench": "threads", "renders": 2 * args.renders, "size": args.size, "shapes": 64,
                      "one_thread_s": round(one, 3), "two_threads_s": round(two, 3),
                      "speedup": round(one / two, 2)}))


if __name__ == "__main__":
    main()
