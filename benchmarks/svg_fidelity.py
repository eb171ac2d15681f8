#!/usr/bin/env python
"""SVG import + forward-render fidelity against resvg reference PNGs.

Usage:
    python benchmarks/svg_fidelity.py FIXTURES_DIR [--size 300] [--samples 4]
        [--worst 20] [--json out.json] [--roundtrip] [--rt-size 100]

For every ``*.svg`` under FIXTURES_DIR (searched recursively) with a
same-named ``.png`` next to it (made by resvg, sRGB 8-bit):

* load it with ``pydiffvg.svg_to_scene(path, strict=False)`` -- an
  ``SVGError`` counts as "unsupported: <reason>", and so does a warning about
  unsupported content (text, images, masks, filters ... are outside
  pydiffvg's scope). Warnings from the error recovery the SVG spec
  prescribes (bad path data, invalid transforms, negative sizes) do not:
  resvg recovers the same way, so those files are rendered and compared
  (``--strict`` counts them as unsupported instead);
* render at ``--size`` px width (height by the canvas aspect ratio; where the
  reference PNG has another width, its width is used instead) with
  ``--samples`` samples per pixel per axis;
* composite the render (straight RGBA) and the PNG over white and compute
  PSNR on RGB, 8-bit scale. SVG colours are sRGB values, compared directly.

One JSON line per file is printed, then one summary JSON line. With
``--roundtrip`` every file that loads is also written back with
``pydiffvg.save_svg``, reloaded and rendered again at ``--rt-size`` px; the
two renders are compared (PSNR >= 40 dB counts as a pass).

The summary also counts how many of the worst files use ``stroke-linecap``,
``stroke-linejoin`` or ``stroke-dasharray`` (by grepping the SVG text), a
quick sign of whether stroke styling is where the remaining error lies.
"""
import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections import defaultdict

import numpy as np
import torch
from PIL import Image

# measure the checkout this script is in, not whatever pydiffvg is installed
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Text renders with resvg's test fonts when the shared fixtures are there
# (../shared/fixtures/fonts from the project root), as resvg's PNGs were made.
_FIXTURE_FONTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "..", "shared", "fixtures", "fonts")
if os.path.isdir(_FIXTURE_FONTS) and _FIXTURE_FONTS not in os.environ.get("PYDIFFVG_FONT_DIRS", ""):
    os.environ["PYDIFFVG_FONT_DIRS"] = os.pathsep.join(
        [os.path.normpath(_FIXTURE_FONTS)] + [d for d in os.environ.get("PYDIFFVG_FONT_DIRS", "").split(os.pathsep) if d])

import pydiffvg  # noqa: E402

STROKE_KEYWORDS = ("stroke-linecap", "stroke-linejoin", "stroke-dasharray")


def psnr(a, b):
    """PSNR in dB of two float arrays in [0, 1], 8-bit scale (peak 255)."""
    a8 = np.clip(np.round(a * 255.0), 0, 255)
    b8 = np.clip(np.round(b * 255.0), 0, 255)
    mse = float(np.mean((a8 - b8) ** 2))
    if mse == 0.0:
        return float("inf")
    return 10.0 * math.log10(255.0 ** 2 / mse)


def over_white(rgba):
    """Straight RGBA (H, W, 4) floats -> RGB over white."""
    rgb, a = rgba[..., :3], rgba[..., 3:4]
    return rgb * a + (1.0 - a)


def load_png(path):
    im = Image.open(path).convert("RGBA")
    return np.asarray(im, dtype=np.float64) / 255.0


# Warnings that mean content was dropped or approximated because pydiffvg
# does not implement it (text, images, masks, filters, patterns, markers,
# clip paths, spreadMethod ...). Other warnings are the error recovery the
# SVG spec prescribes (bad path data rendered up to the error, invalid
# transforms, negative sizes ...), which resvg performs too: those files
# are rendered and compared.
# An element that SVG does not define is not rendered, with its subtree (SVG
# 1.1, SVG Tiny 1.2 C.2): that is the prescribed behaviour, not a gap, so its
# warning is not a marker here; SVG elements pydiffvg lacks warn "is not
# supported".
UNSUPPORTED_MARKERS = ("is not supported", "not supported", "is rendered as", "drawn solid")


