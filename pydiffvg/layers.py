"""The scene as a tree: ``Layer`` nodes composited in torch.

A scene's ``shape_groups`` list may hold ``Layer`` objects beside
``ShapeGroup`` objects. A list of plain groups is the fast path: one kernel
call draws it. A ``Layer`` draws its children (groups and layers, in order)
into an image of its own, isolated from what lies below, and then
composites that image onto its parent:

    content = children composited with "over" (and their blend modes)
    content = filter(content)                    (a torch op on the image)
    content = content * clip coverage * mask value * opacity
    parent  = blend(parent, content)             (mix-blend-mode)

Runs of consecutive ``ShapeGroup`` children are drawn by the kernel as one
image each, premultiplied, at the output size; all the runs of a tree (clip
and mask content included) are drawn in one batched kernel call. The kernel
supplies the exact boundary gradients inside each image (clip and mask
edges too, since it draws them), and autograd carries the gradients through
the compositing below.

Coordinates: every group keeps its ``shape_to_canvas``; a clip path or a
mask is itself a ``Layer`` in canvas coordinates (the SVG importer resolves
clipPathUnits, maskUnits and the element's transform into it).

Filters: ``Layer.filter`` is any object with

* ``region``: ``(x0, y0, x1, y1)`` in canvas units, the filter region (the
  content is drawn over it, and nothing outside it survives), or ``None``
  for the whole canvas;
* ``apply(source, origin, scale, render_layer)``: ``source`` is the
  layer's content, a premultiplied sRGB float tensor (H, W, 4) covering the
  region, whose pixel (0, 0) has its top-left corner at canvas point
  ``origin`` and which has ``scale = (sx, sy)`` pixels per canvas unit;
  ``render_layer(layer, origin, scale, size)`` draws another layer (for
  feImage) the same way. It returns a tensor of the same shape.
"""
from __future__ import annotations

BLEND_MODES = ("normal", "multiply", "screen", "overlay", "darken", "lighten", "color-dodge",
               "color-burn", "hard-light", "soft-light", "difference", "exclusion", "hue",
               "saturation", "color", "luminosity")

__all__ = ["Layer", "BLEND_MODES"]


class Layer:
    """A node of the scene tree.

    children: list of ShapeGroup and Layer, drawn in order (shape ids index
        the scene's shape list, as for top-level groups).
    opacity: float or float tensor () in [0, 1]; the layer is drawn opaque,
        then faded as a whole (overlapping children do not double-darken).
    clip_path: None or a Layer whose alpha (coverage) multiplies this one.
    mask: None or a Layer; its luminance times its alpha (``mask_type``
        "luminance", SVG's default) or its alpha ("alpha") multiplies this
        layer. Luminance uses sRGB values with the linearRGB coefficients, as
        browsers do with color-interpolation sRGB.
    filter: None or a filter object (see the module docstring).
    blend_mode: one of BLEND_MODES (CSS mix-blend-mode).
    isolate: accepted for CSS ``isolation``; every Layer is already drawn
        isolated, so it only makes a plain group a layer.
    antialias: False draws the groups below with one sample at each pixel
        centre (SVG ``shape-rendering: crispEdges``); nested layers inherit
        it. Gradients still come from the boundary term, as if anti-aliased.
    id: the SVG id, kept for export.
    """

    def __init__(self, children, opacity=1.0, clip_path=None, mask=None, mask_type="luminance",
                 filter=None, blend_mode="normal", isolate=False, id="", antialias=True):
        self.children = list(children)
        self.opacity = opacity
        self.clip_path = clip_path
        self.mask = mask
        self.mask_type = mask_type
        self.filter = filter
        self.blend_mode = blend_mode
        self.isolate = bool(isolate)
        self.id = id
        self.antialias = bool(antialias)
        self.check()

    def check(self):
        from .shapes import ShapeGroup
        if self.blend_mode not in BLEND_MODES:
            raise ValueError(f"Layer: blend_mode must be one of {', '.join(BLEND_MODES)}, "
                             f"got {self.blend_mode!r}")
        if self.mask_type not in ("luminance", "alpha"):
            raise ValueError(f"Layer: mask_type must be 'luminance' or 'alpha', got {self.mask_type!r}")
        for k, child in enumerate(self.children):
            if not isinstance(child, (ShapeGroup, Layer)):
                raise TypeError(f"Layer: children[{k}] must be a ShapeGroup or a Layer, "
                                f"got {type(child).__name__}")
        for name in ("clip_path", "mask"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Layer):
                raise TypeError(f"Layer: {name} must be None or a Layer, got {type(value).__name__}")
        if self.filter is not None and not hasattr(self.filter, "apply"):
            raise TypeError(f"Layer: filter must have an apply() method, got {type(self.filter).__name__}")

    def groups(self):
        """Every ShapeGroup below this layer, clip and mask content included."""
        for child in self.children:
            if isinstance(child, Layer):
                yield from child.groups()
            else:
                yield child
        for sub in (self.clip_path, self.mask):
            if sub is not None:
                yield from sub.groups()

    def __repr__(self):
        extras = [f"{n}=..." for n in ("clip_path", "mask", "filter") if getattr(self, n) is not None]
        if self.blend_mode != "normal":
            extras.append(f"blend_mode={self.blend_mode!r}")
        return f"Layer({len(self.children)} children, opacity={self.opacity}{', ' if extras else ''}" \
               f"{', '.join(extras)})"


