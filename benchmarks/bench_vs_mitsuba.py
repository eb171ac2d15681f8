"""pydiffvg.render3d against Mitsuba 3 (variant llvm_ad_rgb) on the same
scenes at matched conventions: image agreement and speed, side by side in
one run.

Each scene is described once, in a renderer-neutral form (`Spec`), and
built for both renderers by `to_ours` and `to_mitsuba`. Conventions matched:

- camera: pinhole, vertical field of view in degrees, look-at frame, near
  clip 0.01; the film has a box pixel filter of one pixel;
- meshes: flat shading (Mitsuba `face_normals`) unless the mesh has vertex
  normals, counter-clockwise faces front; materials are one-sided on both
  sides of the comparison;
- microfacet materials: our model "plastic" / "conductor" is Mitsuba's
  `roughplastic` / `roughconductor` with distribution ggx, sample_visible,
  alpha = roughness (nonlinear false for the plastic);
- area lights: one-sided, constant radiance from the front side;
- depth: our `max_bounces` scattering events are Mitsuba's
  `max_depth = max_bounces + 1` (Mitsuba counts the camera segment);
- textures: our texel (row i, column j) sits at u = (j + .5) / W,
  v = 1 - (i + .5) / H (OBJ's v up); Mitsuba's bitmap puts row 0 at v = 0,
  so the Mitsuba mesh gets (u, 1 - v). Bilinear, repeat, raw (linear) data.

**Image agreement.** Each renderer draws K independent seeds of S samples
per pixel. With Ā, B̄ the two mean images and v_A, v_B the variances of
those means (sample variance over the seeds / K), per pixel and channel

    χ² / px = mean over pixels of (Ā − B̄)² / (v_A + v_B),

about (K−1)/(K−2) when both estimate the same image (t² with the
variances estimated from 2K − 2 degrees of freedom), far above when they differ. PSNR(Ā, B̄) is printed next to the
noise-only PSNR, −10 log10 mean(v_A + v_B): what the PSNR would be if the
images differed by noise alone. Peak 1 (linear radiance).

**Speed.** Steady-state wall time after warm-up (Mitsuba's JIT caches its
kernels after the first render), best of `--repeat`, same thread count
(Mitsuba's LLVM backend uses every core; ours is set to match), and
process CPU time: ours on one thread, Mitsuba's summed over its threads
(on a shared machine the comparable number). Forward is
one render; forward + backward differentiates Σ w ⊙ image with respect to
the vertex positions of one mesh. Mitsuba uses its `prb_projective`
integrator there (the one that differentiates visibility), ours edge sampling.

    DRJIT_LIBLLVM_PATH=/usr/lib/x86_64-linux-gnu/libLLVM-19.so \\
        python benchmarks/bench_vs_mitsuba.py [--scenes a,b] [--seeds 16] [--spp 32] [--no-speed]

Prints one JSON line per scene and measurement. Mitsuba is a benchmark-only
dependency (`pip install mitsuba`); the tests do not use it.

Adding a scene: write a function returning a `Spec` and register it in
SCENES. Material kinds are strings handled by `_our_material` and
`_mitsuba_bsdf`; add a kind to both.
"""
import argparse
import dataclasses
import json
import math
import os
import sys
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

import pydiffvg.render3d as r3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_render3d import bumpy_sphere  # noqa: E402

DEFAULT_LLVM = "/usr/lib/x86_64-linux-gnu/libLLVM-19.so"


# ------------------------------------------------------------ scene specs

@dataclasses.dataclass
class Mesh:
    vertices: np.ndarray                 # (V, 3) float32
    faces: np.ndarray                    # (F, 3) int32, counter-clockwise front
    material: dict                       # {"kind": ..., parameters}; see _our_material
    uvs: Optional[np.ndarray] = None     # (V, 2) float32, our convention (v up)
    emission: Optional[tuple] = None     # radiance (3,) from the front side: an area light
    normals: Optional[np.ndarray] = None  # (V, 3) float32 vertex normals: smooth shading (default flat)


