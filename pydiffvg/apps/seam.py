"""Vector seam carving: narrow a vector scene the way seam carving narrows a raster.

Seam carving (Avidan and Shamir, SIGGRAPH 2007) removes, one at a time, the
8-connected vertical pixel path of lowest total energy, where the energy is the
image's gradient magnitude. Here the scene stays vector: each round renders the
scene, carves a few seams out of the raster (the *target*), warps the shapes'
geometry by the same seams (the initial guess), and then optimises the geometry
so that the render of the narrower canvas matches the target. A smoothness
regulariser on the points' displacement keeps paths from tangling.

All images here are float32 tensors (H, W, C) on the CPU in linear RGB(A),
canvas coordinates in pixels (x right, y down, pixel (i, j) covers
[j, j+1) x [i, i+1)).
"""
from __future__ import annotations

import copy
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch

from ..render import render
from ..shapes import Circle, Ellipse, Path, Polygon, Rect

__all__ = ["composite_rgb", "gradient_energy", "find_vertical_seam", "remove_vertical_seam",
           "carve_image", "warp_scene_by_seams", "scale_scene_horizontally", "geometry_tensors",
           "carve_scene"]


def composite_rgb(image: torch.Tensor, background=(1.0, 1.0, 1.0)) -> torch.Tensor:
    """(H, W, 4) straight RGBA -> (H, W, 3) RGB over an opaque background colour."""
    if image.dim() != 3 or image.shape[-1] not in (3, 4):
        raise ValueError(f"composite_rgb(): image must be (H, W, 3|4), got {tuple(image.shape)}")
    if image.shape[-1] == 3:
        return image
    bg = torch.as_tensor(background, dtype=image.dtype, device=image.device)
    alpha = image[..., 3:4]
    return image[..., :3] * alpha + bg * (1 - alpha)


def gradient_energy(image: torch.Tensor) -> np.ndarray:
    """Gradient-magnitude energy (H, W) float64 of an (H, W, C) image:
    e = sum over channels of |dI/dx| + |dI/dy| with central differences
    (one-sided at the borders)."""
    img = image.detach().cpu().double().numpy()
    if img.ndim != 3:
        raise ValueError(f"gradient_energy(): image must be (H, W, C), got {img.shape}")
    dx = np.gradient(img, axis=1) if img.shape[1] > 1 else np.zeros_like(img)
    dy = np.gradient(img, axis=0) if img.shape[0] > 1 else np.zeros_like(img)
    return (np.abs(dx) + np.abs(dy)).sum(axis=2)


def find_vertical_seam(energy: np.ndarray) -> np.ndarray:
    """Lowest-energy 8-connected vertical seam by dynamic programming.

    cost[i, j] = energy[i, j] + min(cost[i-1, j-1], cost[i-1, j], cost[i-1, j+1]);
    the seam ends at argmin cost[H-1, :] and is traced back upwards.
    Returns (H,) int64 column indices, one per row.
    """
    energy = np.asarray(energy, dtype=np.float64)
    if energy.ndim != 2 or energy.shape[1] < 2:
        raise ValueError(f"find_vertical_seam(): energy must be (H, W) with W >= 2, got {energy.shape}")
    height, width = energy.shape
    cost = energy.copy()
    back = np.zeros((height, width), dtype=np.int64)
    cols = np.arange(width)
    for i in range(1, height):
        prev = cost[i - 1]
        left = np.concatenate([[np.inf], prev[:-1]])
        right = np.concatenate([prev[1:], [np.inf]])
        stacked = np.stack([left, prev, right])           # offsets -1, 0, +1
        choice = np.argmin(stacked, axis=0)
        back[i] = cols + choice - 1
        cost[i] += stacked[choice, cols]
    seam = np.empty(height, dtype=np.int64)
    seam[-1] = int(np.argmin(cost[-1]))
    for i in range(height - 1, 0, -1):
        seam[i - 1] = back[i, seam[i]]
    return seam


def remove_vertical_seam(image: torch.Tensor, seam: np.ndarray) -> torch.Tensor:
    """(H, W, C) image without the pixel seam[i] of each row i -> (H, W-1, C)."""
    height, width = image.shape[:2]
    keep = np.ones((height, width), dtype=bool)
    keep[np.arange(height), np.asarray(seam)] = False
    mask = torch.from_numpy(keep).to(image.device)
    return image[mask].reshape(height, width - 1, *image.shape[2:])


