"""3-D scene description: cameras, materials, triangle meshes, area lights and
an environment map.

Names and arguments follow pyredner where it makes sense. Every tensor is
float32 (indices int32) and may live on the CPU or a CUDA device; all tensors
of one scene must share a device. Any float tensor may require grad: the
renderer differentiates with respect to vertex positions (and vertex
normals), camera position / look_at / up / fov, material reflectances and
roughness, light intensities and environment-map texels.
"""
from __future__ import annotations

import enum
import math
from typing import Optional, Sequence

import torch

__all__ = ["CameraType", "Camera", "Texture", "Material", "Shape", "AreaLight", "EnvironmentMap", "Scene",
           "channels"]


class CameraType(enum.IntEnum):
    """Projection of a :class:`Camera`."""
    perspective = 0
    orthographic = 1


class channels(enum.IntEnum):
    """G-buffer channels for :func:`render_g_buffer`, with their widths:
    ``depth`` (1, distance along the camera ray), ``position`` (3, world),
    ``geometry_normal`` (3, unit face normal), ``shading_normal`` (3, unit,
    interpolated vertex normal or the face normal), ``albedo`` (3, diffuse
    reflectance) and ``alpha`` (1, coverage). Background pixels are 0."""
    depth = 0
    position = 1
    geometry_normal = 2
    shading_normal = 3
    albedo = 4
    alpha = 5


def _vector(value, name: str, owner: str, size: int = 3) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        try:
            value = torch.tensor(value, dtype=torch.float32)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{owner}: '{name}' must be a float tensor of {size} values, got {value!r}") from exc
    if not value.is_floating_point():
        value = value.float()
    if value.numel() != size:
        raise ValueError(f"{owner}: '{name}' must hold {size} values, got shape {tuple(value.shape)}")
    return value.reshape(size) if value.dim() != 1 else value


def _scalar(value, name: str, owner: str) -> torch.Tensor:
    return _vector(value, name, owner, 1).reshape(())


class Camera:
    """A pinhole or orthographic camera.

    Args:
        position, look_at, up: float32 tensors of shape (3,), world space.
        fov: scalar tensor. For ``CameraType.perspective`` the full VERTICAL
            field of view in degrees. For ``CameraType.orthographic`` the
            half-height of the view in world units (the view spans
            [-fov, fov] along ``up`` and [-fov·W/H, fov·W/H] along right).
        clip_near: geometry closer than this camera-space depth is clipped.
        resolution: (H, W) in pixels.
        camera_type: :class:`CameraType`.

    Screen conventions follow DESIGN.md: pixel (row i, column j) covers
    [j, j+1) × [i, i+1), y down; ``up`` points to the top of the image.
    """

    def __init__(self, position, look_at, up, fov, clip_near: float = 1e-2, resolution=(256, 256),
                 camera_type: CameraType = CameraType.perspective):
        self.position = _vector(position, "position", "Camera")
        self.look_at = _vector(look_at, "look_at", "Camera")
        self.up = _vector(up, "up", "Camera")
        self.fov = _scalar(fov, "fov", "Camera")
        if not float(clip_near) > 0:
            raise ValueError(f"Camera: 'clip_near' must be positive, got {clip_near}")
        self.clip_near = float(clip_near)
        try:
            height, width = (int(v) for v in resolution)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"Camera: 'resolution' must be (H, W), got {resolution!r}") from exc
        if height <= 0 or width <= 0:
            raise ValueError(f"Camera: 'resolution' must be positive, got {resolution!r}")
        self.resolution = (height, width)
        self.camera_type = CameraType(camera_type)

    def packed(self) -> torch.Tensor:
        """The 13 floats the kernels use: origin, right, up, forward, scale
        (differentiable torch ops, so gradients reach position/look_at/up/fov)."""
        forward = self.look_at - self.position
        forward = forward / forward.norm()
        right = torch.linalg.cross(forward, self.up)
        right = right / right.norm()
        up = torch.linalg.cross(right, forward)
        if self.camera_type == CameraType.perspective:
            scale = torch.tan(self.fov * (math.pi / 360.0))
        else:
            scale = self.fov
        return torch.cat([self.position, right, up, forward, scale.reshape(1)]).float().contiguous()


