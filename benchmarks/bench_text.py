#!/usr/bin/env python
"""Text to glyph outlines: time to convert a 1,000-glyph paragraph.

Cases (one JSON line each):
* text_to_paths, first call (font loading, outline cache cold) and then
  warm calls (median of --repeat), with float inputs and with tensor inputs
  that require grad (the points become differentiable expressions);
* svg_to_scene of an SVG whose <text> holds the same paragraph in tspans
  with letter-spacing (shaping, layout, Paths and ShapeGroups);
* render of the converted paragraph (for scale).

Fonts: resvg's test fonts in ../shared/fixtures/fonts when present (set in
PYDIFFVG_FONT_DIRS), else the system's.

Usage: python benchmarks/bench_text.py [--glyphs 1000] [--repeat 5]
"""
import argparse
import json
import os
import statistics
import time

_FONTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..",
                      "shared", "fixtures", "fonts")
if os.path.isdir(_FONTS):
    os.environ["PYDIFFVG_FONT_DIRS"] = os.path.normpath(_FONTS)

import torch  # noqa: E402

import pydiffvg  # noqa: E402

WORDS = ("differentiable vector graphics render glyph outlines with gradients that reach "
         "every control point of every letter while the layout keeps kerning and ligatures "
         "of the shaped text").split()


def paragraph(glyphs: int) -> str:
    out, i = [], 0
    while len("".join(out)) < glyphs:
        out.append(WORDS[i % len(WORDS)] + " ")
        i += 1
    return "".join(out)[:glyphs]


def timed(fn, repeat):
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--glyphs", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--font", default="Noto Sans")
    args = ap.parse_args()
    text = paragraph(args.glyphs)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))

    start = time.perf_counter()
    result = pydiffvg.text_to_paths(text, font=args.font, size=16.0)
    cold = time.perf_counter() - start
    glyphs = len(result.glyphs)
    print(json.dumps({"case": "text_to_paths_cold", "chars": len(text), "glyphs": glyphs,
                      "paths": len(result.shapes), "seconds": round(cold, 4)}), flush=True)
    warm, result = timed(lambda: pydiffvg.text_to_paths(text, font=args.font, size=16.0),
                         args.repeat)
    print(json.dumps({"case": "text_to_paths_warm", "glyphs": glyphs, "paths": len(result.shapes),
                      "seconds": round(warm, 4), "under_0.5s": warm < 0.5}), flush=True)

    def tensor_call():
        size = torch.tensor(16.0, requires_grad=True)
        x = torch.tensor(0.0, requires_grad=True)
        spacing = torch.tensor(0.5, requires_grad=True)
        return pydiffvg.text_to_paths(text, font=args.font, size=size, x=x, y=20.0,
                                      letter_spacing=spacing)
    grad_time, _ = timed(tensor_call, args.repeat)
    print(json.dumps({"case": "text_to_paths_differentiable", "glyphs": glyphs,
                      "seconds": round(grad_time, 4), "under_0.5s": grad_time < 0.5}), flush=True)

    # the same paragraph through SVG <text>, 10 lines of tspans
    lines = [text[i:i + 100] for i in range(0, len(text), 100)]
    body = "".join(f'<tspan x="10" dy="20">{line}</tspan>' for line in lines)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="800" height="240" '
           f'font-family="{args.font}" font-size="14"><text xml:space="preserve" '
           f'letter-spacing="0.3">{body}</text></svg>')
    svg_time, scene = timed(lambda: pydiffvg.svg_to_scene(svg, strict=False), args.repeat)
    print(json.dumps({"case": "svg_text_to_scene", "chars": len(text), "paths": len(scene[2]),
                      "groups": len(scene[3]), "seconds": round(svg_time, 4),
                      "under_0.5s": svg_time < 0.5}), flush=True)

    cw, ch, shapes, groups = scene
    render_time, _ = timed(lambda: pydiffvg.render(shapes, groups, width=cw, height=ch,
                                                   num_samples=2, seed=0), max(1, args.repeat // 2))
    print(json.dumps({"case": "render_paragraph", "size": [cw, ch], "paths": len(shapes),
                      "seconds": round(render_time, 4)}), flush=True)


if __name__ == "__main__":
    main()
