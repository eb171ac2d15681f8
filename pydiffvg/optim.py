"""Fitting vector scenes to raster images: losses, an optimisation loop and
painterly initialisation (issue #5).

Colour convention: everything here works on the values stored in the SVG
(sRGB-encoded, in [0, 1]), as ``svg_to_scene`` returns them. A target PNG read
as ``uint8 / 255`` is compared with the render directly, so the fitted SVG
looks right in any viewer and ``save_svg(..., use_gamma=False)`` writes it.

Main entry points:

* :func:`fit` -- Adam over chosen scene parameters (points, colours, widths,
  gradient stops) against a target image, each kind with a step size in its
  own units and a learning-rate schedule, with a per-step callback; returns
  the best scene seen, never one worse than the input.
* :func:`init_paths` -- random strokes or closed blobs for painterly
  rendering, placed where the current render differs most from the target.
* :func:`paint` -- ``init_paths`` then ``fit``.
* :func:`image_loss`, :func:`ssim`, :func:`psnr` -- the losses, in torch.
"""
from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import torch
import torch.nn.functional as F

from .render import render
from .shapes import LinearGradient, Path, RadialGradient, ShapeGroup

__all__ = ["LOSSES", "PARAMETER_KINDS", "SCHEDULES", "DEFAULT_STEPS", "FitResult", "fit", "paint", "init_paths",
           "image_loss", "ssim", "psnr", "composite", "scene_to", "VideoWriter", "parameter_groups", "clamp_scene",
           "shape_pixel_scales", "lr_factor", "paint_steps"]

LOSSES = ("l2", "l1", "ssim", "multiscale")
PARAMETER_KINDS = ("points", "colors", "widths", "stops")

SCHEDULES = ("cosine", "constant")

# Adam step sizes per parameter kind, each in its own units (Adam's steps are
# about this size at first, whatever the gradient's scale):
#   points  output-image pixels (path points, centres, radii, rect corners,
#           gradient geometry; converted to each shape's user units);
#   colors  RGBA channel values in [0, 1];
#   widths  pixels of ``stroke_width`` (half the SVG stroke-width);
#   stops   gradient stop colours and offsets, in [0, 1].
# Points and widths are small enough for fine detail (a quarter pixel; thin
# strokes, small shapes), colours large enough to travel half their range in
# a hundred steps; ``lr`` in fit() scales them all.
DEFAULT_STEPS = {"points": 0.25, "colors": 0.01, "widths": 0.05, "stops": 0.01}

#: Warm-up length of the "cosine" schedule, as a fraction of the steps, and
#: the factor it decays to at the last step.
WARMUP_FRACTION = 0.05
FINAL_LR_FACTOR = 0.1


# ----------------------------------------------------------------------------- losses