# ----------------------------------------------------------------------------
# Rendering the tree
# ----------------------------------------------------------------------------
#
# Three passes. ``_Planner.plan`` walks the tree and gives every node a
# *frame*: a rectangle of output pixels (ox, oy, w, h) on the output grid.
# A layer's frame is the pixel box of what it can cover (its groups' boxes,
# cut by its clip's box and by its parent's frame); a filtered layer's frame
# is its filter region instead. Every run of consecutive groups becomes a
# *job*: its groups drawn into its layer's frame. ``_Planner.draw`` renders
# all jobs, bucketed by frame size (rounded up to a power of two), one
# batched kernel call per bucket. ``_Planner.evaluate`` composites
# bottom-up with torch ops; a child's image is pasted into its parent's
# frame by slicing, so memory and work follow the frames, not the canvas.

import math

import torch

#: Kernel calls made by tree renders since import (tests and benchmarks read it).
KERNEL_CALLS = 0
#: The images of one tree render (4 float32 channels per pixel of every
#: job's frame) may take at most this many bytes; past it render raises a
#: ValueError instead of running out of memory. One kernel call draws at
#: most MAX_CALL_BYTES of them.
MAX_LAYER_BYTES = 8 << 30
MAX_CALL_BYTES = 1 << 30
#: Frames are cut to this many canvas sizes around the canvas (content far
#: outside cannot reach the image except through a filter's offset or blur).
FRAME_MARGIN = 1.0


def has_layers(groups):
    return any(isinstance(g, Layer) for g in groups)


class _Job:
    __slots__ = ("shapes", "groups", "frame", "image", "scene", "crisp")

    def __init__(self, shapes, groups, frame, scene, crisp=False):
        self.shapes, self.groups, self.frame, self.image, self.scene = shapes, groups, frame, None, scene
        self.crisp = crisp


class _Node:
    __slots__ = ("layer", "frame", "items", "clip", "mask")

    def __init__(self, layer, frame):
        self.layer, self.frame, self.items, self.clip, self.mask = layer, frame, [], None, None


def _corners_box(m, x0, y0, x1, y1):
    xs = [m[0][0] * x + m[0][1] * y + m[0][2] for x in (x0, x1) for y in (y0, y1)]
    ys = [m[1][0] * x + m[1][1] * y + m[1][2] for x in (x0, x1) for y in (y0, y1)]
    return min(xs), min(ys), max(xs), max(ys)


