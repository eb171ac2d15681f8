"""The ``pydiffvg`` command: render SVGs, fit SVGs to images, painterly rendering, vectorisation.

    pydiffvg paint -o astronaut.svg                  # paints skimage's astronaut
    pydiffvg render drawing.svg -o drawing.png
    pydiffvg optimize drawing.svg photo.png -o fitted.svg
    pydiffvg vectorize photo.png -o photo.svg --paths 256

Every subcommand takes ``--device cpu|cuda|auto``, ``--seed`` and ``--debug``
(show tracebacks). Progress goes to stderr; the one-line summary of each fit,
naming every file it wrote, goes to stdout. Failures exit non-zero with one
line on stderr and leave no output file behind (outputs are checked for
writability before any work and written whole or not at all). Ctrl-C during
a fit writes the best SVG so far and exits with status 130.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time
import warnings

import torch

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
EXIT_INTERRUPTED = 130
#: Target images: each side at least this many pixels (the losses compare
#: neighbourhoods, and a fit to fewer pixels says nothing about the shapes).
MIN_IMAGE_SIDE = 4
#: Largest image read, in pixels, checked from the file's header before it is
#: decoded (a 30000 x 30000 PNG would need 2.7 GB as bytes, 11 GB as floats).
MAX_IMAGE_PIXELS = 8192 * 8192
#: Largest target ``optimize`` fits at full size (it renders, and keeps
#: gradients, at the target's resolution: about 1 GB of buffers at this size).
MAX_FIT_PIXELS = 4096 * 4096


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
_non_negative_float = _bounded_number(float, lambda n: 0 <= n < float("inf"), "a number >= 0")


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


def _shard(value: str):
    parts = value.split("/")
    try:
        index, count = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N with 0 <= K < N, got {value!r}") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"expected K/N with 0 <= K < N, got {value!r}")
    return index, count


def _add_shard_option(parser):
    parser.add_argument("--shard", type=_shard, default=None, metavar="K/N",
                        help="with several targets, fit only those whose position in the sorted list is K "
                             "modulo N (0-based), so that N processes share a batch and write each output once; "
                             "default: under torchrun, RANK/WORLD_SIZE, otherwise all")


def _add_common(parser):
    parser.add_argument("--device", type=_device, default="auto",
                        help="cpu, cuda[:N] or auto (cuda when available); default auto")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")


def _add_fit_options(parser, iters, what_default, min_width):
    from .optim import DEFAULT_STEPS, LOSSES, SCHEDULES
    parser.add_argument("--iters", type=_non_negative_int, default=iters,
                        help=f"optimisation steps (default {iters})")
    parser.add_argument("--lr", type=_positive_float, default=1.0,
                        help="multiplier of every step size below (default 1)")
    if what_default is not None:  # optimize: its own step sizes; paint's grow with the image
        steps = parser.add_argument_group("step sizes (Adam's first steps are about this large)")
        steps.add_argument("--point-step", type=_positive_float, default=DEFAULT_STEPS["points"], metavar="PX",
                           help=f"points, centres, radii, corners, gradient geometry, in output pixels "
                                f"(default {DEFAULT_STEPS['points']})")
        steps.add_argument("--color-step", type=_positive_float, default=DEFAULT_STEPS["colors"], metavar="V",
                           help=f"RGBA channels in [0, 1] (default {DEFAULT_STEPS['colors']})")
        steps.add_argument("--width-step", type=_positive_float, default=2 * DEFAULT_STEPS["widths"], metavar="PX",
                           help=f"stroke-width, in output pixels (default {2 * DEFAULT_STEPS['widths']})")
        steps.add_argument("--stop-step", type=_positive_float, default=DEFAULT_STEPS["stops"], metavar="V",
                           help=f"gradient stop colours and offsets (default {DEFAULT_STEPS['stops']})")
    parser.add_argument("--schedule", choices=SCHEDULES, default="cosine",
                        help="step-size schedule: cosine (a short warm-up, then down to a tenth at the last "
                             "step; the default) or constant")
    parser.add_argument("--min-width", type=_non_negative_float, default=min_width, metavar="PX",
                        help=f"smallest stroke-width after each step, in output pixels (default {min_width:g}"
                             + (": only negative widths are clamped" if min_width == 0 else "") + ")")
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
    render.add_argument("--strict", action="store_true",
                        help="fail on SVG errors that browsers recover from (bad path data, negative sizes, "
                             "use cycles); by default they warn and the rest is drawn")
    _add_common(render)

    optimize = sub.add_parser(
        "optimize", help="fit an SVG to images, keeping its structure",
        description="Fit the parameters of IN.svg to each target image, keeping its shapes and groups. "
                    "The SVG written is the best step, judged against the input by one render of each with "
                    "the same samples: never worse than IN.svg (then step 0, the input itself). Only invalid "
                    "values are clamped (negative widths, colours outside [0, 1]) unless --min-width says "
                    "otherwise. With several targets (or a folder), OUT is a folder that receives one SVG "
                    "per target.")
    optimize.add_argument("svg", metavar="IN.svg")
    optimize.add_argument("targets", nargs="+", metavar="TARGET", help="image files or folders of images")
    optimize.add_argument("-o", "--output", required=True, metavar="OUT.svg|DIR")
    optimize.add_argument("--background", type=_fit_background, default=(1.0, 1.0, 1.0),
                          help="colour the render is composited over for the loss (white, black, mean, "
                               "#rrggbb; default white); transparent targets are composited over it too")
    optimize.add_argument("--strict", action="store_true",
                          help="fail on SVG errors that browsers recover from (see render --strict)")
    _add_fit_options(optimize, iters=100, what_default=["points", "colors", "widths", "stops"], min_width=0.0)
    _add_shard_option(optimize)
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
    _add_fit_options(paint, iters=100, what_default=None, min_width=1.0)
    _add_shard_option(paint)
    _add_common(paint)

    vectorize = sub.add_parser(
        "vectorize", help="image to layered SVG of filled paths, by optimisation (LIVE)",
        description="Vectorise each image into filled closed cubic paths, added in stages where the error is "
                    "largest (1, 2, 4, ... paths per stage) and fitted by gradient descent, as LIVE does (Ma et al., "
                    "CVPR 2022). Without a target, vectorises scikit-image's astronaut photo. Writes OUT.svg; "
                    "with several targets (or a folder), OUT is a folder that receives one SVG per target.")
    vectorize.add_argument("targets", nargs="*", metavar="PHOTO", help="image files or folders of images")
    vectorize.add_argument("-o", "--output", metavar="OUT.svg|DIR",
                           help="output SVG (default NAME.svg in the current folder); a folder with several targets")
    vectorize.add_argument("--paths", type=_positive_int, default=128, help="number of paths (default 128)")
    vectorize.add_argument("--stages", type=_positive_int, default=None,
                           help="stages that add the paths, doubling in number (default: floor(log2(paths)) + 1)")
    vectorize.add_argument("--iters", type=_non_negative_int, default=40,
                           help="optimisation steps per stage, on its new paths (default 40)")
    vectorize.add_argument("--refine-iters", type=_non_negative_int, default=40,
                           help="steps of the final fit of all paths together (default 40)")
    vectorize.add_argument("--segments", type=_bounded_number(int, lambda n: n >= 2, "an integer >= 2"), default=4,
                           help="cubic segments per path (default 4)")
    vectorize.add_argument("--size", type=_positive_int, default=128,
                           help="resize each target so that its longer side is this many pixels; the SVG has "
                                "that size (default 128)")
    vectorize.add_argument("--background", type=_fit_background, default="mean",
                           help="canvas colour under the paths: mean (the target's mean colour; default), white, "
                                "black or #rrggbb; written into the SVG")
    vectorize.add_argument("--samples", type=_positive_int, default=2,
                           help="samples per pixel per axis while fitting (default 2)")
    vectorize.add_argument("--simplify", action="store_true",
                           help="after fitting, drop the paths whose removal lowers the PSNR by less than "
                                "--simplify-db, then fit the rest again")
    vectorize.add_argument("--simplify-db", type=_non_negative_float, default=0.01, metavar="DB",
                           help="threshold of --simplify, in dB of PSNR (default 0.01)")
    vectorize.add_argument("--video", metavar="FILE.mp4|FILE.gif",
                           help="write the optimisation as a video (mp4 needs imageio-ffmpeg)")
    vectorize.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_shard_option(vectorize)
    _add_common(vectorize)
    return parser


# ----------------------------------------------------------------------------- helpers

def _local_cuda(name: str) -> str:
    """'cuda' under torchrun (LOCAL_RANK set) -> this process's own GPU."""
    local_rank = os.environ.get("LOCAL_RANK", "")
    if name == "cuda" and local_rank.isdigit() and torch.cuda.device_count() > 0:
        return f"cuda:{int(local_rank) % torch.cuda.device_count()}"
    return name


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when torch sees a GPU and pydiffvg was built with CUDA;
    under torchrun, 'auto' and 'cuda' mean the GPU of this LOCAL_RANK."""
    from . import _core
    cuda_ok = torch.cuda.is_available() and _core.built_with_cuda()
    if name == "auto":
        return torch.device(_local_cuda("cuda") if cuda_ok else "cpu")
    name = _local_cuda(name)
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


def _image_size(file: pathlib.Path):
    """(width, height) from the image's header, without decoding it; None
    when Pillow does not know the format (imageio may still read it)."""
    try:
        from PIL import Image
    except ImportError:
        return None
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # only the header is read; the size check is ours (MAX_IMAGE_PIXELS)
    try:
        with Image.open(file) as image:
            return image.size
    except Exception:  # not an image Pillow knows; imageio decides below
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def load_image(path, background=(1.0, 1.0, 1.0), max_pixels: int = MAX_IMAGE_PIXELS) -> torch.Tensor:
    """Reads an image file as float (H, W, 3) in [0, 1] (its stored sRGB
    values). Transparent images are composited over ``background`` (RGB, or
    'mean': the mean colour of the opaque pixels). Images with a side under
    ``MIN_IMAGE_SIDE`` or more than ``max_pixels`` pixels are refused, the
    latter before decoding."""
    try:
        import imageio.v3 as iio
    except ImportError:
        raise CLIError("reading images needs imageio: pip install imageio") from None
    file = _check_file(path, "image")
    size = _image_size(file)
    if size is not None:
        _check_image_size(path, *size, max_pixels)
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
    _check_image_size(path, array.shape[1], array.shape[0], max_pixels)
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


def _check_image_size(path, width, height, max_pixels):
    if min(width, height) < MIN_IMAGE_SIDE:
        raise CLIError(f"{path}: image is {width}x{height} pixels; targets need at least "
                       f"{MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE}")
    if width * height > max_pixels:
        raise CLIError(f"{path}: image is {width}x{height} pixels, more than the limit of {max_pixels:,} "
                       f"pixels; resize it first")


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


def shard_of_process(explicit=None):
    """(K, N): this process fits the targets at positions K, K + N, ...
    ``--shard`` wins; under torchrun (or any launcher that sets RANK and
    WORLD_SIZE) the rank and world size; otherwise (0, 1), all of them."""
    if explicit is not None:
        return explicit
    try:
        rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise CLIError(f"RANK={os.environ.get('RANK')!r} and WORLD_SIZE={os.environ.get('WORLD_SIZE')!r} "
                       f"must be integers") from None
    if not 0 <= rank < world:
        raise CLIError(f"RANK={rank} must be in [0, WORLD_SIZE={world})")
    return rank, world


def _take_shard(shard, *lists):
    """Every list cut to this process's positions (the same ones in each)."""
    index, count = shard
    return [items[index::count] for items in lists]