class Texture:
    """A uv-mapped texture, looked up bilinearly with wrapping (repeat).

    Args:
        texels: (H, W, C) float tensor; C = 3 for reflectances, 1 for
            roughness ((H, W) is taken as C = 1). May require grad.

    Conventions: row 0 is the top of the image and v points up, as in OBJ
    files: texel (row i, column j) is centred at u = (j + 0.5) / W,
    v = 1 - (i + 0.5) / H.
    """

    def __init__(self, texels):
        if not isinstance(texels, torch.Tensor) or not texels.is_floating_point():
            raise TypeError(f"Texture: 'texels' must be a float tensor, got {type(texels).__name__}")
        if texels.dim() == 2:
            texels = texels.unsqueeze(-1)
        if texels.dim() != 3 or texels.shape[0] < 1 or texels.shape[1] < 1 or texels.shape[2] not in (1, 3):
            raise ValueError(f"Texture: 'texels' must be (H, W, 3) or (H, W, 1), got {tuple(texels.shape)}")
        if not bool(torch.isfinite(texels.detach()).all()):
            raise ValueError("Texture: 'texels' hold non-finite values (NaN or inf)")
        self.texels = texels

    @property
    def channels(self) -> int:
        return int(self.texels.shape[2])


def _texture_or(value, name: str, size: int):
    if isinstance(value, Texture):
        if value.channels != size:
            raise ValueError(f"Material: '{name}' texture must have {size} channel(s), got {value.channels}")
        if not bool(torch.isfinite(value.texels.detach()).all()):
            raise ValueError(f"Material: '{name}' texture holds non-finite texels")
        return value
    return _vector(value, name, "Material", size) if size == 3 else _scalar(value, name, "Material")


#: Material models: today's Lambertian + Blinn-Phong, and two GGX microfacet
#: models matching Mitsuba 3's ``roughconductor`` / ``roughplastic``.
MATERIAL_MODELS = ("blinn_phong", "conductor", "plastic")


def _ior_values(value, name: str, size: int, lower: float, strict: bool):
    """Non-differentiable index-of-refraction constants as floats."""
    if isinstance(value, torch.Tensor):
        if value.requires_grad:
            raise ValueError(f"Material: '{name}' is not differentiable; pass a plain value")
        value = value.detach().cpu().reshape(-1).tolist()
    elif isinstance(value, (int, float)):
        value = [float(value)] * size
    else:
        try:
            value = [float(v) for v in value]
        except (TypeError, ValueError) as exc:
            raise TypeError(f"Material: '{name}' must be a float or {size} floats, got {value!r}") from exc
    if len(value) == 1 and size > 1:
        value = value * size
    if len(value) != size:
        raise ValueError(f"Material: '{name}' must hold 1 or {size} values, got {len(value)}")
    for v in value:
        if not math.isfinite(v) or v < lower or (strict and v == lower):
            relation = ">" if strict else ">="
            raise ValueError(f"Material: '{name}' must be finite and {relation} {lower}, got {value!r}")
    return tuple(float(v) for v in value)


def _check_slot(value, name: str, model: str, roughness: bool):
    """Finite values; roughness in (0, 1] (textures: every texel)."""
    data = (value.texels if isinstance(value, Texture) else value).detach()
    if not bool(torch.isfinite(data).all()):
        raise ValueError(f"Material: '{name}' holds non-finite values")
    if roughness and model != "blinn_phong" and not bool(((data > 0) & (data <= 1)).all()):
        raise ValueError(f"Material: '{name}' must lie in (0, 1] for model '{model}', got "
                         f"{float(data.min()):g} .. {float(data.max()):g}")


