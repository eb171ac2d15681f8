"""The ``pydiffvg`` command: render SVGs, fit SVGs to images, painterly rendering.

    pydiffvg paint -o astronaut.svg                  # paints skimage's astronaut
    pydiffvg render drawing.svg -o drawing.png
    pydiffvg optimize drawing.svg photo.png -o fitted.svg

Every subcommand takes ``--device cpu|cuda|auto``, ``--seed`` and ``--debug``
(show tracebacks). Progress goes to stderr; the one-line summary of each fit
goes to stdout. Failures exit non-zero with one line on stderr. Ctrl-C during
a fit writes the best SVG so far and exits with status 130.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time
import warnings

import torch

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (argparse prints the usage block too)."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(2)


# ----------------------------------------------------------------------------- option parsing

def _device(value: str) -> str:
    value = value.strip().lower()
    if value in ("cpu", "cuda", "auto") or (value.startswith("cuda:") and value[5:].isdigit()):
        return value
    raise argparse.ArgumentTypeError(f"expected cpu, cuda, cuda:N or auto, got {value!r}")


def _bounded_number(parse, accept, description):
    """An argparse type: ``parse`` the text, then require ``accept(number)``;
    both failures give the same message naming what was expected."""
    def convert(value: str):
        try:
            number = parse(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {description}, got {value!r}") from None
        if not accept(number):
            raise argparse.ArgumentTypeError(f"expected {description}, got {value!r}")
        return number
    return convert


_positive_int = _bounded_number(int, lambda n: n >= 1, "a positive integer")
_non_negative_int = _bounded_number(int, lambda n: n >= 0, "an integer >= 0")
_positive_float = _bounded_number(float, lambda n: n > 0 and n != float("inf"), "a positive number")


def _hex_color(text: str):
    digits = text[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    if len(digits) != 6 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise argparse.ArgumentTypeError(f"expected #rrggbb, got {text!r}")
    return tuple(int(digits[i:i + 2], 16) / 255.0 for i in (0, 2, 4))


def _render_background(value: str):
    if value in ("none", "transparent"):
        return None
    if value == "white":
        return (1.0, 1.0, 1.0)
    if value == "black":
        return (0.0, 0.0, 0.0)
    if value.startswith("#"):
        return _hex_color(value)
    raise argparse.ArgumentTypeError(f"expected white, black, none or #rrggbb, got {value!r}")


def _fit_background(value: str):
    if value == "mean":
        return "mean"
    background = _render_background(value)
    if background is None:
        raise argparse.ArgumentTypeError("a fit needs an opaque background: white, black, mean or #rrggbb")
    return background


def _what(value: str):
    from .optim import PARAMETER_KINDS
    kinds = [part.strip() for part in value.split(",") if part.strip()]
    aliases = {"colours": "colors", "color": "colors", "colour": "colors", "point": "points",
               "width": "widths", "stop": "stops"}
    kinds = [aliases.get(k, k) for k in kinds]
    bad = [k for k in kinds if k not in PARAMETER_KINDS]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {','.join(PARAMETER_KINDS)}, "
                                         f"got {value!r}")
    return kinds


def _add_common(parser):
    parser.add_argument("--device", type=_device, default="auto",
                        help="cpu, cuda[:N] or auto (cuda when available); default auto")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")


def _add_fit_options(parser, iters, what_default):
    from .optim import LOSSES
    parser.add_argument("--iters", type=_non_negative_int, default=iters,
                        help=f"optimisation steps (default {iters})")
    parser.add_argument("--lr", type=_positive_float, default=1.0,
                        help="multiplier of the step sizes (points 1 px per step at 256 px, colours 0.01, "
                             "widths 0.1); default 1")
    parser.add_argument("--loss", choices=LOSSES, default="l2", help="image loss (default l2)")
    parser.add_argument("--samples", type=_positive_int, default=2,
                        help="samples per pixel per axis while fitting (default 2)")
    parser.add_argument("--save-every", type=_non_negative_int, default=0, metavar="K",
                        help="write a PNG frame every K steps into OUT_frames/ (and use K as the video "
                             "frame interval)")
    parser.add_argument("--video", metavar="FILE.mp4|FILE.gif",
                        help="write the optimisation as a video (mp4 needs imageio-ffmpeg)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    if what_default is not None:
        parser.add_argument("--what", type=_what, default=what_default,
                            help=f"parameters to optimise, comma-separated (default {','.join(what_default)})")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pydiffvg", description="Differentiable vector graphics from the command line.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    render = sub.add_parser("render", help="render an SVG to a PNG",
                            description="Render an SVG to an sRGB 8-bit PNG.")
    render.add_argument("svg", metavar="IN.svg")
    render.add_argument("-o", "--output", required=True, metavar="OUT.png")
    render.add_argument("--width", type=_positive_int, help="output width in pixels (default: the SVG's)")
    render.add_argument("--height", type=_positive_int, help="output height in pixels (default: the SVG's)")
    render.add_argument("--samples", type=_positive_int, default=None,
                        help="samples per pixel per axis (default 4, 1 with --prefilter)")
    render.add_argument("--prefilter", action="store_true", help="anti-alias analytically from the distance")
    render.add_argument("--background", type=_render_background, default=None,
                        help="white, black, none (transparent; the default) or #rrggbb")
    _add_common(render)

    optimize = sub.add_parser(
        "optimize", help="fit an SVG to images, keeping its structure",
        description="Fit the parameters of IN.svg to each target image, keeping its shapes and groups. "
                    "With several targets (or a folder), OUT is a folder that receives one SVG per target.")
    optimize.add_argument("svg", metavar="IN.svg")
    optimize.add_argument("targets", nargs="+", metavar="TARGET", help="image files or folders of images")
    optimize.add_argument("-o", "--output", required=True, metavar="OUT.svg|DIR")
    optimize.add_argument("--background", type=_fit_background, default=(1.0, 1.0, 1.0),
                          help="colour the render is composited over for the loss (white, black, mean, "
                               "#rrggbb; default white); transparent targets are composited over it too")
    _add_fit_options(optimize, iters=100, what_default=["points", "colors", "widths", "stops"])
    _add_common(optimize)

    paint = sub.add_parser(
        "paint", help="painterly rendering: approximate images with random strokes",
        description="Approximate each target with random Bezier paths fitted by gradient descent (writes "
                    "OUT.svg and OUT.png). Without a target, paints scikit-image's astronaut photo.")
    paint.add_argument("targets", nargs="*", metavar="TARGET", help="image files or folders of images")
    paint.add_argument("-o", "--output", metavar="OUT.svg|DIR",
                       help="output SVG (default NAME.svg in the current folder); a folder with several targets")
    paint.add_argument("--paths", type=_positive_int, default=128, help="number of paths (default 128)")
    paint.add_argument("--segments", type=_positive_int, default=4, help="cubic segments per path (default 4)")
    shape = paint.add_mutually_exclusive_group()
    shape.add_argument("--closed", action="store_true", help="closed filled blobs")
    shape.add_argument("--strokes", action="store_true", help="open strokes (the default)")
    paint.add_argument("--max-width", type=_positive_float, default=4.0,
                       help="largest stroke width in pixels, SVG stroke-width (default 4)")
    paint.add_argument("--size", type=_positive_int, default=128,
                       help="resize each target so that its longer side is this many pixels (default 128)")
    paint.add_argument("--stages", type=_positive_int, default=1,
                       help="add the paths in this many rounds, each placed where the error is largest "
                            "(default 1)")
    paint.add_argument("--background", type=_fit_background, default="mean",
                       help="canvas colour under the paths: mean (the target's mean colour; default), white, "
                            "black or #rrggbb; written into the SVG")
    _add_fit_options(paint, iters=100, what_default=None)
    _add_common(paint)
    return parser


# ----------------------------------------------------------------------------- helpers

def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when torch sees a GPU and pydiffvg was built with CUDA."""
    from . import _core
    cuda_ok = torch.cuda.is_available() and _core.built_with_cuda()
    if name == "auto":
        return torch.device("cuda" if cuda_ok else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise CLIError(f"--device {name}: no CUDA device is available to torch")
        if not _core.built_with_cuda():
            raise CLIError(f"--device {name}: this pydiffvg build has no CUDA support (rebuild with "
                           f"PYDIFFVG_CUDA=1)")
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise CLIError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) present")
        return device
    return torch.device("cpu")


