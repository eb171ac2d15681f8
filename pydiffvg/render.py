"""pydiffvg.render: the documented 2-D rendering op."""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from . import _core
from . import op
from ._native import CallScope, float32_under_autocast, ptr, zeros
from .scene import FLOAT_FIELDS, pack_scenes
from .layers import has_layers, render_tree
from .scene_types import Scene
from .shapes import FilterType, OutputType, PixelFilter

__all__ = ["render", "RenderSettings"]


# Whether CPU forward passes keep a LayerLog for their backward pass (the
# tests turn it off to check that replaying it changes nothing).
KEEP_LAYER_LOG = True


class RenderSettings:
    """Non-differentiable render options (sizes, sampling, filter type)."""

    def __init__(self, width, height, samples_x, samples_y, seed, filter_type, prefiltering, premultiplied,
                 output_sdf, streams=None):
        self.width, self.height = int(width), int(height)
        self.samples_x, self.samples_y = int(samples_x), int(samples_y)
        self.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        self.filter_type = int(filter_type)
        self.prefiltering = bool(prefiltering)
        self.premultiplied = bool(premultiplied)
        self.output_sdf = bool(output_sdf)
        # None, or (int32 tensor [B, 3] of (scene, x0, y0), width, height):
        # the random streams of frames of larger images (layers.py)
        self.streams = streams
        self.centre_samples = False  # one sample at each pixel centre (crisp layers)

    def as_dict(self, filter_radius, background):
        return {"width": self.width, "height": self.height, "samples_x": self.samples_x,
                "samples_y": self.samples_y, "seed": self.seed, "filter": self.filter_type,
                "filter_radius": float(filter_radius), "prefiltering": self.prefiltering,
                "premultiplied": self.premultiplied, "output_sdf": self.output_sdf,
                "background": ptr(background),
                "stream_origin": ptr(self.streams[0]) if self.streams is not None else 0,
                "stream_width": self.streams[1] if self.streams is not None else 0,
                "stream_height": self.streams[2] if self.streams is not None else 0,
                "centre_samples": self.centre_samples}


def _scene_dict(packed, floats):
    d = {k: ptr(v) for k, v in packed.ints.items()}
    d.update({k: ptr(v) for k, v in zip(FLOAT_FIELDS, floats)})
    d.update(packed.counts)
    return d


def native_forward(settings, packed, floats, filter_radius, background, log=None):
    """The kernel's forward pass over detached, contiguous float32 tensors:
    a new image (B, H, W, C)."""
    channels = 1 if settings.output_sdf else 4
    image = zeros((packed.counts["num_scenes"], settings.height, settings.width, channels), torch.float32,
                  packed.device)
    scope = CallScope(packed.device)
    _core.render_forward(*scope.context_args(), _scene_dict(packed, floats),
                         settings.as_dict(filter_radius, background), ptr(image), log)
    if log is not None and log.has_prepared:
        log.scratch = scope  # the prepared scene in the log points into it (for the backward pass)
    return image


class _Render2D(torch.autograd.Function):
    """Private autograd op over the packed flat tensors."""

    @staticmethod
    def forward(ctx, settings, packed, filter_radius, background, *floats):
        floats = [f.detach().contiguous() for f in floats]
        bg = background.detach().contiguous() if background is not None else None
        # On the CPU the forward pass keeps what it composited at each sample
        # when a backward pass may follow (the kernel decides where it applies).
        log = _core.LayerLog() if KEEP_LAYER_LOG and packed.device.type == "cpu" and any(ctx.needs_input_grad) \
            else None
        image = native_forward(settings, packed, floats, float(filter_radius), bg, log)
        ctx.log = log
        ctx.settings, ctx.packed = settings, packed
        ctx.filter_radius = float(filter_radius)
        ctx.save_for_backward(image, bg if bg is not None else torch.empty(0), *floats)
        ctx.has_background = bg is not None
        return image

    @staticmethod
    def backward(ctx, grad_image):
        from .backward import render_backward
        return render_backward(ctx, grad_image)


def _device_of(scenes, default):
    if default is not None:
        return torch.device(default)
    for _, _, shapes, groups in scenes:
        for s in shapes:
            for name in ("points", "center", "p_min"):
                t = getattr(s, name, None)
                if isinstance(t, torch.Tensor):
                    return t.device
        for g in groups:
            color = getattr(g, "fill_color", None)  # a Layer (e.g. an image) has none
            if isinstance(color, torch.Tensor):
                return color.device
    return torch.device("cpu")


