"""Packing shapes and groups into a few flat tensors.

The packer exists once; forward and backward both use its output. Values
that can carry gradients (points, widths, radii, colours, stops, transforms)
are combined with torch ops (``cat``, ``stack``, ``index_select``, ``inv``)
so autograd routes the gradients of the flat tensors back to the user's
tensors. Integer structure (segment kinds, offsets, ids) is built with NumPy
and never needs gradients.

Layout (S shapes, P path points, N path segments, G groups, M (group, shape)
pairs, K gradient stops, B scenes) matches ``csrc/vg/scene.h``:

  shape_kind [S] int32          0 circle, 1 ellipse, 2 rect, 3 path
  shape_params [S,4] float      circle cx,cy,r,r; ellipse cx,cy,rx,ry; rect x0,y0,x1,y1
  shape_width [S] float         stroke half width (non-path shapes)
  points [P,2], point_width [P] path points and per-point half widths
  segment_degree [N], segment_points [N,4] int32
  group_to_output, group_to_shape [G,3,3] float
  paint_kind [2G], paint_params [2G,8], paint_stop_begin [2G+1], stop_offsets [K], stop_colors [K,4]
"""
from __future__ import annotations

import itertools
import math
import operator
import threading
import weakref
from dataclasses import dataclass

import numpy as np
import torch

from .shapes import Circle, Ellipse, LinearGradient, Path, Polygon, RadialGradient, Rect, ShapeGroup

KIND_CIRCLE, KIND_ELLIPSE, KIND_RECT, KIND_PATH = 0, 1, 2, 3
PAINT_NONE, PAINT_SOLID, PAINT_LINEAR, PAINT_RADIAL = 0, 1, 2, 3

# The differentiable flat tensors, in the order the autograd function takes them.
FLOAT_FIELDS = ("shape_params", "shape_width", "points", "point_width", "group_to_output",
                "group_to_shape", "paint_params", "stop_offsets", "stop_colors")


@dataclass
class PackedScene:
    """Flat tensors of a batch of scenes on one device.

    ``floats`` maps each name of FLOAT_FIELDS to a float32 tensor that is
    differentiable back to the user's tensors; ``ints`` holds int32 structure
    tensors; ``counts`` the sizes the kernels need.
    """
    floats: dict
    ints: dict
    counts: dict
    device: torch.device
    # For error messages and the compat layer: where each shape came from.
    shapes: list
    groups: list


def _fail(message):
    raise ValueError(message)


def _check_vector(t, length, what):
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"{what} must be a float tensor, got dtype {t.dtype}")
    if t.numel() != length:
        raise ValueError(f"{what} must have {length} elements, got shape {tuple(t.shape)}")


_STRUCTURE_CACHE: dict = {}
_STRUCTURE_BY_TENSOR: dict = {}  # id(tensor) -> (weak reference, version, (points, closed), result)


def _path_structure(num_control_points, num_points, closed, where):
    """Segment degrees and absolute-free point indices of one path.

    Returns (degrees [n], indices [n,4]) with indices relative to the path's
    first point. Open paths need 1 + sum(k + 1) points, closed ones
    sum(k + 1); the last segment of a closed path ends at point 0. Paths
    share few distinct structures, so the answers are cached.
    """
    if isinstance(num_control_points, torch.Tensor):
        # The same tensor, unchanged since (its version counter), has the same
        # structure: no need to read it back (tolist) or hash its counts.
        memo = _STRUCTURE_BY_TENSOR.get(id(num_control_points))
        if memo is not None and memo[0]() is num_control_points and memo[1] == num_control_points._version \
                and memo[2] == (num_points, bool(closed)):
            return memo[3]
    if isinstance(num_control_points, (torch.Tensor, np.ndarray)):
        flat = num_control_points if num_control_points.ndim == 1 else num_control_points.reshape(-1)
        counts = tuple(flat.tolist())
    else:
        counts = tuple(np.asarray(num_control_points).reshape(-1).tolist())
    key = (counts, num_points, bool(closed))
    cached = _STRUCTURE_CACHE.get(key)
    if cached is not None:
        _remember_structure(num_control_points, num_points, closed, cached)
        return cached
    ncp = np.asarray(counts, dtype=np.int64).reshape(-1)
    if ncp.size and (ncp.min() < 0 or ncp.max() > 2):
        _fail(f"{where}.num_control_points must hold 0 (line), 1 (quadratic) or 2 (cubic); got {ncp.tolist()}")
    expected = int(ncp.sum() + ncp.size) + (0 if closed else 1)
    if ncp.size == 0:
        if num_points > 1:
            _fail(f"{where}: num_control_points is empty but points holds {num_points} points")
        return np.zeros(0, np.int32), np.zeros((0, 4), np.int32)
    if num_points != expected:
        _fail(f"{where}.points holds {num_points} points, but num_control_points {ncp.tolist()} with "
              f"is_closed={closed} needs {expected}")
    degrees = (ncp + 1).astype(np.int32)
    starts = np.concatenate([[0], np.cumsum(degrees)[:-1]])
    offsets = np.minimum(np.arange(4)[None, :], degrees[:, None])
    indices = starts[:, None] + offsets
    if closed:
        indices = indices % num_points
    result = (degrees, indices.astype(np.int32))
    if len(_STRUCTURE_CACHE) < 4096:
        _STRUCTURE_CACHE[key] = result
    _remember_structure(num_control_points, num_points, closed, result)
    return result


