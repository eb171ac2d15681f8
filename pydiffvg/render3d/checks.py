"""Checks of a 3-D scene before it is packed: the triangle budget, finite
vertices, degenerate faces, and a camera inside a closed mesh. Each failure
is a ValueError naming the argument."""
from __future__ import annotations

import math

import numpy as np

from .._native import all_finite

__all__ = ["MAX_SCRATCH_BYTES", "SCRATCH_BYTES_PER_TRIANGLE", "check_scene_geometry"]

#: Scratch memory a render takes per triangle, measured from the kernels'
#: buffers (host copies of the mesh, BVH build records and nodes, the edge
#: list, edge CDFs and primary edge pieces): about 320 bytes, rounded up.
SCRATCH_BYTES_PER_TRIANGLE = 400
#: Largest scratch memory a render may plan for; a scene that needs more is
#: refused up front (ValueError) instead of running the machine out of memory.
#: At the default, about 5.3 million triangles. Raise it if you have the memory.
MAX_SCRATCH_BYTES = 2 << 30


def _check_budget(shapes) -> None:
    faces = sum(int(s.indices.shape[0]) for s in shapes)
    need = faces * SCRATCH_BYTES_PER_TRIANGLE
    if need > MAX_SCRATCH_BYTES:
        raise ValueError(
            f"Scene: 'shapes' hold {faces:,} triangles; rendering takes about {SCRATCH_BYTES_PER_TRIANGLE} bytes "
            f"of scratch memory per triangle ({need / 2**30:.1f} GiB), over the limit of "
            f"{MAX_SCRATCH_BYTES / 2**30:.1f} GiB (pydiffvg.render3d.checks.MAX_SCRATCH_BYTES, at most "
            f"{MAX_SCRATCH_BYTES // SCRATCH_BYTES_PER_TRIANGLE:,} triangles); split the scene or raise the limit")


def _face_corners(shape):
    """Corners (F, 3) x 3 in float64 NumPy. On the host, as the BVH build
    needs them there anyway; torch ops on small tensors would start OpenMP
    teams that spin for milliseconds (see pydiffvg._native.zeros)."""
    v = shape.vertices.detach().cpu().numpy().astype(np.float64)
    f = shape.indices.cpu().numpy().astype(np.int64)
    return v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]


def _check_faces(i, shape) -> None:
    if not all_finite(shape.vertices.detach().float()):
        raise ValueError(f"Scene: shapes[{i}].vertices hold non-finite values")
    if shape.indices.shape[0] == 0:
        return
    a, b, c = _face_corners(shape)
    doubled_area = np.linalg.norm(np.cross(b - a, c - a), axis=1)
    longest = np.maximum(np.maximum(np.linalg.norm(b - a, axis=1), np.linalg.norm(c - b, axis=1)),
                         np.linalg.norm(a - c, axis=1))
    # Zero area, up to float32 rounding of the cross product.
    bad = doubled_area <= 1e-7 * longest * longest
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"Scene: shapes[{i}].indices[{k}] = {shape.indices[k].tolist()} is a degenerate "
                         f"triangle (zero area); remove it from the mesh")


def _winding_number(shape, point) -> float:
    """Generalised winding number of the mesh around `point`: Σ signed solid
    angles of the faces / 4π (Van Oosterom & Strackee 1983). 1 inside a
    closed mesh whose faces point outward (counter-clockwise seen from
    outside), -1 inside one that faces inward (a room), 0 outside."""
    p = np.asarray(point, dtype=np.float64)
    a, b, c = (corner - p for corner in _face_corners(shape))
    la, lb, lc = (np.linalg.norm(x, axis=1) for x in (a, b, c))
    numerator = np.einsum("ij,ij->i", a, np.cross(b, c))
    denominator = (la * lb * lc + np.einsum("ij,ij->i", a, b) * lc + np.einsum("ij,ij->i", b, c) * la +
                   np.einsum("ij,ij->i", c, a) * lb)
    return float(2.0 * np.arctan2(numerator, denominator).sum() / (4.0 * math.pi))


def check_scene_geometry(scene) -> None:
    """Raises ValueError for a scene the renderer cannot handle (see module doc)."""
    _check_budget(scene.shapes)
    for i, shape in enumerate(scene.shapes):
        _check_faces(i, shape)
    position = scene.camera.position.detach().cpu().numpy()
    for i, shape in enumerate(scene.shapes):
        if shape.indices.shape[0] < 4:
            continue
        v = shape.vertices.detach()
        inside_box = bool(((v.amin(0).cpu().numpy() < position) & (position < v.amax(0).cpu().numpy())).all())
        if inside_box and _winding_number(shape, position) > 0.75:
            raise ValueError(
                f"Scene: 'camera.position' {position.tolist()} is inside shapes[{i}], a closed mesh whose faces "
                f"point outward: the camera would see only the inside of its back faces. Move the camera out, "
                f"or flip the mesh's faces if it is a room seen from inside")
