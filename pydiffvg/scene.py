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
  paint_kind [2G], paint_params [2G,4], paint_stop_begin [2G+1], stop_offsets [K], stop_colors [K,4]
"""
from __future__ import annotations

import math
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


def _path_structure(num_control_points, num_points, closed, where):
    """Segment degrees and absolute-free point indices of one path.

    Returns (degrees [n], indices [n,4]) with indices relative to the path's
    first point. Open paths need 1 + sum(k + 1) points, closed ones
    sum(k + 1); the last segment of a closed path ends at point 0.
    """
    ncp = np.asarray(num_control_points, dtype=np.int64).reshape(-1)
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
    return degrees, indices.astype(np.int32)


def _shape_stroke_style(shape):
    cap = int(getattr(shape, "line_cap", 0))
    join = int(getattr(shape, "line_join", 0))
    return cap | (join << 4), float(getattr(shape, "miter_limit", 4.0))


def _scalar(t, what):
    if not isinstance(t, torch.Tensor):
        t = torch.as_tensor(t, dtype=torch.float32)
    if t.numel() != 1:
        raise ValueError(f"{what} must be a scalar, got shape {tuple(t.shape)}")
    return t.reshape(())


def pack_scenes(scenes, width, height, device):
    """Packs ``scenes``, a list of (canvas_width, canvas_height, shapes,
    shape_groups), rendered at ``width`` × ``height`` output pixels, onto
    ``device``. Raises ValueError/TypeError naming the offending argument."""
    if width <= 0 or height <= 0:
        _fail(f"render: width and height must be positive, got {width}x{height}")
    dev = torch.device(device)
    f32 = dict(dtype=torch.float32, device=dev)

    shape_params, shape_width, points, point_width = [], [], [], []
    kinds, closed, styles, miters, seg_begin = [], [], [], [], [0]
    seg_degrees, seg_points = [], []
    num_points = 0
    group_xforms, paints_params, paint_kinds, stop_offsets, stop_colors = [], [], [], [], []
    paint_stop_begin = [0]
    group_pair_begin, pair_shape, pair_group, even_odd, group_scene = [0], [], [], [], []
    scene_group_begin = [0]
    all_shapes, all_groups = [], []
    zeros4 = torch.zeros(4, **f32)
    shape_base = 0

    for b, (canvas_width, canvas_height, shapes, groups) in enumerate(scenes):
        if canvas_width <= 0 or canvas_height <= 0:
            _fail(f"canvas size must be positive, got {canvas_width}x{canvas_height}")
        sx, sy = width / float(canvas_width), height / float(canvas_height)
        prefix = f"scenes[{b}]." if len(scenes) > 1 else ""
        for i, shape in enumerate(shapes):
            where = f"{prefix}shapes[{i}]"
            style, miter = _shape_stroke_style(shape)
            styles.append(style)
            miters.append(miter)
            if isinstance(shape, Circle):
                r = _scalar(shape.radius, f"{where}.radius").to(**f32)
                _check_vector(shape.center, 2, f"{where}.center")
                c = shape.center.to(**f32).reshape(2)
                shape_params.append(torch.stack([c[0], c[1], r, r]))
                kinds.append(KIND_CIRCLE)
            elif isinstance(shape, Ellipse):
                _check_vector(shape.radius, 2, f"{where}.radius")
                _check_vector(shape.center, 2, f"{where}.center")
                shape_params.append(torch.cat([shape.center.to(**f32).reshape(2), shape.radius.to(**f32).reshape(2)]))
                kinds.append(KIND_ELLIPSE)
            elif isinstance(shape, Rect):
                _check_vector(shape.p_min, 2, f"{where}.p_min")
                _check_vector(shape.p_max, 2, f"{where}.p_max")
                shape_params.append(torch.cat([shape.p_min.to(**f32).reshape(2), shape.p_max.to(**f32).reshape(2)]))
                kinds.append(KIND_RECT)
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
                        ncp = ncp.detach().cpu().numpy()
                degrees, idx = _path_structure(ncp, n, shape.is_closed, where)
                seg_degrees.append(degrees)
                seg_points.append(idx + num_points)
                points.append(pts.to(**f32))
                w = shape.stroke_width
                if not isinstance(w, torch.Tensor):
                    w = torch.as_tensor(w, dtype=torch.float32)
                if w.numel() == 1:
                    point_width.append(w.to(**f32).reshape(1).expand(n))
                elif w.numel() == n:
                    point_width.append(w.to(**f32).reshape(n))
                else:
                    _fail(f"{where}.stroke_width must be a scalar or hold one width per point ({n}), "
                          f"got shape {tuple(w.shape)}")
                num_points += n
                shape_params.append(zeros4)
                kinds.append(KIND_PATH)
            else:
                raise TypeError(f"{where} must be a Circle, Ellipse, Rect, Polygon or Path, "
                                f"got {type(shape).__name__}")
            if kinds[-1] != KIND_PATH:
                shape_width.append(_scalar(shape.stroke_width, f"{where}.stroke_width").to(**f32))
            else:
                shape_width.append(torch.zeros((), **f32))
            closed.append(1 if getattr(shape, "is_closed", True) else 0)
            seg_begin.append(seg_begin[-1] + (len(seg_degrees[-1]) if kinds[-1] == KIND_PATH else 0))
            all_shapes.append(shape)

        scale = torch.tensor([[sx, 0.0, 0.0], [0.0, sy, 0.0], [0.0, 0.0, 1.0]], **f32)
        for j, group in enumerate(groups):
            where = f"{prefix}shape_groups[{j}]"
            if not isinstance(group, ShapeGroup):
                raise TypeError(f"{where} must be a ShapeGroup, got {type(group).__name__}")
            ids = group.shape_ids
            if not isinstance(ids, torch.Tensor):
                ids = torch.as_tensor(ids)
            if ids.is_floating_point():
                raise TypeError(f"{where}.shape_ids must be an integer tensor, got {ids.dtype}")
            ids = ids.detach().cpu().reshape(-1).numpy().astype(np.int64)
            if ids.size and (ids.min() < 0 or ids.max() >= len(shapes)):
                _fail(f"{where}.shape_ids {ids.tolist()} out of range for {len(shapes)} shapes")
            g = len(even_odd)
            pair_shape.extend((ids + shape_base).tolist())
            pair_group.extend([g] * ids.size)
            group_pair_begin.append(len(pair_shape))
            even_odd.append(1 if group.use_even_odd_rule else 0)
            group_scene.append(b)
            m = group.shape_to_canvas
            if not isinstance(m, torch.Tensor):
                m = torch.as_tensor(m, dtype=torch.float32)
            if tuple(m.shape) != (3, 3):
                _fail(f"{where}.shape_to_canvas must have shape (3, 3), got {tuple(m.shape)}")
            if not m.is_floating_point():
                raise TypeError(f"{where}.shape_to_canvas must be a float tensor, got {m.dtype}")
            group_xforms.append(scale @ m.to(**f32))
            for paint, name in ((group.fill_color, "fill_color"), (group.stroke_color, "stroke_color")):
                kind, params, offs, cols = _pack_paint(paint, f"{where}.{name}", f32)
                paint_kinds.append(kind)
                paints_params.append(params if params is not None else zeros4)
                if offs is not None:
                    stop_offsets.append(offs)
                    stop_colors.append(cols)
                    paint_stop_begin.append(paint_stop_begin[-1] + offs.shape[0])
                else:
                    paint_stop_begin.append(paint_stop_begin[-1])
            all_groups.append(group)
        shape_base += len(shapes)
        scene_group_begin.append(len(even_odd))

    num_shapes = len(kinds)
    num_groups = len(even_odd)
    floats = {
        "shape_params": torch.stack(shape_params) if shape_params else torch.zeros(0, 4, **f32),
        "shape_width": torch.stack(shape_width) if shape_width else torch.zeros(0, **f32),
        "points": torch.cat(points) if points else torch.zeros(0, 2, **f32),
        "point_width": torch.cat(point_width) if point_width else torch.zeros(0, **f32),
        "paint_params": torch.stack(paints_params) if paints_params else torch.zeros(0, 4, **f32),
        "stop_offsets": torch.cat(stop_offsets) if stop_offsets else torch.zeros(0, **f32),
        "stop_colors": torch.cat(stop_colors) if stop_colors else torch.zeros(0, 4, **f32),
    }
    if group_xforms:
        to_output = torch.stack(group_xforms)
        finite = torch.isfinite(to_output.detach()).flatten(1).all(1)
        if not bool(finite.all()):
            bad = int((~finite).nonzero()[0])
            _fail(f"shape_groups[{bad}].shape_to_canvas contains NaN or inf")
        bottom = to_output.detach()[:, 2, :]
        expected = torch.tensor([0.0, 0.0, 1.0], **f32)
        if not torch.allclose(bottom, expected.expand_as(bottom), atol=1e-6):
            bad = int((bottom - expected).abs().amax(1).argmax())
            _fail(f"shape_groups[{bad}].shape_to_canvas must be affine (last row 0 0 1)")
        det = torch.linalg.det(to_output.detach()[:, :2, :2].double())
        if bool((det.abs() < 1e-12).any()):
            bad = int((det.abs() < 1e-12).nonzero()[0])
            _fail(f"shape_groups[{bad}].shape_to_canvas is singular")
        floats["group_to_output"] = to_output.contiguous()
        floats["group_to_shape"] = torch.linalg.inv(to_output).contiguous()
    else:
        floats["group_to_output"] = torch.zeros(0, 3, 3, **f32)
        floats["group_to_shape"] = torch.zeros(0, 3, 3, **f32)
    _check_finite(floats, all_shapes, all_groups)

    def ints(values, shape=None):
        a = np.asarray(values, dtype=np.int32)
        if shape is not None:
            a = a.reshape(shape)
        return torch.from_numpy(np.ascontiguousarray(a)).to(dev)

    ints_ = {
        "shape_kind": ints(kinds),
        "shape_segment_begin": ints(seg_begin),
        "shape_closed": ints(closed),
        "shape_stroke_style": ints(styles),
        "segment_degree": ints(np.concatenate(seg_degrees) if seg_degrees else []),
        "segment_points": ints(np.concatenate(seg_points) if seg_points else np.zeros((0, 4)), (-1, 4)),
        "group_pair_begin": ints(group_pair_begin),
        "pair_shape": ints(pair_shape),
        "pair_group": ints(pair_group),
        "group_even_odd": ints(even_odd),
        "paint_kind": ints(paint_kinds),
        "paint_stop_begin": ints(paint_stop_begin),
        "scene_group_begin": ints(scene_group_begin),
        "group_scene": ints(group_scene),
    }
    extra_floats = {"shape_miter_limit": torch.tensor(miters, **f32) if miters else torch.zeros(0, **f32)}
    counts = {"num_shapes": num_shapes, "num_groups": num_groups, "num_pairs": len(pair_shape),
              "num_scenes": len(scenes), "num_points": num_points,
              "num_segments": int(sum(len(d) for d in seg_degrees))}
    packed = PackedScene(floats={k: v.contiguous() for k, v in floats.items()}, ints=ints_, counts=counts,
                         device=dev, shapes=all_shapes, groups=all_groups)
    packed.ints.update(extra_floats)  # not differentiable: passed like structure
    return packed


def _pack_paint(paint, where, f32):
    """(kind, params (4,), stop offsets (K,), stop colours (K,4)) of a paint."""
    if paint is None:
        return PAINT_NONE, None, None, None
    if isinstance(paint, torch.Tensor):
        if not paint.is_floating_point():
            raise TypeError(f"{where} must be a float RGBA tensor, got {paint.dtype}")
        if paint.numel() != 4:
            _fail(f"{where} must be RGBA with 4 elements, got shape {tuple(paint.shape)}")
        return PAINT_SOLID, paint.to(**f32).reshape(4), None, None
    if isinstance(paint, (LinearGradient, RadialGradient)):
        linear = isinstance(paint, LinearGradient)
        a, b = (paint.begin, paint.end) if linear else (paint.center, paint.radius)
        names = ("begin", "end") if linear else ("center", "radius")
        _check_vector(a, 2, f"{where}.{names[0]}")
        _check_vector(b, 2, f"{where}.{names[1]}")
        offs, cols = paint.offsets, paint.stop_colors
        if not isinstance(offs, torch.Tensor) or not isinstance(cols, torch.Tensor):
            raise TypeError(f"{where}.offsets and stop_colors must be tensors")
        k = offs.numel()
        if k == 0:
            _fail(f"{where} has no stops")
        if cols.numel() != 4 * k:
            _fail(f"{where}.stop_colors must have shape ({k}, 4) to match offsets, got {tuple(cols.shape)}")
        offs_d = offs.detach().reshape(-1)
        if k > 1 and bool((offs_d[1:] < offs_d[:-1]).any()):
            _fail(f"{where}.offsets must be ascending, got {offs_d.tolist()}")
        params = torch.cat([a.to(**f32).reshape(2), b.to(**f32).reshape(2)])
        return (PAINT_LINEAR if linear else PAINT_RADIAL), params, offs.to(**f32).reshape(k), \
            cols.to(**f32).reshape(k, 4)
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
                                                                 "stop_colors")]
            for t in tensors:
                if isinstance(t, torch.Tensor) and not bool(torch.isfinite(t).all()):
                    _fail(f"shape_groups[{j}].{pname} contains NaN or inf")
    _fail("scene contains NaN or inf values")