def _remember_structure(num_control_points, num_points, closed, result):
    """Keys `result` by the tensor itself (a weak reference and its version),
    for _path_structure's fast path; the entry goes when the tensor does."""
    if isinstance(num_control_points, torch.Tensor):
        key = id(num_control_points)
        ref = weakref.ref(num_control_points, lambda _, key=key: _STRUCTURE_BY_TENSOR.pop(key, None))
        _STRUCTURE_BY_TENSOR[key] = (ref, num_control_points._version, (num_points, bool(closed)), result)


def _shape_stroke_style(shape):
    cap = int(getattr(shape, "line_cap", 0))
    join = int(getattr(shape, "line_join", 0))
    return cap | (join << 4), float(getattr(shape, "miter_limit", 4.0))


def _scalar(t, what):
    """A user scalar as a tensor (one element, any shape), checked."""
    if not isinstance(t, torch.Tensor):
        t = torch.as_tensor(t, dtype=torch.float32)
    if t.numel() != 1:
        raise ValueError(f"{what} must be a scalar, got shape {tuple(t.shape)}")
    return t


# Packing gathers the user's tensors kind by kind and combines each kind
# with one stack or cat, rather than converting and reshaping every shape's
# tensors one at a time: per-tensor torch calls cost microseconds each, in
# the forward pass and again in autograd's backward, and a scene has
# thousands of them.

def _gather(tensors, shape, f32, ready=False):
    """The tensors (each with shape `shape`, or at least that many elements)
    stacked into one float32 tensor on the target device. ``ready``: they
    were all of that shape on that device when last looked at."""
    dev = f32["device"]
    if ready or all(t.shape == shape and t.device == dev for t in tensors):
        out = torch.stack(tensors)
    else:
        out = torch.stack([t.to(**f32).reshape(shape) for t in tensors])
    return out if out.dtype == torch.float32 else out.to(torch.float32)


def _place(rows, index, total, f32):
    """A tensor of `total` rows holding `rows` at the positions `index` and
    zeros elsewhere; differentiable in `rows`."""
    if rows is not None and len(index) == total:
        return rows  # every position, in order (index is always ascending)
    width = tuple(rows.shape[1:]) if rows is not None else ()
    base = torch.zeros((total,) + width, **f32)
    if rows is None:
        return base
    return base.index_copy(0, torch.as_tensor(index, dtype=torch.int64, device=f32["device"]), rows)


def pack_scenes(scenes, width, height, device):
    """Packs ``scenes``, a list of (canvas_width, canvas_height, shapes,
    shape_groups), rendered at ``width`` × ``height`` output pixels, onto
    ``device``. Raises ValueError/TypeError naming the offending argument.

    The scene's structure (kinds, segments, pairs, paint kinds: everything
    but the float values) is planned once and reused while the scene's
    objects are unchanged, so a loop that renders one scene again and again
    (an optimisation, a benchmark) pays for its Python walk once."""
    if width <= 0 or height <= 0:
        _fail(f"render: width and height must be positive, got {width}x{height}")
    dev = torch.device(device)
    key = _plan_key(scenes, width, height, dev)
    plan = _PLANS.get(key) if key is not None else None
    packed = plan.pack(scenes) if plan is not None else None
    if packed is None:
        plan = _Plan(scenes, width, height, dev)
        packed = plan.pack(scenes)
        if key is not None and plan.reusable:
            with _PLANS_LOCK:
                _PLANS.pop(key, None)
                _PLANS[key] = plan
                while len(_PLANS) > _MAX_PLANS:
                    del _PLANS[next(iter(_PLANS))]
    return packed


# Reusing a plan. Every attribute assignment on a scene object stamps it with
# a fresh number from one counter (shapes.py, _Revised), and a copy or an
# unpickled object gets its own, so the tuple of the objects' numbers says
# which objects these are and that none was reassigned since. What can
# change without an assignment is checked on each reuse: the integer tensors
# that carry structure (num_control_points, shape_ids) by their version
# counters (unchanged revisions mean they are the tensors planned with),
# and the size of every float tensor read, which also
# covers what a gradient object holds (its focal point or radius, its
# stops), reassigned without touching its group. A plan whose
# structure came from mutable non-tensor values (a list of widths, say) is
# never reused.
_revision_of = operator.attrgetter("_revision")
_numel_of = torch.Tensor.numel
_version_of = operator.attrgetter("_version")
_fill_of, _stroke_of = operator.attrgetter("fill_color"), operator.attrgetter("stroke_color")
_PLANS: dict = {}  # key -> _Plan, oldest first
_PLANS_LOCK = threading.Lock()
_MAX_PLANS = 8


