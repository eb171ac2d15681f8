#!/usr/bin/env python3
"""torch.compile and the pydiffvg op (issue #19).

1. The CLIPDraw loop (a tiny open_clip architecture with random weights, as
   in tests/test_clipdraw.py; nothing is downloaded): steps per second,
   eager and under torch.compile (inductor), one render and a CLIP loss of
   augmented views per step, a new render seed at every step. The compile
   time is reported apart: the first three steps' time beyond three steady
   steps (a changing seed compiles twice: first as a constant, then
   symbolic). The steady steps of the two loops are interleaved.
2. The op's own overhead per call for a 64-shape scene: from the Python
   call to the start of the kernel (render_forward entered), for eager
   pydiffvg.render and for the torch.library op.

Prints one JSON line per measurement.

    python benchmarks/bench_compile.py [--paths 64] [--size 128] [--steps 20] [--threads 1]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pydiffvg  # noqa: E402
from pydiffvg import _core, op  # noqa: E402

TINY = {"embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}}


def tiny_clip():
    from pydiffvg.apps import clipdraw
    folder = tempfile.mkdtemp(prefix="bench_compile_")
    config = os.path.join(folder, "pydiffvg-bench-tiny-clip.json")
    with open(config, "w") as f:
        json.dump(TINY, f)
    clipdraw.import_open_clip().add_model_config(config)
    torch.manual_seed(0)
    return clipdraw.load_clip("pydiffvg-bench-tiny-clip", None, allow_random=True)


def clipdraw_loop(compiled, args):
    """A function that runs the next step of a CLIPDraw loop and returns its
    seconds; the scene is built from Python-int slices of the stroke
    tensors, as a traced loop needs."""
    from pydiffvg.apps import clipdraw
    generator = torch.Generator().manual_seed(0)
    loss_fn = clipdraw.ClipDrawLoss(CLIP, "a drawing of a cat", num_views=args.views, generator=generator)
    strokes = clipdraw.init_strokes(args.paths, args.size, args.size, generator=generator).requires_grad_(True)
    bounds = strokes.offsets.tolist()
    segments = strokes.segments.tolist()
    background = torch.ones(args.size, args.size, 4)

    def step_loss(points, widths, colors, seed):
        shapes = [pydiffvg.Path(num_control_points=torch.full((segments[i],), 2, dtype=torch.int32),
                                points=points[bounds[i]:bounds[i + 1]], is_closed=False, stroke_width=widths[i])
                  for i in range(len(segments))]
        groups = [pydiffvg.ShapeGroup(shape_ids=torch.tensor([i]), fill_color=None, stroke_color=colors[i])
                  for i in range(len(segments))]
        image = pydiffvg.render(shapes, groups, width=args.size, height=args.size, num_samples=2, seed=seed,
                                background=background)
        return loss_fn(image[..., :3])["loss"]

    run = torch.compile(step_loss) if compiled else step_loss
    optimizer = torch.optim.Adam([strokes.points, strokes.widths, strokes.colors], lr=0.1)
    counter = iter(range(1 << 30))

    def one_step():
        step = next(counter)
        start, cpu = time.perf_counter(), time.process_time()
        optimizer.zero_grad(set_to_none=True)
        loss = run(strokes.points, strokes.widths, strokes.colors, step)
        loss.backward()
        optimizer.step()
        strokes.clamp_()
        return time.perf_counter() - start, time.process_time() - cpu

    return one_step


def kernel_start_overhead(path, repeats=200):
    """Median CPU seconds from the Python call to render_forward's entry
    (the process's CPU time: the Python side runs on one thread, and CPU
    time does not count what other processes take from the machine).

    Paths: "eager", pydiffvg.render; "op", torch.ops.pydiffvg.render2d
    called with the flattened scene, as compiled code calls it (the
    flattening runs inside the compiled graph); "flatten", the flattening
    alone, run eagerly."""
    generator = torch.Generator().manual_seed(0)
    shapes, groups = [], []
    for i in range(64):
        points = (torch.rand(4, 2, generator=generator) * 64).requires_grad_(True)
        shapes.append(pydiffvg.Path(num_control_points=torch.tensor([2]), points=points, is_closed=False))
        groups.append(pydiffvg.ShapeGroup(shape_ids=torch.tensor([i]), fill_color=None,
                                          stroke_color=torch.rand(4, generator=generator)))
    radius = torch.tensor(0.5)
    tensors, spec = op.flatten_scenes([(64, 64, shapes, groups)], radius, None)
    needs_grad = [t.requires_grad for t in tensors]
    entered = []
    original = _core.render_forward

    def marking(*a, **k):
        entered.append(time.process_time())
        return original(*a, **k)

    calls = {
        "eager": lambda: pydiffvg.render(shapes, groups, width=64, height=64, num_samples=1),
        "op": lambda: torch.ops.pydiffvg.render2d(tensors, needs_grad, spec, 64, 64, 1, 1, 0,
                                                  int(pydiffvg.FilterType.box), False, False, False,
                                                  torch.device("cpu")),
    }
    _core.render_forward = marking
    try:
        gaps = []
        for _ in range(repeats):
            start = time.process_time()
            if path == "flatten":
                op.flatten_scenes([(64, 64, shapes, groups)], radius, None)
                entered.append(time.process_time())
            else:
                calls[path]()
            gaps.append(entered[-1] - start)
    finally:
        _core.render_forward = original
    return statistics.median(gaps[10:])


def main():
    global CLIP
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=64)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--views", type=int, default=4)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for path in ("eager", "op", "flatten"):
        print(json.dumps({"bench": "op_overhead", "path": path, "shapes": 64,
                          "python_to_kernel_us": round(1e6 * kernel_start_overhead(path), 1)}), flush=True)
    CLIP = tiny_clip()
    loops = {"eager": clipdraw_loop(False, args), "compiled": clipdraw_loop(True, args)}
    # The first steps: eager warm-up, and the compilations (the first seed
    # as a constant, then symbolic).
    first = {mode: [loop()[0] for _ in range(3)] for mode, loop in loops.items()}
    times = {mode: [] for mode in loops}
    for _ in range(args.steps):  # interleaved, so that both see the same machine
        for mode, loop in loops.items():
            times[mode].append(loop())
    # Wall time, and the process's CPU time: on one thread the CPU time is
    # what the step costs, however loaded the machine is.
    steady = {mode: statistics.median(w for w, _ in t) for mode, t in times.items()}
    steady_cpu = {mode: statistics.median(c for _, c in t) for mode, t in times.items()}
    for mode in loops:
        print(json.dumps({"bench": "clipdraw_compile", "mode": mode, "paths": args.paths, "size": args.size,
                          "views": args.views, "steps": args.steps, "threads": args.threads,
                          "step_s": round(steady[mode], 4), "steps_per_s": round(1.0 / steady[mode], 2),
                          "step_cpu_s": round(steady_cpu[mode], 4),
                          "first_steps_beyond_steady_s": round(sum(first[mode]) - 3 * steady[mode], 2)}),
              flush=True)
    print(json.dumps({"bench": "clipdraw_compile",
                      "speedup_compiled_over_eager": round(steady["eager"] / steady["compiled"], 3),
                      "cpu_speedup_compiled_over_eager": round(steady_cpu["eager"] / steady_cpu["compiled"], 3)}))


if __name__ == "__main__":
    main()