def _check_writable(path: pathlib.Path):
    """Fails now, before any work, if ``path`` could not be written later:
    its folder is missing or read-only, or the file itself is read-only or a
    folder. Outputs are then written whole (a temporary file, renamed)."""
    parent = path.absolute().parent
    if not parent.is_dir():
        raise CLIError(f"{path}: folder {parent} does not exist")
    if path.is_dir():
        raise CLIError(f"{path}: is a folder, not a file")
    if path.exists() and not os.access(path, os.W_OK):
        raise CLIError(f"{path}: file is read-only")
    try:  # the folder's permissions, a read-only file system, quotas: only a real write tells
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".pydiffvg-write-check-"):
            pass
    except OSError as exc:
        raise CLIError(f"{path}: cannot write in folder {parent} ({exc.strerror or exc})") from None


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


def _summary(command, files, result, loss_name):
    """The closing line of a fit: every file written, then the chosen step."""
    status = " (interrupted)" if result.interrupted else ""
    per_step = result.seconds / result.iterations if result.iterations else 0.0
    chosen = f"step {result.best_step} of {result.iterations}" + (
        " (the input: no step beat it)" if result.best_step == 0 and result.iterations else "")
    print(f"pydiffvg {command}: wrote {', '.join(str(f) for f in files)}: best {chosen}, "
          f"loss {result.loss:.6f} ({loss_name}), PSNR {result.psnr:.2f} dB (input {result.initial_psnr:.2f} dB); "
          f"{result.iterations} iterations in {result.seconds:.1f} s ({per_step:.3f} s/it){status}", flush=True)