def _plan_key(scenes, width, height, dev):
    """The key a reusable plan is stored under, or None for objects that
    carry no revision (not built through the scene classes)."""
    try:
        parts = [width, height, dev]
        for canvas_width, canvas_height, shapes, groups in scenes:
            if not (isinstance(canvas_width, (int, float, np.number))
                    and isinstance(canvas_height, (int, float, np.number))):
                return None  # a tensor could change in place
            parts.append((canvas_width, canvas_height, len(shapes), len(groups)))
            revisions = tuple(map(_revision_of, shapes)), tuple(map(_revision_of, groups))
            if None in revisions[0] or None in revisions[1]:
                return None  # assigned inside torch.compile
            parts.extend(revisions)
        return tuple(parts)
    except (AttributeError, TypeError, ValueError):
        return None


def _as_float(t):
    """A user value as a tensor (reading a non-tensor scalar or list)."""
    return t if isinstance(t, torch.Tensor) else torch.as_tensor(t, dtype=torch.float32)


class _Plan:
    """The structure of a batch of scenes: the Python walk over every shape
    and group, which checks each one and builds the integer tensors, and
    where each float tensor is read from. ``pack`` reads the float tensors
    and combines them with torch ops."""

    def __init__(self, scenes, width, height, dev):
        self.dev = dev
        self.reusable = True
        self.circle_at, self.ellipse_at, self.ellipse_names, self.width_at = [], [], [], []
        self.path_at, self.path_counts = [], []
        self.scene_ranges = []  # per scene: (scale x, scale y, first group, end group)
        self.paint_kinds = []
        self.gradients = []  # (paint index, radial, has focal, has focal radius)
        self.stop_owner = []
        self.watched = []  # integer tensors whose contents are structure
        kinds, closed, styles, miters, seg_begin = [], [], [], [], [0]
        seg_degrees, seg_points, seg_point_base = [], [], []  # per path; indices relative to its first point
        num_points = 0
        paint_stop_begin = [0]
        group_pair_begin, pair_shape, pair_group, even_odd, group_scene = [0], [], [], [], []
        scene_group_begin = [0]
        shape_base = 0

        for b, (canvas_width, canvas_height, shapes, groups) in enumerate(scenes):
            if canvas_width <= 0 or canvas_height <= 0:
                _fail(f"canvas size must be positive, got {canvas_width}x{canvas_height}")
            sx, sy = width / float(canvas_width), height / float(canvas_height)
            prefix = f"scenes[{b}]." if len(scenes) > 1 else ""
            for i, shape in enumerate(shapes):
                where = f"{prefix}shapes[{i}]"
                index = len(kinds)
                style, miter = _shape_stroke_style(shape)
                styles.append(style)
                miters.append(miter)
                if isinstance(shape, Circle):
                    self._check_scalar(shape.radius, f"{where}.radius")
                    _check_vector(shape.center, 2, f"{where}.center")
                    self.circle_at.append(index)
                    kinds.append(KIND_CIRCLE)
                elif isinstance(shape, (Ellipse, Rect)):
                    is_ellipse = isinstance(shape, Ellipse)
                    names = ("center", "radius") if is_ellipse else ("p_min", "p_max")
                    first, second = getattr(shape, names[0]), getattr(shape, names[1])
                    _check_vector(second if is_ellipse else first, 2, f"{where}.{names[1 if is_ellipse else 0]}")
                    _check_vector(first if is_ellipse else second, 2, f"{where}.{names[0 if is_ellipse else 1]}")
                    self.ellipse_at.append(index)
                    self.ellipse_names.append(names)
                    kinds.append(KIND_ELLIPSE if is_ellipse else KIND_RECT)
                elif isinstance(shape, (Path, Polygon)):
                    pts = shape.points
                    if not isinstance(pts, torch.Tensor) or not pts.is_floating_point():
                        raise TypeError(f"{where}.points must be a float tensor")
                    if pts.dim() != 2 or pts.shape[1] != 2:
                        _fail(f"{where}.points must have shape (N, 2), got {tuple(pts.shape)}")
                    n = pts.shape[0]
                    if isinstance(shape, Polygon):
                        ncp = np.zeros(max(n - (0 if shape.is_closed else 1), 0) if n > 1 else 0, np.int64)
                    else:
                        ncp = shape.num_control_points
                        if isinstance(ncp, torch.Tensor):
                            if ncp.is_floating_point():
                                raise TypeError(f"{where}.num_control_points must be an integer tensor")
                            self.watched.append(ncp)
                        elif not isinstance(ncp, tuple):
                            self.reusable = False  # a list or an array can change in place
                    degrees, idx = _path_structure(ncp, n, shape.is_closed, where)
                    seg_degrees.append(degrees)
                    seg_points.append(idx)
                    seg_point_base.append(num_points)
                    w = shape.stroke_width
                    if not isinstance(w, torch.Tensor):
                        self.reusable = False
                        w = torch.as_tensor(w, dtype=torch.float32)
                    if w.numel() != 1 and w.numel() != n:
                        _fail(f"{where}.stroke_width must be a scalar or hold one width per point ({n}), "
                              f"got shape {tuple(w.shape)}")
                    self.path_at.append(index)
                    self.path_counts.append(n)
                    num_points += n
                    kinds.append(KIND_PATH)
                else:
                    raise TypeError(f"{where} must be a Circle, Ellipse, Rect, Polygon or Path, "
                                    f"got {type(shape).__name__}")
                if kinds[-1] != KIND_PATH:
                    self._check_scalar(shape.stroke_width, f"{where}.stroke_width")
                    self.width_at.append(index)
                closed.append(1 if getattr(shape, "is_closed", True) else 0)
                seg_begin.append(seg_begin[-1] + (len(seg_degrees[-1]) if kinds[-1] == KIND_PATH else 0))

            first_group = len(even_odd)
            for j, group in enumerate(groups):
                where = f"{prefix}shape_groups[{j}]"
                if not isinstance(group, ShapeGroup):
                    raise TypeError(f"{where} must be a ShapeGroup, got {type(group).__name__}")
                ids = group.shape_ids
                if isinstance(ids, torch.Tensor):
                    self.watched.append(ids)
                else:
                    self.reusable = self.reusable and isinstance(ids, tuple)
                    ids = torch.as_tensor(ids)
                if ids.is_floating_point():
                    raise TypeError(f"{where}.shape_ids must be an integer tensor, got {ids.dtype}")
                ids = (ids if ids.dim() == 1 else ids.reshape(-1)).tolist()  # integer tensors carry no gradient
                if ids and (min(ids) < 0 or max(ids) >= len(shapes)):
                    _fail(f"{where}.shape_ids {ids} out of range for {len(shapes)} shapes")
                g = len(even_odd)
                pair_shape.extend((k + shape_base for k in ids) if shape_base else ids)
                pair_group.extend([g] * len(ids))
                group_pair_begin.append(len(pair_shape))
                even_odd.append(1 if group.use_even_odd_rule else 0)
                group_scene.append(b)
                m = group.shape_to_canvas
                if not isinstance(m, torch.Tensor):
                    self.reusable = False
                    m = torch.as_tensor(m, dtype=torch.float32)
                if tuple(m.shape) != (3, 3):
                    _fail(f"{where}.shape_to_canvas must have shape (3, 3), got {tuple(m.shape)}")
                if not m.is_floating_point():
                    raise TypeError(f"{where}.shape_to_canvas must be a float tensor, got {m.dtype}")
                for paint, name in ((group.fill_color, "fill_color"), (group.stroke_color, "stroke_color")):
                    # None and plain RGBA tensors, the common paints, without a call
                    if paint is None:
                        kind, offs = PAINT_NONE, None
                    elif type(paint) is torch.Tensor and paint.numel() == 4 and paint.is_floating_point():
                        kind, offs = PAINT_SOLID, None
                    else:
                        kind, rows, offs, _ = _pack_paint(paint, f"{where}.{name}")
                    if kind != PAINT_NONE and kind != PAINT_SOLID:
                        self.gradients.append((len(self.paint_kinds), kind == PAINT_RADIAL,
                                               kind == PAINT_RADIAL and rows[2] is not None,
                                               kind == PAINT_RADIAL and rows[3] is not None))
                        self.stop_owner.append(f"{where}.{name}")
                    self.paint_kinds.append(kind)
                    paint_stop_begin.append(paint_stop_begin[-1] + (offs.numel() if offs is not None else 0))
            self.scene_ranges.append((sx, sy, first_group, len(even_odd)))
            shape_base += len(shapes)
            scene_group_begin.append(len(even_odd))
        self.solid = [k == PAINT_SOLID for k in self.paint_kinds]
        self.repeats = torch.as_tensor(self.path_counts, device=dev) if self.path_counts else None
        # values the float stage reads as Python numbers must not be tensors
        self.reusable = self.reusable and all(type(m) is float for m in miters)
        self.watched_versions = list(map(_version_of, self.watched))

        dev_ints = self._ints
        self.ints = {
            "shape_kind": dev_ints(kinds),
            "shape_segment_begin": dev_ints(seg_begin),
            "shape_closed": dev_ints(closed),
            "shape_stroke_style": dev_ints(styles),
            "segment_degree": dev_ints(np.concatenate(seg_degrees) if seg_degrees else []),
            "segment_points": dev_ints(_absolute_point_indices(seg_points, seg_point_base), (-1, 4)),
            "group_pair_begin": dev_ints(group_pair_begin),
            "pair_shape": dev_ints(pair_shape),
            "pair_group": dev_ints(pair_group),
            "group_even_odd": dev_ints(even_odd),
            "paint_kind": dev_ints(self.paint_kinds),
            "paint_stop_begin": dev_ints(paint_stop_begin),
            "scene_group_begin": dev_ints(scene_group_begin),
            "group_scene": dev_ints(group_scene),
            # not differentiable: passed like structure
            "shape_miter_limit": (torch.tensor(miters, dtype=torch.float32, device=dev) if miters
                                  else torch.zeros(0, dtype=torch.float32, device=dev)),
        }
        self.counts = {"num_shapes": len(kinds), "num_groups": len(even_odd), "num_pairs": len(pair_shape),
                       "num_scenes": len(scenes), "num_points": num_points,
                       "num_segments": int(sum(len(d) for d in seg_degrees))}
        self.num_stops = paint_stop_begin[-1]
        self.signature = None  # the sizes of the float tensors read, set by the first pack

    def _float_shapes(self):
        c = self.counts
        s, p, g, k = c["num_shapes"], c["num_points"], c["num_groups"], self.num_stops
        return {"shape_params": (s, 4), "shape_width": (s,), "points": (p, 2), "point_width": (p,),
                "stop_offsets": (k,), "stop_colors": (k, 4), "paint_params": (2 * g, 8),
                "group_to_output": (g, 3, 3), "group_to_shape": (g, 3, 3)}

    def _check_scalar(self, t, what):
        if not isinstance(t, torch.Tensor):
            self.reusable = False
        _scalar(t, what)

    def _ints(self, values, shape=None):
        a = np.asarray(values, dtype=np.int32)
        if shape is not None:
            a = a.reshape(shape)
        return torch.from_numpy(np.ascontiguousarray(a)).to(self.dev)

    def _read(self, shapes, groups):
        """The float tensors the plan reads, from the objects as they are now:
        a dict of lists, and all of them in one list."""
        get = operator.attrgetter
        paths = [shapes[i] for i in self.path_at]
        circles = [shapes[i] for i in self.circle_at]
        boxes = [shapes[i] for i in self.ellipse_at]
        v = {
            "points": list(map(get("points"), paths)),
            "path_widths": list(map(get("stroke_width"), paths)),
            "circle_center": list(map(get("center"), circles)),
            "circle_radius": list(map(get("radius"), circles)),
            "box_first": [getattr(s, n[0]) for s, n in zip(boxes, self.ellipse_names)],
            "box_second": [getattr(s, n[1]) for s, n in zip(boxes, self.ellipse_names)],
            "widths": [shapes[i].stroke_width for i in self.width_at],
            "matrices": list(map(get("shape_to_canvas"), groups)),
        }
        if not self.reusable:  # some values may be Python numbers or lists
            for name in ("path_widths", "circle_radius", "widths", "matrices"):
                v[name] = list(map(_as_float, v[name]))
        # fill, stroke, fill, ...; None exactly where the plan has no paint
        rows = list(itertools.chain.from_iterable(zip(map(_fill_of, groups), map(_stroke_of, groups))))
        paints = rows[:] if self.gradients else rows
        offsets, colors, gradient_parts = [], [], []
        for at, radial, has_focal, has_focal_radius in self.gradients:
            paint = paints[at]
            if radial:
                rows[at] = (paint.center, paint.radius, paint.focal if has_focal else None,
                            paint.focal_radius if has_focal_radius else None)
            else:
                rows[at] = (paint.begin, paint.end)
            gradient_parts.extend(t for t in rows[at] if t is not None)
            offsets.append(paint.offsets)
            colors.append(paint.stop_colors)
        v["paints"] = rows
        v["stop_offsets"], v["stop_colors"] = offsets, colors
        read = (v["points"] + v["path_widths"] + v["circle_center"] + v["circle_radius"] + v["box_first"]
                + v["box_second"] + v["widths"] + v["matrices"] + list(itertools.compress(rows, self.solid))
                + gradient_parts + offsets + colors)
        return v, read

    def pack(self, scenes):
        """The PackedScene of ``scenes`` (the objects this plan was made
        from), or None when this plan no longer describes them."""
        shapes = [s for _, _, scene_shapes, _ in scenes for s in scene_shapes]
        groups = [g for _, _, _, scene_groups in scenes for g in scene_groups]
        if self.signature is None:  # the first pack, right after planning
            v, read = self._read(shapes, groups)
            self.signature = list(map(_numel_of, read))
            self.ready = _canonical(v, self.dev)
            floats = self._floats(v, self.ready)
        else:
            if list(map(_version_of, self.watched)) != self.watched_versions:
                return None  # a num_control_points or shape_ids tensor was written in place
            try:
                v, read = self._read(shapes, groups)
                if list(map(_numel_of, read)) != self.signature:
                    return None
                floats = self._floats(v, self.ready)
                if any(floats[name].shape != shape for name, shape in self._float_shapes().items()):
                    return None
            except (AttributeError, TypeError, RuntimeError):
                return None  # a tensor changed shape through .data: plan again, which names it
        _check_finite(floats, shapes, groups)
        return PackedScene(floats={k: t.contiguous() for k, t in floats.items()}, ints=dict(self.ints),
                           counts=dict(self.counts), device=self.dev, shapes=shapes, groups=groups)

    def _floats(self, v, ready):
        """The differentiable flat tensors, from the tensors _read found;
        ``ready``: they had the canonical shapes, float32 on the device."""
        f32 = dict(dtype=torch.float32, device=self.dev)
        num_shapes = self.counts["num_shapes"]
        shape_rows = [None, None]
        if self.circle_at:
            radii = v["circle_radius"]
            center = _gather(v["circle_center"], (2,), f32, ready)
            radius = _gather(radii, () if ready else radii[0].shape if all(
                r.shape == radii[0].shape for r in radii) else (), f32, ready).reshape(-1, 1)
            shape_rows[0] = (self.circle_at, torch.cat([center, radius, radius], 1))
        if self.ellipse_at:
            shape_rows[1] = (self.ellipse_at, torch.cat([_gather(v["box_first"], (2,), f32, ready),
                                                         _gather(v["box_second"], (2,), f32, ready)], 1))
        params_at = [k for rows in shape_rows if rows for k in rows[0]]
        if params_at:
            blocks = torch.cat([rows[1] for rows in shape_rows if rows])
            order = np.argsort(np.asarray(params_at), kind="stable")
            if not np.array_equal(order, np.arange(len(order))):
                blocks = blocks[torch.as_tensor(order, device=self.dev)]
            shape_params = _place(blocks, sorted(params_at), num_shapes, f32)
        else:
            shape_params = torch.zeros(num_shapes, 4, **f32)
        widths = v["widths"]
        stop_offsets = v["stop_offsets"]
        floats = {
            "shape_params": shape_params,
            "shape_width": _place(_gather(widths, (), f32, ready) if widths and (ready or all(
                w.dim() == 0 for w in widths)) else
                                  (torch.cat([w.to(**f32).reshape(1) for w in widths]) if widths else None),
                                  self.width_at, num_shapes, f32),
            "points": _gather_cat(v["points"], f32, (0, 2), ready),
            "point_width": _point_widths(v["path_widths"], self.path_counts, f32, ready, self.repeats),
            "stop_offsets": _gather_cat([o.reshape(-1) if o.dim() != 1 else o for o in stop_offsets], f32, (0,)),
            "stop_colors": _gather_cat([c if c.dim() == 2 and c.shape[1] == 4 else c.reshape(-1, 4)
                                        for c in v["stop_colors"]], f32, (0, 4)),
        }
        _check_stop_order(floats["stop_offsets"], stop_offsets, self.stop_owner)
        floats["paint_params"] = _paint_rows(v["paints"], f32, ready and not self.gradients)
        matrices = v["matrices"]
        blocks = []
        for sx, sy, begin, end in self.scene_ranges:
            if end > begin:
                scale = torch.tensor([[sx, 0.0, 0.0], [0.0, sy, 0.0], [0.0, 0.0, 1.0]], **f32)
                blocks.append(scale @ _gather(matrices[begin:end], (3, 3), f32, ready))
        if blocks:
            to_output = torch.cat(blocks) if len(blocks) > 1 else blocks[0]
            _check_affine(to_output, f32)
            floats["group_to_output"] = to_output.contiguous()
            floats["group_to_shape"] = _affine_inverse(to_output).contiguous()
        else:
            floats["group_to_output"] = torch.zeros(0, 3, 3, **f32)
            floats["group_to_shape"] = torch.zeros(0, 3, 3, **f32)
        return floats


