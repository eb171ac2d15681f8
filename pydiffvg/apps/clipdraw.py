"""CLIP-guided drawing: CLIPDraw (Frans, Soros and Witkowski 2021) and the
style loss of StyleCLIPDraw (Schaldenbrand, Liu and Oh 2022).

Random open cubic strokes (points, half stroke widths, straight RGBA colours,
sRGB values as the SVG stores them) are rendered ONCE per step over white.
The raster is then warped into several random views (perspective + resized
crop, one ``grid_sample`` each, no torchvision) and the cosine similarity
between CLIP's embedding of those views and the prompt's text embedding is
maximised with Adam.

Main entry points:

* :func:`load_clip` -- an open_clip model, tokenizer and its input
  normalisation, loaded with ``open_clip.create_model`` from a pretrained tag
  or a checkpoint path. Missing weights raise :class:`WeightsNotFoundError`
  with a one-line message; random weights only with ``allow_random=True``
  (tests, benchmarks), never silently.
* :func:`init_strokes` -> :class:`Strokes` -- CLIPDraw's random initialisation.
* :func:`random_views` -- the raster augmentations.
* :class:`ClipDrawLoss` -- the CLIP loss (with optional negative prompts) and
  the optional style loss.
* :func:`draw` -- the optimisation loop, with a per-step callback and timing
  of the renderer's share.

Style loss (a documented substitute for StyleCLIPDraw's VGG-16 loss, whose
weights are not available here): Gram matrices (Gatys et al. 2016, eq. 3)
of CLIP's OWN vision-tower features at a few intermediate blocks (by default
at 1/4, 1/2 and 3/4 of the depth), each token layer-normalised over channels
(no affine) so that the few outlier channels of CLIP ViTs do not dominate.
Per block the loss is ||G(view) - G(style)||_F^2 / ||G(style)||_F^2,
averaged over blocks and views. The target Grams are averaged over random
views of the style image. One CLIP forward pass (``forward_intermediates``)
gives both the embedding and the Grams.

torchvision: open_clip imports torchvision at package import (for its PIL
preprocessing, which we never use: we normalise with CLIP's mean and std
ourselves). When torchvision is NOT installed, :func:`import_open_clip`
registers a minimal stand-in module for the duration of ``import open_clip``
only, providing the names open_clip 3.x imports at module level; each
stand-in class raises ImportError if anything tries to use it. The stand-in
is removed from ``sys.modules`` afterwards, so other libraries never see a
fake torchvision. An installed torchvision is used untouched.
"""
from __future__ import annotations

import contextlib
import enum
import importlib
import importlib.util
import logging
import math
import os
import sys
import time
import types
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from .generative import StepTimer
from ..render import render
from ..shapes import Path, ShapeGroup

__all__ = ["WeightsNotFoundError", "OpenClipMissingError", "import_open_clip", "ClipModel", "load_clip",
           "Strokes", "init_strokes", "random_views", "homography", "gram_matrix", "ClipDrawLoss", "DrawResult",
           "draw", "render_strokes", "CLIPDRAW_LR", "INSTALL_HINT", "CLIP_INPUT_REFERENCE"]

OPEN_CLIP_VERSION = "3.3.0"
INSTALL_HINT = (f"pip install --no-deps open-clip-torch=={OPEN_CLIP_VERSION} && "
                "pip install ftfy regex tqdm huggingface_hub safetensors")
# Adam step sizes of CLIPDraw's notebook: points in pixels of a 224-pixel
# canvas (scaled with the canvas), half widths in pixels, colours absolute.
CLIPDRAW_LR = {"points": 1.0, "widths": 0.1, "colors": 0.01}
CLIP_INPUT_REFERENCE = 224.0


class WeightsNotFoundError(RuntimeError):
    """The requested CLIP weights (tag or file) are not available. The message
    is one line, fit to print as is."""


class OpenClipMissingError(ImportError):
    """open-clip-torch is not installed. The message says how to install it."""


