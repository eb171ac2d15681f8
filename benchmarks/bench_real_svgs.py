#!/usr/bin/env python
"""Speed and fidelity on real SVG art, pydiffvg beside resvg-py in one run.

    python benchmarks/bench_real_svgs.py [--files tiger,boston,...] [--size 512]
        [--runs 3] [--threads 2] [--no-psnr] [--memory 1024,2048,4096]

The files are ``../shared/bench/real/*.svg`` from the project root (tiger,
boston and four smaller scenes; their README gives diffvg's times). Each
file is loaded with ``svg_to_scene`` and rendered at a longer side of
``--size`` px. Within each run, for each file, the cases are timed one after
the other (interleaved, so a load from elsewhere falls on all of them):

* ``resvg_ms``: resvg-py from the SVG text, one thread (resvg is
  single-threaded): parse, render and PNG encoding, system fonts skipped;
* ``fwd_ms``: pydiffvg forward, 2×2 samples, no gradient wanted (packing
  included, SVG parsing not: ``parse_ms`` is that, once);
* ``pf_ms``: the same with prefiltering (one sample per pixel);
* ``fwd_grad_ms`` / ``bwd_ms``: forward with every point, stroke width and
  paint tensor requiring grad, then the backward of sum(w * image) for a
  fixed random w (diffvg's benchmark measures these two);
* ``pack_ms``: pydiffvg's Python packing of the scene alone, as every
  render after the first packs it: reusing the scene's plan
  (``pack_fraction`` = pack_ms / fwd_ms); ``pack_cold_ms``: packing it
  as a first render does, planning its structure afresh.

Medians over ``--runs`` after one warm-up, of wall-clock time or (``--cpu-time``)
the process's CPU time. ``psnr_db``: pydiffvg at 8×8
samples against resvg's image, both over white (8-bit RGB). ``diffvg_*``:
the figures in the README where it has them, with our speed-ups.

``--memory``: for each size, one child process renders boston.svg (2×2
samples) forward and backward and reports its peak RSS (``ru_maxrss``);
one JSON line each.

Prints one JSON line per file, then a summary line with the goals of
issue #21 checked against these numbers.
"""
import argparse
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)  # measure this checkout, unless PYTHONPATH names another first
sys.path.insert(1, HERE)

import pydiffvg  # noqa: E402
from svg_fidelity import over_white, psnr  # noqa: E402

# Wall-clock time by default; --cpu-time switches to this process's CPU time
# (with --threads 1, a measure that another load on the machine barely moves).
clock = time.perf_counter

REAL = os.path.normpath(os.path.join(ROOT, "..", "shared", "bench", "real"))
DEFAULT_FILES = ("tiger", "boston", "cat", "ice_cream", "seaside2", "sunset2")


def diffvg_figures():
    """{name: (fwd_ms, bwd_ms)} from the table in REAL/README.md."""
    path = os.path.join(REAL, "README.md")
    out = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for m in re.finditer(r"^\|\s*(\w+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|", f.read(), re.M):
                out[m.group(1)] = (float(m.group(2)), float(m.group(3)))
    return out