def _canonical(v, dev):
    """Whether every tensor ``_Plan._read`` found is float32 on ``dev`` in the
    shape its flat tensor wants, so that packing may skip the per-tensor
    conversions (checked again on each reuse by the flat tensors' shapes)."""
    want = {"points": None, "path_widths": (), "circle_center": (2,), "circle_radius": (), "box_first": (2,),
            "box_second": (2,), "widths": (), "matrices": (3, 3)}
    for name, shape in want.items():
        for t in v[name]:
            if t.dtype != torch.float32 or t.device != dev or (shape is not None and t.shape != shape):
                return False
    return all(p is None or isinstance(p, tuple) or (p.dtype == torch.float32 and p.device == dev
                                                    and p.shape == (4,)) for p in v["paints"])


def _check_affine(to_output, f32):
    """Every group's map to output pixels is finite, affine and invertible."""
    finite = torch.isfinite(to_output.detach()).flatten(1).all(1)
    if not bool(finite.all()):
        bad = int((~finite).nonzero()[0])
        _fail(f"shape_groups[{bad}].shape_to_canvas contains NaN or inf")
    bottom = to_output.detach()[:, 2, :]
    expected = torch.tensor([0.0, 0.0, 1.0], **f32)
    if not torch.allclose(bottom, expected.expand_as(bottom), atol=1e-6):
        bad = int((bottom - expected).abs().amax(1).argmax())
        _fail(f"shape_groups[{bad}].shape_to_canvas must be affine (last row 0 0 1)")
    linear = to_output.detach()[:, :2, :2].double()
    det = linear[:, 0, 0] * linear[:, 1, 1] - linear[:, 0, 1] * linear[:, 1, 0]
    if bool((det.abs() < 1e-12).any()):
        bad = int((det.abs() < 1e-12).nonzero()[0])
        _fail(f"shape_groups[{bad}].shape_to_canvas is singular")