def _as_scene_list(scene, shape_groups, width, height, canvas_width, canvas_height):
    if isinstance(scene, Scene):
        return [tuple(scene)], False
    if isinstance(scene, Sequence) and scene and all(isinstance(s, Scene) for s in scene):
        return [tuple(s) for s in scene], True
    if shape_groups is None:
        raise TypeError("render: pass a Scene, a list of Scenes, or shapes and shape_groups")
    cw = canvas_width if canvas_width is not None else width
    ch = canvas_height if canvas_height is not None else height
    if cw is None or ch is None:
        raise ValueError("render: width and height are required when rendering shapes and shape_groups")
    return [(cw, ch, list(scene), list(shape_groups))], False


def render(scene, shape_groups=None, *, width=None, height=None, canvas_width=None, canvas_height=None,
           num_samples=2, seed=0, filter=None, background=None, premultiplied=False, use_prefiltering=False,
           output_type=OutputType.color, device=None):
    """Renders 2-D vector scenes; differentiable with respect to every float tensor in them.

    Args:
        scene: a Scene, a list of Scenes of equal canvas size (a batch), or a
            list of shapes (then ``shape_groups`` is required).
        shape_groups: list of ShapeGroup when ``scene`` is a list of shapes.
        width, height: output size in pixels; default the canvas size. A
            different size scales the canvas to fit.
        canvas_width, canvas_height: canvas size when passing shapes; default
            the output size.
        num_samples: samples per pixel per axis, int or (x, y). With
            prefiltering, 1 is typical.
        seed: random seed; the image depends only on it, not on thread count.
        filter: PixelFilter, default box of radius 0.5.
        background: None, or straight RGBA float tensor (H, W, 4) or (B, H, W, 4)
            composited under the scene.
        premultiplied: return premultiplied RGBA instead of diffvg's
            per-sample un-premultiplied colour.
        use_prefiltering: anti-alias from the signed distance, one sample.
        output_type: OutputType.color -> (H, W, 4); OutputType.sdf -> (H, W, 1)
            signed distance in output pixels (negative inside).
        device: where to render; default the device of the scene's tensors.

    Returns:
        float32 tensor (H, W, C) for one scene, (B, H, W, C) for a list.
        Leaf tensors may be float16, bfloat16, float32 or float64; the kernels
        compute in float32 and each leaf's gradient comes back in its own
        dtype. Under ``torch.autocast`` (CPU or CUDA) the render still runs,
        and returns, in float32.
    """
    scenes, batched = _as_scene_list(scene, shape_groups, width, height, canvas_width, canvas_height)
    cw, ch = scenes[0][0], scenes[0][1]
    for s in scenes[1:]:
        if (s[0], s[1]) != (cw, ch):
            raise ValueError(f"render: every scene of a batch needs the same canvas size; got {cw}x{ch} and "
                             f"{s[0]}x{s[1]}")
    width = int(width if width is not None else cw)
    height = int(height if height is not None else ch)
    nx, ny = _sample_counts(num_samples)
    filt = filter if filter is not None else PixelFilter(FilterType.box)
    if not isinstance(filt, PixelFilter):
        raise TypeError(f"render: filter must be a pydiffvg.PixelFilter, got {type(filt).__name__}")
    dev = _device_of(scenes, device)
    if any(has_layers(s[3]) for s in scenes):
        image = _render_tree(scenes, width, height, nx, ny, seed, filt, background, premultiplied,
                             use_prefiltering, output_type, dev)
        return image if batched else image[0]
    # torch.compile traces the op (see pydiffvg/op.py); eager code packs once.
    run = op.render_op if torch.compiler.is_compiling() else render_packed
    image = run(scenes, width, height, nx, ny, seed, filt, background, premultiplied,
                          use_prefiltering, output_type, dev)
    return image if batched else image[0]


@torch.compiler.disable  # trees are composited eagerly; torch.compile traces flat scenes (op.py)
@float32_under_autocast
def _render_tree(scenes, width, height, nx, ny, seed, filt, background, premultiplied, use_prefiltering,
                 output_type, device):
    """Scenes whose group lists hold Layers (pydiffvg/layers.py): runs of
    groups are drawn premultiplied by the kernel, layers composited in torch."""
    if output_type == OutputType.sdf:
        raise ValueError("render: output_type=OutputType.sdf needs a flat scene (no pydiffvg.Layer in "
                         "shape_groups)")

    def render_flat(flat_scenes, w, h, streams=None, crisp=False):
        return render_packed(flat_scenes, w, h, nx, ny, seed, filt, None, True, use_prefiltering,
                             OutputType.color, device, streams, crisp)

    radius = filt.radius
    radius_value = float(radius.detach()) if isinstance(radius, torch.Tensor) else float(radius)
    pad = math.ceil(max(radius_value, 0.5)) + 1
    image = render_tree(scenes, width, height, render_flat, pad, device)
    bg = _checked_background(background, image.shape[0], width, height, device)
    if bg is not None:
        under = torch.cat([bg[..., :3] * bg[..., 3:4], bg[..., 3:4]], dim=-1)
        image = image + under * (1 - image[..., 3:4])
    if not premultiplied:
        alpha = image[..., 3:4]
        image = torch.cat([image[..., :3] / torch.where(alpha > 0, alpha, torch.ones_like(alpha)),
                           alpha], dim=-1)
    return image