class Material:
    """A surface's reflectance. Three models (``model``):

    * ``"blinn_phong"`` (default): Lambertian diffuse plus a normalised
      Blinn-Phong glossy lobe, f = kd/π + ks (e+2)/(8π) (n·h)^e with
      e = 2/roughness² − 2.
    * ``"conductor"``: a GGX rough conductor (Mitsuba 3 ``roughconductor``,
      distribution ggx): ks · F(η + iκ) D G / (4 cos θ_o cos θ_i), with the
      exact Fresnel reflectance of complex index ``eta`` + i ``k`` per colour
      channel. The default (η, κ) = (0, 1) reflects everything, so the
      colour is ``specular_reflectance`` alone.
    * ``"plastic"``: a GGX rough dielectric coat (relative index
      ``int_ior / ext_ior``) over a Lambertian base (Mitsuba 3
      ``roughplastic``, nonlinear false): the coat's reflection
      ks F D G / (4 cos θ_o cos θ_i) plus the base seen through it,
      kd / (1 − R_int) T(θ_o) T(θ_i) / (π η²).

    ``roughness`` is the GGX α of the microfacet models (Mitsuba's
    ``alpha``) and sets e above for Blinn-Phong. The renderer
    differentiates kd, ks and roughness (constants or textures); the model
    and the indices of refraction are constants.

    Args:
        diffuse_reflectance: (3,) float32 kd, or a :class:`Texture` (H, W, 3).
            Required for ``"blinn_phong"``; default 0.5 for ``"plastic"``;
            not allowed for ``"conductor"``.
        specular_reflectance: (3,) float32 ks, or a :class:`Texture` (H, W, 3).
            Default 0 for ``"blinn_phong"``, 1 for the microfacet models.
        roughness: scalar, or a :class:`Texture` (H, W, 1). Default 1 for
            ``"blinn_phong"``, 0.1 (Mitsuba's α) for the others, which need it
            in (0, 1].
        two_sided: whether the back side of faces reflects too.
        model: ``"blinn_phong"``, ``"conductor"`` or ``"plastic"``.
        eta, k: conductor only; the real and imaginary index, a float or
            (3,) floats (r, g, b), eta >= 0, k >= 0. Defaults 0 and 1.
        int_ior, ext_ior: plastic only; interior and exterior indices of
            refraction, positive and different. Defaults 1.49
            (polypropylene) and 1.000277 (air), as Mitsuba.

    A textured material needs ``uvs`` on every shape that uses it.
    """

    def __init__(self, diffuse_reflectance=None, specular_reflectance=None, roughness=None, two_sided: bool = False,
                 *, model: str = "blinn_phong", eta=None, k=None, int_ior=None, ext_ior=None):
        if not isinstance(model, str) or model not in MATERIAL_MODELS:
            raise ValueError(f"Material: 'model' must be one of {MATERIAL_MODELS}, got {model!r}")
        self.model = model
        if model == "blinn_phong" and diffuse_reflectance is None:
            raise TypeError("Material: 'diffuse_reflectance' is required for model 'blinn_phong'")
        if model == "conductor" and diffuse_reflectance is not None:
            raise ValueError("Material: model 'conductor' has no 'diffuse_reflectance'")
        for name, value, allowed in (("eta", eta, "conductor"), ("k", k, "conductor"),
                                     ("int_ior", int_ior, "plastic"), ("ext_ior", ext_ior, "plastic")):
            if value is not None and model != allowed:
                raise ValueError(f"Material: '{name}' applies to model '{allowed}' only, not '{model}'")
        if diffuse_reflectance is None:
            diffuse_reflectance = ([0.5, 0.5, 0.5] if model == "plastic" else [0.0, 0.0, 0.0])
            if isinstance(specular_reflectance, torch.Tensor):
                diffuse_reflectance = torch.tensor(diffuse_reflectance, device=specular_reflectance.device)
            elif isinstance(specular_reflectance, Texture):
                diffuse_reflectance = torch.tensor(diffuse_reflectance, device=specular_reflectance.texels.device)
        self.diffuse_reflectance = _texture_or(diffuse_reflectance, "diffuse_reflectance", 3)
        first = self.diffuse_reflectance
        device = (first.texels if isinstance(first, Texture) else first).device
        microfacet = model != "blinn_phong"
        if specular_reflectance is None:
            self.specular_reflectance = torch.ones(3, device=device) if microfacet else torch.zeros(3, device=device)
        else:
            self.specular_reflectance = _texture_or(specular_reflectance, "specular_reflectance", 3)
        if roughness is None:
            self.roughness = torch.full((), 0.1 if microfacet else 1.0, device=device)
        else:
            self.roughness = _texture_or(roughness, "roughness", 1)
        for name, value, _ in self.slots():
            _check_slot(value, name, model, name == "roughness")
        self.two_sided = bool(two_sided)
        self.eta = _ior_values(0.0 if eta is None else eta, "eta", 3, 0.0, False)
        self.k = _ior_values(1.0 if k is None else k, "k", 3, 0.0, False)
        self.int_ior = _ior_values(1.49 if int_ior is None else int_ior, "int_ior", 1, 0.0, True)[0]
        self.ext_ior = _ior_values(1.000277 if ext_ior is None else ext_ior, "ext_ior", 1, 0.0, True)[0]
        if model == "plastic" and self.int_ior == self.ext_ior:
            raise ValueError(f"Material: 'int_ior' and 'ext_ior' must differ, both are {self.int_ior}")

    def slots(self):
        """(name, value, channels) of the three reflectance slots, in kernel order."""
        return (("diffuse_reflectance", self.diffuse_reflectance, 3),
                ("specular_reflectance", self.specular_reflectance, 3), ("roughness", self.roughness, 1))

    @property
    def textured(self) -> bool:
        return any(isinstance(v, Texture) for _, v, _ in self.slots())

    def model_params(self):
        """(model id, the 8 kernel constants [η rgb, κ rgb, int/ext ior, 0]) (csrc/rt/microfacet.h)."""
        return MATERIAL_MODELS.index(self.model), [*self.eta, *self.k, self.int_ior / self.ext_ior, 0.0]