# ----------------------------------------------------------------------------- subcommands

def _load_svg(path, strict=False):
    """The SVG's scene. Errors browsers recover from (bad path data, negative
    sizes, use cycles) warn once per kind and the rest renders, unless
    ``strict`` (--strict), which makes them errors."""
    from .svg import SVGError, svg_to_scene
    _check_file(path, "SVG")
    try:
        width, height, shapes, groups = svg_to_scene(str(path), strict=strict)
    except SVGError as exc:
        raise CLIError(f"{path}: not a valid SVG ({_first_line(exc)})") from None
    except UnicodeDecodeError:
        raise CLIError(f"{path}: not a valid SVG (not text)") from None
    return width, height, shapes, groups


def _straight_alpha(premultiplied: torch.Tensor) -> torch.Tensor:
    """Premultiplied RGBA -> the straight alpha a PNG stores. A pixel half
    covered by opaque red is (1, 0, 0, 0.5), which any viewer composites
    correctly; diffvg's default average of un-premultiplied samples would
    give (0.5, 0, 0, 0.5), a dark fringe at every edge over transparency."""
    alpha = premultiplied[..., 3:4]
    rgb = torch.where(alpha > 0, premultiplied[..., :3] / alpha.clamp(min=1e-12), torch.zeros_like(alpha))
    return torch.cat([rgb.clamp(0, 1), alpha], dim=-1)