# ----------------------------------------------------------------------------- open_clip import

def _unavailable_class(module_name: str, name: str) -> type:
    def __init__(self, *args, **kwargs):
        raise ImportError(f"{module_name}.{name} is a stand-in (torchvision is not installed); "
                          "pydiffvg.apps.clipdraw does not use open_clip's torchvision preprocessing")
    return type(name, (), {"__init__": __init__, "__module__": module_name})


class _InterpolationMode(enum.Enum):
    """torchvision.transforms.InterpolationMode's members (open_clip reads
    BICUBIC and BILINEAR in default arguments at import)."""
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


# Names open_clip 3.3 imports from torchvision at module level
# (open_clip/transform.py lines 9-11, open_clip/utils.py line 8).
_TORCHVISION_NAMES = {
    "torchvision.transforms": ("Normalize", "Compose", "RandomResizedCrop", "ToTensor", "Resize", "CenterCrop",
                               "ColorJitter", "Grayscale"),
    "torchvision.ops.misc": ("FrozenBatchNorm2d",),
}


def _stand_in_getattr(module_name: str):
    def __getattr__(attr: str):
        if attr.startswith("__"):
            raise AttributeError(f"module {module_name!r} has no attribute {attr!r}")
        return _unavailable_class(module_name, attr)
    return __getattr__


def _torchvision_stand_in() -> dict:
    """{module name: module} for a minimal torchvision. Unknown attributes of
    the stand-in modules resolve to stand-in classes too (PEP 562), so that a
    newer open_clip importing one more transform still imports."""
    modules = {}
    for name in ("torchvision", "torchvision.transforms", "torchvision.transforms.functional", "torchvision.ops",
                 "torchvision.ops.misc"):
        module = types.ModuleType(name, "pydiffvg.apps.clipdraw stand-in: torchvision is not installed")
        module.__getattr__ = _stand_in_getattr(name)
        modules[name] = module
    for module_name, names in _TORCHVISION_NAMES.items():
        for name in names:
            setattr(modules[module_name], name, _unavailable_class(module_name, name))
    modules["torchvision.transforms"].InterpolationMode = _InterpolationMode
    modules["torchvision.transforms"].functional = modules["torchvision.transforms.functional"]
    modules["torchvision"].transforms = modules["torchvision.transforms"]
    modules["torchvision"].ops = modules["torchvision.ops"]
    modules["torchvision.ops"].misc = modules["torchvision.ops.misc"]
    return modules


def import_open_clip():
    """``import open_clip``, with a torchvision stand-in during the import when
    torchvision is absent (see the module docstring). Raises
    :class:`OpenClipMissingError` when open-clip-torch is not installed."""
    if "open_clip" in sys.modules:
        return sys.modules["open_clip"]
    if importlib.util.find_spec("open_clip") is None:
        raise OpenClipMissingError(f"open-clip-torch is not installed; install it with: {INSTALL_HINT}")
    stand_in = _torchvision_stand_in() if importlib.util.find_spec("torchvision") is None else {}
    sys.modules.update(stand_in)
    try:
        return importlib.import_module("open_clip")
    except ImportError as exc:  # installed, but one of its own dependencies is not
        raise OpenClipMissingError(f"open_clip failed to import ({exc}); install its dependencies: "
                                   f"{INSTALL_HINT}") from exc
    finally:
        for name, module in stand_in.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


# ----------------------------------------------------------------------------- the model