class Shape:
    """A triangle mesh.

    Args:
        vertices: (V, 3) float32 world positions.
        indices: (F, 3) int32 vertex indices, counter-clockwise faces front.
        material_id: index into ``Scene.materials``.
        normals: optional (V, 3) float32 vertex normals (smooth shading);
            without them the face normal is used (flat shading).
        uvs: optional (V, 2) float32 texture coordinates (needed when the
            material has a :class:`Texture`); differentiable.
    """

    def __init__(self, vertices, indices, material_id: int, normals=None, uvs=None):
        if not isinstance(vertices, torch.Tensor) or vertices.dim() != 2 or vertices.shape[1] != 3:
            raise ValueError(f"Shape: 'vertices' must be a (V, 3) tensor, got "
                             f"{getattr(vertices, 'shape', type(vertices).__name__)}")
        if not isinstance(indices, torch.Tensor) or indices.dim() != 2 or indices.shape[1] != 3:
            raise ValueError(f"Shape: 'indices' must be an (F, 3) int tensor, got "
                             f"{getattr(indices, 'shape', type(indices).__name__)}")
        if indices.is_floating_point():
            raise TypeError("Shape: 'indices' must be an integer tensor")
        if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= vertices.shape[0]):
            raise ValueError(f"Shape: 'indices' out of range [0, {vertices.shape[0]})")
        if normals is not None and tuple(normals.shape) != tuple(vertices.shape):
            raise ValueError(f"Shape: 'normals' must match vertices {tuple(vertices.shape)}, got {tuple(normals.shape)}")
        if uvs is not None and (not isinstance(uvs, torch.Tensor) or uvs.dim() != 2 or
                                tuple(uvs.shape) != (vertices.shape[0], 2)):
            raise ValueError(f"Shape: 'uvs' must be ({vertices.shape[0]}, 2), got "
                             f"{tuple(getattr(uvs, 'shape', ()))}")
        if uvs is not None and not bool(torch.isfinite(uvs.detach()).all()):
            raise ValueError("Shape: 'uvs' hold non-finite values")
        self.vertices = vertices
        self.indices = indices
        self.material_id = int(material_id)
        self.normals = normals
        self.uvs = uvs


class AreaLight:
    """Makes every face of ``Scene.shapes[shape_id]`` emit ``intensity``
    (radiance, (3,) float32) from its front side (both sides if two_sided)."""

    def __init__(self, shape_id: int, intensity, two_sided: bool = False):
        self.shape_id = int(shape_id)
        self.intensity = _vector(intensity, "intensity", "AreaLight")
        self.two_sided = bool(two_sided)