def png_size(png):
    """(width, height) from a PNG's IHDR."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def float_params(shapes, groups):
    """Every float tensor a user would optimise: points, stroke widths and
    paints (colours and gradient parameters)."""
    out = []

    def take(obj, names):
        for name in names:
            t = getattr(obj, name, None)
            if isinstance(t, torch.Tensor) and t.is_floating_point():
                out.append(t)
    for s in shapes:
        take(s, ("points", "center", "radius", "p_min", "p_max", "stroke_width"))
    def groups_of(items):  # ShapeGroups, also inside Layers (opacity groups)
        for g in items:
            if hasattr(g, "children"):
                yield from groups_of(g.children)
            else:
                yield g
    for g in groups_of(groups):
        for paint in (g.fill_color, g.stroke_color):
            if isinstance(paint, torch.Tensor):
                out.append(paint)
            elif paint is not None:
                take(paint, ("begin", "end", "center", "radius", "stop_colors"))
    # shared tensors appear once
    seen, unique = set(), []
    for t in out:
        if id(t) not in seen:
            seen.add(id(t))
            unique.append(t)
    return unique


class Case:
    """One file: its scene, text and the timed calls."""

    def __init__(self, name, size):
        self.name = name
        self.path = os.path.join(REAL, name + ".svg")
        with open(self.path, encoding="utf-8") as f:
            self.text = f.read()
        t0 = clock()
        self.scene = pydiffvg.svg_to_scene(self.path)
        self.parse_ms = (clock() - t0) * 1e3
        cw, ch, self.shapes, self.groups = self.scene
        self.cw, self.ch = cw, ch
        # resvg scales the longer side to `size` and rounds the other its own
        # way; ours is rendered at resvg's size, so the two images compare.
        self.size_arg = {"width": size} if cw >= ch else {"height": size}
        self.width, self.height = png_size(self.resvg_png())
        self.params = float_params(self.shapes, self.groups)
        self.weight = torch.rand(self.height, self.width, 4, generator=torch.Generator().manual_seed(1))

    def render(self, samples=2, prefilter=False, seed=0):
        return pydiffvg.render(self.shapes, self.groups, width=self.width, height=self.height,
                               canvas_width=self.cw, canvas_height=self.ch, num_samples=samples,
                               use_prefiltering=prefilter, seed=seed)

    def resvg_png(self):
        import resvg_py
        return resvg_py.svg_to_bytes(svg_string=self.text, skip_system_fonts=True, **self.size_arg)

    def time_resvg(self):
        t0 = clock()
        self.resvg_png()
        return (clock() - t0) * 1e3

    def time_forward(self, samples=2, prefilter=False):
        with torch.no_grad():
            t0 = clock()
            self.render(samples, prefilter)
            return (clock() - t0) * 1e3

    def time_pack(self, cold=False):
        """Packing a flat scene (``cold``: with no plan kept from an earlier
        call); None for a tree (its runs of groups are packed one by one by
        pydiffvg/layers.py)."""
        from pydiffvg import scene as packer
        from pydiffvg.layers import has_layers
        from pydiffvg.scene import pack_scenes
        if has_layers(self.groups):
            return None
        scenes = [(self.cw, self.ch, self.shapes, self.groups)]
        if cold:  # this scene's plan only: the other files' stay for their renders
            packer._PLANS.pop(packer._plan_key(scenes, self.width, self.height, torch.device("cpu")), None)
        with torch.no_grad():
            t0 = clock()
            pack_scenes(scenes, self.width, self.height, torch.device("cpu"))
            return (clock() - t0) * 1e3

    def time_forward_backward(self):
        for p in self.params:
            p.requires_grad_(True)
        try:
            t0 = clock()
            img = self.render(2)
            t1 = clock()
            (img * self.weight).sum().backward()
            t2 = clock()
        finally:
            for p in self.params:
                p.grad = None
                p.requires_grad_(False)
        return (t1 - t0) * 1e3, (t2 - t1) * 1e3

    def psnr_to_resvg(self):
        import io
        from PIL import Image
        ref = np.asarray(Image.open(io.BytesIO(self.resvg_png())).convert("RGBA"), dtype=np.float64) / 255.0
        with torch.no_grad():
            ours = self.render(8).double().numpy()
        return psnr(over_white(ours), over_white(ref))


def memory_child(size, samples):
    """Forward + backward of boston.svg at size² in this process: its peak RSS."""
    case = Case("boston", size)
    for p in case.params:
        p.requires_grad_(True)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = clock()
    img = case.render(samples)
    t1 = clock()
    (img * torch.rand_like(img)).sum().backward()
    t2 = clock()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"memory": "boston", "size": [case.width, case.height], "spp": samples * samples,
                      "peak_rss_mb": round(peak / 1024, 1), "rss_before_render_mb": round(base / 1024, 1),
                      "fwd_ms": round((t1 - t0) * 1e3, 1), "bwd_ms": round((t2 - t1) * 1e3, 1),
                      "threads": torch.get_num_threads()}), flush=True)


def median(xs):
    return round(statistics.median(xs), 2)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", default=",".join(DEFAULT_FILES))
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-psnr", action="store_true")
    ap.add_argument("--no-backward", action="store_true")
    ap.add_argument("--memory", default="", help="sizes for the boston peak-RSS children, e.g. 1024,2048,4096")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time with this process's CPU time (use with --threads 1 on a loaded machine)")
    ap.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.cpu_time:
        global clock
        clock = time.process_time
    if args.memory_child:
        memory_child(args.memory_child, 2)
        return
    if not os.path.isdir(REAL):
        sys.exit(f"bench_real_svgs.py: {REAL} not found (expected ../shared/bench/real next to the project)")
    figures = diffvg_figures()
    cases = [Case(n, args.size) for n in args.files.split(",") if n]
    times = {c.name: {"resvg": [], "fwd": [], "pf": [], "pack": [], "pack_cold": [], "fwd_grad": [], "bwd": []} for c in cases}
    for run in range(args.runs + 1):  # run 0 warms up
        for c in cases:
            t = {"resvg": c.time_resvg(), "fwd": c.time_forward(), "pf": c.time_forward(1, True),
                 "pack": c.time_pack(), "pack_cold": c.time_pack(cold=True)}
            if not args.no_backward:
                t["fwd_grad"], t["bwd"] = c.time_forward_backward()
            if run:
                for k, v in t.items():
                    if v is not None:
                        times[c.name][k].append(v)
    records = []
    for c in cases:
        t = times[c.name]
        rec = {"file": c.name, "shapes": len(c.shapes), "groups": len(c.groups), "size": [c.width, c.height],
               "threads": args.threads, "cpu_time": args.cpu_time, "parse_ms": round(c.parse_ms, 1), "resvg_ms": median(t["resvg"]),
               "fwd_ms": median(t["fwd"]), "pf_ms": median(t["pf"])}
        if t["pack"]:
            rec["pack_ms"] = median(t["pack"])
            rec["pack_fraction"] = round(rec["pack_ms"] / rec["fwd_ms"], 3)
            rec["pack_cold_ms"] = median(t["pack_cold"])
        if t["bwd"]:
            rec["fwd_grad_ms"], rec["bwd_ms"] = median(t["fwd_grad"]), median(t["bwd"])
        rec["fwd_over_resvg"] = round(rec["fwd_ms"] / rec["resvg_ms"], 2)
        rec["pf_over_resvg"] = round(rec["pf_ms"] / rec["resvg_ms"], 2)
        if "bwd_ms" in rec:
            rec["bwd_over_fwd"] = round(rec["bwd_ms"] / rec["fwd_grad_ms"], 2)
        if c.name in figures:
            dfwd, dbwd = figures[c.name]
            rec["diffvg_fwd_ms"], rec["diffvg_bwd_ms"] = dfwd, dbwd
            rec["speedup_fwd"] = round(dfwd / rec.get("fwd_grad_ms", rec["fwd_ms"]), 2)
            if "bwd_ms" in rec:
                rec["speedup_bwd"] = round(dbwd / rec["bwd_ms"], 2)
        if not args.no_psnr:
            rec["psnr_db"] = round(c.psnr_to_resvg(), 2)
        records.append(rec)
        print(json.dumps(rec), flush=True)
    summary = {"summary": True, "runs": args.runs, "threads": args.threads, "cpu_time": args.cpu_time,
               "fwd_at_or_below_resvg": all(r["fwd_over_resvg"] <= 1.0 for r in records),
               "pf_within_2x_resvg": all(r["pf_over_resvg"] <= 2.0 for r in records),
               "worst_fwd_over_resvg": max(r["fwd_over_resvg"] for r in records),
               "worst_pf_over_resvg": max(r["pf_over_resvg"] for r in records)}
    if not args.no_backward:
        summary["bwd_within_3x_fwd"] = all(r["bwd_over_fwd"] <= 3.0 for r in records)
        summary["worst_bwd_over_fwd"] = max(r["bwd_over_fwd"] for r in records)
    with_diffvg = [r for r in records if "speedup_fwd" in r]
    if with_diffvg:
        summary["min_speedup_fwd"] = min(r["speedup_fwd"] for r in with_diffvg)
        if "speedup_bwd" in with_diffvg[0]:
            summary["min_speedup_bwd"] = min(r["speedup_bwd"] for r in with_diffvg)
    print(json.dumps(summary), flush=True)
    for size in [int(s) for s in args.memory.split(",") if s]:
        subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-child", str(size),
                        "--threads", str(args.threads)], check=True)


if __name__ == "__main__":
    main()