@dataclasses.dataclass
class Spec:
    resolution: int
    position: tuple
    look_at: tuple
    up: tuple
    fov: float                           # vertical, degrees
    meshes: List[Mesh]
    max_bounces: int = 1
    envmap: Optional[np.ndarray] = None  # (H, W, 3) equirectangular radiance, where supported
    envmap_to_world: Optional[np.ndarray] = None  # (4, 4) rotation of the map, default identity
    grad_mesh: int = 0                   # the mesh whose vertices the speed test differentiates


def _quad(corners):
    return np.asarray(corners, np.float32), np.asarray([[0, 1, 2], [0, 2, 3]], np.int32)


def _floor(size=6.0, height=0.0):
    # Counter-clockwise seen from above: the front faces +y.
    return _quad([[-size, height, -size], [-size, height, size], [size, height, size], [size, height, -size]])


def _ceiling_light(y, half, x=0.0, z=0.0):
    # Counter-clockwise seen from below: emits toward -y.
    return _quad([[x - half, y, z - half], [x + half, y, z - half], [x + half, y, z + half], [x - half, y, z + half]])


_CUBE_FACES = np.asarray([[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
                          [2, 3, 7], [2, 7, 6], [1, 2, 6], [1, 6, 5], [0, 4, 7], [0, 7, 3]], np.int32)


def _cube(centre, half):
    v = np.asarray([[-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1],
                    [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]], np.float32) * half
    return v + np.asarray(centre, np.float32), _CUBE_FACES.copy()


def _checker(n=8, size=64, a=(0.8, 0.2, 0.1), b=(0.1, 0.3, 0.8)):
    i, j = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    mask = ((i * n // size + j * n // size) % 2 == 0)[..., None]
    # A horizontal ramp too, so a mirrored lookup would show.
    ramp = (0.5 + 0.5 * j / (size - 1))[..., None]
    return (np.where(mask, np.asarray(a), np.asarray(b)) * ramp).astype(np.float32)


def cube_on_floor(resolution=64, bounces=1, gap=0.3):
    """A cube above a floor lit by a small quad light to the side: shadow, 1 bounce."""
    floor_v, floor_f = _floor()
    cube_v, cube_f = _cube((0.0, 0.5 + gap, 0.0), 0.5)
    light_v, light_f = _ceiling_light(2.0, 0.5, x=-1.5)
    return Spec(resolution, (1.2, 1.6, 2.6), (0.0, 0.3, 0.0), (0.0, 1.0, 0.0), 40.0,
                [Mesh(floor_v, floor_f, {"kind": "diffuse", "reflectance": (0.6, 0.6, 0.6)}),
                 Mesh(cube_v, cube_f, {"kind": "diffuse", "reflectance": (0.7, 0.5, 0.3)}),
                 Mesh(light_v, light_f, {"kind": "diffuse", "reflectance": (0.0, 0.0, 0.0)}, emission=(12.0,) * 3)],
                max_bounces=bounces, grad_mesh=1)


def triangle_silhouette(resolution=64):
    """One triangle in front of a floor, lit from above: silhouette and shadow."""
    floor_v, floor_f = _floor(3.0, -1.0)
    tri_v = np.asarray([[-0.8, -0.5, 0.0], [0.8, -0.6, 0.2], [0.1, 0.7, -0.1]], np.float32)
    light_v, light_f = _ceiling_light(2.5, 0.75)
    return Spec(resolution, (0.0, 0.3, 3.0), (0.0, -0.2, 0.0), (0.0, 1.0, 0.0), 45.0,
                [Mesh(floor_v, floor_f, {"kind": "diffuse", "reflectance": (0.5, 0.5, 0.5)}),
                 Mesh(tri_v, np.asarray([[0, 1, 2]], np.int32), {"kind": "diffuse", "reflectance": (0.2, 0.7, 0.3)}),
                 Mesh(light_v, light_f, {"kind": "diffuse", "reflectance": (0.0, 0.0, 0.0)}, emission=(8.0,) * 3)],
                max_bounces=1, grad_mesh=1)


def textured_diffuse(resolution=64):
    """A checker-textured quad (with a ramp, so orientation shows) on a floor, 2 bounces."""
    floor_v, floor_f = _floor(4.0, -1.0)
    quad_v, quad_f = _quad([[-1, -0.8, -0.3], [1, -0.8, -0.3], [1, 1.0, 0.1], [-1, 1.0, 0.1]])
    uvs = np.asarray([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    light_v, light_f = _ceiling_light(2.5, 0.75, z=1.0)
    return Spec(resolution, (0.3, 0.4, 3.2), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0), 45.0,
                [Mesh(floor_v, floor_f, {"kind": "diffuse", "reflectance": (0.5, 0.5, 0.5)}),
                 Mesh(quad_v, quad_f, {"kind": "diffuse", "reflectance": _checker()}, uvs=uvs),
                 Mesh(light_v, light_f, {"kind": "diffuse", "reflectance": (0.0, 0.0, 0.0)}, emission=(8.0,) * 3)],
                max_bounces=2, grad_mesh=1)


def mesh_10k(resolution=256):
    """The ~10k-triangle bumpy sphere of bench_render3d on a ground plane, diffuse, 1 bounce."""
    v, f = bumpy_sphere(51, 100)
    ground_v, ground_f = _floor(5.0, -1.0)
    light_v, light_f = _ceiling_light(3.0, 1.0)
    return Spec(resolution, (0.0, 1.0, 3.5), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0), 45.0,
                [Mesh(v.numpy(), f.numpy(), {"kind": "diffuse", "reflectance": (0.6, 0.3, 0.2)}),
                 Mesh(ground_v, ground_f, {"kind": "diffuse", "reflectance": (0.5, 0.5, 0.5)}),
                 Mesh(light_v, light_f, {"kind": "diffuse", "reflectance": (0.0, 0.0, 0.0)}, emission=(10.0,) * 3)],
                max_bounces=1, grad_mesh=0)


def _sky(height=64, width=128, sun_u=0.62, sun_v=0.28, sun_radiance=80.0):
    """A procedural equirectangular sky (our/Mitsuba convention: row 0 the
    zenith, u = atan2(x, -z) / 2π): a blue gradient brightening toward the
    horizon, a dark ground and a small warm sun at (u, v); linear radiance."""
    v = (np.arange(height) / (height - 1))[:, None]
    u = ((np.arange(width) + 0.5) / width)[None, :]
    elevation = np.clip(1.0 - 2.0 * v, 0.0, 1.0)  # 1 at the zenith, 0 at the horizon and below
    sky = np.stack([0.25 + 0.45 * (1 - elevation), 0.45 + 0.35 * (1 - elevation), 0.9 + 0.1 * (1 - elevation)], -1)
    ground = np.broadcast_to(np.asarray([0.12, 0.1, 0.08]), sky.shape)
    texels = np.where((v <= 0.5)[..., None], sky, ground) * np.ones((1, width, 1))
    du = np.minimum(np.abs(u - sun_u), 1.0 - np.abs(u - sun_u)) * 2.0 * np.pi * np.sin(np.pi * sun_v)
    dv = (v - sun_v) * np.pi
    sun = np.exp(-(du ** 2 + dv ** 2) / (2 * 0.04 ** 2))
    texels = texels + sun_radiance * sun[..., None] * np.asarray([1.0, 0.85, 0.6])
    return texels.astype(np.float32)


def _rotation(about_x, about_y):
    cx, sx, cy, sy = math.cos(about_x), math.sin(about_x), math.cos(about_y), math.sin(about_y)
    m = np.eye(4)
    m[:3, :3] = np.asarray([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]]) @ np.asarray([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    return m


def envmap_sky(resolution=64, bounces=2, to_world=None):
    """Diffuse boxes on a floor under a non-constant sky with a sun (no area
    lights): the map's importance sampling, its MIS against BSDF sampling,
    sun shadows, and the background read from the map."""
    floor_v, floor_f = _floor(4.0, 0.0)
    cube_v, cube_f = _cube((0.0, 0.5, 0.0), 0.5)
    small_v, small_f = _cube((1.1, 0.25, 0.7), 0.25)
    return Spec(resolution, (2.2, 1.8, 3.4), (0.2, 0.4, 0.0), (0.0, 1.0, 0.0), 50.0,
                [Mesh(floor_v, floor_f, {"kind": "diffuse", "reflectance": (0.5, 0.5, 0.5)}),
                 Mesh(cube_v, cube_f, {"kind": "diffuse", "reflectance": (0.7, 0.4, 0.3)}),
                 Mesh(small_v, small_f, {"kind": "diffuse", "reflectance": (0.3, 0.6, 0.4)})],
                max_bounces=bounces, envmap=_sky(), envmap_to_world=to_world, grad_mesh=1)

def _sphere(centre, radius, rings=24, segments=48):
    """A UV sphere with unit vertex normals (poles without degenerate faces)."""
    theta = np.pi * np.arange(rings + 1) / rings
    phi = 2 * np.pi * np.arange(segments + 1) / segments
    t, p = np.meshgrid(theta, phi, indexing="ij")
    n = np.stack([np.sin(t) * np.cos(p), np.cos(t), np.sin(t) * np.sin(p)], -1).reshape(-1, 3).astype(np.float32)
    faces = []
    for i in range(rings):
        for j in range(segments):
            a = i * (segments + 1) + j
            b = a + segments + 1
            if i > 0:
                faces.append([a, a + 1, b])
            if i < rings - 1:
                faces.append([a + 1, b + 1, b])
    return n * radius + np.asarray(centre, np.float32), np.asarray(faces, np.int32), n


def microfacet_sphere(material, resolution=64, bounces=2):
    """A smooth sphere of a microfacet material on a grey floor, a quad light
    above and to the front-right: highlights, shadow, and (2 bounces) the
    floor seen in the sphere."""
    floor_v, floor_f = _floor(4.0)
    sphere_v, sphere_f, sphere_n = _sphere((0.0, 0.7, 0.0), 0.7)
    light_v, light_f = _ceiling_light(3.0, 0.6, x=0.8, z=1.0)
    return Spec(resolution, (0.0, 1.2, 3.6), (0.0, 0.6, 0.0), (0.0, 1.0, 0.0), 40.0,
                [Mesh(sphere_v, sphere_f, material, normals=sphere_n),
                 Mesh(floor_v, floor_f, {"kind": "diffuse", "reflectance": (0.5, 0.5, 0.5)}),
                 Mesh(light_v, light_f, {"kind": "diffuse", "reflectance": (0.0, 0.0, 0.0)}, emission=(10.0,) * 3)],
                max_bounces=bounces, grad_mesh=0)


def envmap_microfacet(material, resolution=64, bounces=2):
    """A smooth microfacet sphere on a floor under the sky of `envmap_sky`
    (no area light): the map's sampling against a glossy BSDF's under MIS,
    the sky reflected in the sphere."""
    floor_v, floor_f = _floor(4.0)
    sphere_v, sphere_f, sphere_n = _sphere((0.0, 0.7, 0.0), 0.7)
    return Spec(resolution, (0.0, 1.2, 3.6), (0.0, 0.6, 0.0), (0.0, 1.0, 0.0), 40.0,
                [Mesh(sphere_v, sphere_f, material, normals=sphere_n),
                 Mesh(floor_v, floor_f, {"kind": "diffuse", "reflectance": (0.5, 0.5, 0.5)})],
                max_bounces=bounces, envmap=_sky(), grad_mesh=0)


ROUGH_PLASTIC = {"kind": "plastic", "diffuse_reflectance": (0.15, 0.35, 0.7), "specular_reflectance": (1.0, 1.0, 1.0),
                 "roughness": 0.2, "int_ior": 1.49, "ext_ior": 1.000277}
# Gold-like complex index (r, g, b).
ROUGH_CONDUCTOR = {"kind": "conductor", "specular_reflectance": (1.0, 1.0, 1.0), "roughness": 0.25,
                   "eta": (0.143, 0.374, 1.442), "k": (3.983, 2.385, 1.603)}

SCENES: Dict[str, Callable[[], Spec]] = {
    "triangle": triangle_silhouette,
    "cube_floor": cube_on_floor,
    "cube_floor_2b": lambda: cube_on_floor(bounces=2),
    "textured_diffuse": textured_diffuse,
    "mesh_10k_256": mesh_10k,
    "envmap_sky": envmap_sky,
    "envmap_sky_1b": lambda: envmap_sky(bounces=1),
    "envmap_sky_rotated": lambda: envmap_sky(bounces=1, to_world=_rotation(0.5, 1.1)),
    "rough_plastic": lambda: microfacet_sphere(ROUGH_PLASTIC),
    "rough_conductor": lambda: microfacet_sphere(ROUGH_CONDUCTOR),
    "envmap_rough_conductor": lambda: envmap_microfacet(ROUGH_CONDUCTOR),
    "envmap_rough_plastic": lambda: envmap_microfacet(ROUGH_PLASTIC),
}


# ------------------------------------------------------------------- ours

def _colour_or_texture(value):
    value = np.asarray(value, np.float32)
    if value.ndim == 3:
        return r3.Texture(torch.from_numpy(value.copy()))
    return torch.from_numpy(value.copy())


def _our_material(m: dict) -> r3.Material:
    kind = m["kind"]
    if kind == "diffuse":
        return r3.Material(_colour_or_texture(m["reflectance"]))
    if kind == "plastic":
        return r3.Material(model="plastic", diffuse_reflectance=_colour_or_texture(m["diffuse_reflectance"]),
                           specular_reflectance=_colour_or_texture(m["specular_reflectance"]),
                           roughness=float(m["roughness"]), int_ior=m["int_ior"], ext_ior=m["ext_ior"])
    if kind == "conductor":
        return r3.Material(model="conductor", specular_reflectance=_colour_or_texture(m["specular_reflectance"]),
                           roughness=float(m["roughness"]), eta=m["eta"], k=m["k"])
    raise ValueError(f"no pydiffvg material for kind {kind!r}")


def to_ours(spec: Spec, vertices_grad: bool = False):
    """(r3.Scene, the differentiated vertex tensor or None)."""
    cam = r3.Camera(torch.tensor(spec.position, dtype=torch.float32), torch.tensor(spec.look_at, dtype=torch.float32),
                    torch.tensor(spec.up, dtype=torch.float32), float(spec.fov),
                    resolution=(spec.resolution, spec.resolution))
    shapes, materials, lights, grad = [], [], [], None
    for i, mesh in enumerate(spec.meshes):
        v = torch.from_numpy(mesh.vertices.copy())
        if vertices_grad and i == spec.grad_mesh:
            grad = v.requires_grad_(True)
        uvs = None if mesh.uvs is None else torch.from_numpy(mesh.uvs.copy())
        normals = None if mesh.normals is None else torch.from_numpy(mesh.normals.copy())
        shapes.append(r3.Shape(v, torch.from_numpy(mesh.faces.copy()), len(materials), uvs=uvs, normals=normals))
        materials.append(_our_material(mesh.material))
        if mesh.emission is not None:
            lights.append(r3.AreaLight(i, torch.tensor(mesh.emission, dtype=torch.float32)))
    kwargs = {}
    if spec.envmap is not None:
        to_world = None if spec.envmap_to_world is None else torch.tensor(spec.envmap_to_world, dtype=torch.float32)
        kwargs["envmap"] = r3.EnvironmentMap(torch.from_numpy(spec.envmap.copy()), to_world)
    return r3.Scene(cam, shapes, materials, lights, **kwargs), grad


def render_ours(spec: Spec, spp: int, seed: int) -> np.ndarray:
    scene, _ = to_ours(spec)
    return r3.render_pathtracing(scene, num_samples=spp, max_bounces=spec.max_bounces, seed=seed).numpy()


# ---------------------------------------------------------------- Mitsuba

def load_mitsuba():
    os.environ.setdefault("DRJIT_LIBLLVM_PATH", DEFAULT_LLVM)
    import mitsuba as mi
    mi.set_variant("llvm_ad_rgb")
    return mi


def _mi_texture_or_rgb(mi, value):
    value = np.asarray(value, np.float32)
    if value.ndim == 3:
        return {"type": "bitmap", "data": mi.TensorXf(value), "raw": True,
                "filter_type": "bilinear", "wrap_mode": "repeat"}
    return {"type": "rgb", "value": value.tolist()}


def _mitsuba_bsdf(mi, m: dict) -> dict:
    kind = m["kind"]
    if kind == "diffuse":
        return {"type": "diffuse", "reflectance": _mi_texture_or_rgb(mi, m["reflectance"])}
    if kind == "plastic":
        return {"type": "roughplastic", "distribution": "ggx", "sample_visible": True, "alpha": float(m["roughness"]),
                "diffuse_reflectance": _mi_texture_or_rgb(mi, m["diffuse_reflectance"]),
                "specular_reflectance": _mi_texture_or_rgb(mi, m["specular_reflectance"]),
                "int_ior": float(m["int_ior"]), "ext_ior": float(m["ext_ior"]), "nonlinear": False}
    if kind == "conductor":
        return {"type": "roughconductor", "distribution": "ggx", "sample_visible": True, "alpha": float(m["roughness"]),
                "specular_reflectance": _mi_texture_or_rgb(mi, m["specular_reflectance"]),
                "eta": {"type": "rgb", "value": list(m["eta"])}, "k": {"type": "rgb", "value": list(m["k"])}}
    raise ValueError(f"no Mitsuba BSDF for kind {kind!r}")


def _mi_mesh(mi, name: str, mesh: Mesh):
    props = mi.Properties()
    props["face_normals"] = mesh.normals is None
    props["bsdf"] = mi.load_dict(_mitsuba_bsdf(mi, mesh.material))
    if mesh.emission is not None:
        props["emitter"] = mi.load_dict({"type": "area", "radiance": {"type": "rgb", "value": list(mesh.emission)}})
    has_uv = mesh.uvs is not None
    m = mi.Mesh(name, len(mesh.vertices), len(mesh.faces), props=props, has_vertex_normals=mesh.normals is not None,
                has_vertex_texcoords=has_uv)
    params = mi.traverse(m)
    params["vertex_positions"] = mi.Float(mesh.vertices.astype(np.float32).ravel())
    params["faces"] = mi.UInt32(mesh.faces.astype(np.uint32).ravel())
    if mesh.normals is not None:
        params["vertex_normals"] = mi.Float(mesh.normals.astype(np.float32).ravel())
    if has_uv:
        uv = mesh.uvs.astype(np.float32).copy()
        uv[:, 1] = 1.0 - uv[:, 1]
        params["vertex_texcoords"] = mi.Float(uv.ravel())
    params.update()
    return m


def to_mitsuba(mi, spec: Spec, spp: int, integrator: str = "path"):
    scene = {
        "type": "scene",
        "integrator": {"type": integrator, "max_depth": spec.max_bounces + 1},
        "sensor": {
            "type": "perspective", "fov": float(spec.fov), "fov_axis": "y", "near_clip": 0.01,
            "to_world": mi.ScalarTransform4f().look_at(origin=list(spec.position), target=list(spec.look_at),
                                                       up=list(spec.up)),
            "sampler": {"type": "independent", "sample_count": spp},
            "film": {"type": "hdrfilm", "width": spec.resolution, "height": spec.resolution,
                     "rfilter": {"type": "box"}, "pixel_format": "rgb",
                     # The projective integrator wants border samples for shapes leaving the view.
                     "sample_border": integrator != "path"},
        },
    }
    for i, mesh in enumerate(spec.meshes):
        scene[f"mesh{i}"] = _mi_mesh(mi, f"mesh{i}", mesh)
    if spec.envmap is not None:
        scene["envmap"] = {"type": "envmap", "bitmap": mi.Bitmap(np.ascontiguousarray(spec.envmap, np.float32))}
        if spec.envmap_to_world is not None:
            scene["envmap"]["to_world"] = mi.ScalarTransform4f(np.asarray(spec.envmap_to_world).tolist())
    return mi.load_dict(scene)


def render_mitsuba(mi, scene, spp: int, seed: int) -> np.ndarray:
    return np.asarray(mi.render(scene, spp=spp, seed=seed), dtype=np.float32)


# ---------------------------------------------------------------- metrics

def agreement(ours: List[np.ndarray], theirs: List[np.ndarray]) -> dict:
    """χ²/px, PSNR and noise-only PSNR of two stacks of independent renders."""
    a, b = np.stack(ours).astype(np.float64), np.stack(theirs).astype(np.float64)
    ma, mb = a.mean(0), b.mean(0)
    va, vb = a.var(0, ddof=1) / len(a), b.var(0, ddof=1) / len(b)
    var = va + vb
    noisy = var > 1e-12
    diff2 = (ma - mb) ** 2
    chi2 = float((diff2[noisy] / var[noisy]).mean())
    # Pixels without noise in either (background, seen emitters) must match exactly-ish.
    exact = float(np.abs(ma - mb)[~noisy].max()) if (~noisy).any() else 0.0
    mse = float(diff2.mean())
    noise_mse = float(var.mean())
    k = min(len(a), len(b))
    return {"chi2_per_px": round(chi2, 4), "chi2_expected": round((k - 1) / (k - 2), 4) if k > 2 else None,
            "psnr_db": round(-10 * math.log10(max(mse, 1e-20)), 2),
            "noise_only_psnr_db": round(-10 * math.log10(max(noise_mse, 1e-20)), 2),
            "max_noiseless_diff": round(exact, 6),
            "mean_ours": round(float(ma.mean()), 5), "mean_mitsuba": round(float(mb.mean()), 5)}


# ------------------------------------------------------------------ speed

def _best(fn, repeat):
    fn()  # warm-up (Mitsuba compiles and caches its kernels here)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _best_cpu(fn, repeat, threads=None):
    """Best process CPU seconds of fn() (every thread of the process counted)
    after a warm-up; with `threads`, our renderer runs on that many."""
    saved = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        fn()
        times = []
        for _ in range(repeat):
            start = time.process_time()
            fn()
            times.append(time.process_time() - start)
        return min(times)
    finally:
        torch.set_num_threads(saved)


def speed(mi, spec: Spec, spp: int, repeat: int, backward: bool = True) -> dict:
    import drjit as dr
    weights = np.random.default_rng(0).random((spec.resolution, spec.resolution, 3)).astype(np.float32)
    ours_scene, vertices = to_ours(spec, vertices_grad=True)
    w = torch.from_numpy(weights)

    def ours_forward():
        with torch.no_grad():
            r3.render_pathtracing(ours_scene, num_samples=spp, max_bounces=spec.max_bounces, seed=1)

    def ours_backward():
        vertices.grad = None
        img = r3.render_pathtracing(ours_scene, num_samples=spp, max_bounces=spec.max_bounces, seed=1)
        (img * w).sum().backward()

    mi_scene = to_mitsuba(mi, spec, spp)
    mi_grad_scene = to_mitsuba(mi, spec, spp, integrator="prb_projective")
    params = mi.traverse(mi_grad_scene)
    key = f"mesh{spec.grad_mesh}.vertex_positions"
    params.keep([key])
    mi_w = mi.TensorXf(weights)

    def mitsuba_forward():
        img = mi.render(mi_scene, spp=spp, seed=1)
        dr.eval(img)

    def mitsuba_backward():
        dr.enable_grad(params[key])
        params.update()
        img = mi.render(mi_grad_scene, params, spp=spp, seed=1)
        loss = dr.sum(img * mi_w, axis=None)
        dr.backward(loss)
        dr.eval(dr.grad(params[key]))

    # Wall time at the same thread count, and CPU time: ours on one thread,
    # Mitsuba's summed over its threads. On a shared machine the CPU times
    # are the comparable numbers; wall time also counts other processes.
    result = {"ours_forward_ms": round(1e3 * _best(ours_forward, repeat), 1),
              "mitsuba_forward_ms": round(1e3 * _best(mitsuba_forward, repeat), 1),
              "ours_forward_cpu1_ms": round(1e3 * _best_cpu(ours_forward, repeat, threads=1), 1),
              "mitsuba_forward_cpu_ms": round(1e3 * _best_cpu(mitsuba_forward, repeat), 1)}
    if backward:
        result.update({"ours_fwd_bwd_ms": round(1e3 * _best(ours_backward, repeat), 1),
                       "mitsuba_fwd_bwd_ms": round(1e3 * _best(mitsuba_backward, repeat), 1),
                       "ours_fwd_bwd_cpu1_ms": round(1e3 * _best_cpu(ours_backward, repeat, threads=1), 1),
                       "mitsuba_fwd_bwd_cpu_ms": round(1e3 * _best_cpu(mitsuba_backward, repeat), 1)})
    return result


# ------------------------------------------------------------------- main

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenes", default=",".join(SCENES), help="comma-separated names: " + ", ".join(SCENES))
    p.add_argument("--seeds", type=int, default=16, help="independent renders per renderer for the χ² test")
    p.add_argument("--spp", type=int, default=32, help="samples per pixel of each render")
    p.add_argument("--speed-spp", type=int, default=32)
    p.add_argument("--repeat", type=int, default=3, help="timed runs per speed measurement (best is kept)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="our thread count for the speed runs")
    p.add_argument("--no-images", action="store_true")
    p.add_argument("--no-speed", action="store_true")
    p.add_argument("--no-backward", action="store_true", help="speed: forward only")
    args = p.parse_args()
    mi = load_mitsuba()
    torch.set_num_threads(args.threads)
    for name in args.scenes.split(","):
        spec = SCENES[name]()
        base = {"scene": name, "resolution": spec.resolution, "max_bounces": spec.max_bounces,
                "triangles": int(sum(len(m.faces) for m in spec.meshes))}
        if not args.no_images:
            mi_scene = to_mitsuba(mi, spec, args.spp)
            ours = [render_ours(spec, args.spp, seed) for seed in range(args.seeds)]
            theirs = [render_mitsuba(mi, mi_scene, args.spp, seed) for seed in range(args.seeds)]
            print(json.dumps({**base, "measure": "image", "seeds": args.seeds, "spp": args.spp,
                              **agreement(ours, theirs)}), flush=True)
        if not args.no_speed:
            print(json.dumps({**base, "measure": "speed", "spp": args.speed_spp, "threads": args.threads,
                              "load_avg_1min": round(os.getloadavg()[0], 2),
                              **speed(mi, spec, args.speed_spp, args.repeat, not args.no_backward)}), flush=True)


if __name__ == "__main__":
    main()