class EnvironmentMap:
    """Light from infinitely far away: an equirectangular (latitude-longitude)
    RGB radiance map. Rays that leave the scene, camera rays included, read it,
    so it is also the background; next-event estimation samples it by
    luminance × solid angle. Differentiable with respect to ``texels``.

    Args:
        texels: (H, W, 3) float32 radiance, H >= 2, W >= 1, finite and >= 0,
            on the scene's device. May require grad.
        to_world: optional (3, 3) or (4, 4) matrix taking map directions to
            world directions (the upper-left 3x3 must be a rotation; a
            translation is ignored, directions have none). Default identity.

    Convention (Mitsuba 3's ``envmap`` emitter): a world direction d is taken
    to the map frame l = to_world⁻¹ d; then u = atan2(l.x, -l.z) / 2π (wrapped
    to [0, 1)) and v = acos(l.y) / π, so +y is the zenith (row 0) and -z is
    u = 0. Texel (row i, column j) sits at u = (j + 0.5) / W, v = i / (H - 1)
    (rows span pole to pole), the radiance in between is bilinear, periodic
    in u. Mitsuba pads maps smaller than 3 rows x 2 columns; use at least that
    size when comparing.
    """

    def __init__(self, texels, to_world=None):
        if not isinstance(texels, torch.Tensor):
            raise TypeError(f"EnvironmentMap: 'texels' must be a float32 tensor, got {type(texels).__name__}")
        if texels.dtype != torch.float32:
            raise ValueError(f"EnvironmentMap: 'texels' must be float32, got {texels.dtype}")
        if texels.dim() != 3 or texels.shape[2] != 3:
            raise ValueError(f"EnvironmentMap: 'texels' must be (H, W, 3), got {tuple(texels.shape)}")
        height, width = int(texels.shape[0]), int(texels.shape[1])
        if height < 2 or width < 1:
            raise ValueError(f"EnvironmentMap: 'texels' must have H >= 2 rows and W >= 1 columns, got "
                             f"{tuple(texels.shape)}")
        if height * width * 3 >= 2 ** 31:
            raise ValueError(f"EnvironmentMap: 'texels' hold {height * width * 3:,} values; at most 2^31 - 1")
        values = texels.detach()
        if not bool(torch.isfinite(values).all()):
            raise ValueError("EnvironmentMap: 'texels' hold non-finite values (NaN or inf)")
        if bool((values < 0).any()):
            raise ValueError("EnvironmentMap: 'texels' hold negative radiance")
        self.texels = texels
        if to_world is None:
            rotation = torch.eye(3, dtype=torch.float32)
        else:
            if not isinstance(to_world, torch.Tensor):
                try:
                    to_world = torch.tensor(to_world, dtype=torch.float32)
                except (TypeError, ValueError) as exc:
                    raise TypeError(f"EnvironmentMap: 'to_world' must be a 3x3 or 4x4 matrix, got "
                                    f"{to_world!r}") from exc
            if tuple(to_world.shape) not in ((3, 3), (4, 4)):
                raise ValueError(f"EnvironmentMap: 'to_world' must be (3, 3) or (4, 4), got {tuple(to_world.shape)}")
            m = to_world.detach().to("cpu", torch.float64)
            if not bool(torch.isfinite(m).all()):
                raise ValueError("EnvironmentMap: 'to_world' holds non-finite values")
            if m.shape[0] == 4 and not torch.allclose(m[3], torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64)):
                raise ValueError(f"EnvironmentMap: 'to_world' last row must be [0, 0, 0, 1], got {m[3].tolist()}")
            r = m[:3, :3]
            if not torch.allclose(r @ r.T, torch.eye(3, dtype=torch.float64), atol=1e-4):
                raise ValueError("EnvironmentMap: 'to_world' must be a rotation (its 3x3 part orthonormal); "
                                 "scaling or shearing a direction map is not supported")
            rotation = r.float()
        self.to_world = rotation

    @property
    def shape(self):
        return tuple(self.texels.shape)


class Scene:
    """A camera, shapes, materials, area lights and an optional
    :class:`EnvironmentMap` (``envmap``). Without a map the background is black."""

    def __init__(self, camera: Camera, shapes: Sequence[Shape], materials: Sequence[Material],
                 area_lights: Optional[Sequence[AreaLight]] = None, envmap: Optional[EnvironmentMap] = None):
        if envmap is not None and not isinstance(envmap, EnvironmentMap):
            raise TypeError(f"Scene: 'envmap' must be an EnvironmentMap, got {type(envmap).__name__}")
        self.envmap = envmap
        if not isinstance(camera, Camera):
            raise TypeError(f"Scene: 'camera' must be a Camera, got {type(camera).__name__}")
        self.camera = camera
        self.shapes = list(shapes)
        self.materials = list(materials)
        self.area_lights = list(area_lights or [])
        if not self.materials:
            raise ValueError("Scene: at least one material is needed")
        for i, shape in enumerate(self.shapes):
            if not 0 <= shape.material_id < len(self.materials):
                raise ValueError(f"Scene: shapes[{i}].material_id = {shape.material_id} is not in "
                                 f"[0, {len(self.materials)})")
            material = self.materials[shape.material_id]
            if shape.uvs is None and material.textured:
                slot = next(name for name, v, _ in material.slots() if isinstance(v, Texture))
                raise ValueError(f"Scene: shapes[{i}] has no 'uvs', but its material {shape.material_id} has a "
                                 f"texture for '{slot}'")
        for i, light in enumerate(self.area_lights):
            if not 0 <= light.shape_id < len(self.shapes):
                raise ValueError(f"Scene: area_lights[{i}].shape_id = {light.shape_id} is not in "
                                 f"[0, {len(self.shapes)})")
