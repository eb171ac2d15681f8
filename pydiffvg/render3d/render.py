"""Rendering 3-D scenes: path tracing with gradients from edge sampling, and
G-buffers.

The scene is packed into flat tensors with differentiable torch ops
(``torch.cat``, ``stack``), so autograd routes the flat gradients computed by
the extension back to the user's tensors.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch.library import custom_op

from .. import _core
from .._native import CallScope, float32_under_autocast, ptr
from .checks import check_scene_geometry
from .scene import CameraType, Scene, Texture, channels as Channels

__all__ = ["render_pathtracing", "render_g_buffer", "last_timings"]

#: Seconds per stage of the most recent forward and backward calls
#: ({"forward": {"bvh", "trace", "edges"}, "backward": {...}}), for benchmarks.
last_timings: Dict[str, Dict[str, float]] = {}


class _Packed:
    """Flat buffers of a scene, with the differentiable ones as torch tensors."""

    def __init__(self, scene: Scene):
        camera = scene.camera
        device = camera.position.device
        shapes = scene.shapes
        if not shapes:
            raise ValueError("render3d: the scene has no shapes")
        check_scene_geometry(scene)
        offsets, vertex_parts, index_parts, face_material, normal_parts = [], [], [], [], []
        any_normals = any(s.normals is not None for s in shapes)
        base = 0
        for s in shapes:
            if s.vertices.device != device:
                raise ValueError(f"render3d: shape vertices on {s.vertices.device}, camera on {device}")
            vertex_parts.append(s.vertices.float())
            index_parts.append(s.indices.to(device=device, dtype=torch.int32) + base)
            face_material.append(torch.full((s.indices.shape[0],), s.material_id, dtype=torch.int32, device=device))
            if any_normals:
                normal_parts.append(s.normals.float() if s.normals is not None else
                                    torch.zeros_like(s.vertices, dtype=torch.float32))
            offsets.append(base)
            base += s.vertices.shape[0]
        self.vertices = torch.cat(vertex_parts).contiguous()
        self.normals = torch.cat(normal_parts).contiguous() if any_normals else None
        self.indices = torch.cat(index_parts).contiguous()
        self.face_material = torch.cat(face_material).contiguous()
        face_counts = [s.indices.shape[0] for s in shapes]
        face_start = [0]
        for c in face_counts:
            face_start.append(face_start[-1] + c)
        materials = scene.materials
        self._pack_materials(materials, device)
        if self.material_textures.numel():
            self.uvs = torch.cat([s.uvs.float() if s.uvs is not None else
                                  torch.zeros((s.vertices.shape[0], 2), device=device) for s in shapes]).contiguous()
        else:
            self.uvs = torch.zeros(0, device=device)
        two_sided_material = torch.tensor([int(m.two_sided) for m in materials], dtype=torch.int32, device=device)
        self.face_two_sided = two_sided_material[self.face_material.long()].contiguous()
        num_faces = self.indices.shape[0]
        face_light = torch.full((num_faces,), -1, dtype=torch.int32, device=device)
        lights = scene.area_lights
        for i, light in enumerate(lights):
            face_light[face_start[light.shape_id]:face_start[light.shape_id + 1]] = i
        self.face_light = face_light.contiguous()
        self.emissive_faces = torch.nonzero(face_light >= 0).reshape(-1).to(torch.int32).contiguous()
        if lights:
            self.intensity = torch.stack([l.intensity.float() for l in lights]).contiguous()
            self.light_two_sided = torch.tensor([int(l.two_sided) for l in lights], dtype=torch.int32,
                                                device=device)
        else:
            self.intensity = torch.zeros((1, 3), device=device)
            self.light_two_sided = torch.zeros((1,), dtype=torch.int32, device=device)
        self.num_lights = len(lights)
        self.camera_params = camera.packed().to(device)
        self.device = device
        envmap = scene.envmap
        if envmap is not None:
            if envmap.texels.device != device:
                raise ValueError(f"Scene: 'envmap' texels on {envmap.texels.device}, the camera on {device}")
            self.envmap = envmap.texels.contiguous()
            self.envmap_to_world = envmap.to_world.reshape(9).to(device).contiguous()
        else:
            self.envmap = torch.zeros(0, device=device)
            self.envmap_to_world = torch.eye(3, device=device).reshape(9)

    def _pack_materials(self, materials, device):
        """Constants into (M, 3) / (M,) tensors (0 where a slot is textured);
        texels of every texture into one flat tensor, with (M, 3, 3)
        [offset, width, height] per slot (texture.h), empty without textures."""
        constants = {3: torch.zeros(3, device=device), 1: torch.zeros((), device=device)}
        columns, parts, table, offset = [[], [], []], [], [], 0
        for m in materials:
            row = []
            for k, (_, value, channels) in enumerate(m.slots()):
                if isinstance(value, Texture):
                    h, w = int(value.texels.shape[0]), int(value.texels.shape[1])
                    parts.append(value.texels.float().reshape(-1))
                    row += [offset, w, h]
                    offset += h * w * channels
                    columns[k].append(constants[channels])
                else:
                    row += [0, 0, 0]
                    columns[k].append(value.float().reshape(3) if channels == 3 else value.float().reshape(()))
            table.append(row)
        if offset >= 2 ** 31:
            raise ValueError(f"Scene: 'materials' hold {offset:,} texel values; at most 2^31 - 1")
        self.diffuse, self.specular, self.roughness = (torch.stack(c).contiguous() for c in columns)
        if parts:
            self.texels = torch.cat(parts).contiguous()
            self.material_textures = torch.tensor(table, dtype=torch.int32, device=device).contiguous()
        else:
            self.texels = torch.zeros(0, device=device)
            self.material_textures = torch.zeros(0, dtype=torch.int32, device=device)
        self.material_model, self.material_params = _pack_material_models(materials, device)

    def scene_dict(self, vertices, normals, diffuse, specular, roughness, intensity, uvs=None, texels=None,
                   envmap=None) -> dict:
        uvs = self.uvs.detach() if uvs is None else uvs
        texels = self.texels.detach() if texels is None else texels
        envmap = self.envmap.detach() if envmap is None else envmap
        return _scene_dict(vertices, normals, diffuse, specular, roughness, intensity, uvs, texels, envmap,
                           *self.structure())

    def floats(self):
        """The float tensors the op differentiates, in its argument order."""
        return (self.vertices, self.normals, self.camera_params, self.diffuse, self.specular, self.roughness,
                self.intensity, self.uvs, self.texels, self.envmap)

    def structure(self):
        """The integer tensors and light count the op takes with the floats."""
        return (self.indices, self.face_material, self.face_light, self.face_two_sided, self.light_two_sided,
                self.emissive_faces, self.material_textures, self.material_model, self.material_params,
                self.envmap_to_world, self.num_lights)


def _pack_material_models(materials, device):
    """(M, 2) int32 [model, table offset] and the float constants: (M, 8)
    rows [η rgb, κ rgb, int_ior / ext_ior, 0], then one rough-plastic table
    per distinct relative index (csrc/rt/microfacet.h). Both empty when
    every material is Blinn-Phong, which keeps that path unchanged."""
    if all(m.model == "blinn_phong" for m in materials):
        return (torch.zeros(0, dtype=torch.int32, device=device), torch.zeros(0, device=device))
    rows, models, tables, table_offset = [], [], [], {}
    base = 8 * len(materials)
    for m in materials:
        model, params = m.model_params()
        offset = 0
        if m.model == "plastic":
            eta = params[6]
            if eta not in table_offset:
                table_offset[eta] = base + len(tables) * _core.rt_plastic_table_size
                tables.append(_plastic_table(eta))
            offset = table_offset[eta]
        rows.append(torch.tensor(params, dtype=torch.float32))
        models.append([model, offset])
    floats = torch.cat([torch.cat(rows), *tables])
    if floats.numel() >= 2 ** 31:
        raise ValueError("Scene: too many distinct plastic indices of refraction")
    return (torch.tensor(models, dtype=torch.int32).to(device).contiguous(), floats.to(device).contiguous())


_PLASTIC_TABLES: Dict[float, torch.Tensor] = {}


def _plastic_table(eta: float) -> torch.Tensor:
    """The rough plastic's transmittance / internal-reflectance table for
    relative index eta (CPU float32, cached: ~0.5 s to build)."""
    key = float(torch.tensor(eta, dtype=torch.float32))
    if key not in _PLASTIC_TABLES:
        table = torch.zeros(_core.rt_plastic_table_size, dtype=torch.float32)
        _core.rt_plastic_table(key, table.data_ptr())
        _PLASTIC_TABLES[key] = table
    return _PLASTIC_TABLES[key]


def _optional_ptr(t):
    return ptr(t) if t is not None and t.numel() else None


def _scene_dict(vertices, normals, diffuse, specular, roughness, intensity, uvs, texels, envmap, indices,
                face_material, face_light, face_two_sided, light_two_sided, emissive_faces, material_textures,
                material_model, material_params, envmap_to_world, num_lights) -> dict:
    env = {}
    if envmap.numel():
        env = {"envmap": ptr(envmap), "envmap_height": int(envmap.shape[0]), "envmap_width": int(envmap.shape[1]),
               "envmap_to_world": [float(v) for v in envmap_to_world.detach().cpu().tolist()]}
    return {**env,
        "vertices": ptr(vertices), "normals": ptr(normals) if normals is not None else None,
        "indices": ptr(indices), "face_material": ptr(face_material),
        "face_light": ptr(face_light), "face_two_sided": ptr(face_two_sided),
        "diffuse": ptr(diffuse), "specular": ptr(specular), "roughness": ptr(roughness),
        "light_intensity": ptr(intensity), "light_two_sided": ptr(light_two_sided),
        "emissive_faces": _optional_ptr(emissive_faces),
        "uvs": _optional_ptr(uvs), "texels": _optional_ptr(texels),
        "material_textures": _optional_ptr(material_textures),
        "material_model": _optional_ptr(material_model), "material_params": _optional_ptr(material_params),
        "num_vertices": int(vertices.shape[0]), "num_faces": int(indices.shape[0]),
        "num_materials": int(diffuse.shape[0]), "num_lights": int(num_lights),
        "num_emissive_faces": int(emissive_faces.numel()),
    }


def _options(width, height, samples, max_bounces, seed, orthographic, clip_near, primary, secondary) -> dict:
    return {"width": width, "height": height, "samples_per_pixel": int(samples), "max_bounces": int(max_bounces),
            "seed": int(seed) & 0xFFFFFFFFFFFFFFFF, "orthographic": bool(orthographic), "clip_near": clip_near,
            "primary_edges": bool(primary), "secondary_edges": bool(secondary)}


def scene_options(scene: Scene, samples: int, max_bounces: int, seed: int, edge_sampling) -> dict:
    """The kernel options of ``scene``'s camera; edge_sampling a bool or a
    pair (primary, secondary)."""
    primary, secondary = _edge_kinds(edge_sampling)
    height, width = scene.camera.resolution
    return _options(width, height, samples, max_bounces, seed, scene.camera.camera_type == CameraType.orthographic,
                    scene.camera.clip_near, primary, secondary)


def _edge_kinds(edge_sampling):
    if isinstance(edge_sampling, (tuple, list)):
        return tuple(bool(v) for v in edge_sampling)
    return bool(edge_sampling), bool(edge_sampling)


# The path tracer as torch.library operators: pydiffvg::pathtrace over the
# packed flat tensors (the packing above is plain torch ops, so autograd
# carries the op's gradients to the user's tensors), and its backward.
# Arguments: the _FLOATS float tensors (uvs, texels empty without
# textures), the _STRUCTURE structure tensors (material_textures empty
# without textures; material_model and the float material_params empty when
# every material is Blinn-Phong; envmap_to_world the environment map's 9-float
# rotation, not differentiated; envmap, the last float, is empty without a
# map), num_lights, then the settings (width, height, spp_forward,
# spp_backward, max_bounces, seed, orthographic, clip_near, primary_edges,
# secondary_edges).
_FLOATS = 10
_STRUCTURE = 10
_GRAD_NAMES = ("vertices", "normals", "camera", "diffuse", "specular", "roughness", "light_intensity", "uvs",
               "texels", "envmap")


@custom_op("pydiffvg::pathtrace", mutates_args=(), device_types=("cpu", "cuda"))
def pathtrace(vertices: torch.Tensor, normals: Optional[torch.Tensor], camera: torch.Tensor, diffuse: torch.Tensor,
              specular: torch.Tensor, roughness: torch.Tensor, intensity: torch.Tensor, uvs: torch.Tensor,
              texels: torch.Tensor, envmap: torch.Tensor, indices: torch.Tensor, face_material: torch.Tensor,
              face_light: torch.Tensor, face_two_sided: torch.Tensor, light_two_sided: torch.Tensor,
              emissive_faces: torch.Tensor, material_textures: torch.Tensor, material_model: torch.Tensor,
              material_params: torch.Tensor, envmap_to_world: torch.Tensor, num_lights: int, width: int, height: int, spp_forward: int,
              spp_backward: int, max_bounces: int, seed: int, orthographic: bool, clip_near: float,
              primary_edges: bool, secondary_edges: bool) -> torch.Tensor:
    """(H, W, 3) float32 radiance of the packed scene."""
    floats = [t.contiguous() if t is not None else None
              for t in (vertices, normals, camera, diffuse, specular, roughness, intensity, uvs, texels, envmap)]
    vertices, normals, camera, diffuse, specular, roughness, intensity, uvs, texels, envmap = floats
    image = torch.zeros((height, width, 3), dtype=torch.float32, device=vertices.device)
    scope = CallScope(vertices.device)
    timings = _core.rt_render_forward(
        *scope.context_args(),
        _scene_dict(vertices, normals, diffuse, specular, roughness, intensity, uvs, texels, envmap, indices,
                    face_material, face_light, face_two_sided, light_two_sided, emissive_faces, material_textures,
                    material_model, material_params, envmap_to_world, num_lights),
        ptr(camera), _options(width, height, spp_forward, max_bounces, seed, orthographic, clip_near,
                              primary_edges, secondary_edges), ptr(image))
    last_timings["forward"] = dict(timings)
    return image


@pathtrace.register_fake
def _pathtrace_fake(vertices, *rest):
    settings = rest[_FLOATS - 1 + _STRUCTURE + 1:]
    width, height = settings[0], settings[1]
    return vertices.new_empty((height, width, 3), dtype=torch.float32)


@custom_op("pydiffvg::pathtrace_backward", mutates_args=(), device_types=("cpu", "cuda"))
def pathtrace_backward(d_image: torch.Tensor, vertices: torch.Tensor, normals: Optional[torch.Tensor],
                       camera: torch.Tensor, diffuse: torch.Tensor, specular: torch.Tensor, roughness: torch.Tensor,
                       intensity: torch.Tensor, uvs: torch.Tensor, texels: torch.Tensor, envmap: torch.Tensor,
                       indices: torch.Tensor, face_material: torch.Tensor, face_light: torch.Tensor,
                       face_two_sided: torch.Tensor, light_two_sided: torch.Tensor, emissive_faces: torch.Tensor,
                       material_textures: torch.Tensor, material_model: torch.Tensor, material_params: torch.Tensor,
                       envmap_to_world: torch.Tensor, num_lights: int, width: int, height: int, spp_forward: int, spp_backward: int,
                       max_bounces: int, seed: int, orthographic: bool, clip_near: float, primary_edges: bool,
                       secondary_edges: bool) -> list[torch.Tensor]:
    """Gradients for the _FLOATS float tensors; an empty tensor for absent
    normals. The backward pass draws its own samples: with the forward's
    random numbers, a loss such as MSE(image, target) would correlate the
    image's noise with the gradient's and bias it."""
    floats = [t.contiguous() if t is not None else None
              for t in (vertices, normals, camera, diffuse, specular, roughness, intensity, uvs, texels, envmap)]
    grads = {name: torch.zeros_like(t) if t is not None else None for name, t in zip(_GRAD_NAMES, floats)}
    vertices, normals, camera, diffuse, specular, roughness, intensity, uvs, texels, envmap = floats
    # Held in a local: a temporary's storage would be freed (and reused by the
    # kernel's scratch allocations) as soon as ptr() returned. An expanded
    # d_image (the gradient of image.sum()) is such a temporary copy.
    d_image = d_image.contiguous().float()
    scope = CallScope(vertices.device)
    timings = _core.rt_render_backward(
        *scope.context_args(),
        _scene_dict(vertices, normals, diffuse, specular, roughness, intensity, uvs, texels, envmap, indices,
                    face_material, face_light, face_two_sided, light_two_sided, emissive_faces, material_textures,
                    material_model, material_params, envmap_to_world, num_lights),
        ptr(camera), _options(width, height, spp_backward, max_bounces, (seed & 0xFFFFFFFFFFFFFFFF) ^ 0x5EED0BAC,
                              orthographic, clip_near, primary_edges, secondary_edges),
        ptr(d_image), {k: _optional_ptr(v) for k, v in grads.items()})
    last_timings["backward"] = dict(timings)
    if grads["normals"] is None:
        grads["normals"] = vertices.new_empty(0)
    return list(grads.values())


@pathtrace_backward.register_fake
def _pathtrace_backward_fake(d_image, *rest):
    floats = rest[:_FLOATS]
    return [torch.empty_like(t) if t is not None else floats[0].new_empty(0) for t in floats]


def _pathtrace_setup(ctx, inputs, output):
    ctx.rest = inputs[_FLOATS:]  # structure tensors and settings
    ctx.has_normals = inputs[1] is not None
    ctx.save_for_backward(*[t if t is not None else inputs[0].new_empty(0) for t in inputs[:_FLOATS]],
                          *inputs[_FLOATS:_FLOATS + _STRUCTURE])


def _pathtrace_grad(ctx, d_image):
    saved = ctx.saved_tensors
    floats = list(saved[:_FLOATS])
    if not ctx.has_normals:
        floats[1] = None
    grads = pathtrace_backward(d_image, *floats, *saved[_FLOATS:], *ctx.rest[_STRUCTURE:])
    if not ctx.has_normals:
        grads[1] = None
    return (*grads,) + (None,) * len(ctx.rest)


pathtrace.register_autograd(_pathtrace_grad, setup_context=_pathtrace_setup)


@float32_under_autocast
def render_pathtracing(scene: Scene, num_samples: Union[int, Tuple[int, int]] = 4, max_bounces: int = 1,
                       seed: int = 0, *, _edge_sampling=True) -> torch.Tensor:
    """Path-traces ``scene``; differentiable.

    Args:
        scene: :class:`Scene`.
        num_samples: samples per pixel, or (forward, backward). The backward
            pass also draws this many primary edge samples per pixel.
        max_bounces: scattering events per path. 0 shows emission only: an
            emitting shape then renders as its constant intensity (the
            "unlit" mode used to compare with the 2-D renderer).
        seed: random seed; the same seed gives the same image at any thread count.
            The backward pass uses samples independent of the forward pass.
        _edge_sampling: internal; False drops the boundary (edge) terms from
            the gradient, which makes it wrong at silhouettes and shadows.
            A pair (primary, secondary) switches the two kinds separately.

    Returns:
        (H, W, 3) float32 linear radiance on the scene's device, box-filtered,
        also under ``torch.autocast``.
    """
    if isinstance(num_samples, (tuple, list)):
        if len(num_samples) != 2:
            raise ValueError(f"render_pathtracing(): num_samples must be an int or (forward, backward), "
                             f"got {num_samples!r}")
        spp_forward, spp_backward = (int(v) for v in num_samples)
    else:
        spp_forward = spp_backward = int(num_samples)
    if spp_forward <= 0 or spp_backward <= 0:
        raise ValueError(f"render_pathtracing(): num_samples must be positive, got {num_samples!r}")
    if not 0 <= int(max_bounces) <= 6:
        raise ValueError(f"render_pathtracing(): max_bounces must be in [0, 6], got {max_bounces}")
    packed = _Packed(scene)
    camera = scene.camera
    primary, secondary = _edge_kinds(_edge_sampling)
    height, width = camera.resolution
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    if seed >= 1 << 63:  # the schema's int is int64; the kernel reads the same 64 bits
        seed -= 1 << 64
    return pathtrace(*packed.floats(), *packed.structure(), width, height, spp_forward,
                     spp_backward, int(max_bounces), seed, camera.camera_type == CameraType.orthographic,
                     float(camera.clip_near), primary, secondary)


def render_g_buffer(scene: Scene, channels: Sequence[Channels], num_samples: int = 1, seed: int = 0) -> torch.Tensor:
    """Renders geometry channels (not differentiable).

    Args:
        scene: :class:`Scene`.
        channels: a list of :class:`channels`, e.g. ``[channels.depth, channels.shading_normal]``.
        num_samples: samples per pixel; values are box-filtered (averaged) over the pixel,
            background samples count as 0.

    Returns:
        (H, W, C) float32, C the sum of the channel widths, in the given order.
    """
    ids = [int(Channels(c)) for c in channels]
    if not ids:
        raise ValueError("render_g_buffer(): 'channels' must not be empty")
    packed = _Packed(scene)
    height, width = scene.camera.resolution
    options = scene_options(scene, int(num_samples), 0, seed, False)
    width_total = sum(_core.rt_gbuffer_channel_width(c) for c in ids)
    with torch.no_grad():
        out = torch.zeros((height, width, width_total), dtype=torch.float32, device=packed.device)
        scope = CallScope(packed.device)
        _core.rt_render_gbuffer(*scope.context_args(),
                                packed.scene_dict(packed.vertices.detach(), None if packed.normals is None else
                                                  packed.normals.detach(), packed.diffuse.detach(),
                                                  packed.specular.detach(), packed.roughness.detach(),
                                                  packed.intensity.detach()),
                                ptr(packed.camera_params.detach()), options, ids, ptr(out))
    return out