@dataclass
class ClipModel:
    """An open_clip model in eval mode with frozen parameters.

    model: the open_clip CLIP module. tokenizer: open_clip's tokenizer for it.
    image_size: (H, W) of the vision tower's input in pixels.
    mean, std: (3,) float32 normalisation of [0, 1] RGB input, on the model's
    device. name, pretrained: what was loaded.
    """
    model: torch.nn.Module
    tokenizer: Callable
    image_size: Tuple[int, int]
    mean: torch.Tensor
    std: torch.Tensor
    name: str
    pretrained: Optional[str]

    @property
    def device(self) -> torch.device:
        return self.mean.device

    @torch.no_grad()
    def encode_text(self, prompts: Sequence[str]) -> torch.Tensor:
        """Unit-length text embeddings (len(prompts), D) float32."""
        tokens = self.tokenizer(list(prompts)).to(self.device)
        return F.normalize(self.model.encode_text(tokens).float(), dim=-1)

    def encode_image(self, images: torch.Tensor, layers: Optional[Sequence[int]] = None):
        """images: (B, 3, H, W) float32 RGB in [0, 1] at ``image_size``.

        Returns (features, intermediates): unit-length embeddings (B, D) and,
        when ``layers`` (vision-tower block indices) is given, the list of
        their outputs (B, C, h, w); otherwise an empty list. Differentiable
        with respect to ``images``."""
        x = (images - self.mean[:, None, None]) / self.std[:, None, None]
        if not layers:
            return F.normalize(self.model.encode_image(x).float(), dim=-1), []
        out = self.model.forward_intermediates(image=x, image_indices=list(layers), normalize=True,
                                               image_output_fmt="NCHW")
        return out["image_features"].float(), [t.float() for t in out["image_intermediates"]]

    def num_vision_blocks(self) -> int:
        """How many intermediate outputs the vision tower offers (blocks of a
        ViT, stages of a ResNet)."""
        probe = torch.zeros(1, 3, *self.image_size, device=self.device)
        with torch.no_grad():
            out = self.model.forward_intermediates(image=probe, image_indices=None, intermediates_only=True)
        return len(out["image_intermediates"])


def _looks_like_path(pretrained: str) -> bool:
    return (os.sep in pretrained or (os.altsep is not None and os.altsep in pretrained)
            or pretrained.lower().endswith((".pt", ".pth", ".bin", ".safetensors", ".ckpt"))
            or os.path.exists(pretrained))


