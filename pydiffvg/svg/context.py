"""``context-fill`` and ``context-stroke`` that name a gradient (SVG 2 13.2.2,
"context paint"): the paint server is used in the coordinate system of the
context element, with the context element's bounding box for
``objectBoundingBox`` units, not the shape's own.

The context element is a ``use`` (for its shadow tree) or the shape that
carries a marker. While its content is walked, a frame records its
transform to the canvas and, for markers, its bounding box; a ``use``'s box
is that of its content, known only once the content is drawn. So a shape
whose context paint is a gradient gets a placeholder paint, and when the
frame closes the gradient is built in the context's user space and carried
into the shape's user space (``paints.transform_paint``), replacing the
placeholder in every group that holds it.
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np
import torch

from . import paints


class _Frame:
    def __init__(self, ctm, bbox, first_group):
        self.ctm = np.asarray(ctm, dtype=np.float64)
        self.bbox = bbox
        self.first_group = first_group
        self.pending: List[tuple] = []


def push(loader, ctm, bbox=None):
    frames = _frames(loader)
    frames.append(_Frame(ctm, bbox, len(loader.groups)))


def pop(loader):
    """Closes the innermost frame: resolves its deferred gradient paints."""
    frame = _frames(loader).pop()
    if not frame.pending:
        return
    bbox = frame.bbox
    if bbox is None:  # a use element: the box of what it drew, in its user space
        bbox = groups_bbox(loader.shapes, loader.groups[frame.first_group:], np.linalg.inv(frame.ctm))
    to_context_cache = {}
    for placeholder, value, style, alpha, elem, shape_ctm, extent, viewport in frame.pending:
        key = id(placeholder)
        if key in to_context_cache:
            continue
        to_context_cache[key] = True
        # shape user space -> context user space, for the extent to unroll over
        to_context = np.linalg.solve(frame.ctm, np.asarray(shape_ctm, dtype=np.float64))
        extent_ctx = _box_under(extent, to_context)
        paint = loader.paint(value, style, bbox, viewport, alpha, elem, extent_ctx) if bbox else None
        if paint is not None and not isinstance(paint, torch.Tensor):
            paint = paints.transform_paint(loader, paint, np.linalg.inv(to_context), loader.describe(elem))
        for group in loader.groups[frame.first_group:]:
            if group.fill_color is placeholder:
                group.fill_color = paint
            if group.stroke_color is placeholder:
                group.stroke_color = paint


def deferred_paint(loader, raw_value: str, value: str, style, alpha, elem, ctm, extent, viewport):
    """A placeholder paint when ``raw_value`` is context-fill/stroke that
    resolves to a url(#...) inside a context frame (resolved by ``pop``);
    None otherwise (the caller resolves the paint itself)."""
    frames = _frames(loader)
    if not frames or raw_value.strip().lower() not in ("context-fill", "context-stroke"):
        return None
    if not value.strip().lower().startswith("url("):
        return None
    placeholder = torch.zeros(4)
    frames[-1].pending.append((placeholder, value, style, alpha, elem, np.asarray(ctm), extent, viewport))
    return placeholder


def _frames(loader):
    frames = getattr(loader, "context_frames", None)
    if frames is None:
        frames = loader.context_frames = []
    return frames


def groups_bbox(shapes, groups, to_space) -> Optional[tuple]:
    """Bounding box, in the space ``to_space`` maps the canvas to, of the
    geometry of ``groups`` (control points of paths; the corners of the boxes
    of circles, ellipses and rectangles)."""
    from ..shapes import Circle, Ellipse, Path, Polygon, Rect
    boxes = []
    for group in groups:
        matrix = np.asarray(to_space) @ group.shape_to_canvas.detach().double().numpy()
        for index in group.shape_ids.tolist():
            shape = shapes[index]
            if isinstance(shape, (Path, Polygon)):
                pts = shape.points.detach().double().numpy().reshape(-1, 2)
            elif isinstance(shape, Rect):
                pts = np.stack([shape.p_min.detach().double().numpy(), shape.p_max.detach().double().numpy()])
            elif isinstance(shape, (Circle, Ellipse)):
                c = shape.center.detach().double().numpy()
                r = np.broadcast_to(shape.radius.detach().double().numpy(), (2,))
                pts = np.stack([c - r, c + r])
            else:
                continue
            if len(pts) == 0:
                continue
            low, high = pts.min(0), pts.max(0)
            box = _box_under((low[0], low[1], high[0], high[1]), matrix)
            boxes.append(box)
    if not boxes:
        return None
    boxes = np.array(boxes)
    return (float(boxes[:, 0].min()), float(boxes[:, 1].min()), float(boxes[:, 2].max()), float(boxes[:, 3].max()))


def _box_under(box, matrix) -> Optional[tuple]:
    if box is None:
        return None
    xmin, ymin, xmax, ymax = box
    corners = np.array([[xmin, ymin, 1.0], [xmax, ymin, 1.0], [xmax, ymax, 1.0], [xmin, ymax, 1.0]])
    mapped = corners @ np.asarray(matrix).T
    return (float(mapped[:, 0].min()), float(mapped[:, 1].min()),
            float(mapped[:, 0].max()), float(mapped[:, 1].max()))
