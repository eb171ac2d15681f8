"""Checks of a 3-D scene before it is packed: the triangle budget, finite
vertices, degenerate faces, and a camera inside a closed mesh. Each failure
is a ValueError naming the argument."""
from __future__ import annotations

import math

import numpy as np

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


def _corners(vertices, faces):
    """Corners (F, 3) x 3 of `faces` into `vertices` (float64 NumPy)."""
    return vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]


def _winding_number(corners, point) -> float:
    """Generalised winding number of the mesh with face corners `corners`
    around `point`: Σ signed solid angles of the faces / 4π (Van Oosterom &
    Strackee 1983). 1 inside a closed mesh whose faces point outward
    (counter-clockwise seen from outside), -1 inside one that faces inward
    (a room), 0 outside."""
    p = np.asarray(point, dtype=np.float64)
    a, b, c = (corner - p for corner in corners)
    la, lb, lc = (np.linalg.norm(x, axis=1) for x in (a, b, c))
    numerator = np.einsum("ij,ij->i", a, np.cross(b, c))
    denominator = (la * lb * lc + np.einsum("ij,ij->i", a, b) * lc + np.einsum("ij,ij->i", b, c) * la +
                   np.einsum("ij,ij->i", c, a) * lb)
    return float(2.0 * np.arctan2(numerator, denominator).sum() / (4.0 * math.pi))


def check_scene_geometry(scene) -> None:
    """Raises ValueError for a scene the renderer cannot handle (see module doc).

    All shapes are checked in one NumPy pass over their concatenated
    vertices and faces: per-shape passes cost ~20 NumPy calls each, which
    was most of the time of this check on small scenes. On the host, as the
    BVH build needs the mesh there anyway; torch ops on small tensors would
    start OpenMP teams that spin for milliseconds (see pydiffvg._native.zeros).
    A failure names the first shape (in order) that fails, the finiteness
    test before the degenerate-face test, as shape-by-shape checks would."""
    shapes = scene.shapes
    _check_budget(shapes)
    vertices, faces, vertex_start, face_start = [], [], [0], [0]
    for shape in shapes:
        v = shape.vertices.detach().cpu().numpy()
        vertices.append(v)
        faces.append(shape.indices.cpu().numpy().astype(np.int64) + vertex_start[-1])
        vertex_start.append(vertex_start[-1] + v.shape[0])
        face_start.append(face_start[-1] + faces[-1].shape[0])
    v_all = np.concatenate(vertices) if len(vertices) > 1 else vertices[0]
    # Finiteness as float32 (the renderer's type), like all_finite(vertices.float()).
    finite = np.isfinite(v_all.astype(np.float32, copy=False)).all(axis=1)
    first_nonfinite = len(shapes)
    if not finite.all():
        bad_vertex = int(np.flatnonzero(~finite)[0])
        first_nonfinite = int(np.searchsorted(vertex_start, bad_vertex, side="right")) - 1
    v64 = v_all.astype(np.float64)
    f_all = np.concatenate(faces) if len(faces) > 1 else faces[0]
    a, b, c = _corners(v64, f_all)
    doubled_area = np.linalg.norm(np.cross(b - a, c - a), axis=1)
    longest = np.maximum(np.maximum(np.linalg.norm(b - a, axis=1), np.linalg.norm(c - b, axis=1)),
                         np.linalg.norm(a - c, axis=1))
    # Zero area, up to float32 rounding of the cross product.
    bad = doubled_area <= 1e-7 * longest * longest
    first_degenerate, k = len(shapes), -1
    if bad.any():
        g = int(np.flatnonzero(bad)[0])
        first_degenerate = int(np.searchsorted(face_start, g, side="right")) - 1
        k = g - face_start[first_degenerate]
    if first_nonfinite <= first_degenerate and first_nonfinite < len(shapes):
        raise ValueError(f"Scene: shapes[{first_nonfinite}].vertices hold non-finite values")
    if first_degenerate < len(shapes):
        i = first_degenerate
        raise ValueError(f"Scene: shapes[{i}].indices[{k}] = {shapes[i].indices[k].tolist()} is a degenerate "
                         f"triangle (zero area); remove it from the mesh")
    position = scene.camera.position.detach().cpu().numpy()
    for i, shape in enumerate(shapes):
        lo, hi = face_start[i], face_start[i + 1]
        if hi - lo < 4:
            continue
        v = vertices[i]
        inside_box = bool(((v.min(0) < position) & (position < v.max(0))).all())
        if inside_box and _winding_number((a[lo:hi], b[lo:hi], c[lo:hi]), position) > 0.75:
            raise ValueError(
                f"Scene: 'camera.position' {position.tolist()} is inside shapes[{i}], a closed mesh whose faces "
                f"point outward: the camera would see only the inside of its back faces. Move the camera out, "
                f"or flip the mesh's faces if it is a room seen from inside")
