"""Image vectorisation by optimisation: a photo becomes layered, filled
closed cubic paths, in the manner of LIVE (Ma et al., "Towards Layer-wise
Image Vectorization", CVPR 2022).

The recipe, stage by stage (:func:`vectorize`):

1. **Where:** the current render is compared with the target. Pixels whose
   error is large are split by the target's colour (a uniform quantisation)
   and grouped into 4-connected regions; the regions with the largest total
   error get the new paths (:func:`error_regions`).
2. **Initialisation:** each new path is a closed cubic circle (``segments``
   segments) around the region's centre: the pixel deepest inside it, with
   the region's inscribed radius as the circle's (capped), so that the circle
   lies inside the region. Its colour is the target's mean inside the circle.
3. **Optimisation:** the new paths are optimised over a frozen backdrop (the
   earlier paths, rendered once), so a stage costs what its own paths cost.
   The loss is LIVE's: the squared error weighted by the unsigned distance
   to the new paths' outlines (:func:`udf_weights`; errors near the outlines
   count most), plus the self-intersection ("Xing") loss on each new path's
   control polygon (:func:`xing_loss`).
4. The number of paths per stage follows a doubling schedule, 1, 2, 4, ...
   (:func:`path_schedule`). After the last stage every path is optimised
   together against the plain squared error (what PSNR measures), through
   :func:`pydiffvg.optim.fit`, which never returns a worse scene.

:func:`simplify` then drops paths whose removal changes the PSNR by less
than a threshold, each measured exactly on a crop around the path, and
fits the rest again.

Colours are the values stored in the SVG (sRGB-encoded, in [0, 1]), as in
:mod:`pydiffvg.optim`. Coordinates are pixels of the target.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..optim import VideoWriter, composite, fit, lr_factor, psnr, sample_positions
from ..render import render
from ..shapes import Path, ShapeGroup

__all__ = ["VectorizeResult", "vectorize", "simplify", "removal_costs", "path_schedule", "xing_loss", "error_regions",
           "circle_points", "udf_weights"]

#: Adam step sizes of the stages: a new path's points move about this
#: fraction of its initial radius per step (at least STAGE_MIN_POINT_STEP
#: pixels), so that a circle can fill its region within a stage whatever its
#: size; colours in [0, 1] units.
STAGE_POINT_STEP = 0.05
STAGE_MIN_POINT_STEP = 0.5
STAGE_COLOR_STEP = 0.02
#: Step sizes of the joint refinement after the last stage (pixels; [0, 1]).
REFINE_POINT_STEP = 0.3
REFINE_COLOR_STEP = 0.006


# ----------------------------------------------------------------------------- schedule and losses

def path_schedule(num_paths: int, stages: Optional[int] = None) -> List[int]:
    """Paths added at each stage: a doubling schedule 1, 2, 4, ... scaled so
    that the counts add up to ``num_paths`` (each at least 1).

    ``stages`` defaults to floor(log2(num_paths)) + 1, the number of stages
    of an exact doubling; it is cut to ``num_paths`` if larger. For example
    ``path_schedule(15)`` is [1, 2, 4, 8] and ``path_schedule(64)``
    [1, 1, 2, 4, 8, 16, 32]."""
    if not isinstance(num_paths, int) or num_paths < 1:
        raise ValueError(f"path_schedule: num_paths must be an integer >= 1; got {num_paths!r}")
    if stages is None:
        stages = int(math.floor(math.log2(num_paths))) + 1
    if not isinstance(stages, int) or stages < 1:
        raise ValueError(f"path_schedule: stages must be an integer >= 1; got {stages!r}")
    stages = min(stages, num_paths)
    # Cumulative counts round(N (2^(k+1) - 1) / (2^S - 1)), kept strictly increasing.
    total = 2.0 ** stages - 1.0
    counts, done = [], 0
    for stage in range(stages):
        left = stages - stage - 1  # stages after this one, each needs at least one path
        cumulative = int(round(num_paths * (2.0 ** (stage + 1) - 1.0) / total))
        cumulative = min(max(cumulative, done + 1), num_paths - left)
        counts.append(cumulative - done)
        done = cumulative
    return counts


def xing_loss(points) -> torch.Tensor:
    """LIVE's self-intersection ("Xing") loss of closed cubic paths, on their
    control polygons; the mean over paths of the mean over segments.

    points: a float tensor (P, 3S, 2) or a sequence of (3S_i, 2) tensors,
        the points of closed paths of S (S_i) cubic segments (segment k has the control
        polygon A = p[3k], B = p[3k+1], C = p[3k+2], D = p[3k+3], the last D
        being p[0]).

    A cubic whose control polygon turns one way from AB to BC but whose end
    handle CD points back across AB makes a loop. With the sine of the angle
    from u to v, sin(u, v) = (u x v) / (|u| |v|), each segment contributes

        relu(-sin(AB, CD))  if AB x BC >= 0,   relu(sin(AB, CD))  otherwise,

    which is zero when CD turns the same way as the polygon does at B (any
    convex control polygon, either orientation) and grows with the angle of
    the wrong turn. The side (AB x BC >= 0) is a constant of the step, not
    differentiated. Returns a scalar tensor; 0 for no paths.
    """
    if not isinstance(points, torch.Tensor):
        points = list(points)
        if not points:
            return torch.zeros(())
        if len({tuple(p.shape) for p in points}) > 1:  # different segment counts: path by path
            return torch.stack([xing_loss(p[None]) for p in points]).mean()
        points = torch.stack(points)
    if points.dim() != 3 or points.shape[2] != 2 or points.shape[1] % 3 != 0 or points.shape[1] == 0:
        raise ValueError(f"xing_loss: points must be (P, 3S, 2) with S >= 1; got {tuple(points.shape)}")
    if points.shape[0] == 0:
        return points.new_zeros(())
    a = points[:, 0::3]
    b = points[:, 1::3]
    c = points[:, 2::3]
    d = torch.roll(points, -3, dims=1)[:, 0::3]

    def cross(u, v):
        return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]

    ab, bc, cd = b - a, c - b, d - c
    turns_left = (cross(ab, bc) >= 0).to(points.dtype).detach()
    sine = cross(ab, cd) / (ab.norm(dim=-1) * cd.norm(dim=-1)).clamp(min=1e-8)
    per_segment = turns_left * torch.relu(-sine) + (1.0 - turns_left) * torch.relu(sine)
    return per_segment.mean()


def _dilate(mask: torch.Tensor) -> torch.Tensor:
    """(H, W) bool, grown by one pixel in the 8 directions."""
    return F.max_pool2d(mask[None, None].float(), 3, stride=1, padding=1)[0, 0] > 0.5


def udf_weights(alpha: torch.Tensor, tau: float) -> torch.Tensor:
    """LIVE's unsigned-distance weights from a coverage map.

    alpha: (H, W) coverage of the new paths in [0, 1]; the outline is where
    it crosses 1/2. Returns (H, W) float relu(1 - d / tau), d the distance
    in pixels to the outline (8-neighbour steps: the chessboard distance),
    so 1 on the outline and 0 from ``tau`` pixels away, inside or outside.
    """
    inside = alpha > 0.5
    outline = _dilate(inside) & _dilate(~inside)
    weights = outline.float()
    reached = outline
    steps = max(1, int(math.ceil(tau)))
    for distance in range(1, steps):
        grown = _dilate(reached)
        weights = torch.where(grown & ~reached, torch.full_like(weights, max(0.0, 1.0 - distance / tau)), weights)
        reached = grown
    return weights


# ----------------------------------------------------------------------------- initialisation

def _inscribed_depth(labels: torch.Tensor, max_depth: int) -> torch.Tensor:
    """(H, W) int: for each labelled pixel, how many 3x3 erosions of its
    own region it survives (its chessboard distance to the region's edge,
    at most ``max_depth``); 0 on label 0."""
    current = labels.float()
    alive = labels > 0
    depth = alive.int()
    for _ in range(max_depth - 1):
        marked = torch.where(alive, current, torch.full_like(current, -1.0))[None, None]
        high = F.max_pool2d(marked, 3, stride=1, padding=1)[0, 0]
        low = -F.max_pool2d(-marked, 3, stride=1, padding=1)[0, 0]
        alive = alive & (high == marked[0, 0]) & (low == marked[0, 0])
        if not bool(alive.any()):
            break
        depth += alive.int()
    return depth


def error_regions(target: torch.Tensor, current: torch.Tensor, count: int, *, levels: int = 6,
                  threshold: float = 0.1, max_radius: float = 32.0, seed: int = 0) -> List[tuple]:
    """Centres and radii for ``count`` new paths, at the regions of largest error.

    target, current: (H, W, 3) float images in [0, 1]. The error of a pixel
    is sum |target - current| over the channels; pixels with error above
    ``threshold`` are split by the target's colour, quantised to ``levels``
    per channel, into 4-connected regions, ranked by their summed error.
    Each of the ``count`` best regions gives (x, y, radius) in pixels: the
    centre of its deepest pixel (farthest from the region's edge) and that
    depth, between 1 and ``max_radius``. When fewer regions exist, the rest
    are drawn at random in proportion to the error (``seed``), radius 1.
    """
    try:
        from skimage.measure import label
    except ImportError:
        raise RuntimeError("vectorize needs scikit-image for its error regions: pip install scikit-image") from None
    target_np = target[..., :3].detach().float().cpu().numpy()
    error = np.abs(target_np - current[..., :3].detach().float().cpu().numpy()).sum(-1)
    quantised = np.clip((target_np * levels).astype(np.int64), 0, levels - 1)
    colour_code = (quantised[..., 0] * levels + quantised[..., 1]) * levels + quantised[..., 2]
    labels = label(np.where(error > threshold, colour_code + 1, 0), background=0, connectivity=1)
    scores = np.bincount(labels.ravel(), weights=error.ravel())
    scores[0] = 0.0
    chosen = [int(i) for i in np.argsort(-scores, kind="stable")[:count] if scores[i] > 0]
    regions = []
    if chosen:
        radius_cap = max(1, int(math.ceil(max_radius)))
        depth = _inscribed_depth(torch.from_numpy(labels), radius_cap).numpy()
        flat_labels, flat_depth = labels.ravel(), depth.ravel()
        order = np.lexsort((-flat_depth, flat_labels))  # by label, deepest first within each
        first = np.searchsorted(flat_labels[order], np.asarray(chosen))
        width = labels.shape[1]
        for index in order[first]:
            row, column = divmod(int(index), width)
            radius = float(min(max(flat_depth[index], 1), max_radius))
            regions.append((column + 0.5, row + 0.5, radius))
    if len(regions) < count:
        generator = torch.Generator().manual_seed(int(seed))
        extra = sample_positions(torch.from_numpy(error), count - len(regions), generator)
        regions += [(float(x), float(y), 1.0) for x, y in extra.tolist()]
    return regions


def circle_points(x: float, y: float, radius: float, num_segments: int = 4) -> torch.Tensor:
    """(3 S, 2) float points of a closed path of S cubic segments that
    approximates the circle of ``radius`` around (x, y): each segment spans
    2 pi / S, its handles tangent, of length 4/3 tan(pi / (2 S)) r (the
    standard cubic arc, exact at the ends and the middle of each arc)."""
    if num_segments < 2:
        raise ValueError(f"circle_points: num_segments must be >= 2; got {num_segments}")
    angles = torch.arange(num_segments, dtype=torch.float64) * (2 * math.pi / num_segments)
    handle = 4.0 / 3.0 * math.tan(math.pi / (2 * num_segments)) * radius
    ends = torch.stack([torch.cos(angles), torch.sin(angles)], 1) * radius
    tangents = torch.stack([-torch.sin(angles), torch.cos(angles)], 1)
    after = ends + handle * tangents  # leaving each end point
    before = torch.roll(ends, -1, 0) - handle * torch.roll(tangents, -1, 0)  # arriving at the next
    points = torch.stack([ends, after, before], 1).reshape(-1, 2)
    return (points + torch.tensor([x, y], dtype=torch.float64)).float()


def _disc_mean(target: torch.Tensor, x: float, y: float, radius: float) -> torch.Tensor:
    """Mean RGB of ``target`` over the pixel centres within ``radius`` of (x, y)
    (the nearest pixel when none is)."""
    h, w = target.shape[:2]
    x0, x1 = max(0, int(x - radius)), min(w, int(x + radius) + 1)
    y0, y1 = max(0, int(y - radius)), min(h, int(y + radius) + 1)
    patch = target[y0:y1, x0:x1, :3]
    if patch.numel():
        ys = torch.arange(y0, y1, dtype=torch.float32) + 0.5
        xs = torch.arange(x0, x1, dtype=torch.float32) + 0.5
        inside = (xs[None, :] - x) ** 2 + (ys[:, None] - y) ** 2 <= radius * radius
        if bool(inside.any()):
            return patch[inside.to(patch.device)].mean(0)
    return target[min(max(int(y), 0), h - 1), min(max(int(x), 0), w - 1), :3]


# ----------------------------------------------------------------------------- the stages

@dataclass
class VectorizeResult:
    """What :func:`vectorize` and :func:`simplify` return.

    shapes, groups: the closed Paths (first drawn first) and their groups,
        fill RGBA, detached, on the target's device; draw them over
        ``background`` (RGB (3,)) to get ``image`` (H, W, 3), whose MSE and
        PSNR against the target are ``loss`` and ``psnr``.
    stage_losses: the MSE after each stage (the last entry after the joint
        refinement), each from a render with the same samples.
    paths_before: the path count before :func:`simplify` (equal to
        ``len(shapes)`` otherwise).
    """
    shapes: list
    groups: list
    background: torch.Tensor
    image: torch.Tensor
    loss: float
    psnr: float
    iterations: int
    seconds: float
    stage_losses: List[float] = field(default_factory=list)
    interrupted: bool = False
    paths_before: int = 0


def _renderer(height, width, seed):
    def draw(shapes, groups, samples, step=0, backdrop=None):
        return render(shapes, groups, width=width, height=height, num_samples=samples, seed=seed + step,
                      background=backdrop, premultiplied=True)
    return draw


def _opaque(rgb: torch.Tensor) -> torch.Tensor:
    return torch.cat([rgb, torch.ones_like(rgb[..., :1])], -1).contiguous()


def _new_paths(target, current, count, num_segments, max_radius, seed):
    shapes, colors, radii = [], [], []
    for x, y, radius in error_regions(target, current, count, max_radius=max_radius, seed=seed):
        radii.append(0.9 * radius)
        shapes.append(Path(num_control_points=torch.full((num_segments,), 2, dtype=torch.int32),
                           points=circle_points(x, y, 0.9 * radius, num_segments).to(target.device),
                           is_closed=True, stroke_width=torch.tensor(0.0, device=target.device)))
        colors.append(torch.cat([_disc_mean(target, x, y, radius), torch.ones(1, device=target.device)]))
    return shapes, colors, radii


def _stage(target, backdrop, shapes, colors, radii, draw, iters, step0, settings, callback, sink, video_every):
    """Adam on the new paths' points and colours over a frozen backdrop
    (H, W, 4, opaque), against the UDF-weighted error plus the Xing loss.
    Returns (steps taken, whether the callback asked to stop)."""
    height, width = target.shape[:2]
    scale = max(height, width) / 256.0
    local = [ShapeGroup(shape_ids=torch.tensor([i], dtype=torch.int32), fill_color=c) for i, c in enumerate(colors)]
    white = [ShapeGroup(shape_ids=torch.tensor([i], dtype=torch.int32),
                        fill_color=torch.ones(4, device=target.device)) for i in range(len(shapes))]
    points = [s.points.requires_grad_(True) for s in shapes]
    for c in colors:
        c.requires_grad_(True)
    optimizer = torch.optim.Adam([{"params": [p], "lr": max(STAGE_MIN_POINT_STEP, STAGE_POINT_STEP * radius)}
                                  for p, radius in zip(points, radii)]
                                 + [{"params": colors, "lr": STAGE_COLOR_STEP}])
    base = [g["lr"] for g in optimizer.param_groups]
    blend, tau = settings["udf_blend"], settings["udf_tau"] * scale
    weights = None
    step = 0
    for step in range(iters):
        for group, lr in zip(optimizer.param_groups, base):
            group["lr"] = lr * lr_factor("cosine", step, iters)
        if step % settings["udf_every"] == 0:
            with torch.no_grad():
                alpha = draw(shapes, white, 1, step0 + step)[..., 3]
            weights = (1.0 - blend) + blend * udf_weights(alpha, tau)
        optimizer.zero_grad(set_to_none=True)
        image = draw(shapes, local, settings["samples"], step0 + step, backdrop)[..., :3]
        squared = (image - target) ** 2
        loss = (weights * squared.sum(-1)).mean() / 3.0 + settings["xing_weight"] * len(points) * xing_loss(points)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for c in colors:
                c.clamp_(0.0, 1.0)
        mse = float(squared.detach().mean())
        if sink is not None and (step0 + step) % video_every == 0:
            sink.add(image.detach())
        if callback is not None and callback(step0 + step, mse, -10.0 * math.log10(max(mse, 1e-12)), image.detach()):
            return step + 1, True
    for p in points + colors:
        p.requires_grad_(False)
    return iters, False


def vectorize(target: torch.Tensor, num_paths: int = 64, *, stages: Optional[int] = None, iters: int = 40,
              refine_iters: int = 40, num_segments: int = 4, background="mean", num_samples: int = 2,
              eval_samples: int = 4, udf_tau: float = 10.0, udf_blend: float = 0.5, udf_every: int = 10,
              xing_weight: float = 1e-4, max_radius: Optional[float] = None, seed: int = 0,
              callback: Optional[Callable] = None, video=None, video_every: int = 1) -> VectorizeResult:
    """Vectorises ``target`` into ``num_paths`` filled closed cubic paths,
    added in stages (see the module docstring).

    Args:
        target: float tensor (H, W, 3) in [0, 1] (sRGB values, as stored in
            the SVG); its device is where the paths live and render.
        num_paths: paths in all (>= 1). stages: how many stages add them
            (default: a doubling schedule, :func:`path_schedule`).
        iters: Adam steps per stage, on the new paths only. refine_iters:
            steps of the joint refinement of every path after the last stage
            (:func:`pydiffvg.optim.fit`, plain squared error; 0 skips it).
        num_segments: cubic segments per path (>= 2).
        background: ``"mean"`` (the target's mean colour) or an RGB triple,
            the canvas colour under the paths.
        num_samples: samples per pixel per axis of the training renders;
            eval_samples: of the renders between stages and of the result.
        udf_tau: pixels (at 256 px, scaled with the image) over which the
            UDF weight falls from 1 at the new outlines to 0. udf_blend: the
            weight of a pixel is (1 - udf_blend) + udf_blend * UDF (1: LIVE's
            weights alone). udf_every: steps between updates of the weights.
        xing_weight: weight of each path's Xing loss against the mean
            squared error.
        max_radius: largest initial circle radius, pixels (default a quarter
            of the longer side).
        seed: sampling and placement seed.
        callback: ``fn(step, mse, psnr, image)`` after each step, counted
            across stages and the refinement (``stages * iters +
            refine_iters`` steps at most); returning True stops.
        video: a .mp4/.gif filename or an open :class:`VideoWriter`; a frame
            every ``video_every`` steps.

    Returns:
        VectorizeResult. A KeyboardInterrupt ends the work early with
        ``interrupted=True`` and the paths so far.
    """
    if not isinstance(target, torch.Tensor) or target.dim() != 3 or target.shape[2] < 3:
        raise ValueError(f"vectorize: target must be a float tensor (H, W, 3); got "
                         f"{tuple(target.shape) if isinstance(target, torch.Tensor) else type(target).__name__}")
    if not isinstance(num_paths, int) or num_paths < 1:
        raise ValueError(f"vectorize: num_paths must be an integer >= 1; got {num_paths!r}")
    for name, value, low in (("iters", iters, 0), ("refine_iters", refine_iters, 0), ("num_segments", num_segments, 2),
                             ("num_samples", num_samples, 1), ("eval_samples", eval_samples, 1),
                             ("udf_every", udf_every, 1)):
        if not isinstance(value, int) or value < low:
            raise ValueError(f"vectorize: {name} must be an integer >= {low}; got {value!r}")
    if not 0.0 <= udf_blend <= 1.0 or not udf_tau > 0 or not xing_weight >= 0:
        raise ValueError(f"vectorize: need 0 <= udf_blend <= 1, udf_tau > 0, xing_weight >= 0; got "
                         f"{udf_blend}, {udf_tau}, {xing_weight}")
    target = target[..., :3].float().contiguous()
    height, width = target.shape[:2]
    device = target.device
    if isinstance(background, str):
        if background != "mean":
            raise ValueError(f"vectorize: background must be 'mean' or an RGB triple; got {background!r}")
        bg = target.reshape(-1, 3).mean(0)
    else:
        bg = torch.as_tensor(background, dtype=torch.float32, device=device).reshape(3)
    schedule = path_schedule(num_paths, stages)
    settings = {"udf_blend": udf_blend,
                "udf_tau": udf_tau, "udf_every": udf_every, "xing_weight": xing_weight, "samples": num_samples}
    max_radius = max(height, width) / 4.0 if max_radius is None else float(max_radius)
    draw = _renderer(height, width, seed)
    owns_sink = isinstance(video, (str, bytes)) or hasattr(video, "__fspath__")
    sink = VideoWriter(video) if owns_sink else video
    shapes: list = []
    colors: list = []
    current = bg.expand(height, width, 3).contiguous()
    stage_losses: List[float] = []
    step, interrupted, start = 0, False, time.perf_counter()
    try:
        for stage, count in enumerate(schedule):
            new_shapes, new_colors, radii = _new_paths(target, current, count, num_segments, max_radius,
                                                       seed + 7919 * stage)
            backdrop = _opaque(current)
            taken, stopped = _stage(target, backdrop, new_shapes, new_colors, radii, draw, iters, step, settings,
                                    callback, sink, max(1, video_every))
            step += taken
            shapes += new_shapes
            colors += new_colors
            with torch.no_grad():
                local = [ShapeGroup(shape_ids=torch.tensor([i], dtype=torch.int32), fill_color=c.detach())
                         for i, c in enumerate(new_colors)]
                current = draw(new_shapes, local, eval_samples, 0, backdrop)[..., :3]
            stage_losses.append(float(((current - target) ** 2).mean()))
            if stopped:
                interrupted = True
                break
    except KeyboardInterrupt:
        interrupted = True
    groups = [ShapeGroup(shape_ids=torch.tensor([i], dtype=torch.int32), fill_color=c.detach())
              for i, c in enumerate(colors[:len(shapes)])]
    for s in shapes:
        s.points = s.points.detach()
    try:
        result = _refine(shapes, groups, target, bg, refine_iters if not interrupted else 0, num_samples,
                         eval_samples, seed, step, callback, sink, max(1, video_every))
    finally:
        if sink is not None and owns_sink:
            sink.close()
    result.interrupted = result.interrupted or interrupted
    result.iterations += step
    result.seconds = time.perf_counter() - start
    result.stage_losses = stage_losses + ([result.loss] if refine_iters and not interrupted else [])
    return result


def _refine(shapes, groups, target, bg, iters, num_samples, eval_samples, seed, step0, callback, sink, video_every):
    """Every path together against the plain squared error (optim.fit:
    the best step, never worse than the input), then the result's render."""
    height, width = target.shape[:2]
    interrupted, taken = False, 0
    if shapes and iters > 0:
        shifted = None if callback is None else (lambda s, *rest: callback(step0 + s, *rest))
        fitted = fit(shapes, groups, target, iters=iters, what=("points", "colors"), background=bg,
                     lr_per_kind={"points": REFINE_POINT_STEP, "colors": REFINE_COLOR_STEP},
                     num_samples=num_samples, eval_samples=eval_samples, seed=seed + step0, callback=shifted,
                     video=sink, video_every=video_every)
        shapes, groups, interrupted, taken = fitted.shapes, fitted.groups, fitted.interrupted, fitted.iterations
    with torch.no_grad():
        image = composite(render(shapes, groups, width=width, height=height, num_samples=eval_samples, seed=seed,
                                 premultiplied=True), bg, premultiplied=True) if shapes else \
            bg.expand(height, width, 3).contiguous()
    mse = float(((image - target) ** 2).mean())
    return VectorizeResult(shapes, groups, bg, image, mse, psnr(image, target), taken, 0.0,
                           interrupted=interrupted, paths_before=len(shapes))


# ----------------------------------------------------------------------------- simplification

def _path_boxes(shapes, width, height):
    """(P, 4) int boxes [x0, y0, x1, y1) of each path's control points (the
    curve lies in their convex hull), one pixel wider for anti-aliasing,
    clipped to the image."""
    boxes = []
    for shape in shapes:
        low = shape.points.detach().min(0).values.cpu()
        high = shape.points.detach().max(0).values.cpu()
        boxes.append([max(0, int(math.floor(float(low[0]))) - 1), max(0, int(math.floor(float(low[1]))) - 1),
                      min(width, int(math.ceil(float(high[0]))) + 1), min(height, int(math.ceil(float(high[1]))) + 1)])
    return torch.tensor(boxes, dtype=torch.int64).reshape(-1, 4)


def removal_costs(shapes, groups, target, background, *, samples: int = 4, seed: int = 0) -> torch.Tensor:
    """How much the summed squared error (over pixels and channels) grows
    when each path alone is removed; negative where removing it helps.

    Exact up to sampling noise, and cheap: removing path i changes only the
    pixels of its box (:func:`_path_boxes`), so each cost is two renders of
    that crop with the paths whose boxes overlap it (with and without path
    i, the same samples) over ``background`` (RGB (3,)). Returns float (P,)."""
    height, width = target.shape[:2]
    boxes = _path_boxes(shapes, width, height)
    colors = [g.fill_color.detach() for g in groups]
    costs = torch.zeros(len(shapes), dtype=torch.float64)
    for index in range(len(shapes)):
        x0, y0, x1, y1 = boxes[index].tolist()
        if x1 <= x0 or y1 <= y0:
            continue  # outside the image: removing it changes nothing
        overlapping = ((boxes[:, 0] < x1) & (boxes[:, 2] > x0) & (boxes[:, 1] < y1) & (boxes[:, 3] > y0)).nonzero()
        offset = torch.tensor([float(x0), float(y0)], device=target.device)
        crop = target[y0:y1, x0:x1, :3]
        errors = []
        for keep_self in (True, False):
            ids = [int(j) for j in overlapping.flatten() if keep_self or int(j) != index]
            crop_shapes = [Path(num_control_points=shapes[j].num_control_points, points=shapes[j].points.detach() - offset,
                                is_closed=True, stroke_width=torch.tensor(0.0, device=target.device)) for j in ids]
            crop_groups = [ShapeGroup(shape_ids=torch.tensor([k], dtype=torch.int32), fill_color=colors[j])
                           for k, j in enumerate(ids)]
            with torch.no_grad():
                rgba = render(crop_shapes, crop_groups, width=x1 - x0, height=y1 - y0, num_samples=samples, seed=seed,
                              premultiplied=True) if ids else torch.zeros(y1 - y0, x1 - x0, 4, device=target.device)
                image = composite(rgba, background, premultiplied=True)
            errors.append(float(((image - crop) ** 2).double().sum()))
        costs[index] = errors[1] - errors[0]
    return costs


def simplify(result: VectorizeResult, target: torch.Tensor, *, threshold_db: float = 0.01, refit_iters: int = 40,
             num_samples: int = 2, eval_samples: int = 4, seed: int = 0,
             callback: Optional[Callable] = None) -> VectorizeResult:
    """Drops every path whose removal alone lowers the PSNR by less than
    ``threshold_db`` dB (or raises it), measured by :func:`removal_costs`
    against the result's own error, then fits the rest again together for
    ``refit_iters`` steps (plain squared error, never worse than the paths
    kept). The returned result has ``paths_before`` = the count given, and
    its ``stage_losses`` end with the MSE after the re-fit."""
    if not threshold_db >= 0:
        raise ValueError(f"simplify: threshold_db must be >= 0; got {threshold_db!r}")
    target = target[..., :3].float()
    start = time.perf_counter()
    count = target.shape[0] * target.shape[1] * 3
    costs = removal_costs(result.shapes, result.groups, target, result.background, samples=eval_samples, seed=seed)
    total = max(result.loss * count, 1e-12)
    # PSNR drop of removing path i alone: 10 log10((SSE + cost_i) / SSE).
    drops = 10.0 * torch.log10(((total + costs) / total).clamp(min=1e-12))
    keep = [i for i in range(len(result.shapes)) if float(drops[i]) >= threshold_db]
    shapes = [result.shapes[i] for i in keep]
    groups = [ShapeGroup(shape_ids=torch.tensor([k], dtype=torch.int32), fill_color=result.groups[i].fill_color)
              for k, i in enumerate(keep)]
    refined = _refine(shapes, groups, target, result.background, refit_iters, num_samples, eval_samples, seed, 0,
                      callback, None, 1)
    refined.paths_before = len(result.shapes)
    refined.stage_losses = list(result.stage_losses) + [refined.loss]
    refined.iterations = result.iterations + refined.iterations
    refined.seconds = result.seconds + time.perf_counter() - start
    refined.interrupted = refined.interrupted or result.interrupted
    return refined