def command_render(args) -> int:
    from .compat import imwrite
    from .optim import scene_to
    from .render import render
    device = resolve_device(args.device)
    canvas_w, canvas_h, shapes, groups = _load_svg(args.svg, args.strict)
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
                       use_prefiltering=args.prefilter, device=device, premultiplied=True)
    if args.background is not None:
        image = image[..., :3]
    else:
        image = _straight_alpha(image)
    imwrite(image, str(out), gamma=1.0)
    sys.stderr.write(f"pydiffvg render: wrote {out} ({width}x{height}, {len(shapes)} shapes, "
                     f"{time.perf_counter() - start:.2f} s)\n")
    return 0


def command_optimize(args) -> int:
    from .svg import save_svg
    from .optim import fit
    device = resolve_device(args.device)
    _load_svg(args.svg, args.strict)  # fail early on a bad SVG
    targets = _expand_targets(args.targets)
    _check_header_sizes(targets, MAX_FIT_PIXELS)
    outputs = _output_paths(args.output, [str(t) for t in targets], None)
    several = len(outputs) > 1
    targets, outputs = _take_shard(shard_of_process(args.shard), targets, outputs)
    for out in outputs:
        _check_writable(out)
    videos = [_video_path(args.video, out, several) for out in outputs]
    steps = {"points": args.point_step, "colors": args.color_step, "widths": args.width_step / 2.0,
             "stops": args.stop_step}
    for target_path, out, video in zip(targets, outputs, videos):
        canvas_w, canvas_h, shapes, groups = _load_svg(args.svg, args.strict)
        target = load_image(target_path, args.background, MAX_FIT_PIXELS).to(device)
        progress = _Progress(args.iters, f"optimize {target_path.name}", args.quiet)
        try:
            result = fit(shapes, groups, target, iters=args.iters, lr=args.lr, lr_per_kind=steps,
                         schedule=args.schedule, loss=args.loss, what=args.what, min_width=args.min_width / 2.0,
                         background=args.background, num_samples=args.samples, seed=args.seed, device=device,
                         callback=progress, save_every=args.save_every,
                         frame_callback=_frame_writer(out) if args.save_every else None, video=video,
                         video_every=args.save_every or max(1, args.iters // 200),
                         canvas_size=(canvas_w, canvas_h))
        finally:
            progress.close()
        save_svg(str(out), canvas_w, canvas_h, result.shapes, result.groups)
        _summary("optimize", [out], result, args.loss)
        if result.interrupted:
            sys.stderr.write(f"pydiffvg optimize: interrupted; wrote the best SVG so far to {out}\n")
            return EXIT_INTERRUPTED
    return 0


def _check_header_sizes(targets, max_pixels):
    """Every target's size, from its header, before the first fit."""
    for target_path in targets:
        size = _image_size(target_path)
        if size is not None:
            _check_image_size(target_path, *size, max_pixels)


def _photo_jobs(args, also_png=False):
    """paint's and vectorize's (targets, names, outputs, videos) for this
    process's shard, every target's size checked from its header and every
    output (and its .png with ``also_png``) checked writable before the
    first fit. Without targets: the built-in photo (target None)."""
    if args.targets:
        targets = _expand_targets(args.targets)
        _check_header_sizes(targets, MAX_IMAGE_PIXELS)
        names = [str(t) for t in targets]
    else:
        targets, names = [None], ["astronaut.png"]
    outputs = _output_paths(args.output, names, pathlib.Path(names[0]).stem + ".svg")
    several = len(outputs) > 1
    targets, names, outputs = _take_shard(shard_of_process(args.shard), targets, names, outputs)
    for out in outputs:
        _check_writable(out)
        if also_png:
            _check_writable(out.with_suffix(".png"))
    videos = [_video_path(args.video, out, several) for out in outputs]
    return targets, names, outputs, videos


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
    targets, names, outputs, videos = _photo_jobs(args, also_png=True)
    if args.min_width > args.max_width:
        raise CLIError(f"--min-width {args.min_width:g} is larger than --max-width {args.max_width:g}")
    closed = bool(args.closed)
    for target_path, name, out, video in zip(targets, names, outputs, videos):
        image = _default_photo() if target_path is None else load_image(target_path, args.background)
        target = resize_longest(image, args.size).to(device)
        height, width = target.shape[:2]
        progress = _Progress(args.iters, f"paint {pathlib.Path(name).name}", args.quiet)
        try:
            result = paint(target, args.paths, num_segments=args.segments, closed=closed, iters=args.iters,
                           min_width=args.min_width / 2.0, max_width=args.max_width / 2.0,
                           background=args.background, stages=args.stages, schedule=args.schedule,
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
                                     seed=args.seed, premultiplied=True), background, premultiplied=True)
        imwrite(final, str(out.with_suffix(".png")), gamma=1.0)
        _summary("paint", [out, out.with_suffix(".png")], result, args.loss)
        if result.interrupted:
            sys.stderr.write(f"pydiffvg paint: interrupted; wrote the best SVG so far to {out}\n")
            return EXIT_INTERRUPTED
    return 0


