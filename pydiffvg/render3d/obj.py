"""A small Wavefront OBJ reader: positions, texture coordinates, normals and
polygonal faces (triangulated as fans). Materials and groups are ignored."""
from __future__ import annotations

from typing import Optional, Tuple

import torch

__all__ = ["load_obj"]


def load_obj(path) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
    """Reads an OBJ file.

    Returns:
        (vertices (V, 3) float32, indices (F, 3) int32, normals (V, 3) float32 or None,
        uvs (V, 2) float32 or None), on the CPU. A vertex is emitted for every
        distinct (position, uv, normal) index triple used by a face, so the
        attributes line up with ``vertices``. Negative (relative) indices are
        supported.

    Raises:
        ValueError: naming the file and line for malformed input.
    """
    positions, texcoords, normals = [], [], []
    keys = {}
    out_v, out_uv, out_n, faces = [], [], [], []
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        for line_number, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            tag = parts[0]
            try:
                if tag == "v":
                    positions.append([float(x) for x in parts[1:4]])
                elif tag == "vt":
                    texcoords.append([float(x) for x in parts[1:3]])
                elif tag == "vn":
                    normals.append([float(x) for x in parts[1:4]])
                elif tag == "f":
                    corners = []
                    for token in parts[1:]:
                        fields = token.split("/")
                        ids = []
                        for k, table in enumerate((positions, texcoords, normals)):
                            if k < len(fields) and fields[k]:
                                i = int(fields[k])
                                i = i - 1 if i > 0 else len(table) + i
                                if not 0 <= i < len(table):
                                    raise ValueError(f"index {fields[k]} out of range")
                                ids.append(i)
                            else:
                                ids.append(-1)
                        key = tuple(ids)
                        if key not in keys:
                            keys[key] = len(out_v)
                            out_v.append(positions[ids[0]])
                            out_uv.append(texcoords[ids[1]] if ids[1] >= 0 else None)
                            out_n.append(normals[ids[2]] if ids[2] >= 0 else None)
                        corners.append(keys[key])
                    if len(corners) < 3:
                        raise ValueError("a face needs at least 3 vertices")
                    for k in range(1, len(corners) - 1):
                        faces.append([corners[0], corners[k], corners[k + 1]])
            except (ValueError, IndexError) as exc:
                raise ValueError(f"load_obj(): {path}:{line_number}: {exc} in {raw.strip()!r}") from None
    vertices = torch.tensor(out_v, dtype=torch.float32).reshape(-1, 3)
    indices = torch.tensor(faces, dtype=torch.int32).reshape(-1, 3)
    uvs = None
    if out_uv and all(u is not None for u in out_uv):
        uvs = torch.tensor(out_uv, dtype=torch.float32).reshape(-1, 2)
    vertex_normals = None
    if out_n and all(n is not None for n in out_n):
        vertex_normals = torch.tensor(out_n, dtype=torch.float32).reshape(-1, 3)
    return vertices, indices, vertex_normals, uvs
