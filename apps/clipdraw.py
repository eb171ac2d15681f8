"""CLIPDraw: draw a text prompt with random strokes guided by CLIP.

Random open cubic strokes are optimised so that CLIP's embedding of
augmented renders matches the prompt's text embedding (Frans et al. 2021);
--style IMAGE adds a StyleCLIPDraw-like style loss (Gram matrices of CLIP's
own intermediate vision features; see pydiffvg.apps.clipdraw).

    python apps/clipdraw.py "a drawing of a cat" -o cat.svg
    python apps/clipdraw.py "a lighthouse" --style starry.png -o lighthouse.svg --frames frames/

Writes OUT.svg and OUT.png (the final render over white); with --frames,
one PNG every --frame-every iterations.
"""
import argparse
import os
import sys
import time

EPILOG = """\
CLIP weights: --pretrained takes an open_clip tag for --model (downloaded into
the Hugging Face cache on first use; HF_HUB_OFFLINE=1 uses the cache only and
skips the network retries) or a checkpoint file. Missing weights end the run
with one line on stderr and exit status 1; the script never falls back to
random weights.

Install (keeps a CPU-only torch; a plain `pip install open-clip-torch` would
pull torchvision and another torch build):
    pip install --no-deps open-clip-torch==3.3.0
    pip install ftfy regex tqdm huggingface_hub safetensors
open_clip imports torchvision at import time for its PIL preprocessing, which
this app does not use; without torchvision, pydiffvg.apps.clipdraw provides a
minimal stand-in during that import only (an installed torchvision is used
as is).
"""

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("prompt", help="what to draw")
    p.add_argument("-o", "--output", required=True, help="output SVG (a PNG is written beside it)")
    p.add_argument("--model", default="ViT-B-32", help="open_clip architecture (default ViT-B-32)")
    p.add_argument("--pretrained", default="laion2b_s34b_b79k",
                   help="open_clip pretrained tag or checkpoint path (default laion2b_s34b_b79k)")
    p.add_argument("--cache-dir", help="open_clip download cache (default: the Hugging Face cache)")
    p.add_argument("--model-config", help=argparse.SUPPRESS)  # tests: register an open_clip model config JSON
    p.add_argument("--paths", type=int, default=256, help="number of strokes (default 256)")
    p.add_argument("--max-segments", type=int, default=3, help="cubic segments per stroke, 1..N (default 3)")
    p.add_argument("--size", type=int, default=224, help="canvas size in pixels (default 224)")
    p.add_argument("--iters", type=int, default=500, help="optimisation steps (default 500)")
    p.add_argument("--views", type=int, default=4, help="augmented views of each render (default 4)")
    p.add_argument("--lr-scale", type=float, default=1.0, help="multiplies CLIPDraw's Adam step sizes")
    p.add_argument("--max-width", type=float, default=50.0, help="largest half stroke width in pixels")
    p.add_argument("--negative", action="append", default=[], metavar="PROMPT",
                   help="negative prompt (repeatable), e.g. 'a badly drawn sketch'")
    p.add_argument("--negative-weight", type=float, default=0.3, help="weight of the negative prompts")
    p.add_argument("--style", metavar="IMAGE", help="style image: adds the style loss")
    p.add_argument("--style-weight", type=float, default=1.0, help="weight of the style loss (default 1)")
    p.add_argument("--samples", type=int, default=2, help="render samples per pixel side during optimisation")
    p.add_argument("--frames", help="folder for intermediate PNGs")
    p.add_argument("--frame-every", type=int, default=10, help="iterations between frames (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="cpu, cuda[:N] or auto (default)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    args = p.parse_args(argv)
    for name in ("paths", "max_segments", "size", "views", "samples", "frame_every"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.iters < 0:
        p.error(f"--iters must be >= 0, got {args.iters}")
    return args


def run(args):
    import torch
    from tqdm import tqdm

    import pydiffvg
    from pydiffvg.apps import clipdraw
    from pydiffvg.cli import CLIError, load_image, resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    out_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(out_dir):
        raise CLIError(f"{args.output}: folder {out_dir} does not exist")
    if args.model_config:
        if not os.path.isfile(args.model_config):
            raise CLIError(f"--model-config {args.model_config}: no such file")
        clipdraw.import_open_clip().add_model_config(args.model_config)

    print(f"loading CLIP {args.model} ({args.pretrained}) ...", flush=True)
    clip = clipdraw.load_clip(args.model, args.pretrained, device=device, cache_dir=args.cache_dir)
    style = load_image(args.style) if args.style else None
    generator = torch.Generator().manual_seed(args.seed)
    loss = clipdraw.ClipDrawLoss(clip, args.prompt, negative_prompts=args.negative,
                                 negative_weight=args.negative_weight, style_image=style,
                                 style_weight=args.style_weight, num_views=args.views, generator=generator)
    strokes = clipdraw.init_strokes(args.paths, args.size, args.size, max_segments=args.max_segments,
                                    generator=generator, device=device)
    if args.frames:
        os.makedirs(args.frames, exist_ok=True)
    bar = tqdm(total=args.iters, desc="clipdraw", unit="it")

    def on_step(step, losses, image):
        bar.update(1)
        bar.set_postfix({"clip": f"{-losses['clip']:.3f}", **({"style": f"{losses['style']:.3f}"}
                                                             if "style" in losses else {})}, refresh=False)
        if args.frames and (step + 1) % args.frame_every == 0:
            pydiffvg.imwrite(image, os.path.join(args.frames, f"iter_{step + 1:05d}.png"), gamma=1.0)

    interrupted = False
    start = time.perf_counter()
    try:
        result = clipdraw.draw(strokes, loss, iters=args.iters, lr_scale=args.lr_scale, num_samples=args.samples,
                               seed=args.seed, max_width=args.max_width, on_step=on_step)
        timing = result.timer.summary()
    except KeyboardInterrupt:
        interrupted, timing = True, "interrupted"
    bar.close()
    seconds = time.perf_counter() - start

    with torch.no_grad():
        shapes, groups = strokes.to_scene()
        pydiffvg.save_svg(args.output, args.size, args.size, shapes, groups, background="white")
        image = clipdraw.render_strokes(strokes, num_samples=4, seed=0)
    png = os.path.splitext(args.output)[0] + ".png"
    pydiffvg.imwrite(image, png, gamma=1.0)
    print(f"{args.paths} strokes, {bar.n} iterations in {seconds:.1f} s ({timing}); wrote {args.output} and {png}")
    return 130 if interrupted else 0


def main(argv=None):
    args = parse_args(argv)
    from pydiffvg.apps import clipdraw
    from pydiffvg.cli import CLIError
    try:
        return run(args)
    except (clipdraw.WeightsNotFoundError, clipdraw.OpenClipMissingError, CLIError) as exc:
        if args.debug:
            raise
        sys.stderr.write(f"clipdraw.py: error: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