def _gaussian_window(size: int, sigma: float, channels: int, like: torch.Tensor) -> torch.Tensor:
    coords = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2.0
    g = torch.exp(-coords ** 2 / (2.0 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def _ssim_maps(x: torch.Tensor, y: torch.Tensor, window_size: int = 11, sigma: float = 1.5):
    """x, y: (N, C, H, W) in [0, 1]. Returns (ssim map, contrast-structure map),
    Wang et al. 2004, eq. 13, with C1 = (0.01)^2, C2 = (0.03)^2 and a
    Gaussian window; the window shrinks to fit images smaller than it."""
    channels = x.shape[1]
    size = min(window_size, x.shape[-1], x.shape[-2])
    window = _gaussian_window(size, sigma * size / window_size, channels, x)
    blur = lambda t: F.conv2d(t, window, groups=channels)  # noqa: E731  (valid padding, as in the paper)
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x ** 2
    var_y = blur(y * y) - mu_y ** 2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    contrast_structure = (2 * cov + c2) / (var_x + var_y + c2)
    luminance = (2 * mu_x * mu_y + c1) / (mu_x ** 2 + mu_y ** 2 + c1)
    return luminance * contrast_structure, contrast_structure


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean structural similarity of two images (H, W, C) or (N, H, W, C),
    float in [0, 1]. Differentiable; 1 means identical."""
    x4, y4 = _nchw(x), _nchw(y)
    return _ssim_maps(x4, y4)[0].mean()


def _nchw(img: torch.Tensor) -> torch.Tensor:
    if img.dim() == 3:
        img = img.unsqueeze(0)
    return img.permute(0, 3, 1, 2)


def image_loss(image: torch.Tensor, target: torch.Tensor, kind: str = "l2") -> torch.Tensor:
    """Scalar loss between ``image`` and ``target``, both (H, W, C) float.

    kind: ``l2`` mean squared error; ``l1`` mean absolute error; ``ssim``
    1 - SSIM (11-pixel Gaussian window, sigma 1.5); ``multiscale`` the mean
    of the squared errors of a 3-level pyramid (full, 1/2, 1/4 resolution,
    2x2 average pooling), which pulls far-away shapes toward large-scale error.
    """
    if kind == "l2":
        return (image - target).pow(2).mean()
    if kind == "l1":
        return (image - target).abs().mean()
    if kind == "ssim":
        return 1.0 - ssim(image, target)
    if kind == "multiscale":
        a, b = _nchw(image), _nchw(target)
        total = (a - b).pow(2).mean()
        for _ in range(2):
            if min(a.shape[-2:]) < 2:
                total = total + (a - b).pow(2).mean()
                continue
            a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
            total = total + (a - b).pow(2).mean()
        return total / 3.0
    raise ValueError(f"image_loss: kind must be one of {', '.join(LOSSES)}; got {kind!r}")


def psnr(image: torch.Tensor, target: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1]."""
    mse = float((image.detach() - target.detach()).pow(2).mean())
    return float("inf") if mse <= 0.0 else 10.0 * math.log10(1.0 / mse)


def composite(rgba: torch.Tensor, background_rgb: torch.Tensor, premultiplied: bool = False) -> torch.Tensor:
    """RGBA (H, W, 4), straight or ``premultiplied``, over an RGB background
    (3,) or (H, W, 3) -> (H, W, 3).

    A premultiplied render composited this way equals the render of the
    scene over the background: it is linear in the samples. A straight-alpha
    render with diffvg's default averaging (each sample un-premultiplied
    before the filter average) is not, and darkens partly covered pixels at
    low sample counts; :func:`fit` renders premultiplied for that reason.
    """
    alpha = rgba[..., 3:4]
    color = rgba[..., :3] if premultiplied else rgba[..., :3] * alpha
    return color + background_rgb * (1.0 - alpha)


# ----------------------------------------------------------------------------- scene helpers

def _paints(group: ShapeGroup):
    for paint in (group.fill_color, group.stroke_color):
        if paint is not None:
            yield paint


def scene_to(shapes: Sequence, groups: Sequence[ShapeGroup], device) -> None:
    """Moves every float tensor of the scene to ``device``, in place.
    ``num_control_points`` stays where it is (the packer reads it on the host)."""
    device = torch.device(device)

    def move(obj, names):
        for name in names:
            value = getattr(obj, name, None)
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                setattr(obj, name, value.detach().to(device))

    for shape in shapes:
        move(shape, ("points", "center", "radius", "p_min", "p_max", "stroke_width"))
    for group in groups:
        move(group, ("fill_color", "stroke_color", "shape_to_canvas"))
        for paint in _paints(group):
            move(paint, ("begin", "end", "center", "radius", "offsets", "stop_colors", "focal", "focal_radius"))


def _group_pixel_scale(group: ShapeGroup) -> float:
    """Canvas units per user unit of a group's transform (sqrt |det| of its 2x2)."""
    m = group.shape_to_canvas.detach().double().cpu()
    det = abs(float(m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]))
    return math.sqrt(det) if det > 1e-12 else 1.0


def _shape_ids(group: ShapeGroup) -> List[int]:
    ids = group.shape_ids
    return [int(i) for i in (ids.tolist() if isinstance(ids, torch.Tensor) else ids)]


def shape_pixel_scales(shapes: Sequence, groups: Sequence[ShapeGroup], pixels_per_unit: float = 1.0) -> List[float]:
    """Output pixels per user unit of each shape: its first owning group's
    transform times ``pixels_per_unit`` (output pixels per canvas unit)."""
    scales = [None] * len(shapes)
    for group in groups:
        scale = _group_pixel_scale(group) * pixels_per_unit
        for sid in _shape_ids(group):
            if 0 <= sid < len(shapes) and scales[sid] is None:
                scales[sid] = scale
    return [pixels_per_unit if s is None else s for s in scales]


def parameter_groups(shapes: Sequence, groups: Sequence[ShapeGroup], what: Iterable[str],
                     lr: Optional[Dict[str, float]] = None, lr_scale: float = 1.0,
                     pixels_per_unit: float = 1.0) -> List[dict]:
    """Marks the chosen scene tensors as requiring grad and returns Adam
    parameter groups for them, each with the step size of its kind.

    what: subset of ``PARAMETER_KINDS``: ``points`` (path/polygon points,
        circle/ellipse centres and radii, rect corners, gradient geometry),
        ``colors`` (solid fill/stroke RGBA), ``widths`` (stroke widths of
        stroked shapes), ``stops`` (gradient stop colours and offsets).
    lr: per-kind step sizes overriding ``DEFAULT_STEPS``, in the units given
        there (points and widths in output pixels); ``lr_scale`` multiplies all.
    pixels_per_unit: output pixels per canvas unit (image size / canvas
        size). Point and width steps are converted through it and each
        group's ``shape_to_canvas`` into the tensors' own user units.
    """
    what = set(what)
    unknown = what - set(PARAMETER_KINDS)
    if unknown:
        raise ValueError(f"parameter_groups: unknown parameter kinds {sorted(unknown)}; "
                         f"choose from {', '.join(PARAMETER_KINDS)}")
    rates = dict(DEFAULT_STEPS)
    for kind, rate in (lr or {}).items():
        if kind not in PARAMETER_KINDS:
            raise ValueError(f"parameter_groups: lr has unknown kind {kind!r}; choose from {', '.join(PARAMETER_KINDS)}")
        if not (isinstance(rate, (int, float)) and 0 < rate < math.inf):
            raise ValueError(f"parameter_groups: lr[{kind!r}] must be a positive number; got {rate!r}")
        rates[kind] = float(rate)
    seen = set()
    by_rate: Dict[tuple, list] = {}

    def add(kind, tensor, rate):
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point() or id(tensor) in seen:
            return
        seen.add(id(tensor))
        tensor.requires_grad_(True)
        by_rate.setdefault((kind, round(rate * lr_scale, 12)), []).append(tensor)

    scales = shape_pixel_scales(shapes, groups, pixels_per_unit)
    if "points" in what:
        for index, shape in enumerate(shapes):
            for name in ("points", "center", "radius", "p_min", "p_max"):
                add("points", getattr(shape, name, None), rates["points"] / scales[index])
    if "widths" in what:
        stroked = sorted({sid for g in groups if g.stroke_color is not None for sid in _shape_ids(g)})
        for index in stroked:
            add("widths", shapes[index].stroke_width, rates["widths"] / scales[index])
    for group in groups:
        scale = _group_pixel_scale(group) * pixels_per_unit
        for paint in _paints(group):
            if isinstance(paint, torch.Tensor):
                if "colors" in what:
                    add("colors", paint, rates["colors"])
            elif isinstance(paint, (LinearGradient, RadialGradient)):
                if "stops" in what:
                    add("stops", paint.stop_colors, rates["stops"])
                    add("stops", paint.offsets, rates["stops"])
                if "points" in what:
                    for name in ("begin", "end", "center", "radius"):
                        add("points", getattr(paint, name, None), rates["points"] / scale)
    return [{"params": params, "lr": rate, "name": kind} for (kind, rate), params in by_rate.items()]


def clamp_scene(shapes: Sequence, groups: Sequence[ShapeGroup], min_width: float = 0.0,
                max_width: Optional[float] = None, pixel_scales: Optional[Sequence[float]] = None) -> None:
    """Projects the optimised tensors (those requiring grad) back to valid
    values, in place and without grad: colours and stop offsets to [0, 1]
    (offsets also kept non-decreasing), radii to >= 0, stroke widths to
    [min_width, max_width]. Nothing valid is changed otherwise.

    min_width, max_width: bounds of ``stroke_width`` (half the SVG
        stroke-width) in output pixels; the default bounds only forbid
        negative widths.
    pixel_scales: output pixels per user unit of each shape (see
        :func:`shape_pixel_scales`); default 1 (user units are pixels).
    """
    with torch.no_grad():
        for index, shape in enumerate(shapes):
            width = shape.stroke_width
            if isinstance(width, torch.Tensor) and width.requires_grad:
                scale = pixel_scales[index] if pixel_scales is not None else 1.0
                width.clamp_(min=max(min_width, 0.0) / scale,
                             max=None if max_width is None else max_width / scale)
            radius = getattr(shape, "radius", None)
            if isinstance(radius, torch.Tensor) and radius.requires_grad:
                radius.clamp_(min=0.0)
        for group in groups:
            for paint in _paints(group):
                if isinstance(paint, torch.Tensor):
                    if paint.requires_grad:
                        paint.clamp_(0.0, 1.0)
                elif paint.stop_colors.requires_grad or paint.offsets.requires_grad:
                    paint.stop_colors.clamp_(0.0, 1.0)
                    paint.offsets.clamp_(0.0, 1.0)
                    paint.offsets.copy_(torch.cummax(paint.offsets, dim=0).values)
                radius = getattr(paint, "radius", None)
                if isinstance(paint, RadialGradient) and isinstance(radius, torch.Tensor) and radius.requires_grad:
                    radius.clamp_(min=1e-3)


def lr_factor(schedule: str, step: int, steps: int) -> float:
    """Multiplier of every step size at ``step`` (0-based) of ``steps``.

    ``cosine``: a linear warm-up over the first ``WARMUP_FRACTION`` of the
    steps (Adam's first steps move every parameter by about its full step
    size, whatever its gradient, so that detail the target already matches
    would be disturbed at once), then a half cosine from 1 down to
    ``FINAL_LR_FACTOR`` at the last step. ``constant``: 1.
    """
    if schedule == "constant" or steps <= 1:
        return 1.0
    if schedule != "cosine":
        raise ValueError(f"lr_factor: schedule must be one of {', '.join(SCHEDULES)}; got {schedule!r}")
    warmup = max(1, int(round(WARMUP_FRACTION * steps)))
    ramp = min(1.0, (step + 1) / warmup)
    progress = step / (steps - 1)
    return ramp * (FINAL_LR_FACTOR + (1.0 - FINAL_LR_FACTOR) * 0.5 * (1.0 + math.cos(math.pi * progress)))


# ----------------------------------------------------------------------------- the loop

@dataclass
class FitResult:
    """What :func:`fit` returns.

    ``shapes``/``groups`` hold the parameters of step ``best_step``,
    detached: step 0 is the input itself, step k the parameters after k
    Adam updates. ``loss``/``psnr`` are those of that step, and
    ``initial_loss``/``initial_psnr`` the input's, both measured by one
    evaluation render (``eval_samples``, the fit's seed), so the two compare
    like with like; ``image`` is that render of the chosen step, composited.
    ``history`` holds the loss of each training render.
    """
    shapes: list
    groups: list
    loss: float
    psnr: float
    iterations: int
    seconds: float
    interrupted: bool = False
    history: List[float] = field(default_factory=list)
    image: Optional[torch.Tensor] = None
    best_step: int = 0
    initial_loss: float = float("nan")
    initial_psnr: float = float("nan")


class VideoWriter:
    """Writes every frame to a video (mp4 through imageio-ffmpeg, or gif)."""

    def __init__(self, filename, fps=20):
        import imageio.v2 as imageio  # optional dependency, only when a video is asked for
        self.filename = str(filename)
        kwargs = {"fps": fps}
        if self.filename.lower().endswith(".mp4"):
            kwargs.update(codec="libx264", quality=7, macro_block_size=2)
        else:
            kwargs = {"duration": 1000.0 / fps, "loop": 0}
        self.writer = imageio.get_writer(self.filename, **kwargs)

    def add(self, rgb: torch.Tensor):
        frame = (rgb.detach().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).cpu().numpy()
        h, w = frame.shape[:2]
        if h % 2 or w % 2:  # yuv420p needs even sizes: repeat the last row/column
            import numpy as np
            frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        self.writer.append_data(frame)

    def close(self):
        self.writer.close()


def _as_rgb_target(target: torch.Tensor, device) -> torch.Tensor:
    if not isinstance(target, torch.Tensor):
        target = torch.as_tensor(target)
    if target.dim() != 3 or target.shape[2] not in (3, 4):
        raise ValueError(f"fit: target must be (H, W, 3) or (H, W, 4) float in [0, 1]; got {tuple(target.shape)}")
    return target.to(device=device, dtype=torch.float32)


def _background_rgb(background, target: torch.Tensor) -> torch.Tensor:
    if isinstance(background, str):
        if background == "white":
            return torch.ones(3, device=target.device)
        if background == "mean":
            return target[..., :3].reshape(-1, 3).mean(0)
        raise ValueError(f"fit: background must be 'white', 'mean' or an RGB triple; got {background!r}")
    rgb = torch.as_tensor(background, dtype=torch.float32, device=target.device).reshape(-1)
    if rgb.numel() != 3:
        raise ValueError(f"fit: background must hold 3 values (RGB); got {rgb.numel()}")
    return rgb


class _InterruptWatch:
    """Ctrl-C during fit. The default handler raises KeyboardInterrupt
    wherever Python happens to be, and C code that swallows exceptions (an
    attribute probe, a finaliser) can lose it; seen as a paint run that went
    on after Ctrl-C. While fit runs in the main thread with the default
    handler, this one also records the request, and the loop stops at its
    next step even if the exception was lost."""

    def __init__(self):
        self.requested = False
        self._previous = None
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame):
        self.requested = True
        raise KeyboardInterrupt

    def close(self):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def fit(shapes: list, groups: list, target: torch.Tensor, *, iters: int = 100, lr: float = 1.0,
        loss: str = "l2", what: Iterable[str] = ("points", "colors", "widths", "stops"),
        lr_per_kind: Optional[Dict[str, float]] = None, schedule: str = "cosine", background="white",
        num_samples: int = 2, eval_samples: Optional[int] = None, seed: int = 0, device=None,
        min_width: float = 0.0, max_width: Optional[float] = None, callback: Optional[Callable] = None,
        save_every: int = 0, frame_callback: Optional[Callable] = None, video=None, video_every: int = 1,
        canvas_size: Optional[tuple] = None) -> FitResult:
    """Fits a scene to a target image with Adam and returns the best step,
    which is never worse than the input.

    Args:
        shapes, groups: the scene (diffvg shapes and ShapeGroups); its chosen
            tensors are optimised in place, then set to the best step's values.
        target: float tensor (H, W, 3) in [0, 1], same colour encoding as the
            scene's colours (sRGB values for SVG scenes). The scene renders at
            H x W, its canvas scaled to fit.
        iters: Adam steps. lr: multiplier of the per-kind step sizes.
        lr_per_kind: step sizes by kind, overriding ``DEFAULT_STEPS`` (points
            and widths in output pixels, colours and stops in [0, 1] units).
        schedule: ``"cosine"`` (warm-up, then decay to a tenth; see
            :func:`lr_factor`) or ``"constant"``.
        loss: one of ``LOSSES``. what: parameter kinds (``PARAMETER_KINDS``).
        background: ``"white"``, ``"mean"`` (the target's mean colour) or an
            RGB triple; the render is composited over it for the loss.
        num_samples: samples per pixel per axis of the training renders. seed:
            sampling seed of the first step (step i uses seed + i).
        eval_samples: samples per pixel per axis of the two evaluation
            renders that choose the result: the input's, before the first
            step, and that of the step with the lowest training loss, after
            the last. Both use ``seed``, so their sampling noise is shared and
            the comparison is fair. Default ``max(num_samples, 8)``.
        device: where to render; default the target's device. The scene is
            moved there.
        min_width, max_width: bounds of ``stroke_width`` (half the SVG
            stroke-width) in output pixels, applied to optimised widths after
            every step. Only invalid values are clamped otherwise: negative
            widths and radii, colours and stops outside [0, 1].
        callback: ``fn(step, loss, psnr, image)`` after each step, image the
            composited training render (H, W, 3) of the parameters before the
            step; returning True stops the loop.
        save_every: every that many steps (and at the last), calls
            ``frame_callback(step, image)`` (e.g. to write PNG frames).
        video: a .mp4 or .gif filename (or an open ``VideoWriter``, left
            open); one frame every ``video_every`` steps.
        canvas_size: (width, height) of the scene's canvas; default the target's size.

    Returns:
        FitResult, with ``best_step`` 0 when no step beat the input. A
        KeyboardInterrupt ends the loop early and is reported as
        ``interrupted=True`` rather than raised, so callers can save the best.
    """
    device = torch.device(device) if device is not None else (
        target.device if isinstance(target, torch.Tensor) else torch.device("cpu"))
    target = _as_rgb_target(target, device)[..., :3]
    if loss not in LOSSES:
        raise ValueError(f"fit: loss must be one of {', '.join(LOSSES)}; got {loss!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"fit: schedule must be one of {', '.join(SCHEDULES)}; got {schedule!r}")
    if iters < 0:
        raise ValueError(f"fit: iters must be >= 0; got {iters}")
    if not (min_width >= 0.0 and (max_width is None or max_width >= min_width)):
        raise ValueError(f"fit: need 0 <= min_width <= max_width; got min_width={min_width}, max_width={max_width}")
    eval_samples = max(num_samples, 8) if eval_samples is None else eval_samples
    height, width = target.shape[:2]
    canvas_w, canvas_h = canvas_size if canvas_size is not None else (width, height)
    pixels_per_unit = math.sqrt((width / canvas_w) * (height / canvas_h))
    scene_to(shapes, groups, device)
    bg = _background_rgb(background, target)
    param_groups = parameter_groups(shapes, groups, what, lr_per_kind, lr, pixels_per_unit=pixels_per_unit)
    params = [p for g in param_groups for p in g["params"]]
    optimizer = torch.optim.Adam(param_groups) if params else None
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(schedule, step, iters)) \
        if optimizer is not None else None
    pixel_scales = shape_pixel_scales(shapes, groups, pixels_per_unit)
    clamp_scene(shapes, groups, min_width, max_width, pixel_scales)  # only invalid input changes
    initial_values = [p.detach().clone() for p in params]

    def render_rgb(step_seed, samples):
        rgba = render(shapes, groups, width=width, height=height, canvas_width=canvas_w,
                      canvas_height=canvas_h, num_samples=samples, seed=step_seed, premultiplied=True)
        return composite(rgba, bg, premultiplied=True)

    def evaluate():
        with torch.no_grad():
            image = render_rgb(seed, eval_samples)
        return float(image_loss(image, target, loss)), psnr(image, target), image

    def set_values(values):
        with torch.no_grad():
            for p, v in zip(params, values):
                p.copy_(v)

    owns_sink = isinstance(video, (str, bytes)) or hasattr(video, "__fspath__")
    sink = VideoWriter(video) if owns_sink else video
    best = {"loss": float("inf"), "step": 0, "values": initial_values}
    history: List[float] = []
    interrupted = False
    initial = None
    start = time.perf_counter()
    step = 0
    watch = _InterruptWatch()
    try:
        initial = evaluate()
        for step in range(iters):
            if watch.requested:
                raise KeyboardInterrupt
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
            image = render_rgb(seed + step, num_samples)
            value = image_loss(image, target, loss)
            loss_value = float(value.detach())
            step_psnr = psnr(image, target)
            history.append(loss_value)
            if loss_value < best["loss"]:
                best.update(loss=loss_value, step=step,
                            values=initial_values if step == 0 else [p.detach().clone() for p in params])
            if sink is not None and step % max(1, video_every) == 0:
                sink.add(image)
            if frame_callback is not None and save_every and step % save_every == 0:
                frame_callback(step, image.detach())
            if optimizer is not None and value.requires_grad:
                value.backward()
                optimizer.step()
                scheduler.step()
                clamp_scene(shapes, groups, min_width, max_width, pixel_scales)
            if callback is not None and callback(step, loss_value, step_psnr, image.detach()):
                step += 1
                break
        else:
            step = iters
    except KeyboardInterrupt:
        interrupted = True
    finally:
        watch.close()
        if sink is not None and owns_sink:
            sink.close()
    # The choice: the input, or the step with the lowest training loss if an
    # evaluation render with the input's seed and samples says it is better.
    # Training losses are noisy (a new seed each step), so this check is what
    # keeps a fit from ever returning a scene worse than the one it was given.
    chosen_step, chosen = 0, initial
    try:
        if best["step"] != 0:
            set_values(best["values"])
            candidate = evaluate()
            if initial is None or candidate[0] < initial[0]:
                chosen_step, chosen = best["step"], candidate
        if chosen_step == 0:
            set_values(initial_values)
            if initial is None:  # interrupted before the input was measured
                initial = chosen = evaluate()
    except KeyboardInterrupt:
        interrupted = True
        chosen_step = 0
        set_values(initial_values)
        if initial is None:
            raise
        chosen = initial
    seconds = time.perf_counter() - start
    for p in params:
        p.requires_grad_(False)
    return FitResult(shapes, groups, chosen[0], chosen[1], step, seconds, interrupted, history, chosen[2],
                     best_step=chosen_step, initial_loss=initial[0], initial_psnr=initial[1])