@contextlib.contextmanager
def _quiet_loading_logs():
    """While open_clip loads weights: its failures are logged on the root
    logger (and its first ``logging.info`` call runs ``basicConfig``, which
    would leave a handler on the root logger for the rest of the process),
    and huggingface_hub warns once per download retry. The exception we
    raise carries the failure's text, so when the application has not
    configured logging, a temporary NullHandler on the root logger absorbs
    those records; huggingface_hub's retry warnings are muted either way."""
    root, hub = logging.getLogger(), logging.getLogger("huggingface_hub")
    sink = logging.NullHandler() if not root.handlers else None
    if sink is not None:
        root.addHandler(sink)
    hub_level = hub.level
    hub.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hub.setLevel(hub_level)
        if sink is not None:
            root.removeHandler(sink)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def load_clip(model_name: str = "ViT-B-32", pretrained: Optional[str] = "laion2b_s34b_b79k", *,
              device="cpu", cache_dir: Optional[str] = None, allow_random: bool = False) -> ClipModel:
    """Load an open_clip model for guidance.

    model_name: an open_clip architecture ("ViT-B-32", "RN50", ...; see
        ``open_clip.list_models()``, extendable with ``open_clip.add_model_config``),
        or "hf-hub:org/repo" / "local-dir:/folder" (then ``pretrained`` is ignored).
    pretrained: a pretrained tag for that architecture ("laion2b_s34b_b79k",
        "openai", ...; see ``open_clip.list_pretrained()``), downloaded into
        open_clip's cache on first use, or a checkpoint file path.
    device: torch device for the model. cache_dir: open_clip's download cache.
    allow_random: only for tests and benchmarks: ``pretrained=None`` then
        builds the architecture with random weights. Without it,
        ``pretrained=None`` raises ValueError.

    Raises :class:`WeightsNotFoundError` (one-line message) when the weights
    cannot be found or downloaded, :class:`OpenClipMissingError` when
    open-clip-torch is not installed.
    """
    open_clip = import_open_clip()
    schema = model_name.startswith(("hf-hub:", "local-dir:"))
    if pretrained is None and not schema and not allow_random:
        raise ValueError("load_clip(): pretrained is None; pass a tag or checkpoint path "
                         "(random weights need allow_random=True)")
    if not schema and open_clip.get_model_config(model_name.replace("/", "-")) is None:
        raise WeightsNotFoundError(f"unknown CLIP model {model_name!r} (open_clip.list_models() lists them)")
    if pretrained is not None and not schema:
        if _looks_like_path(pretrained):
            if not os.path.isfile(pretrained):
                raise WeightsNotFoundError(f"CLIP weights {pretrained!r}: no such file")
        elif not open_clip.get_pretrained_cfg(model_name, pretrained):
            tags = open_clip.list_pretrained_tags_by_model(model_name)
            tags = ", ".join(tags[:6]) + (f", ... ({len(tags)} in all)" if len(tags) > 6 else "") if tags else "none"
            raise WeightsNotFoundError(f"CLIP weights: {pretrained!r} is neither a file nor a pretrained tag of "
                                       f"{model_name} (tags: {tags})")
    try:
        with _quiet_loading_logs():
            model = open_clip.create_model(model_name, pretrained=pretrained, device=device, cache_dir=cache_dir,
                                           require_pretrained=not allow_random)
            tokenizer = open_clip.get_tokenizer(model_name, cache_dir=cache_dir)
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        where = f"{pretrained!r} for {model_name}" if pretrained and not schema else repr(model_name)
        raise WeightsNotFoundError(f"CLIP weights {where} could not be loaded (not cached, and the download "
                                   f"failed?): {_first_line(exc)}") from exc
    model.eval().requires_grad_(False)
    size = model.visual.image_size
    size = (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))
    mean = getattr(model.visual, "image_mean", None) or open_clip.OPENAI_DATASET_MEAN
    std = getattr(model.visual, "image_std", None) or open_clip.OPENAI_DATASET_STD
    as_tensor = lambda v: torch.tensor(list(v), dtype=torch.float32, device=device)  # noqa: E731
    return ClipModel(model, tokenizer, size, as_tensor(mean), as_tensor(std), model_name, pretrained)


# ----------------------------------------------------------------------------- strokes

@dataclass
class Strokes:
    """A set of open cubic Bézier strokes, one shape group each.

    points: (P, 2) float32 control points in canvas pixels, all paths
        concatenated; path i is ``points[offsets[i]:offsets[i + 1]]`` with
        3 * segments[i] + 1 points.
    segments: (N,) int64 cubic segments per path.
    widths: (N,) float32 half stroke widths in pixels (diffvg's convention).
    colors: (N, 4) float32 straight RGBA in [0, 1] (sRGB values as stored in SVG).
    width, height: canvas size in pixels.
    """
    points: torch.Tensor
    segments: torch.Tensor
    widths: torch.Tensor
    colors: torch.Tensor
    width: int
    height: int
    offsets: torch.Tensor = field(init=False)

    def __post_init__(self):
        counts = 3 * self.segments + 1
        self.offsets = torch.cat([torch.zeros(1, dtype=torch.int64), counts.cumsum(0)])
        if int(self.offsets[-1]) != self.points.shape[0]:
            raise ValueError(f"Strokes: segments need {int(self.offsets[-1])} points, points holds "
                             f"{self.points.shape[0]}")
        if self.widths.shape != self.segments.shape or self.colors.shape != (len(self.segments), 4):
            raise ValueError(f"Strokes: widths {tuple(self.widths.shape)} and colors {tuple(self.colors.shape)} "
                             f"must be ({len(self.segments)},) and ({len(self.segments)}, 4)")

    @property
    def num_paths(self) -> int:
        return len(self.segments)

    def parameters(self) -> dict:
        """{"points", "widths", "colors"}: the leaf tensors to optimise."""
        return {"points": self.points, "widths": self.widths, "colors": self.colors}

    def requires_grad_(self, flag: bool = True) -> "Strokes":
        for tensor in self.parameters().values():
            tensor.requires_grad_(flag)
        return self

    def to_scene(self):
        """(shapes, groups) for pydiffvg.render / save_svg. Autograd flows from
        the shapes back to points, widths and colors."""
        shapes, groups = [], []
        for i in range(self.num_paths):
            start, end = int(self.offsets[i]), int(self.offsets[i + 1])
            shapes.append(Path(num_control_points=torch.full((int(self.segments[i]),), 2, dtype=torch.int32),
                               points=self.points[start:end], is_closed=False, stroke_width=self.widths[i]))
            groups.append(ShapeGroup(shape_ids=torch.tensor([i]), fill_color=None, stroke_color=self.colors[i]))
        return shapes, groups

    @torch.no_grad()
    def clamp_(self, min_width: float = 1.0, max_width: float = 50.0) -> None:
        """CLIPDraw's projection after each step: widths to [min, max] pixels
        (half widths), colours to [0, 1]."""
        self.widths.clamp_(min_width, max_width)
        self.colors.clamp_(0.0, 1.0)


