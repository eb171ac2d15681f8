"""A small Wavefront OBJ reader: positions, texture coordinates, normals and
polygonal faces (triangulated as fans), and optionally the MTL materials
(Kd, Ks, Ns and the map_Kd / map_Ks textures). Groups are ignored."""
from __future__ import annotations

import os
from typing import List, Optional, Tuple

import torch

__all__ = ["load_obj", "load_mtl"]


def _srgb_to_linear(c: torch.Tensor) -> torch.Tensor:
    return torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _load_texture(path: str, where: str):
    from ..svg.images import decode_raster
    from .scene import Texture
    try:
        with open(path, "rb") as f:
            data = f.read()
        rgba = decode_raster(data)
    except (OSError, ValueError) as exc:
        raise ValueError(f"load_obj(): {where}: cannot read texture {path!r}: {exc}") from None
    alpha = rgba[..., 3:4].clamp_min(1e-6)
    # 8-bit images are sRGB-encoded; textures hold linear reflectance.
    return Texture(_srgb_to_linear((rgba[..., :3] / alpha).clamp(0.0, 1.0)).contiguous())


def load_mtl(path) -> dict:
    """Reads an MTL file: {name: pydiffvg.render3d.Material}. Kd and Ks are
    reflectances, Ns the Phong exponent e (roughness = √(2 / (e + 2)), the
    inverse of the Blinn-Phong lobe's e = 2/roughness² − 2), map_Kd / map_Ks
    image files (relative to the MTL file) become Textures, read with Pillow,
    sRGB to linear. Other statements are ignored."""
    from .scene import Material
    base = os.path.dirname(os.fspath(path))
    found, current = {}, None

    def finish():
        if current is not None:
            name, fields = current
            found[name] = Material(fields.get("Kd", torch.tensor([0.5, 0.5, 0.5])), fields.get("Ks"),
                                   fields.get("roughness"))

    with open(path, "r", encoding="utf-8", errors="replace") as f:
        for line_number, raw in enumerate(f, 1):
            parts = raw.split("#", 1)[0].split()
            if not parts:
                continue
            tag, where = parts[0], f"{path}:{line_number}"
            try:
                if tag == "newmtl":
                    finish()
                    current = (" ".join(parts[1:]), {})
                elif current is None:
                    continue
                elif tag in ("Kd", "Ks"):
                    current[1][tag] = torch.tensor([float(x) for x in parts[1:4]], dtype=torch.float32)
                elif tag == "Ns":
                    current[1]["roughness"] = torch.tensor((2.0 / (max(float(parts[1]), 0.0) + 2.0)) ** 0.5)
                elif tag in ("map_Kd", "map_Ks"):
                    current[1]["Kd" if tag == "map_Kd" else "Ks"] = _load_texture(
                        os.path.join(base, parts[-1]), where)
            except (ValueError, IndexError) as exc:
                if str(exc).startswith("load_obj()"):
                    raise
                raise ValueError(f"load_mtl(): {where}: {exc} in {raw.strip()!r}") from None
    finish()
    return found


def load_obj(path, materials: bool = False):
    """Reads an OBJ file.

    Returns:
        (vertices (V, 3) float32, indices (F, 3) int32, normals (V, 3) float32 or None,
        uvs (V, 2) float32 or None), on the CPU. A vertex is emitted for every
        distinct (position, uv, normal) index triple used by a face, so the
        attributes line up with ``vertices``. Negative (relative) indices are
        supported. With ``materials=True``, two more items: face_material
        (F,) int32 indices into the list ``materials`` of
        :class:`~pydiffvg.render3d.Material` read from the ``mtllib`` files
        (``usemtl`` selects; faces before any ``usemtl``, or naming an unknown
        material, get a grey default at the end of the list). Make one Shape
        per material from ``indices[face_material == k]``.

    Raises:
        ValueError: naming the file and line for malformed input.
    """
    positions, texcoords, normals = [], [], []
    keys = {}
    out_v, out_uv, out_n, faces = [], [], [], []
    library, face_names, current_material = {}, [], None
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
                elif tag == "mtllib" and materials:
                    for name in parts[1:]:
                        library.update(load_mtl(os.path.join(os.path.dirname(os.fspath(path)), name)))
                elif tag == "usemtl":
                    current_material = " ".join(parts[1:])
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
                        face_names.append(current_material)
            except (ValueError, IndexError) as exc:
                if str(exc).startswith("load_obj()") or str(exc).startswith("load_mtl()"):
                    raise
                raise ValueError(f"load_obj(): {path}:{line_number}: {exc} in {raw.strip()!r}") from None
    vertices = torch.tensor(out_v, dtype=torch.float32).reshape(-1, 3)
    indices = torch.tensor(faces, dtype=torch.int32).reshape(-1, 3)
    uvs = None
    if out_uv and all(u is not None for u in out_uv):
        uvs = torch.tensor(out_uv, dtype=torch.float32).reshape(-1, 2)
    vertex_normals = None
    if out_n and all(n is not None for n in out_n):
        vertex_normals = torch.tensor(out_n, dtype=torch.float32).reshape(-1, 3)
    if not materials:
        return vertices, indices, vertex_normals, uvs
    names: List[Optional[str]] = [n for n in library]
    material_list = [library[n] for n in names]
    lookup = {n: k for k, n in enumerate(names)}
    default = len(material_list)
    ids = [lookup.get(n, default) for n in face_names]
    if default in ids:
        from .scene import Material
        material_list.append(Material(torch.tensor([0.5, 0.5, 0.5])))
    return vertices, indices, vertex_normals, uvs, torch.tensor(ids, dtype=torch.int32), material_list