def carve_image(image: torch.Tensor, num_seams: int, energy_image: Optional[torch.Tensor] = None):
    """Remove `num_seams` vertical seams from an (H, W, C) image, recomputing
    the energy after each. `energy_image` (default: `image`) is carved alongside
    and used for the energy (e.g. RGB composited over the background).
    Returns (carved image (H, W - num_seams, C), list of seams, each (H,)
    in the columns of the image it was removed from)."""
    if not 0 <= num_seams < image.shape[1]:
        raise ValueError(f"carve_image(): num_seams must be in [0, {image.shape[1]}), got {num_seams}")
    energy_image = image if energy_image is None else energy_image
    seams = []
    for _ in range(num_seams):
        seam = find_vertical_seam(gradient_energy(energy_image))
        image = remove_vertical_seam(image, seam)
        energy_image = remove_vertical_seam(energy_image, seam)
        seams.append(seam)
    return image, seams


def _warp_x(points: torch.Tensor, seams: Sequence[np.ndarray]) -> torch.Tensor:
    """Move canvas points (N, 2) as seam removal moves pixels: for each seam
    in turn, with s its column in the point's row, x >= s+1 moves left by one,
    x in [s, s+1) collapses to s, x < s stays."""
    x, y = points[:, 0].clone(), points[:, 1]
    for seam in seams:
        seam_t = torch.as_tensor(seam, dtype=points.dtype, device=points.device)
        rows = y.floor().clamp(0, len(seam) - 1).long()
        s = seam_t[rows]
        x = torch.where(x >= s + 1, x - 1, torch.where(x >= s, s, x))
    return torch.stack([x, y], dim=1)