def _absolute_point_indices(indices, bases):
    """Every path's segment point indices (relative to its first point),
    offset by that point's place in the packed points and joined: one NumPy
    add for all paths rather than one per path."""
    if not indices:
        return np.zeros((0, 4), np.int64)
    joined = np.concatenate(indices).astype(np.int64)
    sizes = [len(i) for i in indices]
    return joined + np.repeat(np.asarray(bases, dtype=np.int64), sizes)[:, None]


def _affine_inverse(m):
    """Inverse of a batch of affine 3x3 maps [[a, b, c], [d, e, f], [0, 0, 1]]
    in closed form: [[e, -b, b f - c e], [-d, a, c d - a f]] / (a e - b d).
    Elementwise torch ops on G values, where torch.linalg.inv would call
    LAPACK, whose worker threads then spin and compete with the renderer's
    own threads for the cores."""
    a, b, c = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    d, e, f = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    inv_det = 1.0 / (a * e - b * d)
    zero, one = torch.zeros_like(a), torch.ones_like(a)
    rows = [torch.stack([e * inv_det, -b * inv_det, (b * f - c * e) * inv_det], 1),
            torch.stack([-d * inv_det, a * inv_det, (c * d - a * f) * inv_det], 1),
            torch.stack([zero, zero, one], 1)]
    return torch.stack(rows, 1)