# ----------------------------------------------------------------------------- painterly rendering

def _box_blur(image: torch.Tensor, radius: int) -> torch.Tensor:
    """(H, W, C) mean over a (2r+1)^2 window clipped to the image."""
    if radius < 1:
        return image
    nchw = image.permute(2, 0, 1)[None]
    return F.avg_pool2d(nchw, 2 * radius + 1, stride=1, padding=radius,
                        count_include_pad=False)[0].permute(1, 2, 0)


def sample_positions(weights: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` points (x, y) in pixels, drawn with probability proportional
    to ``weights`` (H, W) per pixel, uniform inside the chosen pixel."""
    h, w = weights.shape
    flat = weights.detach().reshape(-1).double().cpu().clamp(min=0)
    if not torch.isfinite(flat).all() or float(flat.sum()) <= 0.0:
        flat = torch.ones_like(flat)
    index = torch.multinomial(flat, count, replacement=True, generator=generator)
    jitter = torch.rand(count, 2, generator=generator, dtype=torch.float64)
    xy = torch.stack([(index % w).double(), (index // w).double()], dim=1) + jitter
    return xy.float()


def init_paths(target: torch.Tensor, num_paths: int, *, num_segments: int = 4, closed: bool = False,
               current: Optional[torch.Tensor] = None, placement: str = "error", radius: float = 0.05,
               stroke_width: float = 1.0, alpha: float = 1.0, seed: int = 0,
               id_offset: int = 0) -> tuple:
    """Random cubic Bézier paths for painterly rendering (diffvg's
    ``painterly_rendering`` recipe, with informed placement and colours).

    Args:
        target: (H, W, 3) float image in [0, 1].
        num_paths: how many paths. num_segments: cubic segments per path.
        closed: closed filled blobs (radius ``radius`` x image size, around
            the start point) instead of open strokes (a random walk with
            steps of ``radius`` x image size).
        current: (H, W, 3) render to improve on; starting points are drawn
            with probability proportional to the per-pixel error
            sum |target - current|. Default: the target's mean colour.
        placement: ``"error"`` (as above) or ``"uniform"`` (ignore the error).
        stroke_width: initial half stroke width, pixels (strokes only).
        alpha: initial opacity. seed: random seed (CPU generator).
        id_offset: added to shape ids (when appending to an existing scene).

    Returns:
        (shapes, groups): Paths on the target's device, colours taken from the
        target at each path's starting point. Coordinates are canvas pixels.
    """
    if placement not in ("error", "uniform"):
        raise ValueError(f"init_paths: placement must be 'error' or 'uniform'; got {placement!r}")
    if num_paths < 0 or num_segments < 1:
        raise ValueError(f"init_paths: need num_paths >= 0 and num_segments >= 1; got {num_paths}, {num_segments}")
    target = target[..., :3]
    h, w = target.shape[:2]
    device = target.device
    generator = torch.Generator().manual_seed(int(seed))
    scale = radius * max(w, h)
    # Errors and colours are taken at the scale of a path (a box blur of
    # about one step of the walk): a path can only fix an error that
    # covers a patch of that size, and it should start with the patch's colour.
    blur_radius = max(0, int(round(scale / 2)))
    smooth_target = _box_blur(target.detach().float().cpu(), blur_radius)
    if placement == "uniform":
        weights = torch.ones(h, w)
    else:
        reference = current if current is not None else target.reshape(-1, 3).mean(0).expand_as(target)
        residual = target.detach().float().cpu() - reference[..., :3].detach().float().cpu()
        weights = _box_blur(residual, blur_radius).abs().sum(-1)
    starts = sample_positions(weights, num_paths, generator)
    target_cpu = smooth_target
    shapes, groups = [], []
    for index in range(num_paths):
        x0, y0 = starts[index].tolist()
        if closed:
            # 3 points per segment around a circle, each pushed in or out at random.
            count = 3 * num_segments
            angles = torch.arange(count, dtype=torch.float32) * (2 * math.pi / count)
            radii = scale * (0.5 + torch.rand(count, generator=generator))
            points = torch.stack([x0 + radii * torch.cos(angles), y0 + radii * torch.sin(angles)], dim=1)
        else:
            steps = (torch.rand(3 * num_segments, 2, generator=generator) * 2 - 1) * scale
            points = torch.cat([torch.tensor([[x0, y0]]), torch.tensor([[x0, y0]]) + steps.cumsum(0)])
        column = min(max(int(x0), 0), w - 1)
        row = min(max(int(y0), 0), h - 1)
        rgb = target_cpu[row, column]
        color = torch.cat([rgb, torch.tensor([alpha])]).to(device)
        path = Path(num_control_points=torch.full((num_segments,), 2, dtype=torch.int32),
                    points=points.to(device), is_closed=closed,
                    stroke_width=torch.tensor(0.0 if closed else stroke_width, device=device))
        shapes.append(path)
        ids = torch.tensor([id_offset + index], dtype=torch.int32)
        if closed:
            groups.append(ShapeGroup(shape_ids=ids, fill_color=color, stroke_color=None))
        else:
            groups.append(ShapeGroup(shape_ids=ids, fill_color=None, stroke_color=color))
    return shapes, groups


def paint_steps(image_size: int) -> Dict[str, float]:
    """Step sizes of :func:`paint` (units of ``DEFAULT_STEPS``): three
    pixels per step at 256 pixels for points, growing with the image. (On
    the README's default run, 128 strokes on a 128-pixel photo in 100 steps,
    these gave 19.9 dB, against 19.6 and 18.4 dB at 2/3 and 1/3 of them.)"""
    return {"points": 3.0 * image_size / 256.0, "colors": 0.03, "widths": 0.3, "stops": 0.03}


def paint(target: torch.Tensor, num_paths: int = 256, *, num_segments: int = 4, closed: bool = False,
          iters: int = 200, min_width: float = 0.5, max_width: float = 2.0, background="mean",
          placement: str = "error",
          stages: int = 1, seed: int = 0, loss: str = "l2", lr: float = 1.0, num_samples: int = 2,
          callback: Optional[Callable] = None, **fit_kwargs) -> FitResult:
    """Painterly rendering: ``num_paths`` random paths (see :func:`init_paths`)
    fitted to ``target`` (H, W, 3) for ``iters`` steps.

    min_width, max_width: smallest and largest half stroke width, pixels
    (strokes; the default keeps strokes at least 1 px wide). background: see
    :func:`fit`; the returned FitResult's image is over it. stages > 1 adds
    the paths in that many rounds, each placed by the error of the render
    so far, sharing the iterations. Other arguments go to :func:`fit`; the
    callback's step counts across stages. Random strokes must travel far,
    so the step sizes are larger than fit's (``paint_steps``) unless
    ``lr_per_kind`` says otherwise.
    """
    if stages < 1:
        raise ValueError(f"paint: stages must be >= 1; got {stages}")
    target = target[..., :3]
    bg = _background_rgb(background, target)
    fit_kwargs["lr_per_kind"] = {**paint_steps(max(target.shape[:2])), **(fit_kwargs.get("lr_per_kind") or {})}
    video = fit_kwargs.pop("video", None)
    frame_callback = fit_kwargs.pop("frame_callback", None)
    sink = VideoWriter(video) if isinstance(video, (str, bytes)) or hasattr(video, "__fspath__") else video
    try:
        return _paint_stages(target, num_paths, num_segments, closed, iters, min_width, max_width, bg, placement,
                             stages,
                             seed, loss, lr, num_samples, callback, frame_callback, sink, fit_kwargs)
    finally:
        if sink is not None and sink is not video:
            sink.close()


def _paint_stages(target, num_paths, num_segments, closed, iters, min_width, max_width, bg, placement, stages,
                  seed, loss, lr, num_samples, callback, frame_callback, sink, fit_kwargs):
    shapes: list = []
    groups: list = []
    current = bg.expand_as(target)
    total_steps, total_seconds, history = 0, 0.0, []
    result = None
    for stage in range(stages):
        count = num_paths * (stage + 1) // stages - num_paths * stage // stages
        new_shapes, new_groups = init_paths(target, count, num_segments=num_segments, closed=closed,
                                            current=current, placement=placement, seed=seed + 7919 * stage,
                                            id_offset=len(shapes))
        shapes += new_shapes
        groups += new_groups
        stage_iters = iters * (stage + 1) // stages - iters * stage // stages
        offset = total_steps
        stage_callback = stage_frames = None
        if callback is not None:
            stage_callback = lambda step, *rest, _o=offset: callback(_o + step, *rest)  # noqa: E731
        if frame_callback is not None:
            stage_frames = lambda step, *rest, _o=offset: frame_callback(_o + step, *rest)  # noqa: E731
        result = fit(shapes, groups, target, iters=stage_iters, lr=lr, loss=loss, background=bg,
                     num_samples=num_samples, seed=seed + offset, max_width=max_width,
                     min_width=min_width if not closed else 0.0,
                     what=("points", "colors") + (() if closed else ("widths",)),
                     callback=stage_callback, frame_callback=stage_frames, video=sink, **fit_kwargs)
        total_steps += result.iterations
        total_seconds += result.seconds
        history += result.history
        current = result.image
        if result.interrupted or result.iterations < stage_iters:
            break
    result.iterations, result.seconds, result.history = total_steps, total_seconds, history
    return result