def _check_file(path: str, what: str) -> pathlib.Path:
    file = pathlib.Path(path)
    if not file.exists():
        raise CLIError(f"{path}: no such file")
    if not file.is_file():
        raise CLIError(f"{path}: not a {what} file")
    return file


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def load_image(path, background=(1.0, 1.0, 1.0)) -> torch.Tensor:
    """Reads an image file as float (H, W, 3) in [0, 1] (its stored sRGB
    values). Transparent images are composited over ``background`` (RGB, or
    'mean': the mean colour of the opaque pixels)."""
    try:
        import imageio.v3 as iio
    except ImportError:
        raise CLIError("reading images needs imageio: pip install imageio") from None
    file = _check_file(path, "image")
    try:
        data = iio.imread(file)
    except Exception as exc:  # imageio raises many kinds for non-images
        raise CLIError(f"{path}: not a readable image ({_first_line(exc)})") from None
    array = torch.as_tensor(data.copy() if hasattr(data, "copy") else data)
    if array.dim() == 4:  # animated: first frame
        array = array[0]
    if array.dim() == 2:
        array = array[:, :, None]
    if array.dim() != 3 or array.shape[2] not in (1, 2, 3, 4) or min(array.shape[:2]) < 1:
        raise CLIError(f"{path}: not a readable image (unexpected shape {tuple(array.shape)})")
    if array.dtype == torch.uint8:
        image = array.float() / 255.0
    elif array.dtype in (torch.int16, torch.int32) or str(array.dtype) == "torch.uint16":
        image = array.float() / 65535.0
    else:
        image = array.float().clamp(0, 1)
    channels = image.shape[2]
    alpha = None
    if channels in (2, 4):
        alpha = image[..., -1:]
        image = image[..., :-1]
    if image.shape[2] == 1:
        image = image.expand(-1, -1, 3)
    if alpha is not None:
        if isinstance(background, str):
            weight = alpha.sum().clamp(min=1e-6)
            bg = (image * alpha).reshape(-1, 3).sum(0) / weight
        else:
            bg = torch.tensor(background, dtype=torch.float32)
        image = image * alpha + bg * (1.0 - alpha)
    return image.contiguous()