def _gather_cat(tensors, f32, empty_shape, ready=False):
    """torch.cat of user tensors as float32 on the target device (``ready``:
    they were all there when last looked at)."""
    if not tensors:
        return torch.zeros(empty_shape, **f32)
    dev = f32["device"]
    if not ready and not all(t.device == dev for t in tensors):
        tensors = [t.to(**f32) for t in tensors]
    out = torch.cat(tensors) if len(tensors) > 1 else tensors[0]
    return out if out.dtype == torch.float32 else out.to(torch.float32)


def _paint_rows(rows, f32, solid_ready=False):
    """[2G, 8] paint parameters in paint order. One stack over per-paint rows
    (a zero row for no paint) rather than scattering kind blocks with an
    index op: on the CPU torch runs index ops, forward and backward, in
    OpenMP regions whose spinning threads would compete with the renderer."""
    if not rows:
        return torch.zeros(0, 8, **f32)
    dev = f32["device"]
    pad4, pad1 = torch.zeros(4, **f32), torch.zeros(1, **f32)
    if solid_ready:  # no gradients, every solid paint a float32 (4,) tensor on the device
        return torch.cat([torch.stack([pad4 if r is None else r for r in rows]),
                          torch.zeros(len(rows), 4, **f32)], dim=1)

    def vec(t, n):
        if t.shape == (n,) and t.device == dev and t.dtype == torch.float32:
            return t
        return t.to(**f32).reshape(n)

    # the first four columns (rgba; begin, end; centre, radius) and the
    # focal columns (radial only) are stacked apart and joined once, so a
    # solid paint costs no per-row cat
    head, tail = [], []
    radial = False
    for r in rows:
        if r is None:
            head.append(pad4)
            tail.append(pad4)
        elif isinstance(r, tuple) and len(r) == 2:  # linear: begin, end
            head.append(torch.cat([vec(r[0], 2), vec(r[1], 2)]))
            tail.append(pad4)
        elif isinstance(r, tuple):  # radial: centre, radius, focal (None: centre), fr (None: 0)
            center, radius, focal, focal_radius = r
            center = vec(center, 2)
            focal = center if focal is None else vec(focal, 2)
            focal_radius = pad1 if focal_radius is None else vec(focal_radius, 1)
            head.append(torch.cat([center, vec(radius, 2)]))
            tail.append(torch.cat([focal, focal_radius, pad1]))
            radial = True
        else:
            head.append(vec(r, 4))
            tail.append(pad4)
    # without a radial paint the focal columns are all zero: no second stack
    tail = torch.stack(tail) if radial else torch.zeros(len(rows), 4, **f32)
    return torch.cat([torch.stack(head), tail], dim=1)


