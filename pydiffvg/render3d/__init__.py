"""pydiffvg.render3d: a differentiable Monte Carlo path tracer for triangle
meshes. Gradients at silhouettes and shadow boundaries come from edge
sampling (Li et al., SIGGRAPH Asia 2018), through the boundary sampler that
the 2-D renderer shares.

Example::

    import pydiffvg.render3d as r3
    cam = r3.Camera(position, look_at, up, fov=45.0, resolution=(64, 64))
    scene = r3.Scene(camera=cam, shapes=[r3.Shape(vertices, indices, 0)],
                     materials=[r3.Material(torch.tensor([0.5, 0.5, 0.5]))],
                     area_lights=[...])
    img = r3.render_pathtracing(scene, num_samples=4, max_bounces=1)  # (H, W, 3)
"""
from .obj import load_mtl, load_obj
from .render import last_timings, render_g_buffer, render_pathtracing
from .scene import AreaLight, Camera, CameraType, EnvironmentMap, Material, Scene, Shape, Texture, channels

__all__ = ["Camera", "CameraType", "Texture", "Material", "Shape", "AreaLight", "EnvironmentMap", "Scene", "channels",
           "render_pathtracing", "render_g_buffer", "load_obj", "load_mtl", "last_timings"]