def resize_longest(image: torch.Tensor, size: int) -> torch.Tensor:
    """Resizes (H, W, 3) so that max(H, W) == size (area filter when shrinking)."""
    import torch.nn.functional as F
    h, w = image.shape[:2]
    scale = size / max(h, w)
    if scale == 1.0:
        return image
    new_size = (max(1, round(h * scale)), max(1, round(w * scale)))
    mode = {"mode": "area"} if scale < 1 else {"mode": "bilinear", "align_corners": False}
    return F.interpolate(image.permute(2, 0, 1)[None], size=new_size, **mode)[0].permute(1, 2, 0).contiguous()


def _expand_targets(items):
    files = []
    for item in items:
        path = pathlib.Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise CLIError(f"{item}: folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
            files += found
        else:
            _check_file(item, "image")
            files.append(path)
    return files


def _output_paths(output, names, default_name):
    """One output SVG path per target name: ``output`` is a file for one
    target, a folder (created) for several."""
    if len(names) == 1 and output is not None and not output.endswith(os.sep) and not os.path.isdir(output):
        if not output.lower().endswith(".svg"):
            raise CLIError(f"-o {output}: the output must end in .svg (or be a folder)")
        return [pathlib.Path(output)]
    if output is None:
        if len(names) == 1:
            return [pathlib.Path(default_name)]
        raise CLIError("several targets need -o DIR (a folder for the SVGs)")
    if output.lower().endswith(".svg"):
        raise CLIError(f"-o {output}: with {len(names)} targets, -o must name a folder")
    folder = pathlib.Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    stems = {}
    paths = []
    for name in names:
        stem = pathlib.Path(name).stem
        stems[stem] = stems.get(stem, 0) + 1
        paths.append(folder / (stem + (f"_{stems[stem]}" if stems[stem] > 1 else "") + ".svg"))
    return paths


def _check_writable(path: pathlib.Path):
    parent = path.resolve().parent
    if not parent.is_dir():
        raise CLIError(f"{path}: folder {parent} does not exist")


def _video_path(video, out_svg, several):
    if not video:
        return None
    path = pathlib.Path(video)
    if path.suffix.lower() not in (".mp4", ".gif"):
        raise CLIError(f"--video {video}: must end in .mp4 or .gif")
    if path.suffix.lower() == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise CLIError("--video .mp4 needs imageio-ffmpeg: pip install imageio-ffmpeg (or use .gif)") from None
    if several:
        path = path.with_name(f"{path.stem}_{out_svg.stem}{path.suffix}")
    _check_writable(path)
    return path


class _Progress:
    """tqdm bar on stderr with loss and PSNR (plain lines without tqdm)."""

    def __init__(self, total, label, quiet):
        self.bar = None
        self.quiet = quiet
        self.label = label
        self.total = total
        self.last_print = 0.0
        if quiet:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total, desc=label, file=sys.stderr, unit="it", dynamic_ncols=True, leave=False)

    def __call__(self, step, loss, psnr, image):
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(f"loss={loss:.5f} psnr={psnr:.2f}dB", refresh=False)
        elif not self.quiet and time.monotonic() - self.last_print > 2.0:
            self.last_print = time.monotonic()
            sys.stderr.write(f"{self.label}: step {step + 1}/{self.total} loss {loss:.5f} psnr {psnr:.2f} dB\n")
        return False

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _frame_writer(out_svg: pathlib.Path):
    from .compat import imwrite
    folder = out_svg.with_name(out_svg.stem + "_frames")

    def write(step, image):
        folder.mkdir(parents=True, exist_ok=True)
        imwrite(image, str(folder / f"iter_{step:05d}.png"), gamma=1.0)
    return write