def _sample_counts(num_samples):
    """(nx, ny) from an int or a pair of ints, with errors naming num_samples."""
    if isinstance(num_samples, bool):
        raise TypeError("render: num_samples must be an int or a pair of ints, got bool")
    if isinstance(num_samples, int):
        pair = (num_samples, num_samples)
    elif isinstance(num_samples, (tuple, list)):
        if len(num_samples) != 2:
            raise ValueError(f"render: num_samples must be an int or a pair (x, y), got {num_samples!r}")
        pair = tuple(num_samples)
    else:
        raise TypeError(f"render: num_samples must be an int or a pair of ints, got {type(num_samples).__name__}")
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"render: num_samples must hold ints, got {num_samples!r}")
        if v < 1:
            raise ValueError(f"render: num_samples must be >= 1, got {num_samples!r}")
    return pair


@float32_under_autocast
def render_packed(scenes, width, height, nx, ny, seed, filt, background, premultiplied, use_prefiltering,
                  output_type, device, streams=None, crisp=False):
    """Packs and renders; shared by render() and the diffvg compat layer.
    ``streams``: see RenderSettings. ``crisp``: one sample at each pixel
    centre, no anti-aliasing (SVG shape-rendering crispEdges)."""
    if crisp:
        nx = ny = 1
        use_prefiltering = False
    settings, packed, radius, bg = prepare_render(scenes, width, height, nx, ny, seed, filt, background,
                                                  premultiplied, use_prefiltering, output_type, device)
    settings.centre_samples = bool(crisp)
    if streams is not None:
        origin = torch.tensor(streams[0], dtype=torch.int32).reshape(-1, 3).to(packed.device)
        settings.streams = (origin, int(streams[1]), int(streams[2]))
    return _Render2D.apply(settings, packed, radius, bg, *[packed.floats[k] for k in FLOAT_FIELDS])


def _checked_background(background, b, width, height, device):
    """None, or the straight RGBA background as float32 (b, H, W, 4), with
    errors naming the argument."""
    if background is None:
        return None
    if not isinstance(background, torch.Tensor) or not background.is_floating_point():
        raise TypeError("render: background must be a float tensor (H, W, 4)")
    bg = background.to(device=device, dtype=torch.float32)
    if bg.dim() == 3:
        bg = bg.unsqueeze(0)
    if bg.dim() != 4 or bg.shape[1:] != (height, width, 4) or bg.shape[0] not in (1, b):
        raise ValueError(f"render: background must have shape ({height}, {width}, 4) or "
                         f"({b}, {height}, {width}, 4), got {tuple(background.shape)}")
    if not bool(torch.isfinite(bg.detach()).all()):
        raise ValueError("render: background contains NaN or inf")
    return bg.expand(b, height, width, 4).contiguous()


def prepare_render(scenes, width, height, nx, ny, seed, filt, background, premultiplied, use_prefiltering,
                   output_type, device):
    """Checks the arguments and packs the scenes: (RenderSettings, PackedScene,
    filter radius tensor, float32 background (B, H, W, 4) or None). Each
    tensor is differentiable back to the caller's."""
    if width <= 0 or height <= 0:
        raise ValueError(f"render: width and height must be positive, got {width}x{height}")
    packed = pack_scenes(scenes, width, height, device)
    bg = _checked_background(background, len(scenes), width, height, device)
    radius = filt.radius
    radius_value = float(radius.detach()) if isinstance(radius, torch.Tensor) else float(radius)
    if not (radius_value > 0 and radius_value < 1e4):
        raise ValueError(f"render: filter radius must be positive and finite, got {radius_value}")
    settings = RenderSettings(width, height, nx, ny, seed, filt.type, use_prefiltering, premultiplied,
                              output_type == OutputType.sdf)
    radius_t = radius if isinstance(radius, torch.Tensor) else torch.tensor(radius_value)
    return settings, packed, radius_t, bg
