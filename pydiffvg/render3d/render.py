"""Rendering 3-D scenes: path tracing with gradients from edge sampling, and
G-buffers.

The scene is packed into flat tensors with differentiable torch ops
(``torch.cat``, ``stack``), so autograd routes the flat gradients computed by
the extension back to the user's tensors.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple, Union

import torch

from .. import _core
from .._native import CallScope, float32_under_autocast, ptr
from .scene import CameraType, Scene, channels as Channels

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
        self.diffuse = torch.stack([m.diffuse_reflectance.float() for m in materials]).contiguous()
        self.specular = torch.stack([m.specular_reflectance.float() for m in materials]).contiguous()
        self.roughness = torch.stack([m.roughness.float().reshape(()) for m in materials]).contiguous()
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

    def scene_dict(self, vertices, normals, diffuse, specular, roughness, intensity) -> dict:
        return {
            "vertices": ptr(vertices), "normals": ptr(normals) if normals is not None else None,
            "indices": ptr(self.indices), "face_material": ptr(self.face_material),
            "face_light": ptr(self.face_light), "face_two_sided": ptr(self.face_two_sided),
            "diffuse": ptr(diffuse), "specular": ptr(specular), "roughness": ptr(roughness),
            "light_intensity": ptr(intensity), "light_two_sided": ptr(self.light_two_sided),
            "emissive_faces": ptr(self.emissive_faces) if self.emissive_faces.numel() else None,
            "num_vertices": int(vertices.shape[0]), "num_faces": int(self.indices.shape[0]),
            "num_materials": int(diffuse.shape[0]), "num_lights": self.num_lights,
            "num_emissive_faces": int(self.emissive_faces.numel()),
        }


def _options(scene: Scene, samples: int, max_bounces: int, seed: int, edge_sampling) -> dict:
    camera = scene.camera
    if isinstance(edge_sampling, (tuple, list)):
        primary, secondary = (bool(v) for v in edge_sampling)
    else:
        primary = secondary = bool(edge_sampling)
    height, width = camera.resolution
    return {"width": width, "height": height, "samples_per_pixel": int(samples), "max_bounces": int(max_bounces),
            "seed": int(seed) & 0xFFFFFFFFFFFFFFFF, "orthographic": camera.camera_type == CameraType.orthographic,
            "clip_near": camera.clip_near, "primary_edges": primary, "secondary_edges": secondary}


class _RenderFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, packed: _Packed, options_fwd: dict, options_bwd: dict, vertices, normals, camera_params,
                diffuse, specular, roughness, intensity):
        vertices, camera_params = vertices.contiguous(), camera_params.contiguous()
        diffuse, specular, roughness = diffuse.contiguous(), specular.contiguous(), roughness.contiguous()
        intensity = intensity.contiguous()
        normals = normals.contiguous() if normals is not None else None
        height, width = options_fwd["height"], options_fwd["width"]
        image = torch.zeros((height, width, 3), dtype=torch.float32, device=vertices.device)
        scope = CallScope(vertices.device)
        timings = _core.rt_render_forward(*scope.context_args(),
                                          packed.scene_dict(vertices, normals, diffuse, specular, roughness, intensity),
                                          ptr(camera_params), options_fwd, ptr(image))
        last_timings["forward"] = dict(timings)
        ctx.packed = packed
        ctx.options = options_bwd
        ctx.has_normals = normals is not None
        ctx.save_for_backward(vertices, normals if normals is not None else torch.empty(0), camera_params, diffuse,
                              specular, roughness, intensity)
        return image

    @staticmethod
    def backward(ctx, d_image):
        vertices, normals, camera_params, diffuse, specular, roughness, intensity = ctx.saved_tensors
        if not ctx.has_normals:
            normals = None
        d_image = d_image.contiguous().float()
        grads = {
            "vertices": torch.zeros_like(vertices), "normals": torch.zeros_like(normals) if normals is not None else None,
            "camera": torch.zeros_like(camera_params), "diffuse": torch.zeros_like(diffuse),
            "specular": torch.zeros_like(specular), "roughness": torch.zeros_like(roughness),
            "light_intensity": torch.zeros_like(intensity),
        }
        scope = CallScope(vertices.device)
        timings = _core.rt_render_backward(
            *scope.context_args(),
            ctx.packed.scene_dict(vertices, normals, diffuse, specular, roughness, intensity),
            ptr(camera_params), ctx.options, ptr(d_image),
            {k: (ptr(v) if v is not None else None) for k, v in grads.items()})
        last_timings["backward"] = dict(timings)
        return (None, None, None, grads["vertices"], grads["normals"], grads["camera"], grads["diffuse"],
                grads["specular"], grads["roughness"], grads["light_intensity"])


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
    options_fwd = _options(scene, spp_forward, max_bounces, seed, _edge_sampling)
    # The backward pass draws its own samples: with the forward's random
    # numbers, a loss such as MSE(image, target) would correlate the image's
    # noise with the gradient's and bias it.
    options_bwd = _options(scene, spp_backward, max_bounces, int(seed) ^ 0x5EED0BAC, _edge_sampling)
    return _RenderFunction.apply(packed, options_fwd, options_bwd, packed.vertices, packed.normals,
                                 packed.camera_params, packed.diffuse, packed.specular, packed.roughness,
                                 packed.intensity)


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
    options = _options(scene, int(num_samples), 0, seed, False)
    width_total = sum(_core.rt_gbuffer_channel_width(c) for c in ids)
    height, width = scene.camera.resolution
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