def init_strokes(num_paths: int, width: int, height: int, *, max_segments: int = 3, radius: float = 0.1,
                 stroke_width: float = 1.0, generator: Optional[torch.Generator] = None,
                 device="cpu") -> Strokes:
    """CLIPDraw's initialisation: each path has 1..max_segments cubic segments
    (uniform); its first point is uniform on the canvas and each next control
    point is the previous one plus a uniform offset in [-radius/2, radius/2]
    of the canvas size per axis. Half width ``stroke_width`` pixels, RGBA
    uniform in [0, 1]. Returns Strokes on ``device`` (not requiring grad)."""
    if num_paths < 1 or max_segments < 1:
        raise ValueError(f"init_strokes(): num_paths and max_segments must be >= 1, got {num_paths}, {max_segments}")
    segments = torch.randint(1, max_segments + 1, (num_paths,), generator=generator)
    paths = []
    for count in segments.tolist():
        steps = radius * (torch.rand(3 * count, 2, generator=generator) - 0.5)
        start = torch.rand(1, 2, generator=generator)
        paths.append(torch.cat([start, start + steps.cumsum(0)]))
    points = torch.cat(paths) * torch.tensor([float(width), float(height)])
    widths = torch.full((num_paths,), float(stroke_width))
    colors = torch.rand(num_paths, 4, generator=generator)
    return Strokes(points.to(device), segments, widths.to(device), colors.to(device), int(width), int(height))


def render_strokes(strokes: Strokes, *, num_samples: int = 2, seed: int = 0,
                   background: Sequence[float] = (1.0, 1.0, 1.0)) -> torch.Tensor:
    """Render strokes over an opaque background colour (RGB in [0, 1]).
    Returns (H, W, 3) float32, differentiable with respect to the strokes."""
    shapes, groups = strokes.to_scene()
    bg = torch.ones(strokes.height, strokes.width, 4, device=strokes.points.device)
    bg[..., :3] = torch.tensor(list(background), dtype=torch.float32, device=bg.device)
    image = render(shapes, groups, width=strokes.width, height=strokes.height, num_samples=num_samples, seed=seed,
                   background=bg)
    return image[..., :3]


# ----------------------------------------------------------------------------- augmentations