def _to_canvas(points: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    return points @ matrix[:2, :2].T + matrix[:2, 2]


def _from_canvas(points: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    inverse = torch.linalg.inv(matrix.double()).to(points.dtype)
    return points @ inverse[:2, :2].T + inverse[:2, 2]


def _shape_transforms(shapes, groups) -> List[torch.Tensor]:
    """The shape_to_canvas (3, 3) of each shape (its first group's)."""
    transforms = [torch.eye(3) for _ in shapes]
    for group in reversed(groups):
        for i in torch.as_tensor(group.shape_ids).reshape(-1).tolist():
            transforms[int(i)] = torch.as_tensor(group.shape_to_canvas, dtype=torch.float32)
    return transforms


def _point_fields(shape) -> List[str]:
    if isinstance(shape, (Path, Polygon)):
        return ["points"]
    if isinstance(shape, Rect):
        return ["p_min", "p_max"]
    if isinstance(shape, (Circle, Ellipse)):
        return ["center"]
    raise TypeError(f"vector seam carving: unsupported shape type {type(shape).__name__}")


def _map_shape_points(shapes, groups, fn: Callable[[torch.Tensor], torch.Tensor]):
    """Replace every point-like tensor p of every shape by fn(p in canvas
    space), mapped back to the shape's own coordinates."""
    for shape, matrix in zip(shapes, _shape_transforms(shapes, groups)):
        for field in _point_fields(shape):
            value = getattr(shape, field).detach().float()
            flat = value.reshape(-1, 2)
            mapped = _from_canvas(fn(_to_canvas(flat, matrix)), matrix)
            setattr(shape, field, mapped.reshape(value.shape).contiguous())


def warp_scene_by_seams(shapes, groups, seams: Sequence[np.ndarray]):
    """Copy of `shapes` whose points are moved as `seams` move pixels (see
    :func:`carve_image`). Groups are shared, not copied."""
    shapes = copy.deepcopy(shapes)
    _map_shape_points(shapes, groups, lambda p: _warp_x(p, seams))
    return shapes


def scale_scene_horizontally(shapes, groups, factor: float):
    """Copy of `shapes` with every canvas x multiplied by `factor` (the
    baseline that seam carving improves on). Ellipse x radii scale too; a
    Circle keeps its radius (it cannot be squashed)."""
    shapes = copy.deepcopy(shapes)
    _map_shape_points(shapes, groups, lambda p: p * torch.tensor([factor, 1.0]))
    for shape in shapes:
        if isinstance(shape, Ellipse):
            shape.radius = shape.radius.detach() * torch.tensor([factor, 1.0])
    return shapes


def geometry_tensors(shapes) -> List[torch.Tensor]:
    """The tensors that seam carving optimises: points, corners, centres
    and radii of every shape (in place, as leaf tensors with requires_grad)."""
    leaves = []
    for shape in shapes:
        fields = _point_fields(shape) + (["radius"] if isinstance(shape, (Circle, Ellipse)) else [])
        for field in fields:
            leaf = getattr(shape, field).detach().float().clone().requires_grad_(True)
            setattr(shape, field, leaf)
            leaves.append(leaf)
    return leaves


def _smoothness(shapes, reference: List[torch.Tensor]) -> torch.Tensor:
    """Mean over path and polygon points of |second difference of the
    displacement|^2 (pixels^2) along the point sequence (cyclic for closed
    shapes): zero for any translation or uniform stretch, large when
    neighbouring points cross."""
    total, count = torch.zeros(()), 0
    for shape, ref in zip([s for s in shapes if isinstance(s, (Path, Polygon))], reference):
        d = shape.points - ref
        if d.shape[0] < 3:
            continue
        if shape.is_closed:
            lap = torch.roll(d, 1, 0) + torch.roll(d, -1, 0) - 2 * d
        else:
            lap = d[:-2] + d[2:] - 2 * d[1:-1]
        total = total + (lap ** 2).sum()
        count += lap.shape[0]
    return total / max(count, 1)


def carve_scene(shapes, groups, width: int, height: int, target_width: int, *, seams_per_round: int = 4,
                steps: int = 20, lr: float = 0.3, smoothness: float = 0.01, num_samples: int = 2,
                background=(1.0, 1.0, 1.0), progress=None, on_round=None):
    """Vector seam carving of a scene to `target_width` pixels.

    shapes, groups: diffvg scene lists (not modified; copies are returned).
    width, height: the canvas size in pixels. target_width: 1 <= target_width <= width.
    seams_per_round: seams carved from the raster between optimisations.
    steps, lr: Adam steps and learning rate (pixels) per round.
    smoothness: weight of the displacement-smoothness regulariser.
    num_samples: samples per pixel side in each render.
    background: RGB the scene is composited over for the energy and the loss.
    progress: optional tqdm-like object, updated by the number of seams per round.
    on_round: optional callback(shapes, current_width, target_image) after each round.

    Returns (shapes, final_width): the carved shapes (float32 leaves, detached).
    """
    if not 1 <= target_width <= width:
        raise ValueError(f"carve_scene(): target_width must be in [1, {width}], got {target_width}")
    if seams_per_round < 1:
        raise ValueError(f"carve_scene(): seams_per_round must be >= 1, got {seams_per_round}")
    shapes = copy.deepcopy(shapes)
    current = width
    round_index = 0
    while current > target_width:
        count = min(seams_per_round, current - target_width)
        with torch.no_grad():
            rendered = composite_rgb(render(shapes, groups, width=current, height=height,
                                            num_samples=num_samples, seed=round_index), background)
        target, seams = carve_image(rendered, count)
        current -= count
        shapes = warp_scene_by_seams(shapes, groups, seams)
        leaves = geometry_tensors(shapes)
        reference = [s.points.detach().clone() for s in shapes if isinstance(s, (Path, Polygon))]
        optimizer = torch.optim.Adam(leaves, lr=lr)
        for step in range(steps):
            optimizer.zero_grad()
            image = composite_rgb(render(shapes, groups, width=current, height=height,
                                         num_samples=num_samples, seed=1000 * round_index + step), background)
            loss = ((image - target) ** 2).mean() + smoothness * _smoothness(shapes, reference)
            loss.backward()
            optimizer.step()
        for shape in shapes:
            for field in _point_fields(shape) + (["radius"] if isinstance(shape, (Circle, Ellipse)) else []):
                setattr(shape, field, getattr(shape, field).detach())
        if progress is not None:
            progress.update(count)
        if on_round is not None:
            on_round(shapes, current, target)
        round_index += 1
    return shapes, current