def command_vectorize(args) -> int:
    from .apps.vectorize import path_schedule, simplify, vectorize
    from .svg import save_svg
    device = resolve_device(args.device)
    targets, names, outputs, videos = _photo_jobs(args)
    schedule = path_schedule(args.paths, args.stages)
    total_steps = len(schedule) * args.iters + args.refine_iters
    for target_path, name, out, video in zip(targets, names, outputs, videos):
        image = _default_photo() if target_path is None else load_image(target_path, args.background)
        target = resize_longest(image, args.size).to(device)
        height, width = target.shape[:2]
        progress = _Progress(total_steps, f"vectorize {pathlib.Path(name).name}", args.quiet)
        try:
            result = vectorize(target, args.paths, stages=args.stages, iters=args.iters,
                               refine_iters=args.refine_iters, num_segments=args.segments,
                               background=args.background, num_samples=args.samples, seed=args.seed,
                               callback=progress, video=video, video_every=max(1, total_steps // 200))
        finally:
            progress.close()
        simplified = ""
        if args.simplify and not result.interrupted:
            before_psnr = result.psnr
            progress = _Progress(args.refine_iters, f"simplify {pathlib.Path(name).name}", args.quiet)
            try:
                result = simplify(result, target, threshold_db=args.simplify_db, refit_iters=args.refine_iters,
                                  num_samples=args.samples, seed=args.seed, callback=progress)
            finally:
                progress.close()
            simplified = (f"; --simplify {args.simplify_db:g} dB: {result.paths_before} -> {len(result.shapes)} "
                          f"paths, PSNR {before_psnr:.2f} -> {result.psnr:.2f} dB")
        save_svg(str(out), width, height, result.shapes, result.groups,
                 background=result.background.tolist() + [1.0])
        status = " (interrupted)" if result.interrupted else ""
        print(f"pydiffvg vectorize: wrote {out}: {len(result.shapes)} paths in {len(schedule)} stages "
              f"at {width}x{height}, MSE {result.loss:.6f}, PSNR {result.psnr:.2f} dB{simplified}; "
              f"{result.iterations} iterations in {result.seconds:.1f} s{status}", flush=True)
        if result.interrupted:
            sys.stderr.write(f"pydiffvg vectorize: interrupted; wrote the paths so far to {out}\n")
            return EXIT_INTERRUPTED
    return 0


COMMANDS = {"render": command_render, "optimize": command_optimize, "paint": command_paint,
            "vectorize": command_vectorize}


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