def homography(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) matrices H with H (x, y, 1)^T ~ (u, v, 1)^T mapping the four
    points source (B, 4, 2) onto target (B, 4, 2), with H[2, 2] = 1.

    Each correspondence gives two rows of the 8x8 system
        h0 x + h1 y + h2 - h6 x u - h7 y u = u
        h3 x + h4 y + h5 - h6 x v - h7 y v = v."""
    x, y = source[..., 0], source[..., 1]
    u, v = target[..., 0], target[..., 1]
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    rows_u = torch.stack([x, y, one, zero, zero, zero, -x * u, -y * u], -1)
    rows_v = torch.stack([zero, zero, zero, x, y, one, -x * v, -y * v], -1)
    system = torch.cat([rows_u, rows_v], 1)
    rhs = torch.cat([u, v], 1)
    h = torch.linalg.solve(system, rhs)
    return torch.cat([h, torch.ones_like(h[:, :1])], 1).view(-1, 3, 3)


@torch.compiler.disable
def _view_draws(num_views, distortion, crop_scale, crop_ratio, generator):
    """The random numbers of random_views, drawn from ``generator`` in one
    place: torch.compile cannot trace a draw from a Generator, and one
    excluded function costs one graph break instead of one per draw.
    Returns the corner shifts (V, 4, 2) in [0, distortion], crop areas,
    log aspect ratios and the crop centres' positions in [-1, 1] (V each)."""
    def uniform(*shape, low=0.0, high=1.0):
        return low + (high - low) * torch.rand(*shape, generator=generator)

    shift = uniform(num_views, 4, 2, high=distortion)
    area = uniform(num_views, low=crop_scale[0], high=crop_scale[1])
    log_ratio = uniform(num_views, low=math.log(crop_ratio[0]), high=math.log(crop_ratio[1]))
    return shift, area, log_ratio, uniform(num_views, low=-1.0, high=1.0), uniform(num_views, low=-1.0, high=1.0)