def _summary(command, out, result, loss_name):
    status = " (interrupted)" if result.interrupted else ""
    per_step = result.seconds / result.iterations if result.iterations else 0.0
    print(f"pydiffvg {command}: {out}: {result.iterations} iterations in {result.seconds:.1f} s "
          f"({per_step:.3f} s/it), loss {result.loss:.6f} ({loss_name}), PSNR {result.psnr:.2f} dB{status}",
          flush=True)


# ----------------------------------------------------------------------------- subcommands

def _load_svg(path):
    from .svg import SVGError, svg_to_scene
    _check_file(path, "SVG")
    try:
        width, height, shapes, groups = svg_to_scene(str(path))
    except SVGError as exc:
        raise CLIError(f"{path}: not a valid SVG ({_first_line(exc)})") from None
    except UnicodeDecodeError:
        raise CLIError(f"{path}: not a valid SVG (not text)") from None
    return width, height, shapes, groups


def command_render(args) -> int:
    from .compat import imwrite
    from .optim import scene_to
    from .render import render
    device = resolve_device(args.device)
    canvas_w, canvas_h, shapes, groups = _load_svg(args.svg)
    out = pathlib.Path(args.output)
    if out.suffix.lower() != ".png":
        raise CLIError(f"-o {args.output}: the output must end in .png")
    _check_writable(out)
    width, height = args.width, args.height
    if width is None and height is None:
        width, height = canvas_w, canvas_h
    elif width is None:
        width = max(1, round(canvas_w * height / canvas_h))
    elif height is None:
        height = max(1, round(canvas_h * width / canvas_w))
    samples = args.samples if args.samples is not None else (1 if args.prefilter else 4)
    scene_to(shapes, groups, device)
    background = None
    if args.background is not None:
        background = torch.tensor(list(args.background) + [1.0], dtype=torch.float32, device=device)
        background = background.expand(height, width, 4).contiguous()
    start = time.perf_counter()
    with torch.no_grad():
        image = render(shapes, groups, width=width, height=height, canvas_width=canvas_w, canvas_height=canvas_h,
                       num_samples=samples, seed=args.seed, background=background,
                       use_prefiltering=args.prefilter, device=device)
    if args.background is not None:
        image = image[..., :3]
    imwrite(image, str(out), gamma=1.0)
    sys.stderr.write(f"pydiffvg render: wrote {out} ({width}x{height}, {len(shapes)} shapes, "
                     f"{time.perf_counter() - start:.2f} s)\n")
    return 0