def _shape_box(shape):
    from .shapes import Circle, Ellipse, Rect
    if isinstance(shape, (Circle, Ellipse)):
        c = shape.center.detach().double().reshape(-1).tolist()
        r = shape.radius.detach().double().abs().reshape(-1).tolist()
        rx, ry = (r[0], r[0]) if len(r) == 1 else (r[0], r[1])
        return c[0] - rx, c[1] - ry, c[0] + rx, c[1] + ry
    if isinstance(shape, Rect):
        a = shape.p_min.detach().double().tolist()
        b = shape.p_max.detach().double().tolist()
        return min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])
    pts = shape.points.detach().double().reshape(-1, 2)
    if pts.shape[0] == 0:
        return None
    lo, hi = pts.min(dim=0).values.tolist(), pts.max(dim=0).values.tolist()
    return lo[0], lo[1], hi[0], hi[1]


def _stroke_reach(shape):
    from .shapes import LineJoin
    w = float(shape.stroke_width.detach().abs().max()) if shape.stroke_width.numel() else 0.0
    factor = max(float(shape.miter_limit), 1.5) if shape.line_join == LineJoin.miter else 1.5
    return w * factor


class _Planner:
    """Plans, draws and composites the trees of a batch of scenes."""

    def __init__(self, render_flat, scale, pad):
        self.render_flat = render_flat      # (scenes, width, height) -> premultiplied (B, H, W, 4)
        self.scale = scale                  # (sx, sy) output pixels per canvas unit
        self.pad = pad                      # anti-aliasing margin in output pixels
        self.jobs = []
        self.full = None      # the output's frame (0, 0, W, H), drawn without copies
        self.canvas = None
        self.scene_index = 0  # the scene of the batch being planned

    # -- pass 1 --------------------------------------------------------------
    def to_pixels(self, matrix):
        sx, sy = self.scale
        m = matrix.detach().double().tolist()
        return [[sx * m[0][0], sx * m[0][1], sx * m[0][2]], [sy * m[1][0], sy * m[1][1], sy * m[1][2]]]

    def group_box(self, group, shapes):
        """Output-pixel box (x0, y0, x1, y1) that can hold what ``group`` draws."""
        m = self.to_pixels(group.shape_to_canvas)
        box = None
        for i in group.shape_ids.reshape(-1).tolist():
            if not 0 <= i < len(shapes):
                raise ValueError(f"ShapeGroup: shape id {i} out of range for {len(shapes)} shapes")
            b = _shape_box(shapes[i])
            if b is None:
                continue
            r = _stroke_reach(shapes[i]) if group.stroke_color is not None else 0.0
            b = _corners_box(m, b[0] - r, b[1] - r, b[2] + r, b[3] + r)
            box = b if box is None else (min(box[0], b[0]), min(box[1], b[1]), max(box[2], b[2]),
                                         max(box[3], b[3]))
        return box

    def node_box(self, layer, shapes):
        box = None
        for child in layer.children:
            b = self.node_box(child, shapes) if isinstance(child, Layer) else self.group_box(child, shapes)
            if b is not None:
                box = b if box is None else (min(box[0], b[0]), min(box[1], b[1]), max(box[2], b[2]),
                                             max(box[3], b[3]))
        if box is not None and layer.clip_path is not None:
            box = _intersect(box, self.node_box(layer.clip_path, shapes))
        if box is not None and layer.mask is not None:
            box = _intersect(box, self.node_box(layer.mask, shapes))
        if layer.filter is not None:
            box = self.filter_box(layer, shapes)
        return box

    def filter_box(self, layer, shapes):
        region = getattr(layer.filter, "region", None)
        sx, sy = self.scale
        if region is None:  # the content's box, else the clip's (a filter may still bleed past it)
            box = self.node_box(Layer(layer.children), shapes)
            if box is None and layer.clip_path is not None:
                box = self.node_box(layer.clip_path, shapes)
            return box
        return (region[0] * sx, region[1] * sy, region[2] * sx, region[3] * sy)

    def frame_of(self, box, parent):
        """Integer pixel frame: ``box`` grown by the AA margin, cut by ``parent``."""
        if box is None:
            return None
        ox, oy, w, h = parent
        x0 = max(math.floor(box[0] - self.pad), ox)
        y0 = max(math.floor(box[1] - self.pad), oy)
        x1 = min(math.ceil(box[2] + self.pad), ox + w)
        y1 = min(math.ceil(box[3] + self.pad), oy + h)
        if x1 <= x0 or y1 <= y0:
            return None
        return (x0, y0, x1 - x0, y1 - y0)

    def plan(self, layer, shapes, frame, crisp=False):
        """A _Node for ``layer`` drawn in ``frame`` (or None when empty)."""
        node = _Node(layer, frame)
        run = []
        crisp = crisp or not layer.antialias

        def flush():
            if run:
                job = _Job(shapes, list(run), frame, self.scene_index, crisp)
                self.jobs.append(job)
                node.items.append(job)
                run.clear()

        for child in layer.children:
            if not isinstance(child, Layer):
                run.append(child)
                continue
            flush()
            sub = self.plan_child(child, shapes, frame, crisp)
            if sub is not None:
                node.items.append(sub)
        flush()
        return node

    def plan_child(self, layer, shapes, parent, crisp=False):
        if layer.filter is not None:
            # the filter sees its whole region, not only the parent's frame
            ox, oy, w, h = parent
            mx, my = FRAME_MARGIN * w, FRAME_MARGIN * h
            frame = self.frame_of(self.filter_box(layer, shapes),
                                  (math.floor(ox - mx), math.floor(oy - my), math.ceil(w + 2 * mx),
                                   math.ceil(h + 2 * my)))
        else:
            frame = self.frame_of(self.node_box(layer, shapes), parent)
        return None if frame is None else self.plan_with_effects(layer, shapes, frame, crisp)

    def plan_with_effects(self, layer, shapes, frame, crisp=False):
        """plan(), with the layer's clip and mask (and theirs) in the same frame."""
        node = self.plan(layer, shapes, frame, crisp)
        if layer.clip_path is not None:
            node.clip = self.plan_with_effects(layer.clip_path, shapes, frame, crisp)
        if layer.mask is not None:
            node.mask = self.plan_with_effects(layer.mask, shapes, frame, crisp)
        return node

    # -- pass 2 --------------------------------------------------------------
    def draw(self):
        """Renders every job: one kernel call per bucket of frame sizes."""
        global KERNEL_CALLS
        buckets = {}
        for job in self.jobs:
            if job.frame == self.full:
                buckets.setdefault(("full", job.crisp), []).append(job)
                continue
            _, _, w, h = job.frame
            buckets.setdefault(((_pow2(w), _pow2(h)), job.crisp), []).append(job)
        total = sum(16 * _pow2(j.frame[2]) * _pow2(j.frame[3]) for j in self.jobs)
        if total > MAX_LAYER_BYTES:
            raise ValueError(f"render: the layers of this scene need {total / 2**30:.1f} GiB of images "
                             f"({len(self.jobs)} layer images), more than pydiffvg.layers.MAX_LAYER_BYTES "
                             f"({MAX_LAYER_BYTES / 2**30:.1f} GiB); render at a smaller size or with fewer layers")
        for key in list(buckets):  # split big buckets into calls of at most MAX_CALL_BYTES
            jobs = buckets.pop(key)
            w, h = (self.full[2], self.full[3]) if key[0] == "full" else key[0]
            per_call = max(1, MAX_CALL_BYTES // (16 * w * h))
            for start in range(0, len(jobs), per_call):
                buckets[(key, start)] = jobs[start:start + per_call]
        sx, sy = self.scale
        # every frame samples the random streams of its place in its scene's
        # output, so a layer's image is the one the whole canvas would give
        size = self.full[2:] if self.full is not None else (1, 1)
        for ((key, crisp), _), jobs in buckets.items():
            streams = ([(job.scene, job.frame[0], job.frame[1]) for job in jobs], size[0], size[1]) \
                if self.full is not None else None
            if key == "full":  # the whole output: the caller's canvas and groups as they are
                images = self.render_flat([(self.canvas[0], self.canvas[1], job.shapes, job.groups)
                                           for job in jobs], self.full[2], self.full[3], streams, crisp)
                KERNEL_CALLS += 1
                for job, image in zip(jobs, images):
                    job.image = image
                continue
            bw, bh = key
            scenes = []
            for job in jobs:
                ox, oy, _, _ = job.frame
                shift = torch.tensor([[float(sx), 0.0, -float(ox)], [0.0, float(sy), -float(oy)], [0.0, 0.0, 1.0]],
                                     dtype=torch.float32)
                scenes.append(_job_scene(job, shift, bw, bh))
            images = self.render_flat(scenes, bw, bh, streams, crisp)
            KERNEL_CALLS += 1
            for job, image in zip(jobs, images):
                _, _, w, h = job.frame
                job.image = image[:h, :w]

    # -- pass 3 --------------------------------------------------------------
    def evaluate(self, node):
        """The premultiplied image (h, w, 4) of ``node`` over its frame."""
        ox, oy, w, h = node.frame
        acc = None
        run = []  # (image, dx, dy) composited with "over", not yet applied

        def flush(acc):
            if run:
                acc = over_sequence(acc, run, h, w, self.device)
                run.clear()
            return acc

        for item in node.items:
            if isinstance(item, _Job):
                image, frame, mode = item.image, item.frame, "normal"
            else:
                image, frame, mode = self.evaluate_layer(item), item.frame, item.layer.blend_mode
            if mode == "normal":
                run.append((image, frame[0] - ox, frame[1] - oy))
                continue
            acc = flush(acc)
            if acc is None:
                acc = torch.zeros((h, w, 4), device=self.device)
            acc = _paste(acc, image, frame[0] - ox, frame[1] - oy, mode)
        acc = flush(acc)
        return acc if acc is not None else torch.zeros((h, w, 4), device=self.device)

    def evaluate_layer(self, node):
        layer = node.layer
        image = self.evaluate(node)
        if layer.filter is not None:
            sx, sy = self.scale
            ox, oy, _, _ = node.frame
            image = layer.filter.apply(image, (ox / sx, oy / sy), self.scale, self.render_layer)
        if node.clip is not None:
            image = image * self.evaluate_layer(node.clip)[..., 3:4]
        if node.mask is not None:
            m = self.evaluate_layer(node.mask)
            if layer.mask_type == "alpha":
                value = m[..., 3:4]
            else:  # luminance of premultiplied sRGB = luminance x alpha
                value = (m[..., 0:1] * 0.2125 + m[..., 1:2] * 0.7154 + m[..., 2:3] * 0.0721)
            image = image * value
        opacity = layer.opacity
        if not (isinstance(opacity, (int, float)) and opacity == 1):
            image = image * opacity
        return image

    def render_layer(self, layer, origin, scale, size, shapes=None):
        """Draws ``layer`` alone into a (size[1], size[0], 4) premultiplied
        image whose pixel (0, 0) starts at canvas point ``origin``, at
        ``scale`` pixels per canvas unit (filters use it for feImage)."""
        planner = _Planner(self.render_flat, (float(scale[0]), float(scale[1])), self.pad)
        planner.device = self.device
        planner.shapes = shapes if shapes is not None else self.shapes
        shift = torch.tensor([[1.0, 0.0, -float(origin[0])], [0.0, 1.0, -float(origin[1])], [0.0, 0.0, 1.0]],
                             dtype=torch.float32)
        node = planner.plan(_transformed(Layer([layer]), shift), planner.shapes, (0, 0, int(size[0]), int(size[1])))
        planner.draw()
        return planner.evaluate(node)


def _intersect(a, b):
    if a is None or b is None:
        return None
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[2] > box[0] and box[3] > box[1] else None


def _pow2(n):
    return max(16, 1 << (int(n) - 1).bit_length())


def _transformed(layer, matrix):
    """A copy of the tree under ``layer`` with ``matrix`` applied before
    every group's transform."""
    def move(node):
        if isinstance(node, Layer):
            return Layer([move(c) for c in node.children], node.opacity,
                         move(node.clip_path) if node.clip_path is not None else None,
                         move(node.mask) if node.mask is not None else None, node.mask_type, node.filter,
                         node.blend_mode, node.isolate, node.id, node.antialias)
        return _with_matrix(node, matrix @ node.shape_to_canvas.to(torch.float32))
    return move(layer)


def _with_matrix(group, matrix):
    from .shapes import ShapeGroup
    return ShapeGroup(group.shape_ids, group.fill_color, group.use_even_odd_rule, group.stroke_color,
                      matrix, group.id)


def _job_scene(job, shift, width, height):
    """The job's groups as a flat scene on a (width, height) canvas, drawn
    with ``shift`` (canvas -> frame pixels) before each group's transform;
    only the shapes the groups use are packed."""
    from .scene_types import Scene
    used, remap = [], {}
    groups = []
    for g in job.groups:
        ids = []
        for i in g.shape_ids.reshape(-1).tolist():
            if i not in remap:
                remap[i] = len(used)
                used.append(job.shapes[i])
            ids.append(remap[i])
        moved = _with_matrix(g, shift @ g.shape_to_canvas.to(torch.float32))
        moved.shape_ids = torch.tensor(ids, dtype=torch.int32)
        groups.append(moved)
    return Scene(width, height, used, groups)


def _crop(image, dx, dy, h, w):
    """The part of ``image`` placed at (dx, dy) that falls in an (h, w)
    frame, and its offset; None when nothing does."""
    ih, iw = image.shape[0], image.shape[1]
    x0, y0, x1, y1 = max(dx, 0), max(dy, 0), min(dx + iw, w), min(dy + ih, h)
    if x1 <= x0 or y1 <= y0:
        return None
    return image[y0 - dy:y1 - dy, x0 - dx:x1 - dx], x0, y0


class _OverSequence(torch.autograd.Function):
    """Images composited in order with "over" into an (h, w) frame, each at
    its own offset, optionally onto a base image.

    Forward works in place on one frame-sized buffer, keeping only the slice
    of the buffer each image covered before it was drawn. Backward runs the
    steps in reverse on one frame-sized gradient buffer G. On the slice a
    step covers, out_c = src_c + prev_c (1 - a) for the four channels c,
    with a the source's alpha, so
        dL/dsrc_c = G_c  (and the alpha also gets  -sum_c G_c prev_c),
        dL/dprev_c = G_c (1 - a),
    and the second becomes G for the earlier steps. So time and memory follow the
    images' areas, not (number of images) x (frame area)."""

    @staticmethod
    def forward(ctx, h, w, offsets, base, *images):
        acc = base.detach().clone() if base is not None else images[0].new_zeros((h, w, 4))
        keep = any(ctx.needs_input_grad)  # the slices below are only for backward
        saved = []
        for i, (image, (x0, y0)) in enumerate(zip(images, offsets)):
            ih, iw = image.shape[0], image.shape[1]
            view = acc[y0:y0 + ih, x0:x0 + iw]
            if keep:
                saved.append(view.clone())
            if i == 0 and base is None:
                view.copy_(image)  # over nothing: the image itself
            else:
                view.mul_(1 - image[..., 3:4]).add_(image)
        ctx.offsets = offsets
        ctx.has_base = base is not None
        ctx.save_for_backward(*images, *saved)
        return acc

    @staticmethod
    def backward(ctx, grad):
        n = len(ctx.offsets)
        tensors = ctx.saved_tensors
        images, saved = tensors[:n], tensors[n:]
        g = grad.clone()
        grads = [None] * n
        for k in range(n - 1, -1, -1):
            image, prev = images[k], saved[k]
            x0, y0 = ctx.offsets[k]
            ih, iw = image.shape[0], image.shape[1]
            view = g[y0:y0 + ih, x0:x0 + iw]
            gk = view.clone()
            gk[..., 3:4] -= (view * prev).sum(dim=-1, keepdim=True)
            grads[k] = gk
            view.mul_(1 - image[..., 3:4])
        return (None, None, None, g if ctx.has_base else None, *grads)


def over_sequence(base, items, h, w, device):
    """``items`` = [(image, dx, dy), ...] composited with "over", in order,
    into an (h, w) frame (onto ``base`` when it is not None)."""
    images, offsets = [], []
    for image, dx, dy in items:
        cut = _crop(image, dx, dy, h, w)
        if cut is not None:
            images.append(cut[0])
            offsets.append((cut[1], cut[2]))
    if not images:
        return base if base is not None else torch.zeros((h, w, 4), device=device)
    if base is None and len(images) == 1 and offsets[0] == (0, 0) and images[0].shape[:2] == (h, w):
        return images[0]
    return _OverSequence.apply(h, w, offsets, base, *images)


def _paste(acc, image, dx, dy, mode):
    """``image`` composited onto ``acc`` at offset (dx, dy) with ``mode``;
    only the covered slice is touched (the rest of ``acc`` is kept)."""
    h, w = image.shape[0], image.shape[1]
    H, W = acc.shape[0], acc.shape[1]
    x0, y0, x1, y1 = max(dx, 0), max(dy, 0), min(dx + w, W), min(dy + h, H)
    if x1 <= x0 or y1 <= y0:
        return acc
    src = image[y0 - dy:y1 - dy, x0 - dx:x1 - dx]
    if (x0, y0, x1, y1) == (0, 0, W, H):
        return blend(acc, src, mode)
    out = acc.clone()
    out[y0:y1, x0:x1] = blend(acc[y0:y1, x0:x1], src, mode)
    return out


def blend(backdrop, source, mode="normal"):
    """``source`` composited onto ``backdrop`` (premultiplied RGBA, ``...x4``)
    with a CSS blend mode (mix-blend-mode). One implementation serves this
    and feBlend: ``pydiffvg.filters.blend_images``."""
    from .filters import blend_images
    return blend_images(backdrop, source, mode)


def render_tree(scenes, width, height, render_flat, pad, device):
    """Renders a batch of scenes whose group lists hold Layers: a
    premultiplied (B, H, W, 4) image. ``render_flat(scenes, w, h)`` draws
    flat scenes premultiplied (the kernel, with the caller's settings)."""
    cw, ch = scenes[0][0], scenes[0][1]
    planner = _Planner(render_flat, (width / float(cw), height / float(ch)), pad)
    planner.device = device
    planner.full, planner.canvas = (0, 0, width, height), (cw, ch)
    roots = []
    for index, (_, _, shapes, groups) in enumerate(scenes):
        planner.shapes = shapes
        planner.scene_index = index
        root = Layer(groups)
        roots.append(planner.plan(root, shapes, (0, 0, width, height)))
    planner.draw()
    images = []
    for (_, _, shapes, _), root in zip(scenes, roots):
        planner.shapes = shapes
        image = planner.evaluate(root)
        if image.shape[:2] != (height, width):
            image = _paste(image.new_zeros((height, width, 4)), image, root.frame[0], root.frame[1], "normal")
        images.append(image)
    return torch.stack(images)
