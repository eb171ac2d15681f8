"""SVG import and export for pydiffvg (diffvg's ``svg_to_scene`` and
``save_svg``). See :mod:`pydiffvg.svg.parser` for what is supported and
approximated, and :mod:`pydiffvg.svg.writer` for the output format."""
from .errors import SVGError
from .parser import load_svg, svg_to_scene
from .writer import save_svg

__all__ = ["svg_to_scene", "load_svg", "save_svg", "SVGError"]
