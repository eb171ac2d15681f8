"""pydiffvg: differentiable vector graphics for PyTorch.

The 2-D API keeps diffvg's names, so code written for diffvg runs with
``import pydiffvg``. ``pydiffvg.render`` is the documented modern entry point.
"""
from .compat import (RenderFunction, get_device, get_use_gpu, imwrite, set_device, set_print_timing,
                     set_use_gpu)
from .layers import Layer
from ._native import device_emulated, emulate_device
from .render import render
from .scene_types import Scene
from .svg import SVGError, load_svg, save_svg, svg_to_scene
from . import optim
from .text import text_to_paths
from .apps import install_old_names as _install_old_names
from .shapes import (Circle, Ellipse, FilterType, LinearGradient, LineCap, LineJoin, OutputType, Path,
                     PixelFilter, Polygon, RadialGradient, Rect, ShapeGroup)

__all__ = [
    "Circle", "Ellipse", "Rect", "Polygon", "Path", "ShapeGroup", "LinearGradient", "RadialGradient",
    "PixelFilter", "FilterType", "OutputType", "LineCap", "LineJoin", "Scene", "Layer", "render",
    "RenderFunction", "SVGError", "load_svg", "save_svg", "svg_to_scene", "set_use_gpu", "get_use_gpu", "set_device", "get_device", "set_print_timing", "imwrite",
    "optim", "text_to_paths", "emulate_device", "device_emulated",
]
__version__ = "0.1.0"
_install_old_names()  # pydiffvg.clipdraw, .seam, .generative: moved to pydiffvg.apps
