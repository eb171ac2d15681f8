"""Small containers for whole scenes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, List

__all__ = ["Scene"]


@dataclass
class Scene:
    """A 2-D scene as diffvg's ``svg_to_scene`` returns it.

    canvas_width, canvas_height: int, pixels.
    shapes: list of Circle / Ellipse / Rect / Polygon / Path.
    shape_groups: list of ShapeGroup, drawn in list order.

    Iterating yields the four fields, so
    ``w, h, shapes, groups = scene`` works.
    """
    canvas_width: int
    canvas_height: int
    shapes: List = field(default_factory=list)
    shape_groups: List = field(default_factory=list)

    def __iter__(self) -> Iterator:
        yield self.canvas_width
        yield self.canvas_height
        yield self.shapes
        yield self.shape_groups