def is_unsupported_warning(message):
    return any(m in message for m in UNSUPPORTED_MARKERS)


def load_scene(source, strict=False):
    """svg_to_scene, catching SVGError and recording warnings.

    Returns (scene tuple or None, reason or None, warning messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            scene = pydiffvg.svg_to_scene(source, strict=strict)
        except pydiffvg.SVGError as exc:
            return None, str(exc), [str(w.message) for w in caught]
    messages = [str(w.message) for w in caught]
    return scene, None, messages


def render_scene(scene, width, samples, seed=0):
    cw, ch, shapes, groups = scene
    height = max(1, int(round(width * ch / cw)))
    if not shapes and not groups:
        return np.zeros((height, width, 4))
    img = pydiffvg.render(shapes, groups, width=width, height=height,
                          canvas_width=cw, canvas_height=ch, num_samples=samples, seed=seed)
    return img.detach().cpu().double().numpy()


def by_folder(records, threshold):
    """{folder: {files, passed, rate}} by the first part of each name (the
    top-level folder under the fixtures directory given)."""
    out = defaultdict(lambda: {"files": 0, "passed": 0})
    for r in records:
        entry = out[r["name"].split("_", 1)[0] if "_" in r["name"] else "."]
        entry["files"] += 1
        entry["passed"] += int(r.get("psnr", -1.0) >= threshold)
    return {k: dict(v, rate=round(v["passed"] / v["files"], 4)) for k, v in sorted(out.items())}


def reason_key(reason):
    """Group reasons: drop element ids and numbers so similar causes merge."""
    import re
    key = re.sub(r"id='[^']*'", "", reason)
    key = re.sub(r"-?\d+(\.\d+)?", "N", key)
    return key.strip()


def roundtrip_psnr(scene, size, samples):
    """load -> save_svg -> load -> render both; PSNR of the two renders."""
    cw, ch, shapes, groups = scene
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "rt.svg")
        pydiffvg.save_svg(out, cw, ch, shapes, groups)
        scene2, reason, _ = load_scene(out)
    if scene2 is None:
        return None, "reload failed: " + reason
    if (scene2[0], scene2[1]) != (cw, ch):
        return None, f"canvas changed {cw}x{ch} -> {scene2[0]}x{scene2[1]}"
    a = over_white(render_scene(scene, size, samples))
    b = over_white(render_scene(scene2, size, samples))
    return psnr(a, b), None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fixtures")
    ap.add_argument("--size", type=int, default=300)
    ap.add_argument("--samples", type=int, default=4, help="samples per pixel per axis")
    ap.add_argument("--worst", type=int, default=20)
    ap.add_argument("--json", help="write all records and the summary here")
    ap.add_argument("--roundtrip", action="store_true")
    ap.add_argument("--rt-size", type=int, default=100)
    ap.add_argument("--rt-samples", type=int, default=2)
    ap.add_argument("--strict", action="store_true",
                    help="load with strict=True: recoverable SVG errors count as unsupported")
    ap.add_argument("--threshold", type=float, default=30.0)
    ap.add_argument("--rt-threshold", type=float, default=40.0)
    args = ap.parse_args(argv)

    svgs = []
    for root, _, files in os.walk(args.fixtures):
        svgs += [os.path.join(root, f) for f in files if f.endswith(".svg")]
    svgs.sort()
    if not svgs:
        sys.exit(f"no .svg files under {args.fixtures}")

    records = []
    t0 = time.time()
    for path in svgs:
        name = os.path.relpath(path, args.fixtures).replace(os.sep, "_")
        rec = {"name": name}
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        rec["stroke_features"] = [k for k in STROKE_KEYWORDS if k in text]
        png = os.path.splitext(path)[0] + ".png"
        scene, reason, warns = load_scene(path, strict=args.strict)
        if scene is None:
            rec["reason"] = "unsupported: " + reason
        elif any(is_unsupported_warning(w) for w in warns):
            unsupported_warns = [w for w in warns if is_unsupported_warning(w)]
            rec["reason"] = "unsupported: " + unsupported_warns[0]
            if len(unsupported_warns) > 1:
                rec["other_warnings"] = unsupported_warns[1:]
        elif not os.path.exists(png):
            rec["reason"] = "no reference png"
        if scene is not None and warns and "reason" not in rec:
            rec["recovered"] = warns  # spec error recovery; still compared
        if "reason" not in rec:
            ref = load_png(png)
            width = args.size if ref.shape[1] == args.size else ref.shape[1]
            try:
                img = render_scene(scene, width, args.samples)
            except (ValueError, RuntimeError) as exc:  # e.g. a singular transform
                img = None
                rec["reason"] = f"render error: {exc}"
            if img is None:
                pass
            elif img.shape[:2] != ref.shape[:2]:
                rec["reason"] = f"size mismatch: render {img.shape[1]}x{img.shape[0]}, png {ref.shape[1]}x{ref.shape[0]}"
            else:
                value = psnr(over_white(img), over_white(ref))
                rec["psnr"] = round(value, 3) if math.isfinite(value) else 99.0
                if width != args.size:
                    rec["note"] = f"rendered at reference width {width}"
        if args.roundtrip and scene is not None:
            try:
                value, rt_reason = roundtrip_psnr(scene, args.rt_size, args.rt_samples)
            except (ValueError, RuntimeError) as exc:
                value, rt_reason = None, f"error: {exc}"
            if value is None:
                rec["roundtrip_reason"] = rt_reason
            else:
                rec["roundtrip_psnr"] = round(value, 3) if math.isfinite(value) else 99.0
        records.append(rec)
        print(json.dumps(rec), flush=True)
    elapsed = time.time() - t0

    scored = [r for r in records if "psnr" in r]
    unsupported = [r for r in records if "psnr" not in r]
    values = [r["psnr"] for r in scored]
    good = sum(v >= args.threshold for v in values)
    worst = sorted(scored, key=lambda r: r["psnr"])[:args.worst]
    by_reason = defaultdict(list)
    for r in unsupported:
        by_reason[reason_key(r["reason"])].append(r["name"])
    summary = {
        "summary": True,
        "files": len(records),
        "loaded": len(scored),
        "unsupported": len(unsupported),
        "size": args.size,
        "samples_per_axis": args.samples,
        "threshold_db": args.threshold,
        "frac_all_ge_threshold": round(good / len(records), 4),
        "frac_loaded_ge_threshold": round(good / len(scored), 4) if scored else None,
        "median_psnr": round(statistics.median(values), 3) if values else None,
        "loaded_with_recovery_warnings": sum("recovered" in r for r in scored),
        "worst": [dict({"name": r["name"], "psnr": r["psnr"], "stroke_features": r["stroke_features"]},
                       **({"recovered": r["recovered"]} if "recovered" in r else {}))
                  for r in worst],
        "worst_with_stroke_features": sum(bool(r["stroke_features"]) for r in worst),
        "worst_by_stroke_feature": {k: sum(k in r["stroke_features"] for r in worst)
                                    for k in STROKE_KEYWORDS},
        "unsupported_by_reason": {k: {"count": len(v), "files": v}
                                  for k, v in sorted(by_reason.items(), key=lambda kv: -len(kv[1]))},
        "by_folder": by_folder(records, args.threshold),
        "seconds": round(elapsed, 1),
    }
    if args.roundtrip:
        rt = [r for r in records if "roundtrip_psnr" in r]
        rt_fail = [r for r in records if "roundtrip_reason" in r]
        rt_tried = len(rt) + len(rt_fail)
        summary["roundtrip"] = {
            "tried": rt_tried,
            "threshold_db": args.rt_threshold,
            "size": args.rt_size,
            "frac_ge_threshold": round(sum(r["roundtrip_psnr"] >= args.rt_threshold for r in rt)
                                       / rt_tried, 4) if rt_tried else None,
            "failed": [{"name": r["name"], "reason": r["roundtrip_reason"]} for r in rt_fail],
            "worst": [{"name": r["name"], "psnr": r["roundtrip_psnr"]}
                      for r in sorted(rt, key=lambda r: r["roundtrip_psnr"])[:args.worst]],
        }
    print(json.dumps(summary), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"records": records, "summary": summary}, f, indent=1)


if __name__ == "__main__":
    main()
