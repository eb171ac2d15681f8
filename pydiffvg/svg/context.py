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

from ..layers import Layer
from ..shapes import ShapeGroup
from . import masking, paints, patterns


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
        bbox = masking.content_bbox(loader, loader.groups[frame.first_group:], frame.ctm)
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
        if isinstance(paint, patterns.PatternRef):
            _pattern_parts(loader, frame, placeholder, paint)
            continue
        if paint is not None and not isinstance(paint, torch.Tensor):
            paint = paints.transform_paint(loader, paint, np.linalg.inv(to_context), loader.describe(elem))
        for group in loader.groups[frame.first_group:]:
            if isinstance(group, Layer):
                continue
            if group.fill_color is placeholder:
                group.fill_color = paint
            if group.stroke_color is placeholder:
                group.stroke_color = paint


def _pattern_parts(loader, frame, placeholder, ref):
    """Every group painted with ``placeholder`` loses that paint and gets a
    pattern layer (in the context element's space) clipped to the part it
    painted, right after it."""
    out = []
    for group in loader.groups[frame.first_group:]:
        out.append(group)
        if isinstance(group, Layer):
            continue
        for name in ("fill_color", "stroke_color"):
            if getattr(group, name) is not placeholder:
                continue
            setattr(group, name, None)
            white = torch.ones(4)
            shape = ShapeGroup(group.shape_ids, white if name == "fill_color" else None, group.use_even_odd_rule,
                               white if name == "stroke_color" else None, group.shape_to_canvas, group.id)
            layer = patterns.pattern_layer(loader, ref, frame.ctm, Layer([shape]))
            if layer is not None:
                layer.paint_part = "fill" if name == "fill_color" else "stroke"
                out.append(layer)
    loader.groups[frame.first_group:] = [g for g in out if isinstance(g, Layer)
                                         or g.fill_color is not None or g.stroke_color is not None]


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


def _box_under(box, matrix) -> Optional[tuple]:
    if box is None:
        return None
    xmin, ymin, xmax, ymax = box
    corners = np.array([[xmin, ymin, 1.0], [xmax, ymin, 1.0], [xmax, ymax, 1.0], [xmin, ymax, 1.0]])
    mapped = corners @ np.asarray(matrix).T
    return (float(mapped[:, 0].min()), float(mapped[:, 1].min()),
            float(mapped[:, 0].max()), float(mapped[:, 1].max()))