def _point_widths(widths, counts, f32, ready=False, repeats=None):
    """Per-point half widths of every path: a scalar width repeated over its
    path's points, or the path's own per-point widths. ``ready``: all are
    float32 0-d tensors on the device; ``repeats``: counts as a tensor there."""
    if not widths:
        return torch.zeros(0, **f32)
    if ready or all(w.numel() == 1 for w in widths):
        per_path = _gather(widths if ready else [w if w.dim() == 0 else w.reshape(()) for w in widths], (), f32,
                           ready)
        if all(n == counts[0] for n in counts):  # a view and a copy: no index op (see _paint_rows)
            return per_path.unsqueeze(1).expand(-1, counts[0]).reshape(-1)
        return per_path.repeat_interleave(torch.as_tensor(counts, device=f32["device"]) if repeats is None
                                          else repeats)
    return torch.cat([w.to(**f32).reshape(1).expand(n) if w.numel() == 1 and n != 1 else w.to(**f32).reshape(n)
                      for w, n in zip(widths, counts)])


def _check_stop_order(all_offsets, offsets, owners):
    """Every gradient's offsets must ascend; names the first that does not."""
    if all_offsets.numel() < 2:
        return
    values = all_offsets.detach().cpu().numpy()
    sizes = np.array([o.numel() for o in offsets])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    falling = values[1:] < values[:-1]
    falling[starts[1:] - 1] = False  # across two gradients
    if falling.any():
        bad = int(np.searchsorted(starts, int(np.argmax(falling)), side="right") - 1)
        o = offsets[bad].detach().reshape(-1).tolist()
        _fail(f"{owners[bad]}.offsets must be ascending, got {o}")