def random_views(image: torch.Tensor, num_views: int, size: Tuple[int, int], *, distortion: float = 0.5,
                 crop_scale: Tuple[float, float] = (0.7, 0.9), crop_ratio: Tuple[float, float] = (3 / 4, 4 / 3),
                 fill: float = 1.0, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """CLIPDraw's augmentations on a raster, in one ``grid_sample``:
    torchvision's RandomPerspective(distortion, fill) followed by
    RandomResizedCrop(size, crop_scale, crop_ratio).

    image: (H, W, C) float32 in [0, 1].
    size: (h, w) output size in pixels. Returns (num_views, C, h, w),
    differentiable with respect to ``image``. Pixels that the perspective
    pulls from outside the image take the value ``fill``.

    In normalised coordinates [-1, 1]: each image corner moves inward by a
    uniform [0, distortion] per axis (RandomPerspective's end points); the
    output pixel u of a crop with centre c and half extents e reads the
    perspective output at c + e * u, which reads the input at H(c + e * u),
    with H the homography taking the moved corners back to the corners."""
    chw = image.permute(2, 0, 1)[None]
    device = image.device
    out_h, out_w = int(size[0]), int(size[1])
    # Shrinking by more than the crop does: pre-filter so that bilinear
    # sampling does not alias.
    keep = math.sqrt(crop_scale[0])
    pre_h, pre_w = math.ceil(out_h / keep), math.ceil(out_w / keep)
    if chw.shape[-2] > pre_h and chw.shape[-1] > pre_w:
        chw = F.interpolate(chw, size=(pre_h, pre_w), mode="bilinear", align_corners=False, antialias=True)

    shift, area, log_ratio, along_x, along_y = _view_draws(num_views, distortion, crop_scale, crop_ratio, generator)
    corners = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    inward = -corners  # direction towards the centre, per axis
    moved = corners + inward * shift
    warp = homography(moved.double(), corners.expand(num_views, 4, 2).double()).float()

    # RandomResizedCrop: area fraction s and pixel aspect ratio r give a crop
    # of sqrt(s r W H) x sqrt(s W H / r) pixels, i.e. half extents
    # sqrt(s r H / W) and sqrt(s W / (r H)) in normalised units (clamped to
    # the image instead of torchvision's retries).
    ratio = torch.exp(log_ratio)
    in_h, in_w = image.shape[0], image.shape[1]
    half_w = torch.sqrt(area * ratio * in_h / in_w).clamp(max=1.0)
    half_h = torch.sqrt(area / ratio * in_w / in_h).clamp(max=1.0)
    centre_x = (1.0 - half_w) * along_x
    centre_y = (1.0 - half_h) * along_y

    # Output pixel centres (align_corners=False) -> crop -> perspective.
    ys = (torch.arange(out_h) + 0.5) / out_h * 2 - 1
    xs = (torch.arange(out_w) + 0.5) / out_w * 2 - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    cx = centre_x[:, None, None] + half_w[:, None, None] * gx
    cy = centre_y[:, None, None] + half_h[:, None, None] * gy
    homogeneous = torch.stack([cx, cy, torch.ones_like(cx)], -1) @ warp.transpose(1, 2)[:, None]
    grid = (homogeneous[..., :2] / homogeneous[..., 2:]).to(device)
    views = F.grid_sample(chw.expand(num_views, -1, -1, -1) - fill, grid, mode="bilinear",
                          padding_mode="zeros", align_corners=False)
    return views + fill


# ----------------------------------------------------------------------------- losses

def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """features (B, C, h, w) -> (B, C, C) Gram matrices of the tokens, each
    token layer-normalised over its C channels (no affine), divided by h*w."""
    tokens = features.flatten(2).transpose(1, 2)
    tokens = F.layer_norm(tokens, tokens.shape[-1:])
    return tokens.transpose(1, 2) @ tokens / tokens.shape[1]


class ClipDrawLoss:
    """loss(image) for CLIP-guided drawing.

    clip: a :class:`ClipModel`. prompt: the text to draw.
    negative_prompts, negative_weight: CLIPDraw's optional negative prompts;
        their similarity is added with this weight.
    style_image: optional (H, W, 3) float32 RGB in [0, 1]; enables the style
        loss (see the module docstring) with ``style_weight``.
    style_layers: vision-tower block indices for it; default the blocks at
        1/4, 1/2 and 3/4 of the depth.
    num_views, distortion, crop_scale: the augmentations (:func:`random_views`).

    Calling it with an image (H, W, 3) returns a dict of scalar tensors:
    "loss" (to minimise), "clip" (mean cosine similarity to the prompt,
    as a loss: its negative), and "style" when a style image is set.
    """

    def __init__(self, clip: ClipModel, prompt: str, *, negative_prompts: Sequence[str] = (),
                 negative_weight: float = 0.3, style_image: Optional[torch.Tensor] = None,
                 style_weight: float = 1.0, style_layers: Optional[Sequence[int]] = None, num_views: int = 4,
                 distortion: float = 0.5, crop_scale: Tuple[float, float] = (0.7, 0.9),
                 generator: Optional[torch.Generator] = None):
        if num_views < 1:
            raise ValueError(f"ClipDrawLoss: num_views must be >= 1, got {num_views}")
        self.clip = clip
        self.text = clip.encode_text([prompt])
        self.negative = clip.encode_text(list(negative_prompts)) if negative_prompts else None
        self.negative_weight = float(negative_weight)
        self.num_views, self.distortion, self.crop_scale = int(num_views), float(distortion), tuple(crop_scale)
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.style_weight = float(style_weight)
        self.style_layers: List[int] = []
        self.style_targets: List[torch.Tensor] = []
        if style_image is not None:
            if style_layers is None:
                depth = clip.num_vision_blocks()
                style_layers = sorted({max(0, round(depth * k / 4) - 1) for k in (1, 2, 3)})
            self.style_layers = [int(i) for i in style_layers]
            with torch.no_grad():
                views = self.views(style_image.to(clip.device), num_views=max(8, self.num_views))
                _, intermediates = clip.encode_image(views, self.style_layers)
                self.style_targets = [gram_matrix(f).mean(0) for f in intermediates]

    def views(self, image: torch.Tensor, num_views: Optional[int] = None) -> torch.Tensor:
        return random_views(image, num_views or self.num_views, self.clip.image_size, distortion=self.distortion,
                            crop_scale=self.crop_scale, generator=self.generator)

    def __call__(self, image: torch.Tensor) -> dict:
        features, intermediates = self.clip.encode_image(self.views(image), self.style_layers)
        clip_loss = -(features @ self.text.T).mean()
        loss = clip_loss
        if self.negative is not None:
            loss = loss + self.negative_weight * (features @ self.negative.T).mean()
        out = {"clip": clip_loss}
        if self.style_targets:
            terms = [((gram_matrix(f) - target) ** 2).sum((1, 2)).mean() / (target ** 2).sum()
                     for f, target in zip(intermediates, self.style_targets)]
            out["style"] = torch.stack(terms).mean()
            loss = loss + self.style_weight * out["style"]
        out["loss"] = loss
        return out


# ----------------------------------------------------------------------------- the loop

@dataclass
class DrawResult:
    """history: per step {"loss", "clip"[, "style"]} floats. timer: StepTimer
    (whole steps and the renderer's forward + backward inside them)."""
    strokes: Strokes
    history: List[dict]
    timer: StepTimer
    seconds: float


def draw(strokes: Strokes, loss_fn: Callable[[torch.Tensor], dict], *, iters: int = 500,
         lr_scale: float = 1.0, num_samples: int = 2, seed: int = 0, min_width: float = 1.0,
         max_width: float = 50.0, on_step: Optional[Callable[[int, dict, torch.Tensor], None]] = None) -> DrawResult:
    """Optimise ``strokes`` in place with Adam (CLIPDraw's step sizes,
    :data:`CLIPDRAW_LR`, times lr_scale; points scaled by the canvas size
    over 224) to minimise ``loss_fn(render)["loss"]``, where render is the
    (H, W, 3) raster over white, drawn once per step with ``num_samples``
    samples per pixel side and seed ``seed + step``.

    As in CLIPDraw's notebook the points' step size drops to 0.4x at half
    the iterations and 0.1x at three quarters; widths and colours are
    clamped after every step (:meth:`Strokes.clamp_`).

    on_step(step, losses, image): called after every step with the float
    losses and the detached render. Returns a :class:`DrawResult`."""
    strokes.requires_grad_(True)
    canvas_scale = max(strokes.width, strokes.height) / CLIP_INPUT_REFERENCE
    optimizer = torch.optim.Adam([
        {"params": [strokes.points], "lr": lr_scale * CLIPDRAW_LR["points"] * canvas_scale, "name": "points"},
        {"params": [strokes.widths], "lr": lr_scale * CLIPDRAW_LR["widths"], "name": "widths"},
        {"params": [strokes.colors], "lr": lr_scale * CLIPDRAW_LR["colors"], "name": "colors"},
    ])
    points_lr = optimizer.param_groups[0]["lr"]
    timer, history = StepTimer(), []
    start_all = time.perf_counter()
    for step in range(iters):
        if step == int(iters * 0.5):
            optimizer.param_groups[0]["lr"] = 0.4 * points_lr
        if step == int(iters * 0.75):
            optimizer.param_groups[0]["lr"] = 0.1 * points_lr
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        # Staged backward (loss -> raster, then raster -> strokes) so that the
        # renderer's own share can be timed; equal to one loss.backward().
        image = render_strokes(strokes, num_samples=num_samples, seed=seed + step)
        timer.render_forward += time.perf_counter() - start
        raster = image.detach().requires_grad_(True)
        losses = loss_fn(raster)
        losses["loss"].backward()
        start_backward = time.perf_counter()
        image.backward(raster.grad)
        timer.render_backward += time.perf_counter() - start_backward
        optimizer.step()
        strokes.clamp_(min_width, max_width)
        timer.step += time.perf_counter() - start
        timer.steps += 1
        record = {k: float(v.detach()) for k, v in losses.items()}
        history.append(record)
        if on_step is not None:
            on_step(step, record, raster.detach())
    return DrawResult(strokes, history, timer, time.perf_counter() - start_all)