def command_optimize(args) -> int:
    from .svg import save_svg
    from .optim import fit
    device = resolve_device(args.device)
    _load_svg(args.svg)  # fail early on a bad SVG
    targets = _expand_targets(args.targets)
    outputs = _output_paths(args.output, [str(t) for t in targets], None)
    for out in outputs:
        _check_writable(out)
    videos = [_video_path(args.video, out, len(outputs) > 1) for out in outputs]
    for target_path, out, video in zip(targets, outputs, videos):
        canvas_w, canvas_h, shapes, groups = _load_svg(args.svg)
        target = load_image(target_path, args.background).to(device)
        progress = _Progress(args.iters, f"optimize {target_path.name}", args.quiet)
        try:
            result = fit(shapes, groups, target, iters=args.iters, lr=args.lr, loss=args.loss, what=args.what,
                         background=args.background, num_samples=args.samples, seed=args.seed, device=device,
                         callback=progress, save_every=args.save_every,
                         frame_callback=_frame_writer(out) if args.save_every else None, video=video,
                         video_every=args.save_every or max(1, args.iters // 200),
                         canvas_size=(canvas_w, canvas_h))
        finally:
            progress.close()
        save_svg(str(out), canvas_w, canvas_h, result.shapes, result.groups)
        _summary("optimize", out, result, args.loss)
        if result.interrupted:
            sys.stderr.write(f"pydiffvg optimize: interrupted; wrote the best SVG so far to {out}\n")
            return EXIT_INTERRUPTED
    return 0


def _default_photo():
    try:
        import skimage.data
    except ImportError:
        raise CLIError("no target given and scikit-image is not installed (pip install scikit-image); "
                       "pass TARGET.png") from None
    return torch.as_tensor(skimage.data.astronaut().copy()).float() / 255.0


def command_paint(args) -> int:
    from .compat import imwrite
    from .optim import composite, paint
    from .render import render
    from .svg import save_svg
    device = resolve_device(args.device)
    if args.targets:
        targets = _expand_targets(args.targets)
        names = [str(t) for t in targets]
    else:
        targets, names = [None], ["astronaut.png"]
    outputs = _output_paths(args.output, names, pathlib.Path(names[0]).stem + ".svg")
    for out in outputs:
        _check_writable(out)
    videos = [_video_path(args.video, out, len(outputs) > 1) for out in outputs]
    closed = bool(args.closed)
    for target_path, name, out, video in zip(targets, names, outputs, videos):
        image = _default_photo() if target_path is None else load_image(target_path, args.background)
        target = resize_longest(image, args.size).to(device)
        height, width = target.shape[:2]
        progress = _Progress(args.iters, f"paint {pathlib.Path(name).name}", args.quiet)
        try:
            result = paint(target, args.paths, num_segments=args.segments, closed=closed, iters=args.iters,
                           max_width=args.max_width / 2.0, background=args.background, stages=args.stages,
                           seed=args.seed, loss=args.loss, lr=args.lr, num_samples=args.samples,
                           callback=progress, save_every=args.save_every,
                           frame_callback=_frame_writer(out) if args.save_every else None, video=video,
                           video_every=args.save_every or max(1, args.iters // 200), device=device)
        finally:
            progress.close()
        background = target.reshape(-1, 3).mean(0) if args.background == "mean" else \
            torch.tensor(args.background, device=device)
        rgba = background.tolist() + [1.0]
        save_svg(str(out), width, height, result.shapes, result.groups, background=rgba)
        with torch.no_grad():
            final = composite(render(result.shapes, result.groups, width=width, height=height, num_samples=4,
                                     seed=args.seed), background)
        imwrite(final, str(out.with_suffix(".png")), gamma=1.0)
        _summary("paint", out, result, args.loss)
        if result.interrupted:
            sys.stderr.write(f"pydiffvg paint: interrupted; wrote the best SVG so far to {out}\n")
            return EXIT_INTERRUPTED
    return 0


COMMANDS = {"render": command_render, "optimize": command_optimize, "paint": command_paint}


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    stream = file if file is not None else sys.stderr
    stream.write(f"pydiffvg: warning: {_first_line(message) if isinstance(message, Warning) else message}\n")


def main(argv=None) -> int:
    """Entry point of the ``pydiffvg`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    if not args.debug:
        warnings.showwarning = _one_line_warning
    try:
        return COMMANDS[args.command](args)
    except CLIError as exc:
        if args.debug:
            raise
        sys.stderr.write(f"pydiffvg {args.command}: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        if args.debug:
            raise
        sys.stderr.write(f"pydiffvg {args.command}: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:  # anything else: one line, traceback with --debug
        if args.debug:
            raise
        sys.stderr.write(f"pydiffvg {args.command}: error: {type(exc).__name__}: {_first_line(exc)} "
                         f"(run with --debug for the traceback)\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