def _pack_paint(paint, where):
    """(kind, params, stop offsets, stop colours) of a paint, checked: params
    is the RGBA tensor of a solid paint, or the two 2-vectors of a gradient
    (begin and end, or centre and radius); the offsets hold K values and the
    colours 4K."""
    if paint is None:
        return PAINT_NONE, None, None, None
    if isinstance(paint, torch.Tensor):
        if not paint.is_floating_point():
            raise TypeError(f"{where} must be a float RGBA tensor, got {paint.dtype}")
        if paint.numel() != 4:
            _fail(f"{where} must be RGBA with 4 elements, got shape {tuple(paint.shape)}")
        return PAINT_SOLID, paint, None, None
    if isinstance(paint, (LinearGradient, RadialGradient)):
        linear = isinstance(paint, LinearGradient)
        a, b = (paint.begin, paint.end) if linear else (paint.center, paint.radius)
        names = ("begin", "end") if linear else ("center", "radius")
        _check_vector(a, 2, f"{where}.{names[0]}")
        _check_vector(b, 2, f"{where}.{names[1]}")
        rows = (a, b)
        if not linear:
            focal, focal_radius = getattr(paint, "focal", None), getattr(paint, "focal_radius", None)
            if focal is not None:
                _check_vector(focal, 2, f"{where}.focal")
            if focal_radius is not None:
                if not isinstance(focal_radius, torch.Tensor) or focal_radius.numel() != 1:
                    _fail(f"{where}.focal_radius must be a tensor with one element")
            rows = (a, b, focal, focal_radius)
        offs, cols = paint.offsets, paint.stop_colors
        if not isinstance(offs, torch.Tensor) or not isinstance(cols, torch.Tensor):
            raise TypeError(f"{where}.offsets and stop_colors must be tensors")
        k = offs.numel()
        if k == 0:
            _fail(f"{where} has no stops")
        if cols.numel() != 4 * k:
            _fail(f"{where}.stop_colors must have shape ({k}, 4) to match offsets, got {tuple(cols.shape)}")
        return (PAINT_LINEAR if linear else PAINT_RADIAL), rows, offs, cols
    raise TypeError(f"{where} must be None, an RGBA tensor, LinearGradient or RadialGradient, "
                    f"got {type(paint).__name__}")


def _check_finite(floats, shapes, groups):
    """One fused check; on failure, find and name the offending user tensor."""
    flags = [torch.isfinite(t.detach()).all() for t in floats.values() if t.numel()]
    if not flags or bool(torch.stack(flags).all()):
        return
    for i, s in enumerate(shapes):
        for name in ("points", "center", "radius", "p_min", "p_max", "stroke_width"):
            t = getattr(s, name, None)
            if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
                _fail(f"shapes[{i}].{name} contains NaN or inf")
    for j, g in enumerate(groups):
        if not bool(torch.isfinite(torch.as_tensor(g.shape_to_canvas)).all()):
            _fail(f"shape_groups[{j}].shape_to_canvas contains NaN or inf")
        for pname in ("fill_color", "stroke_color"):
            p = getattr(g, pname)
            tensors = [p] if isinstance(p, torch.Tensor) else [getattr(p, n, None) for n in
                                                                ("begin", "end", "center", "radius", "offsets",
                                                                 "stop_colors", "focal", "focal_radius")]
            for t in tensors:
                if isinstance(t, torch.Tensor) and not bool(torch.isfinite(t).all()):
                    _fail(f"shape_groups[{j}].{pname} contains NaN or inf")
    _fail("scene contains NaN or inf values")
